"""`latentlab ...`: the command line. Bad input ends with one clear line, never a traceback."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from latentlab.errors import LatentLabError
from latentlab.limits import MAX_BPM, MIN_BPM, MODEL_RANGES
from latentlab.shipped import checkpoint_folder


def _data_info(args: argparse.Namespace) -> None:
    from latentlab.corpus import Corpus

    info = Corpus.open(args.data).info(bars=tuple(args.bars), progress=not args.quiet)
    if args.json:
        print(json.dumps(info, indent=2))
        return
    print(f"corpus: {info['root']} ({info['kind']}), {info['files']} files")
    if info["excluded_files"]:
        print("excluded:", ", ".join(f"{n} {why}" for why, n in info["excluded_files"].items()))
    print("files per split:", _counts(info["files_per_split"]))
    for n in args.bars:
        w = info[f"{n}bar"]
        print(f"\n{n}-bar windows: {w['windows']}")
        print("  per split:", _counts(w["per_split"]))
        print("  per beat type:", _counts(w["per_beat_type"]))
        print("  per style:", _counts(w["per_style"]))
        if w["skipped_files"]:
            print(f"  skipped files: {w['skipped_files']}")


def _counts(counts: dict) -> str:
    return ", ".join(f"{k or '(none)'} {v}" for k, v in counts.items())


def _data_download(args: argparse.Namespace) -> None:
    from latentlab.corpus import download_groove

    dest = download_groove(args.dest)
    print(f"Groove MIDI Dataset in {dest}; use it with LATENTLAB_DATA={dest}")


def _train(args: argparse.Namespace) -> None:
    from latentlab.model import ModelConfig
    from latentlab.train import TrainConfig, resume_config, train

    if args.resume:
        config = resume_config(args.out)
        config.epochs = args.epochs or config.epochs
        config.max_minutes = args.max_minutes or config.max_minutes
        config.threads = args.threads or config.threads
    else:

        def given(*names: str) -> dict:
            return {n: getattr(args, n) for n in names if getattr(args, n) is not None}

        model = ModelConfig(
            bars=args.bars,
            hierarchical=args.hierarchical if args.hierarchical is not None else args.bars > 2,
            **given("z_dim", "encoder_hidden", "decoder_hidden", "history_dropout"),
            **given("bar_encoder", "linear_conductor"),
        )
        config = TrainConfig(
            out=str(args.out),
            data=args.data,
            max_minutes=args.max_minutes,
            max_steps=args.max_steps,
            threads=args.threads,
            model=model,
            init=str(args.init) if args.init else None,
            **given(
                "epochs",
                "batch_size",
                "lr",
                "free_bits",
                "timing_weight",
                "rare_drum_weight",
                "augment",
                "max_beta",
                "seed",
            ),
        )
    best = train(config, resume=args.resume, progress=not args.quiet)
    print(f"best checkpoint: {best}")


def _train_transform(args: argparse.Namespace) -> None:
    from latentlab.transform import train_transform

    given = ("bars", "epochs", "batch_size", "lr", "hidden", "layers", "dropout", "seed")
    given += ("max_steps",)
    settings = {n: getattr(args, n) for n in given if getattr(args, n) is not None}
    path = train_transform(args.kind, args.out, args.data, progress=not args.quiet, **settings)
    print(f"{args.kind} model: {path}")


def _evaluate(args: argparse.Namespace) -> None:
    from latentlab.evaluate import evaluate_checkpoint

    result = evaluate_checkpoint(args.checkpoint, args.split, args.data, args.out, not args.quiet)
    print(json.dumps(result, indent=2))
    if args.card:
        from latentlab.evaluate import write_card

        notes = args.card_notes or ""
        print(f"model card: {write_card(args.checkpoint, result, notes)}")


def _render(args: argparse.Namespace) -> None:
    from latentlab.audio import render_wav
    from latentlab.pattern import DrumPattern

    pattern = DrumPattern.from_midi(args.input)
    out = args.out or args.input.with_suffix(".wav")
    out.write_bytes(render_wav(pattern, bpm=args.bpm, loops=args.loops))
    bpm = args.bpm or pattern.bpm
    print(f"{out}: {pattern.bars} bars x {args.loops} loops at {bpm:g} BPM")


def _lab(args: argparse.Namespace):
    from latentlab.lab import LatentLab

    return LatentLab.load(args.checkpoint)


def _atlas(args: argparse.Namespace) -> None:
    import time

    from latentlab.atlas import build_atlas
    from latentlab.checkpoint import load_checkpoint
    from latentlab.corpus import Corpus

    started = time.time()
    model, _ = load_checkpoint(args.checkpoint)
    windows = Corpus.open(args.data).windows(model.config.bars, progress=not args.quiet)
    atlas = build_atlas(model, windows, seed=args.seed, progress=not args.quiet)
    path = atlas.save(args.checkpoint)
    print(f"atlas of {len(atlas)} windows written to {path} in {time.time() - started:.1f} s")


def _encode(args: argparse.Namespace) -> None:
    lab = _lab(args)
    z = lab.read_groove(args.file).z[None]
    result = {"file": str(args.file), "z": [round(float(v), 5) for v in z[0]]}
    if lab.atlas is not None:
        result["map"] = [round(float(v), 4) for v in lab.place(z)[0]]
        result["nearest"] = lab.nearest(z, args.nearest)[0]
    print(json.dumps(result, indent=2))


def _sample(args: argparse.Namespace) -> None:
    lab = _lab(args)
    if args.style:
        patterns = lab.sample_style(args.style, args.n, args.temperature, args.seed)
    else:
        patterns = lab.sample(args.n, args.temperature, args.seed, args.prior)
    args.out.mkdir(parents=True, exist_ok=True)
    prefix, suffix = args.style or "sample", ".json" if args.json else ".mid"
    for i, p in enumerate(patterns, start=1):
        lab.save(p.with_bpm(args.bpm), args.out / f"{prefix}-{i:02d}{suffix}")
    print(f"wrote {len(patterns)} grooves to {args.out}/")


def _interpolate(args: argparse.Namespace) -> None:
    from latentlab.analysis import interpolate
    from latentlab.lab import chain

    lab = _lab(args)
    a, b = lab.read_groove(args.a), lab.read_groove(args.b)
    path = interpolate(lab, a.pattern, b.pattern, args.steps, a.z, b.z).patterns(args.method)
    chained = chain(path, args.bpm)
    lab.save(chained, args.out)
    print(f"wrote {args.steps} x {lab.bars} bars ({args.method}, {chained.bpm:g} bpm): {args.out}")


def _shift(args: argparse.Namespace) -> None:
    from latentlab.attributes import ATTRIBUTES

    amounts = {n: getattr(args, n) for n in ATTRIBUTES if getattr(args, n) is not None}
    if not amounts:
        flags = ", ".join("--" + n.replace("_", "-") for n in ATTRIBUTES)
        raise LatentLabError(f"shift: give at least one amount ({flags})")
    lab = _lab(args)
    pattern = lab.shifted(lab.read_groove(args.file).pattern, amounts)
    lab.save(pattern, args.out)
    print(f"wrote {args.out} ({', '.join(f'{k} {v:+g}' for k, v in amounts.items())})")


def _continue(args: argparse.Namespace) -> None:
    from latentlab.pattern import DrumPattern

    lab = _lab(args)
    seed = DrumPattern.from_midi(args.file, name=str(args.file))
    groove = lab.continue_groove(seed, args.bars, args.temperature, args.seed)
    lab.save(groove, args.out)
    added = args.bars - seed.bars
    print(f"wrote {args.out} ({seed.bars} bars of {args.file.name}, {added} more)")


def _transform_file(args: argparse.Namespace) -> None:
    from latentlab.pattern import DrumPattern

    lab = _lab(args)
    pattern = DrumPattern.from_midi(args.file, name=str(args.file))
    if args.command == "humanize":
        groove = lab.humanize(pattern, None if args.level is None else args.level / 127)
    else:
        groove = lab.drumify(pattern)
    lab.save(groove, args.out)
    print(f"wrote {args.out} ({args.command} of {args.file.name}: {groove.n_hits} hits)")


def _dashboard(args: argparse.Namespace) -> None:
    from latentlab.dashboard import serve

    serve(
        host=args.host,
        port=args.port,
        checkpoint=args.checkpoint,
        notebooks=args.notebooks,
        pool_size=args.pool_size,
        max_sessions=args.max_sessions,
        cull_idle=args.cull_idle,
        token=args.token,
        open_browser=args.browser,
    )


# ---- argument types: each kind of value is checked once, here, with its range ------------
SEED = (0, 2**32 - 1)
TEMPERATURE = (0.0, 2.0)  # 0 is greedy; hotter than 2 is noise
SHIFT = (-4.0, 4.0)  # attribute-vector lengths; the dashboards' sliders go to +-2
PORT = (1, 65535)
NAMED = "checkpoint folder, or a shipped model's name: gmd-2bar (the default), gmd-4bar"
OUT_HELP = "file to write: .mid for MIDI, .json for NoteSequence JSON (what Magenta.js reads)"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors end as one `latentlab: error:` line (see `main`)."""

    def error(self, message: str) -> NoReturn:
        raise LatentLabError(f"{message} (see `{self.prog} --help`)")


