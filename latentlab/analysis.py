"""Latent-space analyses shared by the dashboards, the VAE notebook and the benchmarks.

- Interpolation three ways: slerp and lerp in latent space, and MusicVAE's data-space
  baseline (cells of A swapped for B's one by one), with Hamming distances to both ends.
- Attribute sweeps: every attribute of decodes of z + amount * v for each attribute vector
  v, giving the response curves and the effect matrix (changes in corpus standard
  deviations).
- What the VAE notebook plots: KL per latent dimension, norms along lerp and slerp paths,
  and decoding points at growing distance from the prior's centre.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from latentlab.attributes import ATTRIBUTES
from latentlab.errors import LatentLabError
from latentlab.lab import DEFAULT_BPM, LatentLab, lerp, slerp
from latentlab.pattern import HITS, N_CLASSES, DrumPattern

METHODS = ("slerp", "lerp", "data")


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of (step, instrument) hit cells that differ between HVO arrays (..., T, 27)."""
    hits_a = np.asarray(a)[..., HITS] > 0.5
    hits_b = np.asarray(b)[..., HITS] > 0.5
    return (hits_a != hits_b).sum((-1, -2))


def data_interpolation(a: np.ndarray, b: np.ndarray, t: Sequence[float], seed=0) -> np.ndarray:
    """MusicVAE's data-space baseline between HVO arrays a and b (T, 27): (len(t), T, 27).

    Each (step, instrument) cell switches from A's content to B's at its own random point
    along the way, so at fraction t a share t of the cells comes from B (all of them at 1).
    """
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    if a.shape != b.shape:
        raise LatentLabError(f"data interpolation: shapes differ, {a.shape} and {b.shape}")
    switch = np.random.default_rng(seed).random((a.shape[0], N_CLASSES))
    take_b = switch[None] < np.asarray(t, np.float32)[:, None, None]
    return np.where(np.tile(take_b, 3), b, a)  # a cell's hit, velocity and offset move together


@dataclass
class Interpolation:
    """Interpolations from A to B: for each method the HVO of every step (steps, T, 27) and
    its Hamming distances to A and to B (the grooves themselves, not their decodes), and the
    tempo of each step, from A's to B's."""

    t: np.ndarray
    hvo: dict[str, np.ndarray]
    to_a: dict[str, np.ndarray]
    to_b: dict[str, np.ndarray]
    bpm: np.ndarray

    def patterns(self, method: str) -> list[DrumPattern]:
        """The steps of one method as patterns, each at its own tempo."""
        return [
            DrumPattern.from_array(h, b) for h, b in zip(self.hvo[method], self.bpm, strict=True)
        ]


def interpolate(
    lab: LatentLab,
    a: DrumPattern | np.ndarray,
    b: DrumPattern | np.ndarray,
    steps: int = 9,
    za: np.ndarray | None = None,
    zb: np.ndarray | None = None,
    seed=0,
) -> Interpolation:
    """Slerp, lerp and data-space interpolation between grooves a and b (patterns at the
    model's length, or HVO arrays (T, 27), which have no tempo: DEFAULT_BPM).

    za and zb are their latent points (their posterior means when not given); latent paths
    are decoded greedily, so their first and last steps are the model's reconstructions.
    The tempo moves in equal steps from A's to B's.
    """
    if steps < 2:
        raise LatentLabError(f"interpolation: {steps} steps; needs at least 2")
    bpm = np.linspace(
        *(g.bpm if isinstance(g, DrumPattern) else DEFAULT_BPM for g in (a, b)), steps
    )
    a, b = (
        g.to_array() if isinstance(g, DrumPattern) else np.asarray(g, np.float32) for g in (a, b)
    )
    za = lab.encode(a)[0] if za is None else np.asarray(za, np.float32).reshape(-1)
    zb = lab.encode(b)[0] if zb is None else np.asarray(zb, np.float32).reshape(-1)
    t = np.linspace(0, 1, steps)
    hvo = {
        "slerp": lab.decode_hvo(slerp(za, zb, steps)),
        "lerp": lab.decode_hvo(lerp(za, zb, steps)),
        "data": data_interpolation(a, b, t, seed),
    }
    return Interpolation(
        t=t,
        hvo=hvo,
        to_a={m: hamming(h, a) for m, h in hvo.items()},
        to_b={m: hamming(h, b) for m, h in hvo.items()},
        bpm=bpm,
    )


