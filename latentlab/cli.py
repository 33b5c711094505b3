"""`latentlab ...`: the command line. Bad input ends with one clear line, never a traceback."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from latentlab.errors import LatentLabError


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
        )
        config = TrainConfig(
            out=args.out,
            data=args.data,
            max_minutes=args.max_minutes,
            max_steps=args.max_steps,
            threads=args.threads,
            model=model,
            **given("epochs", "batch_size", "lr", "free_bits", "timing_weight", "max_beta", "seed"),
        )
    best = train(config, resume=args.resume, progress=not args.quiet)
    print(f"best checkpoint: {best}")


def _evaluate(args: argparse.Namespace) -> None:
    from latentlab.evaluate import evaluate_checkpoint

    result = evaluate_checkpoint(args.checkpoint, args.split, args.data, args.out, not args.quiet)
    print(json.dumps(result, indent=2))
    if args.card:
        from latentlab.evaluate import write_card

        notes = args.card_notes.read_text() if args.card_notes else ""
        print(f"model card: {write_card(args.checkpoint, result, notes)}")


def _render(args: argparse.Namespace) -> None:
    from latentlab.audio import render_wav
    from latentlab.pattern import DrumPattern

    pattern = DrumPattern.from_midi(args.input)
    out = args.out or args.input.with_suffix(".wav")
    if not out.parent.is_dir():
        raise LatentLabError(f"--out {out}: folder {out.parent} does not exist")
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
    z = lab.encode(args.file)
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
        patterns = lab.sample(args.n, args.temperature, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    prefix = args.style or "sample"
    for i, p in enumerate(patterns, start=1):
        p.bpm = args.bpm
        p.to_midi(args.out / f"{prefix}-{i:02d}.mid")
    print(f"wrote {len(patterns)} grooves to {args.out}/")


def _interpolate(args: argparse.Namespace) -> None:
    lab = _lab(args)
    if args.steps < 2:
        raise LatentLabError(f"--steps {args.steps}: needs at least 2 (the two ends)")
    a, b = lab.encode([args.a, args.b])
    path = lab.slerp(a, b, args.steps) if args.method == "slerp" else lab.lerp(a, b, args.steps)
    patterns = lab.decode(path, bpm=args.bpm)
    lab.to_midi(patterns, args.out)
    print(f"wrote {args.steps} x {lab.bars} bars ({args.method}) to {args.out}")


def _shift(args: argparse.Namespace) -> None:
    from latentlab.attributes import ATTRIBUTES
    from latentlab.pattern import DrumPattern

    amounts = {n: getattr(args, n) for n in ATTRIBUTES if getattr(args, n) is not None}
    if not amounts:
        flags = ", ".join("--" + n.replace("_", "-") for n in ATTRIBUTES)
        raise LatentLabError(f"shift: give at least one amount ({flags})")
    lab = _lab(args)
    groove = DrumPattern.from_midi(args.file)
    z = lab.shift(lab.encode(groove), amounts)
    (pattern,) = lab.decode(z, bpm=groove.bpm)
    pattern.to_midi(args.out)
    print(f"wrote {args.out} ({', '.join(f'{k} {v:+g}' for k, v in amounts.items())})")


def _dashboard(args: argparse.Namespace) -> None:
    from latentlab.dashboard import serve

    serve(
        host=args.host,
        port=args.port,
        checkpoint=args.checkpoint,
        notebooks=args.notebooks,
        pool_size=args.pool_size,
        open_browser=args.browser,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    info.add_argument("--bars", type=int, nargs="+", default=[2, 4])
    info.add_argument("--json", action="store_true", help="print JSON")
    info.add_argument("--quiet", action="store_true", help="no progress bar")
    info.set_defaults(func=_data_info)

    tr = sub.add_parser("train", help="train a DrumVAE (under torchrun for several processes)")
    tr.add_argument("--data", help="corpus folder (default: $LATENTLAB_DATA)")
    tr.add_argument("--out", default="runs/gmd-2bar", help="run folder")
    tr.add_argument("--resume", action="store_true", help="continue the run in --out")
    tr.add_argument("--bars", type=int, default=2, choices=(2, 4))
    tr.add_argument("--hierarchical", action=argparse.BooleanOptionalAction, default=None)
    tr.add_argument("--epochs", type=int)
    tr.add_argument("--max-minutes", type=float)
    tr.add_argument("--max-steps", type=int)
    # Unset settings take TrainConfig's and ModelConfig's defaults: the shipped 2-bar recipe.
    tr.add_argument("--batch-size", type=int)
    tr.add_argument("--lr", type=float, help="initial learning rate")
    tr.add_argument("--free-bits", type=float, help="KL allowed before beta applies, in nats")
    tr.add_argument(
        "--timing-weight", type=float, help="weight of velocity and offset errors (default 1)"
    )
    tr.add_argument("--max-beta", type=float)
    tr.add_argument("--z-dim", type=int)
    tr.add_argument("--encoder-hidden", type=int)
    tr.add_argument("--decoder-hidden", type=int)
    tr.add_argument("--history-dropout", type=float, help="chance a previous step is hidden")
    tr.add_argument("--seed", type=int)
    tr.add_argument("--threads", type=int, help="CPU threads for torch")
    tr.add_argument("--quiet", action="store_true")
    tr.set_defaults(func=_train)

    ev = sub.add_parser("evaluate", help="metrics of a checkpoint on a split, as JSON")
    ev.add_argument("checkpoint", type=Path)
    ev.add_argument("--split", default="test", choices=("train", "validation", "test"))
    ev.add_argument("--data", help="corpus folder (default: $LATENTLAB_DATA)")
    ev.add_argument("--out", type=Path, help="also write the JSON here")
    ev.add_argument("--card", action="store_true", help="write the model card (README.md)")
    ev.add_argument("--card-notes", type=Path, help="markdown appended to the card")
    ev.add_argument("--quiet", action="store_true")
    ev.set_defaults(func=_evaluate)

    at = sub.add_parser("atlas", help="encode the corpus, fit the map, store the atlas")
    at.add_argument("checkpoint", type=Path)
    at.add_argument("--data", help="corpus folder (default: $LATENTLAB_DATA)")
    at.add_argument("--seed", type=int, default=0)
    at.add_argument("--quiet", action="store_true")
    at.set_defaults(func=_atlas)

    def lab_command(name: str, help: str, func) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help)
        p.add_argument("--checkpoint", type=Path, help="checkpoint folder (default: shipped)")
        p.set_defaults(func=func)
        return p

    en = lab_command(
        "encode", "latent code, map position and nearest grooves of a MIDI file", _encode
    )
    en.add_argument("file", type=Path)
    en.add_argument("--nearest", type=int, default=5)

    sa = lab_command("sample", "new grooves from the prior (or a style) as MIDI files", _sample)
    sa.add_argument("--n", type=int, default=8)
    sa.add_argument("--temperature", type=float, default=1.0)
    sa.add_argument("--style", help="sample in a style of the corpus (e.g. funk)")
    sa.add_argument("--seed", type=int)
    sa.add_argument("--bpm", type=float, default=120.0)
    sa.add_argument("--out", type=Path, default=Path("samples"))

    it = lab_command("interpolate", "slerp between two grooves, one MIDI file", _interpolate)
    it.add_argument("a", type=Path)
    it.add_argument("b", type=Path)
    it.add_argument("--steps", type=int, default=8)
    it.add_argument("--method", choices=("slerp", "lerp"), default="slerp")
    it.add_argument("--bpm", type=float, default=120.0)
    it.add_argument("--out", type=Path, required=True)

    from latentlab.attributes import ATTRIBUTES

    sh = lab_command("shift", "push a groove along attribute vectors", _shift)
    sh.add_argument("file", type=Path)
    sh.add_argument("--out", type=Path, required=True)
    for name in ATTRIBUTES:
        sh.add_argument("--" + name.replace("_", "-"), dest=name, type=float, metavar="AMOUNT")

    db = sub.add_parser("dashboard", help="serve the dashboards (Voila); the explorer first")
    db.add_argument("--host", default="127.0.0.1", help="address to listen on")
    db.add_argument("--port", type=int, default=8866)
    db.add_argument("--checkpoint", type=Path, help="model folder (default: the shipped one)")
    db.add_argument("--notebooks", type=Path, help="dashboards folder (default: notebooks/)")
    db.add_argument("--pool-size", type=int, default=1, help="preheated explorer kernels (0: none)")
    db.add_argument(
        "--no-browser", dest="browser", action="store_false", help="don't open a web browser"
    )
    db.set_defaults(func=_dashboard)

    rd = sub.add_parser("render", help="render a drum MIDI file to WAV with the built-in kit")
    rd.add_argument("input", type=Path, help="drum MIDI file")
    rd.add_argument("--out", type=Path, help="WAV file (default: the input name with .wav)")
    rd.add_argument("--loops", type=int, default=1, help="times to play the pattern")
    rd.add_argument("--bpm", type=float, help="tempo (default: the file's)")
    rd.set_defaults(func=_render)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except LatentLabError as exc:
        print(f"latentlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
