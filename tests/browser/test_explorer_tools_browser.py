"""The explorer's Humanize and Drumify buttons in a real browser, on a checkpoint that has a
humanize model and no drumify model (the tiny test checkpoint, copied without drumify): one
button replaces the groove with the facade's, the other says in words why it cannot."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from latentlab.lab import LatentLab
from latentlab.pattern import DrumPattern

from .browser_helpers import ACTION_TIMEOUT_MS, NotebookServer, open_page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
WAIT_MS = ACTION_TIMEOUT_MS


@pytest.fixture(scope="module")
def checkpoint(tiny_checkpoint, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ckpt") / "no-drumify"
    shutil.copytree(tiny_checkpoint, folder, ignore=shutil.ignore_patterns("drumify.*"))
    return folder


@pytest.fixture(scope="module")
def page(browser, checkpoint, tmp_path_factory):
    args = ["latentlab.cli", "dashboard", "--pool-size=0", f"--checkpoint={checkpoint}"]
    server = NotebookServer("dashboard", args, ROOT, tmp_path_factory.mktemp("dashboard"))
    try:
        page = open_page(browser, server.url, ".ll-ng-cell svg")
        yield page
        assert page.watch.errors == [] and page.watch.external == []
        page.close()
    finally:
        server.stop()


def groove_in_page(page) -> DrumPattern:
    """The drum machine's groove, from its NoteSequence JSON download."""
    with page.expect_download(timeout=WAIT_MS) as download:
        page.click(".ll-dm-download-json")
    text = Path(download.value.path()).read_text()
    return DrumPattern.from_note_sequence_json(text, bars=2)


def test_humanize_gives_the_groove_in_the_machine_the_facades_dynamics(page, checkpoint):
    before = groove_in_page(page)
    page.click(".ll-ex-humanize")
    page.wait_for_function(
        "() => document.querySelector('.ll-ex-now').innerText.includes('humanized: ')",
        timeout=WAIT_MS,
    )
    after = groove_in_page(page)
    humanized = LatentLab.load(checkpoint, device="cpu").humanize(before)
    # As the download has it (a note at step 0 cannot start before the groove does).
    expected = DrumPattern.from_note_sequence_json(humanized.to_note_sequence_json(), bars=2)
    assert np.array_equal(after.hits, before.hits), "every hit is kept"
    assert np.allclose(after.velocities, expected.velocities, atol=1e-6)
    assert np.allclose(after.offsets, expected.offsets, atol=1e-4)
    assert page.locator(".ll-ex-message.ll-status-error").count() == 0


def test_drumify_without_its_model_says_so_and_the_page_goes_on(page) -> None:
    here = page.inner_text(".ll-ex-now")
    page.click(".ll-ex-drumify")
    error = page.locator(".ll-ex-message.ll-status-error")
    error.wait_for(timeout=WAIT_MS)
    assert error.inner_text() == (
        "Drumify is not available with this model (no-drumify): no drumify model was "
        "trained for it."
    )
    assert page.inner_text(".ll-ex-now") == here
    assert page.locator(".ll-ex-drumify").is_enabled()
    page.click(".ll-ex-jump")
    error.wait_for(state="detached", timeout=WAIT_MS)
