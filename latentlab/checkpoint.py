"""Checkpoints are folders: `model.safetensors` (weights) and `config.json` (model and data
settings, format version, training summary and metrics). Loading never unpickles anything
and checks every file, key, type, shape and size against the bounds in `latentlab.limits`
before it builds the model, so a broken or tampered checkpoint gets one error that names
the file and the field."""

from __future__ import annotations

import json
import math
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from latentlab.errors import LatentLabError
from latentlab.limits import MAX_CONFIG_BYTES, MAX_WEIGHTS_BYTES, MODEL_RANGES, check_size
from latentlab.model import DrumVAE, ModelConfig
from latentlab.shipped import shipped

FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """The device asked for (None: CUDA when present, else the CPU), refused in one line
    when this machine does not have it."""
    if device is None:
        return default_device()
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise LatentLabError(f"device {device!r}: not a device; use 'cpu' or 'cuda'") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise LatentLabError(
                f"device {str(resolved)!r}: CUDA is not available on this machine; use 'cpu'"
            )
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise LatentLabError(f"device {str(resolved)!r}: this machine has {count} CUDA GPUs")
    elif resolved.type != "cpu":
        raise LatentLabError(f"device {str(resolved)!r}: use 'cpu' or 'cuda'")
    return resolved


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


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _read_json(path: Path) -> Any:
    """A JSON file of at most MAX_CONFIG_BYTES; each way it can be broken has its message."""
    if not path.is_file():
        raise LatentLabError(f"{path}: missing (a checkpoint folder needs {CONFIG})")
    check_size(str(path), "config file", path.stat().st_size, MAX_CONFIG_BYTES)
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise LatentLabError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except RecursionError:
        raise LatentLabError(f"{path}: not valid JSON (nested too deeply)") from None
    except ValueError as exc:
        raise LatentLabError(f"{path}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise LatentLabError(f"{path}: cannot be read ({exc.strerror})") from None


def read_config(folder: str | os.PathLike) -> dict[str, Any]:
    """config.json of a checkpoint folder, checked for its format version and every model
    setting (see `model_config`)."""
    folder = Path(folder)
    if not folder.is_dir():
        names = ", ".join(sorted(p.name for p in shipped("checkpoints").iterdir() if p.is_dir()))
        raise LatentLabError(
            f"{folder}: checkpoint folder does not exist (shipped models by name: {names})"
        )
    path = folder / CONFIG
    config = _read_json(path)
    version = config.get("format_version") if isinstance(config, dict) else None
    if version != FORMAT_VERSION:
        raise LatentLabError(
            f"{path}: format_version {_show(version)} is not supported (expected {FORMAT_VERSION})"
        )
    if not isinstance(config.get("model"), dict):
        raise LatentLabError(f"{path}: missing the 'model' settings")
    for section in ("data", "training", "validation"):
        if not isinstance(config.get(section, {}), dict):
            raise LatentLabError(f"{path}: {section!r} is {_show(config[section])}, not an object")
    model_config(config, str(path))
    return config


def model_config(config: dict[str, Any], where: str = CONFIG) -> ModelConfig:
    """The model settings of a config, each checked for its type and its range in
    MODEL_RANGES (so `bars: 10**9` is refused here, not met as a sampler that never ends)."""
    defaults = ModelConfig()
    known = {f.name for f in fields(ModelConfig)}
    unknown = sorted(set(config["model"]) - known)
    if unknown:
        raise LatentLabError(f"{where}: unknown model setting {_show(unknown[0])}")
    for key, value in config["model"].items():
        kind = type(getattr(defaults, key))
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if kind is bool:
            ok, what = isinstance(value, bool), "true or false"
        elif kind is int:
            ok, what = is_number and isinstance(value, int), "a whole number"
        else:
            ok, what = is_number and math.isfinite(value), "a finite number"
        if not ok:
            raise LatentLabError(f"{where}: model setting {key!r} is {_show(value)}, not {what}")
        if key in MODEL_RANGES:
            low, high = MODEL_RANGES[key]
            if not low <= value <= high:
                raise LatentLabError(
                    f"{where}: model setting {key!r} is {_show(value)}, outside {low}..{high}"
                )
    return ModelConfig(**config["model"])


def _read_weights(path: Path, expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file, checked against the model's (names, shapes,
    dtypes) and for finite values; the file is read only when its size is in bounds."""
    if not path.is_file():
        raise LatentLabError(f"{path}: missing (a checkpoint folder needs {WEIGHTS})")
    check_size(str(path), "weights file", path.stat().st_size, MAX_WEIGHTS_BYTES)
    try:
        state = load_file(path)
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise LatentLabError(f"{path}: truncated or corrupt weights file ({exc})") from None
    for name, tensor in expected.items():
        if name not in state:
            raise LatentLabError(f"{path}: tensor {name!r} is missing")
        found = state[name]
        if found.shape != tensor.shape:
            raise LatentLabError(
                f"{path}: tensor {name!r} has shape {tuple(found.shape)}, "
                f"config.json implies {tuple(tensor.shape)}"
            )
        if found.dtype != tensor.dtype:
            raise LatentLabError(f"{path}: tensor {name!r} is {found.dtype}, not {tensor.dtype}")
        if not torch.isfinite(found).all():
            raise LatentLabError(f"{path}: tensor {name!r} holds NaN or infinite values")
    extra = sorted(set(state) - set(expected))
    if extra:
        raise LatentLabError(f"{path}: unexpected tensor {_show(extra[0])}")
    return state


def load_checkpoint(
    folder: str | os.PathLike, device: str | torch.device | None = None
) -> tuple[DrumVAE, dict[str, Any]]:
    """The model (in eval mode, on device: CUDA when present) and its config dict."""
    folder = Path(folder)
    device = resolve_device(device)
    config = read_config(folder)
    settings = model_config(config, str(folder / CONFIG))
    with torch.device("meta"):  # the expected shapes, without allocating a model yet
        expected = DrumVAE(settings).state_dict()
    state = _read_weights(folder / WEIGHTS, expected)
    model = DrumVAE(settings)
    model.load_state_dict(state)
    return model.to(device).eval(), config
