"""DrumMachine in a real browser: a Voila page with the widget, driven by Playwright.

The page's test hook (window.latentlab.drumMachines[0]) reports every note the scheduler
started and renders the widget's audio through an OfflineAudioContext. The tests share one
page and run in file order; each leaves it playing nothing, showing groove A.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_audio import MS, detect_onsets

from latentlab import audio
from latentlab.pattern import DrumPattern
from latentlab.widgets.drum_machine import DRUM_COLOURS

from .browser_helpers import ARTIFACTS, launch, open_page, run_in_jupyterlab
from .drum_grooves import groove_a, groove_b
from .drum_machine_page import HOOK, NOTEBOOK, WAIT_MS, hook, page_fixtures

pytestmark = pytest.mark.browser

STEPS = 32
served_page, page = page_fixtures()


def python_pattern(page) -> dict:
    return json.loads(page.inner_text(".test-python-pattern"))


def expected_notes(pattern: DrumPattern, n: int) -> set[tuple[int, int]]:
    """(step, class) of each hit at absolute step n."""
    step = n % pattern.steps
    return {(step, int(c)) for c in np.flatnonzero(pattern.hits[step])}


def check_timing(note: dict, pattern: DrumPattern) -> None:
    """Frame, velocity and offset of a scheduled note are the ones the WAV export uses."""
    step, cls = note["step"], note["cls"]
    offset = float(pattern.offsets[step, cls])
    frame = audio.note_frame(note["n"], offset, audio.step_frames(120, audio.SAMPLE_RATE))
    assert abs(note["frame"] - frame) <= 1, note
    assert note["velocity"] == pytest.approx(float(pattern.velocities[step, cls]), abs=1e-6)
    assert note["offset"] == pytest.approx(offset, abs=1e-6)


def play(page) -> None:
    page.click(".ll-dm-play")
    page.wait_for_function(f"() => {HOOK}.playing()", timeout=WAIT_MS)


def stop(page) -> None:
    page.click(".ll-dm-play")
    page.wait_for_function(f"() => !{HOOK}.playing()", timeout=WAIT_MS)


def wait_scheduled(page, steps: int) -> None:
    """Until the scheduler has started the notes of `steps` steps."""
    page.wait_for_function(f"() => {HOOK}.scheduled().some((e) => e.n >= {steps})", timeout=WAIT_MS)


def test_the_grid_shows_the_pattern_from_python(page) -> None:
    assert page.locator(".ll-dm-cell").count() == 9 * STEPS
    on = page.eval_on_selector_all(
        ".ll-dm-cell.ll-dm-on", "cells => cells.map(c => [+c.dataset.step, +c.dataset.cls])"
    )
    assert sorted(map(tuple, on)) == sorted(map(tuple, python_pattern(page)["hits"]))
    assert python_pattern(page)["name"] == "a"
    labels = page.locator(".ll-dm-label").all_inner_texts()
    assert labels == ["Kick", "Snare", "Closed hat", "Open hat", "Low tom", "Mid tom"] + [
        "High tom",
        "Crash",
        "Ride",
    ]

    def note_box(step: int, cls: int) -> dict:
        """The note's box, with x relative to its cell."""
        cell = page.locator(f'.ll-dm-cell[data-step="{step}"][data-cls="{cls}"]')
        box = cell.locator(".ll-dm-note").bounding_box()
        return {**box, "x": box["x"] - cell.bounding_box()["x"]}

    assert note_box(4, 1)["height"] > note_box(9, 1)["height"], "velocity shows as height"
    assert note_box(5, 2)["x"] > note_box(4, 2)["x"] + 1, "a late hat (+0.18) sits right"
    assert note_box(0, 0)["x"] < note_box(0, 7)["x"], "a pushed kick (-0.04) sits left"
    assert hook(page, "audioState()") == "none", "no AudioContext before the first click"
    notes = page.eval_on_selector_all(
        ".ll-dm-cell.ll-dm-on",
        "cells => cells.map(c => [+c.dataset.cls, getComputedStyle(c.firstChild).backgroundColor])",
    )
    for cls, colour in notes:
        r, g, b = (int(DRUM_COLOURS[cls][i : i + 2], 16) for i in (1, 3, 5))
        assert colour == f"rgb({r}, {g}, {b})", "each drum row has its palette colour"


def test_play_schedules_exactly_the_notes_of_one_loop(page) -> None:
    hook(page, "clearLog()")
    play(page)
    wait_scheduled(page, STEPS)
    assert hook(page, "audioState()") == "running"
    page.wait_for_selector(".ll-dm-playhead", state="visible", timeout=WAIT_MS)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".test-drum-machine").screenshot(path=ARTIFACTS / "drum_machine.png")
    left = page.eval_on_selector(".ll-dm-playhead", "e => e.offsetLeft")
    page.wait_for_function(
        f"() => document.querySelector('.ll-dm-playhead').offsetLeft !== {left}",
        timeout=WAIT_MS,
    )
    stop(page)
    notes = [e for e in hook(page, "scheduled()") if e["n"] < STEPS]
    pattern = groove_a()
    assert sorted((e["step"], e["cls"]) for e in notes) == sorted(
        (int(s), int(c)) for s, c in zip(*np.nonzero(pattern.hits), strict=True)
    )
    for note in notes:
        check_timing(note, pattern)
        assert note["version"] == 1 and not note.get("cancelled")


