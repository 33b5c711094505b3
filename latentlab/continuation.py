"""Continue a groove: keep the seed's bars exactly and play on as the same drummer would.

A window of the model holds B bars. The last bars of what has been played so far (up to
B - 1 of them) are the context; the last B bars are the phrase. A drummer goes on by
playing the phrase again with variations, so the home point is the code of the phrase
looped from the context on (after bars 1-2 the 2-bar model's home is bars 2, 1: what it
plays after bar 2 echoes bar 1, not bar 2 again), and the bars it would play next are the
echo. Candidate latent points (home, points drawn from the sampler, and points a short way
from home towards them) are scored by how well their decode explains the context as its
opening bars (`model.prefix_loss`, one batched teacher-forced pass); the few best are
decoded with the context forced as their first steps, so the decoder hears it as its own
history.

The decoder, trained on squared errors and read greedily, plays fewer hits and flatter
dynamics than a drummer (GMD validation: 8% fewer hits than the seed), so each new bar
plays the echo's count of hits on every drum and the decoder says where: missing hits go
to the cells it finds likeliest, extra ones leave those it is least sure of
(`keep_counts`). Of the new bars, those that merely copy the echo are passed over when
another is there, and the one whose rhythm (hits per bar on each drum group, syncopation)
is closest to the echo's is kept. A drummer may play a bar again as it was, but a
continuation is never the phrase again and nothing else: if every bar so far repeated its
echo, the last window takes the decoder's own bars where the counted ones all copy it.
The kept bar's dynamics and feel are the seed's: each drum's velocities and offsets are
moved to the seed's mean for that drum, their spread scaled to the seed's (`match_feel`),
and a hit where the echo plays one takes the echo's velocity and offset (a drummer accents
a phrase the same way when playing it again). This repeats, a window at a time, until the
groove is as long as asked.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from latentlab.attributes import ATTRIBUTES, CLASS_GROUPS
from latentlab.errors import LatentLabError
from latentlab.model import DrumVAE, prefix_loss
from latentlab.pattern import HITS, OFFSETS, STEPS_PER_BAR, VELOCITIES, DrumPattern

MAX_SEED_BARS = 4
MAX_BARS = 32  # a continuation's length limit (each window is one decode)
CANDIDATES = 8  # latent points drawn to score against the context (24 chose the same)
FINALISTS = 4  # of them, the best few decoded; the one that keeps the feel is played
NEAR = 0.3  # how far from home towards a drawn point the points between them lie
RHYTHM = [f"{group}_density" for group in CLASS_GROUPS] + ["syncopation"]


def rhythm_distance(new: np.ndarray, context: np.ndarray) -> np.ndarray:
    """How far each of `new` (N, T, 27) is from `context` (K, 27) in rhythm (N,): per
    feature, the difference relative to the two values' size (a hit per bar counts more
    on a quiet drum than on a busy one)."""
    distance = np.zeros(len(new))
    for name in RHYTHM:
        a, b = ATTRIBUTES[name](new), ATTRIBUTES[name](context)
        distance += np.abs(a - b) / (np.abs(a) + np.abs(b) + 1)
    return distance


def _drum_means(values: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """Each drum's mean over its hits (D,); nan for a drum with none."""
    counts = hits.sum(0)
    return np.where(counts > 0, (values * hits).sum(0) / np.maximum(counts, 1), np.nan)


def match_feel(new: np.ndarray, context: np.ndarray) -> np.ndarray:
    """`new` (T, 27) with each drum's velocities and offsets at the context's (K, 27) mean for
    that drum (moved by the groove's overall difference for a drum the context lacks) and
    their spread around it, pooled over the drums, scaled to the context's."""
    out = new.copy()
    new_hits, context_hits = new[:, HITS] > 0.5, context[:, HITS] > 0.5
    if not new_hits.any() or not context_hits.any():
        return out
    for part, low, high in ((VELOCITIES, 0.0, 1.0), (OFFSETS, -0.5, 0.5)):
        values, reference = new[:, part], context[:, part]
        own, theirs = _drum_means(values, new_hits), _drum_means(reference, context_hits)
        overall = reference[context_hits].mean() - values[new_hits].mean()
        target = np.where(np.isnan(theirs), own + overall, theirs)
        spread = (values - own)[new_hits].std()
        scale = (reference - theirs)[context_hits].std() / spread if spread > 1e-6 else 1.0
        moved = np.clip(target + (values - own) * scale, low, high)
        out[:, part] = np.where(new_hits, moved, 0.0)
    return out


