"""DrumPattern: quantisation of drum MIDI, the 9-class mapping, and every round trip."""

from __future__ import annotations

import io
import json
from pathlib import Path

import mido
import numpy as np
import pytest
from conftest import STEP, TPB, groove_notes, piano_midi, write_drum_midi
from note_seq.drums_encoder_decoder import DEFAULT_DRUM_TYPE_PITCHES

from latentlab.errors import LatentLabError
from latentlab.pattern import N_CLASSES, DrumPattern, canonical_pitches, pitch_to_class

CLASS_OF = {p: c for c, pitches in enumerate(DEFAULT_DRUM_TYPE_PITCHES) for p in pitches}
KICK, SNARE, CLOSED_HH = 0, 1, 2


def random_pattern(seed: int, bars: int = 2, bpm: float = 120.0) -> DrumPattern:
    """A dense random pattern; offsets cover [-0.5, 0.5) except negative ones on step 0."""
    rng = np.random.default_rng(seed)
    shape = (bars * 16, N_CLASSES)
    hits = (rng.random(shape) < 0.4).astype(np.float32)
    velocities = rng.uniform(1 / 127, 1.0, shape)
    offsets = rng.uniform(-0.5, 0.5, shape)
    offsets[rng.random(shape) < 0.1] = 0.5 - 1e-6  # the edge that rounds onto the next step
    offsets[rng.random(shape) < 0.1] = -0.5
    offsets[0] = np.abs(offsets[0]) % 0.5  # MIDI cannot start before time 0
    hits[-1, 0] = 1  # a hit in the last step
    return DrumPattern(hits, velocities, offsets, bpm)


def assert_same(back: DrumPattern, pattern: DrumPattern) -> None:
    """Hits exact, velocities to 1/127, offsets to 1 ms at the pattern's tempo, bpm to 0.01."""
    assert back.steps == pattern.steps
    np.testing.assert_array_equal(back.hits, pattern.hits)
    assert np.abs(back.velocities - pattern.velocities).max() <= 0.5 / 127 + 1e-6
    offset_error_ms = np.abs(back.offsets - pattern.offsets).max() * pattern.step_seconds * 1000
    assert offset_error_ms <= 1.0
    assert back.bpm == pytest.approx(pattern.bpm, abs=0.005)


# ---- the drum mapping -----------------------------------------------------------------


def test_mapping_is_note_seqs_reduced_table() -> None:
    table = pitch_to_class()
    assert table.tolist() == [CLASS_OF.get(p, -1) for p in range(128)]
    assert canonical_pitches() == (36, 38, 42, 46, 45, 48, 50, 49, 51)


