"""Every notebook in notebooks/ runs top to bottom, headless, without an error (nbclient).

Each runs in a fresh kernel from its own folder, as Voila and JupyterLab run it, with a
private corpus cache and temporary folder, so runs leave nothing behind. The training page
trains only when its button is pressed; its test presses it (`panel.run`) for a few steps.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import scaled
from nbclient import NotebookClient

from latentlab.shipped import shipped

NOTEBOOKS = sorted(shipped("notebooks").glob("*.ipynb"))
CELL_TIMEOUT = scaled(120)  # seconds per cell; no cell takes a minute on an idle machine
TRAIN_A_FEW_STEPS = """\
best = panel.run(max_steps=4)
assert (best / "atlas.npz").is_file() and panel.best == best
assert len(panel.results.children) == 5, "grooves, monitor, samples and the command shown"
"""


def client_for(path: Path, tmp_path: Path, monkeypatch) -> tuple[NotebookClient, object]:
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the training notebook's run folders
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        startup_timeout=scaled(60),
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    return client, notebook


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_without_errors(path: Path, tmp_path: Path, monkeypatch) -> None:
    client, notebook = client_for(path, tmp_path, monkeypatch)
    client.execute()  # raises CellExecutionError, with the traceback, on a failing cell
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    shown = [o for o in outputs if o.output_type in ("display_data", "execute_result")]
    assert shown, f"{path.name} shows nothing"


def test_the_training_page_trains_only_when_asked(tmp_path: Path, monkeypatch) -> None:
    path = next(p for p in NOTEBOOKS if p.stem == "training")
    client, notebook = client_for(path, tmp_path, monkeypatch)
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        assert not list(tmp_path.glob("latentlab-run-*")), "the page trained on load"
        notebook.cells.append(nbformat.v4.new_code_cell(TRAIN_A_FEW_STEPS))
        client.execute_cell(notebook.cells[-1], len(notebook.cells) - 1)
    (run,) = tmp_path.glob("latentlab-run-*")
    assert (run / "metrics.csv").read_text().count("\n") == 2, "a header and one epoch"
