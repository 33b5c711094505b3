"""latentlab.analysis: interpolation three ways, attribute sweeps, the VAE notebook's numbers."""

import numpy as np
import pytest
import torch

from latentlab.analysis import (
    attribute_sweep,
    data_interpolation,
    hamming,
    interpolate,
    interpolation_norms,
    kl_per_dimension,
    measure,
    radial_points,
)
from latentlab.attributes import ATTRIBUTES
from latentlab.errors import LatentLabError
from latentlab.lab import LatentLab
from latentlab.model import kl_divergence


@pytest.fixture(scope="module")
def lab(tiny_checkpoint):
    return LatentLab.load(tiny_checkpoint, device="cpu")


def random_hvo(seed: int, steps: int = 32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hits = (rng.random((steps, 9)) < 0.3).astype(np.float32)
    hvo = np.concatenate([hits, hits * rng.random((steps, 9)), hits * 0.1], axis=1)
    return hvo.astype(np.float32)


def test_hamming_counts_differing_hit_cells():
    a = random_hvo(0)
    b = a.copy()
    b[3, 2] = 1 - b[3, 2]
    b[7, 0] = 1 - b[7, 0]
    b[5, 9:] = 0.123  # velocities and offsets do not count
    assert hamming(a, b) == 2
    assert hamming(a, a) == 0
    np.testing.assert_array_equal(hamming(np.stack([a, b]), a), [0, 2])


def test_data_interpolation_swaps_cells_from_a_to_b_monotonically():
    a, b = random_hvo(1), random_hvo(2)
    t = np.linspace(0, 1, 11)
    path = data_interpolation(a, b, t, seed=3)
    assert path.shape == (11, 32, 27)
    np.testing.assert_array_equal(path[0], a)
    np.testing.assert_array_equal(path[-1], b)
    to_a, to_b = hamming(path, a), hamming(path, b)
    assert (np.diff(to_a) >= 0).all() and (np.diff(to_b) <= 0).all()
    np.testing.assert_array_equal(data_interpolation(a, b, t, seed=3), path)  # seeded
    with pytest.raises(LatentLabError, match="shapes differ"):
        data_interpolation(a, b[:16], t)


def test_data_interpolation_takes_a_share_t_of_whole_cells_from_b():
    full = np.concatenate([np.ones((32, 9)), np.full((32, 9), 0.7), np.full((32, 9), 0.1)], 1)
    empty = np.zeros((32, 27))
    path = data_interpolation(full, empty, [0.25, 0.5, 0.75], seed=0)
    from_b = path[..., :9] == 0
    assert from_b.mean((1, 2)) == pytest.approx([0.25, 0.5, 0.75], abs=0.08)
    # A cell comes whole from one groove: velocity and offset go with the hit.
    np.testing.assert_array_equal(path[..., 9:18] == 0, from_b)
    np.testing.assert_array_equal(path[..., 18:] == 0, from_b)


def test_interpolate_three_ways(lab):
    a, b = lab.atlas.hvo[0], lab.atlas.hvo[5]
    result = interpolate(lab, a, b, steps=5)
    np.testing.assert_allclose(result.t, [0, 0.25, 0.5, 0.75, 1])
    for method in ("slerp", "lerp", "data"):
        assert result.hvo[method].shape == (5, 32, 27)
        np.testing.assert_array_equal(result.to_a[method], hamming(result.hvo[method], a))
        np.testing.assert_array_equal(result.to_b[method], hamming(result.hvo[method], b))
    za, zb = lab.encode(a)[0], lab.encode(b)[0]
    ends = lab.decode_hvo(np.stack([za, zb]))
    for method in ("slerp", "lerp"):  # latent paths start and end at the reconstructions
        np.testing.assert_allclose(result.hvo[method][[0, -1]], ends, atol=1e-5)
    mid_slerp, mid_lerp = lab.slerp(za, zb, 5)[2], lab.lerp(za, zb, 5)[2]
    np.testing.assert_allclose(result.hvo["slerp"][2], lab.decode_hvo(mid_slerp)[0], atol=1e-5)
    np.testing.assert_allclose(result.hvo["lerp"][2], lab.decode_hvo(mid_lerp)[0], atol=1e-5)
    assert result.to_a["data"][0] == 0 and result.to_b["data"][-1] == 0
    with pytest.raises(LatentLabError, match="at least 2"):
        interpolate(lab, a, b, steps=1)


def test_interpolate_uses_given_latents(lab):
    a, b = lab.atlas.hvo[0], lab.atlas.hvo[5]
    za, zb = lab.sample_latents(2, seed=4)
    result = interpolate(lab, a, b, steps=3, za=za, zb=zb)
    np.testing.assert_allclose(result.hvo["slerp"][0], lab.decode_hvo(za)[0], atol=1e-5)
    np.testing.assert_allclose(result.hvo["slerp"][-1], lab.decode_hvo(zb)[0], atol=1e-5)


def test_lerp_midpoint_falls_inside_the_shell_slerp_stays_on_it():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 256))
    norms = interpolation_norms(a, b, steps=21)
    assert len(norms["t"]) == len(norms["lerp"]) == len(norms["slerp"]) == 21
    np.testing.assert_allclose(norms["lerp"][[0, -1]], norms["slerp"][[0, -1]], rtol=1e-5)
    assert norms["lerp"][10] == pytest.approx(np.sqrt(128), rel=0.1)  # sqrt(d / 2)
    assert norms["slerp"].min() > 0.97 * min(np.linalg.norm(a), np.linalg.norm(b))


