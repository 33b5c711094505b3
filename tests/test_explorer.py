"""Explorer, LatentMap and NeighbourGrid without a browser, on the tiny test checkpoint; and
the `latentlab dashboard` launcher's checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import groove_notes, write_drum_midi

from latentlab.cli import main as cli_main
from latentlab.dashboard import check_checkpoint
from latentlab.errors import LatentLabError
from latentlab.lab import LatentLab
from latentlab.pattern import DrumPattern
from latentlab.widgets.explorer import KEY_CELLS, Explorer
from latentlab.widgets.latent_map import LatentMap
from latentlab.widgets.neighbour_grid import CENTRE, NeighbourGrid, cell_data


@pytest.fixture(scope="module")
def lab(tiny_checkpoint):
    return LatentLab.load(tiny_checkpoint, device="cpu")


@pytest.fixture
def explorer(lab):
    return Explorer(lab, seed=0)


def midi_bytes(tmp_path: Path, channel: int = 9) -> bytes:
    return write_drum_midi(tmp_path / "groove.mid", groove_notes(4), channel=channel).read_bytes()


def upload_state(name: str, data: bytes) -> dict:
    """What the page's FileUpload sends when a file is chosen."""
    entry = {"name": name, "type": "audio/midi", "size": len(data), "last_modified": 0}
    return {"value": [{**entry, "content": memoryview(data)}]}


def shown_bytes(m: LatentMap) -> np.ndarray:
    return np.frombuffer(m.pointer._shown, "<u4")


# ---- LatentMap ----------------------------------------------------------------------------
def test_map_filters_show_only_matching_windows_and_tell_the_page(lab) -> None:
    m = LatentMap(lab.atlas)
    assert len(m.shown) == len(lab.atlas)
    assert m.filter(style="funk") == int((lab.atlas.meta["style"] == "funk").sum()) > 0
    assert set(lab.atlas.meta["style"][m.shown]) == {"funk"}
    assert m.style_filter.value == "funk"
    assert np.array_equal(shown_bytes(m), m.shown)
    assert np.allclose(m._points.x, lab.atlas.coords[m.shown, 0])
    assert "funk" in m.legend.value and f"{len(m.shown):,} shown" in m.legend.value
    m.style_filter.value = "rock"  # the dropdown filters too
    assert set(lab.atlas.meta["style"][m.shown]) == {"rock"}
    m.filter()
    assert len(m.shown) == len(lab.atlas)
    with pytest.raises(LatentLabError, match="style 'salsa' is unknown"):
        m.filter(style="salsa")
    assert m.drummer_filter.layout.display == "none", "the tiny corpus has no drummers"


def test_map_points_are_coloured_by_style(lab) -> None:
    m = LatentMap(lab.atlas)
    codes = np.asarray(m._points.color)
    styles = lab.atlas.meta["style"]
    for style in set(styles):
        assert len(set(codes[styles == style])) == 1
    assert len(set(codes)) == len(set(styles))
    assert len(set(m.colours.values())) == len(m.colours)


def test_map_selection_marker_and_pins(lab) -> None:
    m = LatentMap(lab.atlas)
    seen = []
    m.observe(lambda change: seen.append(change.new), "selected")
    m._on_pointer_msg(m.pointer, {"type": "pick", "index": 7}, [])  # a click in the page
    m.select(7)  # the same point again still counts as a selection
    assert [s for s in seen if s is not None] == [7, 7]
    with pytest.raises(LatentLabError, match="no corpus window"):
        m.select(len(lab.atlas))
    assert m.marked is None
    m.mark(np.array([1.5, -2.0]))
    assert m.marked == (1.5, -2.0)
    m.pin(np.array([0.5, 0.25]), "mine.mid")
    assert m.pins == [(0.5, 0.25, "mine.mid")]


# ---- NeighbourGrid ------------------------------------------------------------------------
def test_grid_sends_nine_cells_and_reports_clicks_and_keys(lab) -> None:
    grid = NeighbourGrid()
    patterns = lab.decode(lab.sample_latents(9, seed=1))
    grid.show(patterns, "density", "shuffle")
    assert grid.cells == [cell_data(p) for p in patterns]
    assert grid.version == 1 and grid.active == CENTRE and grid.x_label == "density"
    step, cls, velocity = grid.cells[0][0]
    assert patterns[0].hits[step, cls] == 1
    assert velocity == pytest.approx(patterns[0].velocities[step, cls], abs=1e-3)
    cells, keys = [], []
    grid.on_cell(lambda index, move: cells.append((index, move)))
    grid.on_key(keys.append)
    grid._on_msg(grid, {"type": "cell", "index": 2, "move": True}, [])
    grid._on_msg(grid, {"type": "cell", "index": 12}, [])  # not a cell: ignored
    grid._on_msg(grid, {"type": "key", "key": "up"}, [])
    grid._on_msg(grid, {"type": "key", "key": "x"}, [])  # not an explorer key: ignored
    assert cells == [(2, True)] and keys == ["up"]
    with pytest.raises(LatentLabError, match="9 grooves"):
        grid.show(patterns[:4], "a", "b")


