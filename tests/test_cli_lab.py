"""The latent CLI commands end to end on a tiny checkpoint: files in, MIDI/JSON out."""

import json

import numpy as np
import pytest

from latentlab.cli import main
from latentlab.lab import LatentLab
from latentlab.pattern import DrumPattern


@pytest.fixture(scope="module")
def groove_files(tiny_checkpoint, tmp_path_factory):
    lab = LatentLab.load(tiny_checkpoint, device="cpu")
    folder = tmp_path_factory.mktemp("midi")
    a, b = folder / "a.mid", folder / "b.mid"
    lab.corpus_pattern(0).to_midi(a)
    lab.corpus_pattern(len(lab.atlas) - 1).to_midi(b)
    return a, b


def test_encode_prints_latent_map_place_and_neighbours(tiny_checkpoint, groove_files, capsys):
    a, _ = groove_files
    assert main(["encode", str(a), "--checkpoint", str(tiny_checkpoint), "--nearest", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["z"]) == 8 and len(out["map"]) == 2
    assert len(out["nearest"]) == 2 and out["nearest"][0]["index"] == 0


def test_sample_writes_midi_files(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "samples"
    args = ["sample", "--checkpoint", str(tiny_checkpoint), "--n", "3", "--out", str(out)]
    assert main([*args, "--temperature", "0.9", "--seed", "1", "--bpm", "93"]) == 0
    files = sorted(out.glob("*.mid"))
    assert [f.name for f in files] == ["sample-01.mid", "sample-02.mid", "sample-03.mid"]
    assert DrumPattern.from_midi(files[0]).bpm == pytest.approx(93, abs=0.01)
    assert main([*args, "--style", "funk"]) == 0
    assert len(list(out.glob("funk-*.mid"))) == 3
    assert main([*args, "--style", "polka"]) == 2
    assert "unknown" in capsys.readouterr().err


def test_interpolate_writes_one_file_with_the_steps_in_sequence(
    tiny_checkpoint, groove_files, tmp_path
):
    a, b = groove_files
    out = tmp_path / "path.mid"
    args = ["interpolate", str(a), str(b), "--steps", "5", "--out", str(out)]
    assert main([*args, "--checkpoint", str(tiny_checkpoint)]) == 0
    chain = DrumPattern.from_midi(out)
    assert chain.bars == 5 * 2
    lab = LatentLab.load(tiny_checkpoint, device="cpu")
    za, zb = lab.encode([a, b])
    first = lab.decode(lab.slerp(za, zb, 5))[0]
    np.testing.assert_array_equal(chain.hits[:32], first.hits)


def test_shift_writes_the_pushed_groove(tiny_checkpoint, groove_files, tmp_path):
    a, _ = groove_files
    out = tmp_path / "denser.mid"
    args = ["shift", str(a), "--density", "+1", "--shuffle", "0.5", "--out", str(out)]
    assert main([*args, "--checkpoint", str(tiny_checkpoint)]) == 0
    lab = LatentLab.load(tiny_checkpoint, device="cpu")
    expected = lab.decode(lab.shift(lab.encode(a), {"density": 1, "shuffle": 0.5}))[0]
    np.testing.assert_array_equal(DrumPattern.from_midi(out).hits, expected.hits)


@pytest.mark.parametrize(
    "args,message",
    [
        (["encode", "missing.mid"], "file not found"),
        (["shift", "{a}", "--out", "x.mid"], "give at least one amount"),
        (["interpolate", "{a}", "{a}", "--steps", "1", "--out", "x.mid"], "1 is outside 2..64"),
        (["encode", "{ckpt}/config.json"], "not a MIDI file"),
    ],
)
def test_bad_files_and_arguments_are_clear_errors(
    tiny_checkpoint, groove_files, capsys, args, message
):
    args = [x.format(a=groove_files[0], ckpt=tiny_checkpoint) for x in args]
    assert main([*args, "--checkpoint", str(tiny_checkpoint)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("latentlab: error:") and message in err and "Traceback" not in err


def test_atlas_command_builds_the_atlas(tiny_checkpoint, tmp_path, monkeypatch, capsys):
    import shutil

    from conftest import synthetic_grooves

    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, folder)
    (folder / "atlas.npz").unlink()
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))
    data = synthetic_grooves(tmp_path / "data", n=12)
    assert main(["atlas", str(folder), "--data", str(data), "--quiet"]) == 0
    assert "atlas of" in capsys.readouterr().out
    lab = LatentLab.load(folder, device="cpu")
    assert len(lab.atlas) > 0 and lab.atlas.coords.shape == (len(lab.atlas), 2)


def test_interpolate_and_shift_keep_the_grooves_tempi_and_write_json(tiny_checkpoint, tmp_path):
    lab = LatentLab.load(tiny_checkpoint, device="cpu")
    a, b = tmp_path / "a.mid", tmp_path / "b.mid"
    lab.corpus_pattern(0).with_bpm(100).to_midi(a)
    lab.corpus_pattern(1).with_bpm(140).to_midi(b)
    ckpt = ["--checkpoint", str(tiny_checkpoint)]
    path = ["interpolate", str(a), str(b), "--steps", "3"]
    assert main([*path, "--out", str(tmp_path / "p.mid"), *ckpt]) == 0
    assert DrumPattern.from_midi(tmp_path / "p.mid").bpm == pytest.approx(120), "the mean"
    assert main([*path, "--bpm", "90", "--out", str(tmp_path / "p.json"), *ckpt]) == 0
    chained = DrumPattern.from_note_sequence_json((tmp_path / "p.json").read_text())
    assert chained.bpm == 90 and chained.bars == 6
    assert main(["shift", str(b), "--density", "1", "--out", str(tmp_path / "s.mid"), *ckpt]) == 0
    assert DrumPattern.from_midi(tmp_path / "s.mid").bpm == pytest.approx(140)
    samples = tmp_path / "samples"
    assert main(["sample", "--n", "2", "--seed", "1", "--json", "--out", str(samples), *ckpt]) == 0
    files = sorted(samples.iterdir())
    assert [f.name for f in files] == ["sample-01.json", "sample-02.json"]
    assert json.loads(files[0].read_text())["tempos"][0]["qpm"] == 120


def test_an_attribute_the_atlas_lacks_is_a_clear_rebuild_error(
    tiny_checkpoint, groove_files, tmp_path, capsys
):
    import shutil

    from latentlab.atlas import Atlas

    folder = tmp_path / "older"
    shutil.copytree(tiny_checkpoint, folder)
    atlas = Atlas.load(folder)
    del atlas.vectors["accent"]
    atlas.save(folder)
    out = str(tmp_path / "x.mid")
    args = ["shift", str(groove_files[0]), "--accent", "1", "--out", out]
    assert main([*args, "--checkpoint", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "accent" in err and "rebuild it with `latentlab atlas`" in err


def test_a_shipped_model_is_named_from_any_folder(tmp_path, monkeypatch, capsys):
    """`--checkpoint gmd-4bar` finds the shipped 4-bar model wherever the user stands; an
    unknown name says which models ship."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "four"
    assert main(["sample", "--checkpoint", "gmd-4bar", "--n", "1", "--out", str(out)]) == 0
    (file,) = out.glob("*.mid")
    assert DrumPattern.from_midi(file).bars == 4
    assert main(["sample", "--checkpoint", "gmd-9bar", "--n", "1", "--out", str(out)]) == 2
    assert "shipped models by name: gmd-2bar, gmd-4bar" in capsys.readouterr().err
