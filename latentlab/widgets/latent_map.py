"""LatentMap: the corpus as a 2-D map (the atlas's UMAP coordinates), one point per window.

One anywidget (`MapCanvas`, latent_map.js) draws the map on an HTML canvas: the corpus
windows shown, coloured by style, the current point and the user's own grooves (pins). The
page finds the nearest shown point under the pointer, draws its tooltip and reports clicks,
which set `selected`. No plotting library: a dashboard kernel imports neither bqplot nor
pandas for it, and the page renders it at once.

    m = LatentMap(lab.atlas)
    m.observe(lambda change: print(change.new), "selected")   # an atlas index
    m.mark(lab.place(z)[0])                                    # the current point
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as widgets
import numpy as np
import traitlets

from latentlab.atlas import Atlas
from latentlab.errors import LatentLabError
from latentlab.lab import select_windows
from latentlab.pattern import STEPS_PER_BAR
from latentlab.widgets.theme import INK, STYLE_COLOURS, stylesheet

ALL = "all"
BEAT_CHOICES = (("All", ALL), ("Beats", "beat"), ("Fills", "fill"))
MARGIN = 0.04  # empty border around the points, as a share of the map's extent
# Columns of the compact per-point table the page draws and describes from (all uint16).
CODED = ("style", "drummer", "substyle", "beat_type")
NUMERIC = ("bpm", "first_bar")


def _categories(values: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Distinct values (naturally sorted: drummer2 before drummer10) and each row's code."""
    names, inverse = np.unique(np.asarray(values).astype(str), return_inverse=True)
    order = sorted(range(len(names)), key=lambda i: _natural(str(names[i])))
    rank = np.empty(len(names), np.uint16)
    rank[order] = np.arange(len(names))
    return [str(names[i]) for i in order], rank[inverse.reshape(-1)]


def _natural(text: str) -> tuple:
    head = text.rstrip("0123456789")
    tail = text[len(head) :]
    return (head, int(tail) if tail else -1)


class MapCanvas(anywidget.AnyWidget):
    """The map drawn in the page: points, current point and pins; tooltips drawn there,
    clicks sent here.

    Each point's colour is `_colours` at its style code (the table's first column); the page
    picks the nearest point of `_shown` (atlas indices) within a few pixels of the pointer.
    """

    _esm = Path(__file__).with_name("latent_map.js")
    _css = stylesheet(Path(__file__).with_name("latent_map.css"))

    _width = traitlets.Int(600).tag(sync=True)  # CSS pixels
    _height = traitlets.Int(420).tag(sync=True)
    _coords = traitlets.Bytes().tag(sync=True)  # float32 (n, 2)
    _shown = traitlets.Bytes().tag(sync=True)  # uint32 atlas indices
    _domain = traitlets.List(traitlets.Float()).tag(sync=True)  # xmin, xmax, ymin, ymax
    _table = traitlets.Bytes().tag(sync=True)  # uint16 (n, 6): CODED then NUMERIC columns
    _names = traitlets.Dict().tag(sync=True)  # CODED column -> category names
    _colours = traitlets.List(traitlets.Unicode()).tag(sync=True)  # per style code
    _ink = traitlets.Unicode(INK).tag(sync=True)  # the markers' outline
    _bars = traitlets.Int(2).tag(sync=True)  # bars per window
    _marked = traitlets.List(traitlets.Float()).tag(sync=True)  # [x, y] or empty
    _pins = traitlets.List().tag(sync=True)  # [x, y, name] each


