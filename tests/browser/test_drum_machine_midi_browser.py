"""DrumMachine live MIDI out, swing knob and long grooves in a real browser.

The page gets a stub Web MIDI before it loads (an init script replaces
navigator.requestMIDIAccess): one output port, "Stub synth", that records every message with
its timestamp, and switches to make the browser lack Web MIDI, deny permission or have no
port. The tests share one page and run in file order; each leaves it stopped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from latentlab import audio
from latentlab.pattern import DRUM_CHANNEL, DrumPattern, canonical_pitches

from .browser_helpers import ARTIFACTS
from .drum_grooves import groove_a, long_groove
from .drum_machine_page import HOOK, WAIT_MS, hook, page_fixtures

pytestmark = pytest.mark.browser

NOTE_ON, NOTE_OFF = 0x90 | DRUM_CHANNEL, 0x80 | DRUM_CHANNEL
START, CLOCK, STOP = 0xFA, 0xF8, 0xFC

# The stub: window.stubMidi.sent holds [data, timestamp] of every message sent to the port.
STUB_MIDI = """
(() => {
  const stub = { sent: [], mode: "ok", failSend: false, listeners: [] };
  const port = {
    id: "stub-out", name: "Stub synth", manufacturer: "latentlab tests", type: "output",
    state: "connected", connection: "open",
    send(data, timestamp) {
      if (stub.failSend) throw new DOMException("the port is gone", "InvalidStateError");
      stub.sent.push([Array.from(data), timestamp]);
    },
  };
  const access = {
    inputs: new Map(), outputs: new Map(), sysexEnabled: false,
    addEventListener: (type, listener) => stub.listeners.push(listener),
  };
  const request = async () => {
    if (stub.mode === "denied") throw new DOMException("Permission denied", "NotAllowedError");
    return access;
  };
  stub.plugIn = () => {
    port.state = "connected";
    access.outputs.set(port.id, port);
    stub.listeners.forEach((listener) => listener({ port }));
  };
  stub.unplug = () => {
    port.state = "disconnected";
    access.outputs.delete(port.id);
    stub.listeners.forEach((listener) => listener({ port }));
  };
  stub.remove = () => {
    delete navigator.requestMIDIAccess;
    delete Navigator.prototype.requestMIDIAccess;
  };
  stub.install = () => { navigator.requestMIDIAccess = request; };
  stub.install();
  window.stubMidi = stub;
})();
"""


served_page, page = page_fixtures(init_script=STUB_MIDI)


def midi_message(page) -> str:
    return page.inner_text(".ll-dm-midi-msg").strip()


def wait_message(page, text: str) -> None:
    page.wait_for_function(
        f"() => document.querySelector('.ll-dm-midi-msg').innerText.includes({text!r})",
        timeout=WAIT_MS,
    )


def connect(page, expect: str) -> None:
    """Choose Connect… in the port picker, as a person does, until the message says `expect`."""
    page.select_option(".ll-dm-midi-port", "connect")
    wait_message(page, expect)


def sent(page) -> list[tuple[list[int], float]]:
    return [(data, ts) for data, ts in page.evaluate("() => stubMidi.sent")]


def play_steps(page, steps: int) -> None:
    """Play from the start until the scheduler has started `steps` steps, then stop."""
    page.evaluate(f"() => {{ stubMidi.sent.length = 0; {HOOK}.clearLog(); }}")
    page.click(".ll-dm-play")
    page.wait_for_function(
        f"() => {HOOK}.scheduled().some((e) => e.n >= {steps})", timeout=WAIT_MS + 1000 * steps
    )
    page.click(".ll-dm-play")
    page.wait_for_function(f"() => !{HOOK}.playing()", timeout=WAIT_MS)


def hits_of(pattern: DrumPattern) -> list[tuple[int, int]]:
    return sorted((int(s), int(c)) for s, c in zip(*np.nonzero(pattern.hits), strict=True))


def wait_swing(page, text: str) -> None:
    """Until Python's swing (what the knob set) reads `text`."""
    page.wait_for_function(
        f"() => document.querySelector('.test-python-swing').innerText.includes('{text}')",
        timeout=WAIT_MS,
    )


def test_without_web_midi_the_picker_says_so(page) -> None:
    page.evaluate("() => stubMidi.remove()")
    connect(page, "no Web MIDI")
    assert "download" in midi_message(page)
    assert hook(page, "midi().port") is None
    page.evaluate("() => stubMidi.install()")


