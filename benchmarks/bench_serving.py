"""Serving a room: kernels, memory and responsiveness of `latentlab dashboard` under visits.

Against a dashboard on 127.0.0.1, driven by headless Chromium:
- Sequence: N explorer pages opened one after another, each closed once interactive (a
  tab closed, as a user does); then the server is left alone for --hold seconds. Records the
  kernels left, and the RSS of the server's whole process tree over time.
- Together: M pages (M users, one browser context each) asked for at once from a dashboard
  preheating M kernels: seconds from asking to interactive; then every page plays and clicks
  map points, all pages in each round, click to the new groove's first note scheduled (the
  page's clock, as benchmarks/bench_dashboard.py); and the server tree's RSS.
- Burst: B pages asked for at once from a dashboard with the default pool: how many become
  interactive within --burst-limit seconds.
- Memory of one session: RSS, PSS and USS (memory no other process shares) of the kernels
  serving the Together pages, and what one kernel holds by part (measured in a kernel
  started as the dashboard starts one, running the explorer notebook's steps one by one).
Writes benchmarks/results/serving.json, with the machine's load (figures measured beside
other work say so there).

    python benchmarks/bench_serving.py [--pages 10] [--together 6] [--clicks 10] [--burst 10]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from bench_dashboard import DM, MAP, READY  # noqa: E402
from browser.browser_helpers import CHROMIUM, NotebookServer, launch  # noqa: E402
from common import machine, summary  # noqa: E402
from playwright.sync_api import Error as PlaywrightError  # noqa: E402

RESULT = ROOT / "benchmarks" / "results" / "serving.json"
KERNEL_ID = "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId"
TARGETS = {
    "kernels_left_after_hold": "<= pool + 2",
    "rss_per_session_mb": 300,
    "together_interactive_s": 30,
    "click_to_first_note_p50_ms": 300,
}
LIMITS = {"pages": 30, "together": 12, "burst": 20, "clicks": 40}  # bounds on the load made


# ---- processes --------------------------------------------------------------------------
def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError):
            continue
        tree.setdefault(parent, []).append(int(pid))
    return tree


def process_tree(root: int) -> list[int]:
    tree, out, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += tree.get(pid, [])
    return out


def memory_mb(pid: int) -> dict[str, float]:
    """RSS, PSS and USS of a process in MB (USS: its private pages, what it alone costs)."""
    fields = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            name, value = line.split(":")
            fields[name] = int(value.split()[0]) / 1024
    except OSError:
        return {"rss": 0.0, "pss": 0.0, "uss": 0.0}
    uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return {"rss": fields.get("Rss", 0), "pss": fields.get("Pss", 0), "uss": uss}


def tree_memory(server: NotebookServer) -> dict[str, int]:
    """The server's whole process tree: RSS summed (shared pages counted in every process)
    and PSS summed (shared pages split between their processes: the memory really used)."""
    mems = [memory_mb(pid) for pid in process_tree(server.process.pid)]
    return {
        "rss_mb": round(sum(m["rss"] for m in mems)),
        "pss_mb": round(sum(m["pss"] for m in mems)),
    }


def kernel_pids(server: NotebookServer) -> dict[str, int]:
    """Kernel id -> pid of every kernel of the server."""
    out = {}
    for pid in process_tree(server.process.pid):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        for arg in args:
            name = Path(arg.decode(errors="replace")).name
            if name.startswith("kernel-") and name.endswith(".json"):
                out[name.removeprefix("kernel-").removesuffix(".json")] = pid
    return out


class TreeSampler(threading.Thread):
    """Samples the server tree's RSS and kernel count every `every` seconds."""

    def __init__(self, server: NotebookServer, every: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.server, self.every, self.started = server, every, time.monotonic()
        self.samples: list[dict] = []
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.every):
            self.samples.append(
                {
                    "t_s": round(time.monotonic() - self.started, 1),
                    **tree_memory(self.server),
                    "kernels": len(kernel_pids(self.server)),
                }
            )

    def stop(self) -> None:
        self._done.set()
        self.join()


