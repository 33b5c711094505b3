"""The built-in kit and `render`: onsets where the hits are, velocity, length, WAV, CLI."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from latentlab import audio
from latentlab.cli import main
from latentlab.errors import LatentLabError
from latentlab.pattern import N_CLASSES, STEPS_PER_BAR, DrumPattern

SR = audio.SAMPLE_RATE
MS = SR // 1000


def detect_onsets(x: np.ndarray, sr: int = SR, refractory: float = 0.03) -> list[int]:
    """Sample indices where the signal or its slope jumps far above its RMS over the last 10 ms.

    A single sample 6 times the recent RMS never happens inside a decaying sound. The slope
    (first difference) finds bright hits over the low tail of a kick; the signal itself finds
    a tom over the noisy tail of a snare. The signal is a loop, so the history of its first
    samples is its end. Onsets closer than `refractory` seconds count as one.
    """
    window = round(0.01 * sr)
    looped = np.concatenate([x[-window - 1 :], x]).astype(np.float64)
    jumps = np.zeros(len(x), bool)
    for signal in (looped[1:], np.diff(looped)):
        energy = np.concatenate([[0.0], np.cumsum(signal * signal)])
        i = np.arange(window, len(signal))
        recent_rms = np.sqrt((energy[i] - energy[i - window]) / window)
        jumps |= np.abs(signal[window:]) > 6 * recent_rms + 1e-4
    onsets: list[int] = []
    for k in np.flatnonzero(jumps):
        if not onsets or k - onsets[-1] > refractory * sr:
            onsets.append(int(k))
    return onsets


def make_pattern(hits: list[tuple[int, int, float, float]], bars: int = 2, bpm: float = 120.0):
    """A pattern from (step, class, velocity, offset) tuples."""
    shape = (bars * STEPS_PER_BAR, N_CLASSES)
    h, v, o = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for step, cls, vel, off in hits:
        h[step, cls], v[step, cls], o[step, cls] = 1, vel, off
    return DrumPattern(h, v, o, bpm)


def groove() -> DrumPattern:
    """Two bars of kick, snare, hats and a tom fill, with swing and a pushed downbeat.

    Every instrument on a step shares that step's offset, so distinct onsets lie at least
    50 ms apart and each one can be checked on its own.
    """
    swing = {s: (0.2 if s % 2 else 0.0) for s in range(32)}
    swing.update({0: -0.12, 16: -0.12, 18: -0.25})
    hits = [(s, 0, 0.95, swing[s]) for s in (0, 7, 10, 16, 23)]
    hits += [(s, 1, 0.85, swing[s]) for s in (4, 12, 20, 28)]
    hits += [(9, 1, 0.3, swing[9])]
    hits += [(s, 2, 0.8 if s % 4 == 0 else 0.5, swing[s]) for s in range(0, 28, 2)]
    hits += [(14, 3, 0.7, swing[14]), (29, 6, 0.8, swing[29]), (30, 5, 0.8, 0.0)]
    hits += [(31, 4, 0.9, swing[31])]
    return make_pattern(hits)


def expected_onsets(pattern: DrumPattern, loops: int, total: int) -> list[int]:
    """Where each hit should start: its step plus offset, in samples, wrapped into the loop."""
    step = SR * 60 / pattern.bpm / 4
    frames = {
        round((n + float(pattern.offsets[n % pattern.steps, c])) * step) % total
        for n in range(pattern.steps * loops)
        for c in np.flatnonzero(pattern.hits[n % pattern.steps])
    }
    return sorted(frames)


def test_kit_is_nine_deterministic_one_shots() -> None:
    sounds = audio.kit()
    assert len(sounds) == N_CLASSES
    audio.kit.cache_clear()
    again = audio.kit()
    for sound, same in zip(sounds, again, strict=True):
        assert sound.dtype == np.float32
        assert np.array_equal(sound, same)
        assert 0.3 < np.abs(sound).max() <= 1.0
        assert np.abs(sound[: 2 * MS]).max() > 0.05, "every sound starts at its first sample"
        assert sound[-1] == 0.0, "every sound fades to silence"
    with pytest.raises(ValueError):
        sounds[0][0] = 1.0


def test_kick_and_toms_fall_in_pitch_and_hats_are_bright() -> None:
    sounds = audio.kit()

    def centroid(x: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        return float((spectrum * np.fft.rfftfreq(len(x), 1 / SR)).sum() / spectrum.sum())

    def pitch(x: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), 8 * len(x)))
        return float(np.fft.rfftfreq(8 * len(x), 1 / SR)[spectrum.argmax()])

    kick, low, mid, high = sounds[0], sounds[4], sounds[5], sounds[6]
    for drum in (kick, low, mid, high):
        assert pitch(drum[: 40 * MS]) > pitch(drum[80 * MS : 200 * MS])
    assert pitch(low[80 * MS : 200 * MS]) < pitch(mid[80 * MS : 200 * MS])
    assert pitch(mid[80 * MS : 200 * MS]) < pitch(high[80 * MS : 200 * MS])
    for cymbal in (2, 3, 7, 8):
        assert centroid(sounds[cymbal][: 50 * MS]) > 5000
    decay = [np.sqrt(np.mean(sounds[c][100 * MS : 150 * MS] ** 2)) for c in (2, 3)]
    assert decay[0] < 0.1 * decay[1], "the closed hat is short, the open hat rings"


def test_render_has_an_onset_at_each_hit_and_none_elsewhere() -> None:
    pattern = groove()
    out = audio.render(pattern, loops=2)
    expected = expected_onsets(pattern, 2, len(out))
    found = detect_onsets(out)
    assert len(found) == len(expected), (found, expected)
    assert np.max(np.abs(np.array(found) - expected)) <= MS


@pytest.mark.parametrize("cls", range(N_CLASSES))
def test_every_sound_starts_at_its_hit(cls: int) -> None:
    pattern = make_pattern([(1, cls, 0.8, 0.3), (9, cls, 0.5, -0.2), (22, cls, 1.0, 0.0)], bpm=97)
    out = audio.render(pattern)
    found = detect_onsets(out)
    expected = expected_onsets(pattern, 1, len(out))
    assert len(found) == 3, (cls, found, expected)
    assert np.max(np.abs(np.array(found) - expected)) <= MS


def test_render_is_not_silent_and_louder_for_higher_velocity() -> None:
    assert np.sqrt(np.mean(audio.render(groove()) ** 2)) > 0.02
    for cls in range(N_CLASSES):
        levels = [
            np.abs(audio.render(make_pattern([(4, cls, v, 0.0)]))).max() for v in (0.2, 0.5, 1.0)
        ]
        assert levels[0] < levels[1] < levels[2], (cls, levels)


@pytest.mark.parametrize(("bars", "bpm", "loops"), [(2, 120, 1), (2, 97, 3), (4, 133.5, 2)])
def test_length_is_bars_times_bar_duration_times_loops(bars: int, bpm: float, loops: int) -> None:
    pattern = make_pattern([(0, 0, 1.0, 0.0)], bars=bars, bpm=bpm)
    out = audio.render(pattern, loops=loops)
    bar_seconds = 4 * 60 / bpm
    assert abs(len(out) - bars * bar_seconds * loops * SR) <= 0.5
    assert out.dtype == np.float32


def test_render_bpm_overrides_the_pattern_tempo_and_sample_rate_is_honoured() -> None:
    pattern = make_pattern([(0, 1, 1.0, 0.0), (8, 1, 1.0, 0.0)])
    assert len(audio.render(pattern, bpm=60)) == 2 * len(audio.render(pattern))
    assert len(audio.render(pattern, sample_rate=22050)) == 4 * 22050


def test_sound_past_the_end_wraps_to_the_start() -> None:
    pattern = make_pattern([(31, 7, 1.0, 0.0)])  # a crash on the last step rings on
    out = audio.render(pattern)
    assert np.abs(out[: 100 * MS]).max() > 0.05
    assert detect_onsets(out) == expected_onsets(pattern, 1, len(out))


def test_wav_bytes_are_16_bit_mono_with_the_rendered_samples() -> None:
    pattern = groove()
    data = audio.render_wav(pattern, loops=2)
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, SR)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
    assert np.max(np.abs(pcm / 32767 - audio.render(pattern, loops=2))) < 1e-4


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"bpm": 10}, "bpm"), ({"bpm": float("nan")}, "bpm"), ({"loops": 0}, "loops")],
)
def test_bad_render_arguments_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(LatentLabError, match=field):
        audio.render(groove(), **kwargs)


def test_cli_render_writes_a_wav_of_the_midi_file(tmp_path, capsys) -> None:
    source = tmp_path / "groove.mid"
    groove().to_midi(source)
    out = tmp_path / "groove.wav"
    assert main(["render", str(source), "--out", str(out), "--loops", "2", "--bpm", "90"]) == 0
    with wave.open(str(out)) as wav:
        assert abs(wav.getnframes() - 2 * 2 * (4 * 60 / 90) * SR) <= 1
    assert str(out) in capsys.readouterr().out


@pytest.mark.parametrize("content", [None, b"", b"not midi at all"])
def test_cli_render_rejects_a_missing_or_non_midi_file(tmp_path, capsys, content) -> None:
    source = tmp_path / "in.mid"
    if content is not None:
        source.write_bytes(content)
    assert main(["render", str(source), "--out", str(tmp_path / "out.wav")]) == 2
    err = capsys.readouterr().err
    assert "in.mid" in err and "Traceback" not in err
    assert not (tmp_path / "out.wav").exists()


def test_cli_render_names_a_missing_output_folder(tmp_path, capsys) -> None:
    source = tmp_path / "in.mid"
    groove().to_midi(source)
    assert main(["render", str(source), "--out", str(tmp_path / "no" / "out.wav")]) == 2
    assert "no/out.wav" in capsys.readouterr().err


# ---- swing -------------------------------------------------------------------------------------
def every_step_hats(offsets: dict[int, float] | None = None) -> DrumPattern:
    """Closed hats on all 32 steps, straight unless `offsets` says otherwise."""
    offsets = offsets or {}
    return make_pattern([(s, 2, 0.4 + 0.5 * (s % 4 == 0), offsets.get(s, 0.0)) for s in range(32)])


def test_swing_delays_only_the_off_beat_sixteenths() -> None:
    pattern = every_step_hats({1: -0.3, 3: 0.4, 4: -0.1, 8: 0.2})
    swung = pattern.swung(0.5)
    assert np.array_equal(swung.hits, pattern.hits)
    assert np.array_equal(swung.velocities, pattern.velocities)
    assert swung.bpm == pattern.bpm
    assert np.array_equal(swung.offsets[0::2], pattern.offsets[0::2]), "beats and 8ths stay"
    assert swung.offsets[1, 2] == pytest.approx(-0.05), "half of the full half-step delay"
    assert swung.offsets[5, 2] == pytest.approx(0.25)
    assert swung.offsets[3, 2] == 0.5, "a late hit is clipped to the latest its step holds"
    assert pattern.swung(0) == pattern
    assert np.allclose(pattern.swung(1).offsets[5::2, 2], 0.5)
    assert pattern.offsets[5, 2] == 0, "the original is unchanged"


@pytest.mark.parametrize("amount", [-0.1, 1.5, float("nan"), "lots"])
def test_a_swing_outside_0_to_1_is_refused_with_its_value(amount) -> None:
    with pytest.raises(LatentLabError, match=r"swing: .*(0\.\.1|not a number)"):
        every_step_hats().swung(amount)


def test_a_swung_render_has_its_off_beats_late() -> None:
    pattern = every_step_hats()
    out = audio.render(pattern.swung(0.6))
    found = detect_onsets(out)
    step = audio.step_frames(pattern.bpm, SR)
    expected = [round((s + 0.3 * (s % 2)) * step) for s in range(32)]
    assert len(found) == 32
    assert np.max(np.abs(np.array(found) - expected)) <= MS
