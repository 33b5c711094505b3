"""Sampling new grooves where the data is: a Gaussian mixture over the training encodings.

A VAE's prior N(0, I) and its aggregate posterior (where real grooves encode) differ: draws
from N(0, I) land in holes between the training codes and decode to walls of hits or loops
that do not repeat. `LatentMixture` is fitted to the training codes instead (full
covariances, in the principal subspace that holds nearly all their variance) and stores
itself as plain arrays in the atlas. Each style gets its own weights over the same
components (the mean responsibility of the style's windows), so sampling in a style draws
from the part of the mixture that style lives in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentlab.errors import LatentLabError

PREFIX = "sampler_"


@dataclass(frozen=True)
class NormalPrior:
    """The VAE's prior N(0, I), with the mixture's `sample(n, rng)` interface: what a
    checkpoint without an atlas samples from, and the teaching contrast to the mixture."""

    z_dim: int

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n latent points (n, z_dim) drawn from N(0, I)."""
        return rng.standard_normal((n, self.z_dim)).astype(np.float32)


@dataclass(frozen=True)
class LatentMixture:
    """Mixture of K Gaussians in an r-dimensional subspace of the latent space."""

    centre: np.ndarray  # (d,) mean of the codes
    basis: np.ndarray  # (r, d) orthonormal rows: the principal directions kept
    weights: np.ndarray  # (K,) mixture weights
    means: np.ndarray  # (K, r)
    cholesky: np.ndarray  # (K, r, r) lower-triangular factors of the covariances
    style_weights: np.ndarray  # (S, K) each style's weights over the components

    @classmethod
    def fit(
        cls,
        latents: np.ndarray,
        labels: np.ndarray | None = None,
        styles: list[str] = (),
        components: int = 32,
        variance: float = 0.99,
        max_dims: int = 96,
        seed: int = 0,
    ) -> LatentMixture:
        """Fit to codes (N, d); `labels` (N,) name each code's style, `styles` their order."""
        from sklearn.mixture import GaussianMixture

        latents = np.asarray(latents, np.float64)
        components = max(1, min(components, len(latents) // 10))
        centre = latents.mean(0)
        _, s, vt = np.linalg.svd(latents - centre, full_matrices=False)
        share = np.cumsum(s**2) / max((s**2).sum(), 1e-12)
        r = min(int(np.searchsorted(share, variance)) + 1, max_dims, len(s))
        codes = (latents - centre) @ vt[:r].T
        gmm = GaussianMixture(
            components, covariance_type="full", reg_covar=1e-4, random_state=seed, max_iter=200
        ).fit(codes)
        responsibility = gmm.predict_proba(codes)
        style_weights = np.zeros((len(styles), components))
        for i, style in enumerate(styles):
            mine = responsibility[np.asarray(labels) == style]
            style_weights[i] = mine.mean(0) if len(mine) else gmm.weights_
        return cls(
            centre=centre.astype(np.float32),
            basis=vt[:r].astype(np.float32),
            weights=gmm.weights_.astype(np.float32),
            means=gmm.means_.astype(np.float32),
            cholesky=np.linalg.cholesky(gmm.covariances_).astype(np.float32),
            style_weights=style_weights.astype(np.float32),
        )

    def sample(
        self,
        n: int,
        rng: np.random.Generator,
        style: int | None = None,
        spread: float = 1.0,
    ) -> np.ndarray:
        """n latent points (n, d); from one style's weights if `style` (its index) is given.

        `spread` scales each component's covariance (1: as fitted; below 1: closer to the
        centres of the grooves the mixture has seen).
        """
        weights = self.weights if style is None else self.style_weights[style]
        weights = np.asarray(weights, np.float64)
        which = rng.choice(len(weights), size=n, p=weights / weights.sum())
        noise = rng.standard_normal((n, self.means.shape[1]))
        codes = self.means[which] + spread * np.einsum("nij,nj->ni", self.cholesky[which], noise)
        return (self.centre + codes @ self.basis).astype(np.float32)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {PREFIX + k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], where: str, z_dim: int | None = None
    ) -> LatentMixture | None:
        """The mixture stored in an atlas's arrays (for latent points of width `z_dim` when
        given); None for an atlas built before samplers."""
        names = list(cls.__dataclass_fields__)
        if not any(PREFIX + k in arrays for k in names):
            return None
        missing = [PREFIX + k for k in names if PREFIX + k not in arrays]
        if missing:
            raise LatentLabError(f"{where}: the sampler lacks {missing[0]!r}; rebuild the atlas")
        mixture = cls(**{k: np.asarray(arrays[PREFIX + k], np.float32) for k in names})
        if mixture.means.ndim != 2 or mixture.centre.ndim != 1:
            raise LatentLabError(f"{where}: {PREFIX}means must be 2-D and {PREFIX}centre 1-D")
        k, r = mixture.means.shape
        d = mixture.centre.shape[0] if z_dim is None else z_dim
        shapes = {
            "centre": (d,),
            "basis": (r, d),
            "weights": (k,),
            "cholesky": (k, r, r),
            "style_weights": (mixture.style_weights.shape[0], k),
        }
        for name, shape in shapes.items():
            if getattr(mixture, name).shape != shape:
                raise LatentLabError(
                    f"{where}: {PREFIX}{name} has shape {getattr(mixture, name).shape}, "
                    f"expected {shape}"
                )
        if not all(np.isfinite(getattr(mixture, n)).all() for n in names):
            raise LatentLabError(f"{where}: the sampler holds non-finite numbers; rebuild it")
        if (mixture.weights < 0).any() or mixture.weights.sum() <= 0:
            raise LatentLabError(f"{where}: {PREFIX}weights must be non-negative, not all 0")
        return mixture
