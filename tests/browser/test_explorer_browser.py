"""The explorer in a real browser: `latentlab dashboard` serving it, Playwright driving it.

One dashboard (two preheated explorer kernels) serves the tests; most share one page and
run in file order. Page hooks: window.latentlab.latentMaps[0] (map points' pixels, hover,
clicks), neighbourGrids[0] (grid version, keys) and drumMachines[0] (scheduled notes).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import groove_notes, write_drum_midi
from playwright.sync_api import expect

from latentlab.pattern import DrumPattern
from latentlab.widgets.common import file_stem

from .browser_helpers import ACTION_TIMEOUT_MS, ARTIFACTS, NotebookServer, launch, open_page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
MAP = "window.latentlab.latentMaps[0]"
GRID = "window.latentlab.neighbourGrids[0]"
DM = "window.latentlab.drumMachines[0]"
WAIT_MS = ACTION_TIMEOUT_MS
READY = ".ll-ng-cell svg"


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """`latentlab dashboard` on a free port with two preheated explorer kernels."""
    server = NotebookServer(
        "dashboard",
        ["latentlab.cli", "dashboard", "--pool-size=2"],
        ROOT,
        tmp_path_factory.mktemp("dashboard"),
    )
    yield server
    server.stop()


def open_explorer(browser, dashboard: NotebookServer):
    until = f"{MAP} !== undefined && {GRID} !== undefined && {DM} !== undefined"
    return open_page(browser, dashboard.url, READY, until=until)


@pytest.fixture(scope="module")
def served_page(browser, dashboard):
    page = open_explorer(browser, dashboard)
    yield page
    page.close()


@pytest.fixture
def page(served_page):
    """The shared page; after each test: no console errors, no error shown, nothing external."""
    yield served_page
    assert served_page.watch.errors == []
    assert served_page.locator(".ll-ex-message.ll-status-error").count() == 0, (
        served_page.inner_text(".ll-ex-message")
    )
    assert served_page.watch.external == [], "the page loads nothing from outside"


def hook(page, call: str):
    return page.evaluate(f"() => {call}")


def now_playing(page) -> str:
    return page.inner_text(".ll-ex-now")


def wait_now_playing(page, text: str) -> None:
    """Wait until the current-groove heading mentions text (it syncs apart from the grid)."""
    page.wait_for_function(
        "text => document.querySelector('.ll-ex-now').innerText.includes(text)",
        arg=text,
        timeout=WAIT_MS,
    )


def grid_on_cells(page) -> set[tuple[int, int]]:
    """(step, class) of every hit the drum machine's grid shows."""
    cells = page.eval_on_selector_all(
        ".ll-dm-cell.ll-dm-on", "cells => cells.map(c => [+c.dataset.step, +c.dataset.cls])"
    )
    return {(s, c) for s, c in cells}


def wait_grid_after(page, version: int) -> None:
    page.wait_for_function(f"() => {GRID}.version() > {version}", timeout=WAIT_MS)


def point_in_view(page, k: int) -> tuple[int, float, float]:
    """A shown map point well inside the map: (atlas index, x, y) in page pixels."""
    box = page.locator(".ll-map-figure canvas").bounding_box()
    shown = hook(page, f"{MAP}.shown()")
    rng = np.random.default_rng(k)
    for index in rng.permutation(shown):
        x, y = hook(page, f"{MAP}.pixelOf({int(index)})")
        inside_x = box["x"] + 20 < x < box["x"] + box["width"] - 20
        if inside_x and box["y"] + 20 < y < box["y"] + box["height"] - 20:
            return int(index), x, y
    raise AssertionError("no map point inside the map")


def click_point(page, k: int) -> int:
    """Hover a map point until its tooltip shows, click it; returns the index clicked."""
    _, x, y = point_in_view(page, k)
    page.mouse.move(x, y)
    page.wait_for_function(f"() => {MAP}.hovered() !== null", timeout=WAIT_MS)
    hovered = hook(page, f"{MAP}.hovered()")
    assert hook(page, f"{MAP}.tooltip()").strip(), "the tooltip shows the groove's metadata"
    version = hook(page, f"{GRID}.version()")
    page.mouse.click(x, y)
    wait_grid_after(page, version)
    return hovered


