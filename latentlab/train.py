"""Training loop for DrumVAE: one file, readable in one sitting.

loss = hit BCE (rare drums weighted up) + timing_weight * (velocity and offset squared errors
       on true hits) + beta * max(KL - free_bits, 0), beta warmed up linearly to max_beta.
Each batch is augmented with variations that keep a groove a groove (`augment`).
Adam with a short warm-up then a cosine learning-rate schedule over the planned epochs;
validation every epoch; the best
checkpoint (highest free-running step accuracy on validation) kept in `best/`, the latest
with its optimizer state in `last/` for resuming; metrics appended to metrics.csv and
metrics.jsonl. `init` starts from a trained checkpoint's weights (fine-tuning on a user's
own grooves). Runs on CUDA when present. Under `torchrun` (WORLD_SIZE > 1) it trains with
DistributedDataParallel: nccl on GPUs, gloo on CPUs.
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from latentlab.checkpoint import default_device, load_checkpoint, read_config, save_checkpoint
from latentlab.corpus import Corpus
from latentlab.errors import LatentLabError
from latentlab.evaluate import reconstruction_metrics
from latentlab.model import DecoderOutput, DrumVAE, ModelConfig, kl_divergence
from latentlab.pattern import DRUM_CLASSES, HITS, OFFSETS, VELOCITIES

# Drums a groove rarely plays: their hits are few, so their cross-entropy is weighted up.
RARE_DRUMS = ("open_hihat", "low_tom", "mid_tom", "high_tom", "crash")


@dataclass
class TrainConfig:
    """Everything a training run needs besides the model sizes."""

    out: str = "runs/gmd-2bar"
    data: str | None = None
    init: str | None = None  # a checkpoint folder to start from (fine-tuning)
    epochs: int = 100
    max_minutes: float | None = None
    max_steps: int | None = None
    batch_size: int = 256
    lr: float = 3e-3
    warmup_steps: int = 200
    min_lr: float = 1e-5  # where the cosine schedule ends, at the last planned epoch
    max_beta: float = 0.2
    beta_warmup_steps: int = 2000
    # KL allowed before beta applies. The atlas's sampler draws z where the training codes
    # are, so z no longer has to fill N(0, I) and the encoder may say more about a groove.
    free_bits: float = 256.0  # nats
    # Weight of the velocity and offset errors against the hit cross-entropy: their squared
    # errors are small numbers next to it, so at 1 the model learns hits first.
    timing_weight: float = 2.0
    rare_drum_weight: float = 2.0
    augment: bool = True
    seed: int = 0
    threads: int | None = None
    model: ModelConfig = field(default_factory=ModelConfig)


def vae_loss(
    out: DecoderOutput,
    target: torch.Tensor,
    mu: torch.Tensor,
    sigma: torch.Tensor,
    beta: float,
    free_bits: float,
    timing_weight: float = 1.0,
    rare_drum_weight: float = 1.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The training loss (mean over the batch) and its parts as floats."""
    hits = target[..., HITS]
    weight = torch.ones(len(DRUM_CLASSES), device=target.device)
    weight[[DRUM_CLASSES.index(d) for d in RARE_DRUMS]] = rare_drum_weight
    bce = F.binary_cross_entropy_with_logits(out.hit_logits, hits, reduction="none")
    bce = (bce * weight).sum((1, 2))
    velocity = ((out.velocities - target[..., VELOCITIES]) ** 2 * hits).sum((1, 2))
    offset = ((out.offsets - target[..., OFFSETS]) ** 2 * hits).sum((1, 2))
    kl = kl_divergence(mu, sigma)
    kl_cost = torch.clamp(kl - free_bits, min=0)
    loss = (bce + timing_weight * (velocity + offset) + beta * kl_cost).mean()
    parts = {
        "loss": loss.item(),
        "bce": bce.mean().item(),
        "velocity": velocity.mean().item(),
        "offset": offset.mean().item(),
        "kl": kl.mean().item(),
    }
    return loss, parts


