"""`latentlab dashboard`: Voila serving the notebooks folder, the explorer as landing page.

`/` redirects to the explorer; `/voila/tree` lists every dashboard. Pages load nothing from
outside: the template in dashboard_template/ drops the lines of Voila's page that fetch an
icon font from a CDN.

Every page gets a kernel of its own (a Python process holding the model), so serving a room
is about kernels:
- A closed or reloaded page's kernel is shut down. The page asks for it with the `_xsrf`
  cookie it reads, but Voila's page handler never sets that cookie, so the server refused
  every such request (voila-dashboards/voila#1458); the page handler here sets it.
- Kernels nobody is connected to (a browser that crashed, a page fetched without a browser)
  are culled after `cull_idle` seconds. A page left open is not culled.
- At most `max_sessions` kernels serve visitors at once; past that a visitor gets a short
  page saying the server is full, which retries by itself, instead of a machine swapping.
- `pool_size` kernels are preheated: Voila runs the explorer notebook in them before anyone
  asks, so a visit is interactive in a few seconds instead of the fifteen or more a cold
  kernel takes (benchmarks/bench_dashboard.py). Only the explorer is preheated.
- Kernels compute with one thread each (OMP_NUM_THREADS=1 unless set): with many sessions
  on few cores, more threads per kernel only make them wait on each other. They also give
  freed memory back to the system (KERNEL_ENV), and start without a debugger or a history
  database (`kernel_argv`): each holds ~345 MB resident, ~245 MB of it its own
  (benchmarks/bench_serving.py; torch alone is 180 MB).
- Off the loopback address a token is required (generated and printed unless given).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import secrets
import socket
import time
from pathlib import Path

from latentlab.errors import LatentLabError
from latentlab.shipped import shipped

NOTEBOOKS = shipped("notebooks")
LANDING = "explorer.ipynb"
TEMPLATE = Path(__file__).resolve().parent / "dashboard_template"  # Voila's page, offline
CHECKPOINT_FILES = ("config.json", "model.safetensors", "atlas.npz")
REFILL_DELAY = 5.0  # seconds after a visit takes a preheated kernel before preheating another
CULL_IDLE = 600  # seconds an unconnected kernel may sit idle before it is shut down
SESSION_MB = 400  # what one session costs the server, rounded up (benchmarks/bench_serving.py)
PLACE_WAIT = 10.0  # seconds a visit to a full server waits for a place (a reload frees one)
RETRY_S = 30  # the "server is full" page reloads itself after this long
# Kernel start and notebook output can be slow when many kernels start on a few cores:
# Voila's defaults (60 s to start, 4 s for a cell's output) left pages that never rendered.
KERNEL_START_TIMEOUT = 300
OUTPUT_TIMEOUT = 120
KERNEL_ENV = {
    "OMP_NUM_THREADS": "1",  # torch's and OpenBLAS's threads per kernel
    # glibc keeps freed memory of large arrays (loading the atlas) unless told to return it.
    "MALLOC_MMAP_THRESHOLD_": "131072",
    "MALLOC_TRIM_THRESHOLD_": "131072",
}
# A dashboard kernel starts as ipykernel's launcher starts one, less what a page never uses:
# the debugger (ipykernel imports debugpy into every kernel that can have it: 8 MB each) and
# the history database (every kernel would write the notebook's cells to one SQLite file).
LEAN_KERNEL = """\
import sys
sys.modules["debugpy"] = None
if sys.path[0] == "":
    del sys.path[0]
from ipykernel.kernelapp import launch_new_instance
launch_new_instance()
"""
LEAN_OPTIONS = ("--HistoryManager.enabled=False",)

FULL_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="{retry}">
<title>latentlab: the server is full</title>
<style>body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 34em; margin: 4em auto;
color: #24292f }}</style></head>
<body class="ll-server-full"><h1>The server is full</h1>
<p>This server serves at most {pages} at once, and that many are open now: each page needs
memory of its own on the server.</p>
<p>A place frees up when someone closes their page. This page tries again by itself every
{retry} seconds.</p>
<p style="color: #57606a">Running the server? <code>latentlab dashboard --max-sessions</code>
sets the limit.</p></body></html>
"""


def check_checkpoint(folder: Path) -> Path:
    """The checkpoint folder, resolved, if it has what the dashboards need."""
    if not folder.is_dir():
        raise LatentLabError(f"checkpoint {folder}: no such folder")
    missing = [f for f in CHECKPOINT_FILES if not (folder / f).is_file()]
    if missing:
        raise LatentLabError(f"checkpoint {folder}: missing {', '.join(missing)}")
    return folder.resolve()


