"""Shared fixtures: synthetic drum MIDI, a private cache dir, and the Groove MIDI Dataset.

Dataset tests read the GMD from $LATENTLAB_DATA (relative paths are taken from the repository
root, as CI gives a relative path) and are skipped when it is unset.
The GMD is processed once per session into its own temporary cache.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import mido
import numpy as np
import pytest

TPB = 480  # ticks per quarter note of the synthetic files
STEP = TPB // 4  # ticks per 16th-note step


def _timeout_scale() -> float:
    value = os.environ.get("LATENTLAB_TEST_TIMEOUT_SCALE") or "3"
    try:
        scale = float(value)
    except ValueError:
        scale = 0.0
    if not scale > 0:
        raise ValueError(f"LATENTLAB_TEST_TIMEOUT_SCALE={value}: give a number above 0")
    return scale


# Every wall-clock limit in the tests is what an idle machine needs, with room to spare, times
# this factor: 3 by default, so the suite holds on a busy machine (two training jobs on two
# cores); raise it where machines are slower still.
TIMEOUT_SCALE = _timeout_scale()


def scaled(seconds: float) -> float:
    """A wall-clock limit for the tests: `seconds` on an idle machine, times TIMEOUT_SCALE."""
    return seconds * TIMEOUT_SCALE


def write_drum_midi(
    path: Path,
    notes: list[tuple[int, int, int]],
    bpm: float = 120.0,
    time_signature: tuple[int, int] | None = (4, 4),
    channel: int = 9,
    length: int = 0,
    end_tick: int | None = None,
) -> Path:
    """Write a type-0 MIDI file of drum notes (tick, pitch, velocity), each `length` ticks.

    `length` 0 writes zero-length notes (note-off on the note-on tick), as drum MIDI often
    has; `end_tick` makes the file that long with a marker at that tick.
    """
    events = []
    for tick, pitch, velocity in notes:
        events.append((tick, 1, mido.Message("note_on", note=pitch, velocity=velocity)))
        events.append((tick + length, 0 if length else 2, mido.Message("note_off", note=pitch)))
    if end_tick is not None:
        events.append((end_tick, 3, mido.MetaMessage("marker", text="end")))
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    if time_signature:
        num, den = time_signature
        track.append(mido.MetaMessage("time_signature", numerator=num, denominator=den, time=0))
    now = 0
    for tick, _, msg in events:
        msg = (
            msg.copy(time=tick - now) if msg.is_meta else msg.copy(channel=channel, time=tick - now)
        )
        track.append(msg)
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(type=0, ticks_per_beat=TPB)
    midi.tracks.append(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.save(path)
    return path


def groove_notes(bars: int, empty_bars: tuple[int, ...] = (), velocity: int = 100) -> list:
    """A simple rock beat (kick, snare, closed hi-hat 8ths) over `bars`, some bars left empty."""
    notes = []
    for bar in range(bars):
        if bar in empty_bars:
            continue
        start = bar * 16 * STEP
        notes += [(start + s * STEP, 42, velocity - 30) for s in range(0, 16, 2)]
        notes += [(start, 36, velocity), (start + 8 * STEP, 36, velocity)]
        notes += [(start + 4 * STEP, 38, velocity), (start + 12 * STEP, 38, velocity)]
    return notes


@pytest.fixture
def latentlab_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private, empty LATENTLAB_CACHE for one test."""
    path = tmp_path / "cache"
    monkeypatch.setenv("LATENTLAB_CACHE", str(path))
    return path


@pytest.fixture(scope="session")
def gmd_root(request: pytest.FixtureRequest) -> Path:
    """The Groove MIDI Dataset folder from $LATENTLAB_DATA; skips the test when it is unset."""
    value = os.environ.get("LATENTLAB_DATA")
    if not value:
        pytest.skip("LATENTLAB_DATA is not set (the Groove MIDI Dataset folder)")
    root = Path(value)
    if not root.is_absolute():
        root = request.config.rootpath / root
    if not (root / "info.csv").is_file():
        pytest.fail(f"LATENTLAB_DATA={value}: no info.csv there ({root})")
    return root.resolve()