def test_the_landing_page_is_the_explorer_ready_to_use(page, dashboard) -> None:
    assert page.url.endswith("/voila/render/explorer.ipynb"), "/ redirects to the explorer"
    tree = page.request.get(f"{dashboard.url}voila/api/contents/")
    assert "explorer.ipynb" in tree.text(), "the other dashboards are served too"
    assert page.locator(".ll-ng-cell").count() == 9
    assert page.locator(".ll-dm-cell").count() == 9 * 32
    assert page.locator(".ll-map-figure canvas").count() == 1
    page.wait_for_function(
        f"() => {MAP}.drawnPoints() === {MAP}.shown().length && {MAP}.marked() !== null",
        timeout=WAIT_MS,
    )  # every corpus point and the current groove's marker are drawn
    styles = page.locator(".ll-map-style option").count() - 1
    assert page.locator(".ll-map-chip").count() == styles > 1
    assert "corpus groove #" in now_playing(page)
    assert hook(page, f"{DM}.audioState()") == "none", "no sound before a click"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "explorer_start.png")


def test_clicking_a_map_point_plays_it_and_changes_the_grid(page) -> None:
    cells_before = hook(page, f"{GRID}.svgs()")
    version = hook(page, f"{DM}.version()")
    index = click_point(page, 0)
    wait_now_playing(page, f"#{index}")
    assert f"#{index}" in now_playing(page)
    assert hook(page, f"{GRID}.svgs()") != cells_before
    page.wait_for_function(
        f"() => {DM}.scheduled().some((e) => e.version > {version})", timeout=WAIT_MS
    )
    assert hook(page, f"{DM}.playing()") and hook(page, f"{DM}.audioState()") == "running"
    notes = {
        (e["step"], e["cls"]) for e in hook(page, f"{DM}.scheduled()") if e["version"] > version
    }
    assert notes and notes <= grid_on_cells(page), "the notes scheduled are the groove shown"
    # The marker is drawn on the point clicked: a dark dot in a dark ring.
    x, y = hook(page, f"{MAP}.pixelOf({index})")
    page.wait_for_function(
        f"([x, y]) => Math.hypot({MAP}.marked()[0] - x, {MAP}.marked()[1] - y) < 1.5",
        arg=[x, y],
        timeout=WAIT_MS,
    )
    for dx in (0, 10):  # the dot's centre, on the ring
        r, g, b, _ = hook(page, f"{MAP}.colourAt({x + dx}, {y})")
        assert max(r, g, b) < 60, f"the marker is dark {dx} px from the point"
    page.screenshot(path=ARTIFACTS / "explorer.png")


def test_a_slider_shifts_the_groove(page) -> None:
    version = hook(page, f"{DM}.version()")
    track = page.locator(".ll-ex-slider-density .noUi-target").bounding_box()
    page.mouse.click(track["x"] + track["width"] * 0.9, track["y"] + track["height"] / 2)
    page.wait_for_function(f"() => {DM}.version() > {version}", timeout=WAIT_MS)
    page.wait_for_function(
        "() => document.querySelector('.ll-ex-now').innerText.includes('shifted: density +')",
        timeout=WAIT_MS,
    )
    assert page.inner_text(".ll-ex-slider-density .widget-readout").startswith("+1.")
    page.click(".ll-ex-reset")
    page.wait_for_function(
        "() => !document.querySelector('.ll-ex-now').innerText.includes('shifted')",
        timeout=WAIT_MS,
    )


def test_arrow_keys_move_c_changes_directions_and_r_jumps(page) -> None:
    page.locator(".ll-ex-heading").first.click()  # focus on the page, not on a slider
    x_label = page.inner_text(".ll-ng-xlabel").rstrip(" →")
    y_label = page.inner_text(".ll-ng-ylabel").rstrip(" →")
    for key, label in (("ArrowRight", f"more {x_label}"), ("ArrowUp", f"more {y_label}")):
        version = hook(page, f"{GRID}.version()")
        page.keyboard.press(key)
        wait_grid_after(page, version)
        wait_now_playing(page, label)
        assert label in now_playing(page), key
    page.keyboard.press("c")
    # The labels sync apart from the thumbnails: wait for the new pair's name.
    page.wait_for_function(
        "label => !document.querySelector('.ll-ng-xlabel').innerText.startsWith(label + ' ')",
        arg=x_label,
        timeout=WAIT_MS,
    )
    version = hook(page, f"{GRID}.version()")
    page.keyboard.press("r")
    wait_grid_after(page, version)
    wait_now_playing(page, "corpus groove #")
    assert "corpus groove #" in now_playing(page)


def upload(page, path: Path) -> None:
    """Choose a file with the upload button (its file input is not in the page)."""
    with page.expect_file_chooser(timeout=WAIT_MS) as chooser:
        page.click(".ll-ex-upload")
    chooser.value.set_files(str(path))