# ---- Explorer -----------------------------------------------------------------------------
def test_explorer_starts_on_a_corpus_groove_without_playing(explorer, lab) -> None:
    place = explorer.place
    assert place.index is not None
    assert explorer.machine.pattern == lab.corpus_pattern(place.index)
    assert explorer.machine.playing is False
    assert explorer.map.marked == pytest.approx(tuple(lab.atlas.coords[place.index]))
    assert len(explorer.grid.cells) == 9
    assert explorer.grid_patterns[CENTRE] == explorer.machine.pattern
    assert f"#{place.index}" in explorer.now.value
    assert explorer.back_button.disabled and explorer.forward_button.disabled


def test_selecting_a_map_point_plays_that_groove_and_moves_the_marker(explorer, lab) -> None:
    index = int(np.flatnonzero(lab.atlas.meta["style"] == "rock")[3])
    version = explorer.grid.version
    explorer.map.select(index)
    assert explorer.place.index == index
    assert explorer.machine.pattern == lab.corpus_pattern(index)
    assert explorer.machine.bpm == lab.corpus_pattern(index).bpm
    assert explorer.machine.playing is True
    assert np.array_equal(explorer.z, lab.atlas.latents[index])
    assert explorer.map.marked == pytest.approx(tuple(lab.atlas.coords[index]))
    assert explorer.grid.version == version + 1
    assert "rock" in explorer.now.value


def test_actions_walk_a_history_that_back_and_forward_retrace(explorer, lab) -> None:
    first = explorer.place
    explorer.sample()
    sampled = explorer.place
    assert sampled.pattern is None and sampled.index is None
    bpm = explorer.machine.bpm
    assert explorer.machine.pattern == lab.decode(sampled.z[None], bpm=bpm)[0]
    explorer.sample_style("funk")
    explorer.similar()
    explorer.random_jump()
    assert explorer.place.index in explorer.map.shown
    assert len(explorer.history) == 5 and explorer.position == 4
    explorer.back()
    explorer.back()
    explorer.back()
    assert explorer.place is sampled
    bpm = explorer.machine.bpm  # a decoded groove plays at the tempo of the moment
    assert explorer.machine.pattern == lab.decode(sampled.z[None], bpm=bpm)[0]
    assert explorer.steps_label.value == "2 / 5"
    explorer.back()
    explorer.back()  # nothing further back
    assert explorer.place is first and explorer.back_button.disabled
    explorer.forward()
    assert explorer.place is sampled
    explorer.similar()  # a new place drops the forward history
    assert len(explorer.history) == 3 and explorer.forward_button.disabled
    with pytest.raises(LatentLabError, match="style 'salsa' is unknown"):
        explorer.sample_style("salsa")


def test_random_jump_keeps_to_the_map_filters(explorer, lab) -> None:
    explorer.map.filter(style="funk")
    for _ in range(5):
        explorer.key("r")
        assert lab.atlas.meta["style"][explorer.place.index] == "funk"
    explorer.map._shown = np.zeros(0, np.uint32)
    with pytest.raises(LatentLabError, match="show no grooves"):
        explorer.random_jump()


def test_arrow_keys_step_to_the_neighbours_along_the_two_directions(explorer) -> None:
    (d1, d2), x_label, y_label = explorer.directions()
    assert (x_label, y_label) == ("density", "shuffle")
    for key, (along, sign) in {"right": (d1, 1), "left": (d1, -1), "up": (d2, 1)}.items():
        before = explorer.z
        target = explorer.grid_z[KEY_CELLS[key]]
        explorer.key(key)
        assert np.array_equal(explorer.z, target)
        assert sign * float((explorer.z - before) @ along) > 0, key
        assert explorer.machine.pattern == explorer.grid_patterns[CENTRE]
    assert explorer.place.label == "more shuffle"
    with pytest.raises(LatentLabError, match="does nothing"):
        explorer.key("x")


