"""Serving a room: `latentlab dashboard`'s kernels go when their pages do, kernels left
behind are culled, a full server says so, and a token guards it.

Each test starts its own dashboard with small limits and watches its kernels through the
server's /api/kernels/<id> (a page's kernel id is in its page config). Waits are on
conditions, with deadlines scaled by LATENTLAB_TEST_TIMEOUT_SCALE. Pages open as tabs of one
browser context, as a user's tabs are: closing one runs its unload handlers, which send the
kernel's shutdown request (a page from `browser.new_page` takes its own context, and the
network, down with it when closed).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import scaled

from .browser_helpers import ACTION_TIMEOUT_MS, PAGE_TIMEOUT_MS, NotebookServer

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
READY = ".ll-dm-play"  # the explorer's player: rendered once the kernel is connected
KERNEL_ID = "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId"


def get(url: str) -> tuple[int, str, str]:
    """Status, final address (after redirects) and text of a plain GET, no browser."""
    try:
        with urllib.request.urlopen(url, timeout=scaled(60)) as response:
            return response.status, response.url, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.url, error.read().decode()


def kernel(server: NotebookServer, kernel_id: str, token: str = "") -> dict | None:
    """The server's model of a kernel ({"connections": ..., ...}); None once it is gone."""
    status, _, text = get(f"{server.url}api/kernels/{kernel_id}?token={token}")
    assert status in (200, 404), text
    return json.loads(text) if status == 200 else None


def wait_until(condition, what: str, seconds: float) -> None:
    deadline = time.monotonic() + scaled(seconds)
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {scaled(seconds):.0f} s")
        time.sleep(0.5)


def open_tab(tabs, url: str):
    """A new tab of the context `tabs` showing `url`, once the explorer is interactive."""
    page = tabs.new_page()
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    page.goto(url, timeout=PAGE_TIMEOUT_MS)
    page.wait_for_selector(READY, timeout=PAGE_TIMEOUT_MS)
    return page


@pytest.fixture
def dashboard(tmp_path: Path):
    """Factory: `latentlab dashboard OPTIONS` on a free port, stopped after the test."""
    servers: list[NotebookServer] = []

    def start(*options: str) -> NotebookServer:
        args = ["latentlab.cli", "dashboard", *options]
        servers.append(NotebookServer("dashboard", args, ROOT, tmp_path))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def tabs(browser):
    """A browser context (one user's window) for the test's tabs."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context
    context.close()


def test_a_reloaded_or_closed_page_shuts_its_kernel_down(tabs, dashboard):
    server = dashboard("--pool-size=1")
    page = open_tab(tabs, server.url)
    first = page.evaluate(KERNEL_ID)
    assert kernel(server, first)["connections"] >= 1
    page.reload()
    page.wait_for_selector(READY, timeout=PAGE_TIMEOUT_MS)
    second = page.evaluate(KERNEL_ID)
    assert second != first
    wait_until(lambda: kernel(server, first) is None, "the reloaded page's kernel gone", 30)
    page.close(run_before_unload=True)
    wait_until(lambda: kernel(server, second) is None, "the closed page's kernel gone", 30)
    assert "_xsrf" not in server.log.read_text(), "every shutdown request was accepted"


def test_kernels_without_a_page_are_culled_and_open_pages_kept(tabs, dashboard):
    server = dashboard("--pool-size=0", "--cull-idle=3")
    page = open_tab(tabs, server.url)
    kept = page.evaluate(KERNEL_ID)
    # A GET without a browser runs the notebook in a kernel that no page will connect to.
    status, _, html = get(f"{server.url}voila/render/explorer.ipynb")
    assert status == 200
    orphan = re.search(r'"kernelId": "([0-9a-f-]+)"', html).group(1)
    wait_until(lambda: kernel(server, orphan) is None, "the unconnected kernel culled", 60)
    assert "Culling" in server.log.read_text()
    assert kernel(server, kept) is not None, "an open page keeps its kernel however idle"


def test_past_max_sessions_a_visitor_is_told_the_server_is_full(tabs, dashboard):
    server = dashboard("--pool-size=0", "--max-sessions=1")
    first = open_tab(tabs, server.url)
    second = tabs.new_page()
    response = second.goto(server.url, timeout=PAGE_TIMEOUT_MS)
    assert response.status == 503
    assert "The server is full" in second.inner_text("h1")
    assert "at most 1 page at once" in second.inner_text("body")
    first_kernel = first.evaluate(KERNEL_ID)
    first.close(run_before_unload=True)
    wait_until(lambda: kernel(server, first_kernel) is None, "the first page's kernel gone", 30)
    second.reload(timeout=PAGE_TIMEOUT_MS)
    second.wait_for_selector(READY, timeout=PAGE_TIMEOUT_MS)


def test_a_token_guards_the_dashboards(tabs, dashboard):
    server = dashboard("--pool-size=0", "--token=let-me-in")
    for path in ("", "voila/tree", "voila/render/explorer.ipynb"):
        status, url, text = get(server.url + path)
        assert "/login" in url and "Password or token" in text, path
    assert get(f"{server.url}voila/api/contents")[0] == 403
    status, _, text = get(f"{server.url}voila/api/contents?token=let-me-in")
    assert status == 200
    assert "explorer.ipynb" in [item["name"] for item in json.loads(text)["content"]]
    page = open_tab(tabs, f"{server.url}?token=let-me-in")
    kernel_id = page.evaluate(KERNEL_ID)
    assert get(f"{server.url}api/kernels/{kernel_id}")[0] == 403, "no token, no answer"
    page.close(run_before_unload=True)
    wait_until(lambda: kernel(server, kernel_id, "let-me-in") is None, "the page's kernel gone", 30)