def test_the_page_audio_is_the_python_render(page) -> None:
    rendered = np.frombuffer(base64.b64decode(hook(page, "renderOffline(3)")), np.float32)
    python = audio.render(groove_a())
    loop = len(python)
    assert len(rendered) == 3 * loop
    steady = rendered[loop : 2 * loop]  # the middle loop has the tails of the one before
    assert np.sqrt(np.mean(steady**2)) > 0.02
    page_onsets, python_onsets = detect_onsets(steady), detect_onsets(python)
    assert len(page_onsets) == len(python_onsets) > 20
    assert np.max(np.abs(np.array(page_onsets) - python_onsets)) <= MS
    assert np.max(np.abs(steady - python)) < 1e-5, "the same samples, gains and frames"


def test_swapping_the_pattern_while_playing_changes_the_next_step(page) -> None:
    hook(page, "clearLog()")
    play(page)
    wait_scheduled(page, 6)
    page.click(".test-swap")
    page.wait_for_function(f"() => {HOOK}.swaps().length === 1", timeout=WAIT_MS)
    assert hook(page, "playing()"), "a swap never stops playback"
    swap = hook(page, "swaps()")[0]
    wait_scheduled(page, swap["n"] + 8)
    stop(page)
    assert 0 < swap["n"] - swap["position"] <= 2, "the new groove starts at the next step"
    notes = [e for e in hook(page, "scheduled()") if not e.get("cancelled")]
    last = max(e["n"] for e in notes)
    first = min(e["n"] for e in notes)
    for n in range(first, last + 1):
        old = n < swap["n"]
        pattern = groove_a() if old else groove_b()
        at_n = [e for e in notes if e["n"] == n]
        assert {(e["step"], e["cls"]) for e in at_n} == expected_notes(pattern, n), n
        for note in at_n:
            assert note["version"] == (1 if old else 2)
            check_timing(note, pattern)
    page.wait_for_function(
        "() => document.querySelector('.test-python-pattern').innerText.includes('\"b\"')",
        timeout=WAIT_MS,
    )
    page.click(".test-swap")  # back to groove A for the next tests
    page.wait_for_function(f"() => {HOOK}.version() === 3", timeout=WAIT_MS)


def test_clicking_a_cell_changes_the_pattern_seen_from_python(page) -> None:
    cell = page.locator('.ll-dm-cell[data-step="6"][data-cls="1"]')
    assert [6, 1] not in python_pattern(page)["hits"]
    cell.click()
    page.wait_for_function(
        "() => document.querySelector('.test-python-pattern').innerText.includes('[6, 1]')",
        timeout=WAIT_MS,
    )
    assert python_pattern(page)["name"] == "edited"
    assert "ll-dm-on" in cell.get_attribute("class")
    cell.click()
    page.wait_for_function(
        "() => document.querySelector('.test-python-pattern').innerText.includes('\"a\"')",
        timeout=WAIT_MS,
    )
    assert "ll-dm-on" not in cell.get_attribute("class")


def test_space_toggles_play(page) -> None:
    page.focus(".ll-dm")
    page.keyboard.press("Space")
    page.wait_for_function(f"() => {HOOK}.playing()", timeout=WAIT_MS)
    page.keyboard.press("Space")
    page.wait_for_function(f"() => !{HOOK}.playing()", timeout=WAIT_MS)


@pytest.mark.parametrize("fmt", ["midi", "wav"])
def test_download_buttons_save_the_python_export(page, fmt: str) -> None:
    with page.expect_download(timeout=WAIT_MS) as download:
        page.click(f".ll-dm-download-{fmt}")
    data = Path(download.value.path()).read_bytes()
    if fmt == "wav":
        assert download.value.suggested_filename == "latentlab-groove.wav"
        assert data == audio.render_wav(groove_a())
    else:
        assert download.value.suggested_filename == "latentlab-groove.mid"
        assert np.array_equal(DrumPattern.from_midi(data).hits, groove_a().hits)


def test_the_first_click_starts_audio_without_the_autoplay_flag(playwright, voila) -> None:
    """Chromium's real policy: the context is made inside the click, so it runs at once."""
    strict = launch(playwright, autoplay=False)
    try:
        page = open_page(strict, voila(NOTEBOOK).url, ".ll-dm-play")
        page.click(".ll-dm-play")
        page.wait_for_function(
            f"() => {HOOK}.audioState() === 'running' && {HOOK}.scheduled().length > 3",
            timeout=WAIT_MS,
        )
        assert page.watch.errors == []
    finally:
        strict.close()


def test_the_widget_plays_and_edits_in_jupyterlab(browser, jupyterlab, tmp_path) -> None:
    for name in (NOTEBOOK.name, "drum_grooves.py"):  # a copy: JupyterLab may save it
        shutil.copy(NOTEBOOK.with_name(name), tmp_path)
    server = jupyterlab(tmp_path)
    page = open_page(browser, server.lab_url(NOTEBOOK.name), ".jp-CodeCell .jp-InputArea-editor")
    run_in_jupyterlab(page, ".ll-dm-cell")
    page.click(".ll-dm-play")
    last = "window.latentlab.drumMachines.at(-1)"  # a run JupyterLab repeated leaves two models
    page.wait_for_function(
        f"() => {last}.audioState() === 'running' && {last}.scheduled().length > 3",
        timeout=WAIT_MS,
    )
    page.click('.ll-dm-cell[data-step="6"][data-cls="1"]')
    page.wait_for_function(
        "() => document.querySelector('.test-python-pattern').innerText.includes('[6, 1]')",
        timeout=WAIT_MS,
    )
    assert [e for e in page.watch.errors if "blob:" in e or "anywidget" in e] == [], (
        "no errors from the widget (JupyterLab's own console noise aside)"
    )
