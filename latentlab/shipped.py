"""Where the files that ship with latentlab are: the default checkpoints and the dashboards.

They live at the top of the repository (checkpoints/, notebooks/), where people add to them;
a wheel maps them into the package (latentlab/checkpoints, latentlab/notebooks, see
pyproject's package-dir), so `pip install` users get them with no download. An editable
install or a source checkout runs the package from the repository and finds them there.
"""

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def shipped(folder: str, *parts: str) -> Path:
    """The shipped `folder` ("checkpoints" or "notebooks"), or a path inside it: in the
    installed package, else at the top of the source checkout."""
    installed = PACKAGE / folder
    root = installed if installed.is_dir() else PACKAGE.parent / folder
    return root.joinpath(*parts)


def checkpoint_folder(path: str | os.PathLike) -> Path:
    """`path` when it exists; else, when it is a bare name such as "gmd-4bar", the shipped
    checkpoint of that name (so an installed package is asked for a model by name)."""
    given = Path(path)
    if not given.exists() and len(given.parts) == 1 and shipped("checkpoints", given.name).is_dir():
        return shipped("checkpoints", given.name)
    return given
