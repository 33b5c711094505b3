"""The package installs and works away from the source tree: a wheel built from this checkout,
installed in a fresh virtual environment, ships the models and dashboards and runs from any
folder. environment.yml installs what pyproject.toml does, so conda users get what pip users get.

The fresh environment borrows the dependencies already installed for the tests (a .pth file
naming their site-packages, added after the wheel is installed), so nothing is downloaded and
it takes seconds; Jupyter's data files (Voila's templates, widget extensions) are found the
same way, through JUPYTER_PATH.
"""

from __future__ import annotations

import os
import signal
import site
import socket
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.request
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import scaled

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    lines = (ROOT / "environment.yml").read_text().splitlines()
    pip_section = lines[lines.index("  - pip:") + 1 :]
    listed = {line.strip()[2:] for line in pip_section if line.strip().startswith("- ")}
    assert listed - {"-e ."} == wanted
    assert "  - python=3.11" in lines


@dataclass
class Installed:
    source: Path  # what the wheel was built from
    wheel: Path
    venv: Path
    env: dict[str, str]

    def run(self, program: str, *args: str, cwd: Path) -> str:
        """A command of the fresh environment (latentlab, python), from `cwd`; its output."""
        return _run(self.venv / "bin" / program, *args, cwd=cwd, env=self.env)


def _run(*command: str | Path, cwd: Path | None = None, env: dict | None = None) -> str:
    """Run a command to its end (it must succeed); its output."""
    done = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=scaled(300),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    """The wheel of the checkout's files (those a clone has, plus new ones not ignored),
    built offline from a copy so that no build folder in the checkout leaks stale files,
    and installed in a new virtual environment."""
    tmp = tmp_path_factory.mktemp("packaging")
    source = tmp / "source"
    for name in _run("git", "ls-files", "-z", "-co", "--exclude-standard", cwd=ROOT).split("\0"):
        if name and (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((ROOT / name).read_bytes())
    pip = [sys.executable, "-m", "pip"]
    _run(*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", tmp, source)
    (wheel,) = tmp.glob("latentlab-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    _run(*pip, "--python", python, "install", "--no-deps", "--no-index", "-q", wheel)
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    (Path(purelib.strip()) / "latentlab-test-deps.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.pop("LATENTLAB_CHECKPOINT", None)
    env["JUPYTER_PATH"] = str(Path(sysconfig.get_path("data")) / "share" / "jupyter")
    return Installed(source, wheel, env_dir.resolve(), env)


@pytest.mark.slow
def test_the_wheel_ships_every_module_model_file_and_dashboard(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())

    def files(folder: str) -> set[str]:
        found = (installed.source / folder).rglob("*")
        return {p.relative_to(installed.source).as_posix() for p in found if p.is_file()}

    assert files("latentlab") <= names, "missing from pyproject's packages or package-data"
    for folder in ("checkpoints", "notebooks"):
        assert {f"latentlab/{name}" for name in files(folder)} <= names
    for name in ("gmd-2bar/model.safetensors", "gmd-2bar/atlas.npz", "gmd-4bar/config.json"):
        assert f"latentlab/checkpoints/{name}" in names
    assert "latentlab/notebooks/explorer.ipynb" in names


@pytest.mark.slow
def test_installed_command_samples_from_any_folder(installed, tmp_path):
    installed.run("latentlab", "sample", "--n", "1", "--out", "x", "--seed", "0", cwd=tmp_path)
    assert len(list((tmp_path / "x").glob("*.mid"))) == 1


@pytest.mark.slow
def test_installed_package_loads_the_shipped_model(installed, tmp_path):
    code = "from latentlab import LatentLab; print(LatentLab.load().folder)"
    folder = Path(installed.run("python", "-c", code, cwd=tmp_path).strip())
    assert folder.is_relative_to(installed.venv) and folder.name == "gmd-2bar"


@pytest.mark.slow
def test_installed_dashboard_serves_the_explorer(installed, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "dashboard.log"
    command = [str(installed.venv / "bin" / "latentlab"), "dashboard", "--no-browser"]
    command += ["--pool-size", "0", "--port", str(port)]
    with log.open("w") as out:
        server = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=installed.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + scaled(60)
        while not _listening(port):
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=scaled(120)) as page:
            html = page.read().decode()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(scaled(20))
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    assert f"notebooks {installed.venv}" in log.read_text(), "the notebooks the wheel ships"
    assert "widget-view+json" in html, "the explorer's widgets are on the page"
    assert '"output_type": "error"' not in html
