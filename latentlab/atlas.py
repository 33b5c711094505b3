"""The atlas: a checkpoint's corpus encoded once, so dashboards start without the dataset.

It holds, per corpus window, the latent mean, its 2-D UMAP coordinates, its metadata,
its rhythm attributes and the groove itself (compactly: velocities as 0..127, offsets in
1/254 step, latents as their principal components); and for the corpus as a whole the
attribute vectors (mean latent of the top quartile minus that of the bottom quartile,
MusicVAE's recipe) and the sampler: a Gaussian mixture fitted to the training encodings,
with weights per style (`latentlab.sampler`). Everything lives in one `atlas.npz`
of plain arrays (loaded with allow_pickle=False). A new latent point is placed on the map
from its nearest corpus neighbours, without refitting UMAP.
"""

from __future__ import annotations

import math
import os
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentlab.attributes import ATTRIBUTES
from latentlab.checkpoint import CONFIG, model_config, read_config
from latentlab.corpus import META_COLUMNS, Windows
from latentlab.errors import LatentLabError
from latentlab.limits import MAX_ATLAS_ARRAYS, MAX_ATLAS_BYTES, MAX_BPM, MIN_BPM, check_size
from latentlab.model import DrumVAE, ModelConfig
from latentlab.pattern import HITS, N_CLASSES, OFFSETS, VELOCITIES
from latentlab.sampler import LatentMixture

ATLAS_FILE = "atlas.npz"
PLACE_NEIGHBOURS = 8
SHORTLIST = 64  # windows ranked exactly after the half-precision pass of `nearest`
QUERY_BATCH = 256  # latent points looked up together in `nearest`


