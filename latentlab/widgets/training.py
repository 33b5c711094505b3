"""The training notebook's pieces: stand-in grooves, and a live view of a training run."""

from __future__ import annotations

import html
import os
from pathlib import Path

import ipywidgets as widgets
import numpy as np

from latentlab.corpus import Windows
from latentlab.errors import LatentLabError
from latentlab.lab import LatentLab
from latentlab.pattern import DrumPattern
from latentlab.widgets.plots import legend, line_figure, update_lines


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
