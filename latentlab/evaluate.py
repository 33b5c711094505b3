"""Metrics of a DrumVAE on held-out windows, and prior-sample realism (MGEval-style overlap).

Reconstructions start from the posterior mean. Step accuracy is the MusicVAE measure: a
step counts as right when all nine instruments are right. Velocity and offset errors are
measured where the groove has a hit and the free-running decode plays it too: the timing
and dynamics of what you hear.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from latentlab.attributes import ATTRIBUTES
from latentlab.model import DrumVAE, kl_divergence, nats_to_bits

OVERLAP_FEATURES = (
    "density",
    "syncopation",
    "kick_density",
    "snare_density",
    "hihat_density",
    "toms_density",
    "cymbals_density",
)


def step_accuracy(predicted_hits: np.ndarray, true_hits: np.ndarray) -> float:
    """Fraction of steps where all instruments match; arrays (N, T, 9) of 0/1."""
    return float(np.all((predicted_hits > 0.5) == (true_hits > 0.5), axis=-1).mean())


def hit_scores(predicted_hits: np.ndarray, true_hits: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 of hits over every (step, instrument) cell."""
    p, t = predicted_hits > 0.5, true_hits > 0.5
    tp = float((p & t).sum())
    precision = tp / max(float(p.sum()), 1.0)
    recall = tp / max(float(t.sum()), 1.0)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {"precision": precision, "recall": recall, "f1": f1}