def test_every_midi_pitch_is_mapped_or_counted(tmp_path: Path) -> None:
    """Pitch p on step p: mapped pitches land in their class, the others are counted."""
    notes = [(p * STEP, p, 64 + p // 4) for p in range(128)]
    pattern = DrumPattern.from_midi(write_drum_midi(tmp_path / "all.mid", notes))

    assert pattern.bars == 8
    for p in range(128):
        row = pattern.hits[p]
        if p in CLASS_OF:
            assert row.tolist() == [float(c == CLASS_OF[p]) for c in range(N_CLASSES)], p
            assert pattern.velocities[p, CLASS_OF[p]] == pytest.approx((64 + p // 4) / 127)
        else:
            assert not row.any(), p
    assert pattern.unmapped_notes == 128 - len(CLASS_OF)
    assert pattern.n_hits == len(CLASS_OF)


def test_out_of_range_pitches_from_a_note_sequence_are_counted_as_unmapped() -> None:
    grid = np.zeros((16, 9), np.float32)
    grid[:9] = np.eye(9)
    pattern = DrumPattern(grid, grid, np.zeros_like(grid))
    ns = pattern.to_note_sequence()
    ns.notes.add(pitch=200, velocity=90, start_time=0.0, end_time=0.1, is_drum=True)
    back = DrumPattern.from_note_sequence(ns)
    assert back.unmapped_notes == 1
    assert back.n_hits == 9


# ---- quantisation ----------------------------------------------------------------------


def test_micro_timing_becomes_offsets_in_half_open_range(tmp_path: Path) -> None:
    notes = [
        (3 * STEP + STEP // 4, 36, 127),  # late by a quarter step
        (6 * STEP - STEP // 4, 38, 1),  # early by a quarter step
        (9 * STEP - STEP // 2, 42, 64),  # exactly half-way: belongs to the later step
        (11 * STEP + STEP // 2 - 1, 46, 100),  # one tick before half-way: still this step
    ]
    pattern = DrumPattern.from_midi(write_drum_midi(tmp_path / "timing.mid", notes), bars=1)

    assert pattern.n_hits == 4
    assert pattern.hits[3, KICK] == 1 and pattern.offsets[3, KICK] == pytest.approx(0.25)
    assert pattern.hits[6, SNARE] == 1 and pattern.offsets[6, SNARE] == pytest.approx(-0.25)
    assert pattern.hits[9, CLOSED_HH] == 1 and pattern.offsets[9, CLOSED_HH] == -0.5
    assert pattern.hits[11, 3] == 1
    assert pattern.offsets[11, 3] == pytest.approx((STEP // 2 - 1) / STEP, abs=1e-6)
    assert pattern.velocities[3, KICK] == 1.0
    assert pattern.velocities[6, SNARE] == pytest.approx(1 / 127)
    assert pattern.velocities[9, CLOSED_HH] == pytest.approx(64 / 127)
    assert pattern.offsets.min() >= -0.5 and pattern.offsets.max() < 0.5
    assert pattern.velocities.min() >= 0 and pattern.velocities.max() <= 1


@pytest.mark.parametrize("loud_first", [True, False])
def test_loudest_note_of_a_class_on_a_step_wins(tmp_path: Path, loud_first: bool) -> None:
    """Closed hi-hat (42) and pedal hi-hat (44) on one step: one hit, the loudest note's."""
    loud, quiet = (4 * STEP - 10, 44, 110), (4 * STEP + 20, 42, 40)
    notes = [loud, quiet] if loud_first else [quiet, loud]
    notes.append((4 * STEP, 36, 70))  # another class on the same step is kept
    pattern = DrumPattern.from_midi(write_drum_midi(tmp_path / "flam.mid", notes), bars=1)

    assert pattern.n_hits == 2
    assert pattern.velocities[4, CLOSED_HH] == pytest.approx(110 / 127)
    assert pattern.offsets[4, CLOSED_HH] == pytest.approx(-10 / STEP)
    assert pattern.velocities[4, KICK] == pytest.approx(70 / 127)


def test_zero_length_notes_are_kept(tmp_path: Path) -> None:
    """Note-off on the note-on tick: pretty_midi drops these notes, latentlab must not."""
    path = write_drum_midi(tmp_path / "zero.mid", groove_notes(2), length=0)
    notes = [m for m in mido.MidiFile(path).tracks[0] if m.type.startswith("note")]
    assert all(m.time == 0 for m in notes[1::2])  # every note ends on its own tick

    pattern = DrumPattern.from_midi(path)
    assert pattern.n_hits == len(groove_notes(2))
    assert pattern.hits[:, KICK].nonzero()[0].tolist() == [0, 8, 16, 24]


def test_length_counts_started_bars_but_not_a_short_tail(tmp_path: Path) -> None:
    notes = groove_notes(1)
    just_over = write_drum_midi(tmp_path / "a.mid", notes, end_tick=16 * STEP + STEP // 2)
    a_step_over = write_drum_midi(tmp_path / "b.mid", notes, end_tick=17 * STEP + 1)
    assert DrumPattern.from_midi(just_over).bars == 1
    assert DrumPattern.from_midi(a_step_over).bars == 2


def test_trailing_controllers_and_silence_do_not_lengthen_a_file(tmp_path: Path) -> None:
    """As for the GMD's durations: hi-hat pedal data after the last note is not music."""
    path = write_drum_midi(tmp_path / "tail.mid", groove_notes(1))
    midi = mido.MidiFile(path)
    pedal = [
        mido.Message("control_change", channel=9, control=4, value=v, time=STEP) for v in range(64)
    ]
    midi.tracks[0][-1:-1] = pedal  # four bars of pedal data after the last note
    midi.tracks[0][-1].time = 64 * STEP  # and four more bars before end_of_track
    midi.save(path)
    assert DrumPattern.from_midi(path).bars == 1


def test_reading_follows_the_tempo_of_the_file(tmp_path: Path) -> None:
    path = write_drum_midi(tmp_path / "slow.mid", [(5 * STEP, 38, 90)], bpm=73.5)
    pattern = DrumPattern.from_midi(path, bars=1)
    assert pattern.bpm == 73.5
    assert pattern.hits[5, SNARE] == 1 and pattern.offsets[5, SNARE] == 0


def test_drums_are_found_on_channel_10_or_a_channel_set_to_no_instrument(tmp_path: Path) -> None:
    drums = write_drum_midi(tmp_path / "d.mid", [(0, 36, 100)])
    channel_1 = write_drum_midi(tmp_path / "k.mid", [(0, 36, 100), (4 * STEP, 38, 90)], channel=0)
    assert DrumPattern.from_midi(drums).n_hits == 1
    assert DrumPattern.from_midi(channel_1).n_hits == 2, "drums on channel 1 (a DAW's) are read"
    with pytest.raises(LatentLabError, match=r"no drum notes on MIDI channel 10 \(2 notes on"):
        DrumPattern.from_midi(channel_1, channel=9)  # asking for one channel reads only it


def test_a_file_set_to_a_melodic_instrument_is_refused_in_words() -> None:
    with pytest.raises(LatentLabError) as refused:
        DrumPattern.from_midi(piano_midi(), name="song.mid")
    assert str(refused.value) == (
        "song.mid: no drums: its notes are on MIDI channel 1, set to Acoustic Grand Piano, "
        "not on channel 10 where drums go"
    )
    assert "channel=None" not in str(refused.value), "no API hints for a dashboard user"


# ---- writing MIDI ---------------------------------------------------------------------


def test_midi_is_written_with_canonical_pitches_on_the_drum_channel(tmp_path: Path) -> None:
    """Input pitches 35 (kick 2), 44 (pedal hi-hat), 57 (crash 2) come out canonical."""
    notes = [(0, 35, 20), (STEP, 44, 90), (2 * STEP, 57, 127), (3 * STEP, 51, 1)]
    pattern = DrumPattern.from_midi(write_drum_midi(tmp_path / "in.mid", notes), bars=1)
    out = tmp_path / "out.mid"
    data = pattern.to_midi(out)
    assert out.read_bytes() == data

    midi = mido.MidiFile(file=io.BytesIO(data))
    messages = [m for track in midi.tracks for m in track]
    on = [m for m in messages if m.type == "note_on" and m.velocity > 0]
    assert {m.channel for m in messages if not m.is_meta} == {9}
    assert [(m.note, m.velocity) for m in on] == [(36, 20), (42, 90), (49, 127), (51, 1)]
    signatures = [(m.numerator, m.denominator) for m in messages if m.type == "time_signature"]
    assert signatures == [(4, 4)]
    assert [mido.tempo2bpm(m.tempo) for m in messages if m.type == "set_tempo"] == [120]


def test_every_class_is_written_with_its_own_canonical_pitch(tmp_path: Path) -> None:
    hits = np.zeros((16, 9), np.float32)
    hits[np.arange(9), np.arange(9)] = 1
    pattern = DrumPattern(hits, hits * np.linspace(0.1, 0.9, 9), np.zeros_like(hits))
    on = [m for m in mido.MidiFile(file=io.BytesIO(pattern.to_midi())).tracks[1]]
    on = [m for m in on if m.type == "note_on" and m.velocity > 0]
    assert [m.note for m in on] == list(canonical_pitches())
    assert [m.velocity for m in on] == [round(v * 127) for v in np.linspace(0.1, 0.9, 9)]


# ---- round trips ----------------------------------------------------------------------

TEMPOS = [20.0, 60.0, 97.3, 120.0, 138.0, 400.0]


@pytest.mark.parametrize("bpm", TEMPOS)
@pytest.mark.parametrize("bars", [1, 2, 4])
def test_midi_round_trip(bpm: float, bars: int) -> None:
    pattern = random_pattern(int(bpm * 10) + bars, bars, bpm)
    assert_same(DrumPattern.from_midi(pattern.to_midi()), pattern)


def test_midi_file_round_trip_keeps_trailing_empty_bars(tmp_path: Path) -> None:
    hits = np.zeros((64, 9), np.float32)
    hits[3, SNARE] = 1
    pattern = DrumPattern(hits, hits * 64 / 127, np.zeros_like(hits), bpm=100)
    pattern.to_midi(tmp_path / "p.mid")
    back = DrumPattern.from_midi(tmp_path / "p.mid")
    assert back.bars == 4
    assert back == pattern


def test_midi_round_trip_of_whole_values_is_exact() -> None:
    """Velocities k/127 and offsets on the tick grid come back bit for bit, bpm included."""
    rng = np.random.default_rng(1)
    hits = (rng.random((32, 9)) < 0.3).astype(np.float32)
    velocities = rng.integers(1, 128, (32, 9)) / 127
    offsets = rng.integers(-480, 480, (32, 9)) / 960
    offsets[0] = 0
    pattern = DrumPattern(hits, velocities, offsets, bpm=96.5)
    assert DrumPattern.from_midi(pattern.to_midi()) == pattern


def test_step_zero_cannot_be_early_in_midi() -> None:
    """MIDI has no time before 0: a hit on step 0 with a negative offset comes back on time."""
    hits = np.zeros((16, 9), np.float32)
    hits[0, KICK] = 1
    pattern = DrumPattern(hits, hits, hits * -0.3)
    back = DrumPattern.from_midi(pattern.to_midi())
    assert back.hits[0, KICK] == 1 and back.offsets[0, KICK] == 0


@pytest.mark.parametrize("bpm", TEMPOS)
def test_pretty_midi_round_trip(bpm: float) -> None:
    pattern = random_pattern(7, 2, bpm)
    pm = pattern.to_pretty_midi()
    assert all(inst.is_drum for inst in pm.instruments)
    assert_same(DrumPattern.from_pretty_midi(pm), pattern)


@pytest.mark.parametrize("bpm", TEMPOS)
def test_note_sequence_round_trip(bpm: float) -> None:
    pattern = random_pattern(11, 4, bpm)
    ns = pattern.to_note_sequence()
    assert all(n.is_drum for n in ns.notes)
    assert_same(DrumPattern.from_note_sequence(ns), pattern)


def test_note_sequence_json_is_what_magenta_js_reads_and_round_trips() -> None:
    pattern = random_pattern(3, 2, 110.0)
    text = pattern.to_note_sequence_json()
    data = json.loads(text)
    # Magenta.js's NoteSequence.INote (music/src/protobuf/proto.d.ts): every field, numbers
    # as numbers, so a page that reads the JSON with JSON.parse finds them all.
    numbers = ("pitch", "velocity", "startTime", "endTime", "quantizedStartStep")
    numbers += ("quantizedEndStep", "numerator", "denominator", "instrument", "program")
    numbers += ("part", "voice", "pitchName")
    hits = np.zeros((16, 9), np.float32)
    hits[0, KICK] = 1
    on_time = json.loads(DrumPattern(hits, hits, hits * 0).to_note_sequence_json())
    assert on_time["notes"][0]["startTime"] == 0, "a hit on step 0 keeps its zero start time"
    for note in data["notes"]:
        assert all(type(note[k]) in (int, float) for k in numbers), note
        assert note["isDrum"] is True
    assert data["tempos"] == [{"qpm": 110.0, "time": 0.0}]
    assert data["timeSignatures"] == [{"numerator": 4, "denominator": 4, "time": 0.0}]
    assert data["totalTime"] == pytest.approx(pattern.duration)
    assert data["totalQuantizedSteps"] == 0 and data["ticksPerQuarter"] == 220
    assert_same(DrumPattern.from_note_sequence_json(text), pattern)


def test_dict_and_json_round_trips() -> None:
    pattern = random_pattern(5, 2, 97.3)
    for back in (
        DrumPattern.from_dict(pattern.to_dict()),
        DrumPattern.from_json(pattern.to_json()),
    ):
        np.testing.assert_array_equal(back.hits, pattern.hits)
        np.testing.assert_allclose(back.velocities, pattern.velocities, atol=1e-6)
        np.testing.assert_allclose(back.offsets, pattern.offsets, atol=1e-6)
        assert back.bpm == pattern.bpm


def test_array_round_trip_and_silent_cells_are_zero() -> None:
    pattern = random_pattern(9)
    assert DrumPattern.from_array(pattern.to_array(), pattern.bpm) == pattern
    silent = pattern.hits == 0
    assert not pattern.velocities[silent].any() and not pattern.offsets[silent].any()


def test_a_pattern_copies_its_inputs_and_never_changes_them() -> None:
    hits = np.zeros((16, 9), np.float32)
    hits[0, KICK] = 1
    velocities = np.full((16, 9), 0.5, np.float32)  # loud where there is no hit too
    offsets = np.full((16, 9), 0.1, np.float32)
    pattern = DrumPattern(hits, velocities, offsets)
    assert (velocities == 0.5).all() and (offsets == 0.1).all(), "the caller's arrays unchanged"
    hits[0, KICK] = 0
    velocities[0, KICK] = 0.9
    assert pattern.hits[0, KICK] == 1 and pattern.velocities[0, KICK] == 0.5, "not aliased"
    assert pattern.velocities[1, KICK] == 0 and pattern.offsets[1, KICK] == 0


def test_a_pattern_cannot_change_after_validation() -> None:
    pattern = random_pattern(4)
    with pytest.raises(ValueError, match="read-only"):
        pattern.hits[0, 0] = 1 - pattern.hits[0, 0]
    for field, value in (("bpm", 5000), ("hits", np.ones((16, 9)))):
        with pytest.raises(AttributeError):
            setattr(pattern, field, value)
    assert pattern == random_pattern(4)
    faster = pattern.with_bpm(140)
    assert faster.bpm == 140 and pattern.bpm == 120 and np.array_equal(faster.hits, pattern.hits)
    with pytest.raises(LatentLabError, match="bpm: 5000 is outside 20..400"):
        pattern.with_bpm(5000)
    with pytest.raises(LatentLabError, match="hits: values must be 0 or 1"):
        pattern.replace(hits=np.full((32, 9), 0.5))


# ---- bad input ------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LatentLabError, match=r"nope\.mid: file not found"):
        DrumPattern.from_midi(tmp_path / "nope.mid")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mid").write_bytes(b"")
    with pytest.raises(LatentLabError, match=r"empty\.mid: file is empty"):
        DrumPattern.from_midi(tmp_path / "empty.mid")


def test_not_a_midi_file(tmp_path: Path) -> None:
    (tmp_path / "text.mid").write_text("hello, I am not MIDI\n")
    with pytest.raises(LatentLabError, match=r"text\.mid: not a MIDI file"):
        DrumPattern.from_midi(tmp_path / "text.mid")


@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_truncated_file(tmp_path: Path, keep: float) -> None:
    data = write_drum_midi(tmp_path / "full.mid", groove_notes(2)).read_bytes()
    cut = tmp_path / "cut.mid"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(LatentLabError, match=r"cut\.mid: truncated or corrupt MIDI file \(.+\)"):
        DrumPattern.from_midi(cut)


def test_corrupt_bytes(tmp_path: Path) -> None:
    data = bytearray(write_drum_midi(tmp_path / "full.mid", groove_notes(2)).read_bytes())
    data[40] = 0xF4  # an undefined status byte
    (tmp_path / "bad.mid").write_bytes(bytes(data))
    with pytest.raises(LatentLabError, match=r"bad\.mid: truncated or corrupt"):
        DrumPattern.from_midi(tmp_path / "bad.mid")


def test_bytes_errors_use_the_given_name() -> None:
    with pytest.raises(LatentLabError, match=r"^<bytes>: not a MIDI file"):
        DrumPattern.from_midi(b"RIFF....")
    with pytest.raises(LatentLabError, match=r"^upload\.mid: not a MIDI file"):
        DrumPattern.from_midi(b"RIFF....", name="upload.mid")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    (tmp_path / "dir.mid").mkdir()
    with pytest.raises(LatentLabError, match=r"dir\.mid: is a folder"):
        DrumPattern.from_midi(tmp_path / "dir.mid")


def test_file_without_notes(tmp_path: Path) -> None:
    path = write_drum_midi(tmp_path / "silent.mid", [], end_tick=32 * STEP)
    with pytest.raises(LatentLabError, match=r"silent\.mid: no drum notes on any MIDI channel$"):
        DrumPattern.from_midi(path)


def test_file_with_only_unmapped_pitches(tmp_path: Path) -> None:
    path = write_drum_midi(tmp_path / "odd.mid", [(0, 100, 90), (STEP, 20, 90)])
    with pytest.raises(LatentLabError, match=r"odd\.mid: no drum-pitch notes.*2 notes"):
        DrumPattern.from_midi(path)


@pytest.mark.parametrize("signature", [(3, 4), (6, 8), (7, 8)])
def test_non_four_four_is_refused_unless_allowed(tmp_path: Path, signature) -> None:
    path = write_drum_midi(tmp_path / "waltz.mid", groove_notes(1), time_signature=signature)
    with pytest.raises(LatentLabError, match=rf"waltz\.mid: time signature {signature[0]}/"):
        DrumPattern.from_midi(path)
    assert DrumPattern.from_midi(path, require_four_four=False).n_hits > 0


def test_a_later_time_signature_change_is_refused_too(tmp_path: Path) -> None:
    path = write_drum_midi(tmp_path / "change.mid", groove_notes(2))
    midi = mido.MidiFile(path)
    midi.tracks[0].insert(-1, mido.MetaMessage("time_signature", numerator=3, denominator=4))
    midi.save(path)
    with pytest.raises(LatentLabError, match=r"change\.mid: time signature 3/4 is not 4/4"):
        DrumPattern.from_midi(path)


def test_tempo_outside_the_range_names_the_file(tmp_path: Path) -> None:
    path = write_drum_midi(tmp_path / "glacial.mid", groove_notes(1), bpm=10)
    with pytest.raises(LatentLabError, match=r"glacial\.mid: bpm: 10(\.0)? is outside 20\.\.400"):
        DrumPattern.from_midi(path)


def test_no_tempo_means_120_bpm(tmp_path: Path) -> None:
    midi = mido.MidiFile(ticks_per_beat=TPB)
    midi.tracks.append(
        mido.MidiTrack(
            [
                mido.Message("note_on", channel=9, note=38, velocity=90, time=2 * TPB),
                mido.Message("note_off", channel=9, note=38, time=10),
            ]
        )
    )
    midi.save(tmp_path / "plain.mid")
    pattern = DrumPattern.from_midi(tmp_path / "plain.mid")
    assert pattern.bpm == 120 and pattern.hits[8, SNARE] == 1


def pattern_dict(steps: int = 16, classes: int = 9, hit=0, offset: float = 0.0, **extra) -> dict:
    """The plain dict form of a pattern with every cell alike."""
    grid = {"hits": hit, "velocities": 0, "offsets": offset}
    return {k: [[v] * classes] * steps for k, v in grid.items()} | extra


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"hits": [[0] * 9] * 16, "velocities": [[0] * 9] * 16}, "missing field 'offsets'"),
        (pattern_dict(steps=15), "T=15 is not a positive multiple of 16"),
        (pattern_dict(classes=8), r"expected shape \(T, 9\)"),
        (pattern_dict(hit=2), "values must be 0 or 1"),
        (pattern_dict(hit=1, offset=0.7), r"offsets: values must lie in -0\.5\.\.0\.5"),
        (pattern_dict(hit="x"), "not numeric grids"),
        (pattern_dict(bpm="fast"), "bpm 'fast' is not a number"),
        (pattern_dict(bpm=500), r"bpm: 500\.0 is outside 20\.\.400"),
    ],
)
def test_bad_pattern_dicts(data: dict, message: str) -> None:
    with pytest.raises(LatentLabError, match=message):
        DrumPattern.from_dict(data)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_bad_pattern_json(text: str) -> None:
    with pytest.raises(LatentLabError, match="pattern JSON"):
        DrumPattern.from_json(text)


def test_bad_note_sequence_json() -> None:
    with pytest.raises(LatentLabError, match="NoteSequence JSON"):
        DrumPattern.from_note_sequence_json('{"notes": [{"pitch": "loud"}]}')
