"""One look for every dashboard: text greys, the accent, error colours, the dark ground of
step grids, the drum colours and the plots' colours.

Python renderers (groove thumbnails, status lines, headings) use the constants; widget
stylesheets read the same values as CSS variables (`stylesheet` puts them before a widget's
CSS), and the drum machine receives DRUM_COLOURS through its traitlets.
"""

from __future__ import annotations

from pathlib import Path

TEXT = "#1f2937"
MUTED = "#57606a"  # captions, notes, status lines
ACCENT = "#ff7a45"  # the current or playing thing
INK = "#111318"  # markers drawn over the colourful map
ERROR = "#9f1d1d"
ERROR_GROUND = "#fdecec"
ERROR_BORDER = "#f5c2c2"
# Step grids (thumbnails and the drum machine) are dark.
GRID_GROUND = "#17191e"
GRID_STRIPE = "#232730"  # every other beat
GRID_BAR_LINE = "#7a8394"
PANEL = "#1f2229"  # the frame around a thumbnail
PANEL_BORDER = "#2e333c"
PANEL_TEXT = "#c3c9d4"

# One colour per drum class (DrumPattern's order): every view that draws notes uses it.
DRUM_COLOURS = (
    "#ff7a45",
    "#ffc53d",
    "#36cfc9",
    "#40a9ff",
    "#9254de",
    "#b37feb",
    "#d3adf7",
    "#73d13d",
    "#b7eb8f",
)
# Lines of the plots, in order.
PLOT_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
# Styles on the corpus map: d3's category20 without its greys, given to styles by size.
STYLE_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#dbdb8d",
    "#9edae5",
)

_VARIABLES = {
    "text": TEXT,
    "muted": MUTED,
    "accent": ACCENT,
    "error": ERROR,
    "error-ground": ERROR_GROUND,
    "error-border": ERROR_BORDER,
    "grid-ground": GRID_GROUND,
    "panel": PANEL,
    "panel-border": PANEL_BORDER,
    "panel-text": PANEL_TEXT,
}


def css_variables() -> str:
    """The palette as CSS custom properties (--ll-muted, --ll-accent, ...) on :root."""
    return ":root {" + "".join(f" --ll-{k}: {v};" for k, v in _VARIABLES.items()) + " }\n"


def stylesheet(path: Path) -> str:
    """A widget's CSS file with the palette's variables before it (for anywidget `_css`)."""
    return css_variables() + path.read_text()
