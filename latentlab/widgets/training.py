"""The training notebook's pieces: stand-in grooves, a live view of a training run, and the
page that runs one when its button is pressed (never on page load: training takes a minute
of CPU and a run folder, and the page may be served to a whole room)."""

from __future__ import annotations

import html
import os
import tempfile
from collections import Counter
from pathlib import Path

import ipywidgets as widgets
import numpy as np

from latentlab.corpus import Corpus, Windows
from latentlab.errors import LatentLabError
from latentlab.lab import LatentLab
from latentlab.pattern import DrumPattern
from latentlab.widgets.common import StatusLine
from latentlab.widgets.drum_machine import DrumMachine
from latentlab.widgets.plots import legend, line_figure, update_lines
from latentlab.widgets.teaching import Gallery


def example_grooves(folder: str | os.PathLike, n: int = 48, seed: int = 0) -> Path:
    """Write n grooves of the shipped model's corpus (its atlas) as 4-bar MIDI files, one per
    recording, in folder/STYLE/: a stand-in for a folder of your own grooves."""
    lab = LatentLab.load()
    if lab.atlas is None:
        raise LatentLabError(f"{lab.folder}: no atlas to take example grooves from")
    meta = lab.atlas.meta
    where = {
        (f, int(b)): i
        for i, (f, b) in enumerate(zip(meta["file_id"], meta["first_bar"], strict=True))
    }
    # Windows whose continuation two bars later exists, so each file holds four bars.
    starts = [
        i
        for (file_id, bar), i in where.items()
        if meta["beat_type"][i] != "fill" and (file_id, bar + lab.bars) in where
    ]
    rng = np.random.default_rng(seed)
    chosen: dict[str, int] = {}
    for i in rng.permutation(starts):
        chosen.setdefault(str(meta["file_id"][i]), int(i))
        if len(chosen) == n:
            break
    if len(chosen) < n:
        raise LatentLabError(f"example grooves: the atlas has only {len(chosen)} recordings")
    root = Path(folder)
    for k, (file_id, i) in enumerate(sorted(chosen.items())):
        nxt = where[(file_id, int(meta["first_bar"][i]) + lab.bars)]
        first, second = lab.corpus_pattern(i), lab.corpus_pattern(nxt)
        path = root / str(meta["style"][i] or "other") / f"groove{k:02d}.mid"
        path.parent.mkdir(parents=True, exist_ok=True)
        lab.to_midi([first, second], path)
    return root


def first_windows(windows: Windows, n: int = 6) -> tuple[list[DrumPattern], list[str]]:
    """The first window of each of the first n files of a corpus, with captions: a look at
    a folder of grooves."""
    files = windows.meta["file_id"]
    starts = [i for i in range(len(windows)) if i == 0 or files[i] != files[i - 1]][:n]
    captions = [str(files[i]).removesuffix(".mid").replace("/", " · ") for i in starts]
    return [windows.pattern(i) for i in starts], captions


class TrainingMonitor(widgets.VBox):
    """A live view of a training run: pass it as `train(..., on_epoch=monitor)`.

    Shows a progress bar over the epochs, the last epoch's numbers, the training loss and
    KL, and the validation accuracy of free-running decoding.
    """

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.rows: list[dict] = []
        self.progress = widgets.IntProgress(0, min=0, max=epochs, description="Epoch 0")
        self.progress.add_class("ll-train-progress")
        self.text = widgets.HTML("waiting for the first epoch…")
        self.text.add_class("ll-train-text")
        span = (1, max(epochs, 2))
        self.loss = line_figure(
            np.array([]),
            {"loss": [], "KL (nats)": []},
            title="Training loss and KL per epoch",
            x_label="epoch",
            x_range=span,
            height="260px",
        )
        self.accuracy = line_figure(
            np.array([]),
            {"step accuracy": [], "hit F1": []},
            title="Validation: free-running decoding",
            x_label="epoch",
            x_range=span,
            y_min=0,
            height="260px",
        )
        half = widgets.Layout(width="50%")
        plots = widgets.HBox(
            [
                widgets.VBox([legend(["loss", "KL (nats)"]), self.loss], layout=half),
                widgets.VBox([legend(["step accuracy", "hit F1"]), self.accuracy], layout=half),
            ]
        )
        super().__init__([widgets.HBox([self.progress, self.text]), plots])

    def __call__(self, row: dict) -> None:
        """Take one epoch's metrics row (what train() writes to metrics.csv)."""
        self.rows.append(row)
        column = {k: np.array([r.get(k, np.nan) for r in self.rows], float) for k in row}
        epochs = column["epoch"]
        update_lines(self.loss, epochs, {"loss": column["train_loss"], "kl": column["train_kl"]})
        update_lines(
            self.accuracy,
            epochs,
            {"acc": column["val_step_accuracy_free"], "f1": column["val_hit_f1"]},
        )
        self.progress.value = int(row["epoch"])
        self.progress.description = f"Epoch {row['epoch']}"
        self.text.value = html.escape(
            f"epoch {row['epoch']}/{self.epochs} · loss {row['train_loss']:.2f} · "
            f"KL {row['train_kl']:.1f} nats · validation step accuracy "
            f"{row['val_step_accuracy_free']:.3f} · {row['seconds']:.0f} s"
        )


