"""Benchmark: DrumVAE decode/encode latency and training throughput on this machine.

    python benchmarks/bench_model.py [CHECKPOINT] [--out benchmarks/results/model.json]

Decoding is timed from z to DrumPattern objects (the whole path a dashboard pays), batch 1
and batch 64, as medians over many runs. Training throughput is examples per second of
full optimisation steps (forward, loss, backward, Adam) at the training batch size, on
windows of the checkpoint's length. Magenta's TensorFlow GrooVAE figures, timed on this
machine with the same kind of network, are stored beside ours for comparison.

A busy box: one groove decoded while one CPU-burning process per core runs beside it (what
a dashboard session meets when others are busy), with one torch thread and with two
(median and p90); the burners stop when the measurement does.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import torch
from common import machine, median_ms, summary, times_ms, write_result

from latentlab.checkpoint import load_checkpoint
from latentlab.lab import DEFAULT_CHECKPOINT, LatentLab
from latentlab.model import DrumVAE
from latentlab.train import vae_loss

MAGENTA_GROOVAE_2BAR = {
    "decode_1_model_ms": 13,
    "decode_1_to_note_sequence_ms": 36,
    "decode_64_model_ms": 127,
    "decode_64_to_note_sequence_ms": 984,
    "encode_1_ms": 13,
    "train_examples_per_s_batch_512": 87,
}


def training_throughput(model: DrumVAE, batch: int, steps: int) -> float:
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(batch, model.config.steps, 27, generator=g) < 0.12).float()
    x[..., 9:18] *= x[..., :9]
    x[..., 18:] = 0

    def step():
        out, mu, sigma = model(x)
        loss, _ = vae_loss(out, x, mu, sigma, beta=0.2, free_bits=48.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return round(steps * batch / (time.perf_counter() - start), 1)


def busy_decode(lab: LatentLab, z, repeats: int) -> dict:
    """Decode one groove with 1 and 2 torch threads beside one CPU burner per core."""
    burn = "import time\nend = time.time() + 600\nwhile time.time() < end: pass"
    burners = [subprocess.Popen([sys.executable, "-c", burn]) for _ in range(os.cpu_count())]
    try:
        time.sleep(1)
        out = {}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            out[f"threads_{threads}_ms"] = summary(times_ms(lambda: lab.decode(z), repeats))
    finally:
        for p in burners:
            p.kill()
            p.wait()
    torch.set_num_threads(1)
    return {"burners": len(burners), **out}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", nargs="?", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results/model.json")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--train-steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--note", default="")
    args = parser.parse_args()

    before = machine()
    lab = LatentLab.load(args.checkpoint, device="cpu")
    z1, z64 = lab.sample_latents(1, seed=0), lab.sample_latents(64, seed=1)
    x1 = torch.as_tensor(lab.decode_hvo(z1))
    with torch.inference_mode():
        results = {
            "decode_1_ms": median_ms(lambda: lab.decode(z1), args.repeats),
            "decode_64_ms": median_ms(lambda: lab.decode(z64), max(args.repeats // 10, 5)),
            "decode_1_model_only_ms": median_ms(
                lambda: lab.model.generate(torch.as_tensor(z1)), args.repeats
            ),
            "decode_1_to_note_sequence_ms": median_ms(
                lambda: lab.decode(z1)[0].to_note_sequence(), args.repeats
            ),
            "encode_1_ms": median_ms(lambda: lab.model.encode(x1), args.repeats),
        }
        results["decode_1_busy_box"] = busy_decode(lab, z1, args.repeats)
    fresh, _ = load_checkpoint(args.checkpoint, "cpu")
    results["train_examples_per_s"] = training_throughput(fresh, args.batch, args.train_steps)
    results["train_batch"] = args.batch
    magenta = MAGENTA_GROOVAE_2BAR
    result = {
        "benchmark": "DrumVAE decode/encode latency (CPU, medians) and training throughput",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python " + shlex.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "checkpoint": str(args.checkpoint),
        "model": lab.model.config.to_dict(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        **results,
        "targets_ms": {"decode_1": 5.0, "decode_64": 40.0, "decode_1_busy_box_p90": 20.0},
        "targets_met": results["decode_1_ms"] <= 5.0
        and results["decode_64_ms"] <= 40.0
        and results["decode_1_busy_box"]["threads_1_ms"]["p90"] <= 20.0,
        "magenta_groovae_2bar_same_machine": magenta,
        "speedup_vs_magenta": {
            "decode_1_to_note_sequence": round(
                magenta["decode_1_to_note_sequence_ms"] / results["decode_1_to_note_sequence_ms"], 1
            ),
            "decode_64": round(
                magenta["decode_64_to_note_sequence_ms"] / results["decode_64_ms"], 1
            ),
            "training": round(
                results["train_examples_per_s"] / magenta["train_examples_per_s_batch_512"], 1
            ),
        },
        "machine": before,
        "load_average_after": [round(x, 2) for x in machine()["load_average_1_5_15min"]],
        "note": args.note,
    }
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