def _unpack(hits: np.ndarray, velocities: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Float32 HVO (..., T, 27) of grooves stored as the atlas stores them."""
    h = np.unpackbits(hits, axis=-1, count=N_CLASSES).astype(np.float32)
    return np.concatenate([h, velocities / np.float32(127), offsets / np.float32(254)], axis=-1)


class PackedGrooves:
    """An atlas's grooves as stored: hits as bits, velocities and offsets as bytes (13 MB for
    20,000 2-bar windows; 71 MB as float HVO). Indexing decodes only the rows asked for into
    float32 HVO, as from an array (n, T, 27); np.asarray decodes all. Every dashboard kernel
    holds an atlas, and most read a few grooves of it."""

    def __init__(self, hits: np.ndarray, velocities: np.ndarray, offsets: np.ndarray) -> None:
        self.hits, self.velocities, self.offsets = hits, velocities, offsets
        self.shape = (*velocities.shape[:2], 3 * N_CLASSES)
        self.dtype, self.ndim = np.dtype(np.float32), 3

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        rows, rest = (key[0], key[1:]) if isinstance(key, tuple) else (key, ())
        if rows is Ellipsis:
            return np.asarray(self)[key]
        hvo = _unpack(self.hits[rows], self.velocities[rows], self.offsets[rows])
        one_row = np.ndim(rows) == 0 and not isinstance(rows, slice)
        return hvo[rest] if one_row else hvo[(slice(None), *rest)]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        hvo = _unpack(self.hits, self.velocities, self.offsets)
        return hvo if dtype is None else hvo.astype(dtype)


@dataclass
class Atlas:
    """Corpus encodings, map coordinates, metadata, attributes, vectors and the sampler.

    `hvo` is the grooves' float HVO (n, T, 27), kept packed when loaded (`PackedGrooves`).
    `latents` are held in half precision (every dashboard kernel holds an atlas: float32
    would cost it 10 MB more); `latent_rows` gives them in float32 to compute with. Text metadata
    columns are object arrays sharing one string per distinct value.
    `sampler` is None only for an atlas built before samplers existed."""

    latents: np.ndarray
    coords: np.ndarray
    hvo: np.ndarray | PackedGrooves
    meta: dict[str, np.ndarray]
    attributes: dict[str, np.ndarray]
    vectors: dict[str, np.ndarray]
    styles: list[str]
    sampler: LatentMixture | None

    def __len__(self) -> int:
        return len(self.latents)

    def __post_init__(self) -> None:
        self.latents = np.ascontiguousarray(self.latents, np.float16)
        self._norms = (self.latent_rows(slice(None)) ** 2).sum(1)
        self._half = torch.from_numpy(self.latents)
        self.meta = {k: _shared_strings(v) for k, v in self.meta.items()}

    def latent_rows(self, index) -> np.ndarray:
        """Latent points of the windows at `index` (anything numpy indexes with), float32."""
        return self.latents[index].astype(np.float32)

    def attribute_std(self, name: str) -> float:
        """Corpus standard deviation of an attribute: the unit of effect sizes."""
        return float(self.attributes[name].std()) or 1.0

    def nearest(self, z: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """Indices and Euclidean distances of the k corpus windows closest to each z.

        Products in half precision rank every window roughly; the best few (SHORTLIST, or
        4k) are then ranked by their exact float32 distances."""
        z = np.atleast_2d(np.asarray(z, np.float32))
        k = min(k, len(self))
        short = min(len(self), max(SHORTLIST, 4 * k))
        indices, distances = [], []
        for q in np.array_split(z, max(1, math.ceil(len(z) / QUERY_BATCH))):
            scale = max(1.0, float(np.abs(q).max()) / 8)  # keeps the products in half range
            products = (torch.from_numpy(q / scale).half() @ self._half.T).float().numpy()
            rough = self._norms[None] - 2 * scale * products
            index = np.argpartition(rough, short - 1, axis=1)[:, :short]
            d2 = ((self.latent_rows(index) - q[:, None]) ** 2).sum(-1)
            order = np.argsort(d2, axis=1, kind="stable")[:, :k]
            indices.append(np.take_along_axis(index, order, 1))
            distances.append(np.sqrt(np.take_along_axis(d2, order, 1)))
        return np.concatenate(indices), np.concatenate(distances)

    def place(self, z: np.ndarray) -> np.ndarray:
        """Map coordinates of new latent points: inverse-distance mean of their neighbours."""
        index, dist = self.nearest(z, PLACE_NEIGHBOURS)
        weights = 1.0 / np.maximum(dist, 1e-6) ** 2
        weights /= weights.sum(1, keepdims=True)
        return (self.coords[index] * weights[..., None]).sum(1).astype(np.float32)

    def save(self, folder: str | os.PathLike) -> Path:
        path = Path(folder) / ATLAS_FILE
        hits = self.hvo[..., HITS] > 0.5
        mean, basis, codes = _compress_latents(self.latent_rows(slice(None)))
        arrays = {
            "latent_mean": mean,
            "latent_basis": basis,
            "latent_codes": codes,
            "coords": self.coords.astype(np.float32),
            "hits": np.packbits(hits, axis=-1),
            "velocities": np.round(self.hvo[..., VELOCITIES] * 127).astype(np.uint8),
            "offsets": np.round(self.hvo[..., OFFSETS] * 254).astype(np.int8),
            "steps": np.asarray(self.hvo.shape[1]),
            "styles": np.asarray(self.styles),
            **(self.sampler.to_arrays() if self.sampler else {}),
            **{
                f"meta.{k}": v.astype(str) if v.dtype == object else v for k, v in self.meta.items()
            },
            **{f"attribute.{k}": v.astype(np.float32) for k, v in self.attributes.items()},
            **{f"vector.{k}": v.astype(np.float32) for k, v in self.vectors.items()},
        }
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike) -> Atlas:
        """The atlas of a checkpoint folder, every array checked (see `_check_arrays`), and
        against the model in the folder's config.json when it has one."""
        path = Path(folder) / ATLAS_FILE
        if not path.is_file():
            raise LatentLabError(f"{path}: missing; build it with `latentlab atlas {folder}`")
        arrays = _read_arrays(path)
        model = model_config(read_config(folder)) if (Path(folder) / CONFIG).exists() else None
        _check_arrays(arrays, str(path), model)

        def group(prefix: str) -> dict[str, np.ndarray]:
            return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}

        hvo = PackedGrooves(arrays["hits"], arrays["velocities"], arrays["offsets"])
        latents = arrays["latent_codes"].astype(np.float32) @ arrays["latent_basis"]
        return cls(
            latents=latents + arrays["latent_mean"],
            coords=arrays["coords"],
            hvo=hvo,
            meta=group("meta."),
            attributes=group("attribute."),
            vectors=group("vector."),
            styles=arrays["styles"].tolist(),
            sampler=LatentMixture.from_arrays(arrays, str(path), len(arrays["latent_mean"])),
        )