@pytest.fixture(scope="session")
def gmd_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache dir for every GMD test of the session, so the GMD is processed once."""
    return tmp_path_factory.mktemp("gmd-cache")


@pytest.fixture(scope="session")
def gmd_windows(gmd_root: Path, gmd_cache: Path) -> dict:
    """The GMD's 2-bar and 4-bar windows, {2: Windows, 4: Windows}."""
    from latentlab.corpus import Corpus

    corpus = Corpus.groove(gmd_root)
    return {n: corpus.windows(n, progress=False, cache=gmd_cache) for n in (2, 4)}


@pytest.fixture
def gmd_env(gmd_root: Path, gmd_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """LATENTLAB_DATA and LATENTLAB_CACHE set to the GMD and its session cache."""
    monkeypatch.setenv("LATENTLAB_DATA", str(gmd_root))
    monkeypatch.setenv("LATENTLAB_CACHE", str(gmd_cache))
    return gmd_root


@pytest.fixture(scope="session")
def gmd_reference(gmd_root: Path) -> dict:
    """The GMD quantised independently of latentlab, from info.csv and mido alone.

    Bars come from info.csv's duration and bpm (every started bar, except a tail of at most
    one 16th); notes are note-ons on the drum channel, on the 16th grid of the file's ticks
    (half-way goes up), mapped to classes with note-seq's table; the loudest note of a
    cell gives its velocity. Returns {"files": [(file_id, split, bars)], "start": {file_id:
    first row}, "hits": (steps, 9) bool, "velocities": (steps, 9) float32}, all files
    concatenated in info.csv order (4/4 files only).
    """
    import csv

    from note_seq.drums_encoder_decoder import DEFAULT_DRUM_TYPE_PITCHES

    table = np.full(128, -1)
    for cls, pitches in enumerate(DEFAULT_DRUM_TYPE_PITCHES):
        table[list(pitches)] = cls
    with open(gmd_root / "info.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["time_signature"] == "4-4"]
    files, start, all_hits, all_velocities, total = [], {}, [], [], 0
    for row in rows:
        bar_seconds = 4 * 60 / float(row["bpm"])
        duration = float(row["duration"])
        whole = int(duration // bar_seconds)
        bars = max(1, whole + (duration - whole * bar_seconds > bar_seconds / 16))

        midi = mido.MidiFile(gmd_root / row["midi_filename"])
        ticks, pitches, velocities = [], [], []
        for track in midi.tracks:
            tick = 0
            for msg in track:
                tick += msg.time
                if msg.type == "note_on" and msg.velocity > 0 and msg.channel == 9:
                    ticks.append(tick)
                    pitches.append(msg.note)
                    velocities.append(msg.velocity)
        tpb = midi.ticks_per_beat
        steps = (8 * np.array(ticks, dtype=np.int64) + tpb) // (2 * tpb)  # round(4 tick / tpb)
        classes = table[np.array(pitches, dtype=np.int64)]
        keep = (classes >= 0) & (steps < bars * 16)
        hits = np.zeros((bars * 16, 9), bool)
        hits[steps[keep], classes[keep]] = True
        loudest = np.zeros((bars * 16, 9), np.float32)
        vel = (np.array(velocities, dtype=np.float64)[keep] / 127).astype(np.float32)
        np.maximum.at(loudest, (steps[keep], classes[keep]), vel)

        files.append((row["id"], row["split"], bars))
        start[row["id"]] = total
        total += bars * 16
        all_hits.append(hits)
        all_velocities.append(loudest)
    return {
        "files": files,
        "start": start,
        "hits": np.concatenate(all_hits),
        "velocities": np.concatenate(all_velocities),
    }


def reference_windows(reference: dict, n_bars: int) -> list[tuple[str, str, int]]:
    """(file_id, split, first_bar) of every N-bar window with a hit, hop one bar."""
    out = []
    for file_id, split, bars in reference["files"]:
        begin = reference["start"][file_id]
        bar_hits = reference["hits"][begin : begin + bars * 16].reshape(bars, -1).any(axis=1)
        for first in range(bars - n_bars + 1):
            if bar_hits[first : first + n_bars].any():
                out.append((file_id, split, first))
    return out


def synthetic_grooves(root: Path, n: int = 40, seed: int = 0) -> Path:
    """A folder corpus of 4-bar grooves in two styles: 'rock' (eighth hats, sparse) and
    'funk' (sixteenth hats, busy kicks, ghost snares). Enough for train/validation/test."""
    from latentlab.pattern import DrumPattern

    rng = np.random.default_rng(seed)
    for i in range(n):
        funk = i % 2 == 0
        hits = np.zeros((64, 9), np.float32)
        hits[:: 1 if funk else 2, 2] = 1
        hits[4::8, 1] = 1
        hits[rng.choice(64, 12 if funk else 5, replace=False), 0] = 1
        if funk:
            hits[rng.choice(64, 6, replace=False), 1] = 1
        velocities = hits * rng.uniform(0.3, 1.0, hits.shape)
        offsets = hits * rng.uniform(-0.2, 0.2, hits.shape)
        pattern = DrumPattern(hits, velocities, offsets, bpm=100 if funk else 120)
        style = root / ("funk" if funk else "rock")
        style.mkdir(parents=True, exist_ok=True)
        pattern.to_midi(style / f"groove{i:02d}.mid")
    return root


def _train_tiny(base: Path, bars: int, hierarchical: bool) -> Path:
    """A tiny DrumVAE trained for a few steps on synthetic grooves, with its atlas built and
    tiny humanize and drumify models beside it."""
    from latentlab.atlas import build_atlas
    from latentlab.checkpoint import load_checkpoint
    from latentlab.corpus import Corpus
    from latentlab.model import ModelConfig
    from latentlab.train import TrainConfig, train
    from latentlab.transform import KINDS, train_transform

    data = synthetic_grooves(base / "grooves")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LATENTLAB_CACHE", str(base / "cache"))
        model = ModelConfig(
            bars=bars,
            hierarchical=hierarchical,
            z_dim=8,
            encoder_hidden=24,
            decoder_hidden=32,
            history_dropout=0.0,
        )
        # Settings pinned here, not taken from the shipped recipe's defaults, so that the
        # tests' tiny model stays the same when the recipe changes.
        config = TrainConfig(
            out=str(base / "run"),
            data=str(data),
            epochs=4,
            batch_size=16,
            lr=1e-3,
            free_bits=48.0,
            model=model,
        )
        folder = train(config, progress=False)
        model, _ = load_checkpoint(folder, "cpu")
        windows = Corpus.open(data).windows(bars, progress=False)
        build_atlas(model, windows, progress=False).save(folder)
        for kind in KINDS:
            train_transform(kind, folder, data, bars, epochs=2, hidden=8, layers=1, progress=False)
    return folder


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny flat 2-bar checkpoint with its atlas."""
    return _train_tiny(tmp_path_factory.mktemp("tiny"), bars=2, hierarchical=False)


@pytest.fixture(scope="session")
def tiny_checkpoint_4bar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny hierarchical 4-bar checkpoint with its atlas."""
    return _train_tiny(tmp_path_factory.mktemp("tiny4"), bars=4, hierarchical=True)


def piano_midi() -> bytes:
    """A short piano part on MIDI channel 1, set to the piano by a program change: chords of
    pitches a drum map would read as toms and hi-hats."""
    track = mido.MidiTrack()
    track.append(mido.Message("program_change", channel=0, program=0, time=0))
    for k, chord in enumerate(([60, 64, 67], [62, 65, 69], [64, 67, 71], [65, 69, 72])):
        for i, pitch in enumerate(chord):
            track.append(
                mido.Message("note_on", note=pitch, velocity=80, time=TPB if k and not i else 0)
            )
        for i, pitch in enumerate(chord):
            track.append(mido.Message("note_off", note=pitch, time=TPB - 10 if not i else 0))
    midi = mido.MidiFile(type=0, ticks_per_beat=TPB)
    midi.tracks.append(track)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()
