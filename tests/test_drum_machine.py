"""DrumMachine, Python side: traits, pattern sync from the page, kit samples, downloads."""

from __future__ import annotations

import io
import re
import wave
from pathlib import Path

import numpy as np
import pytest

from latentlab import audio
from latentlab.errors import LatentLabError
from latentlab.pattern import DrumPattern
from latentlab.widgets import DrumMachine, drum_machine


def pattern(bpm: float = 100.0) -> DrumPattern:
    p = DrumPattern.empty(2, bpm)
    p.hits[[0, 8, 16], 0] = 1
    p.velocities[[0, 8, 16], 0] = [1.0, 0.6, 0.8]
    p.offsets[8, 0] = 0.2
    return DrumPattern(p.hits, p.velocities, p.offsets, bpm)


def test_defaults_take_the_pattern_and_its_tempo() -> None:
    assert DrumMachine().pattern == DrumPattern.empty()
    widget = DrumMachine(pattern())
    assert widget.pattern == pattern()
    assert widget.bpm == 100.0
    assert DrumMachine(pattern(), bpm=87.5).bpm == 87.5
    assert widget.playing is False


@pytest.mark.parametrize("bpm", [5, 1000, float("nan")])
def test_bad_tempo_is_refused_with_its_value(bpm: float) -> None:
    widget = DrumMachine(pattern())
    with pytest.raises(LatentLabError, match="bpm"):
        widget.bpm = bpm
    assert widget.bpm == 100.0


def test_the_page_gets_the_pattern_as_json_and_its_edits_come_back_observable() -> None:
    widget = DrumMachine(pattern())
    state = widget.get_state()
    assert state["pattern"] == pattern().to_dict()
    seen = []
    widget.observe(lambda change: seen.append(change["new"]), "pattern")
    edited = pattern().to_dict()
    edited["hits"][4][1], edited["velocities"][4][1] = 1, 0.8
    widget.set_state({"pattern": edited})  # what a cell click in the page sends
    assert len(seen) == 1
    assert isinstance(widget.pattern, DrumPattern)
    assert widget.pattern.hits[4, 1] == 1 and widget.pattern.velocities[4, 1] == pytest.approx(0.8)
    with pytest.raises(LatentLabError, match="hits"):
        widget.set_state({"pattern": {**edited, "hits": [[0] * 9] * 3}})


def test_the_kit_sent_to_the_page_is_the_renderers_kit() -> None:
    widget = DrumMachine()
    state = widget.get_state()
    samples = np.frombuffer(bytes(state["_kit"]), "<f4")
    sounds = audio.kit(audio.SAMPLE_RATE)
    assert np.array_equal(samples, np.concatenate(sounds))
    info = state["_kit_info"]
    assert info["lengths"] == [len(s) for s in sounds]
    assert info["sample_rate"] == audio.SAMPLE_RATE
    assert info["velocity_exponent"] == audio.VELOCITY_EXPONENT
    assert info["master_gain"] == audio.MASTER_GAIN
    assert info["labels"][:3] == ["Kick", "Snare", "Closed hat"]


def test_download_requests_are_answered_with_midi_and_wav_at_the_widget_tempo(monkeypatch):
    widget = DrumMachine(pattern(), bpm=90)
    sent = []
    monkeypatch.setattr(widget, "send", lambda content, buffers: sent.append((content, buffers)))
    widget._handle_custom_msg({"type": "download", "format": "wav"}, [])
    widget._handle_custom_msg({"type": "download", "format": "midi"}, [])
    (wav_msg, [wav_bytes]), (midi_msg, [midi_bytes]) = sent
    assert wav_msg == {"type": "file", "name": "latentlab-groove.wav", "mime": "audio/wav"}
    assert wav_bytes == audio.render_wav(pattern(90))
    with wave.open(io.BytesIO(wav_bytes)) as wav:
        assert wav.getnframes() == round(2 * 4 * 60 / 90 * audio.SAMPLE_RATE)
    assert midi_msg["name"] == "latentlab-groove.mid"
    back = DrumPattern.from_midi(midi_bytes)
    assert back.bpm == pytest.approx(90)
    assert np.array_equal(back.hits, pattern().hits)
    with pytest.raises(LatentLabError, match="'mp3'"):
        widget.file_bytes("mp3")


def test_the_front_end_is_one_local_es_module_with_its_css() -> None:
    module = Path(drum_machine.__file__)
    source = module.with_name("drum_machine.js").read_text()
    assert str(DrumMachine._esm) == source
    assert "export default" in source
    assert not re.search(r"^\s*import\s", source, re.M), "no imports: nothing from a CDN"
    assert "http://" not in source and "https://" not in source
    assert ".ll-dm-grid" in module.with_name("drum_machine.css").read_text()
