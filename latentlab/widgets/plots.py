"""Small bqplot figures with one look for the dashboards and the VAE notebook.

Each function returns a bqplot Figure; `update_lines` changes the data of a line figure in
place, so a plot updates without being redrawn from scratch.
"""

from __future__ import annotations

from collections.abc import Sequence

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from latentlab.widgets.theme import MUTED, PLOT_COLOURS

MARGIN = {"top": 36, "bottom": 44, "left": 64, "right": 16}


def _figure(
    marks: list,
    scales: dict,
    title: str,
    x_label: str,
    y_label: str,
    height: str,
    width: str = "100%",
) -> bq.Figure:
    x_ticks = _ticks(scales["x"].min, scales["x"].max)
    axes = [
        bq.Axis(scale=scales["x"], label=x_label, tick_values=x_ticks),
        bq.Axis(scale=scales["y"], label=y_label, side="left", label_offset="48px"),
    ]
    return bq.Figure(
        marks=marks,
        axes=axes,
        title=title,
        fig_margin=dict(MARGIN),
        padding_x=0,
        padding_y=0,
        title_style={"font-size": "14px"},
        layout=widgets.Layout(width=width, height=height),
    )


def legend(names: Sequence[str], note: str = "") -> widgets.HTML:
    """A one-line legend in the figures' colours (kept out of the plot area)."""
    items = "".join(
        f'<span style="margin-right:14px"><span style="color:{colour};font-weight:700">'
        f"&#9473;&#9473;</span> {name}</span>"
        for name, colour in zip(names, PLOT_COLOURS, strict=False)
    )
    extra = f'<span style="color:{MUTED}">{note}</span>' if note else ""
    return widgets.HTML(f'<div style="font-size:12px;margin-left:64px">{items}{extra}</div>')