def matched_errors(predicted: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Velocity and offset mean absolute errors on cells that are hits in both (N, T, 27)."""
    both = (predicted[..., :9] > 0.5) & (target[..., :9] > 0.5)
    if not both.any():
        return {"velocity_mae": float("nan"), "offset_mae": float("nan")}
    vel = np.abs(predicted[..., 9:18] - target[..., 9:18])[both].mean()
    off = np.abs(predicted[..., 18:27] - target[..., 18:27])[both].mean()
    return {"velocity_mae": float(vel), "offset_mae": float(off)}


def overlap_area(a: np.ndarray, b: np.ndarray, bins: int = 30) -> float:
    """Overlapping area of two normalised histograms on shared bins (1 = same distribution)."""
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    if hi <= lo:
        return 1.0
    edges = np.linspace(lo, hi, bins + 1)
    pa, _ = np.histogram(a, edges)
    pb, _ = np.histogram(b, edges)
    return float(np.minimum(pa / pa.sum(), pb / pb.sum()).sum())


def feature_overlaps(samples: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Overlap of each rhythm feature between samples and reference HVO batches."""
    return {
        name: overlap_area(ATTRIBUTES[name](samples), ATTRIBUTES[name](reference))
        for name in OVERLAP_FEATURES
    }


def _batches(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


@torch.no_grad()
def reconstruction_metrics(model: DrumVAE, hvo: np.ndarray, batch: int = 512) -> dict:
    """Teacher-forced and free-running metrics from the posterior mean, plus KL in bits."""
    model.eval()
    free, forced, kls = [], [], []
    for s in _batches(len(hvo), batch):
        x = torch.as_tensor(hvo[s], device=model.device)
        mu, sigma = model.encode(x)
        kls.append(kl_divergence(mu, sigma).cpu())
        forced.append((model.decode_teacher_forced(mu, x).hit_logits > 0).float().cpu().numpy())
        free.append(model.generate(mu).cpu().numpy())
    free_hvo = np.concatenate(free)
    out = {
        "windows": len(hvo),
        "step_accuracy_free": step_accuracy(free_hvo[..., :9], hvo[..., :9]),
        "step_accuracy_teacher_forced": step_accuracy(np.concatenate(forced), hvo[..., :9]),
        **{f"hit_{k}": v for k, v in hit_scores(free_hvo[..., :9], hvo[..., :9]).items()},
        **matched_errors(free_hvo, hvo),
        "kl_bits": float(nats_to_bits(torch.cat(kls).mean()).item()),
    }
    return out


@torch.no_grad()
def prior_metrics(model: DrumVAE, reference: np.ndarray, seed: int = 0, batch: int = 512) -> dict:
    """Sample as many patterns as the reference at temperature 1; overlap of rhythm features."""
    g = torch.Generator(device=model.device).manual_seed(seed)
    samples = []
    for s in _batches(len(reference), batch):
        n = s.stop - s.start
        z = torch.randn(n, model.config.z_dim, generator=g, device=model.device)
        samples.append(model.generate(z, temperature=1.0, generator=g).cpu().numpy())
    overlaps = feature_overlaps(np.concatenate(samples), reference)
    return {
        "prior_overlap": overlaps,
        "prior_overlap_mean": float(np.mean(list(overlaps.values()))),
    }


def evaluate_checkpoint(
    folder: str | os.PathLike,
    split: str = "test",
    data: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    progress: bool = True,
) -> dict:
    """Every metric of a checkpoint on one split of its corpus; written to out as JSON."""
    from latentlab.checkpoint import load_checkpoint
    from latentlab.corpus import Corpus

    model, config = load_checkpoint(folder)
    windows = Corpus.open(data).windows(model.config.bars, progress=progress).split(split)
    torch.manual_seed(0)
    result = {
        "checkpoint": str(folder),
        "split": split,
        **reconstruction_metrics(model, windows.hvo),
        **prior_metrics(model, windows.hvo),
    }
    if out is not None:
        Path(out).write_text(json.dumps(result, indent=2) + "\n")
    return result


TARGETS = {
    2: {
        "step_accuracy_free": 0.917,
        "step_accuracy_teacher_forced": 0.979,
        "hit_f1": 0.90,
        "velocity_mae": 0.08,
        "offset_mae": 0.08,
        "prior_overlap_mean": 0.8,
    },
    4: {"step_accuracy_free": 0.879, "prior_overlap_mean": 0.8},
}


def _met(name: str, value: float, target: float) -> str:
    lower_is_better = name.endswith("_mae")
    ok = value <= target if lower_is_better else value >= target
    return "yes" if ok else "no"


def write_card(folder: str | os.PathLike, evaluation: dict, notes: str = "") -> Path:
    """The checkpoint's model card (README.md): data, settings, training, evaluation table."""
    from latentlab.checkpoint import read_config

    folder = Path(folder)
    config = read_config(folder)
    model, data, training = config["model"], config.get("data", {}), config.get("training", {})
    targets = TARGETS.get(model["bars"], {})
    rows = [
        f"| {name} | {evaluation[name]:.4f} | {target} | {_met(name, evaluation[name], target)} |"
        for name, target in targets.items()
    ]
    extra = [
        f"| {name} | {evaluation[name]:.4f} | | |"
        for name in ("hit_precision", "hit_recall", "kl_bits")
        if name in evaluation
    ]
    overlaps = ", ".join(f"{k} {v:.3f}" for k, v in evaluation.get("prior_overlap", {}).items())
    minutes = training.get("seconds", 0) / 60
    command = (
        f"latentlab train --out runs/{folder.name} --bars {model['bars']} "
        f"--{'' if model['hierarchical'] else 'no-'}hierarchical --z-dim {model['z_dim']} "
        f"--encoder-hidden {model['encoder_hidden']} --decoder-hidden {model['decoder_hidden']} "
        f"--history-dropout {model.get('history_dropout', 0.0)} "
        f"--batch-size {training.get('batch_size')} --lr {training.get('lr')} "
        f"--free-bits {training.get('free_bits')} "
        f"--timing-weight {training.get('timing_weight', 1.0)} "
        f"--max-beta {training.get('max_beta')} "
        f"--seed {training.get('seed')} --epochs {training.get('epochs_done')}"
        + (f" --threads {training['threads']}" if training.get("threads") else "")
    )
    text = f"""# {folder.name}: DrumVAE, {model["bars"]}-bar drum grooves

A {"hierarchical " if model["hierarchical"] else ""}recurrent VAE over HVO drum patterns
(hits, velocities, micro-timing offsets of 9 drum classes on a 16th-note grid), trained on
the Groove MIDI Dataset v1.0.0 (CC BY 4.0; Gillick, Roberts, Engel, Eck and Bamman,
"Learning to Groove with Inverse Sequence Transformations", ICML 2019).

## Data
{data.get("bars", model["bars"])}-bar windows, hop one bar, 4/4 files only, empty windows dropped:
{data.get("train_windows", "?")} train and {data.get("validation_windows", "?")} validation
windows; test figures below are on the {evaluation.get("windows", "?")} windows of the test split.

## Model
{json.dumps(model)}

## Training
- Loss: hit BCE + timing_weight * (velocity and offset squared errors on true hits)
  + beta * max(KL - free_bits, 0); beta warmed up linearly to max_beta.
- Settings: {json.dumps({k: v for k, v in training.items() if k != "hardware"})}
- Hardware: {training.get("hardware", "?")}; {minutes:.0f} minutes of training
  ({training.get("epochs_done", "?")} epochs, {training.get("steps_done", "?")} steps).
- Reproduce: `{command}`, and select `runs/{folder.name}/best` (best free-running step
  accuracy on validation); to continue it, `--resume` with larger `--epochs` and `--max-minutes`.

## Evaluation (test split, `latentlab evaluate {folder} --split test`)
| metric | value | target | met |
|---|---|---|---|
{chr(10).join(rows + extra)}

Step accuracy counts a step right when all nine drums are right (MusicVAE's measure),
from the posterior mean; "free" decodes autoregressively from its own outputs, "teacher
forced" sees the true previous steps. Velocity and offset errors are on hits the decode
plays where the groove has them. Prior samples (temperature 1) vs test set, overlapping
area of feature histograms: {overlaps}.
{notes}"""
    path = folder / "README.md"
    path.write_text(text)
    return path
