"""environment.yml installs what pyproject.toml does, so conda users get what pip users get."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    lines = (ROOT / "environment.yml").read_text().splitlines()
    pip_section = lines[lines.index("  - pip:") + 1 :]
    listed = {line.strip()[2:] for line in pip_section if line.strip().startswith("- ")}
    assert listed - {"-e ."} == wanted
    assert "  - python=3.11" in lines
