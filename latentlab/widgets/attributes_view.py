"""The attributes dashboard: push a groove along an attribute vector and hear it; see how
every vector moves its own attribute (response curves) and the others (effect matrix).

An attribute vector is the mean latent point of the corpus windows in the top quarter of
an attribute minus that of the bottom quarter (MusicVAE's recipe); amount 1 adds one
whole vector. The curves and the matrix are measured on held-out (test) corpus windows.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from latentlab.analysis import AttributeSweep, attribute_sweep, measure
from latentlab.attributes import ATTRIBUTES, attribute_label
from latentlab.lab import LatentLab
from latentlab.widgets.common import StatusLine, heading, load, muted, play
from latentlab.widgets.drum_machine import DrumMachine
from latentlab.widgets.groove_picker import GroovePicker, MapPicker
from latentlab.widgets.pattern_strip import PatternStrip
from latentlab.widgets.plots import band_figure, fit_y, heatmap_figure

STRIP_AMOUNTS = np.linspace(-2, 2, 9)


def unit(name: str) -> str:
    """An attribute's unit from the registry (its name for one the registry lacks)."""
    return ATTRIBUTES[name].unit if name in ATTRIBUTES else name


def short(name: str) -> str:
    """An attribute's short name ("kick" stands for kick hits per bar)."""
    return attribute_label(name).lower()


def held_out_latents(lab: LatentLab, n: int, seed: int = 0) -> np.ndarray:
    """Latent points of n random held-out corpus windows (the test split; all if none)."""
    atlas = lab.atlas
    pool = np.flatnonzero(atlas.meta["split"] == "test")
    pool = pool if len(pool) else np.arange(len(atlas))
    rng = np.random.default_rng(seed)
    return atlas.latent_rows(rng.choice(pool, min(n, len(pool)), replace=False))


