"""`latentlab data ...`: window counts on the GMD and a MIDI folder; bad data in one clear line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from contextlib import nullcontext
from pathlib import Path

import pytest
from conftest import groove_notes, reference_windows, scaled, write_drum_midi

from latentlab.cli import main


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The real entry point in a fresh interpreter, with these environment variables."""
    return subprocess.run(
        [sys.executable, "-m", "latentlab.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=scaled(120),
    )


def split_counts(line: str) -> dict[str, int]:
    """'  per split: train 12, test 3' -> {'train': 12, 'test': 3}."""
    pairs = line.split(":", 1)[1].split(",")
    return {name: int(n) for name, n in (p.split() for p in pairs)}


@pytest.mark.dataset
def test_data_info_prints_gmd_windows_per_split(
    gmd_env: Path, gmd_windows: dict, gmd_reference: dict, capsys: pytest.CaptureFixture
) -> None:
    assert main(["data", "info", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()

    assert lines[0].startswith(f"corpus: {gmd_env} (groove), {len(gmd_reference['files'])} files")
    for n_bars in (2, 4):
        expected = Counter(split for _, split, _ in reference_windows(gmd_reference, n_bars))
        at = lines.index(f"{n_bars}-bar windows: {expected.total()}")
        assert split_counts(lines[at + 1]) == expected


@pytest.mark.dataset
def test_data_info_json_on_gmd(gmd_env: Path, gmd_windows: dict, capsys: pytest.CaptureFixture):
    assert main(["data", "info", "--json", "--quiet", "--bars", "2"]) == 0
    info = json.loads(capsys.readouterr().out)
    windows = gmd_windows[2]
    assert info["2bar"]["windows"] == len(windows)
    assert info["2bar"]["per_split"] == dict(Counter(windows.meta["split"].tolist()))
    assert "4bar" not in info


def test_data_info_on_a_midi_folder(tmp_path: Path, latentlab_cache: Path, capsys) -> None:
    for i, style in enumerate(["funk", "funk", "latin"]):
        write_drum_midi(tmp_path / "grooves" / style / f"{i}.mid", groove_notes(4))
    assert main(["data", "info", "--data", str(tmp_path / "grooves"), "--quiet", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "folder" and info["files"] == 3
    assert info["2bar"]["windows"] == 3 * 3 and info["4bar"]["windows"] == 3
    assert info["2bar"]["per_style"] == {"funk": 6, "latin": 3}


def test_wrong_latentlab_data_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    result = run_cli("data", "info", env={"LATENTLAB_DATA": str(missing)})
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"latentlab: error: LATENTLAB_DATA={missing}: folder does not exist"
    ]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("unset", "no data folder: pass --data DIR or set LATENTLAB_DATA"),
        ("empty", "no .mid or .midi files in this folder"),
        ("bad-csv", "info.csv: missing column 'bpm'"),
        ("bad-midi", "no 2-bar windows with hits in this corpus"),
    ],
)
def test_bad_data_ends_in_one_error_line(
    tmp_path: Path,
    latentlab_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
    setup: str,
    message: str,
) -> None:
    monkeypatch.delenv("LATENTLAB_DATA", raising=False)
    args = ["data", "info", "--quiet"]
    if setup != "unset":
        args += ["--data", str(tmp_path / "data")]
        (tmp_path / "data").mkdir()
    if setup == "bad-csv":
        (tmp_path / "data" / "info.csv").write_text("drummer,id,style\n")
    if setup == "bad-midi":
        (tmp_path / "data" / "broken.mid").write_bytes(b"MThd\x00\x00")
    with pytest.warns(UserWarning) if setup == "bad-midi" else nullcontext():
        assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("latentlab: error: ") and message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
