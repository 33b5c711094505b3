"""Pieces of the VAE and training notebooks, and the shared plots."""

import numpy as np
import pytest

from latentlab.analysis import kl_per_dimension
from latentlab.corpus import Corpus
from latentlab.lab import LatentLab
from latentlab.pattern import DrumPattern
from latentlab.widgets.drum_machine import DrumMachine
from latentlab.widgets.plots import (
    band_figure,
    fit_y,
    heatmap_figure,
    histogram_figure,
    legend,
    line_figure,
    update_lines,
)
from latentlab.widgets.teaching import Gallery, kl_plot, posterior_plots
from latentlab.widgets.training import TrainingMonitor, example_grooves, first_windows


@pytest.fixture(scope="module")
def lab(tiny_checkpoint):
    return LatentLab.load(tiny_checkpoint, device="cpu")


def test_line_figure_draws_each_series_and_updates_in_place():
    figure = line_figure([0, 1, 2], {"a": [1, 2, 3], "b": [3, 2, 1]}, dashed={"a": [0, 0, 0]})
    solid, dashed = figure.marks
    np.testing.assert_array_equal(solid.y, [[1, 2, 3], [3, 2, 1]])
    assert solid.colors[:2] != [solid.colors[0]] * 2 and dashed.line_style == "dashed"
    assert (solid.scales["x"].min, solid.scales["x"].max) == (0, 2)
    update_lines(figure, [0, 1], {"a": [5, 6], "b": [7, 8]}, dashed={"a": [1, 1]})
    np.testing.assert_array_equal(solid.x, [0, 1])
    np.testing.assert_array_equal(np.ravel(dashed.y), [1, 1])
    floored = line_figure([0, 1], {"a": [5.5, 6.2]}, y_min=0)
    np.testing.assert_allclose(floored.axes[1].tick_values, [0, 2, 4, 6, 8])
    spanned = line_figure([], {"a": []}, x_range=(1, 10))
    assert (spanned.marks[0].scales["x"].min, spanned.marks[0].scales["x"].max) == (1, 10)
    assert "a</span>" in legend(["a", "b"], "note").value


def test_histogram_band_and_heatmap_figures():
    rng = np.random.default_rng(0)
    figure = histogram_figure({"x": rng.normal(size=500), "y": rng.normal(2, 1, 500)}, bins=20)
    line = figure.marks[0]
    widths = np.diff(line.x).mean()
    np.testing.assert_allclose(np.asarray(line.y).sum(1) * widths, 1, rtol=0.05)  # densities
    band = band_figure([0, 1], [0.03, 1], [2, 3.1], {"mid": [1, 2], "other": [0, 0]})
    assert len(band.marks) == 3 and band.marks[0].fill == "between"
    ticks = band.axes[1].tick_values
    np.testing.assert_allclose(ticks, [0, 1, 2, 3, 4])  # round values covering 0..3.1
    assert (band.axes[1].scale.min, band.axes[1].scale.max) == (0, 4)
    band.marks[2].y = np.array([-4.0, 0.0])
    fit_y(band)
    np.testing.assert_allclose(band.axes[1].tick_values, [-4, -2, 0, 2, 4])
    cells = heatmap_figure(np.array([[1.0, -2.0], [0.5, 0.0]]), ["r1", "r2"], ["c1", "c2"])
    scale = cells.marks[0].scales["color"]
    assert scale.min == -scale.max and scale.max > 2, "symmetric, darkest cell not saturated"


def test_gallery_plays_the_clicked_groove(lab):
    machine = DrumMachine()
    patterns = [lab.corpus_pattern(i) for i in range(3)]
    gallery = Gallery(patterns, ["a", "b", "c"], machine, "title")
    assert gallery.children[1] is machine and gallery.strip.title == "title"
    gallery.strip.click(1)
    assert machine.playing and machine.pattern == patterns[1]


def test_posterior_and_kl_plots_sort_the_dimensions():
    mu = np.array([0.1, 2.0, -1.0])
    sigma = np.array([0.9, 0.1, 0.5])
    mu_plot, sigma_plot = posterior_plots(mu, sigma).children
    np.testing.assert_allclose(sigma_plot.marks[0].y, [0.1, 0.5, 0.9])
    np.testing.assert_allclose(mu_plot.marks[0].y, [2.0, -1.0, 0.1])
    kl = kl_plot(mu, sigma).marks[0].y
    np.testing.assert_allclose(kl, np.sort(kl_per_dimension(mu, sigma))[::-1])


def test_training_monitor_follows_the_epochs():
    monitor = TrainingMonitor(epochs=3)
    assert monitor.progress.max == 3 and monitor.progress.value == 0
    for epoch in (1, 2):
        monitor(
            {
                "epoch": epoch,
                "seconds": 1.5 * epoch,
                "train_loss": 10.0 / epoch,
                "train_kl": 2.0 * epoch,
                "val_step_accuracy_free": 0.1 * epoch,
                "val_hit_f1": 0.2 * epoch,
            }
        )
    assert monitor.progress.value == 2
    np.testing.assert_allclose(monitor.loss.marks[0].y, [[10, 5], [2, 4]])
    np.testing.assert_allclose(monitor.accuracy.marks[0].y, [[0.1, 0.2], [0.2, 0.4]])
    assert "epoch 2/3 · loss 5.00 · KL 4.0 nats" in monitor.text.value


def test_example_grooves_are_four_bar_files_in_style_folders(
    tiny_checkpoint, tmp_path, monkeypatch
):
    monkeypatch.setenv("LATENTLAB_CHECKPOINT", str(tiny_checkpoint))
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))
    folder = example_grooves(tmp_path / "grooves", n=10, seed=1)
    files = sorted(folder.rglob("*.mid"))
    assert len(files) == 10
    assert {f.parent.name for f in files} <= {"funk", "rock"}
    assert all(DrumPattern.from_midi(f).bars == 4 for f in files)
    windows = Corpus.midi_folder(folder).windows(2, progress=False)
    assert len(windows) == 30, "three two-bar windows per file"
    patterns, captions = first_windows(windows, n=4)
    names = sorted(f.relative_to(folder).with_suffix("").as_posix() for f in files)
    assert captions == [name.replace("/", " · ") for name in names[:4]]
    assert patterns[1] == windows.pattern(3), "the first window of the second file"
    with pytest.raises(Exception, match="only"):
        example_grooves(tmp_path / "more", n=1000)