def _ranged(convert: Callable[[str], Any], what: str, low, high) -> Callable[[str], Any]:
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        span = f"{low:g}..{high:g}" if convert is float else f"{low}..{high}"
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not {what} in {span}")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside {span}")
        return value

    return parse


def whole(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number in low..high."""
    return _ranged(int, "a whole number", low, high)


def number(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a finite number in low..high (nan and inf are refused)."""
    return _ranged(float, "a number", low, high)


def _writable(folder: Path, text: str) -> None:
    """Refuse when `folder`, or the nearest of its parents that exists, cannot take files."""
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        where = text if existing == folder else f"{text}: {existing}"
        raise argparse.ArgumentTypeError(f"{where} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{text}: folder {existing} is not writable")


def output_file(text: str) -> Path:
    """An argparse type: a file to write, in a folder that exists."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: folder {path.parent} does not exist")
    _writable(path.parent, text)
    return path


def output_folder(text: str) -> Path:
    """An argparse type: a folder to write files into (made when missing)."""
    path = Path(text)
    _writable(path, text)
    return path


def text_file(text: str) -> str:
    """An argparse type: the contents of a UTF-8 text file."""
    if Path(text).exists() and not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"{text}: not a regular file")
    try:
        return Path(text).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise argparse.ArgumentTypeError(f"{text}: {why}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="latentlab", description="Explore the latent space of a drum-pattern VAE."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="get and inspect corpora").add_subparsers(
        dest="data_command", required=True
    )
    download = data.add_parser("download", help="download the Groove MIDI Dataset (MIDI only)")
    download.add_argument("--dest", default="data/groove", help="folder to unpack into")
    download.set_defaults(func=_data_download)
    info = data.add_parser("info", help="files and windows per split, style, beat/fill")
    info.add_argument("--data", help="corpus folder (default: $LATENTLAB_DATA)")
    info.add_argument(
        "--bars",
        type=whole(*MODEL_RANGES["bars"]),
        nargs="+",
        default=[2, 4],
        help="window lengths in bars, 1..32 (default: 2 4)",
    )
    info.add_argument("--json", action="store_true", help="print JSON")
    info.add_argument("--quiet", action="store_true", help="no progress bar")
    info.set_defaults(func=_data_info)

    tr = sub.add_parser("train", help="train a DrumVAE (under torchrun for several processes)")
    tr.add_argument("--data", help="corpus folder (default: $LATENTLAB_DATA)")
    tr.add_argument(
        "--out",
        type=output_folder,
        default="runs/gmd-2bar",
        help="run folder (default: %(default)s)",
    )
    tr.add_argument("--resume", action="store_true", help="continue the run in --out")
    tr.add_argument(
        "--init",
        type=checkpoint_folder,
        help="start from this checkpoint's weights and sizes (fine-tune it, e.g. on --data): "
        "a folder or a shipped model's name (gmd-2bar, gmd-4bar)",
    )
    tr.add_argument("--bars", type=int, default=2, choices=(2, 4))
    tr.add_argument("--hierarchical", action=argparse.BooleanOptionalAction, default=None)
    tr.add_argument("--epochs", type=whole(1, 100_000), help="epochs, at most (default 100)")
    tr.add_argument(
        "--max-minutes",
        type=number(0.01, 100_000),
        help="stop after this many minutes (default: no limit)",
    )
    tr.add_argument(
        "--max-steps", type=whole(1, 10**9), help="stop after this many batches (default: no limit)"
    )
    # Unset settings take TrainConfig's and ModelConfig's defaults: the shipped 2-bar recipe.
    tr.add_argument("--batch-size", type=whole(1, 65_536), help="windows per batch (default 256)")
    tr.add_argument("--lr", type=number(1e-7, 1), help="initial learning rate (default 0.003)")
    tr.add_argument(
        "--free-bits",
        type=number(0, 100_000),
        help="KL allowed before beta applies, in nats (default 256)",
    )
    tr.add_argument(
        "--timing-weight",
        type=number(0, 100),
        help="weight of velocity and offset errors (default 2)",
    )
    tr.add_argument(
        "--rare-drum-weight",
        type=number(0, 100),
        help="weight of open hi-hat, tom, crash hits (default 2)",
    )
    tr.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="vary velocities, timing and voices of each batch (default on)",
    )
    tr.add_argument("--max-beta", type=number(0, 100), help="weight of the KL term (default 0.2)")
    tr.add_argument(
        "--z-dim", type=whole(*MODEL_RANGES["z_dim"]), help="latent dimensions (default 256)"
    )
    tr.add_argument(
        "--encoder-hidden",
        type=whole(*MODEL_RANGES["encoder_hidden"]),
        help="encoder GRU units (default 256)",
    )
    tr.add_argument(
        "--decoder-hidden",
        type=whole(*MODEL_RANGES["decoder_hidden"]),
        help="decoder GRU units (default 256)",
    )
    tr.add_argument(
        "--history-dropout",
        type=number(*MODEL_RANGES["history_dropout"]),
        help="chance a previous step is hidden, 0..1 (default 0.4)",
    )
    tr.add_argument(
        "--bar-encoder",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="encode each bar on its own, z from all bars' summaries (default off)",
    )
    tr.add_argument(
        "--linear-conductor",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bar embeddings from z by one linear map, not a conductor GRU (default off)",
    )
    tr.add_argument("--seed", type=whole(*SEED), help="random seed (default 0)")
    tr.add_argument("--threads", type=whole(1, 1024), help="CPU threads for torch (default: all)")
    tr.add_argument("--quiet", action="store_true")
    tr.set_defaults(func=_train)

    tt = sub.add_parser(
        "train-transform", help="train the humanize or drumify model into a checkpoint folder"
    )
    tt.add_argument("--kind", choices=("humanize", "drumify"), required=True)
    tt.add_argument("--out", type=output_folder, required=True, help="checkpoint folder")
    tt.add_argument("--data", help="corpus folder (default: $LATENTLAB_DATA)")
    tt.add_argument("--bars", type=whole(1, 8), help="training window in bars (default 2)")
    shipped = "(default: the shipped recipe, humanize {}, drumify {})"
    tt.add_argument("--epochs", type=whole(1, 10_000), help="epochs " + shipped.format(10, 15))
    tt.add_argument("--batch-size", type=whole(1, 65_536), help="windows per batch (default 64)")
    tt.add_argument("--lr", type=number(1e-7, 1), help="initial learning rate (default 0.002)")
    tt.add_argument(
        "--hidden", type=whole(1, 1024), help="GRU units per direction " + shipped.format(128, 64)
    )
    tt.add_argument("--layers", type=whole(1, 4), help="GRU layers (default 2)")
    tt.add_argument(
        "--dropout", type=number(0, 0.9), help="dropout in training " + shipped.format(0.5, 0.3)
    )
    tt.add_argument("--seed", type=whole(*SEED), help="random seed (default 0)")
    tt.add_argument("--max-steps", type=whole(1, 10**9), help="stop after this many batches")
    tt.add_argument("--quiet", action="store_true")
    tt.set_defaults(func=_train_transform)

    ev = sub.add_parser("evaluate", help="metrics of a checkpoint on a split, as JSON")
    ev.add_argument("checkpoint", type=checkpoint_folder, help=NAMED)
    ev.add_argument("--split", default="test", choices=("train", "validation", "test"))
    ev.add_argument("--data", help="corpus folder (default: $LATENTLAB_DATA)")
    ev.add_argument("--out", type=output_file, help="also write the JSON to this file")
    ev.add_argument("--card", action="store_true", help="write the model card (README.md)")
    ev.add_argument("--card-notes", type=text_file, help="markdown file appended to the card")
    ev.add_argument("--quiet", action="store_true")
    ev.set_defaults(func=_evaluate)

    at = sub.add_parser("atlas", help="encode the corpus, fit the map, store the atlas")
    at.add_argument("checkpoint", type=checkpoint_folder, help=NAMED)
    at.add_argument("--data", help="corpus folder (default: $LATENTLAB_DATA)")
    at.add_argument("--seed", type=whole(*SEED), default=0, help="map's random seed (default 0)")
    at.add_argument("--quiet", action="store_true")
    at.set_defaults(func=_atlas)

    def lab_command(name: str, help: str, func) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help)
        p.add_argument("--checkpoint", type=checkpoint_folder, help=NAMED)
        p.set_defaults(func=func)
        return p

    en = lab_command(
        "encode", "latent code, map position and nearest grooves of a MIDI file", _encode
    )
    en.add_argument("file", type=Path)
    en.add_argument(
        "--nearest",
        type=whole(1, 100),
        default=5,
        help="corpus neighbours to list, 1..100 (default 5)",
    )

    sa = lab_command("sample", "new grooves from the prior (or a style) as MIDI files", _sample)
    sa.add_argument(
        "--n", type=whole(1, 1000), default=8, help="grooves to write, 1..1000 (default 8)"
    )
    sa.add_argument(
        "--temperature",
        type=number(*TEMPERATURE),
        default=1.0,
        help="randomness of the hits, 0 (greedy)..2 (default 1)",
    )
    sa.add_argument("--style", help="sample in a style of the corpus (e.g. funk)")
    sa.add_argument(
        "--prior",
        choices=("mixture", "normal"),
        default="mixture",
        help="where latent points come from: the mixture fitted to the training grooves "
        "(default) or the VAE's N(0, I) prior (for comparison; --style always uses the mixture)",
    )
    sa.add_argument("--seed", type=whole(*SEED), help="random seed (default: a new one)")
    sa.add_argument(
        "--bpm", type=number(MIN_BPM, MAX_BPM), default=120.0, help="tempo, 20..400 (default 120)"
    )
    sa.add_argument(
        "--out", type=output_folder, default=Path("samples"), help="folder (default: samples)"
    )
    sa.add_argument(
        "--json",
        action="store_true",
        help="write NoteSequence JSON files (what Magenta.js reads) instead of MIDI",
    )

    it = lab_command("interpolate", "slerp between two grooves, into one file", _interpolate)
    it.add_argument("a", type=Path)
    it.add_argument("b", type=Path)
    it.add_argument(
        "--steps",
        type=whole(2, 64),
        default=8,
        help="grooves on the path, ends included, 2..64 (default 8)",
    )
    it.add_argument("--method", choices=("slerp", "lerp"), default="slerp")
    it.add_argument(
        "--bpm",
        type=number(MIN_BPM, MAX_BPM),
        help="tempo, 20..400 (default: the mean of the two grooves' tempi)",
    )
    it.add_argument("--out", type=output_file, required=True, help=OUT_HELP)

    from latentlab.continuation import MAX_BARS

    co = lab_command("continue", "play a groove of 1-4 bars on, as the same drummer", _continue)
    co.add_argument("file", type=Path, help="the seed: a drum MIDI file of 1 to 4 bars")
    co.add_argument(
        "--bars",
        type=whole(2, MAX_BARS),
        required=True,
        help=f"length of the result in bars, seed included, up to {MAX_BARS}",
    )
    co.add_argument(
        "--temperature",
        type=number(*TEMPERATURE),
        default=0.0,
        help="randomness of the new bars' hits, 0 (the most likely)..2 (default 0)",
    )
    co.add_argument("--seed", type=whole(*SEED), help="random seed (default: a new one)")
    co.add_argument("--out", type=output_file, required=True, help=OUT_HELP)

    for name, help in (
        ("humanize", "a drummer's velocities and timing for a quantised, flat groove"),
        ("drumify", "a full kit groove that follows a tapped rhythm (its onsets)"),
    ):
        tf = lab_command(name, help, _transform_file)
        tf.add_argument("file", type=Path, help="a drum MIDI file of any length")
        tf.add_argument("--out", type=output_file, required=True, help=OUT_HELP)
        if name == "humanize":
            tf.add_argument(
                "--level",
                type=whole(1, 127),
                help="how loud the groove is played, as a MIDI velocity 1..127 (default: "
                "the mean velocity of the file's hits)",
            )

    from latentlab.attributes import ATTRIBUTES

    sh = lab_command("shift", "push a groove along attribute vectors", _shift)
    sh.add_argument("file", type=Path)
    sh.add_argument("--out", type=output_file, required=True, help=OUT_HELP)
    for name, attribute in ATTRIBUTES.items():
        sh.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=number(*SHIFT),
            metavar="AMOUNT",
            help=f"push along the {attribute.short} vector ({attribute.unit}), -4..4 vector "
            "lengths (default: not at all)",
        )

    from latentlab.dashboard import CULL_IDLE

    db = sub.add_parser("dashboard", help="serve the dashboards (Voila); the explorer first")
    db.add_argument("--host", default="127.0.0.1", help="address to listen on")
    db.add_argument(
        "--port", type=whole(*PORT), default=8866, help="port to listen on, 1..65535 (default 8866)"
    )
    db.add_argument("--checkpoint", type=checkpoint_folder, help=NAMED)
    db.add_argument("--notebooks", type=Path, help="dashboards folder (default: notebooks/)")
    db.add_argument(
        "--pool-size", type=int, default=1, help="preheated explorer kernels (0: none; default 1)"
    )
    db.add_argument(
        "--max-sessions",
        type=int,
        help="pages served at once, at most; more are told the server is full "
        "(default: what three quarters of this machine's memory holds)",
    )
    db.add_argument(
        "--cull-idle",
        type=int,
        default=CULL_IDLE,
        metavar="SECONDS",
        help="shut down kernels no page is connected to after this long idle (0: never; "
        f"default {CULL_IDLE})",
    )
    db.add_argument(
        "--token", help="token visitors must give (default: none on 127.0.0.1, else a new one)"
    )
    db.add_argument(
        "--no-browser", dest="browser", action="store_false", help="don't open a web browser"
    )
    db.set_defaults(func=_dashboard)

    rd = sub.add_parser("render", help="render a drum MIDI file to WAV with the built-in kit")
    rd.add_argument("input", type=Path, help="drum MIDI file")
    rd.add_argument("--out", type=output_file, help="WAV file (default: the input name with .wav)")
    rd.add_argument(
        "--loops",
        type=whole(1, 256),
        default=1,
        help="times to play the pattern, 1..256 (default 1)",
    )
    rd.add_argument(
        "--bpm", type=number(MIN_BPM, MAX_BPM), help="tempo, 20..400 (default: the file's)"
    )
    rd.set_defaults(func=_render)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        args.func(args)
    except LatentLabError as exc:
        print(f"latentlab: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that cannot be written (disk full, permissions...)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"latentlab: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
