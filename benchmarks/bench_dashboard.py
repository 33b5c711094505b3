"""How soon `latentlab dashboard` gives a usable explorer, and how soon a map click sounds.

Start, cold: from launching `latentlab dashboard --pool-size 0` to the explorer interactive in
headless Chromium (its map, neighbourhood grid and drum machine rendered from a live kernel:
Voila renders widgets only once the kernel is connected); a fresh server each run.
Start, preheated: `latentlab dashboard` (one preheated kernel) runs already; once its pool
kernel has run the notebook (its CPU time stops growing), from asking for the page to the
explorer interactive; each visit uses a new preheated kernel.
Click to sound: while the groove plays, clicks on random map points; from the click (the
page's clock, in its click handler) to the new groove's pattern arriving in the page and to
its first note scheduled (the drum machine's log). Writes benchmarks/results/dashboard.json.

    python benchmarks/bench_dashboard.py [--cold 3] [--preheated 5] [--clicks 30]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser.browser_helpers import CHROMIUM, NotebookServer, launch  # noqa: E402
from common import machine, summary  # noqa: E402

RESULT = ROOT / "benchmarks" / "results" / "dashboard.json"
MAP = "window.latentlab.latentMaps[0]"
GRID = "window.latentlab.neighbourGrids[0]"
DM = "window.latentlab.drumMachines[0]"
HOOKS = "['latentMaps', 'neighbourGrids', 'drumMachines']"
READY = f"() => {HOOKS}.every((k) => window.latentlab?.[k]?.length)"
TARGET_PREHEATED_S = 3.0
TARGET_CLICK_MS = 150.0
MIN_KERNEL_CPU_S = 3.0  # a kernel that has imported torch and built the explorer used more


def dashboard(log_dir: Path, pool_size: int) -> NotebookServer:
    args = ["latentlab.cli", "dashboard", f"--pool-size={pool_size}"]
    return NotebookServer(f"dashboard-{pool_size}", args, ROOT, log_dir)


def interactive(browser, url: str):
    """Open the explorer and wait until it is interactive; returns the page. No request
    routing: Playwright's would pass every one of the page's ~130 requests through Python."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(url, timeout=60_000)
    page.wait_for_function(READY, timeout=60_000, polling=20)
    return page