def test_uploading_a_midi_file_places_a_new_point(page, tmp_path) -> None:
    path = write_drum_midi(tmp_path / "upload-test.mid", groove_notes(2))
    upload(page, path)
    page.wait_for_function(
        "() => document.querySelector('.ll-ex-message').innerText.includes('placed on the map')",
        timeout=WAIT_MS,
    )
    page.wait_for_function(
        f"() => {MAP}.pins().some((p) => p.name === 'upload-test.mid')", timeout=WAIT_MS
    )  # a pin drawn with the file's name
    wait_now_playing(page, "upload-test.mid")
    assert "upload-test.mid" in now_playing(page)
    expected = DrumPattern.from_midi(path, bars=2)
    assert grid_on_cells(page) == {
        (int(s), int(c)) for s, c in zip(*np.nonzero(expected.hits), strict=True)
    }


def test_a_bad_upload_says_what_is_wrong(page, tmp_path) -> None:
    path = tmp_path / "notes.mid"
    path.write_text("these are not MIDI notes")
    upload(page, path)
    error = page.locator(".ll-ex-message.ll-status-error")
    error.wait_for(timeout=WAIT_MS)
    assert "notes.mid: not a MIDI file" in error.inner_text()
    assert "Traceback" not in error.inner_text()
    page.screenshot(path=ARTIFACTS / "explorer_bad_upload.png")
    page.click(".ll-ex-jump")  # any action clears the message
    error.wait_for(state="detached", timeout=WAIT_MS)


@pytest.mark.parametrize("fmt", ["midi", "wav", "json"])
def test_downloads_hold_the_groove_shown_and_are_named_after_it(page, fmt: str) -> None:
    with page.expect_download(timeout=WAIT_MS) as download:
        page.click(f".ll-dm-download-{fmt}")
    suffix = {"midi": "mid", "wav": "wav", "json": "json"}[fmt]
    title = page.inner_text(".ll-ex-now b")
    assert download.value.suggested_filename == f"{file_stem(title)}.{suffix}"
    data = Path(download.value.path()).read_bytes()
    if fmt == "wav":
        assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and len(data) > 10_000
        return
    if fmt == "json":
        hits = DrumPattern.from_note_sequence_json(data.decode(), bars=2).hits
    else:
        hits = DrumPattern.from_midi(data, bars=2).hits
    assert {(int(s), int(c)) for s, c in zip(*np.nonzero(hits), strict=True)} == grid_on_cells(page)


def test_an_edit_in_the_drum_machine_is_encoded_and_placed(page) -> None:
    marked = hook(page, f"{MAP}.marked()")
    on = grid_on_cells(page)
    cell = next((s, c) for s in range(32) for c in (0, 1, 2) if (s, c) not in on)
    version = hook(page, f"{GRID}.version()")
    page.click(f'.ll-dm-cell[data-step="{cell[0]}"][data-cls="{cell[1]}"]')
    wait_grid_after(page, version)
    wait_now_playing(page, "your edit")
    assert "your edit" in now_playing(page)
    assert grid_on_cells(page) == on | {cell}
    page.wait_for_function(
        f"(before) => {MAP}.marked().some((v, i) => v !== before[i])", arg=marked, timeout=WAIT_MS
    )  # the marker moves to the edit's place


def test_the_map_filters_by_style(page) -> None:
    everything = len(hook(page, f"{MAP}.shown()"))
    label = page.locator(".ll-map-style option").nth(1).inner_text()  # "afrobeat (977)"
    page.select_option(".ll-map-style select", label=label)
    page.wait_for_function(f"() => {MAP}.shown().length < {everything}", timeout=WAIT_MS)
    style, count = re.fullmatch(r"(\S+)\s+\(([\d,]+)\)", label).groups()
    # The legend dims its chips in its own render: wait for it, then check what it shows.
    expect(page.locator(".ll-map-chip:not(.ll-map-dim)")).to_have_count(1, timeout=WAIT_MS)
    assert page.locator(".ll-map-chip:not(.ll-map-dim)").all_inner_texts() == [style]
    assert len(hook(page, f"{MAP}.shown()")) == int(count.replace(",", ""))
    drawn = f"() => {MAP}.drawnPoints() === {count.replace(',', '')}"
    page.wait_for_function(drawn, timeout=WAIT_MS)  # the map draws only those
    page.select_option(".ll-map-style select", index=0)
    page.wait_for_function(f"() => {MAP}.shown().length === {everything}", timeout=WAIT_MS)


