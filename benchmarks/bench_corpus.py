"""Benchmark: the whole Groove MIDI Dataset into 2-bar windows, the first time and from the cache.

    python benchmarks/bench_corpus.py [--data DIR] [--out benchmarks/results/corpus.json]

The first run uses an empty temporary LATENTLAB_CACHE, so every MIDI file is read and
quantised (with the default worker processes); the cached runs open the corpus again (info.csv
included) and load the windows. Goals: under 60 s the first time, under 2 s from the cache.
Writes the timings, window counts per split and machine information as JSON.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from common import machine, write_result

from latentlab.corpus import Corpus, data_root

FIRST_GOAL_S, CACHED_GOAL_S = 60.0, 2.0


def timed(bars: int) -> tuple[float, object]:
    start = time.perf_counter()
    windows = Corpus.groove().windows(bars, progress=False)
    return time.perf_counter() - start, windows


def per_split(windows) -> dict[str, int]:
    return dict(sorted(Counter(windows.meta["split"].tolist()).items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="GMD folder (default: $LATENTLAB_DATA)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results/corpus.json")
    parser.add_argument("--repeats", type=int, default=5, help="cached runs")
    parser.add_argument("--note", default="", help="a remark stored with the results")
    args = parser.parse_args()
    os.environ["LATENTLAB_DATA"] = str(data_root(args.data))

    before = machine()
    with tempfile.TemporaryDirectory(prefix="latentlab-bench-") as cache:
        os.environ["LATENTLAB_CACHE"] = cache
        first_s, windows = timed(2)
        cached_s = [timed(2)[0] for _ in range(args.repeats)]
        four = Corpus.groove().windows(4, progress=False)

    result = {
        "benchmark": "Groove MIDI Dataset -> 2-bar windows (Corpus.groove().windows(2))",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python " + shlex.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "files": len(Corpus.groove().files),
        "first_time_s": round(first_s, 2),
        "from_cache_s": {
            "median": round(statistics.median(cached_s), 3),
            "max": round(max(cached_s), 3),
            "runs": [round(s, 3) for s in cached_s],
        },
        "goals_s": {"first_time": FIRST_GOAL_S, "from_cache": CACHED_GOAL_S},
        "goals_met": first_s < FIRST_GOAL_S and max(cached_s) < CACHED_GOAL_S,
        "windows": {
            "2bar": {"total": len(windows), "per_split": per_split(windows)},
            "4bar": {"total": len(four), "per_split": per_split(four)},
        },
        "skipped_files": len(windows.failures),
        "machine": before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "note": args.note,
    }
    write_result(args.out, result)
    return 0 if result["goals_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
