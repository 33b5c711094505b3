"""NeighbourGrid: a 3x3 grid of small step-grid pictures, the "Drum VAE" neighbourhood.

An anywidget (neighbour_grid.js): Python sets the nine grooves (row by row from the top
left; the centre is the current groove) as pictures drawn by `pattern_svg` (the one groove
thumbnail) and the two axis names; the page shows them and reports clicks on cells and the
explorer's keys (arrows, 'c', 'r'). In a Voila dashboard it
listens for the keys on the whole page unless a text field or slider has the focus; in
JupyterLab, whose own keys they are, only while the focus is in the grid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from latentlab.errors import LatentLabError
from latentlab.pattern import DrumPattern
from latentlab.widgets.pattern_strip import pattern_svg
from latentlab.widgets.theme import stylesheet

KEYS = ("left", "right", "up", "down", "c", "r")
CENTRE = 4


class NeighbourGrid(anywidget.AnyWidget):
    """Nine grooves around the current one; `on_cell(fn(index, move))`, `on_key(fn(key))`.

    A click on a cell calls the cell callbacks with move False (audition it), a double click
    with move True (go there). `active` is the cell shown as playing (None: none).
    """

    _esm = Path(__file__).with_name("neighbour_grid.js")
    _css = stylesheet(Path(__file__).with_name("neighbour_grid.css"))

    svgs = traitlets.List(traitlets.Unicode()).tag(sync=True)
    x_label = traitlets.Unicode().tag(sync=True)
    y_label = traitlets.Unicode().tag(sync=True)
    active = traitlets.Int(None, allow_none=True).tag(sync=True)
    version = traitlets.Int(0).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cell_callbacks: list[Callable[[int, bool], None]] = []
        self._key_callbacks: list[Callable[[str], None]] = []
        self.on_msg(self._on_msg)

    def show(self, patterns: Sequence[DrumPattern], x_label: str, y_label: str) -> None:
        """Draw nine grooves, row by row from the top left, with the axes' names."""
        if len(patterns) != 9:
            raise LatentLabError(f"neighbour grid: needs 9 grooves, got {len(patterns)}")
        with self.hold_sync():
            self.svgs = [pattern_svg(p) for p in patterns]
            self.x_label, self.y_label = x_label, y_label
            self.active = CENTRE
            self.version += 1

    def on_cell(self, callback: Callable[[int, bool], None]) -> None:
        self._cell_callbacks.append(callback)

    def on_key(self, callback: Callable[[str], None]) -> None:
        self._key_callbacks.append(callback)

    def _on_msg(self, _widget: Any, content: dict, _buffers: list) -> None:
        if content.get("type") == "cell" and 0 <= int(content.get("index", -1)) < 9:
            for callback in self._cell_callbacks:
                callback(int(content["index"]), bool(content.get("move")))
        elif content.get("type") == "key" and content.get("key") in KEYS:
            for callback in self._key_callbacks:
                callback(content["key"])
