"""LatentLab: each latent operation does what a notebook user relies on."""

import dataclasses

import numpy as np
import pytest

from latentlab.errors import LatentLabError
from latentlab.lab import DEFAULT_BPM, LatentLab, chain, lerp, select_windows, slerp, slerp_at
from latentlab.pattern import DrumPattern


@pytest.fixture(scope="module")
def lab(tiny_checkpoint):
    return LatentLab.load(tiny_checkpoint, device="cpu")


def test_slerp_ends_norms_and_angles():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(64), rng.standard_normal(64) * 2
    path = slerp(a, b, 9)
    assert path.shape == (9, 64)
    np.testing.assert_allclose(path[0], a, atol=1e-5)
    np.testing.assert_allclose(path[-1], b, atol=1e-5)
    norms = np.linalg.norm(path, axis=1)
    np.testing.assert_allclose(norms, np.linspace(np.linalg.norm(a), np.linalg.norm(b), 9), 1e-5)
    # Equal angular steps along the great circle.
    unit = path / norms[:, None]
    angles = np.arccos(np.clip((unit[:-1] * unit[1:]).sum(1), -1, 1))
    np.testing.assert_allclose(angles, angles[0], rtol=1e-4)
    # Lerp's midpoint falls inside the shell; slerp's does not.
    mid_lerp = np.linalg.norm(lerp(a, b, 3)[1])
    assert mid_lerp < np.linalg.norm(path[4]) - 0.1


def test_slerp_between_parallel_points_is_well_defined():
    a = np.ones(8)
    np.testing.assert_allclose(slerp_at(a, 3 * a, 0.5), 2 * a, atol=1e-5)


def test_encode_decode_round_trip_shapes(lab, tiny_checkpoint):
    groove = lab.corpus_pattern(0)
    z = lab.encode(groove)
    assert z.shape == (1, lab.z_dim)
    patterns = lab.decode(np.repeat(z, 3, axis=0), bpm=97)
    assert len(patterns) == 3 and all(p.bars == 2 and p.bpm == 97 for p in patterns)
    midi = groove.to_midi()
    np.testing.assert_allclose(lab.encode(midi), z, atol=1e-3)  # MIDI velocity steps
    with pytest.raises(LatentLabError, match="dimensions"):
        lab.decode(np.zeros((1, lab.z_dim + 1)))


def test_longer_grooves_are_cut_and_shorter_padded(lab):
    long = lab.to_midi([lab.corpus_pattern(0), lab.corpus_pattern(1)])
    np.testing.assert_allclose(
        lab.encode(DrumPattern.from_midi(long)), lab.encode(lab.corpus_pattern(0)), atol=1e-3
    )
    one_bar = lab.corpus_pattern(0).bar_slice(0, 1)
    assert lab.encode(one_bar).shape == (1, lab.z_dim)


def test_sampling_is_seeded(lab):
    a = lab.sample(4, temperature=1.0, seed=7)
    b = lab.sample(4, temperature=1.0, seed=7)
    assert a == b
    assert lab.sample(4, temperature=1.0, seed=8) != a


def test_shift_moves_along_the_attribute_vector(lab):
    z = lab.encode(lab.corpus_pattern(0))[0]
    v = lab.attribute_vector("density")
    np.testing.assert_allclose(lab.shift(z, {"density": 2.0}), z + 2 * v, atol=1e-6)
    np.testing.assert_allclose(
        lab.shift(z, {"density": 1.0, "shuffle": -0.5}),
        z + v - 0.5 * lab.attribute_vector("shuffle"),
        atol=1e-6,
    )
    with pytest.raises(LatentLabError, match="unknown"):
        lab.shift(z, {"loudness": 1})


def test_attribute_vectors_point_from_low_to_high(lab):
    atlas = lab.atlas
    values = atlas.attributes["density"]
    along = atlas.latents @ lab.attribute_vector("density")
    # Projections on the density vector rank windows by density better than chance.
    assert np.corrcoef(values, along)[0, 1] > 0


def test_neighbourhood_grid(lab):
    z = lab.encode(lab.corpus_pattern(3))[0]
    for kind in ("attributes", "dimensions", "principal", ("density", "syncopation")):
        grid = lab.neighbourhood(z, kind, size=3)
        assert grid.shape == (3, 3, lab.z_dim)
        np.testing.assert_allclose(grid[1, 1], z, atol=1e-5)
        np.testing.assert_allclose(np.linalg.norm(grid, axis=-1), np.linalg.norm(z), rtol=1e-4)
    # Moving along the first direction moves along it for "dimensions" (a latent axis).
    grid = lab.neighbourhood(z, "dimensions", size=5, pair=0)
    (d1, _), _ = lab.directions("dimensions", 0)
    assert np.count_nonzero(d1) == 1 and grid[4, 2] @ d1 > grid[0, 2] @ d1
    # Another pair gives other directions.
    assert not np.allclose(lab.directions("attributes", 0)[0], lab.directions("attributes", 1)[0])
    with pytest.raises(LatentLabError, match="odd"):
        lab.neighbourhood(z, size=4)


