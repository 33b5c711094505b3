"""The built-in drum kit and WAV rendering: one set of samples for the export and the browser.

The nine one-shot sounds (one per drum class) are synthesised here in numpy from fixed seeds,
so they are deterministic and license-clean: pitch-swept sines for the kick and toms, tone plus
band-passed noise for the snare, filtered noise with metallic partials for the hats and cymbals.
`render` plays a pattern with them; the `DrumMachine` widget sends the very same samples to the
browser and uses the same timing and gain rules, so what plays in the page is the WAV export.
"""

from __future__ import annotations

import io
import math
import wave
from functools import cache

import numpy as np

from latentlab.errors import LatentLabError
from latentlab.pattern import DrumPattern

SAMPLE_RATE = 44100
VELOCITY_EXPONENT = 1.5  # gain = velocity ** VELOCITY_EXPONENT: soft ghost notes, full accents
MASTER_GAIN = 0.4  # headroom, so a kick, snare and hat on one step stay below full scale


def step_frames(bpm: float, sample_rate: int) -> float:
    """Length of one 16th-note step in (fractional) sample frames."""
    return 60.0 / bpm / 4 * sample_rate


def note_frame(step: int, offset: float, frames_per_step: float) -> int:
    """The sample frame of a hit: its step plus micro-timing offset, rounded half up.

    The browser player evaluates the same expression, so both place every note identically.
    """
    return math.floor((step + offset) * frames_per_step + 0.5)


def velocity_gain(velocity: float) -> float:
    """Linear gain of a hit of this velocity (0..1), before the master gain."""
    return float(velocity) ** VELOCITY_EXPONENT


# ---- synthesis helpers ----------------------------------------------------------------------
def _time(seconds: float, sr: int) -> np.ndarray:
    return np.arange(round(seconds * sr)) / sr


