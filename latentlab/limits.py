"""Limits on what latentlab reads, in one place: every path in (API, CLI, corpus, upload)
checks them before it allocates anything, so a small hostile file cannot ask for gigabytes
or minutes of work. Each is far above what real data needs (figures from the Groove MIDI
Dataset and the shipped checkpoints)."""

from __future__ import annotations

from latentlab.errors import LatentLabError

# ---- MIDI files and patterns ------------------------------------------------------------
# The GMD's largest file is 152 KiB; a drum groove is rarely over 100 KiB. Reading a file
# of this size takes well under a second.
MAX_MIDI_BYTES = 1 << 20
# The GMD's longest performance is 639 bars (23 minutes at 110 bpm). Arrays of a pattern of
# this length take 3.5 MB.
MAX_BARS = 2048
# Tempo: every pattern's bpm lies in this range.
MIN_BPM, MAX_BPM = 20.0, 400.0

# ---- checkpoints -------------------------------------------------------------------------
MAX_CONFIG_BYTES = 1 << 20  # config.json; the shipped ones are 1.2 KB
MAX_WEIGHTS_BYTES = 1 << 29  # model.safetensors; the shipped ones are 5 and 7 MB
# (low, high) of every numeric ModelConfig setting; the shipped models use 2 or 4 bars,
# 256 for every size and 1 layer.
MODEL_RANGES: dict[str, tuple[float, float]] = {
    "bars": (1, 32),
    "steps_per_bar": (16, 16),
    "z_dim": (1, 4096),
    "encoder_hidden": (1, 4096),
    "encoder_layers": (1, 8),
    "decoder_hidden": (1, 4096),
    "decoder_layers": (1, 8),
    "conductor_hidden": (1, 4096),
    "dropout": (0.0, 1.0),
    "history_dropout": (0.0, 1.0),
}

# ---- atlases -----------------------------------------------------------------------------
MAX_ATLAS_BYTES = 1 << 30  # atlas.npz unpacked; the shipped ones unpack to 31 and 40 MB
MAX_ATLAS_ARRAYS = 1024  # arrays in one atlas; the shipped ones hold 39


def check_size(name: str, what: str, size: int, limit: int) -> None:
    """Refuse `size` bytes over `limit`, naming the file and the limit."""
    if size > limit:
        raise LatentLabError(
            f"{name}: the {what} is {size:,} bytes, over the limit of {limit:,} bytes "
            f"({limit / 2**20:g} MiB)"
        )
