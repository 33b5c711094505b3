"""Humanize and Drumify: what they keep (hits, taps, tempo, length), what they change, the
files they load from, and the CLI verbs end to end."""

import json
import shutil

import numpy as np
import pytest
from conftest import piano_midi

from latentlab.cli import main
from latentlab.errors import LatentLabError
from latentlab.lab import DEFAULT_CHECKPOINT, LatentLab
from latentlab.pattern import DrumPattern
from latentlab.transform import KINDS, load_transform


@pytest.fixture(scope="module")
def lab(tiny_checkpoint):
    return LatentLab.load(tiny_checkpoint, device="cpu")


def groove(bars: int, bpm: float = 97.0, seed: int = 0) -> DrumPattern:
    """A busy groove of `bars` bars with real dynamics and timing."""
    rng = np.random.default_rng(seed)
    hits = (rng.random((16 * bars, 9)) < 0.2).astype(np.float32)
    hits[::4, 0] = 1
    velocities = hits * rng.uniform(0.2, 1.0, hits.shape)
    offsets = hits * rng.uniform(-0.4, 0.4, hits.shape)
    return DrumPattern(hits, velocities, offsets, bpm)


def flat(pattern: DrumPattern, velocity: float = 0.8) -> DrumPattern:
    """The groove as a step sequencer gives it: every hit at one velocity, on the grid."""
    return DrumPattern(pattern.hits, velocity * pattern.hits, 0 * pattern.hits, pattern.bpm)


def loudness(pattern: DrumPattern) -> float:
    return float(pattern.velocities[pattern.hits > 0].mean())


@pytest.mark.parametrize("bars", [1, 2, 3, 8])
def test_humanize_keeps_every_hit_and_changes_only_dynamics_and_timing(lab, bars):
    pattern = flat(groove(bars))
    out = lab.humanize(pattern)
    assert out.bpm == 97.0 and out.steps == pattern.steps
    np.testing.assert_array_equal(out.hits, pattern.hits)
    hit = pattern.hits > 0
    assert (out.velocities[hit] > 0).all() and not np.allclose(out.velocities[hit], 0.8)
    assert np.abs(out.offsets[hit]).max() > 0


def test_humanize_reads_only_the_hits_and_the_level(lab):
    """A played groove and its flattened version humanize alike at the same level: its
    own (the mean velocity of its hits) unless one is given."""
    played = groove(2, seed=3)
    own = lab.humanize(played).to_array()
    np.testing.assert_allclose(
        own, lab.humanize(flat(played), loudness(played)).to_array(), atol=1e-6
    )
    np.testing.assert_allclose(
        own, lab.humanize(flat(played, loudness(played))).to_array(), atol=1e-6
    )
    assert lab.humanize(played, 0.5) == lab.humanize(flat(played, 0.9), 0.5)


@pytest.mark.parametrize("level", [-0.1, 1.5, float("nan"), True, "loud"])
def test_a_level_outside_0_to_1_is_refused(lab, level):
    with pytest.raises(
        LatentLabError, match=rf"humanize: level {level!r} is not a number in 0\.\.1"
    ):
        lab.humanize(groove(2), level)


def test_the_level_sets_how_loud_the_drummer_plays():
    """Shipped model: a groove entered soft comes back soft, entered loud comes back loud,
    near the level it was entered at; the hits and their pattern of accents stay."""
    lab = LatentLab.load(DEFAULT_CHECKPOINT, device="cpu")
    pattern = groove(2, seed=5)
    soft, medium, loud = (lab.humanize(flat(pattern, v)) for v in (0.3, 0.55, 0.8))
    assert loudness(soft) < loudness(medium) < loudness(loud)
    for out, level in ((soft, 0.3), (medium, 0.55), (loud, 0.8)):
        np.testing.assert_array_equal(out.hits, pattern.hits)
        assert abs(loudness(out) - level) < 0.15
    given = lab.humanize(flat(pattern, 0.3), 0.8).to_array()
    np.testing.assert_allclose(given, loud.to_array(), atol=1e-6)


@pytest.mark.parametrize("bars", [1, 2, 5, 8])
def test_drumify_plays_on_the_taps_and_nowhere_else(lab, bars):
    full = groove(bars, bpm=133, seed=bars)
    tapped = full.hits.any(1)
    taps = np.zeros_like(full.hits)
    taps[tapped, 1] = 1  # the taps on one voice (a snare)
    loudest = full.velocities.argmax(1)
    offsets = np.zeros_like(taps)
    offsets[tapped, 1] = full.offsets[np.arange(full.steps), loudest][tapped]
    pattern = DrumPattern(taps, taps * 0.7, offsets, 133)
    out = lab.drumify(pattern)
    assert out.bpm == 133 and out.steps == pattern.steps
    np.testing.assert_array_equal(out.hits.any(1), tapped)
    played = out.hits > 0
    np.testing.assert_array_equal(
        out.offsets[played], np.broadcast_to(offsets[:, 1:2], out.hits.shape)[played]
    )
    # A kit groove read as taps gives the same result: every onset collapses to one voice.
    assert lab.drumify(full).hits.any(1).tolist() == tapped.tolist()


