"""The interpolation dashboard: grooves A and B, three ways from one to the other, and a
four-corner blend pad.

Slerp and lerp run in latent space and are decoded; data-space interpolation swaps A's
cells for B's one by one (MusicVAE's baseline). Each shows as a strip of step grids, and
the Hamming distances to A and to B along the way are plotted (MusicVAE's figure). Click a
grid to hear it, or play a whole chain as one long loop. Below, A and B are the top corners
of a Beat Blender pad with two more grooves under them.
"""

from __future__ import annotations

import ipywidgets as widgets

from latentlab.analysis import METHODS, Interpolation, interpolate
from latentlab.lab import LatentLab, chain
from latentlab.widgets.blend_pad import BlendView
from latentlab.widgets.common import StatusLine, heading, load, muted, play, solo
from latentlab.widgets.drum_machine import DrumMachine
from latentlab.widgets.groove_picker import GroovePicker, MapPicker
from latentlab.widgets.pattern_strip import PatternStrip
from latentlab.widgets.plots import legend, line_figure, update_lines

TITLES = {"slerp": "slerp", "lerp": "lerp", "data": "data space"}


class InterpolationView(widgets.VBox):
    """Pick A and B; compare slerp, lerp and data-space paths; blend four grooves."""

    def __init__(self, lab: LatentLab, steps: int = 9, seed: int = 0) -> None:
        self.lab = lab
        self.status = StatusLine()
        self.a = GroovePicker(lab, "A", style="rock", seed=seed)
        self.b = GroovePicker(lab, "B", style="funk", seed=seed + 1)
        self.steps = widgets.IntSlider(
            steps, min=3, max=15, step=2, description="Steps", continuous_update=False
        )
        self.steps.add_class("ll-steps")
        self.machine = DrumMachine()
        load(self.machine, self.a.groove.pattern, self.a.groove.label)
        self.machine.add_class("ll-interp-machine")
        self.strips = {m: PatternStrip(TITLES[m]) for m in METHODS}
        self.chain_buttons = {
            m: widgets.Button(
                description=f"Play the {TITLES[m]} chain",
                icon="play",
                layout=widgets.Layout(width="auto"),
            )
            for m in METHODS
        }
        self.now_playing = widgets.HTML()
        self.figure = line_figure(
            [0, 1],
            {TITLES[m]: [0, 0] for m in METHODS},
            title="Hamming distance to A and to B along the way",
            x_label="fraction of the way from A to B",
            y_label="hit cells that differ",
            dashed={TITLES[m]: [0, 0] for m in METHODS},
            markers=True,
            y_min=0,
        )
        self.result: Interpolation | None = None

        for method in METHODS:
            strip = self.strips[method]
            strip.add_class(f"ll-strip-{method}")
            strip.on_click(self.status.guard(lambda i, m=method: self.play_step(m, i)))
            button = self.chain_buttons[method]
            button.add_class(f"ll-chain-{method}")
            button.on_click(self.status.guard(lambda _, m=method: self.play_chain(m)))
        for picker in (self.a, self.b):
            picker.observe(self.status.guard(self._on_pick), "groove")
            picker.preview.on_click(lambda _, p=picker: self._play_groove(p))
        self.steps.observe(self.status.guard(self._on_pick), "value")

        corner_c = lab.corpus_groove(lab.pick_window("jazz", seed + 2))
        corner_d = lab.corpus_groove(lab.pick_window("latin", seed + 3))
        self.blend_machine = DrumMachine(self.a.groove.pattern)
        self.blend_machine.add_class("ll-blend-machine")
        self.blend = BlendView(
            lab, [self.a.groove, self.b.groove, corner_c, corner_d], self.blend_machine
        )
        self.new_corners = widgets.Button(
            description="New grooves for C and D",
            icon="random",
            layout=widgets.Layout(width="max-content"),
        )
        self.new_corners.add_class("ll-new-corners")
        self.new_corners.on_click(self.blend.status.guard(self._on_new_corners))
        self._corner_seed = seed
        solo(self.machine, self.blend_machine)

        self.map = MapPicker(lab, {"A": self.a, "B": self.b})
        pickers = widgets.HBox(
            [widgets.VBox([self.a, self.b], layout=widgets.Layout(width="52%")), self.map],
            layout=widgets.Layout(justify_content="space-between"),
        )
        strips = widgets.VBox([self.strips[m] for m in METHODS])
        buttons = widgets.HBox([self.chain_buttons[m] for m in METHODS] + [self.now_playing])
        super().__init__(
            [
                heading(
                    "Pick A and B",
                    "From the corpus (its controls or the map), sampled from the model, or "
                    "uploaded.",
                ),
                pickers,
                heading(
                    "From A to B, three ways",
                    "slerp: along the sphere where the prior's mass lies · lerp: the straight "
                    "line · data space: A's cells swapped for B's, one by one. Click a grid "
                    "to hear it.",
                ),
                self.steps,
                strips,
                buttons,
                self.machine,
                self.status,
                legend([TITLES[m] for m in METHODS], "solid: distance to A · dashed: to B"),
                self.figure,
                heading(
                    "Beat Blender",
                    "Drag inside the square: the groove played is the blend of the four "
                    "corners at that place (A and B from above).",
                ),
                self.new_corners,
                self.blend,
            ]
        )
        self.add_class("ll-interpolation")
        self.update()

    def update(self) -> None:
        """Recompute the three paths for the current A, B and number of steps."""
        a, b = self.a.groove, self.b.groove
        self.result = interpolate(self.lab, a.pattern, b.pattern, self.steps.value, a.z, b.z)
        for method in METHODS:
            captions = [
                f"{t:.0%} · {d} from A"
                for t, d in zip(self.result.t, self.result.to_a[method], strict=True)
            ]
            self.strips[method].show(self.result.patterns(method), captions)
            self.strips[method].follow(None)
        update_lines(
            self.figure,
            self.result.t,
            {TITLES[m]: self.result.to_a[m] for m in METHODS},
            dashed={TITLES[m]: self.result.to_b[m] for m in METHODS},
        )
        self.now_playing.value = ""

    def play_step(self, method: str, index: int) -> None:
        for other, strip in self.strips.items():
            strip.follow(None)
            if other != method:
                strip.selected = -1
        pattern = self.strips[method].patterns[index]
        what = f"{TITLES[method]}, step {index + 1} of {self.steps.value}"
        self._say(f"{what}, {pattern.bpm:.0f} bpm")
        play(self.machine, pattern, f"{what} from A to B")

    def play_chain(self, method: str) -> None:
        """Loop every step of one path, A to B, one after the other."""
        for other, strip in self.strips.items():
            strip.selected = -1
            strip.follow(self.machine if other == method else None)
        patterns = self.strips[method].patterns
        chained = chain(patterns)
        self._say(
            f"the whole {TITLES[method]} chain: {len(patterns)} grooves, A to B, at "
            f"{chained.bpm:.0f} bpm (the mean of their tempi)"
        )
        play(self.machine, chained, f"{TITLES[method]} chain from A to B")

    def _play_groove(self, picker: GroovePicker) -> None:
        for strip in self.strips.values():
            strip.selected = -1
            strip.follow(None)
        self._say(picker.groove.label)
        play(self.machine, picker.groove.pattern, picker.groove.label)

    def _say(self, text: str) -> None:
        self.now_playing.value = muted(f"playing: {text}")

    def _on_pick(self, _change: dict) -> None:
        self.update()
        corners = [self.a.groove, self.b.groove, *self.blend.corners[2:]]
        self.blend.set_corners(corners)

    def _on_new_corners(self, _button: widgets.Button) -> None:
        self._corner_seed += 1
        c = self.lab.corpus_groove(self.lab.pick_window(seed=2 * self._corner_seed))
        d = self.lab.corpus_groove(self.lab.pick_window(seed=2 * self._corner_seed + 1))
        self.blend.set_corners([self.a.groove, self.b.groove, c, d])
