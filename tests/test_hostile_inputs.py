"""Hostile and broken inputs: MIDI files, checkpoints and command lines built to break the
reader each get one clear error naming the problem, on every path in (API, bytes as an
upload gives them, CLI, corpus loader), and nothing allocates more than the limits allow."""

from __future__ import annotations

import io
import json
import re
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import STEP, TPB

from latentlab import atlas as atlas_module
from latentlab.checkpoint import load_checkpoint, resolve_device
from latentlab.cli import main
from latentlab.corpus import Corpus
from latentlab.errors import LatentLabError
from latentlab.lab import LatentLab
from latentlab.limits import MAX_BARS, MAX_MIDI_BYTES, MAX_WEIGHTS_BYTES
from latentlab.pattern import DrumPattern, check_midi_size, read_midi

BAR = 16 * STEP

# ---- a raw MIDI writer, so files can be as broken as a hostile one is -----------------------


def vlq(n: int) -> bytes:
    """MIDI's variable-length number (7 bits a byte, high bit: more follow)."""
    out = [n & 0x7F]
    while n > 0x7F:
        n >>= 7
        out.append(0x80 | (n & 0x7F))
    return bytes(reversed(out))


def on(delta: int, pitch: int = 38, velocity: int = 100, channel: int = 9) -> bytes:
    return vlq(delta) + bytes([0x90 | channel, pitch, velocity])


def off(delta: int, pitch: int = 38, channel: int = 9) -> bytes:
    return vlq(delta) + bytes([0x80 | channel, pitch, 0])


def meta(delta: int, kind: int, data: bytes) -> bytes:
    return vlq(delta) + bytes([0xFF, kind]) + vlq(len(data)) + data


def tempo(bpm: float = 120.0) -> bytes:
    return meta(0, 0x51, round(60e6 / bpm).to_bytes(3, "big"))


END = meta(0, 0x2F, b"")


def chunk(kind: bytes, body: bytes) -> bytes:
    return kind + len(body).to_bytes(4, "big") + body


def smf(*tracks: bytes, division: int = TPB, form: int = 0, count: int | None = None) -> bytes:
    """A standard MIDI file of these track bodies."""
    n = len(tracks) if count is None else count
    header = chunk(b"MThd", struct.pack(">HHH", form, n, division))
    return header + b"".join(chunk(b"MTrk", t) for t in tracks)


def beat(bars: int = 1) -> bytes:
    """A track body: tempo, a snare on every beat of `bars` bars (each a step long), and a
    marker at the end of the last bar."""
    body = tempo()
    for i in range(4 * bars):
        body += on(0 if i == 0 else 3 * STEP) + off(STEP)
    return body + meta(3 * STEP, 0x06, b"end") + END


