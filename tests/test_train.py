"""`latentlab train` end to end on a small MIDI-folder corpus: runs, logs, resumes, DDP."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import scaled

from latentlab.checkpoint import load_checkpoint
from latentlab.cli import main
from latentlab.model import DecoderOutput
from latentlab.pattern import DrumPattern
from latentlab.train import vae_loss

SMALL = ["--z-dim", "8", "--encoder-hidden", "16", "--decoder-hidden", "24", "--batch-size", "16"]


@pytest.fixture(scope="module")
def midi_folder(tmp_path_factory):
    """30 four-bar grooves in two style folders: enough for train and validation windows."""
    root = tmp_path_factory.mktemp("grooves")
    rng = np.random.default_rng(0)
    for i in range(30):
        hits = (rng.random((64, 9)) < 0.12).astype(np.float32)
        hits[::4, 2] = 1
        pattern = DrumPattern(hits, hits * rng.uniform(0.3, 1, hits.shape), hits * 0.1, bpm=100)
        style = root / ("rock" if i % 2 else "funk")
        style.mkdir(exist_ok=True)
        pattern.to_midi(style / f"groove{i}.mid")
    return root


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))


def _rows(run):
    with open(run / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_train_runs_logs_and_resumes(midi_folder, tmp_path, isolated_cache):
    run = tmp_path / "run"
    args = ["train", "--data", str(midi_folder), "--out", str(run), "--quiet", *SMALL]
    assert main([*args, "--epochs", "1", "--seed", "3", "--timing-weight", "2"]) == 0
    rows = _rows(run)
    assert len(rows) == 1 and float(rows[0]["train_loss"]) > 0
    assert 0 <= float(rows[0]["val_step_accuracy_free"]) <= 1
    model, config = load_checkpoint(run / "best", "cpu")
    assert config["data"]["corpus"] == "folder" and config["training"]["seed"] == 3
    assert config["training"]["epochs_done"] == 1 and config["training"]["timing_weight"] == 2

    assert main(["train", "--out", str(run), "--resume", "--epochs", "3", "--quiet"]) == 0
    rows = _rows(run)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert int(rows[2]["step"]) == 3 * int(rows[0]["step"])
    state = json.loads((run / "last" / "train_state.json").read_text())
    assert state["epoch"] == 3
    assert load_checkpoint(run / "last", "cpu")[1]["training"]["timing_weight"] == 2


def test_training_is_seeded(midi_folder, tmp_path, isolated_cache):
    losses = []
    for name in ("a", "b"):
        run = tmp_path / name
        args = ["train", "--data", str(midi_folder), "--out", str(run), "--quiet", *SMALL]
        assert main([*args, "--epochs", "1", "--seed", "5"]) == 0
        losses.append(_rows(run)[0]["train_loss"])
    assert losses[0] == losses[1]


def test_resume_without_a_run_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "nothing"), "--resume"]) == 2
    assert "cannot resume" in capsys.readouterr().err


@pytest.mark.slow
def test_distributed_data_parallel_on_two_cpu_processes(midi_folder, tmp_path):
    run = tmp_path / "ddp"
    env = {**os.environ, "LATENTLAB_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--standalone", "-m", "latentlab.cli", "train", "--data", str(midi_folder),
        "--out", str(run), "--quiet", "--epochs", "1", "--max-steps", "2", *SMALL,
    ]  # fmt: skip
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=scaled(300))
    assert result.returncode == 0, result.stderr[-2000:]
    assert (
        "world 2" in json.loads((run / "best" / "config.json").read_text())["training"]["hardware"]
    )
    assert len(_rows(run)) == 1


def test_timing_weight_scales_only_the_velocity_and_offset_errors():
    gen = torch.Generator().manual_seed(0)
    out = DecoderOutput(*(torch.randn(4, 32, 9, generator=gen) for _ in range(3)))
    target = torch.rand(4, 32, 27, generator=gen)
    target[..., :9] = (target[..., :9] > 0.7).float()
    mu, sigma = torch.randn(4, 8, generator=gen), torch.rand(4, 8, generator=gen) + 0.5
    plain, parts = vae_loss(out, target, mu, sigma, beta=0.2, free_bits=0.0)
    heavy, heavy_parts = vae_loss(out, target, mu, sigma, 0.2, 0.0, timing_weight=5.0)
    assert heavy_parts["bce"] == parts["bce"] and heavy_parts["kl"] == parts["kl"]
    timing = parts["velocity"] + parts["offset"]
    assert heavy.item() - plain.item() == pytest.approx(4 * timing, rel=1e-4)


def test_init_fine_tunes_a_checkpoint_on_a_folder(midi_folder, tmp_path, isolated_cache):
    from latentlab.atlas import Atlas

    base = tmp_path / "base"
    args = ["--data", str(midi_folder), "--quiet", "--bars", "4", *SMALL]
    assert main(["train", "--out", str(base), "--epochs", "1", *args]) == 0
    tuned = tmp_path / "tuned"
    assert main(["train", "--init", str(base / "best"), "--out", str(tuned), "--epochs", "1",
                 "--quiet", "--data", str(midi_folder)]) == 0  # fmt: skip
    start, _ = load_checkpoint(base / "best", "cpu")
    model, config = load_checkpoint(tuned / "best", "cpu")
    # Sizes and length come from the checkpoint, not the defaults (2 bars, wider layers).
    assert model.config == start.config and model.config.bars == 4
    assert config["training"]["init"] == str(base / "best")
    moved = [
        not torch.equal(a, b)
        for a, b in zip(start.state_dict().values(), model.state_dict().values(), strict=False)
    ]
    assert any(moved)
    assert main(["atlas", str(tuned / "best"), "--data", str(midi_folder), "--quiet"]) == 0
    atlas = Atlas.load(tuned / "best")
    assert atlas.sampler is not None and set(atlas.styles) == {"funk", "rock"}


def test_augment_keeps_a_groove_a_groove():
    from latentlab.pattern import HITS, OFFSETS, VELOCITIES
    from latentlab.train import augment

    gen = torch.Generator().manual_seed(0)
    hits = (torch.rand(64, 32, 9, generator=gen) < 0.2).float()
    x = torch.cat([hits, hits * 0.6, hits * 0.1], -1)
    y = augment(x, gen)
    onsets = lambda t: t[..., HITS].sum(-1) > 0  # noqa: E731
    assert (onsets(y) <= onsets(x)).all()  # no hit moves to another step
    assert (y[..., VELOCITIES][y[..., HITS] == 0] == 0).all()
    assert (y[..., OFFSETS].abs() <= 0.5).all() and (y[..., VELOCITIES] <= 1).all()
    kept = y[..., HITS].sum((1, 2)) / x[..., HITS].sum((1, 2))
    assert (kept > 0.4).all() and (kept < 1).any()  # at most one voice dropped, sometimes
    assert not torch.equal(y[..., VELOCITIES], x[..., VELOCITIES])
