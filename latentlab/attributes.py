"""Rhythm attributes: plain functions of HVO arrays, and the registry that names them.

Every function takes HVO of shape (N, T, 27) (or one pattern's (T, 27), or a DrumPattern)
and returns one value per pattern. They describe what a musician hears: how busy a groove
is, how it swings, how syncopated it is, which drums carry it, how it is accented and
whether it sits behind the beat. `ATTRIBUTES` declares each one once, with its label and
unit, and whether it counts in the realism of sampled grooves: the atlas, the explorer, the
attributes dashboard, the evaluation and the CLI all read it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from latentlab.pattern import (
    DRUM_CLASSES,
    HITS,
    OFFSETS,
    STEPS_PER_BAR,
    STEPS_PER_BEAT,
    VELOCITIES,
    DrumPattern,
)

# Longuet-Higgins & Lee (1984) metrical weights of the 16 steps of a 4/4 bar: the bar
# line 0, the half bar -1, beats -2, eighths -3, sixteenths -4.
LHL_WEIGHTS = np.array([0, -4, -3, -4, -2, -4, -3, -4, -1, -4, -3, -4, -2, -4, -3, -4])
CLASS_GROUPS = {
    "kick": ("kick",),
    "snare": ("snare",),
    "hihat": ("closed_hihat", "open_hihat"),
    "toms": ("low_tom", "mid_tom", "high_tom"),
    "cymbals": ("crash", "ride"),
}


def _hvo(x) -> np.ndarray:
    if isinstance(x, DrumPattern):
        x = x.to_array()
    x = np.asarray(x, dtype=np.float32)
    return x[None] if x.ndim == 2 else x


def _split(x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    hvo = _hvo(x)
    return hvo[..., HITS] > 0.5, hvo[..., VELOCITIES], hvo[..., OFFSETS]


def density(x) -> np.ndarray:
    """Hits per bar, all instruments together."""
    hits, _, _ = _split(x)
    return hits.sum((1, 2)) / (hits.shape[1] / STEPS_PER_BAR)


def _class_density(names: tuple[str, ...]) -> Callable[[np.ndarray], np.ndarray]:
    index = [DRUM_CLASSES.index(n) for n in names]

    def fn(x) -> np.ndarray:
        hits, _, _ = _split(x)
        return hits[..., index].sum((1, 2)) / (hits.shape[1] / STEPS_PER_BAR)

    fn.__doc__ = f"Hits per bar on {' and '.join(names)}."
    return fn


def syncopation(x) -> np.ndarray:
    """Longuet-Higgins & Lee syncopation per bar, summed over the drums, averaged over bars.

    H. C. Longuet-Higgins and C. S. Lee, "The rhythmic interpretation of monophonic music",
    Music Perception 1(4), 1984. Each drum's onsets in a bar form one line (a steady hi-hat
    would otherwise fill every strong position and hide a syncopated kick). A note at step
    i followed by silence up to that drum's next note (cyclically in the bar) is syncopated
    when a silent step in between has a higher metrical weight; it scores that weight minus
    the note's own.
    """
    hits, _, _ = _split(x)
    n, steps, classes = hits.shape
    bars = steps // STEPS_PER_BAR
    lines = hits.reshape(n, bars, STEPS_PER_BAR, classes).transpose(0, 1, 3, 2)
    codes = lines.reshape(-1, STEPS_PER_BAR) @ (1 << np.arange(STEPS_PER_BAR))
    return _line_syncopation()[codes].reshape(n, bars, classes).sum(2).mean(1)


@functools.cache
def _line_syncopation() -> np.ndarray:
    """The syncopation of every possible one-bar line (2**16), indexed by its bits: a
    pattern's score is then one lookup per line."""
    codes = np.arange(1 << STEPS_PER_BAR)
    lines = (codes[:, None] >> np.arange(STEPS_PER_BAR)) & 1 > 0
    total = np.zeros(len(lines))
    for i in range(STEPS_PER_BAR):
        open_span = lines[:, i].copy()
        strongest = np.full(len(lines), -np.inf)
        for d in range(1, STEPS_PER_BAR):
            k = (i + d) % STEPS_PER_BAR
            open_span &= ~lines[:, k]
            strongest = np.where(open_span, np.maximum(strongest, LHL_WEIGHTS[k]), strongest)
        total += np.where(lines[:, i], np.maximum(strongest - LHL_WEIGHTS[i], 0), 0)
    return total


