"""One rule for reading a user's groove, wherever it comes in: the explorer, the groove pickers
of the interpolation and attributes dashboards, and the CLI. Drums on MIDI channel 1 are read;
a piano part is refused with the same words for people everywhere."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import groove_notes, piano_midi, write_drum_midi

from latentlab.cli import main
from latentlab.errors import LatentLabError
from latentlab.lab import LatentLab
from latentlab.pattern import DrumPattern
from latentlab.widgets.explorer import Explorer
from latentlab.widgets.groove_picker import GroovePicker

PIANO = (
    "song.mid: no drums: its notes are on MIDI channel 1, set to Acoustic Grand Piano, "
    "not on channel 10 where drums go"
)


@pytest.fixture(scope="module")
def lab(tiny_checkpoint):
    return LatentLab.load(tiny_checkpoint, device="cpu")


def upload_state(name: str, data: bytes) -> dict:
    """What a FileUpload widget holds after the page sends a file."""
    entry = {"name": name, "type": "audio/midi", "size": len(data), "last_modified": 0}
    return {"value": [{**entry, "content": memoryview(data)}]}


def channel_1_drums(tmp_path) -> bytes:
    return write_drum_midi(tmp_path / "song.mid", groove_notes(2), channel=0).read_bytes()


def test_every_reader_takes_drums_on_channel_1(lab, tmp_path, capsys) -> None:
    data = channel_1_drums(tmp_path)
    expected = DrumPattern.from_midi(data)
    assert expected.n_hits == 24
    z = lab.read_groove(data, "song.mid").z

    explorer = Explorer(lab, seed=0)
    explorer.upload_button.set_state(upload_state("song.mid", data))
    assert explorer.state.pattern == expected and explorer.status.errors == []

    picker = GroovePicker(lab, "A")
    picker.upload.set_state(upload_state("song.mid", data))
    assert picker.groove.pattern == expected and np.allclose(picker.groove.z, z)

    assert main(["encode", str(tmp_path / "song.mid"), "--checkpoint", str(lab.folder)]) == 0
    assert '"z"' in capsys.readouterr().out


def test_every_reader_refuses_a_piano_part_in_the_same_words(lab, tmp_path, capsys) -> None:
    data = piano_midi()
    with pytest.raises(LatentLabError) as refused:
        lab.read_groove(data, "song.mid")
    assert str(refused.value) == PIANO

    explorer = Explorer(lab, seed=0)
    place = explorer.state.place
    explorer.upload_button.set_state(upload_state("song.mid", data))
    assert PIANO in explorer.status.value and explorer.state.place is place

    picker = GroovePicker(lab, "A")
    before = picker.groove
    picker.upload.set_state(upload_state("song.mid", data))
    assert PIANO in picker.status.value and picker.groove is before

    (tmp_path / "song.mid").write_bytes(data)
    args = ["--checkpoint", str(lab.folder)]
    assert main(["encode", str(tmp_path / "song.mid"), *args]) == 2
    assert capsys.readouterr().err == f"latentlab: error: {tmp_path}/{PIANO}\n"
    out = str(tmp_path / "out.mid")
    assert main(["shift", str(tmp_path / "song.mid"), "--density", "1", "--out", out, *args]) == 2
    assert PIANO.removeprefix("song.mid") in capsys.readouterr().err


def test_a_groove_whose_first_bars_are_silent_is_refused_everywhere(lab, tmp_path) -> None:
    late = [(tick + 32 * 120, pitch, velocity) for tick, pitch, velocity in groove_notes(2)]
    data = write_drum_midi(tmp_path / "late.mid", late).read_bytes()
    with pytest.raises(LatentLabError, match="late.mid: its first 2 bars have no drum hits"):
        lab.read_groove(data, "late.mid")
    picker = GroovePicker(lab, "A")
    picker.upload.set_state(upload_state("late.mid", data))
    assert "its first 2 bars have no drum hits" in picker.status.value
