"""The explorer's state object on the tiny checkpoint, with no widgets at all: its history,
actions, directions, filters, tempo, Continue, Humanize and Drumify, and what it shows."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import groove_notes, write_drum_midi

from latentlab.errors import LatentLabError
from latentlab.explorer import CENTRE, KEY_CELLS, ExplorerState
from latentlab.lab import LatentLab
from latentlab.pattern import DrumPattern


@pytest.fixture(scope="module")
def lab(tiny_checkpoint):
    return LatentLab.load(tiny_checkpoint, device="cpu")


@pytest.fixture
def state(lab):
    """A new explorer state, seeded: no widgets are built."""
    return ExplorerState(lab, seed=0)


def test_the_state_module_needs_no_widgets() -> None:
    code = "import sys, latentlab.explorer; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_it_starts_on_a_corpus_beat_and_tells_its_listeners(state, lab) -> None:
    place = state.place
    assert place.index is not None and place.real
    assert state.pattern == lab.corpus_pattern(place.index)
    assert place.bpm == state.pattern.bpm == lab.atlas.meta["bpm"][place.index]
    assert np.allclose(state.xy, lab.atlas.coords[place.index])
    assert len(state.grid_patterns) == 9 and state.grid_patterns[CENTRE] == state.pattern
    assert state.title() == lab.caption(place.index)
    assert f"corpus groove #{place.index}" in state.detail()
    assert not state.can_go_back and not state.can_go_forward
    heard = []
    state.on_change(heard.append)
    state.select_corpus(3)
    state.set_temperature(0.5)
    assert heard == [True, False], "a new groove asks to play; a new temperature does not"


def test_actions_walk_a_history_that_back_and_forward_retrace(state, lab) -> None:
    first = state.place
    state.sample()
    sampled = state.place
    assert sampled.pattern is None and sampled.index is None
    assert state.pattern == lab.decode(sampled.z[None], bpm=sampled.bpm)[0]
    state.sample("funk")
    assert "funk" in state.title()
    state.similar()
    state.random_jump()
    assert len(state.history) == 5 and state.position == 4
    for _ in range(3):
        state.back()
    assert state.place is sampled and state.history_text() == "2 / 5"
    assert state.pattern == lab.decode(sampled.z[None], bpm=sampled.bpm)[0]
    state.back()
    state.back()  # nothing further back
    assert state.place is first and not state.can_go_back
    state.forward()
    assert state.place is sampled
    state.similar()  # a new place drops the forward history
    assert len(state.history) == 3 and not state.can_go_forward
    with pytest.raises(LatentLabError, match="style 'salsa' is unknown"):
        state.sample("salsa")


def test_random_jumps_keep_to_the_filters(state, lab) -> None:
    state.set_filters(style="funk")
    for _ in range(5):
        state.key("r")
        assert lab.atlas.meta["style"][state.place.index] == "funk"
    with pytest.raises(LatentLabError, match="style 'salsa' is unknown"):
        state.set_filters(style="salsa")
    state.shown = np.zeros(0, int)
    with pytest.raises(LatentLabError, match="show no grooves"):
        state.random_jump()


def test_arrow_keys_step_along_the_two_named_directions(state, lab) -> None:
    assert state.axes == ("density", "shuffle")
    (d1, d2), _ = lab.directions("attributes", 0)
    for key, (along, sign) in {"right": (d1, 1), "left": (d1, -1), "up": (d2, 1)}.items():
        before, target = state.z, state.grid_z[KEY_CELLS[key]]
        state.key(key)
        assert np.array_equal(state.z, target)
        assert sign * float((state.z - before) @ along) > 0, key
        assert state.grid_patterns[CENTRE] == state.pattern
    assert state.place.label == "more shuffle"
    with pytest.raises(LatentLabError, match="does nothing"):
        state.key("x")


def test_c_takes_the_next_pair_as_the_facade_names_it(state, lab) -> None:
    state.key("c")
    assert state.axes == lab.directions("attributes", 1)[1] == ("syncopation", "laid back")
    state.set_directions("dimensions")
    assert state.pair == 0 and state.axes[0].startswith("z[")
    state.key("c")
    assert state.axes == lab.directions("dimensions", 1)[1]
    state.set_directions("principal")
    assert state.axes == ("principal 1", "principal 2")
    state.set_step(0.5)
    assert state.step == 0.5
    with pytest.raises(LatentLabError, match="'sideways' is not attributes"):
        state.set_directions("sideways")


def test_a_cell_is_auditioned_or_visited(state) -> None:
    place = state.place
    state.audition(0)
    assert state.place is place, "auditioning only plays the cell"
    assert state.sounding == state.grid_patterns[0] and state.active == 0
    target = state.grid_z[8]
    state.go_to_cell(8)
    assert np.array_equal(state.z, target) and state.place.label == "more density, less shuffle"
    assert state.sounding == state.pattern and state.active == CENTRE


def test_amounts_shift_the_current_place_without_adding_one(state, lab) -> None:
    place = state.place
    state.set_amount("density", 1.0)
    state.set_amount("shuffle", -0.5)
    shifted = lab.shift(place.z, {"density": 1.0, "shuffle": -0.5})
    assert np.allclose(state.z, shifted) and not state.place.real
    assert state.pattern == lab.decode(shifted[None], bpm=place.bpm)[0]
    assert np.allclose(state.xy, lab.place(shifted)[0])
    assert "(shifted: density +1.00, shuffle -0.50)" in state.title()
    assert len(state.history) == 1
    state.reset_amounts()
    assert state.place.amounts == () and state.pattern == place.pattern
    with pytest.raises(LatentLabError, match="attribute 'wobble' is unknown"):
        state.set_amount("wobble", 1.0)


def test_temperature_samples_decodes_and_says_a_real_groove_plays_as_recorded(state, lab):
    real = state.pattern
    state.set_temperature(0.9)
    assert state.pattern == real, "a real groove is not decoded"
    assert "not a decode, so it plays as it is" in state.temperature_note()
    state.sample()
    place = state.place
    assert state.pattern == lab.decode(place.z[None], 0.9, place.seed, bpm=place.bpm)[0]
    assert "sampled" in state.temperature_note()
    state.set_temperature(0.0)
    assert state.pattern == lab.decode(place.z[None], bpm=place.bpm)[0]
    assert "most likely" in state.temperature_note()
    with pytest.raises(LatentLabError, match="outside 0..2"):
        state.set_temperature(3.0)


def test_a_tempo_carries_on_to_the_places_reached_from_here(state, lab) -> None:
    state.set_bpm(97)
    assert state.place.bpm == 97 and state.pattern.bpm == 97
    assert all(p.bpm == 97 for p in state.grid_patterns)
    state.key("right")
    assert state.place.bpm == state.pattern.bpm == 97
    state.similar()
    state.sample()
    assert state.pattern.bpm == 97
    state.select_corpus(5)  # a real groove plays at its own tempo
    assert state.pattern.bpm == lab.corpus_pattern(5).bpm
    with pytest.raises(LatentLabError, match="outside 20..400"):
        state.set_bpm(5000)


def test_an_upload_is_read_by_the_facade_pinned_and_played(state, lab, tmp_path) -> None:
    data = write_drum_midi(tmp_path / "g.mid", groove_notes(4), bpm=96, channel=0).read_bytes()
    state.upload("mine.mid", data)
    groove = lab.read_groove(data, "mine.mid")
    assert state.pattern == groove.pattern and state.pattern.bpm == 96
    assert np.allclose(state.z, groove.z)
    assert state.title() == "mine.mid (first 2 of 4 bars)"
    (xy, name) = state.pins[0]
    assert name == "mine.mid" and np.allclose(xy, state.xy)
    place = state.place
    with pytest.raises(LatentLabError, match="song.mid: not a MIDI file"):
        state.upload("song.mid", b"RIFF....WAVEfmt ")
    assert state.place is place and len(state.pins) == 1


def test_an_edit_is_encoded_and_kept_without_playing(state, lab) -> None:
    hits = state.pattern.hits.copy()
    hits[5, 3] = 1
    edited = state.pattern.replace(hits=hits, velocities=hits * 0.8)
    heard = []
    state.on_change(heard.append)
    state.edit(edited)
    assert state.place.label == "your edit" and state.place.pattern == edited
    assert np.allclose(state.z, lab.encode(edited)[0])
    assert state.grid_patterns[CENTRE] == edited and heard == [False]


def test_an_explorer_needs_an_atlas(lab) -> None:
    with pytest.raises(LatentLabError, match="atlas"):
        ExplorerState(LatentLab(lab.model, lab.config, None, "somewhere"))


def test_the_state_works_on_a_hierarchical_4_bar_checkpoint(tiny_checkpoint_4bar, tmp_path):
    lab4 = LatentLab.load(tiny_checkpoint_4bar, device="cpu")
    state = ExplorerState(lab4, seed=0)
    assert state.pattern.steps == 64
    assert all(p.steps == 64 for p in state.grid_patterns)
    state.set_amount("density", 1.0)
    assert state.pattern == lab4.decode(state.z[None], bpm=state.place.bpm)[0]
    state.sample()
    assert state.pattern.bars == 4
    state.upload("mine.mid", write_drum_midi(tmp_path / "g.mid", groove_notes(2)).read_bytes())
    assert state.pattern.steps == 64 and state.pattern.hits[32:].sum() == 0


# ---- Continue, Humanize, Drumify ------------------------------------------------------------
@pytest.fixture(scope="module")
def lab_without_humanize(tiny_checkpoint, tmp_path_factory):
    """The tiny checkpoint with its drumify model but no humanize model."""
    folder = tmp_path_factory.mktemp("ckpt") / "no-humanize"
    shutil.copytree(tiny_checkpoint, folder, ignore=shutil.ignore_patterns("humanize.*"))
    return LatentLab.load(folder, device="cpu")


@pytest.fixture
def calls(lab, monkeypatch) -> list[dict]:
    """What the state asks of `LatentLab.continue_groove` (which still does the work)."""
    seen = []
    real = lab.continue_groove

    def spy(groove, bars, temperature=None, seed=None):
        seen.append({"groove": groove, "bars": bars, "temperature": temperature})
        return real(groove, bars, temperature, seed)

    monkeypatch.setattr(lab, "continue_groove", spy)
    return seen


def with_hits(bars: int, cells: list[tuple[int, int]], bpm: float = 100.0) -> DrumPattern:
    """A groove of `bars` bars with a hit at each (step, drum)."""
    hits = np.zeros((bars * 16, 9), np.float32)
    for step, drum in cells:
        hits[step, drum] = 1
    return DrumPattern(hits, hits * 0.8, np.zeros_like(hits), bpm)


def test_continue_keeps_the_groove_plays_on_and_places_its_first_window(state, lab, calls):
    assert state.continue_lengths == [4, 8, 16]
    before, title = state.pattern, state.title()
    heard = []
    state.on_change(heard.append)
    state.set_temperature(0.7)
    state.continue_groove(8)
    assert calls[0]["bars"] == 8 and calls[0]["temperature"] == 0.7
    assert calls[0]["groove"] == before, "a corpus groove with hits in both bars is the seed"
    groove = state.pattern
    assert groove.bars == 8 and groove.bar_slice(0, 2) == before and groove.bpm == before.bpm
    assert state.place.real and state.place.label == f"continued to 8 bars: {title}"
    assert np.allclose(state.z, lab.encode(groove)[0])
    assert np.allclose(state.xy, lab.place(state.z)[0])
    assert "8 bars: the map, grid and sliders use the first 2" in state.detail()
    assert state.sounding == groove and heard[-1] is True, "the continuation plays"
    state.back()
    assert state.pattern == before
    state.forward()
    assert state.pattern == groove, "the history keeps the whole continuation"


def test_continue_starts_after_the_last_bar_with_hits(state, calls) -> None:
    drawn = with_hits(2, [(0, 0), (4, 1), (8, 0), (12, 1)])  # bar 1 drawn, bar 2 empty
    state.edit(drawn)
    state.continue_groove(4)
    assert calls[0]["groove"] == drawn.bar_slice(0, 1)
    assert state.pattern.bars == 4 and state.pattern.bar_slice(0, 1) == drawn.bar_slice(0, 1)
    state.edit(DrumPattern.empty(2, 90.0))
    state.continue_groove(4)
    assert calls[1]["groove"] == DrumPattern.empty(1, 90.0), "an empty groove seeds one bar"


def test_continue_plays_on_from_the_cell_being_auditioned(state, calls) -> None:
    state.audition(5)
    cell = state.grid_patterns[5]
    state.continue_groove(4)
    assert calls[0]["groove"] == cell
    assert state.place.label == f"continued to 4 bars: more {state.axes[0]}"


def test_continue_refuses_in_words_what_it_cannot_do(state, calls) -> None:
    state.edit(with_hits(8, [(0, 0), (7 * 16, 1)]))
    place = state.place
    with pytest.raises(LatentLabError, match="groove of 1 to 4 bars; this one has 8"):
        state.continue_groove(16)
    assert state.place is place
    state.edit(with_hits(4, [(0, 0), (3 * 16, 1)]))
    with pytest.raises(LatentLabError, match="already has 4 bars: continue it to more"):
        state.continue_groove(4)
    assert calls == [], "nothing was asked of the model"


def test_an_edit_of_a_long_groove_keeps_it_whole_and_places_its_first_window(state, lab):
    state.continue_groove(8)
    hits = state.pattern.hits.copy()
    hits[5 * 16 + 3, 4] = 1 - hits[5 * 16 + 3, 4]  # a cell in bar 6
    edited = state.pattern.replace(hits=hits, velocities=hits * 0.7)
    heard = []
    state.on_change(heard.append)
    state.edit(edited)
    assert state.pattern == edited and state.place.label == "your edit (8 bars)"
    assert np.allclose(state.z, lab.encode(edited.bar_slice(0, 2))[0])
    assert heard == [False], "an edit does not start the sound"


def test_sliders_shape_a_long_groove_by_its_first_window_and_reset_brings_it_back(state, lab):
    state.continue_groove(8)
    groove = state.pattern
    state.set_amount("density", 1.0)
    assert state.pattern.bars == 2
    assert state.pattern == lab.decode(state.z[None], bpm=groove.bpm)[0]
    state.reset_amounts()
    assert state.pattern == groove


def test_humanize_replaces_the_groove_with_the_facades_and_keeps_every_hit(state, lab):
    flat = with_hits(2, [(s, 2) for s in range(0, 32, 2)] + [(0, 0), (8, 1), (24, 1)])
    state.edit(flat)
    state.humanize()
    groove = state.pattern
    assert groove == lab.humanize(flat) and np.array_equal(groove.hits, flat.hits)
    assert state.place.label == "humanized: your edit" and state.place.real
    assert np.allclose(state.z, lab.encode(groove)[0])
    assert np.allclose(state.xy, lab.place(state.z)[0])
    state.back()
    assert state.pattern == flat


def test_drumify_turns_taps_into_a_kit_groove_on_the_taps(state, lab) -> None:
    taps = with_hits(2, [(s, 1) for s in (0, 3, 6, 8, 11, 14, 16, 19, 22, 24, 27, 30)])
    state.edit(taps)
    state.drumify()
    groove = state.pattern
    assert groove == lab.drumify(taps) and state.place.label == "drumified: your edit"
    assert set(np.flatnonzero(groove.hits.any(axis=1))) == set(np.flatnonzero(taps.hits[:, 1]))


def test_humanize_and_drumify_work_on_a_whole_continuation(state, lab) -> None:
    state.continue_groove(8)
    groove = state.pattern
    state.humanize()
    assert state.pattern == lab.humanize(groove) and state.pattern.bars == 8
    state.drumify()
    assert state.pattern.bars == 8 and state.place.label.startswith("drumified: humanized: ")


def test_a_model_without_a_transform_says_so_in_words(lab_without_humanize) -> None:
    state = ExplorerState(lab_without_humanize, seed=0)
    place = state.place
    with pytest.raises(LatentLabError) as error:
        state.humanize()
    assert str(error.value) == (
        "Humanize is not available with this model (no-humanize): no humanize model was "
        "trained for it."
    )
    assert state.place is place
    state.drumify()
    assert state.place.label.startswith("drumified: ")
