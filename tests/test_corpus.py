"""Corpora: MIDI folders and the Groove MIDI Dataset cut into windows, the cache, bad input."""

from __future__ import annotations

import csv
import re
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import groove_notes, reference_windows, write_drum_midi

from latentlab import corpus as corpus_module
from latentlab.corpus import Corpus
from latentlab.errors import LatentLabError
from latentlab.pattern import DrumPattern

GMD_HEADER = [
    "drummer", "session", "id", "style", "bpm", "beat_type", "time_signature",
    "midi_filename", "audio_filename", "duration", "split",
]  # fmt: skip


def make_folder(root: Path) -> Path:
    """A user's folder of grooves: two styles in sub-folders and one file at the top."""
    write_drum_midi(root / "rock" / "a.mid", groove_notes(5, empty_bars=(2, 3)))
    write_drum_midi(root / "rock" / "b.mid", groove_notes(2), bpm=90)
    write_drum_midi(root / "jazz" / "brushes" / "c.MIDI", groove_notes(3))
    write_drum_midi(root / "loose.mid", groove_notes(4))
    (root / "notes.txt").write_text("not a MIDI file, and not named like one\n")
    return root


def make_groove(root: Path, rows: list[dict]) -> Path:
    """A small GMD-shaped folder: info.csv with the GMD's columns and one MIDI file a row."""
    with open(root / "info.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, GMD_HEADER)
        writer.writeheader()
        for row in rows:
            name = row["midi_filename"]
            if name and not (root / name).exists():
                write_drum_midi(root / name, groove_notes(3), bpm=100)
            writer.writerow({k: row.get(k, "") for k in GMD_HEADER})
    return root


def groove_row(i: int, **changes: str) -> dict:
    row = {
        "drummer": "drummer1", "session": "drummer1/s1", "id": f"drummer1/s1/{i}",
        "style": "rock/groove1", "bpm": "100", "beat_type": "beat", "time_signature": "4-4",
        "midi_filename": f"drummer1/s1/{i}.mid", "duration": "7.2", "split": "train",
    }  # fmt: skip
    return row | changes


def counting_quantiser(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every file the corpus quantises (run with workers=1 so calls stay in-process)."""
    calls: list[str] = []
    real = corpus_module._quantise_file

    def quantise(job):
        calls.append(Path(job[0]).name)
        return real(job)

    monkeypatch.setattr(corpus_module, "_quantise_file", quantise)
    return calls


# ---- MIDI-folder corpora --------------------------------------------------------------


def test_folder_corpus_styles_are_sub_folders(tmp_path: Path) -> None:
    corpus = Corpus.open(make_folder(tmp_path / "mine"))
    assert corpus.kind == "folder"
    styles = {f.file_id: f.style for f in corpus.files}
    assert styles == {"jazz/brushes/c.MIDI": "jazz", "loose.mid": "", "rock/a.mid": "rock",
                      "rock/b.mid": "rock"}  # fmt: skip


def test_folder_splits_are_deterministic_by_file(tmp_path: Path) -> None:
    for i in range(40):
        write_drum_midi(tmp_path / "a" / "style" / f"{i:02d}.mid", groove_notes(2))
    first = {f.file_id: f.split for f in Corpus.midi_folder(tmp_path / "a").files}
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    (tmp_path / "b" / "style" / "07.mid").unlink()
    copy = {f.file_id: f.split for f in Corpus.midi_folder(tmp_path / "b").files}

    assert copy == {k: v for k, v in first.items() if k != "style/07.mid"}
    assert set(first.values()) == {"train", "validation", "test"}
    assert 24 <= list(first.values()).count("train") <= 38


def test_folder_windows_hop_one_bar_and_drop_empty_ones(
    tmp_path: Path, latentlab_cache: Path
) -> None:
    root = make_folder(tmp_path / "mine")
    windows = Corpus.midi_folder(root).windows(2, progress=False, workers=1)

    by_file = {}
    for i in range(len(windows)):
        record = windows.record(i)
        by_file.setdefault(record["file_id"], []).append(record["first_bar"])
    # a.mid: 5 bars with bars 2 and 3 silent, so the window of bars 2-3 is dropped.
    assert by_file == {"jazz/brushes/c.MIDI": [0, 1], "loose.mid": [0, 1, 2],
                       "rock/a.mid": [0, 1, 3], "rock/b.mid": [0]}  # fmt: skip
    a = DrumPattern.from_midi(root / "rock" / "a.mid")
    for i in np.flatnonzero(windows.meta["file_id"] == "rock/a.mid"):
        expected = a.bar_slice(int(windows.meta["first_bar"][i]), 2).to_array()
        np.testing.assert_array_equal(windows.hvo[i], expected)
    assert windows.hvo.shape == (len(windows), 32, 27)
    b = windows.record(int(np.flatnonzero(windows.meta["file_id"] == "rock/b.mid")[0]))
    assert b["style"] == "rock" and b["bpm"] == 90.0  # a folder's bpm is the file's tempo
    assert windows.pattern(0).bpm == 120 and windows.pattern(0).bars == 2
    assert len(Corpus.midi_folder(root).windows(4, progress=False, workers=1)) == 2 + 1


def test_second_windows_call_comes_from_the_cache(
    tmp_path: Path, latentlab_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_folder(tmp_path / "mine")
    first = Corpus.midi_folder(root).windows(2, progress=False)
    assert len(list((latentlab_cache / "files").glob("*.npz"))) == 4
    assert len(list((latentlab_cache / "windows").glob("folder-2bar-*.npz"))) == 1

    def no_midi(*args, **kwargs):
        raise AssertionError("MIDI was read again")

    monkeypatch.setattr(corpus_module, "_quantise_file", no_midi)
    monkeypatch.setattr(DrumPattern, "from_midi", no_midi)
    second = Corpus.midi_folder(root).windows(2, progress=False)
    np.testing.assert_array_equal(second.hvo, first.hvo)
    assert second.meta.keys() == first.meta.keys()
    for key in first.meta:
        np.testing.assert_array_equal(second.meta[key], first.meta[key])


def test_a_changed_file_is_quantised_again_and_only_it(
    tmp_path: Path, latentlab_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_folder(tmp_path / "mine")
    calls = counting_quantiser(monkeypatch)
    before = Corpus.midi_folder(root).windows(2, progress=False, workers=1)
    assert sorted(calls) == ["a.mid", "b.mid", "c.MIDI", "loose.mid"]

    calls.clear()
    write_drum_midi(root / "rock" / "b.mid", groove_notes(3), bpm=90)  # one bar longer
    after = Corpus.midi_folder(root).windows(2, progress=False, workers=1)
    assert calls == ["b.mid"]
    assert len(after) == len(before) + 1


def test_an_edited_info_csv_rebuilds_the_windows_without_reading_midi(
    tmp_path: Path, latentlab_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [groove_row(i) for i in range(3)]
    make_groove(tmp_path, rows)
    calls = counting_quantiser(monkeypatch)
    before = Corpus.groove(tmp_path).windows(2, progress=False, workers=1)
    assert set(before.meta["split"]) == {"train"} and len(calls) == 3

    rows[1]["split"] = "test"
    make_groove(tmp_path, rows)
    after = Corpus.groove(tmp_path).windows(2, progress=False, workers=1)
    assert len(calls) == 3
    assert Counter(after.meta["split"].tolist()) == {"train": 4, "test": 2}


def test_one_bad_file_among_good_ones_is_recorded_and_warned(
    tmp_path: Path, latentlab_cache: Path
) -> None:
    root = make_folder(tmp_path / "mine")
    (root / "rock" / "broken.mid").write_text("this is not MIDI")
    write_drum_midi(root / "rock" / "waltz.mid", groove_notes(2), time_signature=(3, 4))
    good = Corpus.midi_folder(make_folder(tmp_path / "good")).windows(2, progress=False)
    expected = [
        ("rock/broken.mid", "not a MIDI file (no MThd header)"),
        ("rock/waltz.mid", "time signature 3/4 is not 4/4"),
    ]

    for _ in range(2):  # the second time from the cache, still recorded and warned
        with pytest.warns(UserWarning, match=r"2 corpus files skipped \(rock/broken\.mid: not"):
            windows = Corpus.midi_folder(root).windows(2, progress=False)
        assert windows.failures == expected
        np.testing.assert_array_equal(windows.hvo, good.hvo)
    with pytest.warns(UserWarning):
        info = Corpus.midi_folder(root).info(bars=(2,), progress=False)
    assert info["2bar"]["skipped_files"] == 2


def test_missing_gmd_file_is_a_failure_not_a_crash(tmp_path: Path, latentlab_cache: Path) -> None:
    make_groove(tmp_path, [groove_row(0), groove_row(1)])
    (tmp_path / "drummer1" / "s1" / "1.mid").unlink()
    with pytest.warns(UserWarning, match="1 corpus files skipped"):
        windows = Corpus.groove(tmp_path).windows(2, progress=False, workers=1)
    assert windows.failures == [("drummer1/s1/1", "file not found")]
    assert set(windows.meta["file_id"]) == {"drummer1/s1/0"}


def test_a_corpus_of_only_bad_files_is_an_error(tmp_path: Path, latentlab_cache: Path) -> None:
    (tmp_path / "x.mid").write_bytes(b"")
    with pytest.warns(UserWarning), pytest.raises(LatentLabError, match="no 2-bar windows"):
        Corpus.midi_folder(tmp_path).windows(2, progress=False, workers=1)


def test_gmd_metadata_comes_from_info_csv(tmp_path: Path, latentlab_cache: Path) -> None:
    make_groove(
        tmp_path,
        [groove_row(0, style="jazz/swing", beat_type="fill", split="validation", bpm="100"),
         groove_row(1, time_signature="3-4"), groove_row(2, time_signature="6-8")],
    )  # fmt: skip
    corpus = Corpus.open(tmp_path)
    assert corpus.kind == "groove"
    assert corpus.excluded == {"time signature 3-4": 1, "time signature 6-8": 1}
    windows = corpus.windows(2, progress=False, workers=1)
    assert windows.record(1) == {
        "file_id": "drummer1/s1/0", "drummer": "drummer1", "style": "jazz", "substyle": "swing",
        "bpm": 100.0, "beat_type": "fill", "split": "validation", "first_bar": 1,
    }  # fmt: skip
    assert len(windows.split("validation")) == 2 and len(windows.split("train")) == 0


def test_gmd_bars_come_from_the_duration_in_info_csv(tmp_path: Path, latentlab_cache: Path) -> None:
    """Every file holds 3 bars of notes at 100 bpm (2.4 s a bar); info.csv says otherwise."""
    rows = [
        groove_row(0, duration="4.8"),
        groove_row(1, duration="12.1"),
        groove_row(2, duration=""),
    ]
    windows = Corpus.groove(make_groove(tmp_path, rows)).windows(2, progress=False, workers=1)
    first_bars = {}
    for file_id, first in zip(windows.meta["file_id"], windows.meta["first_bar"], strict=True):
        first_bars.setdefault(str(file_id), []).append(int(first))
    # 4.8 s: 2 bars (the third bar's notes are cut off); 12.1 s: 6 bars, the last 3 silent
    # (only the 2-bar windows with a hit are kept); no duration: the file's own 3 bars.
    assert first_bars == {"drummer1/s1/0": [0], "drummer1/s1/1": [0, 1, 2], "drummer1/s1/2": [0, 1]}


# ---- bad input ------------------------------------------------------------------------


def test_groove_needs_info_csv(tmp_path: Path) -> None:
    make_folder(tmp_path)
    with pytest.raises(LatentLabError, match=rf"{re.escape(str(tmp_path))}: no info\.csv here"):
        Corpus.groove(tmp_path)


def test_wrong_latentlab_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LATENTLAB_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(LatentLabError, match=r"LATENTLAB_DATA=.*nowhere: folder does not exist"):
        Corpus.open()
    with pytest.raises(LatentLabError, match=r"--data=.*elsewhere: folder does not exist"):
        Corpus.open(tmp_path / "elsewhere")


def test_no_data_folder_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LATENTLAB_DATA", raising=False)
    with pytest.raises(LatentLabError, match="pass --data DIR or set LATENTLAB_DATA"):
        Corpus.groove()


def test_folder_without_midi_files(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no grooves here")
    (tmp_path / "fake.mid").mkdir()
    with pytest.raises(
        LatentLabError, match=rf"{re.escape(str(tmp_path))}: no \.mid or \.midi files"
    ):
        Corpus.open(tmp_path)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([groove_row(0, bpm="fast")], r"info\.csv, line 2: bpm 'fast' is not a tempo"),
        ([groove_row(0), groove_row(1, bpm="-90")], r"line 3: bpm '-90' is not a tempo"),
        ([groove_row(0, split="holdout")], r"line 2: split 'holdout' is unknown"),
        ([groove_row(0, midi_filename="")], r"line 2: no value in column 'midi_filename'"),
        ([groove_row(0, duration="long")], r"line 2: duration 'long' is not a length in seconds"),
    ],
)
def test_bad_info_csv_values(tmp_path: Path, rows: list, message: str) -> None:
    make_groove(tmp_path, rows)
    with pytest.raises(LatentLabError, match=message):
        Corpus.groove(tmp_path)


def test_bad_info_csv_columns(tmp_path: Path) -> None:
    (tmp_path / "info.csv").write_text("drummer,id,style\ndrummer1,x,rock\n")
    with pytest.raises(LatentLabError, match=r"info\.csv: missing column 'bpm'"):
        Corpus.groove(tmp_path)


def test_info_csv_row_with_missing_fields(tmp_path: Path) -> None:
    make_groove(tmp_path, [groove_row(0)])
    with open(tmp_path / "info.csv", "a") as f:
        f.write("drummer1,drummer1/s1,drummer1/s1/9,rock\n")
    with pytest.raises(LatentLabError, match=r"line 3: 4 fields where the header has 11"):
        Corpus.groove(tmp_path)


def test_info_csv_that_is_not_text(tmp_path: Path) -> None:
    (tmp_path / "info.csv").write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(LatentLabError, match=r"info\.csv: not a readable CSV file"):
        Corpus.groove(tmp_path)


def test_bad_window_settings(tmp_path: Path, latentlab_cache: Path) -> None:
    corpus = Corpus.midi_folder(make_folder(tmp_path))
    with pytest.raises(LatentLabError, match="bars: 0 must be at least 1"):
        corpus.windows(0)
    windows = corpus.windows(2, progress=False, workers=1)
    with pytest.raises(LatentLabError, match="'dev' is not one of train, validation, test"):
        windows.split("dev")


# ---- the Groove MIDI Dataset ----------------------------------------------------------


def window_keys(windows) -> list[tuple[str, str, int]]:
    meta = windows.meta
    return list(zip(meta["file_id"].tolist(), meta["split"].tolist(),
                    meta["first_bar"].tolist(), strict=True))  # fmt: skip


@pytest.mark.dataset
@pytest.mark.parametrize("n_bars", [2, 4])
def test_gmd_windows_are_the_independently_computed_ones(
    gmd_windows: dict, gmd_reference: dict, n_bars: int
) -> None:
    """Which windows exist (bars from info.csv, empty ones dropped), and every hit in them."""
    windows = gmd_windows[n_bars]
    expected = reference_windows(gmd_reference, n_bars)
    got = window_keys(windows)
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    assert not missing and not extra, f"missing {missing[:5]}, extra {extra[:5]}"
    assert got == expected
    assert windows.failures == []

    starts = np.array([gmd_reference["start"][f] for f in windows.meta["file_id"].tolist()])
    rows = (starts + windows.meta["first_bar"] * 16)[:, None] + np.arange(n_bars * 16)
    hits, velocities = windows.hvo[..., :9], windows.hvo[..., 9:18]
    wrong = np.flatnonzero(((hits == 1) != gmd_reference["hits"][rows]).any(axis=(1, 2)))
    assert not len(wrong), f"{len(wrong)} windows differ, e.g. {got[wrong[0]]}"
    np.testing.assert_array_equal(velocities, gmd_reference["velocities"][rows])
    offsets = windows.hvo[..., 18:]
    assert offsets.min() >= -0.5 and offsets.max() < 0.5
    assert not offsets[hits == 0].any() and not velocities[hits == 0].any()


@pytest.mark.dataset
def test_gmd_info_counts_windows_per_split(gmd_env: Path, gmd_windows: dict, gmd_reference: dict):
    info = Corpus.open().info(progress=False)
    with open(gmd_env / "info.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    other = Counter(f"time signature {r['time_signature']}" for r in rows)
    del other["time signature 4-4"]

    assert info["kind"] == "groove"
    assert info["files"] == len(gmd_reference["files"])
    assert info["excluded_files"] == dict(other)
    for n_bars in (2, 4):
        per_split = Counter(split for _, split, _ in reference_windows(gmd_reference, n_bars))
        assert info[f"{n_bars}bar"]["per_split"] == dict(per_split)
        assert info[f"{n_bars}bar"]["windows"] == per_split.total()
        assert info[f"{n_bars}bar"]["skipped_files"] == 0