class LatentMap(widgets.VBox):
    """The corpus map with style/drummer/beat filters, a legend and a current-point marker.

    `selected` is the atlas index of the last point clicked (or given to `select`).
    `mark(xy)` moves the current-point marker, `pin(xy, name)` adds a labelled point for a
    groove of the user's, `filter(...)` chooses which corpus windows are shown.
    """

    selected = traitlets.Int(None, allow_none=True)
    filters = traitlets.Dict()  # the filters of the points shown: style, drummer, beat_type

    def __init__(self, atlas: Atlas, width: int = 600, height: int = 420) -> None:
        self.atlas = atlas
        coords = np.asarray(atlas.coords, np.float32)
        lo, hi = coords.min(0), coords.max(0)
        pad = (hi - lo) * MARGIN
        lo, hi = lo - pad, hi + pad

        coded = {c: _categories(atlas.meta[c]) for c in CODED}
        names = {c: categories for c, (categories, _) in coded.items()}
        counts = np.bincount(coded["style"][1], minlength=len(names["style"]))
        self._counts = dict(zip(names["style"], counts.tolist(), strict=True))
        by_size = sorted(self._counts, key=lambda s: (-self._counts[s], s))
        self.styles = by_size
        self.colours = {s: STYLE_COLOURS[i % len(STYLE_COLOURS)] for i, s in enumerate(by_size)}
        table = np.stack(
            [codes for _, codes in coded.values()]
            + [np.clip(np.round(atlas.meta[c].astype(float)), 0, 65535) for c in NUMERIC],
            axis=1,
        ).astype("<u2")
        self.canvas = MapCanvas(
            _width=width,
            _height=height,
            _coords=coords.astype("<f4").tobytes(),
            _domain=[float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])],
            _table=table.tobytes(),
            _names=names,
            _colours=[self.colours[s] for s in names["style"]],
            _bars=atlas.hvo.shape[1] // STEPS_PER_BAR,
        )
        self.canvas.add_class("ll-map-figure")
        self.canvas.on_msg(self._on_msg)

        self.style_filter = widgets.Dropdown(
            options=[(f"All styles ({len(atlas):,})", ALL)]
            + [(f"{s} ({self._counts[s]:,})", s) for s in sorted(by_size)],
            value=ALL,
            layout=widgets.Layout(width="168px"),
        )
        self.style_filter.add_class("ll-map-style")
        drummers = [d for d in names["drummer"] if d]
        self.drummer_filter = widgets.Dropdown(
            options=[("All drummers", ALL)] + [(d, d) for d in drummers],
            value=ALL,
            layout=widgets.Layout(width="124px", display="" if drummers else "none"),
        )
        self.drummer_filter.add_class("ll-map-drummer")
        beats = {"beat", "fill"} <= set(names["beat_type"])
        self.beat_filter = widgets.ToggleButtons(
            options=BEAT_CHOICES, value=ALL, layout=widgets.Layout(display="" if beats else "none")
        )
        self.beat_filter.add_class("ll-map-beat")
        for control in (self.style_filter, self.drummer_filter, self.beat_filter):
            control.observe(self._on_filter, "value")
        self.legend = widgets.HTML()
        self.legend.add_class("ll-map-legend")

        bar = widgets.HBox([self.style_filter, self.drummer_filter, self.beat_filter])
        bar.add_class("ll-map-bar")
        super().__init__([bar, self.canvas, self.legend], layout=widgets.Layout(width=f"{width}px"))
        self.add_class("ll-map")
        self._shown = np.arange(len(atlas), dtype=np.uint32)
        self.filter()

    # ---- the points shown --------------------------------------------------------------
    @property
    def shown(self) -> np.ndarray:
        """Atlas indices of the points shown (the filters' result)."""
        return self._shown

    def filter(
        self, style: str | None = None, drummer: str | None = None, beat_type: str | None = None
    ) -> int:
        """Show only windows of a style, a drummer and/or a beat type (None: all); returns
        how many are shown. The filter controls follow."""
        wanted = {"style": style or ALL, "drummer": drummer or ALL, "beat_type": beat_type or ALL}
        chosen = {column: None if value == ALL else value for column, value in wanted.items()}
        shown = select_windows(self.atlas, **chosen).astype(np.uint32)
        controls = (self.style_filter, self.drummer_filter, self.beat_filter)
        with self.hold_trait_notifications():
            for control, value in zip(controls, wanted.values(), strict=True):
                control.unobserve(self._on_filter, "value")
                control.value = value
                control.observe(self._on_filter, "value")
        self._shown = shown
        self.canvas._shown = shown.astype("<u4").tobytes()
        self._draw_legend(wanted["style"])
        self.filters = chosen
        return len(self._shown)

    def _on_filter(self, _change: Any) -> None:
        self.filter(self.style_filter.value, self.drummer_filter.value, self.beat_filter.value)

    def _draw_legend(self, style: str) -> None:
        chips = []
        for s in self.styles:
            dim = " ll-map-dim" if style not in (ALL, s) else ""
            chips.append(
                f'<span class="ll-map-chip{dim}"><i style="background:{self.colours[s]}"></i>'
                f"{html.escape(s)}</span>"
            )
        total = f'<span class="ll-map-total">{len(self._shown):,} shown</span>'
        self.legend.value = total + "".join(chips)

    # ---- selection and markers -----------------------------------------------------------
    def select(self, index: int) -> None:
        """Select the corpus window at an atlas index, as a click on its point does."""
        index = int(index)
        if not 0 <= index < len(self.atlas):
            raise LatentLabError(f"map: no corpus window {index} (the atlas has {len(self.atlas)})")
        if self.selected == index:
            self.selected = None  # a second click on the same point selects it again
        self.selected = index

    def _on_msg(self, _widget: Any, content: dict, _buffers: list) -> None:
        if content.get("type") == "pick":
            self.select(content["index"])

    def mark(self, coords: np.ndarray | None) -> None:
        """Move the current-point marker to map coordinates (x, y); None hides it."""
        self.canvas._marked = [] if coords is None else [float(coords[0]), float(coords[1])]

    @property
    def marked(self) -> tuple[float, float] | None:
        """Where the current-point marker is, or None."""
        marked = self.canvas._marked
        return (marked[0], marked[1]) if marked else None

    def pin(self, coords: np.ndarray, name: str) -> None:
        """Add a labelled point (an uploaded or edited groove) at map coordinates (x, y)."""
        self.canvas._pins = [*self.canvas._pins, [float(coords[0]), float(coords[1]), str(name)]]

    @property
    def pins(self) -> list[tuple[float, float, str]]:
        """The labelled points, in the order they were added: (x, y, name)."""
        return [(x, y, name) for x, y, name in self.canvas._pins]