def test_denied_permission_says_how_to_allow_it(page) -> None:
    page.evaluate("() => { stubMidi.mode = 'denied'; }")
    connect(page, "denied")
    assert "site settings" in midi_message(page)
    assert page.input_value(".ll-dm-midi-port") == ""
    page.evaluate("() => { stubMidi.mode = 'ok'; }")


def test_no_port_says_how_to_get_one_and_a_new_port_is_listed(page) -> None:
    connect(page, "No MIDI output")
    assert "virtual MIDI bus" in midi_message(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".test-drum-machine").screenshot(path=ARTIFACTS / "drum_machine_no_port.png")
    page.evaluate("() => stubMidi.plugIn()")  # e.g. the person starts a virtual MIDI bus
    page.wait_for_selector('.ll-dm-midi-port option[value="stub-out"]', state="attached")
    assert midi_message(page) == ""
    page.select_option(".ll-dm-midi-port", label="Stub synth")
    assert hook(page, "midi().port") == "Stub synth"


def clock_offsets(page) -> list[float]:
    """The offsets (ms) that mapped audio time to MIDI timestamps during the last run.

    There is one unless the sound card's clock jumped against performance.now() (a glitch on
    a machine too busy to feed it, seen at a load of 8 on 2 cores): MIDI then follows the
    sound, from one note on.
    """
    offsets = [offset for _, offset in hook(page, "midi().offsets")]
    assert 1 <= len(offsets) <= 4, offsets
    return offsets


def test_midi_out_gets_exactly_the_notes_the_audio_plays(page) -> None:
    """Over a loop of groove A with swing: the same notes, velocities and relative times
    (within 1 ms: each timestamp is its note's audio time, to 0.5 ms, plus the offset)."""
    page.focus(".ll-dm-knob")
    for _ in range(5):
        page.keyboard.press("PageUp")  # +10% each
    wait_swing(page, "0.5")
    assert page.inner_text(".ll-dm-swing-value") == "50%"
    steps = groove_a().steps
    play_steps(page, steps + 1)
    played = groove_a().swung(0.5)
    notes = [e for e in hook(page, "scheduled()") if not e.get("cancelled")]
    assert hits_of(played) == sorted((e["step"], e["cls"]) for e in notes if e["n"] < steps)
    for note in notes:
        assert note["offset"] == pytest.approx(float(played.offsets[note["step"], note["cls"]]))

    messages = sent(page)
    pitches = canonical_pitches()
    ons = sorted((ts, data[1], data) for data, ts in messages if data[0] == NOTE_ON)
    offs = [(data, ts) for data, ts in messages if data[0] == NOTE_OFF]
    notes.sort(key=lambda e: (e["time"], pitches[e["cls"]]))
    assert len(ons) == len(notes) == len(offs), "every note the audio played, and no other"
    offsets = clock_offsets(page)
    used = []
    for note, (ts, _, data) in zip(notes, ons, strict=True):
        velocity = round(float(played.velocities[note["step"], note["cls"]]) * 127)
        assert data == [NOTE_ON, pitches[note["cls"]], max(1, velocity)], note
        errors = [abs(ts - (note["time"] * 1000 + offset)) for offset in offsets]
        used.append(int(np.argmin(errors)))
        assert min(errors) < 0.5, (note, ts, offsets)
    assert used == sorted(used), "a new mapping applies from one note on"
    step_ms = 60 / 120 / 4 * 1000
    for ts, _, data in ons:
        ends = [t for d, t in offs if d[1] == data[1] and ts < t <= ts + step_ms / 2 + 1e-6]
        assert ends, f"note {data} at {ts} has a note-off within half a step"


def test_midi_clock_follows_the_steps_from_start_to_stop(page) -> None:
    page.check(".ll-dm-midi-clock-input")
    assert hook(page, "midi().clock") is True
    play_steps(page, 20)
    messages = sent(page)
    kinds = [data[0] for data, _ in messages if data[0] in (START, CLOCK, STOP)]
    assert kinds[0] == START and kinds[-1] == STOP and kinds.count(START) == kinds.count(STOP) == 1
    clocks = np.array([ts for data, ts in messages if data[0] == CLOCK])
    scheduled_steps = max(e["n"] for e in hook(page, "scheduled()")) + 1
    assert len(clocks) == 6 * scheduled_steps, "24 per quarter note: 6 per sixteenth"
    step_ms = 60 / 120 / 4 * 1000
    offsets = clock_offsets(page)
    uneven = np.abs(np.diff(clocks) - step_ms / 6) > 0.05
    assert uneven.sum() <= len(offsets) - 1, "evenly spaced (but for a sound card glitch)"
    start = next(ts for data, ts in messages if data[0] == START)
    assert start == clocks[0]
    crash = next(e for e in hook(page, "scheduled()") if e["n"] == 0 and e["cls"] == 7)
    assert abs(start - (crash["time"] * 1000 + offsets[0])) < 0.5, "on the one"
    page.uncheck(".ll-dm-midi-clock-input")