def interpolation_norms(a: np.ndarray, b: np.ndarray, steps: int = 21) -> dict[str, np.ndarray]:
    """Fractions t and the norms of the lerp and slerp paths from a to b at them."""
    return {
        "t": np.linspace(0, 1, steps),
        "lerp": np.linalg.norm(lerp(a, b, steps), axis=1),
        "slerp": np.linalg.norm(slerp(a, b, steps), axis=1),
    }


def measure(hvo: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Attributes `names` of a batch of HVO arrays: (len(names), n)."""
    return np.stack([ATTRIBUTES[name](hvo) for name in names]).astype(np.float32)


@dataclass
class AttributeSweep:
    """Attributes of decodes of z + amount * v for every attribute vector v.

    values[i, k, j, n] is attribute names[j] of latent n pushed by amounts[k] along the
    vector of names[i]; std[j] is the corpus standard deviation of attribute names[j].
    """

    names: list[str]
    amounts: np.ndarray
    values: np.ndarray
    std: np.ndarray

    def _amount_index(self, amount: float) -> int:
        found = np.flatnonzero(np.isclose(self.amounts, amount))
        if not len(found):
            raise LatentLabError(f"attribute sweep: amount {amount} was not swept")
        return int(found[0])

    def response(self, name: str) -> np.ndarray:
        """Attribute `name` of each latent pushed along its own vector: (amounts, n)."""
        i = self.names.index(name)
        return self.values[i, :, i]

    def change(self, amount: float = 1.0) -> np.ndarray:
        """Change of every attribute (columns) when pushing by `amount` along every vector
        (rows), per latent, in corpus standard deviations: (vectors, attributes, n)."""
        pushed = self.values[:, self._amount_index(amount)]
        base = self.values[:, self._amount_index(0.0)]
        return (pushed - base) / self.std[None, :, None]

    def effect_matrix(self, amount: float = 1.0) -> np.ndarray:
        """Mean change of each attribute (columns) per vector (rows), in standard deviations."""
        return self.change(amount).mean(-1)


def attribute_sweep(
    lab: LatentLab,
    z: np.ndarray,
    amounts: Sequence[float] = (-2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2),
    names: Sequence[str] | None = None,
) -> AttributeSweep:
    """Push every latent in z (n, z_dim) along each attribute vector by each amount, decode
    greedily and measure every attribute. Amount 0 (the plain decodes) is decoded once."""
    names = list(lab.attribute_names if names is None else names)
    amounts = np.asarray(amounts, np.float32)
    z = np.atleast_2d(np.asarray(z, np.float32))
    base = measure(lab.decode_hvo(z), names)
    values = np.empty((len(names), len(amounts), len(names), len(z)), np.float32)
    moved = np.flatnonzero(amounts != 0)
    for i, name in enumerate(names):
        shifted = lab.along(z, name, amounts[moved])
        measured = measure(lab.decode_hvo(shifted.reshape(-1, z.shape[1])), names)
        values[i, moved] = measured.reshape(len(names), len(moved), len(z)).transpose(1, 0, 2)
        values[i, amounts == 0] = base
    std = np.array([lab.atlas.attribute_std(n) for n in names], np.float32)
    return AttributeSweep(names, amounts, values, std)


def kl_per_dimension(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """KL(N(mu, sigma^2) || N(0, 1)) of each latent dimension, in nats."""
    mu, sigma = np.asarray(mu, np.float64), np.asarray(sigma, np.float64)
    return 0.5 * (mu**2 + sigma**2 - 1) - np.log(sigma)


def radial_points(z: np.ndarray, radii: Sequence[float]) -> np.ndarray:
    """Points along the ray through z at the given distances from the origin: (radii, z_dim)."""
    z = np.asarray(z, np.float32).reshape(-1)
    unit = z / max(float(np.linalg.norm(z)), 1e-12)
    return (np.asarray(radii, np.float32)[:, None] * unit).astype(np.float32)


def compare_priors(lab: LatentLab, n: int = 256, seed: int = 0) -> dict[str, dict]:
    """Grooves sampled (temperature 1) from N(0, I) and from the atlas's mixture, side by
    side with the corpus: per prior, its patterns, their density (hits per bar) and their
    realism against the corpus windows (`latentlab.evaluate.realism`)."""
    from latentlab.evaluate import realism

    reference = lab._need_atlas().hvo
    out = {}
    for prior in ("normal", "mixture"):
        hvo = lab.decode_hvo(lab.sample_latents(n, seed, prior), temperature=1.0, seed=seed)
        out[prior] = {
            "patterns": [DrumPattern.from_array(h, DEFAULT_BPM) for h in hvo],
            "density": ATTRIBUTES["density"](hvo),
            **realism(hvo, reference),
        }
    return out