class TrainingPanel(widgets.VBox):
    """The training page: an Epochs slider and a Train button; nothing heavy runs before it
    is pressed. `run` (what the button calls) reads the grooves, trains a model with a live
    TrainingMonitor, builds its atlas and shows grooves sampled from it.

    `grooves` is a folder of drum MIDI files (None: `example_grooves` stands in); `run_folder`
    where runs are written (None: a new temporary folder per run); `model` ModelConfig fields
    of a new model. The Start menu can instead fine-tune the shipped model on the grooves
    (`latentlab train --init`), at `fine_tune_lr`: its sizes are the shipped model's.
    """

    def __init__(
        self,
        grooves: str | os.PathLike | None = None,
        run_folder: str | os.PathLike | None = None,
        epochs: int = 16,
        lr: float = 3e-3,
        model: dict | None = None,
        fine_tune_lr: float = 3e-4,
    ) -> None:
        self.grooves, self.run_folder, self.lr = grooves, run_folder, lr
        self.fine_tune_lr = fine_tune_lr
        self.model = dict(model or {})
        self.best: Path | None = None
        self.epochs = widgets.IntSlider(epochs, min=1, max=max(200, epochs), description="Epochs")
        self.start = widgets.Dropdown(
            options=[("a new small model", False), ("the shipped model (fine-tune it)", True)],
            value=False,
            description="Start from",
        )
        self.button = widgets.Button(description="Train", button_style="primary", icon="play")
        self.button.add_class("ll-train-button")
        self.status = StatusLine()
        self.results = widgets.VBox()
        self.results.add_class("ll-train-results")
        self.button.on_click(lambda _: self.status.guard(self.run)())
        controls = widgets.HBox([self.start, self.epochs, self.button, self.status])
        super().__init__([controls, self.results])
        self.add_class("ll-train")

    def run(self, max_steps: int | None = None) -> Path:
        """Train on the grooves (for the slider's epochs, or `max_steps` optimiser steps if
        fewer) and show what the model learned; returns its best checkpoint folder."""
        from latentlab.atlas import build_atlas
        from latentlab.lab import default_checkpoint
        from latentlab.model import ModelConfig
        from latentlab.train import TrainConfig, train

        self.button.disabled = True
        try:
            self.status.show("reading the grooves…")
            run = Path(self.run_folder or tempfile.mkdtemp(prefix="latentlab-run-"))
            folder = Path(self.grooves) if self.grooves else example_grooves(run / "grooves")
            windows = Corpus.midi_folder(folder).windows(2, progress=False)
            splits = dict(Counter(windows.meta["split"].tolist()))
            patterns, captions = first_windows(windows)
            player = DrumMachine(patterns[0])
            monitor = TrainingMonitor(self.epochs.value)
            about = html.escape(f"{len(windows)} two-bar windows from {folder}: {splits}")
            self.results.children = [
                widgets.HTML(about),
                Gallery(patterns, captions, player, "your grooves"),
                monitor,
            ]
            self.status.show("training…")
            fine_tune = self.start.value
            config = TrainConfig(
                out=str(run),
                data=str(folder),
                init=str(default_checkpoint()) if fine_tune else None,
                epochs=self.epochs.value,
                max_steps=max_steps,
                lr=self.fine_tune_lr if fine_tune else self.lr,
                batch_size=16,
                beta_warmup_steps=50,
                model=ModelConfig(**self.model),
            )
            best = train(config, progress=False, on_epoch=monitor)
            self.status.show("building the atlas…")
            mine = LatentLab.load(best)
            if mine.bars != windows.bars:
                windows = Corpus.midi_folder(folder).windows(mine.bars, progress=False)
            build_atlas(mine.model, windows, progress=False).save(best)
            samples = LatentLab.load(best).sample(6, seed=0)
            where = html.escape(str(best))
            commands = (
                f"Open it in the dashboards: <code>latentlab dashboard --checkpoint {where}"
                f"</code><br>or <code>LATENTLAB_CHECKPOINT={where} voila "
                "notebooks/interpolation.ipynb</code>"
            )
            self.results.children = [
                *self.results.children,
                Gallery(samples, [f"{p.n_hits} hits" for p in samples], player, "samples"),
                widgets.HTML(commands),
            ]
            self.status.show(f"done: best checkpoint {best}")
            self.best = best
            return best
        finally:
            self.button.disabled = False
