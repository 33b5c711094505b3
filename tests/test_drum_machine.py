"""DrumMachine, Python side: traits, pattern sync from the page, kit samples, downloads."""

from __future__ import annotations

import io
import re
import wave
from pathlib import Path

import numpy as np
import pytest
from test_audio import MS, detect_onsets

from latentlab import audio
from latentlab.errors import LatentLabError
from latentlab.pattern import DRUM_CHANNEL, DrumPattern, canonical_pitches, read_midi
from latentlab.widgets import DrumMachine, drum_machine


def pattern(bpm: float = 100.0) -> DrumPattern:
    hits, velocities, offsets = (np.zeros((32, 9)) for _ in range(3))
    hits[[0, 8, 16], 0] = 1
    velocities[[0, 8, 16], 0] = [1.0, 0.6, 0.8]
    offsets[8, 0] = 0.2
    return DrumPattern(hits, velocities, offsets, bpm)


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


def hats_and_kicks(bars: int = 2, bpm: float = 100.0) -> DrumPattern:
    """Kick on every beat, hats on every sixteenth: every off-beat has a hit to swing."""
    shape = (16 * bars, 9)
    hits, velocities, offsets = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    hits[::4, 0], velocities[::4, 0] = 1, 0.9
    hits[:, 2], velocities[:, 2] = 1, 0.5
    offsets[1::4, 2] = 0.1
    return DrumPattern(hits, velocities, offsets, bpm)


def test_swing_plays_and_exports_the_swung_pattern_but_leaves_pattern_alone() -> None:
    widget = DrumMachine(hats_and_kicks(), bpm=90)
    edits = []
    widget.observe(edits.append, "pattern")
    widget.set_state({"swing": 0.4})  # what the page's knob sends
    assert widget.swing == 0.4
    swung = hats_and_kicks().swung(0.4)
    assert widget.get_state()["_played"] == swung.to_dict(), "the page plays the swung pattern"
    assert widget.pattern == hats_and_kicks() and edits == [], "the groove itself is unchanged"
    assert widget.export_pattern() == DrumPattern(swung.hits, swung.velocities, swung.offsets, 90)
    widget.swing = 0
    assert widget.get_state()["_played"] == hats_and_kicks().to_dict()
    assert DrumMachine(hats_and_kicks(), swing=0.25)._played == hats_and_kicks().swung(0.25)


def test_the_midi_and_wav_downloads_swing_every_note_alike() -> None:
    widget = DrumMachine(hats_and_kicks(), bpm=90, swing=0.6)
    wav_onsets = detect_onsets(audio.render(widget.export_pattern()))
    with wave.open(io.BytesIO(widget.file_bytes("wav"))) as wav:
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2") / 32767
    assert detect_onsets(pcm) == wav_onsets, "the WAV download is that render"
    midi = read_midi(widget.file_bytes("midi"))
    midi_onsets = sorted({round(o.time * audio.SAMPLE_RATE) for o in midi.onsets})
    assert len(midi_onsets) == len(wav_onsets) == 32
    assert np.max(np.abs(np.array(midi_onsets) - wav_onsets)) <= MS
    step = 60 / 90 / 4 * audio.SAMPLE_RATE
    late = np.array(midi_onsets) / step - np.arange(32)
    assert np.allclose(late[0::2], 0, atol=0.01), "beats and eighths stay on the grid"
    assert np.allclose(late[3::4], 0.3, atol=0.01), "off-beat sixteenths 0.6 x half a step late"
    assert np.allclose(late[1::4], 0.4, atol=0.01), "(on top of their own timing)"


@pytest.mark.parametrize("swing", [-0.2, 1.01, float("nan")])
def test_a_swing_outside_0_to_1_is_refused_and_the_old_one_kept(swing: float) -> None:
    widget = DrumMachine(hats_and_kicks(), swing=0.3)
    with pytest.raises(LatentLabError, match="swing"):
        widget.swing = swing
    assert widget.swing == 0.3 and widget._played == hats_and_kicks().swung(0.3)


def test_an_eight_bar_groove_plays_and_exports_whole() -> None:
    long = hats_and_kicks(bars=8, bpm=120)
    widget = DrumMachine(long, swing=0.5)
    played = widget.get_state()["_played"]
    assert len(played["hits"]) == 128 and played == long.swung(0.5).to_dict()
    with wave.open(io.BytesIO(widget.file_bytes("wav"))) as wav:
        assert wav.getnframes() == round(8 * 2.0 * audio.SAMPLE_RATE)  # 8 bars of 2 s
    back = DrumPattern.from_midi(widget.file_bytes("midi"))
    assert back.bars == 8 and np.array_equal(back.hits, long.hits)
    assert np.allclose(back.offsets, long.swung(0.5).offsets, atol=1e-3)


def test_a_groove_longer_than_the_grid_holds_is_refused_with_its_length() -> None:
    widget = DrumMachine(hats_and_kicks())
    with pytest.raises(LatentLabError, match=f"at most {drum_machine.MAX_BARS} bars.* 65"):
        widget.pattern = DrumPattern.empty(65)
    assert widget.pattern == hats_and_kicks()


def test_the_page_gets_the_packages_midi_pitches_and_drum_channel() -> None:
    info = DrumMachine().get_state()["_kit_info"]
    assert info["midi_pitches"] == list(canonical_pitches())
    assert info["midi_pitches"][:3] == [36, 38, 42], "kick, snare, closed hat in General MIDI"
    assert info["midi_channel"] == DRUM_CHANNEL == 9, "MIDI channel 10"
