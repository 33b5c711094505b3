"""Evaluation metrics on hand-made cases whose answers are known."""

import numpy as np
import pytest

from latentlab.evaluate import (
    bar_similarity,
    hit_scores,
    matched_errors,
    overlap_area,
    per_drum_recall,
    realism,
    step_accuracy,
    timing_baselines,
    velocity_spread,
)


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
    assert set(result["samples"]) == {"normal", "mixture"} and result["sampler"] == "mixture"
    assert 0 <= result["sample_overlap_mean"] <= 1 and 0 <= result["sample_over_dense"] <= 1
    assert set(result["recall"]) >= {"kick", "snare", "high_tom", "crash"}
    card = (folder / "README.md").read_text()
    # Trained on a folder of the user's grooves: the card names that folder, not the GMD,
    # and holds no GMD targets.
    assert "the drum MIDI files of the folder `grooves`" in card
    assert "Groove MIDI Dataset" not in card and "| >= " not in card
    assert f"| step_accuracy_teacher_forced | {result['step_accuracy_teacher_forced']:.4f}" in card
    assert "latentlab train --out" in card and "| mixture |" in card
    assert "starting from the weights" not in card
    # A fine-tuned model's card says where it started, and its command starts there too.
    from latentlab.evaluate import write_card

    config = json.loads((folder / "config.json").read_text())
    config["training"]["init"] = "checkpoints/gmd-2bar"
    config["model"]["bar_encoder"] = True
    (folder / "config.json").write_text(json.dumps(config))
    card = write_card(folder, result).read_text()
    assert "starting from the weights of `checkpoints/gmd-2bar`" in card
    assert "--init checkpoints/gmd-2bar --batch-size" in card
    # The reproduce command is one the CLI takes, with the model's options.
    from latentlab.cli import build_parser

    command = card[card.index("`latentlab train --out") + 1 :].split("`")[0]
    argv = command.split()[1:]
    args = build_parser().parse_args(argv)
    assert args.bar_encoder is True and args.linear_conductor is None


def _hvo(hits: np.ndarray, velocity=None) -> np.ndarray:
    hits = np.asarray(hits, np.float32)
    v = hits * (0.5 if velocity is None else np.asarray(velocity, np.float32))
    return np.concatenate([hits, v, np.zeros_like(hits)], -1)


def test_bar_similarity_of_a_repeating_loop_and_of_unrelated_bars():
    loop = np.zeros((1, 32, 9))
    loop[0, ::4, 0] = 1  # four on the floor in both bars
    assert bar_similarity(_hvo(loop))[0] == 1.0
    half = loop.copy()
    half[0, 16:, 0] = 0
    half[0, 18::4, 1] = 1  # bar 2 plays the snare between, nothing in common
    assert bar_similarity(_hvo(half))[0] == 0.0
    one_more = loop.copy()
    one_more[0, 17, 2] = 1  # bar 2 adds one hat: 4 shared of 5
    assert bar_similarity(_hvo(one_more))[0] == pytest.approx(0.8)


def test_per_drum_recall_and_timing_baselines():
    truth = np.zeros((1, 16, 9))
    truth[0, ::4, 0] = 1  # 4 kicks
    truth[0, 4::8, 1] = 1  # 2 snares
    pred = np.zeros_like(truth)
    pred[0, ::8, 0] = 1  # 2 of the kicks
    recall = per_drum_recall(pred, truth)
    assert recall["kick"] == 0.5 and recall["snare"] == 0.0 and np.isnan(recall["crash"])
    hvo = _hvo(truth, velocity=np.where(np.arange(9) == 0, 0.8, 0.2) * np.ones((1, 16, 9)))
    hvo[..., 18:27] = truth * 0.1
    base = timing_baselines(hvo)
    # velocities 0.8 x4, 0.2 x2: median 0.8, errors 0 x4 and 0.6 x2
    assert base["velocity_mae_baseline"] == pytest.approx(0.2)
    assert base["offset_mae_baseline"] == pytest.approx(0.1)


def test_realism_flags_walls_of_hits_and_flat_dynamics():
    rng = np.random.default_rng(0)
    hits = (rng.random((200, 32, 9)) < 0.1).astype(np.float32)
    reference = _hvo(hits, rng.uniform(0.2, 1.0, hits.shape))
    same = realism(reference, reference)
    assert same["over_dense"] == 0 and same["overlap_mean"] == pytest.approx(1.0)
    walls = _hvo(np.ones((10, 32, 9)))  # every cell hit, one flat velocity
    wall = realism(np.concatenate([reference[:90], walls]), reference)
    assert wall["over_dense"] == pytest.approx(0.1)
    flat = realism(_hvo(hits), reference)
    assert flat["overlap"]["velocity_spread"] < 0.1
    assert velocity_spread(_hvo(hits)).max() == pytest.approx(0, abs=1e-6)
