"""The interpolation dashboard's widgets, driven from Python as the page drives them."""

import numpy as np
import pytest

from latentlab.analysis import METHODS, hamming
from latentlab.errors import LatentLabError
from latentlab.lab import LatentLab
from latentlab.pattern import DrumPattern
from latentlab.widgets.blend_pad import BlendPad, BlendView, blend_grid
from latentlab.widgets.common import StatusLine, file_stem, solo
from latentlab.widgets.drum_machine import DrumMachine
from latentlab.widgets.groove_picker import GroovePicker
from latentlab.widgets.interpolation import InterpolationView
from latentlab.widgets.pattern_strip import PatternStrip, pattern_svg
from latentlab.widgets.theme import DRUM_COLOURS


@pytest.fixture(scope="module")
def lab(tiny_checkpoint):
    return LatentLab.load(tiny_checkpoint, device="cpu")


def upload(picker: GroovePicker, name: str, data: bytes) -> None:
    """What the FileUpload widget holds after the page sends a file."""
    state = {"name": name, "type": "audio/midi", "size": len(data), "last_modified": 0}
    picker.upload.set_state({"value": [{**state, "content": memoryview(data)}]})


def test_pattern_svg_draws_one_note_per_hit_in_its_row_colour(lab):
    pattern = lab.corpus_pattern(0)
    svg = pattern_svg(pattern)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert f'viewBox="0 0 {pattern.steps} 9"' in svg
    notes = sum(svg.count(f'fill="{c}" fill-opacity') for c in DRUM_COLOURS)
    assert notes == pattern.n_hits
    kick_steps = np.flatnonzero(pattern.hits[:, 0])
    assert svg.count(f'fill="{DRUM_COLOURS[0]}" fill-opacity') == len(kick_steps)
    assert pattern_svg(DrumPattern.empty()).count("fill-opacity") == 0


def test_pattern_strip_shows_grooves_and_reports_clicks(lab):
    strip = PatternStrip("title")
    patterns = [lab.corpus_pattern(i) for i in range(3)]
    strip.show(patterns, ["a", "b", "c"])
    assert strip.svgs == [pattern_svg(p) for p in patterns]
    assert strip.captions == ["a", "b", "c"] and strip.selected == -1
    clicked = []
    strip.on_click(clicked.append)
    strip._on_msg(strip, {"type": "click", "index": 2}, [])
    assert clicked == [2] and strip.selected == 2
    strip._on_msg(strip, {"type": "click", "index": 7}, [])  # out of range: ignored
    assert clicked == [2] and strip.selected == 2
    strip.show(patterns[:2])
    assert strip.captions == ["1", "2"] and strip.selected == -1


def test_status_line_turns_errors_into_messages():
    status = StatusLine()

    @status.guard
    def fails(kind: str) -> None:
        raise LatentLabError("bad input") if kind == "ours" else ValueError("boom")

    fails("ours")
    assert "bad input" in status.value and "ll-status-error" in status._dom_classes
    assert status.layout.display == ""
    fails("other")
    assert "Something went wrong (ValueError: boom)" in status.value
    assert len(status.errors) == 1 and "Traceback" in status.errors[0]
    status.guard(lambda: None)()
    assert status.value == "" and "ll-status-error" not in status._dom_classes
    assert status.layout.display == "none"


def test_solo_stops_the_other_players(lab):
    one, two = DrumMachine(lab.corpus_pattern(0)), DrumMachine(lab.corpus_pattern(1))
    solo(one, two)
    one.playing = True
    two.playing = True
    assert not one.playing and two.playing
    one.playing = True
    assert one.playing and not two.playing


def test_picker_starts_in_the_style_and_follows_the_corpus_controls(lab):
    picker = GroovePicker(lab, "A", style="rock", seed=1)
    first = picker.groove
    index = picker.window.value
    assert lab.record(index)["style"] == "rock" and picker.style.value == "rock"
    np.testing.assert_array_equal(first.z, lab.atlas.latents[index])
    assert first.pattern == lab.corpus_pattern(index)
    assert picker.preview.patterns == [first.pattern]
    seen = []
    picker.observe(lambda change: seen.append(change["new"]), "groove")
    other = [v for _, v in picker.window.options if v != index][0]
    picker.window.value = other
    assert picker.groove.pattern == lab.corpus_pattern(other) and len(seen) == 1
    picker.style.value = "funk"
    assert lab.record(picker.window.value)["style"] == "funk"
    assert picker.file.value == lab.record(picker.window.value)["file_id"]
    assert len(seen) == 2, "one new groove per change, not one per control that moved"
    picker.random.click()
    assert lab.record(picker.window.value)["style"] == "funk"


