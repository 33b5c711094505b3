"""A dashboard kernel holds only what its page uses.

Every explorer page gets a kernel of its own, so whatever a kernel imports is paid once per
visitor (benchmarks/bench_serving.py measures what each part costs). This runs the explorer
notebook, and a first decode, in a kernel started as `latentlab dashboard` starts one, and
checks that none of the libraries the page does not need came along: the debugger, what
only building an atlas or fitting a sampler uses (UMAP, numba, scikit-learn, SciPy), and the
other dashboards' plots (bqplot, pandas).
"""

from __future__ import annotations

import json

import nbformat
from conftest import scaled
from kernel_helpers import dashboard_kernel, run

from latentlab.dashboard import LANDING, NOTEBOOKS

NOT_FOR_A_PAGE = (
    "debugpy",
    "umap",
    "pynndescent",
    "numba",
    "sklearn",
    "scipy",
    "matplotlib",
    "torch._dynamo",
    "torch._inductor",
    "bqplot",
    "pandas",
)
LOADED = f"""\
import json, sys
print(json.dumps([m for m in {NOT_FOR_A_PAGE!r} if sys.modules.get(m) is not None]))
"""


def test_an_explorer_kernel_loads_only_what_the_page_uses():
    notebook = nbformat.read(NOTEBOOKS / LANDING, as_version=4)
    with dashboard_kernel(NOTEBOOKS, scaled(60)) as (client, _):
        for cell in notebook.cells:
            if cell.cell_type == "code":
                run(client, cell.source, scaled(120))
        run(client, "explorer.state.sample()", scaled(60))  # the first decode
        loaded = json.loads(run(client, LOADED, scaled(60)))
    assert loaded == [], f"an explorer kernel imported {loaded}, which its page never uses"
