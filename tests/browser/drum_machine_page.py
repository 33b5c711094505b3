"""The DrumMachine test page (drum_machine.ipynb in Voila), shared by its browser tests.

`page_fixtures` makes a test module's `served_page` (one page for the module, a kernel of its
own) and `page` (that page, checked after each test); `hook(page, call)` calls
window.latentlab.drumMachines[0].
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .browser_helpers import ACTION_TIMEOUT_MS, open_page

NOTEBOOK = Path(__file__).with_name("drum_machine.ipynb")
HOOK = "window.latentlab.drumMachines[0]"
WAIT_MS = ACTION_TIMEOUT_MS


def page_fixtures(init_script: str | None = None):
    """(served_page, page) fixtures; `init_script` runs in the page before its own scripts.

    After each test: no console errors, no Python errors, nothing but the Voila template's
    font links from outside localhost.
    """

    @pytest.fixture(scope="module")
    def served_page(browser, voila):
        url = voila(NOTEBOOK).url
        page = open_page(browser, url, ".ll-dm-cell", init_script, until=f"{HOOK} !== undefined")
        yield page
        page.close()

    @pytest.fixture
    def page(served_page):
        yield served_page
        assert served_page.watch.errors == []
        assert served_page.inner_text(".test-errors").strip() == ""
        assert all("fonts" in u or "fontawesome" in u for u in served_page.watch.external), (
            "only the Voila template's font links may leave localhost"
        )

    return served_page, page


def hook(page, call: str):
    return page.evaluate(f"() => {HOOK}.{call}")
