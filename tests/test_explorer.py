"""Explorer, LatentMap and NeighbourGrid without a browser, on the tiny test checkpoint; and
the `latentlab dashboard` launcher's checks."""

from __future__ import annotations

import html
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import groove_notes, write_drum_midi

from latentlab.attributes import ATTRIBUTES
from latentlab.cli import main as cli_main
from latentlab.dashboard import check_checkpoint
from latentlab.errors import LatentLabError
from latentlab.lab import LatentLab
from latentlab.pattern import DrumPattern
from latentlab.widgets.common import file_stem
from latentlab.widgets.explorer import Explorer
from latentlab.widgets.latent_map import LatentMap
from latentlab.widgets.neighbour_grid import CENTRE, NeighbourGrid
from latentlab.widgets.pattern_strip import pattern_svg
from latentlab.widgets.theme import STYLE_COLOURS


@pytest.fixture(scope="module")
def lab(tiny_checkpoint):
    return LatentLab.load(tiny_checkpoint, device="cpu")


@pytest.fixture
def explorer(lab):
    return Explorer(lab, seed=0)


def upload_state(name: str, data: bytes) -> dict:
    """What the page's FileUpload sends when a file is chosen."""
    entry = {"name": name, "type": "audio/midi", "size": len(data), "last_modified": 0}
    return {"value": [{**entry, "content": memoryview(data)}]}


def shown_bytes(m: LatentMap) -> np.ndarray:
    return np.frombuffer(m.canvas._shown, "<u4")


# ---- LatentMap ----------------------------------------------------------------------------
def test_map_filters_show_only_matching_windows_and_tell_the_page(lab) -> None:
    m = LatentMap(lab.atlas)
    assert len(m.shown) == len(lab.atlas)
    assert m.filter(style="funk") == int((lab.atlas.meta["style"] == "funk").sum()) > 0
    assert set(lab.atlas.meta["style"][m.shown]) == {"funk"}
    assert m.style_filter.value == "funk"
    assert np.array_equal(shown_bytes(m), m.shown)
    coords = np.frombuffer(m.canvas._coords, "<f4").reshape(-1, 2)
    assert np.array_equal(coords, lab.atlas.coords.astype(np.float32)), "every point, sent once"
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
    table = np.frombuffer(m.canvas._table, "<u2").reshape(len(lab.atlas), -1)
    colours = np.asarray(m.canvas._colours)[table[:, 0]]  # what the page paints each point
    styles = lab.atlas.meta["style"]
    for style in set(styles):
        assert set(colours[styles == style]) == {m.colours[style]}
    assert len(set(m.colours.values())) == len(m.colours)
    sizes = [int((styles == s).sum()) for s in m.styles]
    assert sizes == sorted(sizes, reverse=True), "styles by size"
    assert [m.colours[s] for s in m.styles] == list(STYLE_COLOURS[: len(m.styles)])


def test_map_selection_marker_and_pins(lab) -> None:
    m = LatentMap(lab.atlas)
    seen = []
    m.observe(lambda change: seen.append(change.new), "selected")
    m._on_msg(m.canvas, {"type": "pick", "index": 7}, [])  # a click in the page
    m.select(7)  # the same point again still counts as a selection
    assert [s for s in seen if s is not None] == [7, 7]
    with pytest.raises(LatentLabError, match="no corpus window"):
        m.select(len(lab.atlas))
    assert m.marked is None
    m.mark(np.array([1.5, -2.0]))
    assert m.marked == (1.5, -2.0) and m.canvas._marked == [1.5, -2.0]
    m.mark(None)
    assert m.marked is None and m.canvas._marked == []
    m.pin(np.array([0.5, 0.25]), "mine.mid")
    m.pin(np.array([-1.0, 2.0]), "edit")
    assert m.pins == [(0.5, 0.25, "mine.mid"), (-1.0, 2.0, "edit")]
    assert m.canvas._pins == [[0.5, 0.25, "mine.mid"], [-1.0, 2.0, "edit"]]