def test_back_and_forward_retrace_the_history(page) -> None:
    here = now_playing(page)
    page.click(".ll-ex-back")
    page.wait_for_function(
        f"() => document.querySelector('.ll-ex-now').innerText !== {here!r}", timeout=WAIT_MS
    )
    page.click(".ll-ex-forward")
    page.wait_for_function(
        f"() => document.querySelector('.ll-ex-now').innerText === {here!r}", timeout=WAIT_MS
    )


def download_hits(page, bars: int) -> set[tuple[int, int]]:
    """(step, drum) of every hit in the drum machine's MIDI download, read for `bars` bars."""
    with page.expect_download(timeout=WAIT_MS) as download:
        page.click(".ll-dm-download-midi")
    hits = DrumPattern.from_midi(Path(download.value.path()).read_bytes(), bars=bars).hits
    return {(int(s), int(c)) for s, c in zip(*np.nonzero(hits), strict=True)}


def continue_lengths(page) -> list[str]:
    """The lengths the Continue dropdown offers (ipywidgets writes its spaces as &nbsp;)."""
    texts = page.locator(".ll-ex-continue-bars option").all_inner_texts()
    return [text.replace("\xa0", " ") for text in texts]


def choose_length(page, label: str) -> None:
    page.select_option(".ll-ex-continue-bars select", index=continue_lengths(page).index(label))


def test_continue_plays_the_longer_groove_as_one_loop_and_exports_it_whole(page) -> None:
    assert continue_lengths(page) == ["4 bars", "8 bars", "16 bars"]
    first_bar = {(s, c) for s, c in grid_on_cells(page) if s < 16}
    version = hook(page, f"{DM}.version()")
    choose_length(page, "8 bars")
    page.click(".ll-ex-continue")
    wait_now_playing(page, "continued to 8 bars")
    page.wait_for_function(
        f"() => document.querySelectorAll('.ll-dm-cell').length === {9 * 128}", timeout=WAIT_MS
    )
    assert "8 bars: the map, grid and sliders use the first 2" in now_playing(page)
    assert page.inner_text(".ll-dm-info").startswith("8 bars")
    shown = grid_on_cells(page)
    assert {(s, c) for s, c in shown if s < 16} == first_bar, "the groove's first bar is kept"
    assert download_hits(page, 8) == shown
    page.wait_for_function(
        f"() => {DM}.playing() && {DM}.scheduled().some((e) => e.version > {version})",
        timeout=WAIT_MS,
    )
    notes = {
        (e["step"], e["cls"]) for e in hook(page, f"{DM}.scheduled()") if e["version"] > version
    }
    assert notes and notes <= shown, "the notes scheduled are the continuation's"
    page.screenshot(path=ARTIFACTS / "explorer_continue.png")


def test_an_edit_of_a_continuation_keeps_it_whole_and_continue_says_what_it_cannot(page):
    on = grid_on_cells(page)
    cell = next((s, 1) for s in range(5 * 16, 6 * 16) if (s, 1) not in on)  # in bar 6
    page.click(f'.ll-dm-cell[data-step="{cell[0]}"][data-cls="{cell[1]}"]')
    wait_now_playing(page, "your edit (8 bars)")
    assert grid_on_cells(page) == on | {cell}
    assert download_hits(page, 8) == on | {cell}
    choose_length(page, "16 bars")
    page.click(".ll-ex-continue")
    error = page.locator(".ll-ex-message.ll-status-error")
    error.wait_for(timeout=WAIT_MS)
    assert "Continue plays on from a groove of 1 to 4 bars; this one has 8" in error.inner_text()
    page.click(".ll-ex-back")  # to the continuation; the message goes
    error.wait_for(state="detached", timeout=WAIT_MS)
    wait_now_playing(page, "continued to 8 bars")


def test_the_first_map_click_starts_sound_without_the_autoplay_flag(playwright, dashboard):
    """Chromium's real audio policy: the play that follows a click on the map may start."""
    strict = launch(playwright, autoplay=False)
    try:
        page = open_explorer(strict, dashboard)
        assert hook(page, f"{DM}.audioState()") == "none"
        click_point(page, 1)
        page.wait_for_function(
            f"() => {DM}.audioState() === 'running' && {DM}.scheduled().length > 3",
            timeout=WAIT_MS,
        )
        assert page.watch.errors == []
    finally:
        strict.close()
