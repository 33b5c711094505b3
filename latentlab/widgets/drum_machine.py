"""DrumMachine: a step grid that plays a DrumPattern in the browser with the built-in kit.

An anywidget: these traitlets plus one ES module (drum_machine.js) shipped in the package.
The kit's samples travel to the page once, so the browser plays exactly what `render` exports.
Swing is applied here in Python (`DrumPattern.swung`): the page plays the swung pattern it is
sent, and the downloads contain it. The page can also send the notes to a Web MIDI output.
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
from latentlab.pattern import DRUM_CHANNEL, DrumPattern, canonical_pitches
from latentlab.widgets.theme import DRUM_COLOURS

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
# The grid draws every step of the pattern in at most two lines; this keeps it light and
# readable (64 bars: 9,216 cells) and holds a chain of nine 4-bar grooves.
MAX_BARS = 64


@cache
def _kit_bytes(sample_rate: int) -> bytes:
    """All nine kit sounds as one little-endian float32 buffer (lengths go in `_kit_info`)."""
    return np.concatenate(audio.kit(sample_rate)).astype("<f4").tobytes()


def _pattern_to_json(pattern: DrumPattern, _widget: Any) -> dict:
    return pattern.to_dict()


def _pattern_from_json(data: dict, _widget: Any) -> DrumPattern:
    return DrumPattern.from_dict(data)


class DrumMachine(anywidget.AnyWidget):
    """A 9-row step grid with playhead, play/stop, tempo, swing, cell editing, MIDI/WAV
    download and live Web MIDI out.

    `pattern` is the groove shown and played, of any length up to MAX_BARS bars (up to 4
    bars show in one line, longer ones in two, and the whole pattern loops); replace it
    (don't mutate its arrays) to swap grooves, even while playing: the page switches at the
    next step. Clicking a cell toggles that hit and sets `pattern` from the page, so
    `observe(..., "pattern")` sees edits. `bpm` is the playback tempo (the pattern's own by
    default) and `swing` (0..1, the page's knob) the swing amount of `DrumPattern.swung`;
    both apply to playback and downloads but never change `pattern`. `playing` follows the
    page's play/stop button.
    """

    _esm = Path(__file__).with_name("drum_machine.js")
    _css = Path(__file__).with_name("drum_machine.css")

    pattern = traitlets.Instance(DrumPattern).tag(
        sync=True, to_json=_pattern_to_json, from_json=_pattern_from_json
    )
    bpm = traitlets.Float(120.0).tag(sync=True)
    swing = traitlets.Float(0.0).tag(sync=True)
    playing = traitlets.Bool(False).tag(sync=True)
    # What the page plays: `pattern` with `swing` applied.
    _played = traitlets.Instance(DrumPattern).tag(
        sync=True, to_json=_pattern_to_json, from_json=_pattern_from_json
    )
    file_name = traitlets.Unicode(FILE_NAME)  # what downloads are called (before the suffix)
    _uid = traitlets.Unicode().tag(sync=True)
    _kit = traitlets.Bytes().tag(sync=True)
    _kit_info = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        pattern: DrumPattern | None = None,
        bpm: float | None = None,
        swing: float = 0.0,
        **kwargs: Any,
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
            "midi_pitches": list(canonical_pitches()),
            "midi_channel": DRUM_CHANNEL,
        }
        super().__init__(
            pattern=pattern,
            bpm=pattern.bpm if bpm is None else bpm,
            swing=swing,
            _played=pattern.swung(swing),
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

    @traitlets.validate("pattern")
    def _check_pattern(self, proposal: traitlets.Bunch) -> DrumPattern:
        pattern = proposal.value
        if pattern.bars > MAX_BARS:
            raise LatentLabError(
                f"the drum machine shows at most {MAX_BARS} bars; this groove has {pattern.bars}"
            )
        return pattern

    @traitlets.validate("swing")
    def _check_swing(self, proposal: traitlets.Bunch) -> float:
        self.pattern.swung(proposal.value)  # refuses an amount outside 0..1, naming it
        return proposal.value

    @traitlets.observe("pattern", "swing")
    def _update_played(self, _change: traitlets.Bunch) -> None:
        self._played = self.pattern.swung(self.swing)

    def export_pattern(self) -> DrumPattern:
        """What the downloads contain: the pattern at the widget's tempo, with its swing."""
        p = self.pattern
        return DrumPattern(p.hits, p.velocities, p.offsets, self.bpm).swung(self.swing)

    def file_bytes(self, fmt: str) -> bytes:
        """The download for `fmt` ("midi", "wav" or "json": NoteSequence JSON for Magenta.js)
        of the current pattern at `bpm`."""
        if fmt == "midi":
            return self.export_pattern().to_midi()
        if fmt == "wav":
            return audio.render_wav(self.export_pattern())
        if fmt == "json":
            return self.export_pattern().to_note_sequence_json().encode()
        raise LatentLabError(f"download format: {fmt!r} is not 'midi', 'wav' or 'json'")

    def _on_msg(self, _widget: Any, content: dict, _buffers: list) -> None:
        """The page asks for a download; answer with the file bytes."""
        if content.get("type") != "download":
            return
        fmt = content.get("format")
        extension = {"midi": "mid", "wav": "wav", "json": "json"}.get(fmt, "")
        data = self.file_bytes(fmt)
        mime = {"midi": "audio/midi", "wav": "audio/wav"}.get(fmt, "application/json")
        reply = {"type": "file", "name": f"{self.file_name}.{extension}", "mime": mime}
        self.send(reply, [data])