class AttributesView(widgets.VBox):
    """Pick a groove and a vector, push it from -2 to +2; curves and matrix below."""

    def __init__(self, lab: LatentLab, sample: int = 16, seed: int = 0) -> None:
        self.lab = lab
        self.status = StatusLine()
        self.picker = GroovePicker(lab, "", style="rock", seed=seed)
        self.picker.layout.width = "52%"
        self.map = MapPicker(lab, {"groove": self.picker})
        names = lab.attribute_names
        self.attribute = widgets.Dropdown(
            options=[(f"{attribute_label(n)} ({unit(n)})", n) for n in names],
            value="density" if "density" in names else names[0],
            description="Vector",
        )
        self.amount = widgets.FloatSlider(
            0.0, min=-2, max=2, step=0.25, description="Amount", readout_format="+.2f"
        )
        self.attribute.add_class("ll-attribute")
        self.amount.add_class("ll-amount")
        self.strip = PatternStrip("pushed")
        self.strip.add_class("ll-attribute-strip")
        self.machine = DrumMachine()
        load(self.machine, self.picker.groove.pattern, self.picker.groove.label)
        self.machine.add_class("ll-attribute-machine")
        self.readout = widgets.HTML()
        self.readout.add_class("ll-attribute-readout")

        self.sweep: AttributeSweep = attribute_sweep(lab, held_out_latents(lab, sample, seed))
        self.curves = {}
        for name in self.sweep.names:
            values = self.sweep.response(name)
            low, mid, high = np.percentile(values, [25, 50, 75], axis=1)
            self.curves[name] = band_figure(
                self.sweep.amounts,
                low,
                high,
                {"median": mid, "this groove": mid},
                title=short(name),
                x_label="amount",
                y_label=unit(name),
                height="230px",
            )
        names_shown = [short(n) for n in self.sweep.names]
        matrix = heatmap_figure(
            self.sweep.effect_matrix(1.0),
            names_shown,
            names_shown,
            title="Change of each attribute (columns) when pushing by +1 along each vector "
            "(rows), in corpus standard deviations; kick, snare... = that drum's hits per bar",
            height="480px",
        )
        matrix.add_class("ll-effect-matrix")

        self.picker.observe(self.status.guard(self._on_groove), "groove")
        self.picker.preview.on_click(self.status.guard(lambda _: self._play_original()))
        self.attribute.observe(self.status.guard(self._on_attribute), "value")
        self.amount.observe(self.status.guard(self._on_amount), "value")
        self.strip.on_click(self.status.guard(self._on_strip))

        grid = widgets.GridBox(
            list(self.curves.values()),
            layout=widgets.Layout(grid_template_columns="repeat(5, minmax(0, 1fr))", width="100%"),
        )
        n = self.sweep.values.shape[-1]
        super().__init__(
            [
                heading(
                    "Pick a groove",
                    "From the corpus (its controls or the map), sampled from the model, or "
                    "uploaded.",
                ),
                widgets.HBox(
                    [self.picker, self.map],
                    layout=widgets.Layout(justify_content="space-between"),
                ),
                heading(
                    "Push it along a vector",
                    "Each vector points from the corpus grooves lowest in an attribute to the "
                    "highest. Drag the amount, or click a grid to hear it.",
                ),
                widgets.HBox([self.attribute, self.amount]),
                self.strip,
                self.machine,
                self.readout,
                self.status,
                heading(
                    "Response curves",
                    f"Each attribute of {n} held-out corpus grooves pushed along its own vector:"
                    " median (line) and middle half (band); orange: the groove above.",
                ),
                grid,
                heading(
                    "Effect matrix",
                    "A good vector changes its own attribute (the diagonal) and little else.",
                ),
                matrix,
            ]
        )
        self.add_class("ll-attributes")
        self._on_groove()

    @property
    def name(self) -> str:
        return self.attribute.value

    def pushed(self, amounts: np.ndarray) -> list:
        """The current groove pushed by each amount along the current vector, decoded at the
        groove's tempo."""
        groove = self.picker.groove
        z = self.lab.along(groove.z, self.name, amounts)
        return self.lab.decode(z, bpm=groove.pattern.bpm)

    def _on_groove(self, _change: dict | None = None) -> None:
        own = attribute_sweep(self.lab, self.picker.groove.z[None], self.sweep.amounts)
        for name, figure in self.curves.items():
            figure.marks[2].y = own.response(name)[:, 0].astype(np.float64)
            fit_y(figure)
        self._on_attribute()

    def _on_attribute(self, _change: dict | None = None) -> None:
        patterns = self.pushed(STRIP_AMOUNTS)
        values = measure(np.stack([p.to_array() for p in patterns]), [self.name])[0]
        captions = [f"{a:+.1f} · {v:.2f}" for a, v in zip(STRIP_AMOUNTS, values, strict=True)]
        self.strip.show(patterns, captions)
        self._on_amount()

    def _on_amount(self, _change: dict | None = None) -> None:
        pattern = self.pushed([self.amount.value])[0]
        self._show(pattern, self.amount.value)
        load(self.machine, pattern, self._pushed_label(self.amount.value))
        selected = np.flatnonzero(np.isclose(STRIP_AMOUNTS, self.amount.value))
        self.strip.selected = int(selected[0]) if len(selected) else -1

    def _on_strip(self, index: int) -> None:
        amount = float(STRIP_AMOUNTS[index])
        if self.amount.value != amount:
            self.amount.value = amount
        play(self.machine, self.strip.patterns[index], self._pushed_label(amount))

    def _pushed_label(self, amount: float) -> str:
        return f"{self.picker.groove.label} {short(self.name)} {amount:+.2f}"

    def _play_original(self) -> None:
        groove = self.picker.groove
        value = measure(groove.pattern.to_array()[None], [self.name])[0, 0]
        self.readout.value = muted(
            f"playing the groove itself: {short(self.name)} {value:.2f} {unit(self.name)}"
        )
        play(self.machine, groove.pattern, groove.label)

    def _show(self, pattern, amount: float) -> None:
        value = measure(pattern.to_array()[None], [self.name])[0, 0]
        self.readout.value = muted(
            f"playing: the groove pushed by {amount:+.2f} along the {short(self.name)} "
            f"vector — {short(self.name)} {value:.2f} {unit(self.name)}, {pattern.n_hits} hits"
        )
