"""Continue a groove: keep the seed's bars exactly and play on as the same drummer would.

A window of the model holds B bars. The last bars of what has been played so far (up to
B - 1 of them) are the context. Candidate latent points (the code of the context played as
a loop, points drawn from the sampler, and points between the two) are scored by how well
their decode explains the context as its opening bars (`model.prefix_loss`, one batched
teacher-forced pass); the best one is decoded with the context forced as its first steps,
so the decoder hears it as its own history, and the bars after the context are kept. This
repeats, a window at a time, until the groove is as long as asked.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from latentlab.errors import LatentLabError
from latentlab.model import DrumVAE, prefix_loss
from latentlab.pattern import STEPS_PER_BAR, DrumPattern

MAX_SEED_BARS = 4
MAX_BARS = 32  # a continuation's length limit (each window is one decode)
CANDIDATES = 24


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
    while len(played) < bars * STEPS_PER_BAR:
        context_bars = min(len(played) // STEPS_PER_BAR, window - 1)
        context = played[-context_bars * STEPS_PER_BAR :]
        loop = np.tile(context, (window // context_bars + 1, 1))[: window * STEPS_PER_BAR]
        with torch.no_grad():
            home = model.encode(torch.as_tensor(loop[None], device=device))[0].cpu().numpy()[0]
        drawn = np.asarray(draw(candidates, rng), np.float32)
        between = (home + drawn[: candidates // 2]) / 2
        z = torch.as_tensor(np.vstack([home[None], drawn, between]), device=device)
        prefix = torch.as_tensor(context, device=device).expand(len(z), -1, -1)
        best = z[int(prefix_loss(model, z, prefix).argmin())][None]
        decoded = model.generate(best, temperature, generator, prefix=prefix[:1])[0]
        played = np.concatenate([played, decoded[len(context) :].cpu().numpy()])
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
