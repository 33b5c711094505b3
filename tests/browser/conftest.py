"""Fixtures for browser tests of notebooks and dashboards (helpers in browser_helpers.py).

`playwright` and `browser` (headless Debian Chromium) skip the test when /usr/bin/chromium or
Playwright is missing; `voila` starts a notebook's Voila server once and stops it at the end;
`jupyterlab` starts JupyterLab on a folder for one test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .browser_helpers import CHROMIUM, NotebookServer, launch


@pytest.fixture(scope="session")
def playwright():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright):
    chromium = launch(playwright)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def voila(tmp_path_factory) -> Iterator[Callable[[Path], NotebookServer]]:
    """Factory: the Voila server of a notebook, started on first use, stopped at the end."""
    servers: dict[Path, NotebookServer] = {}
    log_dir = tmp_path_factory.mktemp("voila")

    def serve(notebook: Path) -> NotebookServer:
        if notebook not in servers:
            servers[notebook] = NotebookServer.voila(notebook, log_dir)
        return servers[notebook]

    yield serve
    for server in servers.values():
        server.stop()


@pytest.fixture
def jupyterlab(tmp_path_factory) -> Iterator[Callable[[Path], NotebookServer]]:
    """Factory: a JupyterLab server on a folder, stopped after the test."""
    servers: list[NotebookServer] = []
    log_dir = tmp_path_factory.mktemp("jupyterlab")

    def serve(root: Path) -> NotebookServer:
        servers.append(NotebookServer.jupyterlab(root, log_dir))
        return servers[-1]

    yield serve
    for server in servers:
        server.stop()
