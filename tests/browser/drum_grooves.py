"""Grooves shared by the browser tests and their fixture notebook (Voila runs it here).

Grooves A and B have a note on every step, so the first step after a swap always has one to
schedule; the long groove is eight bars, the length of a continuation.
"""

from __future__ import annotations

import numpy as np

from latentlab.pattern import N_CLASSES, DrumPattern


def _pattern(
    hits: list[tuple[int, int, float, float]], bpm: float = 120.0, bars: int = 2
) -> DrumPattern:
    h, v, o = (np.zeros((16 * bars, N_CLASSES)) for _ in range(3))
    for step, cls, vel, off in hits:
        h[step, cls], v[step, cls], o[step, cls] = 1, vel, off
    return DrumPattern(h, v, o, bpm)


def groove_a() -> DrumPattern:
    """A laid-back rock groove: crash on one, swung 16th hats, ghost snares, a tom fill."""
    hits = [(s, 0, 0.95, -0.04) for s in (0, 7, 10, 16, 23)]
    hits += [(s, 1, 0.85, 0.1) for s in (4, 12, 20, 28)] + [(9, 1, 0.3, 0.15)]
    hits += [(s, 2, 0.75 if s % 4 == 0 else 0.45, 0.18 if s % 2 else 0.0) for s in range(29)]
    hits += [(14, 3, 0.6, 0.0), (0, 7, 0.8, 0.0)]
    hits += [(29, 6, 0.8, -0.1), (30, 5, 0.85, 0.0), (31, 4, 0.9, 0.12)]
    return _pattern(hits)


def groove_b() -> DrumPattern:
    """Four on the floor with a ride on every 16th and open hats on the off-beats."""
    hits = [(s, 0, 1.0, 0.0) for s in range(0, 32, 4)]
    hits += [(s, 1, 0.9, 0.0) for s in (4, 12, 20, 28)]
    hits += [(s, 8, 0.7 if s % 2 == 0 else 0.4, -0.08 if s % 2 else 0.0) for s in range(32)]
    hits += [(s, 3, 0.55, 0.0) for s in range(2, 32, 4)]
    return _pattern(hits)


def long_groove() -> DrumPattern:
    """Eight bars of a rock beat, each bar told apart by a tom on its own sixteenth."""
    hits = [(0, 7, 0.9, 0.0)]
    for bar in range(8):
        first = 16 * bar
        hits += [(first + s, 0, 0.95, 0.0) for s in (0, 10)]
        hits += [(first + s, 1, 0.85, 0.05) for s in (4, 12)]
        hits += [(first + s, 2, 0.7 if s % 4 == 0 else 0.4, 0.0) for s in range(0, 16, 2)]
        hits += [(first + 1 + 2 * bar, 5, 0.75, 0.0)]
    return _pattern(hits, bars=8)
