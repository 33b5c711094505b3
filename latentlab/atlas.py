"""The atlas: a checkpoint's corpus encoded once, so dashboards start without the dataset.

It holds, per corpus window, the latent mean, its 2-D UMAP coordinates, its metadata,
its rhythm attributes and the groove itself (compactly: velocities as 0..127, offsets in
1/254 step, latents as their principal components); and for the corpus as a whole the
attribute vectors (mean latent of the top quartile minus that of the bottom quartile,
MusicVAE's recipe) and a diagonal Gaussian per style. Everything lives in one `atlas.npz`
of plain arrays (loaded with allow_pickle=False). A new latent point is placed on the map
from its nearest corpus neighbours, without refitting UMAP.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from latentlab.attributes import ATTRIBUTES
from latentlab.corpus import META_COLUMNS, Windows
from latentlab.errors import LatentLabError
from latentlab.model import DrumVAE

ATLAS_FILE = "atlas.npz"
PLACE_NEIGHBOURS = 8


@dataclass
class Atlas:
    """Corpus encodings, map coordinates, metadata, attributes, vectors and style Gaussians."""

    latents: np.ndarray
    coords: np.ndarray
    hvo: np.ndarray
    meta: dict[str, np.ndarray]
    attributes: dict[str, np.ndarray]
    vectors: dict[str, np.ndarray]
    styles: list[str]
    style_means: np.ndarray
    style_stds: np.ndarray

    def __len__(self) -> int:
        return len(self.latents)

    def __post_init__(self) -> None:
        self.latents = np.ascontiguousarray(self.latents, np.float32)
        self._norms = (self.latents**2).sum(1)

    def attribute_std(self, name: str) -> float:
        """Corpus standard deviation of an attribute: the unit of effect sizes."""
        return float(self.attributes[name].std()) or 1.0

    def nearest(self, z: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """Indices and Euclidean distances of the k corpus windows closest to each z."""
        z = np.atleast_2d(np.asarray(z, np.float32))
        d2 = self._norms[None] - 2 * (z @ self.latents.T) + (z**2).sum(1)[:, None]
        k = min(k, len(self))
        index = np.argpartition(d2, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(d2, index, 1).argsort(1)
        index = np.take_along_axis(index, order, 1)
        dist = np.sqrt(np.maximum(np.take_along_axis(d2, index, 1), 0))
        return index, dist

    def place(self, z: np.ndarray) -> np.ndarray:
        """Map coordinates of new latent points: inverse-distance mean of their neighbours."""
        index, dist = self.nearest(z, PLACE_NEIGHBOURS)
        weights = 1.0 / np.maximum(dist, 1e-6) ** 2
        weights /= weights.sum(1, keepdims=True)
        return (self.coords[index] * weights[..., None]).sum(1).astype(np.float32)

    def save(self, folder: str | os.PathLike) -> Path:
        path = Path(folder) / ATLAS_FILE
        hits = self.hvo[..., :9] > 0.5
        mean, basis, codes = _compress_latents(self.latents)
        arrays = {
            "latent_mean": mean,
            "latent_basis": basis,
            "latent_codes": codes,
            "coords": self.coords.astype(np.float32),
            "hits": np.packbits(hits, axis=-1),
            "velocities": np.round(self.hvo[..., 9:18] * 127).astype(np.uint8),
            "offsets": np.round(self.hvo[..., 18:27] * 254).astype(np.int8),
            "steps": np.asarray(self.hvo.shape[1]),
            "styles": np.asarray(self.styles),
            "style_means": self.style_means.astype(np.float32),
            "style_stds": self.style_stds.astype(np.float32),
            **{f"meta.{k}": v for k, v in self.meta.items()},
            **{f"attribute.{k}": v.astype(np.float32) for k, v in self.attributes.items()},
            **{f"vector.{k}": v.astype(np.float32) for k, v in self.vectors.items()},
        }
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike) -> Atlas:
        path = Path(folder) / ATLAS_FILE
        if not path.exists():
            raise LatentLabError(f"{path}: missing; build it with `latentlab atlas {folder}`")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError) as exc:
            raise LatentLabError(f"{path}: truncated or corrupt atlas ({exc})") from None

        def group(prefix: str) -> dict[str, np.ndarray]:
            return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}

        hits = np.unpackbits(arrays["hits"], axis=-1, count=9).astype(np.float32)
        hvo = np.concatenate(
            [hits, arrays["velocities"] / np.float32(127), arrays["offsets"] / np.float32(254)],
            axis=-1,
        ).astype(np.float32)
        latents = arrays["latent_codes"].astype(np.float32) @ arrays["latent_basis"]
        return cls(
            latents=latents + arrays["latent_mean"],
            coords=arrays["coords"],
            hvo=hvo,
            meta=group("meta."),
            attributes=group("attribute."),
            vectors=group("vector."),
            styles=arrays["styles"].tolist(),
            style_means=arrays["style_means"],
            style_stds=arrays["style_stds"],
        )


def _compress_latents(latents: np.ndarray, keep: float = 0.9999):
    """Principal components holding `keep` of the variance, codes in float16.

    A VAE leaves many latent dimensions unused (their means barely vary), so a few dozen
    components carry the corpus encodings: this keeps the atlas a few MB.
    """
    mean = latents.mean(0)
    _, s, vt = np.linalg.svd(latents - mean, full_matrices=False)
    share = np.cumsum(s**2) / max((s**2).sum(), 1e-12)
    k = min(int(np.searchsorted(share, keep)) + 1, len(s))
    codes = ((latents - mean) @ vt[:k].T).astype(np.float16)
    return mean.astype(np.float32), vt[:k].astype(np.float32), codes


@torch.no_grad()
def encode_windows(model: DrumVAE, hvo: np.ndarray, batch: int = 1024) -> np.ndarray:
    """Posterior means of many windows, batched."""
    model.eval()
    out = []
    for start in range(0, len(hvo), batch):
        x = torch.as_tensor(hvo[start : start + batch], device=model.device)
        out.append(model.encode(x)[0].cpu().numpy())
    return np.concatenate(out).astype(np.float32)


def attribute_vectors(
    latents: np.ndarray, attributes: dict[str, np.ndarray], seed: int = 0
) -> dict[str, np.ndarray]:
    """Mean latent of the top quartile of each attribute minus that of the bottom quartile.

    Quartiles are taken by rank, ties broken by a fixed random order, so attributes that are
    often zero (toms, say) still compare the highest quarter with the lowest.
    """
    tiebreak = np.random.default_rng(seed).permutation(len(latents))
    quarter = max(1, len(latents) // 4)
    vectors = {}
    for name, values in attributes.items():
        order = np.lexsort((tiebreak, values))
        vectors[name] = latents[order[-quarter:]].mean(0) - latents[order[:quarter]].mean(0)
    return vectors


def build_atlas(
    model: DrumVAE,
    windows: Windows,
    seed: int = 0,
    progress: bool = True,
) -> Atlas:
    """Encode every window, fit the UMAP map, compute attributes, vectors and style stats.

    Attribute vectors and style Gaussians come from the train split only, so the test
    split stays held out for measuring them.
    """
    import umap

    t0 = time.time()
    latents = encode_windows(model, windows.hvo)
    if progress:
        print(f"encoded {len(latents)} windows in {time.time() - t0:.1f} s")
    reducer = umap.UMAP(n_neighbors=15, min_dist=0.1, random_state=seed, n_jobs=1, verbose=progress)
    coords = reducer.fit_transform(latents).astype(np.float32)
    attributes = {name: fn(windows.hvo).astype(np.float32) for name, fn in ATTRIBUTES.items()}
    train = windows.meta["split"] == "train"
    if not train.any():
        raise LatentLabError("atlas: the corpus has no train windows for attribute vectors")
    vectors = attribute_vectors(latents[train], {k: v[train] for k, v in attributes.items()})
    styles = sorted({s for s in windows.meta["style"][train].tolist() if s})
    means, stds = [], []
    for style in styles:
        z = latents[train & (windows.meta["style"] == style)]
        means.append(z.mean(0))
        stds.append(z.std(0) if len(z) > 1 else np.ones(z.shape[1], np.float32))
    width = latents.shape[1]
    return Atlas(
        latents=latents,
        coords=coords,
        hvo=windows.hvo,
        meta={k: windows.meta[k] for k in META_COLUMNS},
        attributes=attributes,
        vectors=vectors,
        styles=styles,
        style_means=np.asarray(means, np.float32).reshape(-1, width),
        style_stds=np.asarray(stds, np.float32).reshape(-1, width),
    )