def is_loopback(host: str) -> bool:
    """Whether `host` listens to this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name, or "" (every interface)


def default_max_sessions() -> int:
    """Sessions that fit in three quarters of this machine's memory, 2 to 50."""
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 8
    return max(2, min(50, int(0.75 * memory / (SESSION_MB * 2**20))))


def kernel_argv(argv: list[str]) -> list[str]:
    """A dashboard kernel's command line from its kernel spec's: ipykernel's Python kernel
    started lean (LEAN_KERNEL), any other kernel as it is."""
    if argv[1:3] != ["-m", "ipykernel_launcher"]:
        return list(argv)
    return [argv[0], "-c", LEAN_KERNEL, *argv[3:], *LEAN_OPTIONS]


def sessions_open(kernel_manager) -> int:
    """Kernels serving visitors: every kernel of the server but the preheated ones waiting
    in Voila's pool (its private `_pools`: notebook -> tasks giving {"kernel_id": ...})."""
    waiting = set()
    for pool in getattr(kernel_manager, "_pools", {}).values():
        for task in pool:
            if task.done() and not task.cancelled() and task.exception() is None:
                waiting.add(task.result()["kernel_id"])
    return len(set(kernel_manager.list_kernel_ids()) - waiting)


def _app_class():
    """The Voila application with `/` redirecting to the landing notebook, the page
    handler below and lean kernels (imported lazily: Voila takes a while to import)."""
    import tornado.web
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_server.utils import url_path_join
    from tornado.ioloop import IOLoop
    from traitlets import Integer, Unicode
    from voila.app import Voila
    from voila.tornado.handler import TornadoVoilaHandler

    class PageHandler(TornadoVoilaHandler):
        """Voila's page, with the `_xsrf` cookie the page sends back to shut its kernel
        down when it closes, and a "server is full" page past `max_sessions`."""

        def initialize(self, max_sessions: int, **kwargs) -> None:
            self.max_sessions = max_sessions
            super().initialize(**kwargs)

        @tornado.web.authenticated
        async def get(self, path=None) -> None:
            self.xsrf_token  # noqa: B018 (reading it sets the cookie)
            deadline = time.monotonic() + PLACE_WAIT
            while sessions_open(self.kernel_manager) >= self.max_sessions:
                if time.monotonic() > deadline:
                    self.set_status(503)
                    self.set_header("Retry-After", str(RETRY_S))
                    n = self.max_sessions
                    pages = f"{n} page" + ("s" if n != 1 else "")
                    self.finish(FULL_PAGE.format(pages=pages, retry=RETRY_S))
                    return
                await asyncio.sleep(0.5)
            await super().get(path)

    class KernelSpecs(KernelSpecManager):
        """Jupyter's kernel specs, the Python kernel's command line made lean."""

        def get_kernel_spec(self, kernel_name: str):
            spec = super().get_kernel_spec(kernel_name)
            if (lean := kernel_argv(spec.argv)) != spec.argv:
                spec.argv, spec.metadata = lean, {**spec.metadata, "debugger": False}
            return spec

    class DashboardApp(Voila):
        max_sessions = Integer(8, config=True, help="kernels serving visitors at once, at most")
        shown_token = Unicode("", config=True, help="token to print in the address, if any")

        def setup_template_dirs(self) -> None:
            super().setup_template_dirs()
            self.template_paths.insert(0, str(TEMPLATE))

        def init_settings(self) -> dict:
            self.voila_configuration.kernel_spec_manager_class = KernelSpecs
            return super().init_settings()

        def init_handlers(self) -> list:
            landing = url_path_join(self.server_url, "voila/render", LANDING)
            handlers = [
                (url, PageHandler, {**rest[0], "max_sessions": self.max_sessions})
                if handler is TornadoVoilaHandler
                else (url, handler, *rest)
                for url, handler, *rest in super().init_handlers()
            ]
            return [(self.server_url, tornado.web.RedirectHandler, {"url": landing})] + handlers

        def start(self) -> None:
            IOLoop.current().add_callback(self._announce)
            super().start()

        def _announce(self) -> None:
            host = self.ip if self.ip not in ("", "0.0.0.0", "::") else socket.gethostname()
            url = f"http://{host}:{self.port}{self.server_url}"
            query = f"?token={self.shown_token}" if self.shown_token else ""
            print(f"latentlab dashboard: {url}{query}  (all: {url}voila/tree)", flush=True)

    return DashboardApp


