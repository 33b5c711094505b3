"""The shipped checkpoints: load without the dataset, and reproduce their cards' test figures."""

import json

import pytest

from latentlab.lab import DEFAULT_CHECKPOINT, LatentLab

SHIPPED = [DEFAULT_CHECKPOINT, DEFAULT_CHECKPOINT.parent / "gmd-4bar"]


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_shipped_checkpoint_is_complete_and_small(folder):
    names = {p.name for p in folder.iterdir()}
    assert {"model.safetensors", "config.json", "atlas.npz", "README.md"} <= names
    assert sum(p.stat().st_size for p in folder.iterdir()) < 20 * 1024 * 1024
    lab = LatentLab.load(folder, device="cpu")
    assert len(lab.atlas) > 10000 and len(lab.styles) >= 10
    (groove,) = lab.sample(1, seed=0)
    assert groove.bars == lab.bars


@pytest.mark.dataset
@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_evaluate_reproduces_the_card(folder, gmd_env):
    from latentlab.evaluate import evaluate_checkpoint

    card = json.loads((folder / "evaluation.json").read_text())
    result = evaluate_checkpoint(folder, "test", progress=False)
    for key in ("windows", "step_accuracy_free", "step_accuracy_teacher_forced", "hit_f1"):
        assert result[key] == pytest.approx(card[key], abs=1e-4), key
    assert result["sample_overlap_mean"] == pytest.approx(card["sample_overlap_mean"], abs=0.02)
    readme = (folder / "README.md").read_text()
    assert f"| step_accuracy_free | {card['step_accuracy_free']:.4f} |" in readme
