"""`latentlab dashboard`: Voila serving the notebooks folder, the explorer as landing page.

`/` redirects to the explorer; `/voila/tree` lists every dashboard. Pages load nothing from
outside: the template in dashboard_template/ drops the lines of Voila's page that fetch an
icon font from a CDN. Kernels are preheated: Voila runs the explorer notebook in a pool of
kernels before anyone asks, so a visit gets a kernel whose model is loaded and widgets built
and the page is interactive in a few seconds instead of the fifteen or more a cold kernel
takes on a small machine (benchmarks/bench_dashboard.py). Only the explorer is preheated:
each preheated kernel holds a model in memory and costs CPU to start.
"""

from __future__ import annotations

import os
from pathlib import Path

from latentlab.errors import LatentLabError

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
LANDING = "explorer.ipynb"
TEMPLATE = Path(__file__).resolve().parent / "dashboard_template"  # Voila's page, offline
CHECKPOINT_FILES = ("config.json", "model.safetensors", "atlas.npz")
REFILL_DELAY = 5.0  # seconds after a visit takes a preheated kernel before preheating another


def check_checkpoint(folder: Path) -> Path:
    """The checkpoint folder, resolved, if it has what the dashboards need."""
    if not folder.is_dir():
        raise LatentLabError(f"checkpoint {folder}: no such folder")
    missing = [f for f in CHECKPOINT_FILES if not (folder / f).is_file()]
    if missing:
        raise LatentLabError(f"checkpoint {folder}: missing {', '.join(missing)}")
    return folder.resolve()


def _app_class():
    """The Voila application with `/` redirecting to the landing notebook (imported lazily:
    Voila takes a while to import)."""
    from jupyter_server.utils import url_path_join
    from tornado.ioloop import IOLoop
    from tornado.web import RedirectHandler
    from voila.app import Voila

    class DashboardApp(Voila):
        def setup_template_dirs(self) -> None:
            super().setup_template_dirs()
            self.template_paths.insert(0, str(TEMPLATE))

        def init_handlers(self) -> list:
            landing = url_path_join(self.server_url, "voila/render", LANDING)
            return [(self.server_url, RedirectHandler, {"url": landing})] + super().init_handlers()

        def start(self) -> None:
            IOLoop.current().add_callback(self._announce)
            super().start()

        def _announce(self) -> None:
            url = f"http://{self.ip}:{self.port}{self.server_url}"
            print(f"latentlab dashboard: {url}  (all dashboards: {url}voila/tree)", flush=True)

    return DashboardApp


def serve(
    host: str = "127.0.0.1",
    port: int = 8866,
    checkpoint: str | os.PathLike | None = None,
    notebooks: str | os.PathLike | None = None,
    pool_size: int = 1,
    open_browser: bool = True,
) -> None:
    """Run the dashboards until interrupted. pool_size 0 turns preheating off."""
    from traitlets.config import Config

    from latentlab.lab import default_checkpoint

    folder = Path(notebooks) if notebooks is not None else NOTEBOOKS
    if not (folder / LANDING).is_file():
        raise LatentLabError(f"notebooks {folder}: no {LANDING} there (pass --notebooks DIR)")
    if not 0 <= pool_size <= 8:
        raise LatentLabError(f"--pool-size {pool_size}: give 0 (no preheating) to 8")
    ckpt = check_checkpoint(Path(checkpoint) if checkpoint is not None else default_checkpoint())
    os.environ["LATENTLAB_CHECKPOINT"] = str(ckpt)  # kernels inherit the server's environment

    config = Config()
    config.Voila.ip = host
    config.Voila.port = port
    config.Voila.open_browser = open_browser
    config.Voila.port_retries = 0  # the port asked for, or a clear failure
    if pool_size:
        config.VoilaConfiguration.preheat_kernel = True
        config.VoilaConfiguration.default_pool_size = pool_size
        config.VoilaKernelManager.kernel_pools_config = {
            "default": {"pool_size": 0},
            LANDING: {"pool_size": pool_size},
        }
        config.VoilaKernelManager.fill_delay = REFILL_DELAY
    print(f"latentlab dashboard: model {ckpt}, notebooks {folder.resolve()}", flush=True)
    if pool_size:
        print(f"preheating {pool_size} kernel(s) for the explorer", flush=True)
    _app_class().launch_instance(argv=[str(folder)], config=config)
