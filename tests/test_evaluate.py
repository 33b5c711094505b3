"""Evaluation metrics on hand-made cases whose answers are known."""

import numpy as np
import pytest

from latentlab.evaluate import hit_scores, matched_errors, overlap_area, step_accuracy


def test_step_accuracy_needs_every_instrument_right():
    truth = np.zeros((1, 4, 9))
    truth[0, 0, 0] = truth[0, 1, 1] = 1
    pred = truth.copy()
    pred[0, 1, 2] = 1  # one extra hat on step 1: that step is wrong
    pred[0, 3, 8] = 1  # and step 3
    assert step_accuracy(pred, truth) == 0.5
    assert step_accuracy(truth, truth) == 1.0


def test_hit_scores():
    truth = np.zeros((1, 2, 9))
    truth[0, 0, :4] = 1  # four true hits
    pred = np.zeros_like(truth)
    pred[0, 0, :2] = 1  # two of them found
    pred[0, 1, 5] = 1  # one false hit
    s = hit_scores(pred, truth)
    assert s["precision"] == pytest.approx(2 / 3)
    assert s["recall"] == pytest.approx(0.5)
    assert s["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))


def test_matched_errors_only_count_cells_hit_in_both():
    truth = np.zeros((1, 2, 27))
    pred = np.zeros_like(truth)
    truth[0, 0, [0, 1]] = 1
    truth[0, 0, [9, 10]] = [0.5, 0.8]
    truth[0, 0, [18, 19]] = [0.1, -0.2]
    pred[0, 0, 0] = pred[0, 1, 2] = 1  # kick matched; snare missed; an extra hat
    pred[0, 0, 9], pred[0, 0, 18] = 0.7, 0.0
    e = matched_errors(pred, truth)
    assert e["velocity_mae"] == pytest.approx(0.2)
    assert e["offset_mae"] == pytest.approx(0.1)


def test_overlap_area():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 20000)
    assert overlap_area(a, a) == pytest.approx(1.0)
    assert overlap_area(a, rng.normal(0, 1, 20000)) > 0.95
    assert overlap_area(a, a + 100) == 0.0
    # Two unit normals one standard deviation apart overlap by 2 * Phi(-0.5) ~ 0.617.
    assert overlap_area(a, rng.normal(1, 1, 20000), bins=60) == pytest.approx(0.617, abs=0.03)


def test_evaluate_command_writes_json_and_the_model_card(tiny_checkpoint, tmp_path, monkeypatch):
    import json
    import shutil

    from latentlab.cli import main

    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, folder)
    data = tiny_checkpoint.parents[1] / "grooves"
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "eval.json"
    args = ["evaluate", str(folder), "--data", str(data), "--out", str(out), "--quiet", "--card"]
    assert main(args) == 0
    result = json.loads(out.read_text())
    for key in ("step_accuracy_free", "step_accuracy_teacher_forced", "hit_f1", "kl_bits"):
        assert 0 <= result[key] <= (1 if key != "kl_bits" else 1e6)
    assert 0 <= result["prior_overlap_mean"] <= 1
    card = (folder / "README.md").read_text()
    assert f"| step_accuracy_free | {result['step_accuracy_free']:.4f} | 0.917 |" in card
    assert "latentlab train --out" in card and "Groove MIDI Dataset" in card
