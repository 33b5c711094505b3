"""Benchmark: the latent toolkit on a checkpoint with its atlas, against the issue's targets.

    python benchmarks/bench_lab.py [CHECKPOINT] [--data DIR] [--out benchmarks/results/lab.json]

- Attribute vectors: on the test windows, decode z + v and z - v for each attribute vector
  v; the fraction of windows whose attribute rises (falls), and the full effect matrix
  (mean change of every attribute, in corpus standard deviations).
- Slerp: along slerp paths between random test pairs, the fraction of paths whose Hamming
  distance to the start never falls and to the end never rises; and how well the rhythm
  features of midpoints overlap the corpus's, for slerp, lerp and data-space interpolation.
- The map: k-NN style accuracy (fit on train windows, scored on test) in the 2-D map and in
  latent space; sklearn's trustworthiness of the map on a sample.
- Speed: LatentLab.load() in a fresh process, encoding the whole corpus, one decode, a 3x3
  neighbourhood, placing a point (medians).
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from common import machine, median_ms, write_result

from latentlab.analysis import METHODS, attribute_sweep, hamming, interpolate
from latentlab.atlas import encode_windows
from latentlab.attributes import ATTRIBUTES
from latentlab.corpus import Corpus
from latentlab.evaluate import OVERLAP_FEATURES, overlap_area
from latentlab.lab import DEFAULT_CHECKPOINT, LatentLab


def attribute_effects(lab: LatentLab, z: np.ndarray, amount: float = 1.0) -> dict:
    sweep = attribute_sweep(lab, z, amounts=(-amount, 0.0, amount))
    up, down = sweep.change(amount), sweep.change(-amount)
    base = sweep.values[:, list(sweep.amounts).index(0.0)]
    rows = {}
    for i, a in enumerate(sweep.names):
        can_fall = base[i, i] > lab.atlas.attributes[a].min()
        own = float(np.abs(up[i, i]).mean())
        others = float(
            np.mean([np.abs(up[i, j]).mean() for j in range(len(sweep.names)) if j != i])
        )
        rows[a] = {
            "raised_fraction": round(float((up[i, i] > 0).mean()), 4),
            "lowered_fraction": round(float((down[i, i] < 0).mean()), 4),
            # Toms cannot fall in a window without toms: the fraction among windows whose
            # attribute is above the corpus minimum, so that it can fall.
            "lowered_fraction_where_it_can_fall": round(
                float((down[i, i][can_fall] < 0).mean()) if can_fall.any() else 0.0, 4
            ),
            "own_change_sd": round(float(up[i, i].mean()), 4),
            "own_to_others_ratio": round(own / max(others, 1e-9), 2),
        }
        rows[a]["meets_target"] = (
            rows[a]["raised_fraction"] >= 0.9
            and rows[a]["lowered_fraction"] >= 0.9
            and rows[a]["own_to_others_ratio"] >= 2
        )
    matrix = sweep.effect_matrix(amount)
    return {
        "amount": amount,
        "per_attribute": rows,
        "effect_matrix_sd": {
            a: {b: round(float(matrix[i, j]), 4) for j, b in enumerate(sweep.names)}
            for i, a in enumerate(sweep.names)
        },
    }


def interpolation(lab: LatentLab, test_hvo: np.ndarray, pairs: int, steps: int, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(test_hvo), size=(pairs, 2), replace=pairs * 2 > len(test_hvo))
    monotone = 0
    mids = {method: [] for method in METHODS}
    for n, (ia, ib) in enumerate(idx):
        path = interpolate(lab, test_hvo[ia], test_hvo[ib], steps, seed=n)
        slerp_path = path.hvo["slerp"]
        to_start, to_end = hamming(slerp_path, slerp_path[0]), hamming(slerp_path, slerp_path[-1])
        monotone += bool((np.diff(to_start) >= 0).all() and (np.diff(to_end) <= 0).all())
        for method in METHODS:
            mids[method].append(path.hvo[method][steps // 2])
    overlaps = {}
    for method, hvo in mids.items():
        hvo = np.stack(hvo)
        per = {
            f: overlap_area(ATTRIBUTES[f](hvo), ATTRIBUTES[f](test_hvo)) for f in OVERLAP_FEATURES
        }
        overlaps[method] = {"mean": round(float(np.mean(list(per.values()))), 4), **per}
    return {
        "pairs": pairs,
        "steps": steps,
        "monotone_fraction": round(monotone / pairs, 4),
        "midpoint_feature_overlap": overlaps,
    }


def map_quality(lab: LatentLab, sample: int, seed=0) -> dict:
    from sklearn.manifold import trustworthiness
    from sklearn.neighbors import KNeighborsClassifier

    atlas = lab.atlas
    split, style = atlas.meta["split"], atlas.meta["style"]
    train, test = split == "train", split == "test"
    out = {}
    for name, x in (("map_2d", atlas.coords), ("latent", atlas.latents)):
        knn = KNeighborsClassifier(n_neighbors=5).fit(x[train], style[train])
        out[f"knn_style_accuracy_{name}"] = round(float(knn.score(x[test], style[test])), 4)
    majority = max(set(style[train].tolist()), key=style[train].tolist().count)
    out["majority_style_baseline"] = round(float((style[test] == majority).mean()), 4)
    pick = np.random.default_rng(seed).choice(len(atlas), min(sample, len(atlas)), replace=False)
    out["trustworthiness"] = round(
        float(trustworthiness(atlas.latents[pick], atlas.coords[pick], n_neighbors=10)), 4
    )
    out["trustworthiness_sample"] = len(pick)
    return out


def load_seconds(checkpoint: Path) -> dict:
    code = (
        "import time; t0 = time.perf_counter(); from latentlab.lab import LatentLab; "
        f"t1 = time.perf_counter(); LatentLab.load({str(checkpoint)!r}); "
        "t2 = time.perf_counter(); print(t1 - t0, t2 - t1)"
    )
    runs = [
        [float(x) for x in subprocess.check_output([sys.executable, "-c", code]).split()]
        for _ in range(3)
    ]
    return {
        "import_s": round(statistics.median(r[0] for r in runs), 3),
        "load_s": round(statistics.median(r[1] for r in runs), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", nargs="?", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--data", help="corpus folder (default: $LATENTLAB_DATA)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results/lab.json")
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--note", default="")
    args = parser.parse_args()

    before = machine()
    lab = LatentLab.load(args.checkpoint, device="cpu")
    windows = Corpus.open(args.data).windows(lab.bars, progress=False)
    test = windows.split("test").hvo
    start = time.perf_counter()
    encode_windows(lab.model, windows.hvo)
    encode_all_s = time.perf_counter() - start
    z_test = lab.encode(test)
    z1 = z_test[:1]
    speed = {
        **load_seconds(args.checkpoint),
        "encode_corpus_s": round(encode_all_s, 2),
        "encode_corpus_windows": len(windows),
        "decode_1_ms": median_ms(lambda: lab.decode(z1)),
        "neighbourhood_3x3_ms": median_ms(
            lambda: lab.decode(lab.neighbourhood(z1[0], size=3).reshape(9, -1))
        ),
        "place_ms": median_ms(lambda: lab.place(z1)),
    }
    speed_targets = {
        "load_s": 2.0,
        "encode_corpus_s": 20.0,
        "decode_1_ms": 5.0,
        "neighbourhood_3x3_ms": 20.0,
        "place_ms": 5.0,
    }
    result = {
        "benchmark": "LatentLab: attribute vectors, slerp, map quality, speed",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python " + shlex.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "checkpoint": str(args.checkpoint),
        "test_windows": len(test),
        "attribute_vectors": attribute_effects(lab, z_test),
        "interpolation": interpolation(lab, test, args.pairs, steps=11),
        "map": map_quality(lab, sample=3000),
        "speed": speed,
        "speed_targets": speed_targets,
        "speed_targets_met": {k: speed[k] <= v for k, v in speed_targets.items()},
        "machine": before,
        "note": args.note,
    }
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
