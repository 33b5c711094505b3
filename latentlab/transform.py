"""GrooVAE's inverse sequence transformations: Humanize and Drumify.

Each is a small bidirectional GRU that maps a transformed groove back to what the drummer
played, every step at once (not autoregressive), so it serves grooves of any length:

- Humanize reads a groove's hits (as if quantised) and its level, the mean velocity of its
  hits: a flat groove from a step sequencer still says how loud it was entered (soft 40 or
  loud 110), and that is most of how hard a drummer hits. It predicts a velocity and an
  offset for every cell; `humanize` keeps every hit and changes nothing else.
- Drumify reads taps: every onset collapsed to one voice (a tap where any drum hits, with the
  loudest velocity and its offset) and predicts, per step, which drums play and how loud.
  `drumify` gives every tap step its drums (those over 0.5, at least the most likely one)
  and none elsewhere; offsets come from the taps, so the taps' timing is kept.

Both also read the step's place in its bar (one-hot of 16), so downbeats and backbeats are
told apart in grooves of any length. Trained on N-bar corpus windows (`train_transform`),
stored in a checkpoint folder as `<kind>.safetensors` (weights) and `<kind>.json` (sizes
and the training summary); loading never unpickles anything and checks every tensor.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from latentlab.checkpoint import _read_json, _read_weights
from latentlab.corpus import Corpus
from latentlab.errors import LatentLabError
from latentlab.pattern import HITS, N_CLASSES, OFFSETS, STEPS_PER_BAR, VELOCITIES, DrumPattern

KINDS = ("humanize", "drumify")
FORMAT_VERSION = 1
# The shipped models' recipes (docs/transforms-notes.md): train_transform's defaults.
RECIPES = {
    "humanize": {"hidden": 128, "dropout": 0.5, "epochs": 10},
    "drumify": {"hidden": 64, "dropout": 0.3, "epochs": 15},
}
# (low, high) of each size a transform's json may ask for.
SIZE_RANGES = {"hidden": (1, 1024), "layers": (1, 4)}
INPUTS = {"humanize": N_CLASSES + 1, "drumify": 3}  # hits + level, or tap / velocity / offset
# What each model reads per step, recorded in its json; a json without it is the first
# format, whose humanize model read the hits alone and is refused with a clear error.
READS = {"humanize": "hits + level (mean hit velocity)", "drumify": "tap, velocity, offset"}
FIRST_READS = {"humanize": "hits", "drumify": READS["drumify"]}
OUTPUTS = 2 * N_CLASSES  # per drum: velocity and offset (humanize), hit and velocity (drumify)


@dataclass(frozen=True)
class TransformConfig:
    """The sizes of one transform model."""

    kind: str
    hidden: int
    layers: int = 2
    dropout: float = 0.0  # between the GRU layers and before the head, while training


class TransformNet(nn.Module):
    """Bidirectional GRU over (input features + place in the bar) -> per-step outputs."""

    def __init__(self, config: TransformConfig):
        super().__init__()
        self.config = config
        self.rnn = nn.GRU(
            INPUTS[config.kind] + STEPS_PER_BAR,
            config.hidden,
            config.layers,
            batch_first=True,
            bidirectional=True,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(2 * config.hidden, OUTPUTS)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T, inputs) -> (B, T, outputs): raw outputs (see `_outputs`)."""
        b, t, _ = features.shape
        place = F.one_hot(torch.arange(t) % STEPS_PER_BAR, STEPS_PER_BAR).to(features)
        x = torch.cat([features, place.expand(b, -1, -1)], dim=-1)
        return self.head(self.drop(self.rnn(x)[0]))


def taps(hvo: np.ndarray) -> np.ndarray:
    """Every onset of grooves (..., T, 27) collapsed to one voice (..., T, 3): tap (0/1), the
    loudest velocity of the step and the offset of that loudest hit."""
    hits = hvo[..., HITS] > 0.5
    velocities = np.where(hits, hvo[..., VELOCITIES], -1.0)
    loudest = velocities.argmax(-1)[..., None]
    tap = hits.any(-1)
    velocity = np.take_along_axis(hvo[..., VELOCITIES], loudest, -1)[..., 0]
    offset = np.take_along_axis(hvo[..., OFFSETS], loudest, -1)[..., 0]
    return np.stack([tap, velocity * tap, offset * tap], -1).astype(np.float32)


def level_of(hvo: np.ndarray) -> np.ndarray:
    """The level of grooves (..., T, 27), shape (...): the mean velocity of their hits (0
    for a groove without hits)."""
    hits = hvo[..., HITS] > 0.5
    total = (hvo[..., VELOCITIES] * hits).sum((-2, -1))
    return (total / np.maximum(hits.sum((-2, -1)), 1)).astype(np.float32)


def check_level(level: float | None) -> None:
    """Refuse a humanize level that is not a number in 0..1 (None: the groove's own)."""
    if level is None:
        return
    if not (isinstance(level, int | float) and not isinstance(level, bool) and 0 <= level <= 1):
        raise LatentLabError(
            f"humanize: level {level!r} is not a number in 0..1 (the groove's loudness, "
            "the mean velocity of its hits: 0 silent, 1 the loudest)"
        )


