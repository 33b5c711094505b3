"""The training page's panel: fine-tuning the shipped model on a folder of grooves."""

import json

from latentlab.checkpoint import model_config
from latentlab.lab import LatentLab, default_checkpoint
from latentlab.widgets.training import TrainingPanel


def test_the_panel_fine_tunes_the_shipped_model_on_the_grooves(tmp_path, monkeypatch):
    from conftest import synthetic_grooves

    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))
    grooves = synthetic_grooves(tmp_path / "mine")
    panel = TrainingPanel(grooves, tmp_path / "run", epochs=1)
    panel.start.value = True
    best = panel.run(max_steps=2)
    shipped = json.loads((default_checkpoint() / "config.json").read_text())
    mine = LatentLab.load(best, device="cpu")
    assert mine.model.config == model_config(shipped)  # the shipped sizes and options
    assert mine.config["training"]["init"] == str(default_checkpoint())
    assert mine.config["data"]["corpus"] == "folder" and mine.atlas.sampler is not None
    assert set(mine.styles) == {"funk", "rock"}
    assert "done" in panel.status.value
