"""Widgets for notebooks and the Voila dashboards (anywidget: traitlets plus one ES module)."""

import importlib

from latentlab.widgets.drum_machine import DrumMachine

# Imported on first use: they load the model code (torch), which DrumMachine alone does not need.
_LAZY = {
    "Explorer": "latentlab.widgets.explorer",
    "LatentMap": "latentlab.widgets.latent_map",
    "NeighbourGrid": "latentlab.widgets.neighbour_grid",
}

__all__ = ["DrumMachine", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
