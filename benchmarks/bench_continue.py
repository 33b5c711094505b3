"""Benchmark: continuing a groove, on GMD test 4-bar windows given their first 2 bars.

    python benchmarks/bench_continue.py [CHECKPOINT] [--data DIR] [--windows 300]
        [--out benchmarks/results/continue.json]

For each window (a sample of the test split's 4-bar windows, whole bars 3-4 not empty):
- closeness: hit F1 of the generated bars 3-4 against the real bars 3-4, next to two
  baselines: bars 3-4 of a random test window, and a copy of the seed's bars 1-2;
- realism: overlap of rhythm features (the registry's realism attributes and the spread of
  velocities) of the generated continuations with the real ones, next to copying the seed;
- not a copy: hit F1 of the generated bars against the seed's bars (the real bars 3-4
  score this too: how much a drummer repeats);
- speed: median time of one continuation (2 bars to 4) of one groove, and of 1 bar to 8.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from common import machine, median_ms, write_result

from latentlab.corpus import Corpus
from latentlab.evaluate import hit_scores, realism
from latentlab.lab import DEFAULT_CHECKPOINT, LatentLab
from latentlab.pattern import HITS, STEPS_PER_BAR, DrumPattern


def f1_each(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array(
        [hit_scores(x[..., HITS], y[..., HITS])["f1"] for x, y in zip(a, b, strict=True)]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", nargs="?", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--data", help="corpus folder (default: $LATENTLAB_DATA)")
    parser.add_argument("--windows", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/continue.json"))
    args = parser.parse_args()

    lab = LatentLab.load(args.checkpoint, device="cpu", threads=1)
    test = Corpus.open(args.data).windows(4, progress=False).split("test")
    half = 2 * STEPS_PER_BAR
    later = test.hvo[:, half:, HITS].sum((1, 2)) > 0
    rng = np.random.default_rng(0)
    chosen = rng.choice(np.flatnonzero(later), min(args.windows, int(later.sum())), replace=False)
    real = test.hvo[chosen]
    seeds, truth = real[:, :half], real[:, half:]
    generated = np.stack(
        [
            lab.continue_groove(DrumPattern.from_array(s, 120.0), 4, seed=i).to_array()[half:]
            for i, s in enumerate(seeds)
        ]
    )
    random_window = test.hvo[rng.choice(len(test), len(chosen))][:, half:]
    closeness = {
        "generated": float(f1_each(generated, truth).mean()),
        "random_window": float(f1_each(random_window, truth).mean()),
        "copy_of_seed": float(f1_each(seeds, truth).mean()),
    }
    overlap = {
        "generated": realism(generated, truth)["overlap_mean"],
        "copy_of_seed": realism(seeds, truth)["overlap_mean"],
    }
    copy = {
        "generated_vs_seed": float(f1_each(generated, seeds).mean()),
        "real_vs_seed": float(f1_each(truth, seeds).mean()),
        "identical_to_seed": float(
            np.mean(
                [
                    np.array_equal(g[..., HITS], s[..., HITS])
                    for g, s in zip(generated, seeds, strict=True)
                ]
            )
        ),
    }

    two = DrumPattern.from_array(seeds[0], 120.0)
    one = two.bar_slice(0, 1)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "checkpoint": str(args.checkpoint),
        "windows": len(chosen),
        "hit_f1_to_real_bars_3_4": closeness,
        "feature_overlap_with_real_continuations": overlap,
        "hit_f1_to_the_seed": copy,
        "speed_ms": {
            "continue_2_to_4_bars": median_ms(lambda: lab.continue_groove(two, 4)),
            "continue_1_to_8_bars": median_ms(lambda: lab.continue_groove(one, 8), repeats=10),
        },
        "targets_met": {
            "closer_than_a_random_window": closeness["generated"] > closeness["random_window"],
            "overlap_at_least_copying": overlap["generated"] >= overlap["copy_of_seed"],
            "not_a_copy": copy["identical_to_seed"] < 0.5,
        },
        "machine": machine(),
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()