def test_blend_corners_and_centre(lab):
    corners = lab.sample_latents(4, seed=1)
    grid = lab.blend(corners, size=5)
    assert grid.shape == (5, 5, lab.z_dim)
    for (i, j), c in zip([(0, 0), (0, 4), (4, 0), (4, 4)], corners, strict=True):
        np.testing.assert_allclose(grid[i, j], c, atol=1e-5)
    np.testing.assert_allclose(lab.blend_at(corners, 0.5, 0.5), grid[2, 2], atol=1e-5)


def test_similar_stays_close(lab):
    z = lab.sample_latents(1, seed=3)[0]
    near = lab.similar(z, n=6, similarity=0.9, seed=0)
    far = lab.similar(z, n=6, similarity=0.2, seed=0)
    assert near.shape == (6, lab.z_dim)
    assert np.linalg.norm(near - z, axis=1).mean() < np.linalg.norm(far - z, axis=1).mean()
    np.testing.assert_allclose(lab.similar(z, 2, similarity=1.0), np.stack([z, z]), atol=1e-5)


def test_style_sampling_stays_near_its_style(lab):
    atlas = lab.atlas
    assert lab.styles == ["funk", "rock"]
    for style in lab.styles:
        z = lab.sample_style_latents(style, 50, temperature=0.5, seed=0)
        index, _ = atlas.nearest(z, k=5)
        assert (atlas.meta["style"][index] == style).mean() > 0.9
    assert len(lab.sample_style("funk", 2, seed=0)) == 2
    with pytest.raises(LatentLabError, match="unknown"):
        lab.sample_style("polka")


def test_nearest_returns_the_window_itself(lab):
    atlas = lab.atlas
    for i in (0, 5, len(atlas) - 1):
        (hits,) = lab.nearest(atlas.latents[i], k=3)
        assert hits[0]["index"] == i and hits[0]["distance"] < 1e-3
        assert hits[0]["style"] == atlas.meta["style"][i]
        assert hits[1]["distance"] >= hits[0]["distance"]


def test_place_puts_corpus_points_on_their_own_spot(lab):
    atlas = lab.atlas
    placed = lab.place(atlas.latents[:10])
    np.testing.assert_allclose(placed, atlas.coords[:10], atol=1e-3)
    assert lab.place(lab.sample_latents(3, seed=0)).shape == (3, 2)


def test_exports_round_trip_through_drum_pattern(lab):
    patterns = lab.decode(lab.sample_latents(3, seed=2), bpm=110)
    chained = DrumPattern.from_midi(lab.to_midi(patterns))
    assert chained.bars == 6
    np.testing.assert_array_equal(chained.hits, np.concatenate([p.hits for p in patterns]))
    again = DrumPattern.from_note_sequence_json(lab.to_note_sequence_json(patterns[0]))
    np.testing.assert_array_equal(again.hits, patterns[0].hits)


def test_atlas_survives_a_save_load_round_trip(lab, tmp_path):
    from latentlab.atlas import Atlas

    lab.atlas.save(tmp_path)
    again = Atlas.load(tmp_path)
    np.testing.assert_allclose(again.latents, lab.atlas.latents, atol=0.05)
    np.testing.assert_array_equal(again.coords, lab.atlas.coords)
    np.testing.assert_array_equal(again.hvo[..., :9], lab.atlas.hvo[..., :9])
    np.testing.assert_allclose(again.hvo[..., 9:], lab.atlas.hvo[..., 9:], atol=1 / 250)
    assert again.styles == lab.atlas.styles
    (tmp_path / "atlas.npz").write_bytes(b"garbage")
    with pytest.raises(LatentLabError, match="corrupt"):
        Atlas.load(tmp_path)


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(LatentLabError, match="does not exist"):
        LatentLab.load(tmp_path / "nope")


def test_loading_sets_one_torch_thread_unless_told_otherwise(tiny_checkpoint):
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        LatentLab.load(tiny_checkpoint, device="cpu", threads=None)
        assert torch.get_num_threads() == 2, "threads=None leaves the setting alone"
        LatentLab.load(tiny_checkpoint, device="cpu")
        assert torch.get_num_threads() == 1, "one thread by default: sessions share the cores"
    finally:
        torch.set_num_threads(before)


# ---- one place for each groove operation ---------------------------------------------------
def test_a_groove_keeps_its_tempo_through_encode_shift_slerp_and_decode(lab):
    from latentlab.analysis import interpolate

    g138 = lab.corpus_pattern(0).with_bpm(138)
    assert lab.read_groove(g138.to_midi(), "g.mid").pattern.bpm == pytest.approx(138)
    assert [p.bpm for p in lab.reconstruct([g138, g138.with_bpm(90)])] == [138, 90]
    assert lab.shifted(g138, {"density": 1.0}).bpm == 138
    z = lab.encode(g138)
    assert lab.decode(z, bpm=g138.bpm)[0].bpm == 138, "decode takes the groove's tempo"
    assert lab.decode(z)[0].bpm == DEFAULT_BPM, "a point alone has no tempo"
    path = interpolate(lab, g138, lab.corpus_pattern(1).with_bpm(98), 5)
    for method in ("slerp", "lerp", "data"):
        assert [p.bpm for p in path.patterns(method)] == [138, 128, 118, 108, 98]
    assert chain(path.patterns("slerp")).bpm == 118, "a chain plays at the mean tempo"
    assert chain(path.patterns("slerp"), bpm=100).bpm == 100