def augment(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A batch of variations that keep each groove a groove (B, T, 27) -> (B, T, 27).

    Per groove: velocities through a random gain and curve; ride and closed hi-hat swapped
    (p 0.15); the three toms permuted (p 0.3); every offset shifted by one small amount
    (laid back or pushed, up to 0.08 of a step); one voice dropped (p 0.1). Hits stay on
    their steps, so the downbeat never moves.
    """
    b, device = x.shape[0], x.device

    def uniform(lo: float, hi: float, *shape: int) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(b, *shape, generator=generator, device=device)

    x = x.clone()
    hits = x[..., HITS]
    gain, curve = uniform(0.8, 1.2, 1, 1), torch.exp(uniform(-0.3, 0.3, 1, 1))
    x[..., VELOCITIES] = (gain * x[..., VELOCITIES].clamp_min(1e-6) ** curve).clamp(0, 1) * hits
    x[..., OFFSETS] = (x[..., OFFSETS] + uniform(-0.08, 0.08, 1, 1)).clamp(-0.5, 0.5) * hits
    order = torch.arange(len(DRUM_CLASSES), device=device).repeat(b, 1)
    ride, hat = DRUM_CLASSES.index("ride"), DRUM_CLASSES.index("closed_hihat")
    swap = uniform(0, 1) < 0.15
    order[swap, ride], order[swap, hat] = hat, ride
    toms = torch.tensor([DRUM_CLASSES.index(d) for d in ("low_tom", "mid_tom", "high_tom")])
    shuffled = torch.argsort(uniform(0, 1, 3), dim=1)
    permute = uniform(0, 1) < 0.3
    order[permute.nonzero(), toms.to(device)] = toms.to(device)[shuffled[permute]]
    index = torch.cat([order, order + len(DRUM_CLASSES), order + 2 * len(DRUM_CLASSES)], 1)
    x = torch.gather(x, 2, index.unsqueeze(1).expand(-1, x.shape[1], -1))
    drop = uniform(0, 1) < 0.1
    voice = torch.randint(len(DRUM_CLASSES), (b,), generator=generator, device=device)
    keep = torch.ones(b, len(DRUM_CLASSES), device=device)
    keep[drop, voice[drop]] = 0
    return x * keep.repeat(1, 3).unsqueeze(1)


def learning_rate(config: TrainConfig, step: int, total_steps: int) -> float:
    """Linear warm-up, then a cosine from `lr` down to `min_lr` at the last planned step."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    done = min(1.0, (step - config.warmup_steps) / max(total_steps - config.warmup_steps, 1))
    return config.min_lr + 0.5 * (config.lr - config.min_lr) * (1 + math.cos(math.pi * done))


def _save_optimizer(optimizer: torch.optim.Optimizer, folder: Path, state: dict) -> None:
    """Adam moments as safetensors and the loop state as JSON: nothing pickled."""
    tensors = {"rng": torch.get_rng_state()}
    for index, slot in optimizer.state_dict()["state"].items():
        for name, value in slot.items():
            tensors[f"{index}.{name}"] = torch.as_tensor(value).detach().cpu().contiguous()
    save_file(tensors, folder / "optimizer.safetensors")
    (folder / "train_state.json").write_text(json.dumps(state, indent=2) + "\n")


def _load_optimizer(optimizer: torch.optim.Optimizer, folder: Path) -> dict:
    tensors = load_file(folder / "optimizer.safetensors")
    torch.set_rng_state(tensors.pop("rng"))
    slots: dict[int, dict] = {}
    for key, value in tensors.items():
        index, name = key.split(".", 1)
        slots.setdefault(int(index), {})[name] = value
    current = optimizer.state_dict()
    current["state"] = slots
    optimizer.load_state_dict(current)
    return json.loads((folder / "train_state.json").read_text())


def _append_metrics(out: Path, row: dict) -> None:
    with (out / "metrics.jsonl").open("a") as f:
        f.write(json.dumps(row) + "\n")
    path = out / "metrics.csv"
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def train(
    config: TrainConfig,
    resume: bool = False,
    progress: bool = True,
    on_epoch: Callable[[dict], None] | None = None,
) -> Path:
    """Train (or resume) a run; returns the folder of the best checkpoint.

    `on_epoch` is called with each epoch's metrics row (what metrics.csv gets), e.g. to
    draw a live loss plot in a notebook.
    """
    from tqdm.auto import tqdm

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = default_device()
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
    if config.threads:
        torch.set_num_threads(config.threads)
    out = Path(config.out)
    main = rank == 0

    torch.manual_seed(config.seed)
    if resume:
        if not (out / "last" / "train_state.json").exists():
            raise LatentLabError(f"{out}: nothing to resume (no last/train_state.json)")
        model, _ = load_checkpoint(out / "last", device)
    elif config.init:
        model, _ = load_checkpoint(config.init, device)
    else:
        model = DrumVAE(config.model).to(device)
    model.train()
    config.model = model.config  # a resumed or fine-tuned model keeps its sizes and length

    corpus = Corpus.open(config.data)
    windows = corpus.windows(config.model.bars, progress=progress and main)
    train_hvo = torch.as_tensor(windows.split("train").hvo, device=device)
    valid_hvo = windows.split("validation").hvo
    if len(train_hvo) == 0 or len(valid_hvo) == 0:
        raise LatentLabError(f"{corpus.root}: needs windows in both the train and validation split")
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    state = {"epoch": 0, "step": 0, "best": -1.0, "seconds": 0.0}
    if resume:
        state = _load_optimizer(optimizer, out / "last")
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model)
    if main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "train_config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")

    info = {
        "data": {
            "corpus": corpus.kind,
            "root_name": corpus.root.name,
            "bars": config.model.bars,
            "train_windows": len(train_hvo),
            "validation_windows": len(valid_hvo),
        },
        "training": {
            **{k: v for k, v in asdict(config).items() if k not in ("model", "out", "data")},
            "hardware": f"{platform.processor() or platform.machine()}, {device}, world {world}",
        },
    }
    rng = np.random.default_rng(config.seed + state["epoch"])
    started = time.time() - state["seconds"]
    per_rank = len(train_hvo) // world  # equal shards: every rank takes the same steps
    size = min(config.batch_size, per_rank)
    total_steps = config.epochs * (per_rank // size)
    g = torch.Generator(device=device).manual_seed(config.seed + state["step"])
    while state["epoch"] < config.epochs:
        model.train()
        order = torch.as_tensor(rng.permutation(len(train_hvo)), device=device)
        order = order[rank * per_rank : (rank + 1) * per_rank]
        batches = range(0, len(order) - size + 1, size)
        bar = tqdm(batches, desc=f"epoch {state['epoch'] + 1}", disable=not (progress and main))
        sums: dict[str, float] = {}
        for start in bar:
            x = train_hvo[order[start : start + size]]
            if config.augment:
                x = augment(x, g)
            lr = learning_rate(config, state["step"], total_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            beta = config.max_beta * min(1.0, state["step"] / max(config.beta_warmup_steps, 1))
            out_, mu, sigma = net(x)
            loss, parts = vae_loss(
                out_,
                x,
                mu,
                sigma,
                beta,
                config.free_bits,
                config.timing_weight,
                config.rare_drum_weight,
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            state["step"] += 1
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            bar.set_postfix(loss=f"{parts['loss']:.2f}", kl=f"{parts['kl']:.1f}")
            if config.max_steps and state["step"] >= config.max_steps:
                break
        state["epoch"] += 1
        state["seconds"] = time.time() - started
        if main:
            n = max(len(bar), 1)
            metrics = reconstruction_metrics(model, valid_hvo)
            row = {
                "epoch": state["epoch"],
                "step": state["step"],
                "seconds": round(state["seconds"], 1),
                "lr": lr,
                "beta": beta,
                **{f"train_{k}": round(v / n, 5) for k, v in sums.items()},
                **{f"val_{k}": round(v, 5) for k, v in metrics.items() if k != "windows"},
            }
            _append_metrics(out, row)
            if on_epoch is not None:
                on_epoch(row)
            tqdm.write(
                f"epoch {state['epoch']}: loss {row['train_loss']:.2f} kl {row['train_kl']:.1f} "
                f"val step acc free {metrics['step_accuracy_free']:.4f} "
                f"tf {metrics['step_accuracy_teacher_forced']:.4f} f1 {metrics['hit_f1']:.4f}"
            )
            info["training"]["epochs_done"] = state["epoch"]
            info["training"]["steps_done"] = state["step"]
            info["training"]["seconds"] = round(state["seconds"], 1)
            info["validation"] = metrics
            if metrics["step_accuracy_free"] > state["best"]:
                state["best"] = metrics["step_accuracy_free"]
                save_checkpoint(model, out / "best", info)
            save_checkpoint(model, out / "last", info)
            _save_optimizer(optimizer, out / "last", state)
        if world > 1:
            dist.barrier()
        out_of_time = config.max_minutes and state["seconds"] > 60 * config.max_minutes
        if out_of_time or (config.max_steps and state["step"] >= config.max_steps):
            break
    if world > 1:
        dist.destroy_process_group()
    return out / "best"


def resume_config(out: str | os.PathLike) -> TrainConfig:
    """The TrainConfig a run was started with (to resume it with the same settings)."""
    path = Path(out) / "train_config.json"
    if not path.exists():
        raise LatentLabError(f"{path}: missing; cannot resume this run")
    raw = json.loads(path.read_text())
    read_config(Path(out) / "last")
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise LatentLabError(f"{path}: setting {unknown[0]!r} is from an older recipe; start anew")
    return TrainConfig(**{**raw, "model": ModelConfig(**raw["model"])})
