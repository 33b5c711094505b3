"""Widgets for notebooks and the Voila dashboards (anywidget: traitlets plus one ES module)."""

import importlib

from latentlab.widgets.drum_machine import DrumMachine

# Imported on first use: they load the model code (torch), which DrumMachine alone does not need.
_LAZY = {
    "AttributesView": "latentlab.widgets.attributes_view",
    "BlendPad": "latentlab.widgets.blend_pad",
    "Explorer": "latentlab.widgets.explorer",
    "GroovePicker": "latentlab.widgets.groove_picker",
    "InterpolationView": "latentlab.widgets.interpolation",
    "LatentMap": "latentlab.widgets.latent_map",
    "NeighbourGrid": "latentlab.widgets.neighbour_grid",
    "PatternStrip": "latentlab.widgets.pattern_strip",
}

__all__ = ["DrumMachine", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
