"""The interpolation and attributes dashboards in a real browser (Voila + Playwright).

Smoke tests: each page becomes interactive without console errors, and its main
interactions change what is played, checked through the players' test hooks
(window.latentlab.drumMachines: the notes the scheduler started) against the step grids the
page shows. Screenshots at 1280x800 go to tests/artifacts/. The tests of one page share it
and run in file order.
"""

from __future__ import annotations

import re

import pytest

from latentlab.shipped import shipped

from .browser_helpers import ACTION_TIMEOUT_MS, ARTIFACTS, launch, open_page

pytestmark = pytest.mark.browser

NOTEBOOKS = shipped("notebooks")
WAIT_MS = 2 * ACTION_TIMEOUT_MS
HOOKS = "window.latentlab.drumMachines"
NOTE = re.compile(r'<rect x="([-\d.]+)" y="([\d.]+)" width="0.76"')


def serve(browser, voila, name: str, ready: str):
    until = f"{HOOKS} && {HOOKS}.length > 0"
    return open_page(browser, voila(NOTEBOOKS / name).url, ready, until=until)


def check_clean(page) -> None:
    """No console or page errors, no error shown under a control, nothing fetched outside."""
    assert page.watch.errors == []
    assert page.locator(".ll-status-error").count() == 0, page.inner_text("body")[:2000]
    assert all("fonts" in u or "fontawesome" in u for u in page.watch.external)


def screenshot(page, selector: str, name: str) -> None:
    """The 1280x800 viewport with `selector` scrolled to its top."""
    page.locator(selector).first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / name)


def svg_cells(svg: str) -> set[tuple[int, int]]:
    """(step, class) of every note drawn in a step-grid picture (see pattern_svg)."""
    return {(round(float(x) - 0.12), round(float(y) - 0.14)) for x, y in NOTE.findall(svg)}


def grid_cells(page, selector: str) -> set[tuple[int, int]]:
    """(step, class) of the lit cells of the DrumMachine inside `selector`."""
    cells = page.eval_on_selector_all(
        f"{selector} .ll-dm-cell.ll-dm-on", "cs => cs.map(c => [+c.dataset.step, +c.dataset.cls])"
    )
    return {tuple(c) for c in cells}


def played(page, action, steps: int = 32) -> set[tuple[int, int]]:
    """Do `action`, then return the (step, class) of the notes the sounding player starts
    over the next `steps` steps of the groove it switched to (one loop by default)."""
    return played_window(page, action, steps)[0]


def played_window(page, action, steps: int) -> tuple[set[tuple[int, int]], int]:
    """`played`, and the absolute step at which the new groove started."""
    page.evaluate(f"() => {HOOKS}.forEach((h) => h.clearLog())")
    action()
    page.wait_for_function(
        f"""() => {HOOKS}.some((h) => {{
            const swap = h.swaps().at(-1);
            return h.playing() && swap && swap.version === h.version()
                && h.scheduled().some((e) => e.n >= (swap.n ?? 0) + {steps});
        }})""",
        timeout=WAIT_MS,
    )
    notes, start = page.evaluate(
        f"""() => {{
            const h = {HOOKS}.find((h) => h.playing());
            const start = h.swaps().at(-1).n ?? 0;
            const notes = h.scheduled().filter((e) => e.version === h.version()
                && !e.cancelled && e.n >= start && e.n < start + {steps});
            return [notes.map((e) => [e.step, e.cls]), start];
        }}"""
    )
    return {tuple(n) for n in notes}, start


def item(strip: str, index: int) -> str:
    return f'{strip} .ll-strip-item[data-index="{index}"]'


# ---- interpolation ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def interpolation(browser, voila):
    page = serve(browser, voila, "interpolation.ipynb", ".ll-strip-data .ll-strip-item")
    yield page
    page.close()


def test_interpolation_page_shows_three_paths_and_a_blend_pad(interpolation) -> None:
    page = interpolation
    for method in ("slerp", "lerp", "data"):
        assert page.locator(f".ll-strip-{method} .ll-strip-item").count() == 9
    assert page.locator(".ll-bp-corner").count() == 4
    assert page.locator(".ll-bp-cell").count() == 49
    assert page.locator(".ll-dm").count() == 2
    assert page.locator(".bqplot path.line").count() >= 2
    screenshot(page, ".ll-interpolation", "interpolation.png")
    screenshot(page, ".ll-steps", "interpolation_paths.png")
    check_clean(page)