# What every atlas holds: array name -> (dtype, or the dtype kinds allowed; shape). Sizes
# named by letters agree across arrays: n windows, z latent width, k principal components,
# T steps, s styles. Other arrays (meta., attribute. and vector. ones, the sampler's, and
# any a later version adds) are checked by the rules after this table.
_ATLAS_ARRAYS: dict[str, tuple[Any, tuple]] = {
    "latent_mean": ("f", ("z",)),
    "latent_basis": ("f", ("k", "z")),
    "latent_codes": ("f", ("n", "k")),
    "coords": ("f", ("n", 2)),
    "hits": (np.uint8, ("n", "T", (N_CLASSES + 7) // 8)),
    "velocities": (np.uint8, ("n", "T", N_CLASSES)),
    "offsets": (np.int8, ("n", "T", N_CLASSES)),
    "steps": ("iu", ()),
    "styles": ("U", ("s",)),
}
_GROUPS = {"meta.": ("fiuU", ("n",)), "attribute.": ("f", ("n",)), "vector.": ("f", ("z",))}
_KINDS = {"b": "booleans", "i": "integers", "u": "unsigned integers", "f": "floats", "U": "text"}


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, where: str) -> np.ndarray:
    """One .npy member, its header checked against the member's size before it is read."""
    name = member.filename.removesuffix(".npy")
    if name == member.filename:
        raise LatentLabError(f"{where}: {member.filename!r} is not an array (.npy)")
    with archive.open(member) as f:
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            raise LatentLabError(f"{where}: {name}: .npy format {version} is not supported")
        read_header = getattr(np.lib.format, f"read_array_header_{version[0]}_0")
        shape, _, dtype = read_header(f)
        if dtype.hasobject or dtype.kind not in "biufU":
            raise LatentLabError(f"{where}: {name}: dtype {dtype} is not numbers or text")
        if math.prod(shape) * dtype.itemsize != member.file_size - f.tell():
            raise LatentLabError(
                f"{where}: {name}: shape {shape} of {dtype} does not match its "
                f"{member.file_size:,} bytes"
            )
        f.seek(0)
        return np.lib.format.read_array(f, allow_pickle=False)


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an .npz file: its size, the number of arrays and their unpacked sizes
    are checked from the zip directory before anything is unpacked; nothing is unpickled."""
    where = str(path)
    check_size(where, "atlas file", path.stat().st_size, MAX_ATLAS_BYTES)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_ATLAS_ARRAYS:
                raise LatentLabError(
                    f"{where}: {len(members)} arrays, over the limit of {MAX_ATLAS_ARRAYS}"
                )
            unpacked = sum(m.file_size for m in members)
            check_size(where, "atlas, unpacked,", unpacked, MAX_ATLAS_BYTES)
            return {
                m.filename.removesuffix(".npy"): _read_member(archive, m, where) for m in members
            }
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError) as exc:
        raise LatentLabError(f"{where}: truncated or corrupt atlas ({exc})") from None


def _check_arrays(arrays: dict[str, np.ndarray], where: str, model: ModelConfig | None) -> None:
    """Every array of an atlas: plain finite numbers (or text), the shapes of the table
    above agreeing with each other and with the model, values in their ranges."""
    missing = [k for k in _ATLAS_ARRAYS if k not in arrays]
    missing += [f"meta.{c}" for c in META_COLUMNS if f"meta.{c}" not in arrays]
    for name in ATTRIBUTES:
        missing += [f"{g}{name}" for g in ("attribute.", "vector.") if f"{g}{name}" not in arrays]
    if missing:
        raise LatentLabError(f"{where}: no {missing[0]!r} array; rebuild it with `latentlab atlas`")
    sizes = {"z": model.z_dim, "T": model.steps} if model else {}
    for key, array in arrays.items():
        group = next((g for g in _GROUPS if key.startswith(g)), None)
        dtype, shape = _ATLAS_ARRAYS.get(key) or _GROUPS.get(group) or ("biufU", None)
        exact = isinstance(dtype, type)
        if array.size and not (array.dtype == dtype if exact else array.dtype.kind in dtype):
            want = np.dtype(dtype).name if exact else " or ".join(_KINDS[k] for k in dtype)
            raise LatentLabError(f"{where}: {key} holds {array.dtype}, not {want}")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise LatentLabError(f"{where}: {key} holds NaN or infinite values")
        if shape is None:
            continue
        if len(shape) == array.ndim:
            for size, n in zip(shape, array.shape, strict=True):
                if isinstance(size, str):
                    sizes.setdefault(size, n)
        expected = tuple(sizes.get(s, "?") if isinstance(s, str) else s for s in shape)
        if array.shape != expected:
            raise LatentLabError(f"{where}: {key} has shape {array.shape}, expected {expected}")
    if sizes["n"] == 0:
        raise LatentLabError(f"{where}: no corpus windows")
    if int(arrays["steps"]) != sizes["T"]:
        raise LatentLabError(f"{where}: steps is {int(arrays['steps'])}, not {sizes['T']}")
    if arrays["velocities"].max() > 127:
        raise LatentLabError(f"{where}: velocities hold values over 127")
    bpm = arrays["meta.bpm"]
    if bpm.dtype.kind not in "fiu" or not ((bpm >= MIN_BPM) & (bpm <= MAX_BPM)).all():
        raise LatentLabError(f"{where}: meta.bpm holds tempos outside {MIN_BPM:g}..{MAX_BPM:g}")


def _shared_strings(column: np.ndarray) -> np.ndarray:
    """A text column as an object array holding one string per distinct value (fixed-width
    unicode spends the longest value's bytes on every row); other columns as they are."""
    if column.dtype.kind != "U":
        return column
    names, inverse = np.unique(column, return_inverse=True)
    return names.astype(object)[inverse.reshape(column.shape)]


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
    """Encode every window, fit the UMAP map, compute attributes, vectors and the sampler.

    Attribute vectors and the sampler come from the train split only, so the test split
    stays held out for measuring them.
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
    t0 = time.time()
    sampler = LatentMixture.fit(latents[train], windows.meta["style"][train], styles, seed=seed)
    if progress:
        print(f"fitted the sampler ({len(sampler.weights)} components) in {time.time() - t0:.1f} s")
    return Atlas(
        latents=latents,
        coords=coords,
        hvo=windows.hvo,
        meta={k: windows.meta[k] for k in META_COLUMNS},
        attributes=attributes,
        vectors=vectors,
        styles=styles,
        sampler=sampler,
    )