def shuffle(x) -> np.ndarray:
    """Swing ratio of each beat's off-beat eighth, from onset phases within the beat.

    The phase of an onset is its position in its beat (step plus micro-timing offset, in
    beats, 0..1). A beat's off-beat eighth is its earliest onset, any drum, with phase in
    [0.375, 0.875): the straight eighth at 0.5, a triplet swing eighth at 0.667. Its swing
    ratio phase / (1 - phase) is 1 when straight and 2 for triplet swing; the pattern's
    value is the median over its beats that have one (1 when none does). Taking the
    earliest keeps straight sixteenths straight: their last sixteenth (0.75) comes after
    the eighth at 0.5, where a median over all off-beat onsets would read the pair as
    triplet swing. A 16-step grid cannot hold triplets, so the swing lives in the offsets:
    a swung eighth sits on the last sixteenth, played early.
    """
    hits, _, offsets = _split(x)
    n, steps, _ = hits.shape
    phase = (np.arange(steps)[None, :, None] % STEPS_PER_BEAT + offsets) / STEPS_PER_BEAT
    off_beat = hits & (phase >= 0.375) & (phase < 0.875)
    earliest = np.where(off_beat, phase, np.inf).reshape(n, steps // STEPS_PER_BEAT, -1).min(2)
    has = np.isfinite(earliest)
    ratio = np.where(has, earliest / np.maximum(1 - np.where(has, earliest, 0), 1e-6), np.nan)
    out = np.ones(n)
    some = has.any(1)
    if some.any():
        out[some] = np.nanmedian(ratio[some], axis=1)
    return out


def accent(x) -> np.ndarray:
    """Accent contrast: mean velocity of the hits on the beat minus that of the hits between.

    Large when downbeats and backbeats are struck hard over soft ghost notes and hi-hats,
    zero when every hit is equally loud, negative when the off-beats are the loud ones.
    Velocities are on the 0..1 scale.
    """
    hits, velocities, _ = _split(x)
    on_beat = (np.arange(hits.shape[1]) % STEPS_PER_BEAT == 0)[None, :, None]
    strong, weak = hits & on_beat, hits & ~on_beat
    strong_mean = np.where(strong, velocities, 0).sum((1, 2)) / np.maximum(strong.sum((1, 2)), 1)
    weak_mean = np.where(weak, velocities, 0).sum((1, 2)) / np.maximum(weak.sum((1, 2)), 1)
    return np.where(strong.any((1, 2)) & weak.any((1, 2)), strong_mean - weak_mean, 0.0)


def laid_back(x) -> np.ndarray:
    """Mean micro-timing offset of the hits in steps: positive plays behind the beat."""
    hits, _, offsets = _split(x)
    return np.where(hits, offsets, 0).sum((1, 2)) / np.maximum(hits.sum((1, 2)), 1)


@dataclass(frozen=True)
class Attribute:
    """One rhythm attribute: its function, its label for controls ("Hi-hat"), its unit, and
    whether it counts in the realism of sampled grooves (evaluate's feature overlap: the
    per-groove amount of a drum or of syncopation, not a style choice such as shuffle)."""

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    label: str
    unit: str
    realism: bool = False

    @property
    def short(self) -> str:
        """The label in lower case: grid axes, the effect matrix, captions."""
        return self.label.lower()

    def __call__(self, x) -> np.ndarray:
        return self.fn(x)


# In the order the dashboards show them (the explorer's sliders and grid pairs).
ATTRIBUTES: dict[str, Attribute] = {
    a.name: a
    for a in (
        Attribute("density", density, "Density", "hits per bar", realism=True),
        Attribute("shuffle", shuffle, "Shuffle", "swing ratio"),
        Attribute("syncopation", syncopation, "Syncopation", "syncopation per bar", realism=True),
        Attribute("laid_back", laid_back, "Laid back", "mean offset (steps)"),
        Attribute("accent", accent, "Accent", "beat minus off-beat velocity"),
        *(
            Attribute(f"{group}_density", _class_density(CLASS_GROUPS[group]), label, unit, True)
            for group, label, unit in (
                ("kick", "Kick", "kick hits per bar"),
                ("snare", "Snare", "snare hits per bar"),
                ("hihat", "Hi-hat", "hi-hat hits per bar"),
                ("toms", "Toms", "tom hits per bar"),
                ("cymbals", "Cymbals", "cymbal hits per bar"),
            )
        ),
    )
}


def attribute_label(name: str) -> str:
    """The label of an attribute; a readable form of the name for one the registry lacks."""
    return ATTRIBUTES[name].label if name in ATTRIBUTES else name.replace("_", " ").capitalize()


def describe(x) -> dict[str, np.ndarray]:
    """Every attribute of a batch of patterns (or one value each for a single pattern)."""
    single = isinstance(x, DrumPattern) or np.asarray(x).ndim == 2
    values = {name: fn(x) for name, fn in ATTRIBUTES.items()}
    return {k: float(v[0]) for k, v in values.items()} if single else values
