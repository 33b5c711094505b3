"""LatentLab: the one facade notebooks, the CLI and users touch. Arrays in, patterns out.

Latent points are numpy arrays of shape (z_dim,) or (n, z_dim). Wherever latent points
are mixed (similar, blend, the neighbourhood grid) the mixing keeps them on the shell
where the prior's mass lies: slerp, not lerp, whose midpoints fall inside it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from latentlab.atlas import Atlas
from latentlab.checkpoint import load_checkpoint
from latentlab.errors import LatentLabError
from latentlab.model import DrumVAE
from latentlab.pattern import DrumPattern

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "gmd-2bar"

PatternLike = DrumPattern | str | os.PathLike | bytes


def default_checkpoint() -> Path:
    """$LATENTLAB_CHECKPOINT, else the shipped 2-bar model."""
    return Path(os.environ.get("LATENTLAB_CHECKPOINT") or DEFAULT_CHECKPOINT)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def lerp(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """steps points on the straight line from a to b, ends included: (steps, z_dim)."""
    t = np.linspace(0, 1, steps)[:, None]
    return ((1 - t) * np.asarray(a) + t * np.asarray(b)).astype(np.float32)


def slerp_at(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation at fractions t (any shape): along the great circle between
    the directions of a and b, with the norm interpolated linearly between |a| and |b|."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t = np.asarray(t, np.float64)[..., None]
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    ua, ub = _unit(a), _unit(b)
    omega = np.arccos(np.clip(ua @ ub, -1.0, 1.0))
    if omega < 1e-6:
        direction = (1 - t) * ua + t * ub
    else:
        direction = (np.sin((1 - t) * omega) * ua + np.sin(t * omega) * ub) / np.sin(omega)
    return (_unit(direction) * ((1 - t) * na + t * nb)).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """steps points on the slerp path from a to b, ends included: (steps, z_dim)."""
    return slerp_at(a, b, np.linspace(0, 1, steps))


class LatentLab:
    """A trained DrumVAE with its atlas: encode, decode, sample, interpolate, steer, export."""

    def __init__(self, model: DrumVAE, config: dict, atlas: Atlas | None = None, folder=None):
        self.model, self.config, self.atlas, self.folder = model, config, atlas, folder
        self.z_dim = model.config.z_dim
        self._covariance: np.ndarray | None = None
        self.bars = model.config.bars

    @classmethod
    def load(
        cls, path: str | os.PathLike | None = None, device=None, threads: int | None = 2
    ) -> LatentLab:
        """Load a checkpoint folder (the shipped 2-bar model by default) and its atlas.

        On a CPU, torch is capped at `threads` threads (None leaves it alone). Decoding one
        groove is a chain of small matrix products: two threads decode a 2-bar groove in
        ~4.7 ms on an idle 2-core machine (one thread ~7 ms), but more threads than free
        cores make every step wait (on a fully busy 2-core machine two threads took ~60x
        longer than one): pass threads=1 where the CPU is shared.
        """
        folder = Path(path) if path is not None else default_checkpoint()
        model, config = load_checkpoint(folder, device)
        if threads and model.device.type == "cpu":
            torch.set_num_threads(min(threads, os.cpu_count() or 1))
        atlas = Atlas.load(folder) if (folder / "atlas.npz").exists() else None
        return cls(model, config, atlas, folder)

    def __repr__(self) -> str:
        where = self.folder or "memory"
        return f"LatentLab({where}, {self.bars} bars, z {self.z_dim}, device {self.model.device})"

    def _need_atlas(self) -> Atlas:
        if self.atlas is None:
            raise LatentLabError(
                f"{self.folder}: this checkpoint has no atlas; build it with `latentlab atlas`"
            )
        return self.atlas

    # ---- patterns <-> latents -----------------------------------------------------------
    def _hvo(self, items) -> np.ndarray:
        """(n, T, 27) HVO from patterns, MIDI paths/bytes or arrays, cut/padded to the model."""
        if isinstance(items, np.ndarray | torch.Tensor):
            hvo = np.asarray(items, np.float32)
            return hvo[None] if hvo.ndim == 2 else hvo
        if isinstance(items, DrumPattern | str | os.PathLike | bytes):
            items = [items]
        steps = self.model.config.steps
        out = []
        for item in items:
            p = item if isinstance(item, DrumPattern) else DrumPattern.from_midi(item)
            hvo = p.to_array()[:steps]
            out.append(np.pad(hvo, ((0, steps - len(hvo)), (0, 0))))
        if not out:
            raise LatentLabError("encode: nothing to encode")
        return np.stack(out)

    @torch.no_grad()
    def encode_posterior(self, items) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation, each (n, z_dim)."""
        hvo = self._hvo(items)
        if hvo.shape[1:] != (self.model.config.steps, 27):
            raise LatentLabError(
                f"encode: expected HVO of shape (n, {self.model.config.steps}, 27), got {hvo.shape}"
            )
        mu, sigma = self.model.encode(torch.as_tensor(hvo, device=self.model.device))
        return mu.cpu().numpy(), sigma.cpu().numpy()

    def encode(self, items) -> np.ndarray:
        """Posterior means (n, z_dim) of patterns, MIDI files/bytes or HVO arrays.

        Longer grooves are cut to the model's length (the first bars); shorter ones are
        padded with silence.
        """
        return self.encode_posterior(items)[0]

    def decode_hvo(self, z: np.ndarray, temperature: float | None = None, seed=None) -> np.ndarray:
        """(n, T, 27) HVO of latent points: greedy, or sampled at a temperature."""
        z = np.atleast_2d(np.asarray(z, np.float32))
        if z.shape[1] != self.z_dim:
            raise LatentLabError(f"decode: z has {z.shape[1]} dimensions, the model {self.z_dim}")
        generator = None
        if seed is not None:
            generator = torch.Generator(device=self.model.device).manual_seed(int(seed))
        zt = torch.as_tensor(z, device=self.model.device)
        return self.model.generate(zt, temperature, generator).cpu().numpy()

    def decode(
        self, z: np.ndarray, temperature: float | None = None, seed=None, bpm: float = 120.0
    ) -> list[DrumPattern]:
        """Patterns of latent points (one per row of z)."""
        return [DrumPattern.from_array(h, bpm) for h in self.decode_hvo(z, temperature, seed)]

    def sample_latents(self, n: int = 1, seed=None) -> np.ndarray:
        """n points from the prior N(0, I)."""
        return np.random.default_rng(seed).standard_normal((n, self.z_dim)).astype(np.float32)

    def sample(self, n: int = 1, temperature: float = 1.0, seed=None) -> list[DrumPattern]:
        """n new grooves from the prior, hits sampled at a temperature."""
        return self.decode(self.sample_latents(n, seed), temperature, seed)

    def reconstruct(self, items, temperature: float | None = None) -> list[DrumPattern]:
        return self.decode(self.encode(items), temperature)

    # ---- interpolation --------------------------------------------------------------------
    lerp = staticmethod(lerp)
    slerp = staticmethod(slerp)

    # ---- attributes ----------------------------------------------------------------------
    @property
    def attribute_names(self) -> list[str]:
        return sorted(self._need_atlas().vectors)

    def attribute_vector(self, name: str) -> np.ndarray:
        vectors = self._need_atlas().vectors
        if name not in vectors:
            raise LatentLabError(
                f"attribute {name!r} is unknown; known: {', '.join(sorted(vectors))}"
            )
        return vectors[name]

    def shift(self, z: np.ndarray, amounts: dict[str, float]) -> np.ndarray:
        """z plus amount times each attribute vector (1 = top minus bottom quartile mean)."""
        z = np.asarray(z, np.float32)
        for name, amount in amounts.items():
            z = z + np.float32(amount) * self.attribute_vector(name)
        return z

    def directions(self, kind: str | Sequence = "attributes", pair: int = 0) -> np.ndarray:
        """Two unit directions (2, z_dim) for the neighbourhood grid.

        kind: "attributes" (pairs of attribute vectors: density/shuffle first),
        "dimensions" (pairs of latent axes, the Drum VAE demo), "principal" (principal axes
        of the corpus encodings), or two attribute names / two vectors. `pair` picks which
        pair (the 'c' key cycles it).
        """
        if isinstance(kind, str):
            if kind == "attributes":
                names = ["density", "shuffle"] + [
                    n for n in self.attribute_names if n not in ("density", "shuffle")
                ]
                vecs = [self.attribute_vector(n) for n in names]
            elif kind == "dimensions":
                vecs = list(np.eye(self.z_dim, dtype=np.float32))
            elif kind == "principal":
                latents = self._need_atlas().latents
                _, _, vt = np.linalg.svd(latents - latents.mean(0), full_matrices=False)
                vecs = list(vt[:16])
            else:
                raise LatentLabError(
                    f"directions: {kind!r} is not attributes, dimensions or principal"
                )
            i = (2 * pair) % len(vecs)
            chosen = [vecs[i], vecs[(i + 1) % len(vecs)]]
        else:
            chosen = [self.attribute_vector(d) if isinstance(d, str) else d for d in kind]
            if len(chosen) != 2:
                raise LatentLabError("directions: give exactly two")
        return _unit(np.asarray(chosen, np.float32))

    def neighbourhood(
        self,
        z: np.ndarray,
        directions: str | Sequence = "attributes",
        size: int = 3,
        step: float = 1.0,
        pair: int = 0,
    ) -> np.ndarray:
        """A size x size grid of latent points around z along two directions: (size, size, z).

        The centre is z. Each point is z + a*d1 + b*d2 (a, b in steps of `step` times the
        typical spread of the corpus along that direction), brought back to the norm of z so
        the whole grid stays on z's shell instead of drifting into the prior's interior.
        """
        if size < 1 or size % 2 == 0:
            raise LatentLabError(f"neighbourhood: size {size} must be odd and positive")
        z = np.asarray(z, np.float32).reshape(-1)
        d = self.directions(directions, pair)
        spread = self._spread(d)
        r = np.arange(size) - size // 2
        a, b = np.meshgrid(r, r, indexing="ij")
        grid = (
            z + (a[..., None] * step * spread[0]) * d[0] + (b[..., None] * step * spread[1]) * d[1]
        )
        norm = np.linalg.norm(z)
        return (_unit(grid) * norm).astype(np.float32) if norm > 0 else grid.astype(np.float32)

    def _spread(self, d: np.ndarray) -> np.ndarray:
        """Standard deviation of the corpus encodings along each direction (1 without atlas)."""
        if self.atlas is None:
            return np.ones(len(d), np.float32)
        if self._covariance is None:
            self._covariance = np.cov(self.atlas.latents, rowvar=False).astype(np.float32)
        return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", d, self._covariance, d), 0))

    def blend(self, corners, size: int = 5) -> np.ndarray:
        """A size x size grid blending four corners (top-left, top-right, bottom-left,
        bottom-right; latent points or grooves), slerp along both axes (Beat Blender)."""
        c = self._latents(corners)
        if len(c) != 4:
            raise LatentLabError(f"blend: needs 4 corners, got {len(c)}")
        t = np.linspace(0, 1, size)
        top, bottom = slerp_at(c[0], c[1], t), slerp_at(c[2], c[3], t)
        return np.stack([slerp_at(top[j], bottom[j], t) for j in range(size)], axis=1)

    def blend_at(self, corners, x: float, y: float) -> np.ndarray:
        """The blend of four corners at one point (x, y) of the unit square."""
        c = self._latents(corners)
        top, bottom = slerp_at(c[0], c[1], x), slerp_at(c[2], c[3], x)
        return slerp_at(top, bottom, y)

    def similar(self, z: np.ndarray, n: int = 4, similarity: float = 0.8, seed=None) -> np.ndarray:
        """n points near z: slerp from z towards random prior points by 1 - similarity."""
        if not 0 <= similarity <= 1:
            raise LatentLabError(f"similar: similarity {similarity} must lie in 0..1")
        z = np.asarray(z, np.float32).reshape(-1)
        others = self.sample_latents(n, seed)
        return np.stack([slerp_at(z, o, 1 - similarity) for o in others])

    def _latents(self, items) -> np.ndarray:
        if isinstance(items, np.ndarray) and items.ndim == 2 and items.shape[1] == self.z_dim:
            return items.astype(np.float32)
        if isinstance(items, list | tuple) and all(isinstance(i, np.ndarray) for i in items):
            return np.stack(items).astype(np.float32)
        return self.encode(list(items) if not isinstance(items, np.ndarray) else items)

    # ---- the corpus ----------------------------------------------------------------------
    @property
    def styles(self) -> list[str]:
        return self._need_atlas().styles

    def sample_style_latents(
        self, style: str, n: int = 1, temperature: float = 1.0, seed=None
    ) -> np.ndarray:
        """n points from the Gaussian fitted to the style's encodings (spread x temperature)."""
        atlas = self._need_atlas()
        if style not in atlas.styles:
            raise LatentLabError(f"style {style!r} is unknown; known: {', '.join(atlas.styles)}")
        i = atlas.styles.index(style)
        noise = np.random.default_rng(seed).standard_normal((n, self.z_dim))
        return (atlas.style_means[i] + temperature * atlas.style_stds[i] * noise).astype(np.float32)

    def sample_style(
        self, style: str, n: int = 1, temperature: float = 1.0, seed=None
    ) -> list[DrumPattern]:
        """n new grooves in a style of the corpus."""
        z = self.sample_style_latents(style, n, temperature, seed)
        return self.decode(z, temperature, seed)

    def nearest(self, z: np.ndarray, k: int = 5) -> list[list[dict]]:
        """For each latent point, its k closest corpus windows with their metadata."""
        index, dist = self._need_atlas().nearest(z, k)
        return [
            [
                {"index": int(i), "distance": float(d), **self.record(i)}
                for i, d in zip(ri, rd, strict=True)
            ]
            for ri, rd in zip(index, dist, strict=True)
        ]

    def record(self, index: int) -> dict:
        """Metadata of the corpus window at an atlas index."""
        atlas = self._need_atlas()
        return {m: atlas.meta[m][index].item() for m in atlas.meta}

    def corpus_pattern(self, index: int) -> DrumPattern:
        """The corpus window at an atlas index, as a pattern at its own tempo."""
        atlas = self._need_atlas()
        return DrumPattern.from_array(atlas.hvo[index], float(atlas.meta["bpm"][index]))

    def place(self, z: np.ndarray) -> np.ndarray:
        """Map coordinates (n, 2) of latent points, without refitting the map."""
        return self._need_atlas().place(z)

    # ---- export ----------------------------------------------------------------------------
    @staticmethod
    def to_midi(patterns: DrumPattern | Iterable[DrumPattern], path=None) -> bytes:
        """MIDI bytes of one pattern, or of several played one after the other."""
        return _chain(patterns).to_midi(path)

    @staticmethod
    def to_note_sequence_json(patterns: DrumPattern | Iterable[DrumPattern]) -> str:
        return _chain(patterns).to_note_sequence_json()


def _chain(patterns: DrumPattern | Iterable[DrumPattern]) -> DrumPattern:
    if isinstance(patterns, DrumPattern):
        return patterns
    patterns = list(patterns)
    if not patterns:
        raise LatentLabError("export: no patterns")
    return DrumPattern(
        np.concatenate([p.hits for p in patterns]),
        np.concatenate([p.velocities for p in patterns]),
        np.concatenate([p.offsets for p in patterns]),
        patterns[0].bpm,
    )