def keep_counts(new: np.ndarray, echo: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """`new` (N, T, 27) with each bar's hits on every drum brought to the count in the same
    bar of `echo` (T, 27). `predicted` (N, T, 27) is the decoder's reading of `new`: per cell
    the chance of a hit, its velocity and offset. Missing hits go to the likeliest empty
    cells, with the predicted velocity and offset; extra hits leave the least likely."""
    out = new.copy()
    for i in range(len(new)):
        for start in range(0, new.shape[1], STEPS_PER_BAR):
            bar = slice(start, start + STEPS_PER_BAR)
            playing = out[i, bar, HITS] > 0.5
            chance = predicted[i, bar, HITS]
            missing = (echo[bar, HITS] > 0.5).sum(0) - playing.sum(0)
            for drum in np.flatnonzero(missing):
                cells = [HITS.start + drum, VELOCITIES.start + drum, OFFSETS.start + drum]
                if missing[drum] > 0:
                    likeliest = np.argsort(np.where(playing[:, drum], 2.0, -chance[:, drum]))
                    steps = start + likeliest[: missing[drum], None]
                    out[i, steps, cells] = predicted[i, steps, cells]
                    out[i, steps[:, 0], HITS.start + drum] = 1.0
                else:
                    least = np.argsort(np.where(playing[:, drum], chance[:, drum], 2.0))
                    out[i, start + least[: -missing[drum], None], cells] = 0.0
    return out


def copies_of(new: np.ndarray, echo: np.ndarray) -> np.ndarray:
    """Which of `new` (N, T, 27) play exactly the hits of `echo` (T, 27), (N,)."""
    return ((new[..., HITS] > 0.5) == (echo[..., HITS] > 0.5)).all((1, 2))


def continue_hvo(
    model: DrumVAE,
    seed: np.ndarray,
    bars: int,
    draw: Callable[[int, np.random.Generator], np.ndarray],
    temperature: float | None = None,
    rng: np.random.Generator | None = None,
    candidates: int = CANDIDATES,
) -> np.ndarray:
    """HVO (bars * 16, 27) whose first steps are `seed` (k * 16, 27) exactly.

    `draw(n, rng)` gives n latent points to try (the atlas's sampler, or N(0, I)).
    """
    rng = rng or np.random.default_rng()
    window = model.config.bars
    device = model.device
    generator = torch.Generator(device=device).manual_seed(int(rng.integers(2**31)))
    played = np.asarray(seed, np.float32)
    repeated = True  # every bar played on so far repeats its echo's hits
    while len(played) < bars * STEPS_PER_BAR:
        played_bars = len(played) // STEPS_PER_BAR
        context_bars, phrase_bars = min(played_bars, window - 1), min(played_bars, window)
        context = played[-context_bars * STEPS_PER_BAR :]
        phrase = played[-phrase_bars * STEPS_PER_BAR :]
        looped = np.concatenate([context, phrase[: len(phrase) - len(context)]])
        loop = np.tile(looped, (window // phrase_bars + 1, 1))[: window * STEPS_PER_BAR]
        with torch.no_grad():
            home = model.encode(torch.as_tensor(loop[None], device=device))[0].cpu().numpy()[0]
        drawn = np.asarray(draw(candidates, rng), np.float32)
        between = home + NEAR * (drawn[: candidates // 2] - home)
        z = torch.as_tensor(np.vstack([home[None], drawn, between]), device=device)
        prefix = torch.as_tensor(context, device=device).expand(len(z), -1, -1)
        best = z[prefix_loss(model, z, prefix).argsort()[:FINALISTS]]
        decoded, likely = model.generate(
            best, temperature, generator, prefix=prefix[: len(best)], readings=True
        )
        new_steps = slice(len(context), None)
        echo = loop[new_steps]
        varied = decoded[:, new_steps].cpu().numpy()
        new = keep_counts(varied, echo, likely[:, new_steps].cpu().numpy())
        last = len(played) + len(echo) >= bars * STEPS_PER_BAR
        if repeated and last and copies_of(new, echo).all():
            new = varied  # the last chance not to play the phrase again as it was
        distance = rhythm_distance(new, echo)
        copies = copies_of(new, echo)
        if not copies.all():
            distance[copies] = np.inf
        chosen = match_feel(new[int(distance.argmin())], seed)
        echoed = (chosen[:, HITS] > 0.5) & (echo[:, HITS] > 0.5)
        for part in (VELOCITIES, OFFSETS):
            chosen[:, part] = np.where(echoed, echo[:, part], chosen[:, part])
        repeated &= bool(copies_of(chosen[None], echo)[0])
        played = np.concatenate([played, chosen])
    return played[: bars * STEPS_PER_BAR]


def check_continuation(seed: DrumPattern, bars: int) -> None:
    """Refuse seeds and lengths a continuation cannot serve, in words for the user."""
    if not 1 <= seed.bars <= MAX_SEED_BARS:
        raise LatentLabError(
            f"continue: the seed has {seed.bars} bars; give 1 to {MAX_SEED_BARS} bars"
        )
    if not seed.bars < bars <= MAX_BARS:
        raise LatentLabError(
            f"continue: asked for {bars} bars; the seed has {seed.bars}, so ask for "
            f"{seed.bars + 1} to {MAX_BARS}"
        )