def test_the_explorer_page_imports_no_plotting_library(tiny_checkpoint) -> None:
    """Every explorer page has a kernel of its own: bqplot and pandas would cost each ~38 MB."""
    code = f"""\
import json, sys
from latentlab.lab import LatentLab
from latentlab.widgets.explorer import Explorer
Explorer(LatentLab.load({str(tiny_checkpoint)!r}, device="cpu"), seed=0).show()
print(json.dumps([m for m in ("bqplot", "bqplot_gl", "pandas") if m in sys.modules]))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


# ---- NeighbourGrid ------------------------------------------------------------------------
def test_grid_sends_nine_pictures_and_reports_clicks_and_keys(lab) -> None:
    grid = NeighbourGrid()
    patterns = lab.decode(lab.sample_latents(9, seed=1))
    grid.show(patterns, "density", "shuffle")
    assert grid.svgs == [pattern_svg(p) for p in patterns], "the one groove thumbnail"
    assert grid.version == 1 and grid.active == CENTRE and grid.x_label == "density"
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


# ---- Explorer: the view shows the state, and widget events call its actions ---------------
def test_the_view_shows_the_state(explorer, lab) -> None:
    state = explorer.state
    assert explorer.machine.pattern == state.pattern and explorer.machine.playing is False
    assert explorer.machine.bpm == state.pattern.bpm
    assert explorer.map.marked == pytest.approx(tuple(state.xy))
    assert explorer.grid.svgs == [pattern_svg(p) for p in state.grid_patterns]
    assert (explorer.grid.x_label, explorer.grid.y_label) == state.axes
    assert html.escape(state.title()) in explorer.now.value
    assert html.escape(state.detail()) in explorer.now.value
    assert explorer.back_button.disabled and explorer.forward_button.disabled
    assert explorer.machine.file_name == file_stem(state.title())
    labels = [s.description for s in explorer.sliders.values()]
    assert labels == [ATTRIBUTES[n].label for n in lab.attribute_names], "the registry's"
    assert "Temperature 0" in explorer.temperature_note.value


def test_a_map_click_plays_that_groove(explorer, lab) -> None:
    index = int(np.flatnonzero(lab.atlas.meta["style"] == "rock")[3])
    version = explorer.grid.version
    explorer.map.select(index)
    assert explorer.state.place.index == index
    assert explorer.machine.pattern == lab.corpus_pattern(index) and explorer.machine.playing
    assert explorer.machine.bpm == lab.corpus_pattern(index).bpm
    assert explorer.map.marked == pytest.approx(tuple(lab.atlas.coords[index]))
    assert explorer.grid.version == version + 1
    assert "rock" in explorer.now.value and not explorer.back_button.disabled


def test_buttons_keys_and_filters_reach_the_state(explorer, lab) -> None:
    state = explorer.state
    explorer.actions.children[0].click()  # Sample
    assert state.place.pattern is None and len(state.history) == 2
    explorer.style_choice.value = "funk"
    explorer.actions.children[4].click()  # Sample in style
    assert "funk" in state.title()
    explorer.back_button.click()
    assert state.position == 1 and not explorer.forward_button.disabled
    explorer.map.filter(style="rock")  # the map's filters keep the random jump
    assert state.filters["style"] == "rock"
    explorer.grid._on_msg(explorer.grid, {"type": "key", "key": "r"}, [])
    assert lab.atlas.meta["style"][state.place.index] == "rock"
    explorer.grid._on_msg(explorer.grid, {"type": "key", "key": "c"}, [])
    assert (explorer.grid.x_label, explorer.grid.y_label) == ("syncopation", "laid back")
    explorer.direction_choice.value = "principal"
    assert state.direction_kind == "principal" and explorer.grid.x_label == "principal 1"
    explorer.step_slider.value = 0.5
    assert state.step == 0.5


def test_a_click_auditions_a_cell_and_a_double_click_goes_there(explorer) -> None:
    state = explorer.state
    place = state.place
    explorer.grid._on_msg(explorer.grid, {"type": "cell", "index": 0, "move": False}, [])
    assert state.place is place and explorer.machine.pattern == state.grid_patterns[0]
    assert explorer.grid.active == 0 and explorer.machine.playing
    target = state.grid_z[8]
    explorer.grid._on_msg(explorer.grid, {"type": "cell", "index": 8, "move": True}, [])
    assert np.array_equal(state.z, target) and explorer.grid.active == CENTRE


def test_sliders_shift_and_the_view_follows_the_history(explorer, lab) -> None:
    state = explorer.state
    explorer.sliders["density"].value = 1.0
    assert dict(state.place.amounts) == {"density": 1.0}
    assert explorer.machine.pattern == state.pattern and "density +1.00" in explorer.now.value
    state.sample()
    assert explorer.sliders["density"].value == 0.0, "a new place starts unshifted"
    state.back()
    assert explorer.sliders["density"].value == 1.0, "back restores the shifts"
    explorer.temperature_slider.value = 0.9
    assert state.temperature == 0.9 and "0.90" in explorer.temperature_note.value


def test_the_players_tempo_and_edits_reach_the_state(explorer, lab) -> None:
    state = explorer.state
    explorer.machine.bpm = 93  # the tempo box in the page
    assert state.place.bpm == 93 and explorer.machine.pattern.bpm == 93
    edited = explorer.machine.pattern.to_dict()
    edited["hits"][5][3], edited["velocities"][5][3] = 1, 0.8
    explorer.machine.set_state({"pattern": edited})  # what a cell click in the page sends
    assert state.place.label == "your edit" and state.place.pattern == DrumPattern.from_dict(edited)
    assert explorer.machine.playing is False, "an edit does not start the sound"
    assert len(state.history) == 2


def test_downloads_are_named_after_the_groove_and_include_json(explorer, lab) -> None:
    explorer.map.select(2)
    sent = []
    explorer.machine.send = lambda content, buffers=None: sent.append((content, buffers))
    explorer.machine._on_msg(explorer.machine, {"type": "download", "format": "json"}, [])
    ((reply, (data,)),) = sent
    assert reply["name"] == file_stem(lab.caption(2)) + ".json"
    notes = json.loads(data)["notes"]
    assert len(notes) == lab.corpus_pattern(2).n_hits and "startTime" in notes[0]


def test_an_upload_is_placed_and_said(explorer, lab, tmp_path) -> None:
    data = write_drum_midi(tmp_path / "groove.mid", groove_notes(4)).read_bytes()
    explorer.upload_button.set_state(upload_state("mine.mid", data))
    assert explorer.machine.pattern == lab.read_groove(data, "mine.mid").pattern
    (x, y, name) = explorer.map.pins[0]
    assert name == "mine.mid" and explorer.map.marked == pytest.approx((x, y))
    assert "placed on the map" in explorer.status.value
    assert explorer.upload_button.value == ()


@pytest.mark.parametrize(
    ("data", "problem"),
    [(b"", "file is empty"), (b"RIFF....WAVEfmt ", "not a MIDI file"), (b"MThd\x00", "corrupt")],
)
def test_a_bad_upload_shows_a_message_naming_the_file_and_problem(explorer, data, problem) -> None:
    place = explorer.state.place
    explorer.upload_button.set_state(upload_state("song.wav", data))
    assert "song.wav" in explorer.status.value and problem in explorer.status.value
    assert "ll-status-error" in explorer.status._dom_classes
    assert "Traceback" not in explorer.status.value and explorer.status.errors == []
    assert explorer.state.place is place and explorer.map.pins == []


def test_unexpected_errors_in_callbacks_are_shown_and_kept(explorer, monkeypatch) -> None:
    def broken(*_args, **_kwargs):
        raise RuntimeError("decoder on fire")

    monkeypatch.setattr(explorer.lab, "draw", broken)
    explorer.actions.children[0].click()  # Sample
    assert "Something went wrong (RuntimeError: decoder on fire)" in explorer.status.value
    assert len(explorer.status.errors) == 1 and "Traceback" in explorer.status.errors[0]
    explorer.actions.children[2].click()  # Random jump works and clears the message
    assert explorer.status.value == "" and explorer.status.layout.display == "none"


def test_the_dashboard_widget_holds_every_part(explorer) -> None:
    root = explorer.show()
    found, todo = set(), [root]
    while todo:
        widget = todo.pop()
        found.add(id(widget))
        todo.extend(getattr(widget, "children", ()))
    parts = [explorer.machine, explorer.map, explorer.grid, explorer.upload_button]
    parts += [*explorer.sliders.values(), explorer.temperature_slider, explorer.status]
    parts += [explorer.temperature_note]
    assert all(id(p) in found for p in parts)


def test_the_explorer_works_on_a_hierarchical_4_bar_checkpoint(tiny_checkpoint_4bar):
    lab4 = LatentLab.load(tiny_checkpoint_4bar, device="cpu")
    explorer = Explorer(lab4, seed=0)
    assert explorer.machine.pattern.hits.shape == (64, 9)
    assert 'viewBox="0 0 64 9"' in explorer.grid.svgs[0]
    explorer.map.select(3)
    assert explorer.machine.pattern == lab4.corpus_pattern(3)
    assert explorer.status.errors == []


# ---- Continue, Humanize and Drumify: the strip under the drum machine ----------------------
def test_the_strip_continues_to_the_length_chosen_and_the_machine_loops_it(explorer, lab):
    assert [value for _, value in explorer.continue_choice.options] == [4, 8, 16]
    assert explorer.continue_choice.value == 8
    before = explorer.machine.pattern
    explorer.continue_choice.value = 16
    explorer.continue_button.click()
    groove = explorer.machine.pattern
    assert groove.bars == 16 and groove.bar_slice(0, 2) == before and explorer.machine.playing
    assert "continued to 16 bars" in explorer.now.value
    assert "use the first 2" in explorer.now.value
    exported = DrumPattern.from_midi(explorer.machine.file_bytes("midi"), bars=16)
    assert np.array_equal(exported.hits, groove.hits), "the download holds all 16 bars"
    assert explorer.status.value == "" and not explorer.continue_button.disabled
    assert "an edit keeps it whole" in explorer.tools.children[1].value


def test_the_strip_says_what_went_wrong_and_works_again(explorer) -> None:
    hits = np.zeros((8 * 16, 9), np.float32)
    hits[[0, 7 * 16], [0, 1]] = 1  # hits in bars 1 and 8
    long = DrumPattern(hits, hits * 0.8, np.zeros_like(hits), 100.0)
    explorer.machine.set_state({"pattern": long.to_dict()})  # an edit in the page
    explorer.continue_button.click()
    assert "groove of 1 to 4 bars; this one has 8" in explorer.status.value
    assert "ll-status-error" in explorer.status._dom_classes
    assert not explorer.continue_button.disabled, "the tools work again after an error"
    explorer.back_button.click()
    explorer.continue_button.click()
    assert explorer.status.value == "" and explorer.machine.pattern.bars == 8


def test_a_4_bar_model_offers_longer_continuations_only(tiny_checkpoint_4bar) -> None:
    explorer = Explorer(LatentLab.load(tiny_checkpoint_4bar, device="cpu"), seed=0)
    assert [value for _, value in explorer.continue_choice.options] == [8, 16]
    explorer.continue_button.click()
    assert explorer.machine.pattern.bars == 8 and explorer.status.errors == []


def test_the_strips_humanize_and_drumify_buttons_replace_the_groove(explorer, lab) -> None:
    before = explorer.machine.pattern
    explorer.humanize_button.click()
    assert explorer.machine.pattern == lab.humanize(before) and explorer.machine.playing
    assert "humanized: " in explorer.now.value and len(explorer.state.history) == 2
    humanized = explorer.machine.pattern
    explorer.drumify_button.click()
    assert explorer.machine.pattern == lab.drumify(humanized)
    assert explorer.status.value == "" and explorer.status.errors == []


def test_the_strip_says_when_the_model_has_no_humanize(explorer, monkeypatch) -> None:
    monkeypatch.setattr("latentlab.explorer.has_transform", lambda _folder, kind: False)
    explorer.humanize_button.click()
    assert "Humanize is not available with this model" in explorer.status.value
    assert "ll-status-error" in explorer.status._dom_classes
    assert explorer.status.errors == [] and len(explorer.state.history) == 1
    assert not explorer.humanize_button.disabled


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
