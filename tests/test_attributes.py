"""Rhythm attributes on hand-made grooves whose values are known, and attribute vectors."""

import numpy as np
import pytest

from latentlab.atlas import attribute_vectors
from latentlab.attributes import ATTRIBUTES, describe
from latentlab.pattern import DrumPattern

KICK, SNARE, HAT, RIDE = 0, 1, 2, 8


def groove(cells, bars=1, offsets=None, velocity=0.8) -> DrumPattern:
    """A pattern with hits at (step, class) cells; optional per-cell offsets/velocities."""
    hits = np.zeros((16 * bars, 9), np.float32)
    vel = np.zeros_like(hits)
    off = np.zeros_like(hits)
    for i, (step, cls) in enumerate(cells):
        hits[step, cls] = 1
        vel[step, cls] = velocity[i] if isinstance(velocity, list) else velocity
        if offsets is not None:
            off[step, cls] = offsets[i]
    return DrumPattern(hits, vel, off)


ROCK = [(0, KICK), (8, KICK), (4, SNARE), (12, SNARE)] + [(s, HAT) for s in range(0, 16, 2)]


def test_density_and_per_drum_densities():
    d = describe(groove(ROCK))
    assert d["density"] == 12
    assert d["kick_density"] == 2 and d["snare_density"] == 2 and d["hihat_density"] == 8
    assert d["toms_density"] == 0 and d["cymbals_density"] == 0
    two_bars = groove(ROCK + [(s + 16, c) for s, c in ROCK], bars=2)
    assert describe(two_bars)["density"] == 12  # per bar


@pytest.mark.parametrize(
    "kicks,expected",
    [
        ([0, 8], 0),  # on the beat
        ([0, 14], 0),  # the 'and' of 4 leads into a downbeat note: no rest stronger
        ([0, 6], 2),  # the 'and' of 2 with beat 3 silent: -1 - (-3)
        ([0, 7], 3),  # a sixteenth before beat 3, then silence over it: -1 - (-4)
        ([3], 4),  # alone, a sixteenth: silence over the downbeat: 0 - (-4)
    ],
)
def test_syncopation_longuet_higgins_lee(kicks, expected):
    assert describe(groove([(k, KICK) for k in kicks]))["syncopation"] == expected


def test_a_steady_hihat_does_not_hide_a_syncopated_kick():
    plain = groove([(0, KICK)] + [(s, HAT) for s in range(0, 16, 2)])
    pushed = groove([(0, KICK), (6, KICK)] + [(s, HAT) for s in range(0, 16, 2)])
    assert describe(pushed)["syncopation"] > describe(plain)["syncopation"]


def test_shuffle_separates_straight_from_swung_eighths():
    straight = groove([(s, RIDE) for s in range(0, 16, 2)])
    # Triplet swing: the off-beat eighth at 2/3 of the beat = step 2.667 = step 3 - 1/3.
    swung_cells = [(s, RIDE) for s in range(0, 16, 4)] + [(s + 3, RIDE) for s in range(0, 16, 4)]
    offsets = [0.0] * 4 + [-1 / 3] * 4
    swung = groove(swung_cells, offsets=offsets)
    assert describe(straight)["shuffle"] == pytest.approx(1.0)
    assert describe(swung)["shuffle"] == pytest.approx(2.0, abs=0.01)
    assert describe(groove([(0, KICK)]))["shuffle"] == 1.0  # no off-beats: neutral


def test_straight_sixteenths_do_not_read_as_swing():
    sixteenths = groove([(s, HAT) for s in range(16)])
    assert describe(sixteenths)["shuffle"] == pytest.approx(1.0)
    # Swung ride eighths keep their swing under a straight snare sixteenth after them.
    ride = [(s, RIDE) for s in range(0, 16, 4)] + [(s + 3, RIDE) for s in range(0, 16, 4)]
    ghosts = [(s + 3, SNARE) for s in range(0, 16, 4)]
    swung = groove(ride + ghosts, offsets=[0.0] * 4 + [-1 / 3] * 4 + [0.0] * 4)
    assert describe(swung)["shuffle"] == pytest.approx(2.0, abs=0.01)


def test_accent_and_laid_back():
    flat = groove(ROCK, velocity=0.7)
    accented = groove(ROCK, velocity=[1.0, 1.0, 1.0, 1.0] + [1.0, 0.3] * 4)
    assert describe(flat)["accent"] == pytest.approx(0.0, abs=1e-6)
    # Kicks, snares and the hats on the beat at 1.0, the hats between at 0.3.
    assert describe(accented)["accent"] == pytest.approx(0.7)
    upbeats = groove(ROCK, velocity=[0.5] * 4 + [0.5, 0.9] * 4)
    assert describe(upbeats)["accent"] == pytest.approx(-0.4)
    behind = groove(ROCK, offsets=[0.2] * len(ROCK))
    assert describe(behind)["laid_back"] == pytest.approx(0.2)
    assert describe(groove(ROCK))["laid_back"] == 0


def test_attributes_are_batched():
    batch = np.stack([groove(ROCK).to_array(), groove([(0, KICK)]).to_array()])
    for name, fn in ATTRIBUTES.items():
        values = fn(batch)
        assert values.shape == (2,), name
    np.testing.assert_array_equal(ATTRIBUTES["density"](batch), [12, 1])


def test_attribute_vector_is_top_quartile_minus_bottom_quartile_mean():
    rng = np.random.default_rng(0)
    latents = rng.standard_normal((400, 6)).astype(np.float32)
    values = latents[:, 2] * 3 + rng.normal(0, 0.1, 400)
    vectors = attribute_vectors(latents, {"a": values, "tied": np.zeros(400)})
    order = np.argsort(values)
    expected = latents[order[-100:]].mean(0) - latents[order[:100]].mean(0)
    np.testing.assert_allclose(vectors["a"], expected, atol=1e-6)
    assert np.argmax(np.abs(vectors["a"])) == 2 and vectors["a"][2] > 0
    # All-tied values still give a vector (two random quarters), not an error.
    assert np.linalg.norm(vectors["tied"]) < np.linalg.norm(vectors["a"])


def test_the_registry_drives_the_evaluation_and_the_cli_flags():
    from latentlab.cli import build_parser
    from latentlab.evaluate import OVERLAP_FEATURES

    assert tuple(n for n, a in ATTRIBUTES.items() if a.realism) == OVERLAP_FEATURES
    assert "density" in OVERLAP_FEATURES and "shuffle" not in OVERLAP_FEATURES
    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    flags = {a.dest: a for a in commands["shift"]._actions}
    for name, attribute in ATTRIBUTES.items():
        assert attribute.unit in flags[name].help and attribute.short in flags[name].help
    assert (
        ATTRIBUTES["hihat_density"].label == "Hi-hat"
        and ATTRIBUTES["laid_back"].short == "laid back"
    )