def dashboard(log_dir: Path, *options: str) -> NotebookServer:
    args = ["latentlab.cli", "dashboard", *options]
    return NotebookServer("dashboard", args, ROOT, log_dir)


@contextmanager
def serving(log_dir: Path, pool: int):
    """A dashboard preheating `pool` kernels, once they ran the notebook, its process tree
    sampled every second: yields (server, sampler); stops both after."""
    server = dashboard(log_dir, f"--pool-size={pool}")
    sampler = TreeSampler(server)
    sampler.start()
    try:
        wait_pool(server, pool, 900)
        yield server, sampler
    finally:
        sampler.stop()
        server.stop()


def wait_pool(server: NotebookServer, size: int, limit: float) -> None:
    """Until `size` kernels run and their CPU time stopped growing (the notebook ran)."""
    deadline, last = time.monotonic() + limit, None
    while time.monotonic() < deadline:
        cpu = {}
        for kid, pid in kernel_pids(server).items():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                cpu[kid] = int(fields[11]) + int(fields[12])
            except OSError:
                continue
        if len(cpu) >= size and cpu == last:
            return
        last = cpu
        time.sleep(2)
    raise TimeoutError(f"the pool of {size} did not fill in {limit} s")


# ---- pages ------------------------------------------------------------------------------
def ask(browser, url: str):
    """A page of its own context (one user) asking for `url`; returns (context, page, t0)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    started = time.monotonic()
    page.goto(url, wait_until="commit", timeout=600_000)
    return context, page, started


def wait_interactive(pages: list, limit: float) -> list[float | None]:
    """Seconds from asking to interactive for each (context, page, t0); None if not in time."""
    done: list[float | None] = [None] * len(pages)
    deadline = time.monotonic() + limit
    while None in done and time.monotonic() < deadline:
        for i, (_, page, started) in enumerate(pages):
            try:
                if done[i] is None and page.evaluate(f"({READY})()"):
                    done[i] = time.monotonic() - started
            except PlaywrightError:  # the page is still loading its scripts
                continue
        time.sleep(0.2)
    return done


def sequence(browser, log_dir: Path, n: int, hold: float, pool: int) -> dict:
    seconds = []
    with serving(log_dir, pool) as (server, sampler):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        for _ in range(n):
            page = context.new_page()
            started = time.monotonic()
            page.goto(server.url, timeout=600_000)
            page.wait_for_function(READY, timeout=600_000, polling=100)
            seconds.append(time.monotonic() - started)
            page.close(run_before_unload=True)
        closed_at = time.monotonic()
        time.sleep(hold)
        left = len(kernel_pids(server))
        context.close()
    samples = sampler.samples
    return {
        "pages": n,
        "pool_size": pool,
        "interactive_s": summary(seconds),
        "kernels_left_after_hold": left,
        "hold_s": hold,
        "closed_last_page_at_s": round(closed_at - sampler.started, 1),
        "server_tree_mb": {
            "rss_max": max(s["rss_mb"] for s in samples),
            "pss_max": max(s["pss_mb"] for s in samples),
            "rss_end": samples[-1]["rss_mb"],
            "pss_end": samples[-1]["pss_mb"],
        },
        "over_time": samples[::5],
    }


def click_round(pages: list, rng: random.Random) -> list[float]:
    """One click on a random map point in every page, then each page's click-to-first-note."""
    pending = []
    for _, page, _ in pages:
        shown = page.evaluate(f"() => Array.from({MAP}.shown())")
        box = page.locator(".ll-map-figure canvas").bounding_box()
        while True:
            x, y = page.evaluate(f"() => {MAP}.pixelOf({rng.choice(shown)})")
            if 0 < x - box["x"] < box["width"] and 0 < y - box["y"] < box["height"]:
                break
        version = page.evaluate(f"() => {DM}.version()")
        picks = len(page.evaluate(f"() => {MAP}.picks()"))
        page.mouse.click(x, y)
        pending.append((page, version, picks))
    latencies = []
    for page, version, picks in pending:
        page.wait_for_function(f"() => {MAP}.picks().length > {picks}", timeout=120_000)
        page.wait_for_function(
            f"() => {DM}.scheduled().some((e) => e.version > {version})", timeout=120_000
        )
        clicked = page.evaluate(f"() => {MAP}.picks().at(-1).at")
        note = page.evaluate(f"() => {DM}.scheduled().find((e) => e.version > {version}).at")
        latencies.append(note - clicked)
    return latencies