# Each hostile file: (name, bytes, what its one error must say). Every one is a small file
# that a loader without limits either crashes on, hangs on, or turns into huge arrays.
HOSTILE_MIDI = [
    ("note-off 2^28 ticks late", smf(tempo() + on(0) + off(2**28) + END), "4 bytes"),
    (
        "note-off 2^28 ticks late, in two steps",
        smf(tempo() + on(0) + vlq(2**27) + b"\xb9\x04\x00" + off(2**27) + END),
        "over the limit of 2,048 bars",
    ),
    ("5-byte delta time", smf(tempo() + b"\x88\x80\x80\x80\x00\x99\x26\x64" + END), "4 bytes"),
    ("largest 4-byte delta", smf(tempo() + on(0) + off(0x0FFFFFFF) + END), "over the limit of"),
    ("marker 2^27 ticks late", smf(tempo() + on(0) + off(0) + meta(2**27, 6, b"x") + END), "limit"),
    ("hanging note, far end", smf(tempo() + on(0) + meta(2**27, 0x2F, b"")), "over the limit"),
    ("5-byte meta length", smf(tempo() + b"\x00\xff\x01\x88\x80\x80\x80\x00" + END), "4 bytes"),
    ("PPQ 0", smf(beat(), division=0), "0 ticks per quarter note"),
    ("SMPTE division", smf(beat(), division=0xE728), "SMPTE time division"),
    ("4-byte tempo", smf(meta(0, 0x51, b"\x03\x93\x87\x00") + on(0) + END), "4 data bytes, not 3"),
    ("2-byte tempo", smf(meta(0, 0x51, b"\x07\xa1") + on(0) + END), "2 data bytes, not 3"),
    ("empty tempo", smf(meta(0, 0x51, b"") + on(0) + END), "0 data bytes, not 3"),
    ("tempo 0", smf(meta(0, 0x51, b"\0\0\0") + on(0) + END), "tempo of 0"),
    ("tempo 3.6 bpm", smf(meta(0, 0x51, b"\xff\xff\xff") + on(0) + END), "outside 20..400"),
    ("tempo 60M bpm", smf(meta(0, 0x51, b"\0\0\x01") + on(0) + END), "outside 20..400"),
    ("short time signature", smf(meta(0, 0x58, b"\x04\x02") + on(0) + END), "time signature"),
    ("running status first", smf(b"\x00\x26\x64" + END), "running status"),
    ("undefined status F4", smf(tempo() + b"\x00\xf4" + on(0) + END), "0xF4"),
    ("data byte over 127", smf(tempo() + b"\x00\x99\x26\xc8" + END), "bad data bytes"),
    ("note cut short", smf(tempo() + b"\x00\x99\x26"), "missing or bad data bytes"),
    ("meta past track end", smf(tempo() + b"\x00\xff\x01\x40abc"), "ends inside a meta"),
    ("sysex past track end", smf(tempo() + b"\x00\xf0\x40\x01\x02"), "ends inside an event"),
    ("delta at track end", smf(tempo() + b"\x00\x99\x26\x64\x81"), "ends inside an event"),
    ("tracks missing", smf(beat(), count=3), "says 3 tracks, the file holds 1"),
    ("65535 tracks promised", smf(beat(), count=65535), "says 65535 tracks"),
    ("track past file end", smf(beat())[:-5], "ends inside a track"),
    ("header only", b"MThd\0\0\0\x06\0\0", "header is shorter"),
    ("header length 2", b"MThd\0\0\0\x02\0\0\0\0\0\0", "header is shorter"),
    ("MIDI type 7", smf(beat(), form=7), "type 7 does not exist"),
    ("type 2", smf(beat(), form=2), "type 2 MIDI files"),
    ("empty", b"", "file is empty"),
    ("not MIDI", b"RIFF\0\0\0\0WAVEfmt ", "not a MIDI file"),
    ("no tracks", smf(), "no drum notes"),
    ("no notes", smf(tempo() + meta(BAR, 6, b"end") + END), "no drum notes"),
    (
        "only unmapped pitches",
        smf(tempo() + on(0, pitch=20) + off(STEP, 20) + END),
        "no drum-pitch",
    ),
    ("waltz", smf(meta(0, 0x58, b"\x03\x02\x18\x08") + on(0) + END), "time signature 3/4"),
    ("over the size limit", smf(beat()) + bytes(MAX_MIDI_BYTES), "over the limit of 1,048,576"),
]
IDS = [case[0] for case in HOSTILE_MIDI]


@pytest.mark.parametrize("name,data,message", HOSTILE_MIDI, ids=IDS)
def test_hostile_midi_file_is_one_clear_error(tmp_path: Path, name, data, message) -> None:
    path = tmp_path / "hostile.mid"
    path.write_bytes(data)
    with pytest.raises(LatentLabError, match=r"^\S*hostile\.mid: .*" + re.escape(message)):
        DrumPattern.from_midi(path)


@pytest.mark.parametrize("name,data,message", HOSTILE_MIDI, ids=IDS)
def test_hostile_midi_upload_is_one_clear_error(name, data, message) -> None:
    """As the explorer's upload gives them: bytes with the file's name."""
    with pytest.raises(LatentLabError, match=r"^upload\.mid: .*" + re.escape(message)):
        check_midi_size(len(data), "upload.mid")
        DrumPattern.from_midi(data, name="upload.mid")