def kernel_cpu(parent: int) -> dict[int, float]:
    """CPU seconds of each kernel process a server started."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if b"ipykernel" in cmdline and int(fields[1]) == parent:
            out[int(pid)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def wait_preheated(server: NotebookServer, used: set[int], timeout: float = 120) -> int:
    """A pool kernel not used yet whose CPU time stopped growing for 2 s (the notebook ran)."""
    deadline = time.monotonic() + timeout
    history: list[dict[int, float]] = []
    while time.monotonic() < deadline:
        history = [*history[-2:], kernel_cpu(server.process.pid)]
        for pid, cpu in history[-1].items():
            earlier = [h.get(pid) for h in history[:-1]]
            steady = len(earlier) == 2 and None not in earlier and cpu - earlier[0] < 0.05
            if pid not in used and steady and cpu > MIN_KERNEL_CPU_S:
                return pid
        time.sleep(1.0)
    raise TimeoutError("no preheated kernel became ready")


def cold_starts(browser, runs: int, log_dir: Path) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.monotonic()
        server = dashboard(log_dir, 0)
        try:
            page = interactive(browser, server.url)
            seconds.append(time.monotonic() - started)
            page.close()
        finally:
            server.stop()
    return seconds


def preheated_starts(browser, runs: int, log_dir: Path) -> tuple[list[float], float]:
    """Seconds from asking for the page to interactive; and the server's own start to its
    first preheated kernel ready."""
    started = time.monotonic()
    server = dashboard(log_dir, 1)
    seconds, used = [], set()
    try:
        wait_preheated(server, used)
        ready = time.monotonic() - started
        for _ in range(runs):
            used |= set(kernel_cpu(server.process.pid))
            t0 = time.monotonic()
            page = interactive(browser, server.url)
            seconds.append(time.monotonic() - t0)
            page.close()
            wait_preheated(server, used)
    finally:
        server.stop()
    return seconds, ready


def clicks_to_sound(browser, clicks: int, log_dir: Path, seed: int = 0) -> dict[str, list[float]]:
    """Per click, ms from the click to the pattern in the page and to its first note."""
    server = dashboard(log_dir, 1)
    rng = random.Random(seed)
    arrival, first_note = [], []
    try:
        page = interactive(browser, server.url)
        page.click(".ll-dm-play")
        page.wait_for_function(f"() => {DM}.playing()")
        box = page.locator(".ll-map-figure canvas").bounding_box()
        shown = page.evaluate(f"() => {MAP}.shown()")
        for _ in range(clicks):
            page.wait_for_timeout(rng.uniform(400, 800))
            while True:
                x, y = page.evaluate(f"() => {MAP}.pixelOf({rng.choice(shown)})")
                if 0 < x - box["x"] < box["width"] and 0 < y - box["y"] < box["height"]:
                    break
            version = page.evaluate(f"() => {DM}.version()")
            grid = page.evaluate(f"() => {GRID}.version()")
            picks = len(page.evaluate(f"() => {MAP}.picks()"))
            page.mouse.click(x, y)
            page.wait_for_function(f"() => {MAP}.picks().length > {picks}")
            page.wait_for_function(
                f"() => {DM}.scheduled().some((e) => e.version > {version})"
                f" && {GRID}.version() > {grid}",
                timeout=10_000,
            )
            clicked = page.evaluate(f"() => {MAP}.picks().at(-1).at")
            swap = page.evaluate(f"() => {DM}.swaps().find((s) => s.version > {version}).at")
            note = page.evaluate(f"() => {DM}.scheduled().find((e) => e.version > {version}).at")
            arrival.append(swap - clicked)
            first_note.append(note - clicked)
        page.close()
    finally:
        server.stop()
    return {"arrival": arrival, "first_note": first_note}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=3)
    parser.add_argument("--preheated", type=int, default=5)
    parser.add_argument("--clicks", type=int, default=30)
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        log_dir = Path(tmp)
        browser = launch(p)
        clicks = clicks_to_sound(browser, args.clicks, log_dir)
        cold = cold_starts(browser, args.cold, log_dir)
        preheated, pool_ready = preheated_starts(browser, args.preheated, log_dir)
        browser.close()

    result = {
        "benchmark": "latentlab dashboard: start to an interactive explorer; map click to sound",
        "targets": {"preheated_start_s": TARGET_PREHEATED_S, "click_to_sound_ms": TARGET_CLICK_MS},
        "start_cold_s": summary(cold),
        "start_preheated_s": summary(preheated),
        "server_start_to_first_preheated_kernel_ready_s": round(pool_ready, 2),
        "click_to_first_note_scheduled_ms": summary(clicks["first_note"], 1),
        "click_to_pattern_in_page_ms": summary(clicks["arrival"], 1),
        "passed": {
            "preheated_start": statistics.median(preheated) < TARGET_PREHEATED_S,
            "click_to_sound": statistics.median(clicks["first_note"]) < TARGET_CLICK_MS,
        },
        "definitions": {
            "interactive": "the map, grid and drum machine views rendered from a live kernel",
            "cold": "launch of `latentlab dashboard --pool-size 0` to interactive",
            "preheated": "page asked of a running dashboard whose pool kernel ran the notebook",
            "click_to_sound": "map click (page clock) to the new groove's first note scheduled",
        },
        "samples": {
            "cold_s": [round(s, 2) for s in cold],
            "preheated_s": [round(s, 2) for s in preheated],
            "click_to_first_note_ms": [round(s, 1) for s in clicks["first_note"]],
        },
        "machine": machine(),
    }
    RESULT.parent.mkdir(exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in list(result)[2:8]}, indent=2))


if __name__ == "__main__":
    main()
