"""Small pieces the dashboards share: a message line that turns errors into readable text,
one player sounding at a time, and section headings."""

from __future__ import annotations

import functools
import html
import sys
import traceback
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from latentlab.errors import LatentLabError
from latentlab.widgets.drum_machine import DrumMachine


class StatusLine(widgets.HTML):
    """One line of text under a control: what went wrong, in words, never a traceback.

    `guard` wraps a callback: a LatentLabError shows its message; any other exception shows
    its type and message here and its traceback on the kernel's stderr (the server log).
    """

    def __init__(self) -> None:
        super().__init__()
        self.add_class("ll-status")

    def show(self, text: str, error: bool = False) -> None:
        colour = "#c0392b" if error else "#57606a"
        self.value = f'<span style="color: {colour}">{html.escape(text)}</span>'
        if error:
            self.add_class("ll-status-error")
        else:
            self.remove_class("ll-status-error")

    def clear(self) -> None:
        self.value = ""
        self.remove_class("ll-status-error")

    def guard(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.clear()
            try:
                return fn(*args, **kwargs)
            except LatentLabError as exc:
                self.show(str(exc), error=True)
            except Exception as exc:
                traceback.print_exc(file=sys.stderr)
                self.show(f"Unexpected error ({type(exc).__name__}: {exc})", error=True)
            return None

        return wrapper


def solo(*machines: DrumMachine) -> None:
    """When one of these players starts, the others stop: one groove sounds at a time."""

    def on_play(change: dict) -> None:
        if change["new"]:
            for other in machines:
                if other is not change["owner"]:
                    other.playing = False

    for machine in machines:
        machine.observe(on_play, "playing")


def play(machine: DrumMachine, pattern) -> None:
    """Show `pattern` in the player and make sure it sounds."""
    machine.pattern = pattern
    machine.playing = True


def heading(text: str, note: str = "") -> widgets.HTML:
    """A section heading with an optional one-line explanation under it."""
    small = f'<div style="color:#57606a;margin-top:2px">{html.escape(note)}</div>' if note else ""
    value = f'<h3 style="margin:14px 0 4px">{html.escape(text)}</h3>{small}'
    return widgets.HTML(value)