def features(kind: str, hvo: np.ndarray, level: np.ndarray | float | None = None) -> np.ndarray:
    """What a transform reads of grooves (..., T, 27): the hits and the level (humanize; the
    grooves' own unless `level` is given, one number or one per groove) or the taps."""
    if kind != "humanize":
        return taps(hvo)
    hits = (hvo[..., HITS] > 0.5).astype(np.float32)
    level = level_of(hvo) if level is None else np.asarray(level, np.float32)
    level = np.broadcast_to(level[..., None, None], hits[..., :1].shape)
    return np.concatenate([hits, level], -1)


def _outputs(net: TransformNet, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Humanize: (velocities, offsets); drumify: (hit logits, velocities); each (B, T, 9)."""
    raw = net(x)
    first, second = raw[..., :N_CLASSES], raw[..., N_CLASSES:]
    if net.config.kind == "humanize":
        return torch.sigmoid(first), 0.5 * torch.tanh(second)
    return first, torch.sigmoid(second)


def loss(net: TransformNet, hvo: torch.Tensor) -> torch.Tensor:
    """Humanize: squared errors of velocities and offsets on the true hits, read from the
    hits and each window's level. Drumify: hit cross-entropy on the tap steps (elsewhere
    nothing plays) + velocity squared error on the true hits."""
    x = torch.as_tensor(features(net.config.kind, hvo.numpy()))
    hits = hvo[..., HITS]
    first, second = _outputs(net, x)
    n_hits = hits.sum().clamp_min(1)
    if net.config.kind == "humanize":
        errors = (first - hvo[..., VELOCITIES]) ** 2 + (second - hvo[..., OFFSETS]) ** 2
        return (errors * hits).sum() / n_hits
    tap = x[..., :1]
    bce = F.binary_cross_entropy_with_logits(first, hits, reduction="none")
    hit_loss = (bce * tap).sum() / tap.sum().clamp_min(1) / N_CLASSES
    velocity_loss = (((second - hvo[..., VELOCITIES]) ** 2) * hits).sum() / n_hits
    return hit_loss + velocity_loss


@torch.no_grad()
def apply(
    net: TransformNet, hvo: np.ndarray, level: np.ndarray | float | None = None
) -> np.ndarray:
    """The transform of grooves (N, T, 27) -> (N, T, 27); see the module docstring. `level`
    (humanize): one for all grooves or one per groove; None reads each groove's own."""
    net.eval()
    hvo = np.asarray(hvo, np.float32)
    x = features(net.config.kind, hvo, level)
    first, second = (a.numpy() for a in _outputs(net, torch.as_tensor(x)))
    if net.config.kind == "humanize":
        hits = x[..., :N_CLASSES]
        velocities, offsets = first, second
    else:
        tap = x[..., :1] > 0.5
        likely = first > 0  # sigmoid over 0.5
        most = first == first.max(-1, keepdims=True)
        hits = (tap & (likely | most)).astype(np.float32)
        velocities, offsets = second, np.broadcast_to(x[..., 2:3], hits.shape)
    return np.concatenate([hits, velocities * hits, offsets * hits], -1)


def transform(net: TransformNet, pattern: DrumPattern, level: float | None = None) -> DrumPattern:
    """The transform of one groove, at its tempo and length; `level` in 0..1 (humanize)
    replaces the groove's own (the mean velocity of its hits)."""
    check_level(level)
    out = apply(net, pattern.to_array()[None], level)[0]
    return DrumPattern.from_array(out, pattern.bpm)


# ---- files -------------------------------------------------------------------------------
def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise LatentLabError(f"transform {kind!r}: use one of {', '.join(KINDS)}")


