"""Pieces of the VAE notebook (vae_concepts.ipynb): a strip of grooves to click and hear,
and the plots of the encoder's output."""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np

from latentlab.analysis import kl_per_dimension
from latentlab.pattern import DrumPattern
from latentlab.widgets.common import play
from latentlab.widgets.drum_machine import DrumMachine
from latentlab.widgets.pattern_strip import PatternStrip
from latentlab.widgets.plots import bar_figure


class Gallery(widgets.VBox):
    """Grooves as a strip of step grids over a player: click one to hear it.

    Pass the same DrumMachine to every gallery of a page: it is one player (one kit sent to
    the page), shown under each strip.
    """

    def __init__(
        self,
        patterns: Sequence[DrumPattern],
        captions: Sequence[str],
        machine: DrumMachine,
        title: str = "",
    ) -> None:
        self.strip = PatternStrip(title)
        self.strip.show(patterns, captions)
        self.strip.on_click(lambda i: play(machine, self.strip.patterns[i]))
        super().__init__([self.strip, machine])
        self.add_class("ll-gallery")


def posterior_plots(mu: np.ndarray, sigma: np.ndarray) -> widgets.HBox:
    """mu and sigma of one posterior, dimensions ordered by sigma (smallest first)."""
    mu, sigma = np.ravel(mu), np.ravel(sigma)
    order = np.argsort(sigma)
    dims = np.arange(len(mu))
    label = "latent dimension, by sigma"
    return widgets.HBox(
        [
            bar_figure(dims, mu[order], "mu: the centre", label, "mu", line=0.0),
            bar_figure(dims, sigma[order], "sigma: the spread", label, "sigma", line=1.0),
        ],
        layout=widgets.Layout(width="100%"),
    )


def kl_plot(mu: np.ndarray, sigma: np.ndarray) -> widgets.Widget:
    """KL of each latent dimension of one posterior, largest first."""
    kl = np.sort(kl_per_dimension(np.ravel(mu), np.ravel(sigma)))[::-1]
    return bar_figure(
        np.arange(len(kl)),
        kl,
        "KL per dimension, largest first",
        "latent dimension, by KL",
        "nats",
    )