def test_directions_come_with_their_names_and_are_computed_once(lab, monkeypatch):
    assert lab.directions("attributes", 0)[1] == ("density", "shuffle")
    assert lab.directions("attributes", 1)[1] == ("syncopation", "laid back")
    (d1, d2), names = lab.directions("dimensions", 0)
    variance = lab.atlas.latents.var(0)
    assert names == (f"z[{np.argmax(variance)}]", names[1]) and d1 @ d2 == 0
    svd = np.linalg.svd
    calls = []
    monkeypatch.setattr(np.linalg, "svd", lambda *a, **k: calls.append(1) or svd(*a, **k))
    fresh = LatentLab(lab.model, lab.config, lab.atlas, lab.folder)
    first = fresh.directions("principal", 0)
    again = fresh.directions("principal", 0)
    assert len(calls) == 1 and np.array_equal(first[0], again[0])
    assert first[1] == ("principal 1", "principal 2")
    vectors, names = lab.directions(["kick_density", "toms_density"])
    assert names == ("kick", "toms")
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, rtol=1e-5)


def test_an_attribute_the_atlas_lacks_asks_for_a_rebuild(lab):
    atlas = dataclasses.replace(
        lab.atlas, vectors={k: v for k, v in lab.atlas.vectors.items() if k != "accent"}
    )
    old = LatentLab(lab.model, lab.config, atlas, "ckpt")
    assert "accent" not in old.attribute_names
    with pytest.raises(LatentLabError, match=r"rebuild the atlas with `latentlab atlas ckpt"):
        old.attribute_vector("accent")
    with pytest.raises(LatentLabError, match="'wobble' is unknown; known: density, shuffle"):
        old.attribute_vector("wobble")


def test_corpus_windows_are_captioned_picked_and_selected_one_way(lab):
    meta = lab.atlas.meta
    r = lab.record(4)
    assert lab.caption(4) == (
        f"{r['style']} · {r['bpm']:.0f} bpm · bars {r['first_bar'] + 1}–{r['first_bar'] + 2}"
    )
    assert lab.caption(4, window=False) == f"{r['style']} · {r['bpm']:.0f} bpm"
    groove = lab.corpus_groove(4)
    assert groove.label == lab.caption(4) and groove.pattern == lab.corpus_pattern(4)
    with pytest.raises(LatentLabError, match="no corpus window"):
        lab.corpus_groove(len(lab.atlas))
    for seed in range(5):
        assert meta["style"][lab.pick_window("funk", seed)] == "funk"
    assert 0 <= lab.pick_window("no such style", 0) < len(lab.atlas)
    # A corpus with fills: picks are beats, not fills.
    beat_type = np.where(np.arange(len(lab.atlas)) % 2, "fill", "beat")
    atlas = dataclasses.replace(lab.atlas, meta={**meta, "beat_type": beat_type})
    with_fills = LatentLab(lab.model, lab.config, atlas)
    assert all(beat_type[with_fills.pick_window("rock", s)] == "beat" for s in range(10))
    np.testing.assert_array_equal(with_fills.beats(), np.flatnonzero(beat_type == "beat"))
    funk_fills = select_windows(atlas, style="funk", beat_type="fill")
    assert set(meta["style"][funk_fills]) == {"funk"} and set(beat_type[funk_fills]) == {"fill"}
    with pytest.raises(LatentLabError, match="style 'salsa' is unknown"):
        select_windows(atlas, style="salsa")


def test_save_writes_midi_or_note_sequence_json_by_the_file_name(lab, tmp_path):
    patterns = [lab.corpus_pattern(0), lab.corpus_pattern(1)]
    lab.save(patterns, tmp_path / "both.mid")
    lab.save(patterns, tmp_path / "both.json")
    from_midi = DrumPattern.from_midi(tmp_path / "both.mid")
    from_json = DrumPattern.from_note_sequence_json((tmp_path / "both.json").read_text())
    np.testing.assert_array_equal(from_midi.hits, chain(patterns).hits)
    np.testing.assert_array_equal(from_json.hits, chain(patterns).hits)
    with pytest.raises(LatentLabError, match=r"both\.txt: name a \.mid .* or \.json"):
        lab.save(patterns, tmp_path / "both.txt")


def test_a_loaded_atlas_keeps_its_grooves_packed_and_reads_any_rows(lab):
    from latentlab.atlas import PackedGrooves

    packed = lab.atlas.hvo
    assert isinstance(packed, PackedGrooves), "a kernel holds the atlas's grooves packed"
    full = np.asarray(packed)
    assert full.shape == packed.shape and full.dtype == np.float32
    for key in (3, np.int64(7), [1, 4], slice(2, 5), (slice(2, 5), 0, slice(9, 18)), (6, 3)):
        np.testing.assert_array_equal(packed[key], full[key])
    np.testing.assert_array_equal(packed[..., :9], full[..., :9])
