"""LatentMap: the corpus as a 2-D map (the atlas's UMAP coordinates), one point per window.

bqplot draws it: a WebGL `ScatterGL` mark (bqplot-gl) for the tens of thousands of corpus
windows, coloured by style, and SVG marks for the current point and the user's own grooves.
ScatterGL reports neither clicks nor hovers, so a small anywidget (latent_map.js) listens on
the figure, finds the nearest shown point under the pointer, draws its tooltip and reports
clicks, which set `selected`. The figure has no padding and fixed scales, so page pixels map
linearly to map coordinates.

    m = LatentMap(lab.atlas)
    m.observe(lambda change: print(change.new), "selected")   # an atlas index
    m.mark(lab.place(z)[0])                                    # the current point
"""

from __future__ import annotations

import html
import uuid
from pathlib import Path
from typing import Any

import anywidget
import bqplot as bq
import ipywidgets as widgets
import numpy as np
import traitlets
from bqplot_gl import ScatterGL

from latentlab.atlas import Atlas
from latentlab.errors import LatentLabError
from latentlab.lab import select_windows
from latentlab.pattern import STEPS_PER_BAR
from latentlab.widgets.theme import INK, STYLE_COLOURS, stylesheet

ALL = "all"
BEAT_CHOICES = (("All", ALL), ("Beats", "beat"), ("Fills", "fill"))
MARGIN = 0.04  # empty border around the points, as a share of the map's extent
# Columns of the compact per-point table the page's tooltips read (all uint16).
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


