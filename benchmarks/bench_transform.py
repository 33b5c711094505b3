"""Benchmark: Humanize and Drumify on GMD test 2-bar windows.

    python benchmarks/bench_transform.py [CHECKPOINT] [--data DIR]
        [--out benchmarks/results/transform.json]

Humanize reads each test window quantised and flattened (hits only, no offsets, every velocity
at the window's level: the mean velocity of its hits, as a groove entered in a step sequencer
at the loudness it should have); its velocities and offsets are compared with what the
drummer played, on every hit: mean absolute errors next to the per-drum-median baseline (each
drum at the median velocity / offset of its hits in the train split), and the correlation of
velocities next to today's workaround (encode the flattened groove, decode it; cells both
play). The same with the level unknown: every window flattened to one fixed velocity (MIDI 80,
near the corpus's mean level, and MIDI 100, a DAW's usual default).
Drumify reads every onset of a window collapsed to one voice (taps); its hits are compared
with the real kit groove (F1) next to putting every tap on the snare, and its rhythm
features with the test windows' (`latentlab.evaluate.realism`), next to the snare baseline
and to the train windows (the ceiling). Speed: median time of each operation on one 2-bar
and one 8-bar groove through `LatentLab`, one torch thread.
Offset ceilings: what knowing more than the quantised groove would give the per-drum offset
guess (MAE on the test hits): the window's drummer (each drum at its median offset for that
drummer in the train split) and the take's own feel (each drum at the median of the window's
own offsets for it, an oracle: a quantised groove no longer holds it).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from common import machine, median_ms, write_result

from latentlab.corpus import Corpus, Windows
from latentlab.evaluate import hit_scores, realism
from latentlab.lab import DEFAULT_CHECKPOINT, LatentLab
from latentlab.pattern import DRUM_CLASSES, HITS, N_CLASSES, OFFSETS, VELOCITIES, DrumPattern
from latentlab.transform import apply, level_of, load_transform, taps

UNKNOWN_LEVELS = {"midi_80": 80 / 127, "midi_100": 100 / 127}  # one velocity for every window


def flattened(hvo: np.ndarray, level: float | None = None) -> np.ndarray:
    """Windows quantised and flattened: hits only, no offsets, every velocity at the window's
    level (the mean velocity of its hits) or at `level`."""
    hits = hvo[..., HITS]
    levels = level_of(hvo) if level is None else np.full(hvo.shape[:-2], level, np.float32)
    return np.concatenate([hits, levels[..., None, None] * hits, 0 * hits], -1)


def on_one_drum(tapped: np.ndarray, drum: str) -> np.ndarray:
    """Taps (N, T, 3) as grooves (N, T, 27) played on one drum."""
    hvo = np.zeros((*tapped.shape[:-1], 3 * N_CLASSES), np.float32)
    d = DRUM_CLASSES.index(drum)
    for channel, block in enumerate((HITS, VELOCITIES, OFFSETS)):
        hvo[..., block.start + d] = tapped[..., channel]
    return hvo


def per_drum_medians(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median velocity and offset of each drum's hits in the train windows, (9,) each."""
    hits = train[..., HITS] > 0.5
    velocity = [np.median(train[..., VELOCITIES][..., d][hits[..., d]]) for d in range(N_CLASSES)]
    offset = [np.median(train[..., OFFSETS][..., d][hits[..., d]]) for d in range(N_CLASSES)]
    return np.array(velocity), np.array(offset)


def errors(predicted: np.ndarray, truth: np.ndarray, cells: np.ndarray) -> dict:
    """MAE of velocities and offsets, and the velocities' correlation, on `cells`."""
    pv, tv = predicted[..., VELOCITIES][cells], truth[..., VELOCITIES][cells]
    po, to = predicted[..., OFFSETS][cells], truth[..., OFFSETS][cells]
    return {
        "velocity_mae": round(float(np.abs(pv - tv).mean()), 4),
        "offset_mae": round(float(np.abs(po - to).mean()), 4),
        "velocity_correlation": round(float(np.corrcoef(pv, tv)[0, 1]), 4),
        "offset_correlation": round(float(np.corrcoef(po, to)[0, 1]), 4),
    }


def reduction(model: dict, base: dict) -> dict:
    """How far below the baseline's the model's mean absolute errors are (0.3: 30% below)."""
    return {k: round(1 - model[k] / base[k], 4) for k in ("velocity_mae", "offset_mae")}


def humanize_errors(net, train: np.ndarray, windows: np.ndarray) -> dict:
    """Humanize on windows flattened at their own level and at each unknown level, and the
    per-drum-median baseline."""
    hits = windows[..., HITS] > 0.5
    velocity, offset = per_drum_medians(train)
    baseline = np.concatenate([hits, hits * velocity, hits * offset], -1).astype(np.float32)
    base = errors(baseline, windows, hits)
    result = {}
    for name, level in {"level_kept": None, **UNKNOWN_LEVELS}.items():
        predicted = apply(net, flattened(windows, level))
        assert np.array_equal(predicted[..., HITS] > 0.5, hits), "humanize changed the hits"
        model = errors(predicted, windows, hits)
        result[name] = model | {"reduction_vs_baseline": reduction(model, base)}
    return {"humanize": result, "per_drum_median_baseline": base}