def test_clicking_a_step_plays_that_groove(interpolation) -> None:
    page = interpolation
    for strip, index in ((".ll-strip-slerp", 4), (".ll-strip-data", 6)):
        cells = played(page, lambda s=strip, i=index: page.click(item(s, i)))
        expected = svg_cells(page.inner_html(item(strip, index)))
        assert cells == expected and cells
        assert grid_cells(page, ".ll-interp-machine") == expected
        assert "ll-strip-selected" in page.get_attribute(item(strip, index), "class")
    assert "data space, step 7 of 9" in page.inner_text(".ll-interpolation")
    check_clean(page)


def test_a_chain_plays_every_step_in_turn(interpolation) -> None:
    page = interpolation
    cells, start = played_window(page, lambda: page.click(".ll-chain-lerp"), steps=48)
    chain = set()
    for i in range(9):
        svg = page.inner_html(item(".ll-strip-lerp", i))
        chain |= {(s + 32 * i, c) for s, c in svg_cells(svg)}
    heard = {(start + k) % (9 * 32) for k in range(48)}  # the chain is 9 x 32 steps long
    assert cells == {(s, c) for s, c in chain if s in heard} and cells
    # The strip lights up the groove of the chain that is sounding.
    page.wait_for_selector(".ll-strip-lerp .ll-strip-playing", timeout=WAIT_MS)
    assert page.locator(".ll-strip-playing").count() == 1
    assert page.locator(".ll-interp-machine .ll-dm-cell").count() == 9 * 9 * 32
    check_clean(page)


def test_dragging_on_the_blend_pad_plays_the_blend(interpolation) -> None:
    page = interpolation
    pad = page.locator(".ll-bp-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()

    def drag_to(fx: float, fy: float) -> None:
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=8)
        page.mouse.up()

    corner = played(page, lambda: drag_to(0.02, 0.02))
    near_a = r"/x 0\.0\d, y 0\.0\d/"
    page.wait_for_function(
        f"() => {near_a}.test(document.querySelector('.ll-interpolation').innerText)",
        timeout=WAIT_MS,
    )
    assert grid_cells(page, ".ll-blend-machine") == corner
    assert not page.evaluate(f"() => {HOOKS}.every((h) => h.playing())"), "one player at a time"
    other = played(page, lambda: drag_to(0.98, 0.98))
    assert grid_cells(page, ".ll-blend-machine") == other
    screenshot(page, ".ll-new-corners", "interpolation_blend.png")
    check_clean(page)


def test_a_new_groove_b_recomputes_the_paths(interpolation) -> None:
    page = interpolation
    last = item(".ll-strip-data", 8)
    before = page.inner_html(last)
    page.locator(".ll-picker-random").nth(1).click()
    page.wait_for_function(
        f"(before) => document.querySelector('{last}').innerHTML !== before",
        arg=before,
        timeout=WAIT_MS,
    )
    b_preview = page.locator(".ll-picker").nth(1).locator(".ll-strip-item").inner_html()
    assert svg_cells(page.inner_html(last)) == svg_cells(b_preview)
    check_clean(page)


def test_clicking_the_map_chooses_a(interpolation) -> None:
    page = interpolation
    maps = "window.latentlab.latentMaps[0]"
    page.locator(".ll-map-picker").scroll_into_view_if_needed()
    box = page.locator(".ll-map-picker canvas").bounding_box()
    inside = None
    for index in page.evaluate(f"() => Array.from({maps}.shown()).slice(0, 4000)")[::97]:
        x, y = page.evaluate(f"() => {maps}.pixelOf({index})")
        in_x = box["x"] + 20 < x < box["x"] + box["width"] - 20
        if in_x and box["y"] + 20 < y < box["y"] + box["height"] - 20:
            inside = (x, y)
            break
    assert inside, "a corpus point inside the map"
    preview = ".ll-picker >> nth=0 >> .ll-strip-item"
    before = page.inner_html(preview)
    page.mouse.move(*inside)
    page.wait_for_function(f"() => {maps}.hovered() !== null", timeout=WAIT_MS)
    page.mouse.click(*inside)
    page.wait_for_function(
        "(before) => document.querySelector('.ll-picker .ll-strip-item').innerHTML !== before",
        arg=before,
        timeout=WAIT_MS,
    )
    first = item(".ll-strip-data", 0)
    page.wait_for_function(
        f"""() => document.querySelector('{first} svg').outerHTML
            === document.querySelector('.ll-picker .ll-strip-item svg').outerHTML""",
        timeout=WAIT_MS,
    )
    check_clean(page)