def test_c_cycles_direction_pairs_and_kinds_have_names(explorer, lab) -> None:
    explorer.key("c")
    assert (explorer.grid.x_label, explorer.grid.y_label) == ("syncopation", "laid back")
    explorer.set_directions("dimensions")
    (d1, d2), x_label, _ = explorer.directions()
    assert x_label.startswith("z[") and np.count_nonzero(d1) == 1
    explorer.key("c")
    assert explorer.pair == 1 and explorer.grid.x_label.startswith("z[")
    explorer.set_directions("principal")
    (d1, d2), x_label, y_label = explorer.directions()
    assert (x_label, y_label) == ("principal 1", "principal 2")
    assert abs(float(d1 @ d2)) < 1e-4
    explorer.direction_choice.value = "attributes"  # the dropdown does the same
    assert explorer.grid.x_label == "density"
    with pytest.raises(LatentLabError, match="not attributes"):
        explorer.set_directions("sideways")


def test_cells_are_auditioned_on_click_and_visited_on_double_click(explorer) -> None:
    place = explorer.place
    explorer.grid._on_msg(explorer.grid, {"type": "cell", "index": 0, "move": False}, [])
    assert explorer.place is place, "a click only plays the cell"
    assert explorer.machine.pattern == explorer.grid_patterns[0]
    assert explorer.grid.active == 0 and explorer.machine.playing
    target = explorer.grid_z[8]
    explorer.grid._on_msg(explorer.grid, {"type": "cell", "index": 8, "move": True}, [])
    assert np.array_equal(explorer.z, target)
    assert explorer.place.label == "more density, less shuffle"


def test_sliders_shift_the_current_point_and_decode_it_live(explorer, lab) -> None:
    place = explorer.place
    explorer.sliders["density"].value = 1.0
    explorer.sliders["shuffle"].value = -0.5
    amounts = {"density": 1.0, "shuffle": -0.5}
    shifted = lab.shift(place.z, amounts)
    assert np.allclose(explorer.z, shifted)
    assert explorer.machine.pattern == lab.decode(shifted[None], bpm=explorer.machine.bpm)[0]
    assert explorer.map.marked == pytest.approx(tuple(lab.place(shifted)[0]))
    assert "density +1.00" in explorer.now.value
    assert len(explorer.history) == 1, "shaping does not add a place"
    explorer.sample()
    assert explorer.sliders["density"].value == 0.0, "a new place starts unshifted"
    explorer.back()
    assert explorer.sliders["density"].value == 1.0, "back restores the shifts"
    explorer.reset_amounts()
    assert explorer.place.amounts == () and explorer.machine.pattern == place.pattern
    with pytest.raises(LatentLabError, match="attribute 'wobble' is unknown"):
        explorer.set_amount("wobble", 1.0)


def test_temperature_samples_the_decoding_repeatably(explorer, lab) -> None:
    explorer.sample()
    place = explorer.place
    explorer.temperature_slider.value = 0.9
    expected = lab.decode(place.z[None], 0.9, place.seed, bpm=explorer.machine.bpm)[0]
    assert explorer.machine.pattern == expected
    explorer.set_temperature(0.0)
    assert explorer.machine.pattern == lab.decode(place.z[None], bpm=explorer.machine.bpm)[0]
    with pytest.raises(LatentLabError, match="outside 0..2"):
        explorer.set_temperature(3.0)


def test_an_uploaded_groove_is_encoded_pinned_and_played(explorer, lab, tmp_path) -> None:
    data = midi_bytes(tmp_path)
    explorer.upload_button.set_state(upload_state("mine.mid", data))
    expected = DrumPattern.from_midi(data, bars=lab.bars)
    assert explorer.machine.pattern == expected
    assert np.allclose(explorer.z, lab.encode(expected)[0], atol=1e-5)
    (x, y, name) = explorer.map.pins[0]
    assert name == "mine.mid"
    assert explorer.map.marked == pytest.approx((x, y))
    assert "placed on the map" in explorer.message.value
    assert explorer.upload_button.value == ()
    explorer.upload("ch1.mid", midi_bytes(tmp_path, channel=0))  # drums on MIDI channel 1
    assert explorer.machine.pattern.hits.sum() == expected.hits.sum()


@pytest.mark.parametrize(
    ("data", "problem"),
    [(b"", "file is empty"), (b"RIFF....WAVEfmt ", "not a MIDI file"), (b"MThd\x00", "corrupt")],
)
def test_a_bad_upload_shows_a_message_naming_the_file_and_problem(explorer, data, problem) -> None:
    place = explorer.place
    explorer.upload_button.set_state(upload_state("song.wav", data))
    assert "song.wav" in explorer.message.value and problem in explorer.message.value
    assert "ll-ex-error" in explorer.message._dom_classes
    assert "Traceback" not in explorer.message.value and explorer.errors == []
    assert explorer.place is place and explorer.map.pins == []