def offset_ceilings(train: Windows, test: Windows, baseline_mae: float) -> dict:
    """Offset MAE on the test hits of the per-drum guess given the window's drummer, and
    given the window's own offsets (see the module docstring), each with its reduction."""
    train_hvo, hvo = train.hvo.astype(np.float32), test.hvo.astype(np.float32)
    hits, offsets = hvo[..., HITS] > 0.5, hvo[..., OFFSETS]
    overall = per_drum_medians(train_hvo)[1]
    by_drummer = np.zeros_like(offsets)
    for drummer in np.unique(test.meta["drummer"]):
        theirs = train_hvo[train.meta["drummer"] == drummer]
        with np.errstate(all="ignore"):  # a drum this drummer never plays: nan
            medians = per_drum_medians(theirs)[1] if len(theirs) else overall
        by_drummer[test.meta["drummer"] == drummer] = np.where(np.isnan(medians), overall, medians)
    with np.errstate(all="ignore"):
        own = np.nan_to_num(np.nanmedian(np.where(hits, offsets, np.nan), axis=1, keepdims=True))
    result = {}
    for name, guess in (("drummer_known", by_drummer), ("takes_own_feel_oracle", own)):
        mae = float(np.abs(np.broadcast_to(guess, offsets.shape) - offsets)[hits].mean())
        result[name] = {"offset_mae": round(mae, 4), "reduction": round(1 - mae / baseline_mae, 4)}
    return result


def humanize_figures(lab: LatentLab, folder: Path, train: np.ndarray, test: np.ndarray) -> dict:
    hits = test[..., HITS] > 0.5
    velocity, _ = per_drum_medians(train)
    decoded = lab.decode_hvo(lab.encode(flattened(test)))
    both = hits & (decoded[..., HITS] > 0.5)
    return {
        **humanize_errors(load_transform(folder, "humanize"), train, test),
        "encode_decode_workaround_on_cells_both_play": errors(decoded, test, both),
        "per_drum_median_velocity": dict(
            zip(DRUM_CLASSES, velocity.round(4).tolist(), strict=True)
        ),
    }


def drumify_figures(folder: Path, train: np.ndarray, test: np.ndarray) -> dict:
    tapped = taps(test)
    predicted = apply(load_transform(folder, "drumify"), on_one_drum(tapped, "kick"))
    assert np.array_equal(predicted[..., HITS].max(-1), tapped[..., 0]), "drumify moved a tap"
    snare = on_one_drum(tapped, "snare")
    return {
        "hit_f1": {
            "drumify": hit_scores(predicted[..., HITS], test[..., HITS]),
            "every_tap_on_the_snare": hit_scores(snare[..., HITS], test[..., HITS]),
        },
        "feature_overlap_with_test_windows": {
            "drumify": realism(predicted, test),
            "every_tap_on_the_snare": realism(snare, test)["overlap_mean"],
            "train_windows_ceiling": realism(train, test)["overlap_mean"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", nargs="?", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--data", help="corpus folder (default: $LATENTLAB_DATA)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/transform.json"))
    args = parser.parse_args()

    lab = LatentLab.load(args.checkpoint, device="cpu", threads=1)
    windows = Corpus.open(args.data).windows(2, progress=False)
    train_windows, test_windows = windows.split("train"), windows.split("test")
    train = train_windows.hvo.astype(np.float32)
    test = test_windows.hvo.astype(np.float32)
    humanize = humanize_figures(lab, args.checkpoint, train, test)
    base_offsets = humanize["per_drum_median_baseline"]["offset_mae"]
    humanize["offset_ceilings"] = offset_ceilings(train_windows, test_windows, base_offsets)
    drumify = drumify_figures(args.checkpoint, train, test)
    two = DrumPattern.from_array(flattened(test[0]), 120.0)
    eight = DrumPattern.from_array(np.concatenate([flattened(w) for w in test[:4]]), 120.0)
    speed = {
        "humanize_2_bars": median_ms(lambda: lab.humanize(two)),
        "humanize_8_bars": median_ms(lambda: lab.humanize(eight)),
        "drumify_2_bars": median_ms(lambda: lab.drumify(two)),
        "drumify_8_bars": median_ms(lambda: lab.drumify(eight)),
    }
    kept = humanize["humanize"]["level_kept"]
    f1, overlap = drumify["hit_f1"], drumify["feature_overlap_with_test_windows"]
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "checkpoint": str(args.checkpoint),
        "test_windows": len(test),
        "test_hits": int(test[..., HITS].sum()),
        **humanize,
        **drumify,
        "speed_ms_median": speed,
        "targets_met": {
            "humanize_velocity_mae_30pct_below_baseline": kept["reduction_vs_baseline"][
                "velocity_mae"
            ]
            >= 0.3,
            "humanize_offset_mae_30pct_below_baseline": kept["reduction_vs_baseline"]["offset_mae"]
            >= 0.3,
            "humanize_velocity_correlation_at_least_0.7": kept["velocity_correlation"] >= 0.7,
            "drumify_f1_beats_every_tap_on_the_snare": f1["drumify"]["f1"]
            > f1["every_tap_on_the_snare"]["f1"],
            "drumify_features_overlap_better_than_the_snare_baseline": overlap["drumify"][
                "overlap_mean"
            ]
            > overlap["every_tap_on_the_snare"],
            "each_operation_under_50_ms": max(speed.values()) < 50,
        },
        "machine": machine(),
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()