def test_empty_grooves_stay_empty(lab):
    empty = DrumPattern.empty(4, bpm=90)
    assert lab.humanize(empty) == empty and lab.drumify(empty) == empty


@pytest.mark.parametrize("kind,missing", [("humanize", ".json"), ("drumify", ".safetensors")])
def test_a_checkpoint_without_the_model_is_a_clear_error(tiny_checkpoint, tmp_path, kind, missing):
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, folder)
    (folder / f"{kind}{missing}").unlink()
    lab = LatentLab.load(folder, device="cpu")
    with pytest.raises(LatentLabError, match=f"no {kind} model; train one with `latentlab train"):
        getattr(lab, kind)(groove(2))


def test_a_humanize_model_without_the_level_input_is_a_clear_error(tiny_checkpoint, tmp_path):
    """A first-round humanize model read the hits alone; it is refused with how to retrain."""
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, folder)
    config = json.loads((folder / "humanize.json").read_text())
    del config["inputs"]
    (folder / "humanize.json").write_text(json.dumps(config))
    with pytest.raises(LatentLabError, match=r"reads 'hits', not 'hits \+ level .*retrain it"):
        LatentLab.load(folder, device="cpu").humanize(groove(2))


def test_a_tampered_model_file_is_a_clear_error(tiny_checkpoint, tmp_path):
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, folder)
    config = json.loads((folder / "humanize.json").read_text())
    (folder / "humanize.json").write_text(json.dumps(config | {"hidden": 16}))
    with pytest.raises(LatentLabError, match=r"humanize\.safetensors: tensor .* has shape"):
        load_transform(folder, "humanize")
    (folder / "humanize.json").write_text(json.dumps(config | {"layers": "two"}))
    with pytest.raises(LatentLabError, match=r"humanize\.json: layers is 'two', not a whole"):
        load_transform(folder, "humanize")


def test_the_shipped_checkpoint_has_both_models():
    lab = LatentLab.load(DEFAULT_CHECKPOINT, device="cpu")
    pattern = flat(groove(2))
    np.testing.assert_array_equal(lab.humanize(pattern).hits, pattern.hits)
    assert lab.drumify(pattern).hits.any(1).tolist() == pattern.hits.any(1).tolist()


@pytest.mark.parametrize("kind", KINDS)
def test_the_cli_verbs_write_the_transformed_groove(tiny_checkpoint, tmp_path, capsys, kind):
    source, out = tmp_path / "in.mid", tmp_path / "out.mid"
    flat(groove(4, bpm=104)).to_midi(source)
    args = [kind, str(source), "--checkpoint", str(tiny_checkpoint), "--out", str(out)]
    assert main(args) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    written = DrumPattern.from_midi(out)
    expected = getattr(LatentLab.load(tiny_checkpoint, device="cpu"), kind)(
        DrumPattern.from_midi(source)
    )
    assert written.bars == 4 and written.bpm == pytest.approx(104, abs=0.01)
    np.testing.assert_array_equal(written.hits, expected.hits)


@pytest.mark.parametrize(
    "source,message",
    [
        ("missing.mid", "missing.mid"),
        ("piano.mid", "piano.mid: no drums"),
        ("notes.txt", "notes.txt"),
    ],
)
@pytest.mark.parametrize("kind", KINDS)
def test_the_cli_verbs_refuse_bad_input_in_one_line(
    tiny_checkpoint, tmp_path, capsys, kind, source, message
):
    (tmp_path / "piano.mid").write_bytes(piano_midi())
    (tmp_path / "notes.txt").write_text("not a MIDI file")
    args = [kind, str(tmp_path / source), "--checkpoint", str(tiny_checkpoint)]
    assert main([*args, "--out", str(tmp_path / "out.mid")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("latentlab: error:") and message in err and "Traceback" not in err
    assert not (tmp_path / "out.mid").exists()


def test_the_cli_humanizes_at_the_level_given_as_a_midi_velocity(tiny_checkpoint, tmp_path):
    source = tmp_path / "in.mid"
    flat(groove(2, bpm=90)).to_midi(source)
    lab = LatentLab.load(tiny_checkpoint, device="cpu")
    for level in (30, 120):
        out = tmp_path / f"{level}.mid"
        args = ["humanize", str(source), "--level", str(level), "--out", str(out)]
        assert main([*args, "--checkpoint", str(tiny_checkpoint)]) == 0
        expected = lab.humanize(DrumPattern.from_midi(source), level / 127)
        written = DrumPattern.from_midi(out)
        np.testing.assert_array_equal(written.hits, expected.hits)
        np.testing.assert_allclose(written.velocities, expected.velocities, atol=1 / 127)


@pytest.mark.parametrize(
    "level,message",
    [("0", "0 is outside 1..127"), ("200", "200 is outside 1..127"), ("loud", "'loud' is not")],
)
def test_the_cli_refuses_a_bad_level_in_one_line(tiny_checkpoint, tmp_path, capsys, level, message):
    source, out = tmp_path / "in.mid", tmp_path / "out.mid"
    flat(groove(2)).to_midi(source)
    args = ["humanize", str(source), "--level", level, "--out", str(out)]
    assert main([*args, "--checkpoint", str(tiny_checkpoint)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("latentlab: error:") and f"--level: {message}" in err
    assert err.count("\n") == 1 and not out.exists()
