"""Corpora of drum MIDI: the Groove MIDI Dataset (with info.csv) or any folder of MIDI files.

A corpus is cut into windows of N bars with a hop of one bar; windows without hits are
dropped. Every file is quantised once and cached under `data/cache/` (per file, so a big
corpus processes incrementally), and the windows of each setting are cached as one array
file keyed by the source and the settings, so a second load takes a fraction of a second.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import tempfile
import urllib.request
import warnings
import zipfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import astuple, dataclass, field, replace
from pathlib import Path

import numpy as np

from latentlab.errors import LatentLabError
from latentlab.limits import MAX_BARS
from latentlab.pattern import HITS, HVO_DIM, STEPS_PER_BAR, DrumPattern, bars_in

GMD_URL = "https://storage.googleapis.com/magentadata/datasets/groove/groove-v1.0.0-midionly.zip"
SPLITS = ("train", "validation", "test")
CACHE_VERSION = 2  # bump when quantisation changes: cached files and windows are rebuilt
GMD_COLUMNS = ("drummer", "id", "style", "bpm", "beat_type", "time_signature", "midi_filename")
META_COLUMNS = ("file_id", "drummer", "style", "substyle", "bpm", "beat_type", "split", "first_bar")


def data_root(path: str | os.PathLike | None = None) -> Path:
    """The corpus folder: `path` if given, else $LATENTLAB_DATA; checked to exist."""
    source = "--data" if path is not None else "LATENTLAB_DATA"
    path = path if path is not None else os.environ.get("LATENTLAB_DATA")
    if not path:
        raise LatentLabError(
            "no data folder: pass --data DIR or set LATENTLAB_DATA "
            "(get the Groove MIDI Dataset with `latentlab data download`)"
        )
    root = Path(path).expanduser()
    if not root.is_dir():
        raise LatentLabError(f"{source}={path}: folder does not exist")
    return root


def cache_dir() -> Path:
    """$LATENTLAB_CACHE, else data/cache in a source checkout, else ~/.cache/latentlab."""
    if os.environ.get("LATENTLAB_CACHE"):
        return Path(os.environ["LATENTLAB_CACHE"])
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").exists():
        return checkout / "data" / "cache"
    return Path.home() / ".cache" / "latentlab"


@dataclass(frozen=True)
class SourceFile:
    """One MIDI file of a corpus with its metadata; a duration (seconds) of 0 is unknown."""

    path: Path
    file_id: str
    drummer: str = ""
    style: str = ""
    substyle: str = ""
    bpm: float = 0.0
    beat_type: str = ""
    split: str = "train"
    duration: float = 0.0

    @property
    def bars(self) -> int | None:
        """Bars from the metadata's duration and bpm; None: from the MIDI file itself."""
        return bars_in(self.duration, self.bpm) if self.duration and self.bpm else None


@dataclass
class Windows:
    """N-bar windows of a corpus: HVO arrays (n, T, 27) and one metadata column per field."""

    hvo: np.ndarray
    meta: dict[str, np.ndarray]
    bars: int
    failures: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.hvo)

    def subset(self, index: np.ndarray) -> Windows:
        return replace(self, hvo=self.hvo[index], meta={k: v[index] for k, v in self.meta.items()})

    def split(self, name: str) -> Windows:
        if name not in SPLITS:
            raise LatentLabError(f"split: {name!r} is not one of {', '.join(SPLITS)}")
        return self.subset(self.meta["split"] == name)

    def pattern(self, i: int) -> DrumPattern:
        return DrumPattern.from_array(self.hvo[i], bpm=float(self.meta["bpm"][i]))

    def record(self, i: int) -> dict:
        """The metadata of window i as a plain dict."""
        return {k: v[i].item() for k, v in self.meta.items()}