def _step(low: float, high: float, count: int) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about `count` ticks."""
    raw = (high - low) / count
    power = 10 ** np.floor(np.log10(raw))
    return float(min(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _ticks(low: float | None, high: float | None, count: int = 5) -> np.ndarray | None:
    """Round tick values inside a range."""
    if low is None or high is None or high <= low:
        return None
    step = _step(low, high, count)
    return _round(np.arange(np.ceil(low / step) * step, high + step / 2, step), step)


def _round(ticks: np.ndarray, step: float) -> np.ndarray:
    """Ticks as whole multiples of the step (no 5.6e-17 for zero)."""
    return np.round(np.round(ticks / step) * step, 12) + 0.0


def fit_y(figure: bq.Figure, count: int = 4) -> None:
    """Set a figure's y range and ticks to round values around all its data (and its
    `y_floor`, when set), about `count` ticks: automatic ticks are too many when small."""
    arrays = [np.ravel(np.asarray(m.y, np.float64)) for m in figure.marks]
    floor = getattr(figure, "y_floor", None)
    values = np.concatenate(arrays + ([np.array([floor], np.float64)] if floor is not None else []))
    values = values[np.isfinite(values)]
    if not len(values):
        return
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    step = _step(low, high, count)
    low, high = np.floor(low / step) * step, np.ceil(high / step) * step
    scale = figure.axes[1].scale
    with scale.hold_sync():
        scale.min, scale.max = float(low), float(high)
    figure.axes[1].tick_values = _round(np.arange(low, high + step / 2, step), step)


def _x_scale(x: np.ndarray) -> bq.LinearScale:
    return bq.LinearScale(min=float(x.min()), max=float(x.max()))


def _rows(series: dict[str, Sequence[float]]) -> list[np.ndarray]:
    return [np.asarray(y, np.float64) for y in series.values()]


def line_figure(
    x: Sequence[float],
    series: dict[str, Sequence[float]],
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    dashed: dict[str, Sequence[float]] | None = None,
    height: str = "280px",
    width: str = "100%",
    markers: bool = False,
    y_min: float | None = None,
    x_range: tuple[float, float] | None = None,
) -> bq.Figure:
    """Lines of several series over one x, coloured in order (see `legend`).

    `dashed` series are drawn dashed in the same colours (e.g. the same quantity measured
    from the other end). The x axis spans `x_range`, else exactly the range of x.
    """
    x = np.asarray(x, np.float64)
    low, high = x_range if x_range is not None else (x.min(), x.max())
    scales = {"x": bq.LinearScale(min=float(low), max=float(high)), "y": bq.LinearScale()}
    colours = list(PLOT_COLOURS[: len(series)])
    solid = bq.Lines(
        x=x,
        y=_rows(series),
        labels=list(series),
        colors=colours,
        marker="circle" if markers else None,
        marker_size=24,
        stroke_width=2.5,
        scales=scales,
    )
    marks = [solid]
    if dashed is not None:
        marks.append(
            bq.Lines(
                x=x,
                y=_rows(dashed),
                colors=colours,
                line_style="dashed",
                stroke_width=1.5,
                scales=scales,
            )
        )
    figure = _figure(marks, scales, title, x_label, y_label, height, width)
    figure.y_floor = y_min  # fit_y keeps the y axis down to it
    fit_y(figure)
    return figure


def update_lines(
    figure: bq.Figure,
    x: Sequence[float],
    series: dict[str, Sequence[float]],
    dashed: dict[str, Sequence[float]] | None = None,
) -> None:
    """New data for a figure made by `line_figure` (same series names)."""
    x = np.asarray(x, np.float64)
    with figure.marks[0].hold_sync():
        figure.marks[0].x, figure.marks[0].y = x, _rows(series)
    if dashed is not None:
        with figure.marks[1].hold_sync():
            figure.marks[1].x, figure.marks[1].y = x, _rows(dashed)
    fit_y(figure)


def band_figure(
    x: Sequence[float],
    low: Sequence[float],
    high: Sequence[float],
    lines: dict[str, Sequence[float]],
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    height: str = "220px",
    width: str = "100%",
) -> bq.Figure:
    """A shaded band from `low` to `high` (marks[0]) under lines coloured in order
    (marks[1], marks[2], ...; set a mark's y, then `fit_y`, to update it)."""
    x = np.asarray(x, np.float64)
    scales = {"x": _x_scale(x), "y": bq.LinearScale()}
    band = bq.Lines(
        x=x,
        y=[np.asarray(low, np.float64), np.asarray(high, np.float64)],
        fill="between",
        fill_colors=[PLOT_COLOURS[0]],
        fill_opacities=[0.18],
        colors=["transparent"],
        scales=scales,
    )
    marks = [band] + [
        bq.Lines(
            x=x,
            y=np.asarray(y, np.float64),
            labels=[name],
            colors=[colour],
            marker="circle",
            marker_size=16,
            scales=scales,
        )
        for (name, y), colour in zip(lines.items(), PLOT_COLOURS, strict=False)
    ]
    figure = _figure(marks, scales, title, x_label, y_label, height, width)
    fit_y(figure)
    return figure


def bar_figure(
    x: Sequence[float],
    y: Sequence[float],
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    line: float | None = None,
    height: str = "240px",
    width: str = "100%",
    colour: str = PLOT_COLOURS[0],
) -> bq.Figure:
    """Bars of y over x, with an optional horizontal reference line at `line`."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    scales = {"x": bq.LinearScale(), "y": bq.LinearScale()}
    marks = [bq.Bars(x=x, y=y, colors=[colour], scales=scales)]
    if line is not None:
        marks.append(
            bq.Lines(
                x=[x.min(), x.max()],
                y=[line, line],
                colors=[PLOT_COLOURS[3]],
                line_style="dashed",
                scales=scales,
            )
        )
    figure = _figure(marks, scales, title, x_label, y_label, height, width)
    figure.y_floor = 0.0
    fit_y(figure)
    return figure


def histogram_figure(
    samples: dict[str, Sequence[float]],
    bins: int = 40,
    title: str = "",
    x_label: str = "",
    height: str = "260px",
    width: str = "100%",
) -> bq.Figure:
    """Histograms (as densities over shared bins) of several samples, overlaid."""
    values = [np.asarray(s, np.float64) for s in samples.values()]
    edges = np.histogram_bin_edges(np.concatenate(values), bins)
    centres = (edges[:-1] + edges[1:]) / 2
    densities = {
        k: np.histogram(v, edges, density=True)[0] for k, v in zip(samples, values, strict=True)
    }
    figure = line_figure(
        centres, densities, title, x_label, "density", height=height, width=width, y_min=0
    )
    line = figure.marks[0]
    line.fill, line.fill_opacities = "bottom", [0.25] * len(samples)
    line.fill_colors = list(line.colors)
    line.interpolation = "step-after"
    return figure


def heatmap_figure(
    matrix: np.ndarray,
    rows: Sequence[str],
    columns: Sequence[str],
    title: str = "",
    height: str = "420px",
    width: str = "100%",
) -> bq.Figure:
    """A matrix as coloured cells with their values, red below zero and blue above.

    The colour scale reaches past the largest value, so the darkest cell keeps its text
    readable.
    """
    matrix = np.asarray(matrix, np.float64)
    top = 1.6 * max(float(np.abs(matrix).max()), 1e-6)
    scales = {
        "row": bq.OrdinalScale(reverse=True),
        "column": bq.OrdinalScale(),
        "color": bq.ColorScale(scheme="RdBu", min=-top, max=top, mid=0),
    }
    cells = bq.GridHeatMap(
        color=matrix,
        row=list(rows),
        column=list(columns),
        scales=scales,
        display_format=".2f",
        font_style={"font-size": "11px", "fill": "#222"},
    )
    axes = [
        bq.Axis(scale=scales["column"]),
        bq.Axis(scale=scales["row"], side="left"),
        bq.ColorAxis(scale=scales["color"], side="right"),
    ]
    margin = {"top": 36, "bottom": 40, "left": 90, "right": 80}
    return bq.Figure(
        marks=[cells],
        axes=axes,
        title=title,
        fig_margin=margin,
        title_style={"font-size": "14px"},
        layout=widgets.Layout(width=width, height=height),
    )