def together(browser, log_dir: Path, m: int, clicks: int, seed: int = 0) -> dict:
    with serving(log_dir, m) as (server, sampler):
        pool_ready = tree_memory(server)
        pages = [ask(browser, server.url) for _ in range(m)]
        ready = wait_interactive(pages, 600)
        live = [p for p, s in zip(pages, ready, strict=True) if s is not None]
        kernels = [memory_mb(kernel_pids(server)[p.evaluate(KERNEL_ID)]) for _, p, _ in live]
        for _, page, _ in live:
            page.click(".ll-dm-play")
            page.wait_for_function(f"() => {DM}.playing()", timeout=60_000)
        rng = random.Random(seed)
        latencies = []
        for _ in range(clicks):
            time.sleep(rng.uniform(0.4, 0.8))
            latencies += click_round(live, rng)
        pages_open = tree_memory(server)
        for context, _, _ in pages:
            context.close()
    samples = sampler.samples
    per_kernel = {k: summary([mem[k] for mem in kernels], 0) for k in ("rss", "pss", "uss")}
    return {
        "pages": m,
        "pool_size": m,
        "interactive": sum(s is not None for s in ready),
        "interactive_s": summary([s for s in ready if s is not None]),
        "click_to_first_note_ms": summary(latencies, 1),
        "session_kernel_mb": per_kernel,
        "server_tree_mb": {
            "pool_ready_no_page": pool_ready,
            "pages_open": pages_open,
            "rss_max": max(s["rss_mb"] for s in samples),
            "pss_max": max(s["pss_mb"] for s in samples),
        },
    }


def burst(browser, log_dir: Path, b: int, limit: float) -> dict:
    with serving(log_dir, 1) as (server, _):
        pages = [ask(browser, server.url) for _ in range(b)]
        ready = wait_interactive(pages, limit)
        for context, _, _ in pages:
            context.close()
    served = [s for s in ready if s is not None]
    return {
        "pages": b,
        "pool_size": 1,
        "limit_s": limit,
        "interactive": len(served),
        "interactive_s": summary(served) if served else None,
    }


PARTS = [  # what the explorer notebook does, step by step: (part, code)
    ("kernel (python, ipykernel)", ""),
    ("ipywidgets", "import ipywidgets"),
    ("numpy", "import numpy"),
    ("torch", "import torch"),
    ("latentlab widgets", "import latentlab.widgets.explorer as ex"),
    (
        "model",
        "from latentlab.checkpoint import load_checkpoint\n"
        "from latentlab.lab import LatentLab, default_checkpoint\n"
        "model, config = load_checkpoint(default_checkpoint(), None)",
    ),
    ("atlas", "from latentlab.atlas import Atlas\natlas = Atlas.load(default_checkpoint())"),
    (
        "explorer built",
        "explorer = ex.Explorer(LatentLab(model, config, atlas, default_checkpoint()))\n"
        "explorer.show()",
    ),
    ("first decodes", "for _ in range(5):\n    explorer.state.sample()"),
]
HEAVY = """\
import json, sys
heavy = ('umap', 'numba', 'sklearn', 'scipy', 'pynndescent', 'debugpy', 'torch._dynamo')
print(json.dumps([m for m in heavy if sys.modules.get(m) is not None]))
"""


