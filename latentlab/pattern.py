"""DrumPattern: the one representation of a drum groove, and every conversion to and from it.

A pattern is HVO on a grid of 16 steps per 4/4 bar: `hits` (T x 9, 0/1), `velocities`
(T x 9, 0..1) and `offsets` (T x 9, -0.5..0.5 of a step, the micro-timing). Velocity and
offset are 0 where there is no hit. MIDI goes through mido (reading: pretty_midi drops the
zero-length notes that drum MIDI is full of) and pretty_midi (writing); NoteSequence and its
JSON (the form Magenta.js reads) go through note-seq.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import math
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from latentlab.errors import LatentLabError

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
DRUM_CHANNEL = 9
# Ticks per quarter note when writing MIDI: one tick is under 1 ms down to 16 bpm, so offsets
# survive a round trip through MIDI to 1 ms at every tempo a pattern allows (20..400 bpm).
MIDI_RESOLUTION = 3840


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
    """A drum onset read from MIDI: time in seconds, MIDI pitch and velocity (1..127)."""

    time: float
    pitch: int
    velocity: int


@dataclass(frozen=True)
class MidiContent:
    """What latentlab needs from a MIDI file: drum onsets, tempo and time signatures."""

    onsets: list[Onset]
    bpm: float
    time_signatures: list[tuple[int, int]]
    end_time: float
    other_channel_notes: int


def _source_name(source: str | os.PathLike | bytes, name: str | None) -> str:
    if name is not None:
        return name
    return "<bytes>" if isinstance(source, bytes | bytearray) else str(source)


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
    pattern's bpm survives a round trip through MIDI.
    """
    import mido

    name = _source_name(source, name)
    if not isinstance(source, bytes | bytearray):
        path = Path(source)
        if not path.exists():
            raise LatentLabError(f"{name}: file not found")
        if path.is_dir():
            raise LatentLabError(f"{name}: is a folder, not a MIDI file")
        source = path.read_bytes()
    if len(source) == 0:
        raise LatentLabError(f"{name}: file is empty")
    if not source.startswith(b"MThd"):
        raise LatentLabError(f"{name}: not a MIDI file (no MThd header)")
    try:
        midi = mido.MidiFile(file=io.BytesIO(source))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        why = str(exc) or "unexpected end of file"
        raise LatentLabError(f"{name}: truncated or corrupt MIDI file ({why})") from None
    if midi.type == 2:
        raise LatentLabError(f"{name}: type 2 MIDI files (independent tracks) are not supported")
    if midi.ticks_per_beat <= 0:
        raise LatentLabError(f"{name}: SMPTE time division is not supported")

    # Absolute ticks, without mido's per-message copies (the bulk of the time on big corpora).
    # The file ends with its last note or meta event (a marker, say), as a NoteSequence's
    # total_time and the GMD's durations do: drum modules keep sending hi-hat pedal
    # controller data after the playing stops, and the time before end_of_track is no music.
    notes, signatures, tempos, others, end = [], [], [], 0, 0
    for track in midi.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type in ("note_on", "note_off") or (msg.is_meta and msg.type != "end_of_track"):
                end = max(end, tick)
            if msg.type == "note_on" and msg.velocity > 0:
                if channel is None or msg.channel == channel:
                    notes.append((tick, msg.note, msg.velocity))
                else:
                    others += 1
            elif msg.type == "time_signature":
                signatures.append((tick, msg.numerator, msg.denominator))
            elif msg.type == "set_tempo":
                tempos.append((tick, msg.tempo))
    tempo = min(tempos, key=lambda t: t[0])[1] if tempos else 500_000
    if tempo <= 0:
        raise LatentLabError(f"{name}: tempo of 0 microseconds per beat")
    bpm = round(mido.tempo2bpm(tempo), 2)
    tick_seconds = 60.0 / bpm / midi.ticks_per_beat
    notes.sort(key=lambda n: n[0])
    onsets = [Onset(tick * tick_seconds, pitch, vel) for tick, pitch, vel in notes]
    signatures.sort(key=lambda s: s[0])
    return MidiContent(onsets, bpm, [s[1:] for s in signatures], end * tick_seconds, others)


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


@dataclass(eq=False)
class DrumPattern:
    """A drum groove as HVO arrays on a 16-steps-per-bar grid, with its tempo.

    `unmapped_notes` counts notes dropped on reading because their pitch has no drum class.
    """

    hits: np.ndarray
    velocities: np.ndarray
    offsets: np.ndarray
    bpm: float = 120.0
    unmapped_notes: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        self.hits = np.asarray(self.hits, dtype=np.float32)
        self.velocities = np.asarray(self.velocities, dtype=np.float32)
        self.offsets = np.asarray(self.offsets, dtype=np.float32)
        _check_hvo(self.hits, self.velocities, self.offsets)
        if not np.isfinite(self.bpm) or not 20 <= self.bpm <= 400:
            raise LatentLabError(f"bpm: {self.bpm} is outside 20..400")
        self.bpm = float(self.bpm)
        silent = self.hits == 0
        self.velocities[silent] = 0
        self.offsets[silent] = 0

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

    # ---- onsets (the common path of every note-based format) --------------------------
    @classmethod
    def from_onsets(
        cls,
        onsets: list[Onset],
        bpm: float,
        bars: int | None = None,
        start: float = 0.0,
    ) -> DrumPattern:
        """Quantise onsets to the grid; micro-timing becomes offsets in [-0.5, 0.5).

        When two notes of one class land on one step the loudest is kept. Notes whose pitch
        has no class are dropped and counted in `unmapped_notes`. `bars` None takes as many
        bars as needed to hold the last onset; `start` is the time of step 0 in seconds.
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
            bars = max(1, int(last) // STEPS_PER_BAR + 1)
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
        channel: int | None = DRUM_CHANNEL,
        require_four_four: bool = True,
        name: str | None = None,
    ) -> DrumPattern:
        """Read a MIDI file (path or bytes) into a pattern at the file's first tempo.

        `bars` None takes the file's length in whole bars, the definition the corpus windows
        use too: every started bar counts, except a tail shorter than one step (note tails).
        The file's length is the end of its last note or meta event (see `read_midi`, which
        also says what `name` is).
        """
        name = _source_name(source, name)
        content = read_midi(source, channel, name)
        if require_four_four:
            odd = [f"{n}/{d}" for n, d in content.time_signatures if (n, d) != (4, 4)]
            if odd:
                raise LatentLabError(f"{name}: time signature {odd[0]} is not 4/4")
        if not content.onsets:
            where = "any channel" if channel is None else f"MIDI channel {channel + 1}"
            hint = (
                f" ({content.other_channel_notes} notes on other channels: pass channel=None)"
                if content.other_channel_notes
                else ""
            )
            raise LatentLabError(f"{name}: no drum notes on {where}{hint}")
        if bars is None:
            bars = bars_in(content.end_time, content.bpm)
        try:
            pattern = cls.from_onsets(content.onsets, content.bpm, bars)
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
        """NoteSequence JSON with camelCase fields (startTime, isDrum...), as Magenta.js reads."""
        from google.protobuf import json_format

        return json_format.MessageToJson(self.to_note_sequence())

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