def save_transform(net: TransformNet, folder: str | os.PathLike, info: dict[str, Any]) -> Path:
    """Write `<kind>.safetensors` and `<kind>.json` (sizes plus `info`) into folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    kind = net.config.kind
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    save_file(state, folder / f"{kind}.safetensors.tmp")
    os.replace(folder / f"{kind}.safetensors.tmp", folder / f"{kind}.safetensors")
    config = {"format_version": FORMAT_VERSION, **asdict(net.config), "inputs": READS[kind]}
    config |= info
    (folder / f"{kind}.json.tmp").write_text(json.dumps(config, indent=2) + "\n")
    os.replace(folder / f"{kind}.json.tmp", folder / f"{kind}.json")
    return folder / f"{kind}.safetensors"


def has_transform(folder: str | os.PathLike, kind: str) -> bool:
    """Whether a checkpoint folder ships a `kind` model (its files are checked on loading)."""
    _check_kind(kind)
    return all((Path(folder) / f"{kind}{suffix}").is_file() for suffix in (".json", ".safetensors"))


def load_transform(folder: str | os.PathLike, kind: str) -> TransformNet:
    """The `kind` model of a checkpoint folder, every file, size and tensor checked."""
    _check_kind(kind)
    folder = Path(folder)
    path, weights = folder / f"{kind}.json", folder / f"{kind}.safetensors"
    if not (path.is_file() and weights.is_file()):
        raise LatentLabError(
            f"{folder}: this checkpoint has no {kind} model; train one with "
            f"`latentlab train-transform --kind {kind} --out {folder}`"
        )
    config = _read_json(path)
    if not isinstance(config, dict) or config.get("format_version") != FORMAT_VERSION:
        raise LatentLabError(f"{path}: not a {kind} model (format_version {FORMAT_VERSION})")
    if config.get("kind") != kind:
        raise LatentLabError(f"{path}: kind is {config.get('kind')!r}, not {kind!r}")
    if (reads := config.get("inputs", FIRST_READS[kind])) != READS[kind]:
        raise LatentLabError(
            f"{path}: this {kind} model reads {reads!r}, not {READS[kind]!r} (an older "
            f"format); retrain it with `latentlab train-transform --kind {kind} --out {folder}`"
        )
    for key, (low, high) in SIZE_RANGES.items():
        value = config.get(key)
        if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high):
            raise LatentLabError(f"{path}: {key} is {value!r}, not a whole number in {low}..{high}")
    settings = TransformConfig(kind, config["hidden"], config["layers"])
    with torch.device("meta"):
        expected = TransformNet(settings).state_dict()
    net = TransformNet(settings)
    net.load_state_dict(_read_weights(weights, expected))
    return net.eval()


# ---- training ----------------------------------------------------------------------------
def train_transform(
    kind: str,
    out: str | os.PathLike,
    data: str | os.PathLike | None = None,
    bars: int = 2,
    epochs: int | None = None,
    batch_size: int = 64,
    lr: float = 2e-3,
    hidden: int | None = None,
    layers: int = 2,
    dropout: float | None = None,
    seed: int = 0,
    threads: int = 1,
    max_steps: int | None = None,
    progress: bool = True,
) -> Path:
    """Train a `kind` transform on the corpus's train windows; the epoch with the lowest
    validation loss is saved into `out` (`<kind>.safetensors` and `<kind>.json`). Epochs,
    hidden size and dropout left None take the shipped model's recipe (RECIPES).

    AdamW with a cosine learning rate over the epochs; one torch thread by default, so it
    can run beside other work. `max_steps` stops early (for tests)."""
    _check_kind(kind)
    recipe = RECIPES[kind]
    epochs = recipe["epochs"] if epochs is None else epochs
    hidden = recipe["hidden"] if hidden is None else hidden
    dropout = recipe["dropout"] if dropout is None else dropout
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    started = time.time()
    corpus = Corpus.open(data)
    windows = corpus.windows(bars, progress=progress)
    train_hvo = windows.split("train").hvo.astype(np.float32)
    valid = windows.split("validation").hvo.astype(np.float32)
    if not len(train_hvo) or not len(valid):
        raise LatentLabError("train-transform: the corpus needs train and validation windows")
    net = TransformNet(TransformConfig(kind, hidden, layers, dropout))
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr)
    per_epoch = -(-len(train_hvo) // batch_size)
    total = epochs * per_epoch if max_steps is None else min(max_steps, epochs * per_epoch)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total, eta_min=lr / 50)
    data_info = {"corpus": f"{corpus.kind} {corpus.root.name}", "bars": bars}
    settings = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed}
    settings |= {"threads": threads}
    settings |= {"train_windows": len(train_hvo), "machine": platform.machine()}
    best, step, history = float("inf"), 0, []
    for epoch in range(1, epochs + 1):
        net.train()
        order = rng.permutation(len(train_hvo))
        losses = []
        for start in range(0, len(order), batch_size):
            batch = torch.as_tensor(train_hvo[order[start : start + batch_size]])
            value = loss(net, batch)
            optimizer.zero_grad()
            value.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            losses.append(value.item())
            step += 1
            if step >= total:
                break
        net.eval()
        with torch.no_grad():
            valid_loss = float(
                np.mean(
                    [
                        loss(net, torch.as_tensor(valid[s : s + 512])).item()
                        for s in range(0, len(valid), 512)
                    ]
                )
            )
        history.append(
            {"epoch": epoch, "train_loss": float(np.mean(losses)), "valid_loss": valid_loss}
        )
        if progress:
            print(
                f"{kind} epoch {epoch}: train {np.mean(losses):.5f} valid {valid_loss:.5f} "
                f"({time.time() - started:.0f} s)",
                flush=True,
            )
        if valid_loss < best:  # saved at once, so a stopped run keeps its best epoch
            best = valid_loss
            training = settings | {"minutes": round((time.time() - started) / 60, 2)}
            info = {
                "data": data_info,
                "training": training,
                "validation": {"best_epoch": epoch, "loss": best, "history": history},
            }
            path = save_transform(net, out, info)
        if step >= total:
            break
    if best == float("inf"):
        raise LatentLabError(f"train-transform: the {kind} model's loss is not a number")
    return path