def dashboard_config(
    host: str = "127.0.0.1",
    port: int = 8866,
    pool_size: int = 1,
    max_sessions: int | None = None,
    cull_idle: int = CULL_IDLE,
    token: str | None = None,
    open_browser: bool = True,
):
    """The server's traitlets Config, and the token visitors need ("" for none).

    Off loopback a token is always required: `token`, else a new random one.
    """
    from traitlets.config import Config

    max_sessions = default_max_sessions() if max_sessions is None else max_sessions
    if max_sessions < 1:
        raise LatentLabError(f"--max-sessions {max_sessions}: give 1 or more")
    if not 0 <= pool_size <= max_sessions:
        raise LatentLabError(
            f"--pool-size {pool_size}: give 0 (no preheating) to --max-sessions ({max_sessions})"
        )
    if cull_idle < 0:
        raise LatentLabError(f"--cull-idle {cull_idle}: give seconds >= 0 (0: never cull)")
    if token is not None and not token.strip():
        raise LatentLabError("--token: give a non-empty token")
    if token is None and not is_loopback(host):
        token = secrets.token_urlsafe(24)

    config = Config()
    config.Voila.ip = host
    config.Voila.port = port
    config.Voila.open_browser = open_browser
    config.Voila.port_retries = 0  # the port asked for, or a clear failure
    config.Voila.token = token or None
    config.DashboardApp.max_sessions = max_sessions
    config.MappingKernelManager.cull_idle_timeout = cull_idle
    config.MappingKernelManager.cull_interval = max(1, min(60, cull_idle // 2))
    config.MappingKernelManager.cull_connected = False  # an open page keeps its kernel
    config.MappingKernelManager.kernel_info_timeout = KERNEL_START_TIMEOUT
    config.VoilaExecutor.startup_timeout = KERNEL_START_TIMEOUT
    config.VoilaExecutor.iopub_timeout = OUTPUT_TIMEOUT
    if pool_size:
        config.VoilaConfiguration.preheat_kernel = True
        config.VoilaConfiguration.default_pool_size = pool_size
        config.VoilaKernelManager.kernel_pools_config = {
            "default": {"pool_size": 0},
            LANDING: {"pool_size": pool_size},
        }
        config.VoilaKernelManager.fill_delay = REFILL_DELAY
    return config, token or ""


def serve(
    host: str = "127.0.0.1",
    port: int = 8866,
    checkpoint: str | os.PathLike | None = None,
    notebooks: str | os.PathLike | None = None,
    pool_size: int = 1,
    max_sessions: int | None = None,
    cull_idle: int = CULL_IDLE,
    token: str | None = None,
    open_browser: bool = True,
) -> None:
    """Run the dashboards until interrupted (see the module's docstring for the limits).

    max_sessions None fits the sessions to this machine's memory; pool_size 0 turns
    preheating off; cull_idle 0 never culls.
    """
    from latentlab.lab import default_checkpoint

    folder = Path(notebooks) if notebooks is not None else NOTEBOOKS
    if not (folder / LANDING).is_file():
        raise LatentLabError(f"notebooks {folder}: no {LANDING} there (pass --notebooks DIR)")
    config, required = dashboard_config(
        host, port, pool_size, max_sessions, cull_idle, token, open_browser
    )
    ckpt = check_checkpoint(Path(checkpoint) if checkpoint is not None else default_checkpoint())
    os.environ["LATENTLAB_CHECKPOINT"] = str(ckpt)  # kernels inherit the server's environment
    for name, value in KERNEL_ENV.items():
        os.environ.setdefault(name, value)
    print(f"latentlab dashboard: model {ckpt}, notebooks {folder.resolve()}", flush=True)
    culling = f"kernels left unconnected shut after {cull_idle} s" if cull_idle else "no culling"
    limit = config.DashboardApp.max_sessions
    print(f"sessions at once: {limit} at most, {pool_size} preheated; {culling}", flush=True)
    if not is_loopback(host):
        print(
            f"serving the network on {host or 'every interface'}: visitors need the "
            "token in the address below; this is plain HTTP, so put a reverse proxy with TLS "
            "in front (README: Dashboards)",
            flush=True,
        )
    config.DashboardApp.shown_token = required if token is None else ""  # a new one
    _app_class().launch_instance(argv=[str(folder)], config=config)