class MapPointer(anywidget.AnyWidget):
    """Pointer events of a LatentMap's figure: tooltips drawn in the page, clicks sent here.

    `_target` is a CSS class of the figure; the page finds the nearest shown point (of
    `_shown`, atlas indices) within a few pixels of the pointer.
    """

    _esm = Path(__file__).with_name("latent_map.js")
    _css = stylesheet(Path(__file__).with_name("latent_map.css"))

    _target = traitlets.Unicode().tag(sync=True)
    _coords = traitlets.Bytes().tag(sync=True)  # float32 (n, 2)
    _shown = traitlets.Bytes().tag(sync=True)  # uint32 atlas indices
    _domain = traitlets.List(traitlets.Float()).tag(sync=True)  # xmin, xmax, ymin, ymax
    _table = traitlets.Bytes().tag(sync=True)  # uint16 (n, 6): CODED then NUMERIC columns
    _names = traitlets.Dict().tag(sync=True)  # CODED column -> category names
    _colours = traitlets.List(traitlets.Unicode()).tag(sync=True)  # per style code
    _bars = traitlets.Int(2).tag(sync=True)  # bars per window


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
        self._domain = [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])]

        names, inverse, counts = np.unique(
            atlas.meta["style"].astype(str), return_inverse=True, return_counts=True
        )
        order = sorted(range(len(names)), key=lambda i: (-counts[i], names[i]))
        rank = np.empty(len(names), np.float32)
        rank[order] = np.arange(len(names))
        by_size = [str(names[i]) for i in order]
        self.styles = by_size
        self.colours = {s: STYLE_COLOURS[i % len(STYLE_COLOURS)] for i, s in enumerate(by_size)}
        self._style_code = rank[inverse.reshape(-1)]
        self._counts = {str(n): int(c) for n, c in zip(names, counts, strict=True)}

        # No padding for the markers' size: the plot area spans the domain exactly.
        self._x = bq.LinearScale(min=self._domain[0], max=self._domain[1], allow_padding=False)
        self._y = bq.LinearScale(min=self._domain[2], max=self._domain[3], allow_padding=False)
        scales = {"x": self._x, "y": self._y}
        colour_scale = bq.ColorScale(
            colors=[self.colours[s] for s in by_size], min=0, max=max(len(by_size) - 1, 1)
        )
        self._points = ScatterGL(
            x=coords[:, 0],
            y=coords[:, 1],
            color=self._style_code,
            scales={**scales, "color": colour_scale},
            default_size=14,
            opacities=[0.75],
            stroke=None,
        )
        self._pins = bq.Scatter(
            x=[],
            y=[],
            names=[],
            scales=scales,
            marker="diamond",
            default_size=150,
            colors=["#ffffff"],
            stroke=INK,
            stroke_width=2.5,
            display_names=True,
            labels=["your grooves"],
        )
        # The current point: a dark ring on a white halo around a dot, visible on any colour.
        self._halo = bq.Scatter(scales=scales, default_size=420, fill=False, stroke="#ffffff")
        self._halo.stroke_width = 7
        self._ring = bq.Scatter(scales=scales, default_size=420, fill=False, stroke=INK)
        self._ring.stroke_width = 3
        self._dot = bq.Scatter(scales=scales, default_size=40, colors=[INK], stroke="#ffffff")
        self._target = f"ll-map-{uuid.uuid4().hex[:12]}"
        self.figure = bq.Figure(
            marks=[self._points, self._pins, self._halo, self._ring, self._dot],
            padding_x=0,
            padding_y=0,
            fig_margin={"top": 4, "bottom": 4, "left": 4, "right": 4},
            animation_duration=0,
            display_toolbar=False,  # pan and zoom would move the points under the pointer
            layout=widgets.Layout(width=f"{width}px", height=f"{height}px"),
        )
        self.figure.add_class("ll-map-figure")
        self.figure.add_class(self._target)

        coded = {c: _categories(atlas.meta[c]) for c in CODED}
        self._names = {c: names for c, (names, _) in coded.items()}
        table = np.stack(
            [codes for _, codes in coded.values()]
            + [np.clip(np.round(atlas.meta[c].astype(float)), 0, 65535) for c in NUMERIC],
            axis=1,
        ).astype("<u2")
        self.pointer = MapPointer(
            _target=self._target,
            _coords=coords.astype("<f4").tobytes(),
            _domain=self._domain,
            _table=table.tobytes(),
            _names=self._names,
            _colours=[self.colours[s] for s in self._names["style"]],
            _bars=atlas.hvo.shape[1] // STEPS_PER_BAR,
        )
        self.pointer.on_msg(self._on_pointer_msg)

        self.style_filter = widgets.Dropdown(
            options=[(f"All styles ({len(atlas):,})", ALL)]
            + [(f"{s} ({self._counts[s]:,})", s) for s in sorted(by_size)],
            value=ALL,
            layout=widgets.Layout(width="168px"),
        )
        self.style_filter.add_class("ll-map-style")
        drummers = [d for d in self._names["drummer"] if d]
        self.drummer_filter = widgets.Dropdown(
            options=[("All drummers", ALL)] + [(d, d) for d in drummers],
            value=ALL,
            layout=widgets.Layout(width="124px", display="" if drummers else "none"),
        )
        self.drummer_filter.add_class("ll-map-drummer")
        beats = {"beat", "fill"} <= set(self._names["beat_type"])
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
        super().__init__(
            [bar, self.figure, self.pointer, self.legend], layout=widgets.Layout(width=f"{width}px")
        )
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
        coords = self.atlas.coords[self._shown]
        with self._points.hold_sync():
            self._points.x = coords[:, 0]
            self._points.y = coords[:, 1]
            self._points.color = self._style_code[self._shown]
        self.pointer._shown = self._shown.astype("<u4").tobytes()
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

    def _on_pointer_msg(self, _widget: Any, content: dict, _buffers: list) -> None:
        if content.get("type") == "pick":
            self.select(content["index"])

    def mark(self, coords: np.ndarray | None) -> None:
        """Move the current-point marker to map coordinates (x, y); None hides it."""
        x, y = ([], []) if coords is None else ([float(coords[0])], [float(coords[1])])
        for mark in (self._halo, self._ring, self._dot):
            with mark.hold_sync():
                mark.x, mark.y = x, y

    @property
    def marked(self) -> tuple[float, float] | None:
        """Where the current-point marker is, or None."""
        if len(self._dot.x) == 0:
            return None
        return float(self._dot.x[0]), float(self._dot.y[0])

    def pin(self, coords: np.ndarray, name: str) -> None:
        """Add a labelled point (an uploaded or edited groove) at map coordinates (x, y)."""
        with self._pins.hold_sync():
            self._pins.x = [*self._pins.x, float(coords[0])]
            self._pins.y = [*self._pins.y, float(coords[1])]
            self._pins.names = [*self._pins.names, name]

    @property
    def pins(self) -> list[tuple[float, float, str]]:
        return [
            (float(x), float(y), str(n))
            for x, y, n in zip(self._pins.x, self._pins.y, self._pins.names, strict=True)
        ]
