"""PatternStrip: a row of small step-grid pictures of grooves; clicking one plays it.

The pictures are SVG drawn here in Python (`pattern_svg`), the one groove-thumbnail renderer:
every small view of a groove (strips, blend-pad corners, picker previews, the explorer's
neighbourhood grid) looks the same. An anywidget: the
page sends a message when a picture is clicked, Python runs the `on_click` callbacks and
sets `selected` to highlight it. A strip can also follow a DrumMachine playing its grooves
as one chain, and highlight the one sounding (from the player's playhead in the page).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from latentlab.pattern import STEPS_PER_BAR, STEPS_PER_BEAT, DrumPattern
from latentlab.widgets.drum_machine import DrumMachine
from latentlab.widgets.theme import (
    DRUM_COLOURS,
    GRID_BAR_LINE,
    GRID_GROUND,
    GRID_STRIPE,
    stylesheet,
)


def pattern_svg(pattern: DrumPattern) -> str:
    """A step grid of `pattern` as an SVG that fills its box: one row per drum class (kick
    on top), one column per step, brighter notes for louder hits, shifted by micro-timing."""
    steps, rows = pattern.hits.shape
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {steps} {rows}" '
        'preserveAspectRatio="none" class="ll-pattern-svg">',
        f'<rect width="{steps}" height="{rows}" fill="{GRID_GROUND}"/>',
    ]
    for beat in range(1, steps // STEPS_PER_BEAT, 2):
        parts.append(
            f'<rect x="{beat * STEPS_PER_BEAT}" width="{STEPS_PER_BEAT}" height="{rows}" '
            f'fill="{GRID_STRIPE}"/>'
        )
    for bar in range(STEPS_PER_BAR, steps, STEPS_PER_BAR):
        parts.append(
            f'<rect x="{bar - 0.06}" width="0.12" height="{rows}" fill="{GRID_BAR_LINE}"/>'
        )
    for step, cls in zip(*pattern.hits.nonzero(), strict=True):
        velocity = float(pattern.velocities[step, cls])
        x = step + 0.12 + 0.5 * float(pattern.offsets[step, cls])
        parts.append(
            f'<rect x="{x:.2f}" y="{cls + 0.14:.2f}" width="0.76" height="0.72" '
            f'fill="{DRUM_COLOURS[cls]}" fill-opacity="{0.35 + 0.65 * velocity:.2f}"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


class PatternStrip(anywidget.AnyWidget):
    """Pictures of grooves in a row, each with a caption; `selected` is highlighted (-1: none)."""

    _esm = Path(__file__).with_name("pattern_strip.js")
    _css = stylesheet(Path(__file__).with_name("pattern_strip.css"))

    title = traitlets.Unicode("").tag(sync=True)
    svgs = traitlets.List(traitlets.Unicode()).tag(sync=True)
    captions = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)
    _follow = traitlets.Unicode("").tag(sync=True)

    def __init__(self, title: str = "", **kwargs: Any) -> None:
        super().__init__(title=title, **kwargs)
        self.patterns: list[DrumPattern] = []
        self._callbacks: list[Callable[[int], None]] = []
        self.on_msg(self._on_msg)

    def show(self, patterns: Sequence[DrumPattern], captions: Sequence[str] = ()) -> None:
        """Show these grooves (captions default to their numbers); clears the selection."""
        self.patterns = list(patterns)
        captions = list(captions) or [str(i + 1) for i in range(len(self.patterns))]
        with self.hold_sync():
            self.selected = -1
            self.svgs = [pattern_svg(p) for p in self.patterns]
            self.captions = captions

    def follow(self, machine: DrumMachine | None) -> None:
        """While `machine` loops these grooves one after the other (a chain), highlight the
        one sounding; None stops following."""
        self._follow = "" if machine is None else machine._uid

    def on_click(self, callback: Callable[[int], None]) -> None:
        """Call `callback(index)` when a picture is clicked (after `selected` is set)."""
        self._callbacks.append(callback)

    def click(self, index: int) -> None:
        """Select picture `index` and run the callbacks, as a click in the page does."""
        if not 0 <= index < len(self.patterns):
            return
        self.selected = index
        for callback in self._callbacks:
            callback(index)

    def _on_msg(self, _widget: Any, content: dict, _buffers: list) -> None:
        if content.get("type") == "click":
            self.click(int(content.get("index", -1)))
