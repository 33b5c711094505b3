"""Latency of a DrumMachine pattern swap: new pattern set in Python -> its first note scheduled.

Serves tests/browser/drum_machine.ipynb with Voila on localhost, starts playback in headless
Chromium and presses the page's "Swap groove" button again and again. Its Python callback
stamps the time (epoch ms) just before it sets the other groove on the widget; the page's
test hook records when the new pattern arrived and when the scheduler started its first note.
Both clocks are this machine's. Pauses between swaps vary, so swaps land anywhere in a step.
Writes benchmarks/results/widget_latency.json (target: median under 100 ms).

    python benchmarks/bench_widget_latency.py [--swaps 40]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser.browser_helpers import CHROMIUM, NotebookServer, launch, open_page  # noqa: E402
from common import machine, summary  # noqa: E402

NOTEBOOK = ROOT / "tests" / "browser" / "drum_machine.ipynb"
RESULT = ROOT / "benchmarks" / "results" / "widget_latency.json"
HOOK = "window.latentlab.drumMachines[0]"
TARGET_MS = 100.0


def measure(page, swaps: int, seed: int = 0) -> tuple[list[float], list[float]]:
    """(first-note latencies, arrival latencies) in ms for `swaps` swaps while playing."""
    rng = random.Random(seed)
    page.click(".ll-dm-play")
    page.wait_for_function(f"() => {HOOK}.playing()")
    first_note, arrival = [], []
    for k in range(1, swaps + 1):
        page.wait_for_timeout(rng.uniform(150, 450))
        page.click(".test-swap")
        page.wait_for_function(
            f"""() => {{
                const stamp = document.querySelector('.test-swap-stamp').innerText;
                return stamp && JSON.parse(stamp).swaps === {k}
                    && {HOOK}.scheduled().some((e) => e.version === {k + 1});
            }}"""
        )
        sent = json.loads(page.inner_text(".test-swap-stamp"))["sent"]
        swap = next(s for s in page.evaluate(f"() => {HOOK}.swaps()") if s["version"] == k + 1)
        notes = page.evaluate(f"() => {HOOK}.scheduled().filter((e) => e.version === {k + 1})")
        first_note.append(min(e["at"] for e in notes) - sent)
        arrival.append(swap["at"] - sent)
    page.click(".ll-dm-play")
    return first_note, arrival


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swaps", type=int, default=40)
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as logs:
        server = NotebookServer.voila(NOTEBOOK, Path(logs))
        try:
            with sync_playwright() as p:
                browser = launch(p)
                page = open_page(browser, server.url, ".ll-dm-cell")
                watch = page.watch
                first_note, arrival = measure(page, args.swaps)
                browser.close()
        finally:
            server.stop()
    if watch.errors:
        sys.exit(f"console errors: {watch.errors}")
    chromium = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True)
    result = {
        "benchmark": "DrumMachine: pattern set in Python -> first note of it scheduled in the page",
        "target_median_ms": TARGET_MS,
        "passed": statistics.median(first_note) < TARGET_MS,
        "swaps": args.swaps,
        "first_note_scheduled_ms": summary(first_note),
        "pattern_arrived_in_page_ms": summary(arrival),
        "samples_first_note_ms": [round(x, 2) for x in first_note],
        "setup": {
            "page": "Voila on 127.0.0.1, headless Debian Chromium, playing at 120 BPM",
            "chromium": chromium.stdout.strip(),
            "voila": version("voila"),
            "ipywidgets": version("ipywidgets"),
            "anywidget": version("anywidget"),
        },
        "machine": machine(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in list(result)[:6]}, indent=2))


if __name__ == "__main__":
    main()