def test_the_download_has_the_knobs_swing_and_a_double_click_straightens(page) -> None:
    with page.expect_download(timeout=WAIT_MS) as download:
        page.click(".ll-dm-download-midi")
    back = DrumPattern.from_midi(Path(download.value.path()).read_bytes())
    swung = groove_a().swung(0.5).offsets  # (a MIDI file starts at 0: step 0 can't be early)
    assert np.allclose(back.offsets[1:], swung[1:], atol=2e-3)
    page.dblclick(".ll-dm-knob")
    wait_swing(page, "0.0")
    assert page.inner_text(".ll-dm-swing-value") == "0%"


def test_an_eight_bar_groove_shows_in_two_lines_and_loops_whole(page) -> None:
    page.click(".test-long")
    page.wait_for_function(
        f"() => document.querySelectorAll('.ll-dm-cell').length === {9 * 128}", timeout=WAIT_MS
    )
    assert page.locator(".ll-dm-grid").count() == 2
    bar_labels = page.locator(".ll-dm-num.ll-dm-bar-start").all_inner_texts()
    assert bar_labels == [f"{bar}.1" for bar in range(1, 9)]
    tops = page.eval_on_selector_all(
        '.ll-dm-cell[data-cls="0"]', "cells => cells.map(c => c.getBoundingClientRect().top)"
    )
    assert len(set(tops[:64])) == 1 and tops[64] > tops[63], "bars 5-8 on a second line"
    assert page.inner_text(".ll-dm-info").startswith("8 bars")
    page.focus(".ll-dm-knob")
    page.keyboard.press("End")
    page.fill(".ll-dm-tempo-input", "400")
    page.press(".ll-dm-tempo-input", "Enter")
    wait_swing(page, "1.0")
    page.click(".ll-dm-play")
    page.wait_for_function(f"() => {HOOK}.scheduled().some((e) => e.n >= 70)", timeout=WAIT_MS)
    page.wait_for_selector(".ll-dm-playhead >> visible=true", timeout=WAIT_MS)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".test-drum-machine").screenshot(path=ARTIFACTS / "drum_machine_long_midi.png")
    page.click(".ll-dm-play")
    page.wait_for_function(f"() => !{HOOK}.playing()", timeout=WAIT_MS)
    play_steps(page, 128 + 1)
    played = long_groove().swung(1)
    notes = [e for e in hook(page, "scheduled()") if e["n"] < 128]
    assert sorted((e["step"], e["cls"]) for e in notes) == hits_of(played)
    assert {(e["step"], e["cls"]) for e in hook(page, "scheduled()") if e["n"] == 128} == {
        (0, 0),
        (0, 2),
        (0, 7),
    }, "step 128 is the loop's first step again"
    ons = [ts for data, ts in sent(page) if data[0] == NOTE_ON]
    assert len(ons) >= len(notes)
    step_frames = audio.step_frames(400, audio.SAMPLE_RATE)
    for note in notes:
        offset = float(played.offsets[note["step"], note["cls"]])
        assert abs(note["frame"] - audio.note_frame(note["n"], offset, step_frames)) <= 1


def test_an_unplugged_or_failing_port_turns_midi_off_and_the_audio_plays_on(page) -> None:
    page.click(".ll-dm-play")
    page.wait_for_function(f"() => {HOOK}.scheduled().length > 3", timeout=WAIT_MS)
    page.evaluate("() => stubMidi.unplug()")
    wait_message(page, "disconnected")
    assert hook(page, "midi().port") is None
    page.evaluate("() => { stubMidi.failSend = true; stubMidi.plugIn(); }")
    page.select_option(".ll-dm-midi-port", label="Stub synth")
    wait_message(page, "failed")
    assert hook(page, "midi().port") is None
    count = len(hook(page, "scheduled()"))
    page.wait_for_function(f"() => {HOOK}.scheduled().length > {count + 3}", timeout=WAIT_MS)
    assert hook(page, "playing()"), "the audio never stops for MIDI"
    page.click(".ll-dm-play")
    page.wait_for_function(f"() => !{HOOK}.playing()", timeout=WAIT_MS)