def test_picker_samples_from_the_prior_or_a_style(lab):
    picker = GroovePicker(lab, "A")
    picker.sample.click()
    groove = picker.groove
    assert groove.label.startswith("a new groove")
    assert groove.pattern == lab.decode(groove.z[None])[0]
    picker.sample_from.value = "funk"
    picker.sample.click()
    assert "funk" in picker.groove.label and picker.status.value == ""


def test_picker_reads_an_uploaded_midi_file(lab):
    picker = GroovePicker(lab, "A")
    two = lab.corpus_pattern(3)
    four = DrumPattern(
        *(np.concatenate([a, a]) for a in (two.hits, two.velocities, two.offsets)), bpm=two.bpm
    )
    upload(picker, "mine.mid", four.to_midi())
    groove = picker.groove
    assert groove.label == "mine.mid (first 2 of 4 bars)" and groove.pattern.bpm == two.bpm
    np.testing.assert_array_equal(groove.pattern.hits, two.hits)
    np.testing.assert_allclose(groove.z, lab.encode(groove.pattern)[0])
    assert picker.status.value == ""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"this is not MIDI", "not a MIDI file"),
        (b"MThd\x00\x00\x00\x06\x00", "truncated or corrupt"),
        (b"", "empty"),
    ],
)
def test_a_bad_upload_shows_a_message_and_keeps_the_groove(lab, data, message):
    picker = GroovePicker(lab, "A")
    before = picker.groove
    upload(picker, "song.mid", data)
    assert picker.groove is before
    assert message in picker.status.value and "song.mid" in picker.status.value
    assert (
        "Traceback" not in picker.status.value and "ll-status-error" in picker.status._dom_classes
    )


@pytest.fixture
def view(lab):
    return InterpolationView(lab, steps=5)


