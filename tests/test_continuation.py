"""Continue a groove: the seed's bars are kept exactly and the rest is played on."""

import numpy as np
import pytest

from latentlab.cli import main
from latentlab.continuation import (
    MAX_BARS,
    keep_counts,
    match_feel,
    rhythm_distance,
)
from latentlab.errors import LatentLabError
from latentlab.lab import LatentLab
from latentlab.pattern import HITS, OFFSETS, VELOCITIES, DrumPattern


def _groove(hits: dict[int, list[int]], velocity, offset=0.0) -> np.ndarray:
    """One bar of HVO with hits on {drum: [steps]}; velocity/offset: a number or per hit."""
    hvo = np.zeros((16, 27), np.float32)
    i = 0
    for drum, steps in hits.items():
        for step in steps:
            v = velocity[i] if np.ndim(velocity) else velocity
            o = offset[i] if np.ndim(offset) else offset
            hvo[step, drum], hvo[step, 9 + drum], hvo[step, 18 + drum] = 1, v, o
            i += 1
    return hvo


@pytest.fixture(scope="module", params=["tiny_checkpoint", "tiny_checkpoint_4bar"])
def lab(request):
    return LatentLab.load(request.getfixturevalue(request.param), device="cpu")


@pytest.fixture(scope="module")
def four_bars(lab):
    return lab.corpus_pattern(0).with_bpm(97)


@pytest.mark.parametrize("seed_bars", [1, 2, 3, 4])
def test_the_seed_bars_are_kept_exactly(lab, seed_bars):
    corpus = lab.corpus_pattern(0)
    seed = DrumPattern.from_array(np.tile(corpus.to_array(), (4, 1))[: 16 * seed_bars], bpm=101)
    out = lab.continue_groove(seed, 8, seed=0)
    assert out.bars == 8 and out.bpm == 101
    np.testing.assert_array_equal(out.to_array()[: 16 * seed_bars], seed.to_array())
    assert out.bar_slice(seed_bars, 8 - seed_bars).n_hits > 0


def test_temperature_and_seed(lab):
    seed = lab.corpus_pattern(1).bar_slice(0, 1)
    greedy = [lab.continue_groove(seed, 4, seed=s).to_array() for s in (0, 0)]
    np.testing.assert_array_equal(*greedy)
    hot = [lab.continue_groove(seed, 4, temperature=1.5, seed=s).to_array() for s in (1, 2)]
    assert not np.array_equal(*hot)
    np.testing.assert_array_equal(hot[0][:16], seed.to_array())


def test_lengths_outside_the_limits_are_clear_errors(lab):
    seed = lab.corpus_pattern(0)
    with pytest.raises(LatentLabError, match="ask for"):
        lab.continue_groove(seed.bar_slice(0, 2), 2)
    with pytest.raises(LatentLabError, match=f"to {MAX_BARS}"):
        lab.continue_groove(seed.bar_slice(0, 1), MAX_BARS + 1)
    long = DrumPattern.from_array(np.tile(seed.to_array(), (3, 1)), bpm=120)
    with pytest.raises(LatentLabError, match="give 1 to 4 bars"):
        lab.continue_groove(long, 12)


