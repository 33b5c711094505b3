"""DrumPattern: the one representation of a drum groove, and every conversion to and from it.

A pattern is HVO on a grid of 16 steps per 4/4 bar: `hits` (T x 9, 0/1), `velocities`
(T x 9, 0..1) and `offsets` (T x 9, -0.5..0.5 of a step, the micro-timing). Velocity and
offset are 0 where there is no hit. MIDI files are read by a small reader here (pretty_midi
drops the zero-length notes that drum MIDI is full of, and neither it nor mido bounds what a
hostile file asks for) and written with pretty_midi; NoteSequence and its JSON (the form
Magenta.js reads) go through note-seq.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import io
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from latentlab.errors import LatentLabError
from latentlab.limits import MAX_BARS, MAX_MIDI_BYTES, check_size

STEPS_PER_BAR = 16
STEPS_PER_BEAT = 4
DRUM_CLASSES = (
    "kick",
    "snare",
    "closed_hihat",
    "open_hihat",
    "low_tom",
    "mid_tom",
    "high_tom",
    "crash",
    "ride",
)
N_CLASSES = len(DRUM_CLASSES)
# The HVO layout: hits, velocities and offsets side by side on the last axis of (..., T, 27).
HVO_DIM = 3 * N_CLASSES
HITS = slice(0, N_CLASSES)
VELOCITIES = slice(N_CLASSES, 2 * N_CLASSES)
OFFSETS = slice(2 * N_CLASSES, 3 * N_CLASSES)
DRUM_CHANNEL = 9
# Ticks per quarter note when writing MIDI: one tick is under 1 ms down to 16 bpm, so offsets
# survive a round trip through MIDI to 1 ms at every tempo a pattern allows (20..400 bpm).
MIDI_RESOLUTION = 3840
# Full swing delays off-beat sixteenths by this many steps (see DrumPattern.swung).
SWING_MAX = 0.5


@cache
def drum_type_pitches() -> tuple[tuple[int, ...], ...]:
    """The reduced 9-class drum mapping Magenta uses, read from note-seq's own source.

    The first pitch of each class is its canonical General MIDI pitch. The table is read
    with `ast` rather than imported because importing note_seq takes about 1.5 s.
    """
    spec = importlib.util.find_spec("note_seq")
    if spec is None or not spec.submodule_search_locations:
        raise LatentLabError("note-seq is not installed; it provides the drum pitch mapping")
    source = Path(spec.submodule_search_locations[0], "drums_encoder_decoder.py").read_text()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "DEFAULT_DRUM_TYPE_PITCHES" for t in node.targets
        ):
            return tuple(tuple(p) for p in ast.literal_eval(node.value))
    raise LatentLabError("note-seq's DEFAULT_DRUM_TYPE_PITCHES table was not found")


@cache
def pitch_to_class() -> np.ndarray:
    """Array of 128 entries: the drum class of each MIDI pitch, or -1 for unmapped pitches."""
    table = np.full(128, -1, dtype=np.int64)
    for cls, pitches in enumerate(drum_type_pitches()):
        table[list(pitches)] = cls
    return table


def canonical_pitches() -> tuple[int, ...]:
    """One General MIDI pitch per class, used when writing MIDI."""
    return tuple(p[0] for p in drum_type_pitches())


def bars_in(duration: float, bpm: float) -> int:
    """Whole bars in a file of this duration: every started bar, ignoring a tail under a step."""
    bar_seconds = STEPS_PER_BAR * 60.0 / bpm / STEPS_PER_BEAT
    return max(1, math.ceil(duration / bar_seconds - 1 / STEPS_PER_BAR))


@dataclass(frozen=True)
class Onset:
    """A drum onset read from MIDI: time in seconds, MIDI pitch, velocity (1..127) and the
    MIDI channel it came on (0-based)."""

    time: float
    pitch: int
    velocity: int
    channel: int = DRUM_CHANNEL


@dataclass(frozen=True)
class MidiContent:
    """What latentlab needs from a MIDI file: drum onsets, tempo and time signatures."""

    onsets: list[Onset]
    bpm: float
    time_signatures: list[tuple[int, int]]
    end_time: float
    other_channel_notes: int
    programs: dict[int, int] = field(default_factory=dict)  # channel -> its first program


def _source_name(source: str | os.PathLike | bytes, name: str | None) -> str:
    if name is not None:
        return name
    return "<bytes>" if isinstance(source, bytes | bytearray) else str(source)


def check_midi_size(size: int, name: str) -> None:
    """Refuse a MIDI file of `size` bytes over MAX_MIDI_BYTES, before reading or parsing it
    (uploads call this with the byte count they are offered)."""
    check_size(name, "MIDI file", size, MAX_MIDI_BYTES)


def _corrupt(name: str, why: str) -> LatentLabError:
    return LatentLabError(f"{name}: truncated or corrupt MIDI file ({why})")


# Data bytes after each defined system common or real-time status byte.
_SYSTEM_DATA_BYTES = {
    0xF1: 1,
    0xF2: 2,
    0xF3: 1,
    0xF6: 0,
    0xF8: 0,
    0xFA: 0,
    0xFB: 0,
    0xFC: 0,
    0xFE: 0,
}


def _number(data: bytes, i: int, name: str) -> tuple[int, int]:
    """The variable-length number at data[i] and the index after it: at most 4 bytes, as
    the standard says (a longer one is corrupt, not a time of years)."""
    value = 0
    for j in range(i, i + 4):
        if j >= len(data):
            raise _corrupt(name, "a track ends inside an event")
        value = (value << 7) | (data[j] & 0x7F)
        if data[j] < 0x80:
            return value, j + 1
    raise _corrupt(name, "a delta time or length longer than the 4 bytes MIDI allows")


def _tracks(data: bytes, name: str) -> tuple[int, list[bytes]]:
    """Ticks per quarter note and the track chunks of a standard MIDI file."""
    size = int.from_bytes(data[4:8], "big")
    if len(data) < 14 or size < 6:
        raise _corrupt(name, "the MThd header is shorter than 6 bytes")
    form, count, division = (int.from_bytes(data[k : k + 2], "big") for k in (8, 10, 12))
    if form == 2:
        raise LatentLabError(f"{name}: type 2 MIDI files (independent tracks) are not supported")
    if form > 2:
        raise _corrupt(name, f"MIDI file type {form} does not exist")
    if division & 0x8000:
        raise LatentLabError(f"{name}: SMPTE time division is not supported")
    if division == 0:
        raise LatentLabError(f"{name}: 0 ticks per quarter note (PPQ 0) in the header")
    tracks, pos = [], 8 + size
    while len(tracks) < count:
        if pos + 8 > len(data):
            raise _corrupt(name, f"the header says {count} tracks, the file holds {len(tracks)}")
        length = int.from_bytes(data[pos + 4 : pos + 8], "big")
        if pos + 8 + length > len(data):
            raise _corrupt(name, "the file ends inside a track")
        if data[pos : pos + 4] == b"MTrk":  # other chunk types are skipped, as the standard says
            tracks.append(data[pos + 8 : pos + 8 + length])
        pos += 8 + length
    return division, tracks


def _events(track: bytes, name: str) -> Iterator[tuple[int, int, int, bytes]]:
    """(tick, status, meta type, data bytes) of every channel and meta event of a track;
    meta type is -1 for channel events. System exclusive and common events are skipped."""
    tick, i, status = 0, 0, None
    while i < len(track):
        delta, i = _number(track, i, name)
        tick += delta
        if i >= len(track):
            raise _corrupt(name, "a track ends inside an event")
        byte = track[i]
        if byte >= 0x80:
            i += 1
            status = byte if byte < 0xF0 else status
        elif status is None:
            raise _corrupt(name, "running status with no status byte before it")
        else:
            byte = status
        if byte == 0xFF:
            kind = track[i] if i < len(track) else 0
            length, i = _number(track, i + 1, name)
            if i + length > len(track):
                raise _corrupt(name, "a track ends inside a meta event")
            yield tick, byte, kind, track[i : i + length]
            i += length
        elif byte in (0xF0, 0xF7):
            length, i = _number(track, i, name)
            i += length
        elif byte >= 0xF0:
            if byte not in _SYSTEM_DATA_BYTES:
                raise _corrupt(name, f"undefined status byte 0x{byte:02X}")
            i += _SYSTEM_DATA_BYTES[byte]
        else:
            size = 1 if 0xC0 <= byte < 0xE0 else 2
            data = track[i : i + size]
            if len(data) < size or max(data) >= 0x80:
                raise _corrupt(name, "a channel event with missing or bad data bytes")
            yield tick, byte, -1, data
            i += size
    if i > len(track):
        raise _corrupt(name, "a track ends inside an event")


def read_midi(
    source: str | os.PathLike | bytes,
    channel: int | None = DRUM_CHANNEL,
    name: str | None = None,
) -> MidiContent:
    """Read onsets (zero-length notes included), tempo and time signatures from a MIDI file.

    `channel` selects the drum channel (0-based, 9 = General MIDI channel 10); None takes
    every channel. `name` is what errors call the file (default: its path, or '<bytes>').
    Times are the file's beat positions (ticks) at its first tempo, rounded to 0.01 bpm
    (MIDI stores whole microseconds per beat), so the grid follows the file's beats and a
    pattern's bpm survives a round trip through MIDI. Files over MAX_MIDI_BYTES are refused
    before they are read.
    """
    name = _source_name(source, name)
    if not isinstance(source, bytes | bytearray):
        path = Path(source)
        if not path.exists():
            raise LatentLabError(f"{name}: file not found")
        if path.is_dir():
            raise LatentLabError(f"{name}: is a folder, not a MIDI file")
        if not path.is_file():  # a device or pipe (/dev/zero, say) could be read forever
            raise LatentLabError(f"{name}: not a regular file")
        check_midi_size(path.stat().st_size, name)
        source = path.read_bytes()
    check_midi_size(len(source), name)
    if len(source) == 0:
        raise LatentLabError(f"{name}: file is empty")
    if not source.startswith(b"MThd"):
        raise LatentLabError(f"{name}: not a MIDI file (no MThd header)")
    ticks_per_beat, tracks = _tracks(bytes(source), name)

    # The file ends with its last note or meta event (a marker, say), as a NoteSequence's
    # total_time and the GMD's durations do: drum modules keep sending hi-hat pedal
    # controller data after the playing stops, and the time before end_of_track is no music.
    # A note still sounding at the end of its track (no note-off) lasts until that end.
    notes, signatures, tempos, others, end, programs = [], [], [], 0, 0, {}
    for track in tracks:
        sounding, tick = set(), 0
        for tick, status, meta, data in _events(track, name):
            if meta < 0 and status & 0xF0 in (0x80, 0x90):
                end = max(end, tick)
                key = (status & 0x0F, data[0])
                if status & 0xF0 == 0x80 or data[1] == 0:
                    sounding.discard(key)
                    continue
                sounding.add(key)
                if channel is None or key[0] == channel:
                    notes.append((tick, data[0], data[1], key[0]))
                else:
                    others += 1
            elif meta < 0 and status & 0xF0 == 0xC0:
                programs.setdefault(status & 0x0F, data[0])
            elif meta >= 0 and meta != 0x2F:  # every meta event but end of track
                end = max(end, tick)
                if meta == 0x51:
                    if len(data) != 3:
                        raise LatentLabError(
                            f"{name}: a tempo event (set_tempo) has {len(data)} data bytes, "
                            "not 3; the file is malformed"
                        )
                    tempos.append((tick, int.from_bytes(data, "big")))
                elif meta == 0x58:
                    if len(data) != 4:
                        raise LatentLabError(
                            f"{name}: a time signature event has {len(data)} data bytes, "
                            "not 4; the file is malformed"
                        )
                    signatures.append((tick, data[0], 2 ** data[1]))
        if sounding:
            end = max(end, tick)
    tempo = min(tempos, key=lambda t: t[0])[1] if tempos else 500_000
    if tempo <= 0:
        raise LatentLabError(f"{name}: tempo of 0 microseconds per beat")
    bpm = round(60e6 / tempo, 2)
    tick_seconds = 60.0 / bpm / ticks_per_beat
    notes.sort(key=lambda n: n[0])
    onsets = [Onset(tick * tick_seconds, pitch, vel, ch) for tick, pitch, vel, ch in notes]
    signatures.sort(key=lambda s: s[0])
    return MidiContent(
        onsets, bpm, [s[1:] for s in signatures], end * tick_seconds, others, programs
    )


def drum_onsets(content: MidiContent, name: str) -> list[Onset]:
    """The drum notes of a file read on every channel: the one rule every reader follows.

    General MIDI keeps drums on channel 10: its notes, when it has any. A file with none
    there often has its drums on another channel (channel 1, from a DAW, say): then the notes
    of the channels no program change sets to an instrument are taken. A file whose every
    channel is set to an instrument (a piano part, say) has no drums, and is refused rather
    than played as toms and hi-hats.
    """
    drums = [o for o in content.onsets if o.channel == DRUM_CHANNEL]
    if drums or not content.onsets:
        return drums
    unset = [o for o in content.onsets if o.channel not in content.programs]
    if unset:
        return unset
    import pretty_midi

    channel = content.onsets[0].channel
    instrument = pretty_midi.program_to_instrument_name(content.programs[channel])
    raise LatentLabError(
        f"{name}: no drums: its notes are on MIDI channel {channel + 1}, set to "
        f"{instrument}, not on channel 10 where drums go"
    )


def _check_bars(bars: int) -> None:
    """Refuse a pattern length that is not 1..MAX_BARS bars, before anything is allocated."""
    if not isinstance(bars, int | np.integer) or bars < 1:
        raise LatentLabError(f"bars: {bars!r} must be a whole number of at least 1")
    if bars > MAX_BARS:
        raise LatentLabError(f"a pattern of {bars:,} bars is over the limit of {MAX_BARS:,} bars")


def _check_hvo(hits: np.ndarray, velocities: np.ndarray, offsets: np.ndarray) -> None:
    shape = hits.shape
    if hits.ndim != 2 or shape[1] != N_CLASSES:
        raise LatentLabError(f"hits: expected shape (T, {N_CLASSES}), got {shape}")
    if shape[0] == 0 or shape[0] % STEPS_PER_BAR:
        raise LatentLabError(f"hits: T={shape[0]} is not a positive multiple of {STEPS_PER_BAR}")
    for name, arr in (("velocities", velocities), ("offsets", offsets)):
        if arr.shape != shape:
            raise LatentLabError(f"{name}: shape {arr.shape} differs from hits {shape}")
        if not np.all(np.isfinite(arr)):
            raise LatentLabError(f"{name}: contains NaN or infinite values")
    if not np.all((hits == 0) | (hits == 1)):
        raise LatentLabError("hits: values must be 0 or 1")
    if velocities.min() < 0 or velocities.max() > 1:
        raise LatentLabError("velocities: values must lie in 0..1")
    if offsets.min() < -0.5 or offsets.max() > 0.5:
        raise LatentLabError("offsets: values must lie in -0.5..0.5")


@dataclass(frozen=True, eq=False)
class DrumPattern:
    """A drum groove as HVO arrays on a 16-steps-per-bar grid, with its tempo.

    Immutable, so a pattern stays as validated: the constructor copies its arrays (the
    caller's are never changed or shared), zeroes velocity and offset where there is no hit
    and makes the arrays read-only; `replace` and `with_bpm` make validated copies.
    `unmapped_notes` counts notes dropped on reading because their pitch has no drum class.
    """

    hits: np.ndarray
    velocities: np.ndarray
    offsets: np.ndarray
    bpm: float = 120.0
    unmapped_notes: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        hits, velocities, offsets = (
            np.array(a, dtype=np.float32) for a in (self.hits, self.velocities, self.offsets)
        )
        _check_hvo(hits, velocities, offsets)
        if not np.isfinite(self.bpm) or not 20 <= self.bpm <= 400:
            raise LatentLabError(f"bpm: {self.bpm} is outside 20..400")
        silent = hits == 0
        velocities[silent] = 0
        offsets[silent] = 0
        for name, array in (("hits", hits), ("velocities", velocities), ("offsets", offsets)):
            array.flags.writeable = False
            object.__setattr__(self, name, array)
        object.__setattr__(self, "bpm", float(self.bpm))

    def replace(self, **changes: Any) -> DrumPattern:
        """A copy with some fields changed (hits, velocities, offsets, bpm), validated again."""
        return dataclasses.replace(self, **changes)

    def with_bpm(self, bpm: float) -> DrumPattern:
        """The same groove at another tempo."""
        return self.replace(bpm=bpm)

    # ---- basic properties -------------------------------------------------------------
    @property
    def steps(self) -> int:
        return self.hits.shape[0]

    @property
    def bars(self) -> int:
        return self.steps // STEPS_PER_BAR

    @property
    def step_seconds(self) -> float:
        return 60.0 / self.bpm / STEPS_PER_BEAT

    @property
    def duration(self) -> float:
        """Length of the pattern in seconds."""
        return self.steps * self.step_seconds

    @property
    def n_hits(self) -> int:
        return int(self.hits.sum())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DrumPattern):
            return NotImplemented
        return (
            self.bpm == other.bpm
            and np.array_equal(self.hits, other.hits)
            and np.array_equal(self.velocities, other.velocities)
            and np.array_equal(self.offsets, other.offsets)
        )

    def __repr__(self) -> str:
        return f"DrumPattern(bars={self.bars}, bpm={self.bpm:g}, hits={self.n_hits})"

    @classmethod
    def empty(cls, bars: int = 2, bpm: float = 120.0) -> DrumPattern:
        _check_bars(bars)
        zeros = np.zeros((bars * STEPS_PER_BAR, N_CLASSES), np.float32)
        return cls(zeros, zeros.copy(), zeros.copy(), bpm)

    # ---- arrays -----------------------------------------------------------------------
    def to_array(self) -> np.ndarray:
        """The pattern as one (T, 27) float32 array: hits, velocities, offsets side by side."""
        return np.concatenate([self.hits, self.velocities, self.offsets], axis=1)

    @classmethod
    def from_array(cls, hvo: np.ndarray, bpm: float = 120.0) -> DrumPattern:
        """Inverse of `to_array`; values are clipped to their ranges (model outputs)."""
        hvo = np.asarray(hvo, dtype=np.float32)
        if hvo.ndim != 2 or hvo.shape[1] != 3 * N_CLASSES:
            raise LatentLabError(f"hvo: expected shape (T, {3 * N_CLASSES}), got {hvo.shape}")
        h, v, o = np.split(hvo, 3, axis=1)
        return cls((h > 0.5).astype(np.float32), np.clip(v, 0, 1), np.clip(o, -0.5, 0.5), bpm)

    def bar_slice(self, first_bar: int, n_bars: int) -> DrumPattern:
        """The n_bars bars starting at first_bar, as a new pattern."""
        if first_bar < 0 or n_bars < 1 or first_bar + n_bars > self.bars:
            raise LatentLabError(
                f"bars {first_bar}..{first_bar + n_bars - 1} outside a {self.bars}-bar pattern"
            )
        s = slice(first_bar * STEPS_PER_BAR, (first_bar + n_bars) * STEPS_PER_BAR)
        return DrumPattern(self.hits[s], self.velocities[s], self.offsets[s], self.bpm)

    def swung(self, amount: float) -> DrumPattern:
        """The pattern with swing: hits on off-beat sixteenths (odd steps) played later.

        `amount` 0..1 delays them by amount x SWING_MAX steps: 0 is straight, 2/3 a triplet
        feel (a DAW's 67% swing), 1 puts them half a step late (a DAW's 75%). An offset
        pushed past +0.5 (a hit already late) stays at +0.5, the latest its step can hold.
        Every player and export applies swing through this one method.
        """
        try:
            amount = float(amount)
        except (TypeError, ValueError):
            raise LatentLabError(f"swing: {amount!r} is not a number") from None
        if not 0 <= amount <= 1:
            raise LatentLabError(f"swing: {amount:g} is outside 0..1")
        offsets = self.offsets.copy()
        offsets[1::2] = np.minimum(offsets[1::2] + np.float32(amount * SWING_MAX), 0.5)
        return DrumPattern(self.hits, self.velocities, offsets, self.bpm)

    # ---- onsets (the common path of every note-based format) --------------------------
    @classmethod
    def from_onsets(
        cls,
        onsets: list[Onset],
        bpm: float,
        bars: int | None = None,
        start: float = 0.0,
        min_bars: int = 1,
    ) -> DrumPattern:
        """Quantise onsets to the grid; micro-timing becomes offsets in [-0.5, 0.5).

        When two notes of one class land on one step the loudest is kept. Notes whose pitch
        has no class are dropped and counted in `unmapped_notes`. `bars` None takes as many
        bars as needed to hold the last onset, and at least `min_bars`; `start` is the time
        of step 0 in seconds. Patterns over MAX_BARS are refused before any array is made.
        """
        if not np.isfinite(bpm) or bpm <= 0:
            raise LatentLabError(f"bpm: {bpm} must be a positive number")
        step_sec = 60.0 / bpm / STEPS_PER_BEAT
        table = pitch_to_class()
        times = np.array([o.time for o in onsets], dtype=np.float64)
        pitches = np.array([o.pitch for o in onsets], dtype=np.int64)
        vels = np.array([o.velocity for o in onsets], dtype=np.float64)
        in_range = (pitches >= 0) & (pitches < len(table))
        classes = np.where(in_range, table[np.clip(pitches, 0, len(table) - 1)], -1)
        unmapped = int((classes < 0).sum())
        position = (times - start) / step_sec
        # A note exactly half-way between steps goes to the later one; the 1e-9 keeps float
        # noise in the times (a few ulps) from deciding which.
        step = np.floor(position + 0.5 + 1e-9).astype(np.int64)
        if bars is None:
            last = step[classes >= 0].max(initial=0)
            bars = max(min_bars, int(last) // STEPS_PER_BAR + 1)
        _check_bars(bars)
        n_steps = bars * STEPS_PER_BAR
        keep = (classes >= 0) & (step >= 0) & (step < n_steps)
        hits = np.zeros((n_steps, N_CLASSES), np.float32)
        velocities = np.zeros_like(hits)
        offsets = np.zeros_like(hits)
        # Quietest first, so the loudest note of a (step, class) cell is written last and wins.
        for i in np.argsort(vels, kind="stable"):
            if keep[i]:
                s, c = step[i], classes[i]
                hits[s, c] = 1
                velocities[s, c] = vels[i] / 127.0
                offsets[s, c] = min(max(position[i] - s, -0.5), 0.5 - 1e-6)
        return cls(hits, velocities, offsets, bpm, unmapped_notes=unmapped)

    def _hit_list(self) -> list[tuple[int, int, float, int]]:
        """(step, class, offset, MIDI velocity 1..127) of every hit."""
        return [
            (
                int(s),
                int(c),
                float(self.offsets[s, c]),
                int(np.clip(round(float(self.velocities[s, c]) * 127), 1, 127)),
            )
            for s, c in zip(*np.nonzero(self.hits), strict=True)
        ]

    def to_onsets(self) -> list[Onset]:
        """One onset per hit at its step time plus offset, canonical pitch, velocity 1..127.

        Times cannot be negative: a hit on step 0 with a negative offset is played at 0.
        """
        pitches = canonical_pitches()
        step_sec = self.step_seconds
        out = [
            Onset(max(0.0, (s + offset) * step_sec), pitches[c], velocity)
            for s, c, offset, velocity in self._hit_list()
        ]
        return sorted(out, key=lambda o: (o.time, o.pitch))

    # ---- MIDI -------------------------------------------------------------------------
    @classmethod
    def from_midi(
        cls,
        source: str | os.PathLike | bytes,
        bars: int | None = None,
        channel: int | None = None,
        require_four_four: bool = True,
        name: str | None = None,
    ) -> DrumPattern:
        """Read a MIDI file (path or bytes) into a pattern at the file's first tempo.

        `bars` None takes the file's length in whole bars, the definition the corpus windows
        use too: every started bar counts, except a tail shorter than one step (note tails),
        and always the bar of the last hit (one on a bar's downbeat starts that bar). The
        file's length is the end of its last note or meta event (see `read_midi`, which also
        says what `name` is). Patterns over MAX_BARS bars are refused with the file's name.
        `channel` None finds the drums as `drum_onsets` says; a channel (0-based, 9 = General
        MIDI channel 10) reads that one only.
        """
        name = _source_name(source, name)
        content = read_midi(source, channel, name)
        onsets = drum_onsets(content, name) if channel is None else content.onsets
        if require_four_four:
            odd = [f"{n}/{d}" for n, d in content.time_signatures if (n, d) != (4, 4)]
            if odd:
                raise LatentLabError(f"{name}: time signature {odd[0]} is not 4/4")
        if not onsets:
            where = "any MIDI channel" if channel is None else f"MIDI channel {channel + 1}"
            others = content.other_channel_notes
            hint = f" ({others} notes on other channels)" if others else ""
            raise LatentLabError(f"{name}: no drum notes on {where}{hint}")
        least = bars_in(content.end_time, content.bpm) if bars is None else 1
        try:
            pattern = cls.from_onsets(onsets, content.bpm, bars, min_bars=least)
        except LatentLabError as exc:
            raise LatentLabError(f"{name}: {exc}") from None
        if pattern.n_hits == 0:
            raise LatentLabError(
                f"{name}: no drum-pitch notes in its {pattern.bars} bars "
                f"({pattern.unmapped_notes} notes with unmapped pitches)"
            )
        return pattern

    def to_pretty_midi(self):
        """A pretty_midi.PrettyMIDI with one drum instrument and the pattern's tempo.

        Notes are half a step long, on whole ticks that stay on their step (an offset just
        under +0.5 never rounds onto the next step), and a text event marks the pattern's
        end so that trailing empty bars survive.
        """
        import pretty_midi

        pm = pretty_midi.PrettyMIDI(resolution=MIDI_RESOLUTION, initial_tempo=self.bpm)
        drums = pretty_midi.Instrument(program=0, is_drum=True, name="latentlab drums")
        pitches = canonical_pitches()
        step_ticks = MIDI_RESOLUTION // STEPS_PER_BEAT
        tick_sec = self.step_seconds / step_ticks
        for s, c, offset, velocity in self._hit_list():
            shift = min(round(offset * step_ticks), step_ticks // 2 - 1)
            tick = max(0, s * step_ticks + shift)
            end = tick + step_ticks // 2
            drums.notes.append(
                pretty_midi.Note(velocity, pitches[c], tick * tick_sec, end * tick_sec)
            )
        drums.notes.sort(key=lambda n: (n.start, n.pitch))
        pm.instruments.append(drums)
        pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
        pm.text_events.append(pretty_midi.Text("end of pattern", self.duration))
        return pm

    @classmethod
    def from_pretty_midi(cls, pm, bars: int | None = None) -> DrumPattern:
        """Quantise the drum instruments of a pretty_midi object, as `from_midi` does a file.

        (pretty_midi drops zero-length notes when it loads a file: read files with from_midi.)
        """
        _, tempi = pm.get_tempo_changes()
        bpm = round(float(tempi[0]), 2) if len(tempi) else 120.0
        tick_sec = 60.0 / bpm / pm.resolution
        onsets = [
            Onset(pm.time_to_tick(n.start) * tick_sec, n.pitch, n.velocity)
            for inst in pm.instruments
            if inst.is_drum
            for n in inst.notes
        ]
        if not onsets:
            raise LatentLabError("pretty_midi object: no drum instrument notes")
        if bars is None:  # the end of the last note or meta event, as for a file
            meta = (*pm.time_signature_changes, *pm.key_signature_changes, *pm.lyrics)
            ends = [n.end for inst in pm.instruments for n in inst.notes]
            end = max(ends + [e.time for e in (*meta, *pm.text_events)])
            bars = bars_in(pm.time_to_tick(end) * tick_sec, bpm)
        return cls.from_onsets(onsets, bpm, bars)

    def to_midi(self, path: str | os.PathLike | None = None) -> bytes:
        """Standard MIDI file bytes (drum channel, canonical pitches); also written to path."""
        buffer = io.BytesIO()
        self.to_pretty_midi().write(buffer)
        data = buffer.getvalue()
        if path is not None:
            Path(path).write_bytes(data)
        return data

    # ---- NoteSequence and its JSON ------------------------------------------------------
    def to_note_sequence(self):
        """A note_seq NoteSequence (drums, with tempo and 4/4), as Magenta tools expect."""
        from note_seq.protobuf import music_pb2

        ns = music_pb2.NoteSequence()
        ns.ticks_per_quarter = 220
        ns.tempos.add(time=0.0, qpm=self.bpm)
        ns.time_signatures.add(time=0.0, numerator=4, denominator=4)
        note_len = self.step_seconds / 2
        for o in self.to_onsets():
            ns.notes.add(
                pitch=o.pitch,
                velocity=o.velocity,
                start_time=o.time,
                end_time=o.time + note_len,
                is_drum=True,
                instrument=DRUM_CHANNEL,
            )
        ns.total_time = self.duration
        return ns

    @classmethod
    def from_note_sequence(cls, ns, bars: int | None = None) -> DrumPattern:
        """Quantise the drum notes of a NoteSequence at its first tempo."""
        bpm = ns.tempos[0].qpm if len(ns.tempos) else 120.0
        if not 20 <= bpm <= 400:
            raise LatentLabError(f"NoteSequence: tempo {bpm:g} qpm is outside 20..400")
        onsets = [Onset(n.start_time, n.pitch, n.velocity) for n in ns.notes if n.is_drum]
        if not onsets:
            raise LatentLabError("NoteSequence: no drum notes (is_drum)")
        if bars is None and ns.total_time > 0:
            bars = bars_in(ns.total_time, bpm)
        return cls.from_onsets(onsets, bpm, bars)

    def to_note_sequence_json(self) -> str:
        """NoteSequence JSON as Magenta.js reads it with a plain JSON.parse: camelCase fields
        (startTime, isDrum...), every field present, zeros too (ProtoJSON leaves them out, and
        the first note's startTime 0 would be missing), 64-bit integers and enums as numbers."""
        from google.protobuf import json_format

        return json_format.MessageToJson(
            self.to_note_sequence(),
            always_print_fields_with_no_presence=True,
            use_integers_for_enums=True,
            unquote_int64_if_possible=True,
        )

    @classmethod
    def from_note_sequence_json(cls, text: str, bars: int | None = None) -> DrumPattern:
        from google.protobuf import json_format
        from note_seq.protobuf import music_pb2

        try:
            ns = json_format.Parse(text, music_pb2.NoteSequence())
        except json_format.ParseError as exc:
            raise LatentLabError(f"NoteSequence JSON: {exc}") from None
        return cls.from_note_sequence(ns, bars)

    # ---- plain dict / JSON ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "bpm": self.bpm,
            "hits": self.hits.astype(int).tolist(),
            "velocities": np.round(self.velocities, 6).tolist(),
            "offsets": np.round(self.offsets, 6).tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DrumPattern:
        missing = [k for k in ("hits", "velocities", "offsets") if k not in data]
        if missing:
            raise LatentLabError(f"pattern dict: missing field {missing[0]!r}")
        try:
            arrays = [
                np.asarray(data[k], dtype=np.float32) for k in ("hits", "velocities", "offsets")
            ]
        except (TypeError, ValueError) as exc:
            raise LatentLabError(f"pattern dict: arrays are not numeric grids ({exc})") from None
        try:
            bpm = float(data.get("bpm", 120.0))
        except (TypeError, ValueError):
            raise LatentLabError(f"pattern dict: bpm {data['bpm']!r} is not a number") from None
        return cls(*arrays, bpm=bpm)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> DrumPattern:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LatentLabError(f"pattern JSON: {exc}") from None
        if not isinstance(data, dict):
            raise LatentLabError("pattern JSON: expected an object with hits/velocities/offsets")
        return cls.from_dict(data)