def _noise(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


def _filtered(x: np.ndarray, sr: int, low: float = 0.0, high: float = 0.0, order: int = 2):
    """Zero-phase Butterworth-shaped band filter applied in the frequency domain.

    Applied to stationary sources before their envelope, so attacks stay sharp.
    """
    n = len(x)
    spectrum = np.fft.rfft(x, 2 * n)
    f = np.fft.rfftfreq(2 * n, 1 / sr)
    gain = np.ones_like(f)
    if low:
        gain /= np.sqrt(1 + (low / np.maximum(f, 1e-3)) ** (2 * order))
    if high:
        gain /= np.sqrt(1 + (f / high) ** (2 * order))
    return np.fft.irfft(spectrum * gain)[:n]


def _swept_sine(t: np.ndarray, sr: int, base: float, sweep: float, sweep_time: float):
    """A sine whose pitch falls from base + sweep to base with time constant sweep_time."""
    freq = base + sweep * np.exp(-t / sweep_time)
    return np.sin(2 * np.pi * np.cumsum(freq) / sr)


def _metal(t: np.ndarray, sr: int, scale: float, seed: int) -> np.ndarray:
    """Six band-limited square waves at the inharmonic ratios of analogue hi-hat circuits."""
    phases = np.random.default_rng(seed).uniform(0, 2 * np.pi, 6)
    out = np.zeros_like(t)
    for base, phase in zip((205.3, 304.4, 369.6, 522.7, 540.0, 800.0), phases, strict=True):
        f0 = base * scale
        for k in range(1, int(0.45 * sr / f0) + 1, 2):
            out += np.sin(2 * np.pi * k * f0 * t + k * phase) / k
    return out


def _finish(x: np.ndarray, sr: int, peak: float) -> np.ndarray:
    """Normalise to `peak` and fade the last 10 ms to silence (no click at the end)."""
    fade = min(len(x), round(0.01 * sr))
    x = x * (peak / np.max(np.abs(x)))
    x[-fade:] *= np.linspace(1, 0, fade)
    return x


def _kick(sr: int) -> np.ndarray:
    t = _time(0.7, sr)
    body = _swept_sine(t, sr, 48, 125, 0.03) * np.exp(-t / 0.26)
    click = _filtered(_noise(len(t), 1), sr, low=1500, high=8000) * np.exp(-t / 0.003)
    return _finish(np.tanh(1.8 * (body + 0.25 * click)), sr, 0.95)


def _snare(sr: int) -> np.ndarray:
    t = _time(0.45, sr)
    shell = _swept_sine(t, sr, 180, 60, 0.01) * np.exp(-t / 0.07)
    overtone = np.sin(2 * np.pi * 330 * t) * np.exp(-t / 0.045)
    wires = _filtered(_noise(len(t), 2), sr, low=1200, high=7000) * np.exp(-t / 0.15)
    return _finish(0.55 * shell + 0.3 * overtone + 0.25 * wires, sr, 0.85)


def _hat(sr: int, seconds: float, decay: float, seed: int) -> np.ndarray:
    t = _time(seconds, sr)
    source = 0.15 * _metal(t, sr, 1.0, seed) + 0.35 * _noise(len(t), seed)
    source = _filtered(source, sr, low=7000, high=16000, order=3)
    attack = np.minimum(1, t / 0.0005 + 0.3)
    return _finish(source * attack * np.exp(-t / decay), sr, 0.5)


def _tom(sr: int, pitch: float, decay: float, seed: int) -> np.ndarray:
    t = _time(decay * 2.2, sr)
    body = _swept_sine(t, sr, pitch, 0.6 * pitch, 0.05) * np.exp(-t / decay)
    overtone = _swept_sine(t, sr, 1.52 * pitch, 0.5 * pitch, 0.04) * np.exp(-t / (0.4 * decay))
    stick = _filtered(_noise(len(t), seed), sr, low=800, high=5000) * np.exp(-t / 0.006)
    return _finish(np.tanh(1.3 * (body + 0.3 * overtone + 0.3 * stick)), sr, 0.8)


def _crash(sr: int) -> np.ndarray:
    t = _time(2.2, sr)
    source = 0.1 * _metal(t, sr, 1.7, 8) + 0.5 * _noise(len(t), 8)
    wash = _filtered(source, sr, low=3500, high=14000)
    env = 0.45 * np.exp(-t / 0.04) + np.exp(-t / 0.75)
    return _finish(wash * env, sr, 0.55)


def _ride(sr: int) -> np.ndarray:
    t = _time(1.6, sr)
    bell = sum(
        a * np.sin(2 * np.pi * f * t)
        for f, a in ((612.0, 0.5), (1473.0, 0.35), (2310.0, 0.45), (3197.0, 0.3), (4411.0, 0.2))
    )
    shimmer = _filtered(0.08 * _metal(t, sr, 2.3, 9) + 0.4 * _noise(len(t), 9), sr, low=5000)
    ping = _filtered(_noise(len(t), 10), sr, low=2500, high=9000) * np.exp(-t / 0.008)
    sound = 0.35 * bell * np.exp(-t / 0.5) + shimmer * np.exp(-t / 0.7) + 0.6 * ping
    return _finish(sound, sr, 0.45)


@cache
def kit(sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, ...]:
    """The nine one-shot sounds (float32, read-only), in `DRUM_CLASSES` order."""
    if not 8000 <= sample_rate <= 192000:
        raise LatentLabError(f"sample_rate: {sample_rate} is outside 8000..192000")
    sr = sample_rate
    sounds = (
        _kick(sr),
        _snare(sr),
        _hat(sr, 0.2, 0.035, 3),
        _hat(sr, 0.9, 0.3, 4),
        _tom(sr, 92, 0.3, 5),
        _tom(sr, 130, 0.26, 6),
        _tom(sr, 180, 0.22, 7),
        _crash(sr),
        _ride(sr),
    )
    out = []
    for sound in sounds:
        sample = sound.astype(np.float32)
        sample.flags.writeable = False
        out.append(sample)
    return tuple(out)


# ---- rendering --------------------------------------------------------------------------------
def render(
    pattern: DrumPattern,
    bpm: float | None = None,
    loops: int = 1,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Play the pattern `loops` times with the kit: mono float32 samples in -1..1.

    Hits sound at their step time plus micro-timing offset, scaled by velocity. The length is
    exactly bars x bar duration x loops (rounded to a sample); sound that rings past the end
    (and a first hit played early) wraps around to the start, so the result loops seamlessly.
    `bpm` None plays at the pattern's own tempo.
    """
    bpm = pattern.bpm if bpm is None else float(bpm)
    if not math.isfinite(bpm) or not 20 <= bpm <= 400:
        raise LatentLabError(f"bpm: {bpm} is outside 20..400")
    if not isinstance(loops, int) or not 1 <= loops <= 256:
        raise LatentLabError(f"loops: {loops} must be a whole number in 1..256")
    sounds = kit(sample_rate)
    per_step = step_frames(bpm, sample_rate)
    total = math.floor(pattern.steps * loops * per_step + 0.5)
    out = np.zeros(total, np.float64)
    for loop in range(loops):
        for step, cls in zip(*np.nonzero(pattern.hits), strict=True):
            n = loop * pattern.steps + int(step)
            start = note_frame(n, float(pattern.offsets[step, cls]), per_step) % total
            gain = MASTER_GAIN * velocity_gain(pattern.velocities[step, cls])
            _add_wrapped(out, sounds[cls] * gain, start)
    return np.clip(out, -1, 1).astype(np.float32)


def _add_wrapped(out: np.ndarray, sound: np.ndarray, start: int) -> None:
    """Add `sound` into `out` from `start`, wrapping past the end to the beginning."""
    pos = 0
    while pos < len(sound):
        chunk = sound[pos : pos + len(out) - start]
        out[start : start + len(chunk)] += chunk
        pos += len(chunk)
        start = 0


def to_wav(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """16-bit PCM mono WAV bytes of float samples in -1..1."""
    pcm = np.round(np.clip(samples, -1, 1) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm.tobytes())
    return buffer.getvalue()


def render_wav(
    pattern: DrumPattern,
    bpm: float | None = None,
    loops: int = 1,
    sample_rate: int = SAMPLE_RATE,
) -> bytes:
    """`render` encoded as 16-bit mono WAV bytes."""
    return to_wav(render(pattern, bpm, loops, sample_rate), sample_rate)
