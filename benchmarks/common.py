"""What every benchmark records beside its figures: the machine, its load and the commit."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np


def machine() -> dict:
    """CPU, core count, load (the machine may be shared), Python and library versions."""
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "load_average_1_5_15min": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "git_commit": commit,
    }


def write_result(path: Path, result: dict) -> None:
    """Write a benchmark's result as JSON (making its folder) and print it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def times_ms(fn, repeats: int = 50) -> list[float]:
    """Wall times of fn() in milliseconds, `repeats` calls after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return times


def summary(values: list[float], digits: int = 2) -> dict:
    """Median, mean, 90th percentile, extremes and count of measured values."""
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), digits),
        "mean": round(statistics.fmean(ordered), digits),
        "p90": round(ordered[int(0.9 * (len(ordered) - 1))], digits),
        "min": round(ordered[0], digits),
        "max": round(ordered[-1], digits),
        "n": len(ordered),
    }


def median_ms(fn, repeats: int = 50) -> float:
    """Median wall time of fn() in milliseconds, over `repeats` calls after one warm-up."""
    return round(statistics.median(times_ms(fn, repeats)), 2)