def _stable_split(file_id: str) -> str:
    """Deterministic 80/10/10 split of a file by a hash of its id."""
    u = int(hashlib.sha1(file_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "train" if u < 0.8 else "validation" if u < 0.9 else "test"


class Corpus:
    """A list of MIDI files with metadata, from a GMD folder or any folder of drum MIDI."""

    def __init__(self, root: Path, files: list[SourceFile], kind: str, excluded: Counter):
        self.root, self.files, self.kind, self.excluded = root, files, kind, excluded

    def __repr__(self) -> str:
        return f"Corpus({self.kind}, {self.root}, {len(self.files)} files)"

    @classmethod
    def open(cls, path: str | os.PathLike | None = None) -> Corpus:
        """GMD when the folder has info.csv, else every .mid/.midi file below it."""
        root = data_root(path)
        if (root / "info.csv").exists():
            return cls.groove(root)
        return cls.midi_folder(root)

    @classmethod
    def groove(cls, path: str | os.PathLike | None = None) -> Corpus:
        """The Groove MIDI Dataset: files, metadata and splits from info.csv; 4/4 only."""
        root = data_root(path)
        info = root / "info.csv"
        if not info.exists():
            raise LatentLabError(f"{root}: no info.csv here; is this the Groove MIDI Dataset?")
        try:
            with info.open(newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                missing = [c for c in GMD_COLUMNS if c not in (reader.fieldnames or [])]
                if missing:
                    raise LatentLabError(f"{info}: missing column {missing[0]!r}")
                rows = list(reader)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise LatentLabError(f"{info}: not a readable CSV file ({exc})") from None
        files, excluded = [], Counter()
        for line, row in enumerate(rows, start=2):
            if None in row or None in row.values():
                raise LatentLabError(
                    f"{info}, line {line}: {len([v for v in row.values() if v is not None])} "
                    f"fields where the header has {len(reader.fieldnames)}"
                )
            empty = [c for c in ("id", "bpm", "time_signature", "midi_filename") if not row[c]]
            if empty:
                raise LatentLabError(f"{info}, line {line}: no value in column {empty[0]!r}")
            if row["time_signature"] != "4-4":
                excluded[f"time signature {row['time_signature']}"] += 1
                continue
            try:
                bpm = float(row["bpm"])
            except ValueError:
                bpm = float("nan")
            if not 0 < bpm < 1000:
                raise LatentLabError(f"{info}, line {line}: bpm {row['bpm']!r} is not a tempo")
            split = row.get("split") or _stable_split(row["id"])
            if split not in SPLITS:
                raise LatentLabError(f"{info}, line {line}: split {split!r} is unknown")
            # The GMD's durations define its bars (its MIDI files end inconsistently: some
            # with hi-hat pedal data after the last note that counts, some where it does not).
            try:
                duration = float(row.get("duration") or 0)
            except ValueError:
                duration = -1.0
            if not 0 <= duration < 1e6:
                raise LatentLabError(
                    f"{info}, line {line}: duration {row['duration']!r} is not a length in seconds"
                )
            style, _, substyle = row["style"].partition("/")
            files.append(
                SourceFile(
                    root / row["midi_filename"], row["id"], row["drummer"], style, substyle,
                    bpm, row["beat_type"], split, duration,
                )
            )  # fmt: skip
        return cls(root, files, "groove", excluded)

    @classmethod
    def midi_folder(cls, path: str | os.PathLike | None = None) -> Corpus:
        """Every .mid/.midi below the folder; style = first sub-folder; split by file hash."""
        root = data_root(path)
        paths = sorted(
            p for p in root.rglob("*") if p.suffix.lower() in (".mid", ".midi") and p.is_file()
        )
        if not paths:
            raise LatentLabError(f"{root}: no .mid or .midi files in this folder")
        files = []
        for p in paths:
            rel = p.relative_to(root)
            style = rel.parts[0] if len(rel.parts) > 1 else ""
            file_id = rel.as_posix()
            files.append(SourceFile(p, file_id, style=style, split=_stable_split(file_id)))
        return cls(root, files, "folder", Counter())

    # ---- processing ---------------------------------------------------------------------
    def _file_key(self, f: SourceFile) -> str:
        try:
            st = f.path.stat()
        except OSError:
            return f"missing:{f.path}"
        raw = f"{CACHE_VERSION}|{f.path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{f.bars}"
        return hashlib.sha1(raw.encode()).hexdigest()

    def windows(
        self,
        bars: int = 2,
        workers: int | None = None,
        progress: bool = True,
        cache: Path | None = None,
    ) -> Windows:
        """All N-bar windows (hop one bar, empty ones dropped), from the cache when possible."""
        if bars < 1:
            raise LatentLabError(f"bars: {bars} must be at least 1")
        if bars > MAX_BARS:
            raise LatentLabError(f"bars: {bars:,} is over the limit of {MAX_BARS:,} bars")
        cache = cache_dir() if cache is None else Path(cache)
        keys = [self._file_key(f) for f in self.files]
        # The metadata is in the key too: an edited info.csv (splits, styles) rebuilds the windows.
        metadata = [astuple(f)[1:] for f in self.files]
        setting = {"v": CACHE_VERSION, "root": str(self.root.resolve()), "bars": bars}
        setting |= {"files": keys, "metadata": metadata}
        digest = hashlib.sha1(json.dumps(setting).encode()).hexdigest()[:16]
        combined = cache / "windows" / f"{self.kind}-{bars}bar-{digest}.npz"
        if combined.exists():
            windows = _load_windows(combined, bars)
        else:
            songs, failures = self._quantise_all(keys, cache / "files", workers, progress)
            windows = _cut_windows(self.files, songs, bars)
            windows.failures = failures
            if len(windows):
                _save_windows(combined, windows)
        if windows.failures:
            shown = "; ".join(f"{name}: {why}" for name, why in windows.failures[:3])
            more = ", ..." if len(windows.failures) > 3 else ""
            warnings.warn(
                f"{self.root}: {len(windows.failures)} corpus files skipped ({shown}{more})",
                stacklevel=2,
            )
        if len(windows) == 0:
            raise LatentLabError(f"{self.root}: no {bars}-bar windows with hits in this corpus")
        return windows

    def _quantise_all(self, keys, file_cache: Path, workers, progress):
        """Full-length HVO of every file, from the per-file cache or quantised in parallel."""
        from tqdm.auto import tqdm

        file_cache.mkdir(parents=True, exist_ok=True)
        songs: list[tuple[np.ndarray, float] | None] = [None] * len(self.files)
        todo = []
        for i, key in enumerate(keys):
            cached = file_cache / f"{key}.npz"
            if cached.exists():
                with np.load(cached) as data:
                    songs[i] = data["hvo"], float(data["bpm"])
            else:
                todo.append(i)
        failures = []
        if todo:
            workers = workers or os.cpu_count() or 1
            jobs = [
                (str(self.files[i].path), str(file_cache / f"{keys[i]}.npz"), self.files[i].bars)
                for i in todo
            ]
            bar = tqdm(total=len(jobs), desc=f"quantising {self.root.name}", disable=not progress)
            if workers == 1:
                results = map(_quantise_file, jobs)
            else:
                pool = ProcessPoolExecutor(workers)
                results = pool.map(_quantise_file, jobs, chunksize=8)
            for i, (song, error) in zip(todo, results, strict=True):
                bar.update()
                if error is None:
                    songs[i] = song
                else:
                    failures.append((self.files[i].file_id, error))
            bar.close()
            if workers != 1:
                pool.shutdown()
        return songs, failures

    def info(self, bars: tuple[int, ...] = (2, 4), progress: bool = True) -> dict:
        """Counts of files and windows per split, style and beat/fill."""
        out = {"root": str(self.root), "kind": self.kind, "files": len(self.files)}
        out["excluded_files"] = dict(self.excluded)
        out["files_per_split"] = dict(Counter(f.split for f in self.files))
        for n in bars:
            w = self.windows(n, progress=progress)
            out[f"{n}bar"] = {
                "windows": len(w),
                "per_split": dict(Counter(w.meta["split"].tolist())),
                "per_style": dict(Counter(w.meta["style"].tolist()).most_common()),
                "per_beat_type": dict(Counter(w.meta["beat_type"].tolist())),
                "skipped_files": len(w.failures),
            }
        return out


def _quantise_file(job: tuple) -> tuple[tuple[np.ndarray, float] | None, str | None]:
    """Worker: quantise one whole file (path, cache file, bars or None) to (T, 27) HVO and
    its bpm, and cache them; or return the error."""
    path, cached, bars = job
    try:
        pattern = DrumPattern.from_midi(path, bars=bars)
    except LatentLabError as exc:
        return None, str(exc).removeprefix(f"{path}: ")
    except Exception as exc:  # one odd file must not stop a whole corpus
        return None, f"unexpected {type(exc).__name__}: {exc}"
    hvo = pattern.to_array()
    tmp = f"{cached}.{os.getpid()}.tmp.npz"
    np.savez(tmp, hvo=hvo, bpm=pattern.bpm)
    os.replace(tmp, cached)
    return (hvo, pattern.bpm), None


def _cut_windows(files: list[SourceFile], songs: list, bars: int) -> Windows:
    length = bars * STEPS_PER_BAR
    chunks, meta = [], {k: [] for k in META_COLUMNS}
    for f, song in zip(files, songs, strict=True):
        if song is None:
            continue
        hvo, bpm = song
        values = (f.file_id, f.drummer, f.style, f.substyle, f.bpm or bpm, f.beat_type, f.split)
        n_bars = len(hvo) // STEPS_PER_BAR
        for first in range(n_bars - bars + 1):
            window = hvo[first * STEPS_PER_BAR : first * STEPS_PER_BAR + length]
            if window[:, HITS].any():
                chunks.append(window)
                for k, v in zip(META_COLUMNS, (*values, first), strict=True):
                    meta[k].append(v)
    hvo = np.stack(chunks) if chunks else np.zeros((0, length, HVO_DIM), np.float32)
    columns = {k: np.asarray(v) for k, v in meta.items()}
    columns["bpm"] = columns["bpm"].astype(np.float32)
    columns["first_bar"] = columns["first_bar"].astype(np.int32)
    return Windows(hvo.astype(np.float32), columns, bars)


def _save_windows(path: Path, windows: Windows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    failures = json.dumps(windows.failures)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")  # processes may share a cache (DDP ranks)
    np.savez(tmp, hvo=windows.hvo, failures=np.asarray(failures), **windows.meta)
    os.replace(tmp, path)


def _load_windows(path: Path, bars: int) -> Windows:
    with np.load(path, allow_pickle=False) as data:
        meta = {k: data[k] for k in META_COLUMNS}
        failures = [tuple(x) for x in json.loads(str(data["failures"]))]
        return Windows(data["hvo"], meta, bars, failures)


def download_groove(dest: str | os.PathLike, url: str = GMD_URL, progress: bool = True) -> Path:
    """Fetch the official GMD MIDI-only zip and unpack it to dest (containing info.csv)."""
    from tqdm.auto import tqdm

    dest = Path(dest)
    if (dest / "info.csv").exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        archive = Path(tmp) / "groove.zip"
        try:
            with urllib.request.urlopen(url, timeout=60) as response, archive.open("wb") as out:
                total = int(response.headers.get("Content-Length") or 0)
                with tqdm(total=total, unit="B", unit_scale=True, disable=not progress) as bar:
                    while chunk := response.read(1 << 16):
                        out.write(chunk)
                        bar.update(len(chunk))
        except OSError as exc:
            raise LatentLabError(f"download of {url} failed: {exc}") from None
        try:
            with zipfile.ZipFile(archive) as z:
                z.extractall(tmp)
        except zipfile.BadZipFile:
            raise LatentLabError(f"{url}: the download is not a valid zip archive") from None
        found = [p.parent for p in Path(tmp).rglob("info.csv")]
        if not found:
            raise LatentLabError(f"{url}: the archive holds no info.csv")
        shutil.move(str(found[0]), dest)
    return dest
