"""Browser-test helpers: notebooks served by Voila, driven by Playwright in Debian's Chromium.

`NotebookServer` runs Voila or JupyterLab in its own process group and stops it with os.killpg;
`launch` starts headless Chromium; `open_page` loads a served notebook and watches it for
console errors. Requests to other hosts get an empty answer, so the page works offline and the
template's font links add no console noise. conftest.py turns these into fixtures.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from conftest import scaled

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AUTOPLAY = "--autoplay-policy=no-user-gesture-required"
PAGE_TIMEOUT_MS = 1000 * scaled(60)  # a page load
ACTION_TIMEOUT_MS = 1000 * scaled(10)  # Playwright's limit for one click, key press, ...
LOCAL = "http://127.0.0.1:"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NotebookServer:
    """A Voila or JupyterLab server on a free localhost port, in its own process group."""

    def __init__(self, name: str, args: list[str], cwd: Path, log_dir: Path) -> None:
        self.name = name
        self.port = _free_port()
        self.url = f"{LOCAL}{self.port}/"
        self.log = log_dir / f"{name}.log"
        command = [sys.executable, "-m", *args, "--no-browser", f"--port={self.port}"]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_listening(scaled(60))

    @classmethod
    def voila(cls, notebook: Path, log_dir: Path) -> NotebookServer:
        """`voila NOTEBOOK`: the page is at `url`; each visit runs the notebook in a kernel."""
        args = ["voila", str(notebook), "--Voila.ip=127.0.0.1", "--show_tracebacks=True"]
        return cls(f"voila-{notebook.stem}", args, notebook.parent, log_dir)

    @classmethod
    def jupyterlab(cls, root: Path, log_dir: Path) -> NotebookServer:
        """JupyterLab on folder `root`; `lab_url` is the address of a notebook in it."""
        token = secrets.token_hex(16)
        args = [
            "jupyter",
            "lab",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            "--allow-root",
            f"--ServerApp.root_dir={root}",
            f"--LabServerApp.workspaces_dir={log_dir / 'lab-workspaces'}",
        ]
        server = cls("jupyterlab", args, root, log_dir)
        server.token = token
        return server

    def lab_url(self, notebook: str) -> str:
        return f"{self.url}lab/tree/{notebook}?token={self.token}"

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log.read_text()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not listen in {timeout} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        """End the server and its kernels (the whole process group)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


@dataclass
class PageWatch:
    """Console errors, uncaught page errors and requests that left localhost."""

    errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)

    def on_console(self, msg) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text} ({msg.location.get('url', '')})")

    def on_page_error(self, error) -> None:
        self.errors.append(f"page error: {error}")


def launch(playwright, autoplay: bool = True):
    """Headless Debian Chromium; `autoplay=False` keeps the browser's real audio start policy."""
    args = CHROMIUM_ARGS + ([AUTOPLAY] if autoplay else [])
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)


def open_page(
    browser, url: str, ready_selector: str, init_script: str | None = None, until: str = ""
):
    """A 1280x800 page of `url`, loaded until `ready_selector` shows and the JavaScript
    expression `until` (if given) is true; its console and outside requests are watched in
    `page.watch` (a PageWatch).

    `init_script` runs in the page before its own scripts (to stub a browser API)."""
    page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    if init_script:
        page.add_init_script(init_script)
    watch = PageWatch()
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    page.on("console", watch.on_console)
    page.on("pageerror", watch.on_page_error)

    def offline(route) -> None:
        watch.external.append(route.request.url)
        route.fulfill(status=200, body="")

    page.route(lambda url: not url.startswith(LOCAL), offline)
    page.goto(url, timeout=PAGE_TIMEOUT_MS)
    page.wait_for_selector(ready_selector, timeout=PAGE_TIMEOUT_MS)
    if until:
        page.wait_for_function(f"() => {until}", timeout=PAGE_TIMEOUT_MS)
    page.watch = watch
    return page


def run_in_jupyterlab(page, done_selector: str, timeout: float = scaled(60)) -> None:
    """Run all cells of the notebook open in JupyterLab until `done_selector` shows.

    On a busy machine JupyterLab sometimes drops a run made while its kernel connects, or
    asks which kernel to start: the dialog is accepted (its default is the notebook's
    kernel) and the cells run again, as they do every 10 s until the selector shows.
    """
    deadline = time.monotonic() + timeout
    dialog = page.locator(".jp-Dialog .jp-mod-accept")
    next_run = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() >= next_run:
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.locator('[data-command="runmenu:run-all"]').click()
            next_run = time.monotonic() + 10
        page.wait_for_timeout(250)
        if page.locator(done_selector).count():
            return
        if dialog.count() and dialog.is_visible():
            dialog.click()
            next_run = 0.0
    raise TimeoutError(f"JupyterLab: {done_selector} did not show within {timeout} s")