def test_continue_command(tiny_checkpoint, tmp_path, capsys):
    lab = LatentLab.load(tiny_checkpoint, device="cpu")
    seed_file = tmp_path / "seed.mid"
    lab.corpus_pattern(0).bar_slice(0, 1).with_bpm(88).to_midi(seed_file)
    out = tmp_path / "long.mid"
    args = ["continue", str(seed_file), "--checkpoint", str(tiny_checkpoint), "--out", str(out)]
    assert main([*args, "--bars", "8", "--seed", "3"]) == 0
    groove = DrumPattern.from_midi(out)
    assert groove.bars == 8 and groove.bpm == pytest.approx(88, abs=0.01)
    assert "1 bars of seed.mid, 7 more" in capsys.readouterr().out
    for bad in (["--bars", "0"], ["--bars", "99"], ["--bars", "4", "--temperature", "-1"]):
        assert main([*args, *bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("latentlab: error:") and "Traceback" not in err
    assert main([*args[:1], str(tmp_path / "none.mid"), *args[2:], "--bars", "4"]) == 2
    assert "none.mid" in capsys.readouterr().err


def test_the_candidate_that_keeps_the_feel_is_nearest():
    context = _groove({0: [0, 8], 2: [0, 2, 4, 6, 8, 10, 12, 14], 1: [4, 12]}, 0.7)
    same_feel = _groove({0: [0, 10], 2: [0, 2, 4, 6, 8, 10, 12, 14], 1: [4, 12]}, 0.7)
    busier = _groove({0: [0, 3, 8, 11], 2: list(range(16)), 1: [4, 7, 12, 15]}, 0.7)
    sparse = _groove({0: [0]}, 0.7)
    distance = rhythm_distance(np.stack([busier, same_feel, sparse]), context)
    assert distance.argmin() == 1 and distance[1] < distance[0] < distance[2]
    assert rhythm_distance(context[None], context)[0] == 0


def test_new_bars_take_the_contexts_dynamics_and_feel():
    """A flat, on-grid continuation of an accented, laid-back context gets the context's
    level, spread and lateness per drum, and keeps its own hits and accent order."""
    context = _groove(
        {1: [4, 12], 2: [0, 2, 4, 6, 8, 10, 12, 14]},
        [0.9, 0.95, 0.8, 0.4, 0.8, 0.4, 0.8, 0.4, 0.8, 0.4],
        0.1,
    )
    new = _groove({1: [4, 12], 2: [0, 4, 6, 8, 12]}, [0.5, 0.52, 0.6, 0.5, 0.55, 0.6, 0.5])
    out = match_feel(new, context)
    np.testing.assert_array_equal(out[:, HITS], new[:, HITS])
    hits = new[:, HITS] > 0.5
    assert np.all(out[:, VELOCITIES][~hits] == 0) and np.all(out[:, OFFSETS][~hits] == 0)
    snare, hat = out[[4, 12], 10], out[[0, 4, 6, 8, 12], 11]
    assert abs(snare.mean() - 0.925) < 1e-5 and abs(hat.mean() - 0.6) < 1e-5
    assert np.argsort(hat).tolist() == np.argsort(new[[0, 4, 6, 8, 12], 11]).tolist()
    assert hat.std() > 2 * new[[0, 4, 6, 8, 12], 11].std()
    np.testing.assert_allclose(out[:, OFFSETS][hits], 0.1, atol=1e-6)
    assert out[:, VELOCITIES].max() <= 1


def test_new_bars_keep_the_echos_count_of_hits_on_every_drum():
    """The decoder plays too few kicks and too many hats: the likeliest missing kicks are
    added with its velocity and offset, the least likely extra hats dropped; the rest stay."""
    echo = _groove({0: [0, 6, 8], 2: [0, 4, 8, 12], 1: [4]}, 0.7)
    new = _groove({0: [0], 2: [0, 2, 4, 6, 8, 12], 1: [4]}, 0.6, 0.02)
    predicted = np.zeros((16, 27), np.float32)
    predicted[:, HITS] = 0.6
    predicted[:, 0] = 0.05
    predicted[[3, 10], 0] = [0.4, 0.3]  # the likeliest empty kick cells
    predicted[[2, 6], 2] = [0.55, 0.1]  # the least sure hats
    predicted[:, VELOCITIES], predicted[:, OFFSETS] = 0.45, -0.1
    out = keep_counts(new[None], echo, predicted[None])[0]
    assert np.flatnonzero(out[:, 0]).tolist() == [0, 3, 10]
    assert out[3, 9] == out[10, 9] == np.float32(0.45) and out[3, 18] == np.float32(-0.1)
    assert out[0, 9] == np.float32(0.6) and out[0, 18] == np.float32(0.02)
    assert np.flatnonzero(out[:, 2]).tolist() == [0, 4, 8, 12]
    assert np.all(out[[2, 6], 11] == 0) and np.all(out[[2, 6], 20] == 0)
    np.testing.assert_array_equal(out[:, [1, 10, 19]], new[:, [1, 10, 19]])
    np.testing.assert_array_equal(keep_counts(echo[None], echo, predicted[None])[0], echo)


def test_an_empty_context_or_continuation_is_left_as_it_is():
    new = _groove({0: [0, 8]}, 0.6, 0.05)
    np.testing.assert_array_equal(match_feel(new, np.zeros((16, 27), np.float32)), new)
    empty = np.zeros((16, 27), np.float32)
    np.testing.assert_array_equal(match_feel(empty, new), empty)


def test_the_shipped_model_goes_on_with_the_phrase_varied():
    """Bars 1-2 a beat then a fill: a drummer going on plays the beat again, then a fill
    again (bar 3 echoes bar 1, bar 4 bar 2), with variations, not a copy of the seed."""
    lab = LatentLab.load("gmd-2bar", device="cpu")
    beat = _groove({0: [0, 8, 10], 1: [4, 12], 2: list(range(0, 16, 2))}, 0.7)
    fill = _groove({0: [0, 8], 1: [4, 12, 13, 14, 15], 2: list(range(0, 12, 2)), 5: [12]}, 0.7)
    seed = DrumPattern.from_array(np.concatenate([beat, fill]), bpm=100)

    def f1(a: np.ndarray, b: np.ndarray) -> float:
        a, b = a[:, HITS] > 0.5, b[:, HITS] > 0.5
        return 2 * (a & b).sum() / (a.sum() + b.sum())

    for s in range(3):
        out = lab.continue_groove(seed, 4, seed=s).to_array()
        bar1, bar2, bar3, bar4 = out[:16], out[16:32], out[32:48], out[48:]
        assert f1(bar3, bar1) > f1(bar3, bar2) and f1(bar4, bar2) > f1(bar4, bar1)
        assert not np.array_equal(out[32:, HITS], out[:32, HITS])


def test_a_continuation_accents_the_phrase_as_the_seed_does():
    """Where bar 3 plays a hit that bar 1 plays, it plays it as the drummer did in bar 1
    (velocity and offset); the seed's accents are not flattened."""
    lab = LatentLab.load("gmd-2bar", device="cpu")
    accents = [0.95, 0.3, 0.6, 0.3] * 2
    beat = _groove({0: [0, 8], 1: [4, 12], 2: list(range(0, 16, 2))}, 0.8, 0.04)
    beat[0:16:2, 11] = accents
    seed = DrumPattern.from_array(np.concatenate([beat, beat]), bpm=100)
    for s in range(3):
        bar3 = lab.continue_groove(seed, 3, seed=s).to_array()[32:]
        both = (bar3[:, HITS] > 0.5) & (beat[:, HITS] > 0.5)
        assert both.sum() >= 8
        np.testing.assert_array_equal(bar3[:, VELOCITIES][both], beat[:, VELOCITIES][both])
        np.testing.assert_array_equal(bar3[:, OFFSETS][both], beat[:, OFFSETS][both])
