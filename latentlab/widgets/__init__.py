"""Widgets for notebooks and the Voila dashboards (anywidget: traitlets plus one ES module)."""

from latentlab.widgets.drum_machine import DrumMachine

__all__ = ["DrumMachine"]