def test_an_edit_in_the_drum_machine_is_encoded_and_placed(explorer, lab) -> None:
    edited = explorer.machine.pattern.to_dict()
    edited["hits"][5][3], edited["velocities"][5][3] = 1, 0.8
    explorer.machine.set_state({"pattern": edited})  # what a cell click in the page sends
    pattern = DrumPattern.from_dict(edited)
    assert explorer.place.label == "your edit" and explorer.place.pattern == pattern
    assert np.allclose(explorer.z, lab.encode(pattern)[0], atol=1e-5)
    assert explorer.map.marked == pytest.approx(tuple(lab.place(explorer.z)[0]))
    assert explorer.grid_patterns[CENTRE] == pattern
    assert len(explorer.history) == 2
    assert explorer.machine.playing is False, "an edit does not start the sound"


def test_unexpected_errors_in_callbacks_are_shown_and_kept(explorer, monkeypatch) -> None:
    def broken(*_args, **_kwargs):
        raise RuntimeError("decoder on fire")

    monkeypatch.setattr(explorer.lab, "sample_latents", broken)
    explorer.actions.children[0].click()  # Sample
    assert "Something went wrong: RuntimeError: decoder on fire" in explorer.message.value
    assert len(explorer.errors) == 1 and "Traceback" in explorer.errors[0]
    explorer.actions.children[2].click()  # Random jump works and clears the message
    assert explorer.message.value == "" and explorer.message.layout.display == "none"


def test_the_dashboard_widget_holds_every_part(explorer) -> None:
    root = explorer.show()
    found, todo = set(), [root]
    while todo:
        widget = todo.pop()
        found.add(id(widget))
        todo.extend(getattr(widget, "children", ()))
    parts = [explorer.machine, explorer.map, explorer.grid, explorer.upload_button]
    parts += [*explorer.sliders.values(), explorer.temperature_slider, explorer.message]
    assert all(id(p) in found for p in parts)


def test_an_explorer_needs_an_atlas(lab) -> None:
    with pytest.raises(LatentLabError, match="atlas"):
        Explorer(LatentLab(lab.model, lab.config, None, "somewhere"))


# ---- the launcher --------------------------------------------------------------------------
def test_dashboard_refuses_an_incomplete_checkpoint(tmp_path, tiny_checkpoint, capsys) -> None:
    assert check_checkpoint(tiny_checkpoint) == tiny_checkpoint.resolve()
    with pytest.raises(LatentLabError, match="no such folder"):
        check_checkpoint(tmp_path / "nope")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(LatentLabError, match="missing model.safetensors, atlas.npz"):
        check_checkpoint(tmp_path)
    assert cli_main(["dashboard", "--checkpoint", str(tmp_path), "--no-browser"]) == 2
    assert "missing model.safetensors" in capsys.readouterr().err


def test_dashboard_refuses_a_folder_without_the_explorer(tmp_path, capsys) -> None:
    assert cli_main(["dashboard", "--notebooks", str(tmp_path), "--no-browser"]) == 2
    assert "no explorer.ipynb" in capsys.readouterr().err
    assert cli_main(["dashboard", "--pool-size", "99", "--no-browser"]) == 2
    assert "--pool-size 99" in capsys.readouterr().err


def test_the_explorer_works_on_a_hierarchical_4_bar_checkpoint(tiny_checkpoint_4bar, tmp_path):
    lab4 = LatentLab.load(tiny_checkpoint_4bar, device="cpu")
    assert lab4.bars == 4
    explorer = Explorer(lab4, seed=0)
    assert explorer.machine.pattern.hits.shape == (64, 9)
    assert explorer.grid.steps == 64
    assert all(p.hits.shape == (64, 9) for p in explorer.grid_patterns)
    explorer.map.select(3)
    assert explorer.machine.pattern == lab4.corpus_pattern(3)
    explorer.sliders["density"].value = 1.0
    assert explorer.machine.pattern == lab4.decode(explorer.z[None], bpm=explorer.machine.bpm)[0]
    explorer.sample()
    assert explorer.machine.pattern.bars == 4
    explorer.upload("mine.mid", midi_bytes(tmp_path))
    assert explorer.machine.pattern.hits.shape == (64, 9)
    assert explorer.errors == []