def test_attribute_sweep_measures_the_decodes_of_pushed_latents(lab):
    z = lab.atlas.latents[:4]
    names = ["density", "snare_density", "shuffle"]
    sweep = attribute_sweep(lab, z, amounts=(-1, 0, 0.5, 1), names=names)
    assert sweep.values.shape == (3, 4, 3, 4)
    # One entry checked by hand: snare density of latent 2 pushed by 0.5 along "density".
    pushed = z[2] + 0.5 * lab.attribute_vector("density")
    expected = ATTRIBUTES["snare_density"](lab.decode_hvo(pushed))[0]
    assert sweep.values[0, 2, 1, 2] == pytest.approx(expected, abs=1e-5)
    base = measure(lab.decode_hvo(z), names)
    for i in range(3):
        np.testing.assert_allclose(sweep.values[i, 1], base)
    np.testing.assert_allclose(sweep.response("shuffle"), sweep.values[2, :, 2])
    std = np.array([lab.atlas.attribute_std(n) for n in names])
    change = sweep.change(1.0)
    np.testing.assert_allclose(change, (sweep.values[:, 3] - base[None]) / std[None, :, None])
    np.testing.assert_allclose(sweep.effect_matrix(1.0), change.mean(-1))
    np.testing.assert_allclose(sweep.change(0.0), 0)
    with pytest.raises(LatentLabError, match="not swept"):
        sweep.change(2.0)


def test_attribute_sweep_defaults_to_every_vector(lab):
    sweep = attribute_sweep(lab, lab.atlas.latents[:2], amounts=(0, 1))
    assert sweep.names == lab.attribute_names
    assert sweep.effect_matrix().shape == (len(sweep.names), len(sweep.names))


def test_kl_per_dimension_sums_to_the_models_kl():
    rng = np.random.default_rng(0)
    mu, sigma = rng.standard_normal((3, 8)), rng.uniform(0.1, 1.5, (3, 8))
    per_dim = kl_per_dimension(mu, sigma)
    assert per_dim.shape == (3, 8) and (per_dim >= 0).all()
    total = kl_divergence(torch.as_tensor(mu), torch.as_tensor(sigma)).numpy()
    np.testing.assert_allclose(per_dim.sum(1), total, rtol=1e-6)
    np.testing.assert_allclose(kl_per_dimension(np.zeros(4), np.ones(4)), 0)


def test_radial_points_keep_the_direction_and_set_the_norm():
    z = np.array([3.0, 4.0, 0.0])
    points = radial_points(z, [0, 1, 10])
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), [0, 1, 10], rtol=1e-6)
    np.testing.assert_allclose(points[2], [6, 8, 0], rtol=1e-6)
