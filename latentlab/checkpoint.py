"""Checkpoints are folders: `model.safetensors` (weights) and `config.json` (model and data
settings, format version, training summary and metrics). Loading never unpickles anything."""

from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from latentlab.errors import LatentLabError
from latentlab.model import DrumVAE, ModelConfig

FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def save_checkpoint(model: DrumVAE, folder: str | os.PathLike, info: dict[str, Any]) -> Path:
    """Write weights and config.json (info holds data settings, training summary, metrics)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, folder / f"{WEIGHTS}.tmp")
    os.replace(folder / f"{WEIGHTS}.tmp", folder / WEIGHTS)
    config = {"format_version": FORMAT_VERSION, "model": model.config.to_dict(), **info}
    (folder / f"{CONFIG}.tmp").write_text(json.dumps(config, indent=2) + "\n")
    os.replace(folder / f"{CONFIG}.tmp", folder / CONFIG)
    return folder


def read_config(folder: str | os.PathLike) -> dict[str, Any]:
    """config.json of a checkpoint folder, validated for its format version."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LatentLabError(f"{folder}: checkpoint folder does not exist")
    path = folder / CONFIG
    if not path.exists():
        raise LatentLabError(f"{path}: missing (a checkpoint folder needs {CONFIG})")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise LatentLabError(f"{path}: not valid JSON ({exc})") from None
    version = config.get("format_version") if isinstance(config, dict) else None
    if version != FORMAT_VERSION:
        raise LatentLabError(
            f"{path}: format_version {version!r} is not supported (expected {FORMAT_VERSION})"
        )
    if not isinstance(config.get("model"), dict):
        raise LatentLabError(f"{path}: missing the 'model' settings")
    return config


def model_config(config: dict[str, Any], where: str = CONFIG) -> ModelConfig:
    known = {f.name for f in fields(ModelConfig)}
    unknown = sorted(set(config["model"]) - known)
    if unknown:
        raise LatentLabError(f"{where}: unknown model setting {unknown[0]!r}")
    return ModelConfig(**config["model"])


def load_checkpoint(
    folder: str | os.PathLike, device: str | torch.device | None = None
) -> tuple[DrumVAE, dict[str, Any]]:
    """The model (in eval mode, on device: CUDA when present) and its config dict."""
    folder = Path(folder)
    config = read_config(folder)
    model = DrumVAE(model_config(config, str(folder / CONFIG)))
    weights = folder / WEIGHTS
    if not weights.exists():
        raise LatentLabError(f"{weights}: missing (a checkpoint folder needs {WEIGHTS})")
    try:
        state = load_file(weights)
    except (SafetensorError, OSError, ValueError) as exc:
        raise LatentLabError(f"{weights}: truncated or corrupt weights file ({exc})") from None
    expected = model.state_dict()
    for name, tensor in expected.items():
        if name not in state:
            raise LatentLabError(f"{weights}: tensor {name!r} is missing")
        if state[name].shape != tensor.shape:
            raise LatentLabError(
                f"{weights}: tensor {name!r} has shape {tuple(state[name].shape)}, "
                f"config.json implies {tuple(tensor.shape)}"
            )
    extra = sorted(set(state) - set(expected))
    if extra:
        raise LatentLabError(f"{weights}: unexpected tensor {extra[0]!r}")
    model.load_state_dict(state)
    return model.to(device or default_device()).eval(), config