def parts() -> dict:
    """MB of RSS, PSS and USS each step of the explorer notebook adds to a kernel started
    as the dashboard starts one."""
    from kernel_helpers import dashboard_kernel, run

    from latentlab.dashboard import NOTEBOOKS

    steps = {}
    with dashboard_kernel(NOTEBOOKS, 300) as (client, pid):
        for name, code in PARTS:
            run(client, code + "\nimport gc\ngc.collect()", 600)
            time.sleep(0.5)
            steps[name] = memory_mb(pid)
        heavy = json.loads(run(client, HEAVY, 60))
    added, before = {}, {"rss": 0.0, "pss": 0.0, "uss": 0.0}
    for name, mem in steps.items():
        added[name] = {k: round(mem[k] - before[k]) for k in ("rss", "pss", "uss")}
        before = mem
    total = {k: round(v) for k, v in before.items()}
    return {"added_mb": added, "total_mb": total, "also_imported": heavy, "of": list(steps)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10, help="sequence: pages one by one")
    parser.add_argument("--hold", type=float, default=90, help="seconds left alone after")
    parser.add_argument("--together", type=int, default=6, help="pages asked for at once")
    parser.add_argument("--clicks", type=int, default=10, help="map clicks per page")
    parser.add_argument("--burst", type=int, default=10, help="pages at once, default pool")
    parser.add_argument("--burst-limit", type=float, default=600, help="seconds to be served")
    parser.add_argument("--out", type=Path, default=RESULT, help="the JSON file to write")
    args = parser.parse_args()
    for name, most in LIMITS.items():
        if not 1 <= getattr(args, name) <= most:
            sys.exit(f"--{name} {getattr(args, name)}: give 1 to {most}")
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    load_before = os.getloadavg()
    memory = parts()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        log_dir = Path(tmp)
        browser = launch(p)
        seq = sequence(browser, log_dir, args.pages, args.hold, pool=1)
        tog = together(browser, log_dir, args.together, args.clicks)
        bur = burst(browser, log_dir, args.burst, args.burst_limit)
        browser.close()
    uss = tog["session_kernel_mb"]["uss"]["median"]
    result = {
        "benchmark": "latentlab dashboard serving a room: kernels, memory, responsiveness",
        "targets": TARGETS,
        "sequence": seq,
        "together": tog,
        "burst": bur,
        "one_kernel_by_part": memory,
        "passed": {
            "kernels_left_after_hold": seq["kernels_left_after_hold"] <= seq["pool_size"] + 2,
            "rss_per_session_mb": tog["session_kernel_mb"]["rss"]["median"] <= 300,
            "pss_per_session_mb": tog["session_kernel_mb"]["pss"]["median"] <= 300,
            "uss_per_session_mb": uss <= 300,
            "together_interactive_s": tog["interactive"] == args.together
            and tog["interactive_s"]["max"] <= 30,
            "click_to_first_note_p50_ms": tog["click_to_first_note_ms"]["median"] <= 300,
            "burst_all_served": bur["interactive"] == args.burst,
        },
        "definitions": {
            "interactive": "the map, grid and drum machine views rendered from a live kernel",
            "kernels_left_after_hold": "kernels of the server --hold s after the last page "
            "closed (the preheated pool included)",
            "uss": "memory only that kernel holds (smaps_rollup Private_*); RSS also counts "
            "pages shared with other kernels (libraries, the page cache)",
            "pss": "RSS with each shared page split between the processes sharing it: a "
            "kernel's share of the machine's memory",
            "click_to_first_note": "map click (page clock) to the new groove's first note "
            "scheduled, every open page clicking in each round",
        },
        "load_average_before": [round(x, 2) for x in load_before],
        "machine": machine(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    shown = {k: result[k] for k in ("passed", "one_kernel_by_part")}
    shown["session_kernel_mb"] = tog["session_kernel_mb"]
    print(json.dumps(shown, indent=2))


if __name__ == "__main__":
    main()
