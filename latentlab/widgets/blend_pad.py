"""Beat Blender: drag a point inside a square whose corners are four grooves, hear the blend.

`BlendPad` is the square (an anywidget): corner pictures, a shaded grid showing how busy
the blend is at each place, and a puck whose position `xy` (0..1, 0..1; y down) follows
the pointer. `BlendView` puts it next to a player: every move decodes the slerp blend of
the four corners' latent points at that place and plays it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import anywidget
import ipywidgets as widgets
import numpy as np
import traitlets

from latentlab.attributes import density
from latentlab.errors import LatentLabError
from latentlab.lab import Groove, LatentLab
from latentlab.widgets.common import StatusLine, load, muted, play
from latentlab.widgets.drum_machine import DrumMachine
from latentlab.widgets.pattern_strip import pattern_svg
from latentlab.widgets.theme import stylesheet

CORNER_NAMES = ("A", "B", "C", "D")


class BlendPad(anywidget.AnyWidget):
    """A square with four corner grooves (top-left, top-right, bottom-left, bottom-right)."""

    _esm = Path(__file__).with_name("blend_pad.js")
    _css = stylesheet(Path(__file__).with_name("blend_pad.css"))

    xy = traitlets.List(traitlets.Float(), [0.5, 0.5]).tag(sync=True)
    corner_svgs = traitlets.List(traitlets.Unicode()).tag(sync=True)
    corner_captions = traitlets.List(traitlets.Unicode()).tag(sync=True)
    shade = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    shade_caption = traitlets.Unicode("").tag(sync=True)

    @traitlets.validate("xy")
    def _check_xy(self, proposal: traitlets.Bunch) -> list[float]:
        xy = proposal.value
        if len(xy) != 2:
            raise LatentLabError(f"blend pad: xy needs two numbers, got {xy}")
        return [float(np.clip(v, 0.0, 1.0)) for v in xy]


def blend_grid(lab: LatentLab, corners: np.ndarray, size: int) -> np.ndarray:
    """Hits per bar of the decoded blend at a size x size grid of places: (rows y, cols x)."""
    grid = lab.blend(corners, size)
    return density(lab.decode_hvo(grid.reshape(size * size, -1))).reshape(size, size)


class BlendView(widgets.HBox):
    """A BlendPad and the player that sounds the blend under the puck."""

    def __init__(
        self, lab: LatentLab, corners: Sequence[Groove], machine: DrumMachine, grid: int = 7
    ) -> None:
        self.lab, self.machine, self.grid = lab, machine, grid
        self.status = StatusLine()
        self.pad = BlendPad()
        self.pad.add_class("ll-blend-pad")
        self.readout = widgets.HTML()
        self.pad.observe(self.status.guard(self._on_move), "xy")
        side = widgets.VBox(
            [machine, self.readout, self.status], layout=widgets.Layout(flex="1 1 0", min_width="0")
        )
        super().__init__([self.pad, side], layout=widgets.Layout(align_items="flex-start"))
        self.set_corners(corners)

    def set_corners(self, corners: Sequence[Groove]) -> None:
        """New corner grooves: redraw the pad and replay the blend under the puck."""
        if len(corners) != 4:
            raise LatentLabError(f"blend: needs 4 corners, got {len(corners)}")
        self.corners = list(corners)
        self.corner_z = np.stack([c.z for c in corners])
        shade = blend_grid(self.lab, self.corner_z, self.grid)
        low, high = float(shade.min()), float(shade.max())
        with self.pad.hold_sync():
            self.pad.corner_svgs = [pattern_svg(c.pattern) for c in corners]
            self.pad.corner_captions = [
                f"{name}: {c.label}" for name, c in zip(CORNER_NAMES, corners, strict=True)
            ]
            self.pad.shade = ((shade - low) / max(high - low, 1e-6)).round(3).tolist()
            self.pad.shade_caption = f"brighter: busier ({low:.1f} to {high:.1f} hits per bar)"
        self._show(play_it=False)

    def weights(self, x: float, y: float) -> np.ndarray:
        """How much of each corner (A, B, C, D) the blend at (x, y) holds."""
        return np.array([(1 - x) * (1 - y), x * (1 - y), (1 - x) * y, x * y])

    def blend_pattern(self, x: float, y: float):
        """The decoded blend at (x, y) of the unit square, at the corners' tempi blended
        the same way."""
        z = self.lab.blend_at(self.corner_z, x, y)
        bpm = float(self.weights(x, y) @ [c.pattern.bpm for c in self.corners])
        return self.lab.decode(z[None], bpm=round(bpm, 2))[0]

    def _on_move(self, _change: dict) -> None:
        self._show(play_it=True)

    def _show(self, play_it: bool) -> None:
        x, y = self.pad.xy
        pattern = self.blend_pattern(x, y)
        weights = self.weights(x, y)
        mix = " · ".join(f"{n} {w:.0%}" for n, w in zip(CORNER_NAMES, weights, strict=True))
        self.readout.value = muted(
            f"blend at x {x:.2f}, y {y:.2f} — {mix} — {pattern.n_hits} hits, {pattern.bpm:.0f} bpm"
        )
        label = "blend " + " ".join(
            f"{n}{w:.0%}" for n, w in zip(CORNER_NAMES, weights, strict=True) if w >= 0.005
        )
        (play if play_it else load)(self.machine, pattern, label)