@pytest.mark.parametrize("name,data,message", HOSTILE_MIDI, ids=IDS)
def test_hostile_midi_file_on_the_command_line(tmp_path: Path, capsys, name, data, message):
    path = tmp_path / "hostile.mid"
    path.write_bytes(data)
    assert main(["render", str(path), "--out", str(tmp_path / "out.wav")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("latentlab: error: ") and err.count("\n") == 1
    assert message in err and "hostile.mid" in err
    assert not (tmp_path / "out.wav").exists()


@pytest.mark.parametrize("name,data,message", HOSTILE_MIDI, ids=IDS)
def test_hostile_midi_file_in_a_corpus_is_skipped_and_named(
    tmp_path: Path, name, data, message
) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "good.mid").write_bytes(smf(beat(2)))
    (root / "hostile.mid").write_bytes(data)
    cache = tmp_path / "cache"
    with pytest.warns(UserWarning, match="1 corpus files skipped"):
        windows = Corpus.midi_folder(root).windows(2, progress=False, workers=1, cache=cache)
    ((file_id, why),) = windows.failures
    assert file_id == "hostile.mid" and message in why
    cached = list((cache / "files").iterdir())
    assert len(cached) == 1 and cached[0].stat().st_size < 10_000  # the good file only


def test_a_device_is_not_read(tmp_path: Path, capsys) -> None:
    """/dev/zero has no end: refused before a byte is read."""
    with pytest.raises(LatentLabError, match="^/dev/zero: not a regular file"):
        DrumPattern.from_midi("/dev/zero")
    assert main(["render", "/dev/zero", "--out", str(tmp_path / "never.wav")]) == 2
    assert main(["evaluate", str(tmp_path), "--card-notes", "/dev/zero"]) == 2
    assert capsys.readouterr().err.count("not a regular file") == 2


def test_the_size_limit_is_checked_before_reading() -> None:
    check_midi_size(MAX_MIDI_BYTES, "ok.mid")
    with pytest.raises(LatentLabError, match=r"^big\.mid: the MIDI file is 6,291,456 bytes, over"):
        check_midi_size(6 * 2**20, "big.mid")


def test_pattern_length_limit_applies_to_every_way_of_asking(tmp_path: Path) -> None:
    last_bar = smf(tempo() + on((MAX_BARS - 1) * BAR) + off(STEP) + END)
    assert DrumPattern.from_midi(last_bar).bars == MAX_BARS
    one_more = smf(tempo() + on(MAX_BARS * BAR) + off(STEP) + END)
    with pytest.raises(LatentLabError, match=f"{MAX_BARS + 1:,} bars is over the limit"):
        DrumPattern.from_midi(one_more, name="long.mid")
    good = smf(beat())
    with pytest.raises(LatentLabError, match=r"^g\.mid: a pattern of 1,000,000,000 bars"):
        DrumPattern.from_midi(good, bars=10**9, name="g.mid")
    with pytest.raises(LatentLabError, match="bars: 0 must be a whole number of at least 1"):
        DrumPattern.from_midi(good, bars=0)
    with pytest.raises(LatentLabError, match="over the limit"):
        DrumPattern.empty(bars=10**9)
    with pytest.raises(LatentLabError, match="over the limit"):
        Corpus.midi_folder(_folder_with(tmp_path, good)).windows(10**9, progress=False)


def _folder_with(tmp_path: Path, data: bytes) -> Path:
    (tmp_path / "c").mkdir(exist_ok=True)
    (tmp_path / "c" / "a.mid").write_bytes(data)
    return tmp_path / "c"


# ---- valid files that were misread -----------------------------------------------------


@pytest.mark.parametrize("length", [0, STEP // 2, STEP - 1])
@pytest.mark.parametrize("early", [0, 10])
def test_a_hit_on_the_last_bars_downbeat_counts_that_bar(length: int, early: int) -> None:
    """A 2-bar window with a silent first bar and its hits on bar 2's downbeat (kick and
    crash, the file ending with them): 2 bars, both hits kept, also when they are played
    a little early and only round onto the downbeat."""
    body = tempo() + on(BAR - early, 36) + on(0, 49) + off(length, 36) + off(0, 49) + END
    pattern = DrumPattern.from_midi(smf(body))
    assert pattern.bars == 2 and pattern.n_hits == 2
    assert pattern.hits[16, 0] == 1 and pattern.hits[16, 7] == 1


def test_a_hanging_note_lasts_to_the_end_of_its_track() -> None:
    """Eight quarter notes over two bars, the last never released: all eight are kept."""
    body = tempo()
    for i in range(7):
        body += on(0 if i == 0 else 2 * STEP, 38) + off(2 * STEP, 38)
    body += on(2 * STEP, 36) + meta(4 * STEP, 0x2F, b"")  # no note-off; the track ends a beat on
    content = read_midi(smf(body))
    assert len(content.onsets) == 8 and content.end_time == pytest.approx(4.0)
    pattern = DrumPattern.from_midi(smf(body))
    assert pattern.bars == 2 and pattern.n_hits == 8


def test_reader_skips_unknown_chunks_and_follows_running_status() -> None:
    body = tempo() + b"\x00\x99\x24\x64" + vlq(STEP) + b"\x26\x50" + vlq(STEP) + b"\x24\x00"
    data = smf(body + END)
    alien = data[:14] + chunk(b"XFIH", b"whatever") + data[14:]
    pattern = DrumPattern.from_midi(alien)
    assert pattern.n_hits == 2 and pattern.hits[0, 0] == 1 and pattern.hits[1, 1] == 1


# ---- tampered checkpoints -----------------------------------------------------------------


@pytest.fixture(scope="module")
def groove_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("groove") / "groove.mid"
    path.write_bytes(smf(beat(2)))
    return path


def _edit_config(folder: Path, change) -> None:
    path = folder / "config.json"
    config = json.loads(path.read_text())
    change(config)
    path.write_text(json.dumps(config))


def _set_model(key, value):
    return lambda folder: _edit_config(folder, lambda c: c["model"].__setitem__(key, value))


def _write_config(text: str | bytes):
    def tamper(folder: Path) -> None:
        path = folder / "config.json"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())

    return tamper


def _edit_weights(change):
    def tamper(folder: Path) -> None:
        from safetensors.torch import load_file, save_file

        state = load_file(folder / "model.safetensors")
        change(state)
        save_file(state, folder / "model.safetensors")

    return tamper


def _first(state: dict) -> str:
    return sorted(state)[0]


def _poison(value: float):
    return _edit_weights(lambda s: s[_first(s)].view(-1).__setitem__(0, value))


def _overwrite(name: str, data: bytes | None = None, keep: float | None = None):
    """Replace a checkpoint file with `data`, or cut it to the share `keep` of its bytes."""

    def tamper(folder: Path) -> None:
        path = folder / name
        raw = path.read_bytes()
        path.write_bytes(data if data is not None else raw[: int(len(raw) * keep)])

    return tamper


def _sparse_weights(folder: Path) -> None:
    with open(folder / "model.safetensors", "r+b") as f:
        f.truncate(MAX_WEIGHTS_BYTES + 1)


def _pickle_weights(folder: Path) -> None:
    buffer = io.BytesIO()
    torch.save({"x": torch.zeros(3)}, buffer)
    (folder / "model.safetensors").write_bytes(buffer.getvalue())


def _replace_with_folder(name: str):
    def tamper(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).mkdir()

    return tamper


def _remove(name: str):
    return lambda folder: (folder / name).unlink()


def _edit_atlas(change):
    def tamper(folder: Path) -> None:
        path = folder / "atlas.npz"
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        change(arrays)
        with open(path, "wb") as f:
            np.savez_compressed(f, **arrays)

    return tamper


def _set_array(key: str, make):
    return _edit_atlas(lambda a: a.__setitem__(key, make(a)))


def _drop_array(key: str):
    return _edit_atlas(lambda a: a.pop(key))


def _atlas_member(name: str, payload: bytes, compress=zipfile.ZIP_DEFLATED):
    """Add a raw member to the atlas zip (a .npy of any header, or not a .npy at all)."""

    def tamper(folder: Path) -> None:
        with zipfile.ZipFile(folder / "atlas.npz", "a", compression=compress) as z:
            z.writestr(name, payload)

    return tamper


def _npy_header(shape: tuple, descr: str = "<f4", version: int = 1) -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + size + header


def _understated_member(folder: Path) -> None:
    """A member whose zip directory says 10 bytes while it unpacks to 1 MB (a bomb's trick)."""
    path = folder / "atlas.npz"
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("zz_bomb.npy", _npy_header((262144,)) + bytes(1 << 20))
    raw = bytearray(path.read_bytes())
    at = raw.rfind(b"PK\x01\x02")  # the last central directory entry: the bomb's
    raw[at + 24 : at + 28] = struct.pack("<I", 10)
    path.write_bytes(bytes(raw))


def _many_arrays(folder: Path) -> None:
    _edit_atlas(lambda a: a.update({f"extra_{i}": np.zeros(1) for i in range(1100)}))(folder)


def _compression_99(folder: Path) -> None:
    path = folder / "atlas.npz"
    raw = bytearray(path.read_bytes())
    at = raw.find(b"PK\x01\x02")
    raw[at + 10 : at + 12] = struct.pack("<H", 99)
    path.write_bytes(bytes(raw))


TAMPERED = [
    # config.json
    ("missing config", _remove("config.json"), "config.json: missing"),
    ("config is a folder", _replace_with_folder("config.json"), "config.json: missing"),
    ("bad JSON", _write_config("{not json"), "not valid JSON"),
    ("non-UTF-8 JSON", _write_config(b'{"model": "\xff\xfe"}'), "not UTF-8 text"),
    ("deeply nested JSON", _write_config("[" * 100_000 + "]" * 100_000), "nested too deeply"),
    ("5000-digit number", _write_config('{"a": 1' + "0" * 5000 + "}"), "not valid JSON"),
    ("huge config", _write_config(" " * (1 << 21) + "{}"), "over the limit of 1,048,576 bytes"),
    ("config is a list", _write_config("[1, 2]"), "format_version None"),
    ("no format version", lambda f: _edit_config(f, lambda c: c.pop("format_version")), "None"),
    (
        "format version '1'",
        lambda f: _edit_config(f, lambda c: c.update(format_version="1")),
        "'1'",
    ),
    ("no model settings", lambda f: _edit_config(f, lambda c: c.pop("model")), "'model'"),
    ("model is a list", lambda f: _edit_config(f, lambda c: c.update(model=[])), "'model'"),
    ("training is text", lambda f: _edit_config(f, lambda c: c.update(training="x")), "'training'"),
    ("unknown setting", _set_model("colour", "red"), "unknown model setting 'colour'"),
    ("bars 10**9", _set_model("bars", 10**9), "'bars' is 1000000000, outside 1..32"),
    ("bars 0", _set_model("bars", 0), "'bars' is 0, outside"),
    ("bars as text", _set_model("bars", "2"), "'bars' is '2', not a whole number"),
    ("bars 2.5", _set_model("bars", 2.5), "'bars' is 2.5, not a whole number"),
    ("bars true", _set_model("bars", True), "'bars' is True, not a whole number"),
    ("bars null", _set_model("bars", None), "'bars' is None"),
    ("z_dim -1", _set_model("z_dim", -1), "'z_dim' is -1, outside"),
    ("z_dim 10**6", _set_model("z_dim", 10**6), "'z_dim' is 1000000, outside"),
    ("hidden 10**5", _set_model("decoder_hidden", 10**5), "'decoder_hidden' is 100000"),
    ("100 layers", _set_model("encoder_layers", 100), "'encoder_layers' is 100"),
    ("steps per bar 7", _set_model("steps_per_bar", 7), "'steps_per_bar' is 7, outside 16..16"),
    ("hierarchical 'yes'", _set_model("hierarchical", "yes"), "not true or false"),
    ("dropout NaN", _set_model("dropout", float("nan")), "'dropout' is nan, not a finite"),
    ("dropout 5", _set_model("dropout", 5.0), "'dropout' is 5.0, outside 0.0..1.0"),
    ("z_dim changed", _set_model("z_dim", 12), "has shape"),
    # model.safetensors
    ("missing weights", _remove("model.safetensors"), "model.safetensors: missing"),
    ("weights a folder", _replace_with_folder("model.safetensors"), "model.safetensors: missing"),
    ("weights empty", _overwrite("model.safetensors", b""), "truncated or corrupt weights"),
    (
        "weights cut to 1%",
        _overwrite("model.safetensors", keep=0.01),
        "truncated or corrupt weights",
    ),
    (
        "weights cut in half",
        _overwrite("model.safetensors", keep=0.5),
        "truncated or corrupt weights",
    ),
    (
        "weights garbage",
        _overwrite("model.safetensors", b"\x00" * 64),
        "truncated or corrupt weights",
    ),
    (
        "header size 2^63",
        _overwrite("model.safetensors", struct.pack("<Q", 2**63) + b"{}"),
        "truncated or corrupt",
    ),
    ("weights pickled", _pickle_weights, "truncated or corrupt weights"),
    ("weights over 512 MiB", _sparse_weights, "over the limit of 536,870,912 bytes"),
    ("NaN weight", _poison(float("nan")), "holds NaN or infinite values"),
    ("inf weight", _poison(float("inf")), "holds NaN or infinite values"),
    ("tensor missing", _edit_weights(lambda s: s.pop(_first(s))), "is missing"),
    ("extra tensor", _edit_weights(lambda s: s.update(zzz=torch.zeros(1))), "unexpected tensor"),
    (
        "tensor reshaped",
        _edit_weights(lambda s: s.update({_first(s): s[_first(s)].reshape(-1, 1)})),
        "config.json implies",
    ),
    (
        "float16 tensor",
        _edit_weights(lambda s: s.update({_first(s): s[_first(s)].half()})),
        "is torch.float16, not torch.float32",
    ),
    (
        "int64 tensor",
        _edit_weights(lambda s: s.update({_first(s): s[_first(s)].long()})),
        "is torch.int64",
    ),
    # atlas.npz
    ("atlas garbage", _overwrite("atlas.npz", b"garbage"), "truncated or corrupt atlas"),
    ("atlas truncated", _overwrite("atlas.npz", keep=0.5), "truncated or corrupt atlas"),
    ("atlas a folder", _replace_with_folder("atlas.npz"), "atlas.npz: missing"),
    ("bomb: member understated", _understated_member, "truncated or corrupt atlas"),
    ("header claims 10^12", _atlas_member("big.npy", _npy_header((10**12,))), "does not match"),
    ("header claims 2^40 B", _atlas_member("b.npy", _npy_header((2**38,)) + bytes(8)), "match"),
    ("npy version 3", _atlas_member("v.npy", _npy_header((1,), version=3)), "not supported"),
    ("object array", _atlas_member("o.npy", _npy_header((1,), "|O") + b"\x80"), "not numbers"),
    ("complex array", _set_array("extra", lambda a: np.zeros(2, np.complex64)), "complex64"),
    ("not an array", _atlas_member("readme.txt", b"hello"), "not an array"),
    ("1100 arrays", _many_arrays, "over the limit of 1024"),
    ("unknown compression", _compression_99, "compression method is not supported"),
    ("coords missing", _drop_array("coords"), "no 'coords' array"),
    ("meta column missing", _drop_array("meta.bpm"), "no 'meta.bpm' array"),
    ("vector missing", _drop_array("vector.density"), "no 'vector.density' array"),
    ("NaN coords", _set_array("coords", lambda a: a["coords"] * np.nan), "coords holds NaN"),
    (
        "inf latents",
        _set_array("latent_mean", lambda a: np.full_like(a["latent_mean"], np.inf)),
        "latent_mean holds NaN or infinite",
    ),
    (
        "NaN sampler array",
        _set_array("sampler_extra", lambda a: np.full(3, np.nan, np.float32)),
        "sampler_extra holds NaN",
    ),
    (
        "coords 3 wide",
        _set_array("coords", lambda a: np.zeros((len(a["coords"]), 3))),
        "coords has",
    ),
    ("one coord short", _set_array("coords", lambda a: a["coords"][:-1]), "coords has shape"),
    ("vector too long", _set_array("vector.shuffle", lambda a: np.zeros(9)), "(8,)"),
    ("hits as uint16", _set_array("hits", lambda a: a["hits"].astype(np.uint16)), "uint16"),
    ("codes as text", _set_array("latent_codes", lambda a: np.array(["x", "y"])), "<U1"),
    ("steps 7", _set_array("steps", lambda a: np.asarray(7)), "steps is 7, not 32"),
    ("velocity 200", _set_array("velocities", lambda a: a["velocities"] | 200), "over 127"),
    ("bpm 0", _set_array("meta.bpm", lambda a: a["meta.bpm"] * 0), "tempos outside 20..400"),
    ("no windows", _edit_atlas(lambda a: _empty_windows(a)), "no corpus windows"),
]


def _empty_windows(arrays: dict) -> None:
    n = len(arrays["coords"])
    for key, value in arrays.items():
        if value.ndim and value.shape[0] == n:
            arrays[key] = value[:0]


@pytest.fixture
def tampered(tiny_checkpoint: Path, tmp_path: Path):
    def make(tamper) -> Path:
        folder = tmp_path / "ckpt"
        shutil.copytree(tiny_checkpoint, folder)
        tamper(folder)
        return folder

    return make


@pytest.mark.parametrize("name,tamper,message", TAMPERED, ids=[t[0] for t in TAMPERED])
def test_tampered_checkpoint_is_one_clear_error(
    tampered, groove_file, capsys, name, tamper, message
) -> None:
    folder = tampered(tamper)
    with pytest.raises(LatentLabError, match=re.escape(message)) as error:
        LatentLab.load(folder, device="cpu")
    assert str(folder) in str(error.value)
    assert main(["encode", str(groove_file), "--checkpoint", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("latentlab: error: ") and err.count("\n") == 1 and message in err


def test_atlas_sizes_are_checked_in_the_zip_directory_before_unpacking(
    tampered, monkeypatch
) -> None:
    """A zip bomb: 64 MiB of zeros in a 64 KiB member, refused by what the directory says
    (the limit is lowered so the test stays small)."""
    folder = tampered(_atlas_member("zeros.npy", _npy_header((1 << 24,)) + bytes(1 << 26)))
    assert (folder / "atlas.npz").stat().st_size < 2 << 20
    monkeypatch.setattr(atlas_module, "MAX_ATLAS_BYTES", 32 << 20)
    read = []
    monkeypatch.setattr(atlas_module, "_read_member", lambda *a: read.append(a))
    with pytest.raises(
        LatentLabError, match=r"the atlas, unpacked, is 6\d,.* bytes, over the limit"
    ):
        atlas_module.Atlas.load(folder)
    assert read == []


def test_an_intact_copy_loads(tampered, groove_file, capsys) -> None:
    """The fixture the cases above break is itself fine, so each error is the tampering's."""
    folder = tampered(lambda folder: None)
    lab = LatentLab.load(folder, device="cpu")
    assert len(lab.atlas) > 0
    assert main(["encode", str(groove_file), "--checkpoint", str(folder)]) == 0
    assert json.loads(capsys.readouterr().out)["z"]


def test_asking_for_cuda_without_it_says_so(tiny_checkpoint, monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(LatentLabError, match=r"^device 'cuda': CUDA is not available"):
        LatentLab.load(tiny_checkpoint, device="cuda")
    with pytest.raises(LatentLabError, match="not a device; use 'cpu' or 'cuda'"):
        load_checkpoint(tiny_checkpoint, "gpu")
    with pytest.raises(LatentLabError, match="use 'cpu' or 'cuda'"):
        resolve_device("meta")
    assert resolve_device(None) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(LatentLabError, match=r"'cuda:3': this machine has 1 CUDA GPUs"):
        resolve_device("cuda:3")


# ---- bad command lines -----------------------------------------------------------------------

BAD_ARGS = [
    (["sample", "--n", "-3"], "argument --n: -3 is outside 1..1000"),
    (["sample", "--n", "0"], "--n: 0 is outside"),
    (["sample", "--n", "100000"], "--n: 100000 is outside"),
    (["sample", "--n", "2.5"], "'2.5' is not a whole number"),
    (["sample", "--temperature", "nan"], "--temperature: nan is not a number in 0..2"),
    (["sample", "--temperature", "-1"], "--temperature: -1 is outside 0..2"),
    (["sample", "--temperature", "50"], "--temperature: 50 is outside"),
    (["sample", "--temperature", "inf"], "--temperature: inf is not a number"),
    (["sample", "--bpm", "0"], "--bpm: 0 is outside 20..400"),
    (["sample", "--bpm", "nan"], "--bpm: nan is not a number in 20..400"),
    (["sample", "--bpm", "-120"], "--bpm: -120 is outside"),
    (["sample", "--bpm", "fast"], "'fast' is not a number"),
    (["sample", "--seed", "-1"], "--seed: -1 is outside 0..4294967295"),
    (["sample", "--seed", "99999999999"], "--seed: 99999999999 is outside"),
    (["sample", "--out", "{file}"], "is a file, not a folder"),
    (["sample", "--out", "{file}/x"], "is a file, not a folder"),
    (["encode", "{midi}", "--nearest", "0"], "--nearest: 0 is outside 1..100"),
    (["interpolate", "{midi}", "{midi}", "--steps", "1", "--out", "x.mid"], "1 is outside 2..64"),
    (["interpolate", "{midi}", "{midi}", "--steps", "10000", "--out", "x.mid"], "2..64"),
    (["interpolate", "{midi}", "{midi}", "--out", "{dir}"], "is a folder; give a file name"),
    (["interpolate", "{midi}", "{midi}", "--out", "{dir}/no/x.mid"], "does not exist"),
    (["interpolate", "{midi}", "{midi}", "--bpm", "0", "--out", "x.mid"], "--bpm: 0"),
    (["shift", "{midi}", "--density", "40", "--out", "x.mid"], "--density: 40 is outside -4..4"),
    (["shift", "{midi}", "--shuffle", "nan", "--out", "x.mid"], "--shuffle: nan is not"),
    (["shift", "{midi}", "--out", "{dir}/no/x.mid", "--density", "1"], "does not exist"),
    (["shift", "{midi}", "--out", "x.mid"], "give at least one amount"),
    (["dashboard", "--port", "99999"], "--port: 99999 is outside 1..65535"),
    (["dashboard", "--port", "0"], "--port: 0 is outside"),
    (["render", "{midi}", "--loops", "0"], "--loops: 0 is outside 1..256"),
    (["render", "{midi}", "--bpm", "1000"], "--bpm: 1000 is outside"),
    (["render", "{midi}", "--out", "{dir}"], "is a folder"),
    (["atlas", "{dir}", "--seed", "-5"], "--seed: -5 is outside"),
    (["data", "info", "--bars", "0"], "--bars: 0 is outside 1..32"),
    (["train", "--epochs", "0"], "--epochs: 0 is outside"),
    (["train", "--lr", "nan"], "--lr: nan is not a number"),
    (["train", "--batch-size", "-1"], "--batch-size: -1 is outside"),
    (["train", "--z-dim", "100000"], "--z-dim: 100000 is outside 1..4096"),
    (["train", "--history-dropout", "2"], "--history-dropout: 2 is outside 0..1"),
    (["train", "--threads", "0"], "--threads: 0 is outside"),
    (["train", "--out", "{file}"], "is a file, not a folder"),
    (["evaluate", "{dir}", "--card-notes", "{dir}/missing.md"], "No such file"),
    (["evaluate", "{dir}", "--out", "{dir}"], "is a folder"),
    (["sample", "--colour", "red"], "unrecognized arguments: --colour red"),
    (["encode"], "the following arguments are required: file"),
]


@pytest.mark.parametrize("args,message", BAD_ARGS, ids=[" ".join(a[0]) for a in BAD_ARGS])
def test_bad_command_line_is_one_error_line(
    tmp_path: Path, groove_file, capsys, monkeypatch, args, message
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file").write_text("x")
    names = {"file": tmp_path / "file", "midi": groove_file, "dir": tmp_path}
    args = [a.format(**names) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("latentlab: error: ") and err.count("\n") == 1
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x.mid").exists()


def test_a_file_that_cannot_be_written_is_one_error_line(
    groove_file, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out.wav"
    out.symlink_to(tmp_path / "gone" / "out.wav")  # passes the checks, fails on writing
    assert main(["render", str(groove_file), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("latentlab: error: ") and err.count("\n") == 1
    assert "out.wav: No such file or directory" in err