def test_interpolation_view_shows_three_paths_from_a_to_b(view, lab):
    a, b = view.a.groove, view.b.groove
    assert view.result is not None
    for method in METHODS:
        strip = view.strips[method]
        assert len(strip.patterns) == 5 and len(strip.svgs) == 5
        hvo = np.stack([p.to_array() for p in strip.patterns])
        np.testing.assert_allclose(hvo, view.result.hvo[method], atol=1e-5)
        assert strip.captions[0].startswith("0%") and strip.captions[-1].startswith("100%")
    data = view.strips["data"].patterns
    np.testing.assert_array_equal(data[0].hits, a.pattern.hits)
    np.testing.assert_array_equal(data[-1].hits, b.pattern.hits)
    solid, dashed = view.figure.marks
    np.testing.assert_allclose(solid.x, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_array_equal(solid.y[2], view.result.to_a["data"])
    np.testing.assert_array_equal(dashed.y[0], view.result.to_b["slerp"])


def test_each_step_plays_at_a_tempo_from_as_to_bs(view):
    a_bpm, b_bpm = view.a.groove.pattern.bpm, view.b.groove.pattern.bpm
    assert a_bpm != b_bpm, "the tiny corpus's rock and funk grooves differ in tempo"
    for method in METHODS:
        tempi = [p.bpm for p in view.strips[method].patterns]
        np.testing.assert_allclose(tempi, np.linspace(a_bpm, b_bpm, 5), atol=0.01)
    view.strips["slerp"].click(4)
    assert view.machine.bpm == pytest.approx(b_bpm, abs=0.01)
    view.a.preview.click(0)
    assert view.machine.bpm == a_bpm
    view.chain_buttons["lerp"].click()
    assert view.machine.bpm == pytest.approx((a_bpm + b_bpm) / 2, abs=0.01)


def test_clicking_a_step_plays_it_and_a_chain_plays_them_all(view):
    view.strips["lerp"].click(3)
    assert view.machine.playing
    assert view.machine.pattern == view.strips["lerp"].patterns[3]
    assert "lerp, step 4 of 5" in view.now_playing.value
    view.strips["slerp"].click(1)
    assert view.strips["lerp"].selected == -1 and view.strips["slerp"].selected == 1
    view.chain_buttons["data"].click()
    assert view.strips["data"]._follow == view.machine._uid
    assert view.strips["lerp"]._follow == ""
    played = view.machine.pattern
    assert played.steps == 5 * 32 and view.machine.playing
    assert view.machine.file_name == file_stem("data space chain from A to B")
    expected = np.concatenate([p.hits for p in view.strips["data"].patterns])
    np.testing.assert_array_equal(played.hits, expected)
    assert view.strips["slerp"].selected == -1
    view.strips["lerp"].click(0)
    assert view.strips["data"]._follow == "", "a single groove is not a chain"


def test_a_new_b_or_step_count_recomputes_everything(view, lab):
    view.b.choose_corpus(7)
    np.testing.assert_array_equal(view.strips["data"].patterns[-1].hits, lab.corpus_pattern(7).hits)
    np.testing.assert_array_equal(view.blend.corner_z[1], lab.atlas.latents[7])
    view.steps.value = 7
    assert all(len(view.strips[m].patterns) == 7 for m in METHODS)
    assert hamming(view.strips["data"].patterns[-1].to_array(), lab.atlas.hvo[7]) == 0


def test_the_blend_pad_plays_the_blend_under_the_puck(view, lab):
    blend = view.blend
    assert len(blend.pad.corner_svgs) == 4 and blend.pad.corner_captions[0].startswith("A: ")
    assert not view.blend_machine.playing
    view.machine.playing = True
    blend.pad.xy = [0.25, 0.75]
    z = lab.blend_at(blend.corner_z, 0.25, 0.75)
    assert view.blend_machine.pattern.hits.tolist() == lab.decode(z[None])[0].hits.tolist()
    assert view.blend_machine.playing and not view.machine.playing, "one player at a time"
    assert "x 0.25, y 0.75" in blend.readout.value
    blend.pad.xy = [0.0, 0.0]
    np.testing.assert_allclose(
        view.blend_machine.pattern.to_array(),
        lab.decode(view.a.groove.z[None])[0].to_array(),
        atol=1e-5,
    )
    view.new_corners.click()
    assert blend.status.value == "" and len(blend.corners) == 4


def test_blend_pad_keeps_the_puck_inside_and_shades_by_density(lab):
    pad = BlendPad()
    pad.xy = [-0.5, 1.5]
    assert pad.xy == [0.0, 1.0]
    corners = np.stack([lab.corpus_groove(i).z for i in range(4)])
    shade = blend_grid(lab, corners, 3)
    assert shade.shape == (3, 3)
    from latentlab.attributes import density

    top_left = density(lab.decode_hvo(corners[0]))[0]
    assert shade[0, 0] == pytest.approx(top_left)
    with pytest.raises(Exception, match="two numbers"):
        pad.xy = [0.5]
    machine = DrumMachine()
    view = BlendView(lab, [lab.corpus_groove(i) for i in range(4)], machine, grid=3)
    assert np.isclose(np.max(view.pad.shade), 1.0)
    with pytest.raises(LatentLabError, match="4 corners"):
        view.set_corners([lab.corpus_groove(0)])


def test_the_map_chooses_for_the_picker_the_toggle_names(view, lab):
    picker = view.map
    assert picker.map.marked == pytest.approx(tuple(lab.atlas.coords[view.a.groove.index]))
    picker.map.select(11)
    assert view.a.groove.index == 11 and view.b.groove.index != 11
    np.testing.assert_array_equal(view.strips["data"].patterns[0].hits, lab.atlas.hvo[11][:, :9])
    picker.target.value = "B"
    assert picker.map.marked == pytest.approx(tuple(lab.atlas.coords[view.b.groove.index]))
    picker.map.select(12)
    assert view.b.groove.index == 12 and view.a.groove.index == 11
    view.b.sample.click()  # a groove off the corpus: marked where the atlas places it
    assert picker.map.marked == pytest.approx(tuple(lab.place(view.b.groove.z[None])[0]))
    assert picker.status.value == ""
