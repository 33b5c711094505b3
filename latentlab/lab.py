"""LatentLab: the one facade notebooks, the CLI, the dashboards and users touch.

Every groove operation lives here once: reading a groove (one rule for channels and files
that hold no drums), fitting it to the model's length, encoding, decoding, sampling,
interpolating, attribute vectors, the neighbourhood's directions, captions and choices of
corpus windows, chaining and export. Latent points are numpy arrays of shape (z_dim,) or
(n, z_dim). Wherever latent points are mixed (similar, blend, the neighbourhood grid) the
mixing keeps them on the shell where the prior's mass lies: slerp, not lerp, whose midpoints
fall inside it.

Tempo: a latent point carries none, so `decode` takes `bpm` (DEFAULT_BPM when new), and
every operation that starts from a groove (`reconstruct`, `shifted`, `read_groove`,
`corpus_groove`, the interpolation in `latentlab.analysis`) keeps the groove's own tempo.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from latentlab.atlas import Atlas
from latentlab.attributes import ATTRIBUTES, attribute_label
from latentlab.checkpoint import load_checkpoint
from latentlab.continuation import check_continuation, continue_hvo
from latentlab.errors import LatentLabError
from latentlab.model import DrumVAE
from latentlab.pattern import HVO_DIM, DrumPattern
from latentlab.sampler import LatentMixture, NormalPrior
from latentlab.shipped import checkpoint_folder, shipped
from latentlab.transform import TransformNet, load_transform, transform

DEFAULT_CHECKPOINT = shipped("checkpoints", "gmd-2bar")

PatternLike = DrumPattern | str | os.PathLike | bytes
DEFAULT_BPM = 120.0  # the tempo of a groove decoded from a new latent point
PRINCIPAL = 16  # principal directions of the corpus encodings the neighbourhood cycles through
DIRECTION_KINDS = {
    "attributes": "Attribute vectors",
    "dimensions": "Latent dimensions",
    "principal": "Principal directions",
}


@dataclass(frozen=True, eq=False)
class Groove:
    """A groove and its latent point: the pattern at the model's length and its own tempo,
    z (z_dim,), a caption, and its atlas index when it is a corpus window."""

    pattern: DrumPattern
    z: np.ndarray
    label: str
    index: int | None = None


def chain(patterns: DrumPattern | Iterable[DrumPattern], bpm: float | None = None) -> DrumPattern:
    """Patterns one after the other as one long pattern (to loop or export), at `bpm`; by
    default the mean of their tempi (a path from a 100- to a 140-bpm groove plays at 120)."""
    patterns = [patterns] if isinstance(patterns, DrumPattern) else list(patterns)
    if not patterns:
        raise LatentLabError("chain: no patterns")
    if bpm is None:
        bpm = round(float(np.mean([p.bpm for p in patterns])), 2)
    return DrumPattern.from_array(np.concatenate([p.to_array() for p in patterns]), bpm)


def save(patterns: DrumPattern | Iterable[DrumPattern], path: str | os.PathLike) -> Path:
    """Write patterns (one after the other, see `chain`) to a file whose suffix says how:
    .mid or .midi for MIDI, .json for NoteSequence JSON (what Magenta.js reads)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".mid", ".midi", ".json"):
        kind = suffix or "a name without a suffix"
        raise LatentLabError(
            f"{path}: name a .mid (MIDI) or .json (NoteSequence JSON) file, not {kind}"
        )
    if not path.parent.is_dir():
        raise LatentLabError(f"{path}: folder {path.parent} does not exist")
    groove = chain(patterns)
    if suffix == ".json":
        path.write_text(groove.to_note_sequence_json())
    else:
        groove.to_midi(path)
    return path


def select_windows(
    atlas: Atlas, style: str | None = None, drummer: str | None = None, beat_type: str | None = None
) -> np.ndarray:
    """Atlas indices of the corpus windows of a style, a drummer and a beat type (None: any):
    what the map shows and the random jump draws from."""
    keep = np.ones(len(atlas), bool)
    for column, value in (("style", style), ("drummer", drummer), ("beat_type", beat_type)):
        if value is None:
            continue
        match = atlas.meta[column] == value
        if not match.any():
            raise LatentLabError(f"{column.replace('_', ' ')} {value!r} is unknown in this corpus")
        keep &= match
    return np.flatnonzero(keep)


