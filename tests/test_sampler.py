"""The latent sampler: new grooves are drawn where the training grooves encode."""

import numpy as np
import pytest

from latentlab.errors import LatentLabError
from latentlab.lab import LatentLab
from latentlab.sampler import LatentMixture, NormalPrior


def _clusters(seed: int = 0, n: int = 600, d: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Codes in three tight clusters far from the origin, labelled a/b/c."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (3, d))
    labels = rng.integers(0, 3, n)
    codes = centres[labels] + rng.normal(0, 0.3, (n, d))
    return codes.astype(np.float32), np.array(["a", "b", "c"])[labels]


def _nearest_distance(points: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return np.sqrt(((points[:, None] - codes[None]) ** 2).sum(-1)).min(1)


def test_mixture_samples_lie_near_the_codes_and_normal_ones_do_not():
    codes, labels = _clusters()
    mixture = LatentMixture.fit(codes, labels, ["a", "b", "c"], components=6)
    rng = np.random.default_rng(1)
    drawn = mixture.sample(300, rng)
    held_out, _ = _clusters(seed=0, n=900)
    typical = np.median(_nearest_distance(held_out[600:], codes))
    assert np.median(_nearest_distance(drawn, codes)) < 1.5 * typical
    normal = NormalPrior(codes.shape[1]).sample(300, rng)
    assert normal.shape == drawn.shape and normal.dtype == np.float32
    assert np.median(_nearest_distance(normal, codes)) > 3 * typical


def test_style_weights_draw_from_that_style():
    codes, labels = _clusters()
    mixture = LatentMixture.fit(codes, labels, ["a", "b", "c"], components=6)
    for i, style in enumerate("abc"):
        drawn = mixture.sample(100, np.random.default_rng(i), style=i)
        d = np.sqrt(((drawn[:, None] - codes[None]) ** 2).sum(-1))
        assert (labels[d.argmin(1)] == style).mean() > 0.95


def test_round_trip_through_arrays_and_tampering():
    codes, labels = _clusters()
    mixture = LatentMixture.fit(codes, labels, ["a", "b", "c"], components=4)
    arrays = mixture.to_arrays()
    again = LatentMixture.from_arrays(arrays, "atlas.npz")
    np.testing.assert_array_equal(
        again.sample(5, np.random.default_rng(0)), mixture.sample(5, np.random.default_rng(0))
    )
    assert LatentMixture.from_arrays({}, "atlas.npz") is None
    broken = {**arrays, "sampler_cholesky": arrays["sampler_cholesky"][:-1]}
    with pytest.raises(LatentLabError, match="sampler_cholesky has shape"):
        LatentMixture.from_arrays(broken, "atlas.npz")
    nan = {**arrays, "sampler_means": arrays["sampler_means"] * np.nan}
    with pytest.raises(LatentLabError, match="non-finite"):
        LatentMixture.from_arrays(nan, "atlas.npz")
    with pytest.raises(LatentLabError, match=r"sampler_centre has shape \(16,\), expected \(8,\)"):
        LatentMixture.from_arrays(arrays, "atlas.npz", z_dim=8)
    flat = {**arrays, "sampler_means": arrays["sampler_means"].ravel()}
    with pytest.raises(LatentLabError, match="must be 2-D"):
        LatentMixture.from_arrays(flat, "atlas.npz")
    del arrays["sampler_weights"]
    with pytest.raises(LatentLabError, match="lacks 'sampler_weights'"):
        LatentMixture.from_arrays(arrays, "atlas.npz")


def test_lab_samples_from_the_mixture_by_default(tiny_checkpoint):
    lab = LatentLab.load(tiny_checkpoint, device="cpu")
    codes = lab.atlas.latents[lab.atlas.meta["split"] == "train"]
    mixture = lab.sample_latents(200, seed=0)
    normal = lab.sample_latents(200, seed=0, prior="normal")
    assert np.median(_nearest_distance(mixture, codes)) < np.median(
        _nearest_distance(normal, codes)
    )
    assert len(lab.sample(2, seed=0, prior="normal")) == 2
    with pytest.raises(LatentLabError, match="prior 'uniform' is unknown"):
        lab.sample_latents(1, prior="uniform")
