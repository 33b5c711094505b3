"""DrumMachine: a step grid that plays a DrumPattern in the browser with the built-in kit.

An anywidget: these traitlets plus one ES module (drum_machine.js) shipped in the package.
The kit's samples travel to the page once, so the browser plays exactly what `render` exports.
"""

from __future__ import annotations

import uuid
from functools import cache
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from latentlab import audio
from latentlab.errors import LatentLabError
from latentlab.pattern import DrumPattern

ROW_LABELS = (
    "Kick",
    "Snare",
    "Closed hat",
    "Open hat",
    "Low tom",
    "Mid tom",
    "High tom",
    "Crash",
    "Ride",
)
FILE_NAME = "latentlab-groove"


@cache
def _kit_bytes(sample_rate: int) -> bytes:
    """All nine kit sounds as one little-endian float32 buffer (lengths go in `_kit_info`)."""
    return np.concatenate(audio.kit(sample_rate)).astype("<f4").tobytes()


def _pattern_to_json(pattern: DrumPattern, _widget: Any) -> dict:
    return pattern.to_dict()


def _pattern_from_json(data: dict, _widget: Any) -> DrumPattern:
    return DrumPattern.from_dict(data)


# One colour per drum class (DrumPattern's order): every widget that draws notes uses it.
DRUM_COLOURS = (
    "#ff7a45",
    "#ffc53d",
    "#36cfc9",
    "#40a9ff",
    "#9254de",
    "#b37feb",
    "#d3adf7",
    "#73d13d",
    "#b7eb8f",
)


class DrumMachine(anywidget.AnyWidget):
    """A 9-row step grid with playhead, play/stop, tempo, cell editing and MIDI/WAV download.

    `pattern` is the groove shown and played; replace it (don't mutate its arrays) to swap
    grooves, even while playing: the page switches at the next step. Clicking a cell toggles
    that hit and sets `pattern` from the page, so `observe(..., "pattern")` sees edits.
    `bpm` is the playback tempo (the pattern's own by default), also used by the downloads.
    `playing` follows the page's play/stop button.
    """

    _esm = Path(__file__).with_name("drum_machine.js")
    _css = Path(__file__).with_name("drum_machine.css")

    pattern = traitlets.Instance(DrumPattern).tag(
        sync=True, to_json=_pattern_to_json, from_json=_pattern_from_json
    )
    bpm = traitlets.Float(120.0).tag(sync=True)
    playing = traitlets.Bool(False).tag(sync=True)
    _uid = traitlets.Unicode().tag(sync=True)
    _kit = traitlets.Bytes().tag(sync=True)
    _kit_info = traitlets.Dict().tag(sync=True)

    def __init__(
        self, pattern: DrumPattern | None = None, bpm: float | None = None, **kwargs: Any
    ) -> None:
        pattern = DrumPattern.empty() if pattern is None else pattern
        sounds = audio.kit(audio.SAMPLE_RATE)
        kit_info = {
            "sample_rate": audio.SAMPLE_RATE,
            "lengths": [len(s) for s in sounds],
            "labels": list(ROW_LABELS),
            "colours": list(DRUM_COLOURS),
            "velocity_exponent": audio.VELOCITY_EXPONENT,
            "master_gain": audio.MASTER_GAIN,
        }
        super().__init__(
            pattern=pattern,
            bpm=pattern.bpm if bpm is None else bpm,
            _uid=uuid.uuid4().hex,
            _kit=_kit_bytes(audio.SAMPLE_RATE),
            _kit_info=kit_info,
            **kwargs,
        )
        self.on_msg(self._on_msg)

    @traitlets.validate("bpm")
    def _check_bpm(self, proposal: traitlets.Bunch) -> float:
        bpm = proposal.value
        if not np.isfinite(bpm) or not 20 <= bpm <= 400:
            raise LatentLabError(f"bpm: {bpm} is outside 20..400")
        return bpm

    def export_pattern(self) -> DrumPattern:
        """The current pattern at the widget's tempo: what the downloads contain."""
        p = self.pattern
        return DrumPattern(p.hits, p.velocities, p.offsets, self.bpm)

    def file_bytes(self, fmt: str) -> bytes:
        """The download for `fmt` ("midi" or "wav") of the current pattern at `bpm`."""
        if fmt == "midi":
            return self.export_pattern().to_midi()
        if fmt == "wav":
            return audio.render_wav(self.export_pattern())
        raise LatentLabError(f"download format: {fmt!r} is not 'midi' or 'wav'")

    def _on_msg(self, _widget: Any, content: dict, _buffers: list) -> None:
        """The page asks for a download; answer with the file bytes."""
        if content.get("type") != "download":
            return
        fmt = content.get("format")
        extension = {"midi": "mid", "wav": "wav"}.get(fmt, "")
        data = self.file_bytes(fmt)
        mime = "audio/midi" if fmt == "midi" else "audio/wav"
        reply = {"type": "file", "name": f"{FILE_NAME}.{extension}", "mime": mime}
        self.send(reply, [data])