def _patterns(items) -> list[DrumPattern]:
    """Patterns of one or several patterns or MIDI files (paths or bytes)."""
    if isinstance(items, DrumPattern | str | os.PathLike | bytes):
        items = [items]
    return [p if isinstance(p, DrumPattern) else DrumPattern.from_midi(p) for p in items]


def default_checkpoint() -> Path:
    """$LATENTLAB_CHECKPOINT, else the shipped 2-bar model."""
    return checkpoint_folder(os.environ.get("LATENTLAB_CHECKPOINT") or DEFAULT_CHECKPOINT)


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
        self._directions: dict[str, tuple[np.ndarray, list[str]]] = {}
        self._transforms: dict[str, TransformNet] = {}
        self.bars = model.config.bars

    @classmethod
    def load(
        cls, path: str | os.PathLike | None = None, device=None, threads: int | None = 1
    ) -> LatentLab:
        """Load a checkpoint folder or a shipped model by name ("gmd-2bar", the default, or
        "gmd-4bar") and its atlas.

        On a CPU this sets torch's thread count for the whole process to `threads` (at most
        the core count; None leaves it alone). Decoding one groove is a chain of small matrix
        products: on an idle 2-core machine one thread and two decode a 2-bar groove equally
        fast (~5 ms), but beside two busy processes two threads took 38 ms median, 138 ms p90,
        one thread 12 / 16 ms. So one by default: every dashboard session is such a neighbour.
        """
        folder = checkpoint_folder(path) if path is not None else default_checkpoint()
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
    def fit(self, pattern: DrumPattern) -> DrumPattern:
        """The pattern at the model's length: its first bars, or padded with silence."""
        steps = self.model.config.steps
        hvo = pattern.to_array()[:steps]
        return DrumPattern.from_array(np.pad(hvo, ((0, steps - len(hvo)), (0, 0))), pattern.bpm)

    def _hvo(self, items) -> np.ndarray:
        """(n, T, 27) HVO from patterns, MIDI paths/bytes or arrays, fitted to the model."""
        if isinstance(items, np.ndarray | torch.Tensor):
            hvo = np.asarray(items, np.float32)
            return hvo[None] if hvo.ndim == 2 else hvo
        patterns = [self.fit(p) for p in _patterns(items)]
        if not patterns:
            raise LatentLabError("encode: nothing to encode")
        return np.stack([p.to_array() for p in patterns])

    @torch.no_grad()
    def encode_posterior(self, items) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation, each (n, z_dim)."""
        hvo = self._hvo(items)
        steps = self.model.config.steps
        if hvo.shape[1:] != (steps, HVO_DIM):
            raise LatentLabError(
                f"encode: expected HVO of shape (n, {steps}, {HVO_DIM}), got {hvo.shape}"
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
        self, z: np.ndarray, temperature: float | None = None, seed=None, bpm: float = DEFAULT_BPM
    ) -> list[DrumPattern]:
        """Patterns of latent points (one per row of z) at `bpm`: a latent point has no tempo,
        so pass the groove's when the point came from one (or use `reconstruct`/`shifted`)."""
        return [DrumPattern.from_array(h, bpm) for h in self.decode_hvo(z, temperature, seed)]

    def _mixture(self) -> LatentMixture:
        sampler = self._need_atlas().sampler
        if sampler is None:
            raise LatentLabError(
                f"{self.folder}: this atlas predates the sampler; rebuild it with "
                f"`latentlab atlas {self.folder}` (or sample with prior='normal')"
            )
        return sampler

    def sample_latents(self, n: int = 1, seed=None, prior: str = "mixture") -> np.ndarray:
        """n latent points: from the atlas's mixture of the training codes (where real grooves
        encode; the default), or from the VAE's prior N(0, I) with prior="normal", whose
        draws often land in holes between the codes (kept for teaching)."""
        rng = np.random.default_rng(seed)
        if prior == "normal":
            return NormalPrior(self.z_dim).sample(n, rng)
        if prior != "mixture":
            raise LatentLabError(f"prior {prior!r} is unknown; use 'mixture' or 'normal'")
        return self._mixture().sample(n, rng)

    def sample(
        self, n: int = 1, temperature: float = 1.0, seed=None, prior: str = "mixture"
    ) -> list[DrumPattern]:
        """n new grooves (see `sample_latents` for `prior`), hits sampled at a temperature."""
        return self.decode(self.sample_latents(n, seed, prior), temperature, seed)

    def continue_groove(
        self, groove: PatternLike, bars: int, temperature: float | None = None, seed=None
    ) -> DrumPattern:
        """The groove (1 to 4 bars) kept exactly and played on to `bars` bars (at most
        MAX_BARS) as the same drummer would go on: see `latentlab.continuation`. Candidate
        latent points come from the sampler (N(0, I) for a checkpoint without an atlas);
        `temperature` samples the new bars' hits (None or 0: the most likely)."""
        (pattern,) = _patterns(groove)
        check_continuation(pattern, bars)
        sampler = self.atlas.sampler if self.atlas is not None else None
        draw = (sampler or NormalPrior(self.z_dim)).sample
        rng = np.random.default_rng(seed)
        hvo = continue_hvo(self.model, pattern.to_array(), bars, draw, temperature, rng)
        return DrumPattern.from_array(hvo, pattern.bpm)

    def _transform(self, kind: str) -> TransformNet:
        """The checkpoint's humanize or drumify model, loaded the first time it is used."""
        if kind not in self._transforms:
            if self.folder is None:
                raise LatentLabError(f"{kind}: this LatentLab has no checkpoint folder")
            self._transforms[kind] = load_transform(self.folder, kind)
        return self._transforms[kind]

    def humanize(self, groove: PatternLike, level: float | None = None) -> DrumPattern:
        """The groove played by a drummer: every hit kept, velocities and micro-timing
        predicted from the hits and the groove's level (how loud it is: the mean velocity of
        its hits, or `level` in 0..1 instead), at its tempo and length."""
        (pattern,) = _patterns(groove)
        return transform(self._transform("humanize"), pattern, level)

    def drumify(self, groove: PatternLike) -> DrumPattern:
        """A kit groove that follows the groove's onsets as taps: each step with a hit gets
        the drums a drummer would play there, with the tap's timing; no drum elsewhere."""
        (pattern,) = _patterns(groove)
        return transform(self._transform("drumify"), pattern)

    def reconstruct(self, items, temperature: float | None = None) -> list[DrumPattern]:
        """The model's version of each groove (encoded, decoded), at the groove's own tempo."""
        if isinstance(items, np.ndarray | torch.Tensor):
            return self.decode(self.encode(items), temperature)
        patterns = _patterns(items)
        decoded = self.decode(self.encode(patterns), temperature)
        return [d.with_bpm(p.bpm) for d, p in zip(decoded, patterns, strict=True)]

    def shifted(
        self, groove: PatternLike, amounts: dict[str, float], temperature=None, seed=None
    ) -> DrumPattern:
        """A groove pushed along attribute vectors (see `shift`), at its own tempo."""
        (pattern,) = _patterns(groove)
        z = self.shift(self.encode(pattern), amounts)
        return self.decode(z, temperature, seed, bpm=pattern.bpm)[0]

    # ---- interpolation --------------------------------------------------------------------
    lerp = staticmethod(lerp)
    slerp = staticmethod(slerp)

    # ---- attributes ----------------------------------------------------------------------
    @property
    def attribute_names(self) -> list[str]:
        """The atlas's attributes in the registry's order (then any the registry lacks)."""
        vectors = self._need_atlas().vectors
        return [n for n in ATTRIBUTES if n in vectors] + sorted(set(vectors) - set(ATTRIBUTES))

    def attribute_vector(self, name: str) -> np.ndarray:
        vectors = self._need_atlas().vectors
        if name in vectors:
            return vectors[name]
        if name in ATTRIBUTES:
            raise LatentLabError(
                f"attribute {name!r}: this checkpoint's atlas was built before it existed; "
                f"rebuild the atlas with `latentlab atlas {self.folder} --data DATA`"
            )
        raise LatentLabError(
            f"attribute {name!r} is unknown; known: {', '.join(self.attribute_names)}"
        )

    def shift(self, z: np.ndarray, amounts: dict[str, float]) -> np.ndarray:
        """z plus amount times each attribute vector (1 = top minus bottom quartile mean)."""
        z = np.asarray(z, np.float32)
        for name, amount in amounts.items():
            z = z + np.float32(amount) * self.attribute_vector(name)
        return z

    def along(self, z: np.ndarray, name: str, amounts: Sequence[float]) -> np.ndarray:
        """z (any shape ending in z_dim) pushed along one attribute vector by each amount:
        (len(amounts), *z.shape)."""
        z = np.asarray(z, np.float32)
        amounts = np.asarray(amounts, np.float32).reshape(-1, *([1] * z.ndim))
        return z[None] + amounts * self.attribute_vector(name)

    def directions(
        self, kind: str | Sequence = "attributes", pair: int = 0
    ) -> tuple[np.ndarray, tuple[str, str]]:
        """Two unit directions (2, z_dim) for the neighbourhood grid, and their names.

        kind: "attributes" (pairs of attribute vectors in the registry's order: density and
        shuffle first), "dimensions" (pairs of the latent axes the corpus uses, most varied
        first: the Drum VAE demo), "principal" (principal axes of the corpus encodings), or
        two attribute names or two vectors. `pair` picks which pair (the 'c' key cycles it).
        """
        if isinstance(kind, str):
            vectors, names = self._direction_set(kind)
            i, j = (2 * pair) % len(vectors), (2 * pair + 1) % len(vectors)
            return _unit(vectors[[i, j]]), (names[i], names[j])
        chosen = list(kind)
        if len(chosen) != 2:
            raise LatentLabError(f"directions: give exactly two, not {len(chosen)}")
        vectors = [self.attribute_vector(d) if isinstance(d, str) else d for d in chosen]
        names = tuple(
            attribute_label(d).lower() if isinstance(d, str) else f"direction {k + 1}"
            for k, d in enumerate(chosen)
        )
        return _unit(np.asarray(vectors, np.float32)), names

    def _direction_set(self, kind: str) -> tuple[np.ndarray, list[str]]:
        """Every direction of a kind, with names; computed once per kind."""
        if kind not in DIRECTION_KINDS:
            raise LatentLabError(f"directions: {kind!r} is not {', '.join(DIRECTION_KINDS)}")
        if kind not in self._directions:
            if kind == "attributes":
                names = self.attribute_names
                vectors = np.stack([self.attribute_vector(n) for n in names])
                labels = [attribute_label(n).lower() for n in names]
            elif kind == "dimensions":
                variance = self._need_atlas().latent_rows(slice(None)).var(0)
                used = max(2, int((variance > 1e-3).sum()))
                dims = np.argsort(-variance)[:used]
                vectors = np.eye(self.z_dim, dtype=np.float32)[dims]
                labels = [f"z[{d}]" for d in dims]
            else:
                latents = self._need_atlas().latent_rows(slice(None))
                _, _, vt = np.linalg.svd(latents - latents.mean(0), full_matrices=False)
                vectors = vt[:PRINCIPAL]
                labels = [f"principal {k + 1}" for k in range(len(vectors))]
            self._directions[kind] = (np.asarray(vectors, np.float32), labels)
        return self._directions[kind]

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
        d, _ = self.directions(directions, pair)
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
            self._covariance = np.cov(self.atlas.latent_rows(slice(None)), rowvar=False).astype(
                np.float32
            )
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
        """n points from the sampler's mixture weighted to a style (spread x temperature)."""
        styles = self._need_atlas().styles
        if style not in styles:
            raise LatentLabError(f"style {style!r} is unknown; known: {', '.join(styles)}")
        rng = np.random.default_rng(seed)
        return self._mixture().sample(n, rng, styles.index(style), spread=temperature)

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
        return {m: atlas.meta[m][index : index + 1].tolist()[0] for m in atlas.meta}

    def corpus_pattern(self, index: int) -> DrumPattern:
        """The corpus window at an atlas index, as a pattern at its own tempo."""
        atlas = self._need_atlas()
        return DrumPattern.from_array(atlas.hvo[index], float(atlas.meta["bpm"][index]))

    def caption(self, index: int, window: bool = True) -> str:
        """A corpus window in words: style/substyle · drummer · tempo · beat or fill · bars
        (without the bars for `window=False`: the recording it comes from)."""
        r = self.record(index)
        parts = [
            "/".join(s for s in (r["style"], r["substyle"]) if s) or "corpus groove",
            r["drummer"],
            f"{r['bpm']:.0f} bpm",
            r["beat_type"],
        ]
        if window:
            parts.append(f"bars {r['first_bar'] + 1}–{r['first_bar'] + self.bars}")
        return " · ".join(p for p in parts if p)

    def corpus_groove(self, index: int) -> Groove:
        """The corpus window at an atlas index, with its stored latent point and caption."""
        atlas = self._need_atlas()
        index = int(index)
        if not 0 <= index < len(atlas):
            raise LatentLabError(f"no corpus window {index} (the atlas has {len(atlas)})")
        return Groove(
            self.corpus_pattern(index), atlas.latent_rows(index), self.caption(index), index
        )

    def beats(self) -> np.ndarray:
        """Atlas indices of the corpus windows that are beats, not fills (all of them in a
        corpus that does not tell the two apart)."""
        return np.flatnonzero(self._need_atlas().meta["beat_type"] != "fill")

    def pick_window(self, style: str = "", seed=None) -> int:
        """A random corpus window, a beat, of a style; of any style when `style` is empty or
        has no beats in this corpus (another checkpoint's, say)."""
        beats = self.beats()
        candidates = beats[self._need_atlas().meta["style"][beats] == style]
        if not len(candidates):
            candidates = beats if len(beats) else np.arange(len(self._need_atlas()))
        return int(np.random.default_rng(seed).choice(candidates))

    def draw(self, seed: int, style: str = "") -> tuple[np.ndarray, str]:
        """A new latent point (z_dim,) from the sampler, or its part for a style, and its
        caption: what the dashboards' Sample buttons play."""
        if style:
            z = self.sample_style_latents(style, 1, seed=seed)[0]
            return z, f"a new {style} groove (seed {seed})"
        return self.sample_latents(1, seed)[0], f"a new groove (seed {seed})"

    def sampled_groove(self, seed: int, style: str = "") -> Groove:
        """A new groove (see `draw`), decoded greedily at DEFAULT_BPM."""
        z, label = self.draw(seed, style)
        return Groove(self.decode(z[None])[0], z, label)

    def read_groove(self, source: str | os.PathLike | bytes, name: str | None = None) -> Groove:
        """A groove of the user's from a MIDI file (a path, or an upload's bytes), read once:
        its drums (found as `DrumPattern.from_midi` says: channel 10, else the channels no
        instrument is set for; a file with no drums is refused), its first bars at the
        model's length and tempo, and its latent point. Errors name the file (`name`)."""
        if name is None:
            name = "<bytes>" if isinstance(source, bytes | bytearray) else str(source)
        pattern = DrumPattern.from_midi(source, name=name)
        fitted = self.fit(pattern)
        if fitted.n_hits == 0:
            raise LatentLabError(f"{name}: its first {self.bars} bars have no drum hits")
        note = f" (first {self.bars} of {pattern.bars} bars)" if pattern.bars > self.bars else ""
        return Groove(fitted, self.encode(fitted)[0], f"{name}{note}")

    def place(self, z: np.ndarray) -> np.ndarray:
        """Map coordinates (n, 2) of latent points, without refitting the map."""
        return self._need_atlas().place(z)

    # ---- export ----------------------------------------------------------------------------
    @staticmethod
    def to_midi(patterns: DrumPattern | Iterable[DrumPattern], path=None) -> bytes:
        """MIDI bytes of one pattern, or of several played one after the other (`chain`)."""
        return chain(patterns).to_midi(path)

    @staticmethod
    def to_note_sequence_json(patterns: DrumPattern | Iterable[DrumPattern]) -> str:
        """NoteSequence JSON (Magenta.js) of one pattern, or of several (`chain`)."""
        return chain(patterns).to_note_sequence_json()

    save = staticmethod(save)