def test_uploading_a_file_that_is_not_midi_says_so(interpolation, tmp_path) -> None:
    page = interpolation
    bad = tmp_path / "notes.mid"
    bad.write_text("these are not drums")
    picker = page.locator(".ll-picker").first
    picker.locator(".lm-TabBar-tab", has_text="Upload").click()
    with page.expect_file_chooser(timeout=WAIT_MS) as chooser:
        picker.locator(".ll-picker-upload").click()
    chooser.value.set_files(bad)
    error = page.locator(".ll-status-error")
    error.wait_for(timeout=WAIT_MS)
    assert "notes.mid: not a MIDI file" in error.inner_text()
    assert "Traceback" not in page.inner_text("body")
    screenshot(page, ".ll-picker", "interpolation_upload_error.png")
    picker.locator(".lm-TabBar-tab", has_text="Corpus").click()
    page.locator(".ll-picker-random").first.click()
    error.wait_for(state="detached", timeout=WAIT_MS)
    check_clean(page)


def test_the_first_click_on_a_grid_starts_sound_without_the_autoplay_flag(
    playwright, voila
) -> None:
    strict = launch(playwright, autoplay=False)
    try:
        page = serve(strict, voila, "interpolation.ipynb", ".ll-strip-data .ll-strip-item")
        page.click(item(".ll-strip-slerp", 2))
        page.wait_for_function(
            f"""() => {HOOKS}.some((h) => h.playing() && h.audioState() === 'running'
                && h.scheduled().length > 3)""",
            timeout=WAIT_MS,
        )
        check_clean(page)
    finally:
        strict.close()


# ---- attributes -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def attributes(browser, voila):
    page = serve(browser, voila, "attributes.ipynb", ".ll-attribute-strip .ll-strip-item")
    page.wait_for_selector(".ll-effect-matrix rect", timeout=WAIT_MS)
    yield page
    page.close()


def test_attributes_page_shows_pushes_curves_and_the_matrix(attributes) -> None:
    page = attributes
    assert page.locator(".ll-attribute-strip .ll-strip-item").count() == 9
    assert page.locator(".ll-attributes .bqplot").count() >= 11  # 10 curves and the matrix
    screenshot(page, ".ll-attributes", "attributes.png")
    screenshot(page, ".ll-attribute-strip", "attributes_push.png")
    screenshot(page, ".ll-effect-matrix", "attributes_matrix.png")
    check_clean(page)


def test_clicking_a_push_plays_it_and_sets_the_amount(attributes) -> None:
    page = attributes
    strip = ".ll-attribute-strip"
    cells = played(page, lambda: page.click(item(strip, 8)))
    assert cells == svg_cells(page.inner_html(item(strip, 8)))
    assert grid_cells(page, ".ll-attribute-machine") == cells
    assert "+2.00" in page.inner_text(".ll-amount")
    assert "pushed by +2.00 along the density vector" in page.inner_text(".ll-attribute-readout")
    check_clean(page)


def test_the_amount_slider_swaps_the_groove_while_playing(attributes) -> None:
    page = attributes
    handle = page.locator(".ll-amount .noUi-handle").first

    def slide() -> None:
        for _ in range(4):  # from +2 down to +1, one 0.25 step at a time
            handle.press("ArrowLeft")
        page.wait_for_function(
            "() => document.querySelector('.ll-attribute-readout').innerText.includes('+1.00')",
            timeout=WAIT_MS,
        )

    cells = played(page, slide)
    assert cells == svg_cells(page.inner_html(item(".ll-attribute-strip", 6)))
    assert "ll-strip-selected" in page.get_attribute(item(".ll-attribute-strip", 6), "class")
    check_clean(page)


def test_another_vector_redraws_the_pushes(attributes) -> None:
    page = attributes
    page.select_option(".ll-attribute select", label="Shuffle (swing ratio)")  # the registry's
    page.wait_for_function(
        "() => document.querySelector('.ll-attribute-readout').innerText.includes('shuffle')",
        timeout=WAIT_MS,
    )
    cells = played(page, lambda: page.click(item(".ll-attribute-strip", 0)))
    assert cells == svg_cells(page.inner_html(item(".ll-attribute-strip", 0)))
    assert "pushed by -2.00 along the shuffle vector" in page.inner_text(".ll-attribute-readout")
    check_clean(page)
