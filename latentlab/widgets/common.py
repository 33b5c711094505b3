"""The dashboard idiom every dashboard shares: section headings, muted captions, a status line
that turns errors into words, one player sounding at a time, and a player loaded with a
groove (its tempo, and downloads named after it)."""

from __future__ import annotations

import functools
import html
import re
import sys
import traceback
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from latentlab.errors import LatentLabError
from latentlab.pattern import DrumPattern
from latentlab.widgets import theme
from latentlab.widgets.drum_machine import FILE_NAME, DrumMachine


def muted(text: str) -> str:
    """HTML of a caption in the muted grey (text escaped)."""
    return f'<span style="color:{theme.MUTED}">{html.escape(text)}</span>'


def heading(text: str, note: str = "") -> widgets.HTML:
    """A section heading with an optional one-line explanation under it."""
    small = f'<div style="margin-top:2px">{muted(note)}</div>' if note else ""
    title = f'<div style="font-size:15px;font-weight:650;color:{theme.TEXT}">'
    value = f'<div class="ll-heading" style="margin:14px 0 4px">{title}{html.escape(text)}</div>'
    return widgets.HTML(value + small + "</div>")


class StatusLine(widgets.HTML):
    """One line of text under a control: what went wrong, in words, never a traceback.

    `guard` wraps a callback: a LatentLabError shows its message; any other exception shows
    its type and message here, and its traceback goes to the kernel's stderr (the server log)
    and to `errors`. The line is hidden while empty.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(layout=widgets.Layout(display="none"), **kwargs)
        self.errors: list[str] = []  # tracebacks of unexpected errors
        self.add_class("ll-status")

    def show(self, text: str, error: bool = False) -> None:
        if not text:
            self.clear()
            return
        style = f"color:{theme.MUTED}"
        if error:
            style = (
                f"display:inline-block;padding:5px 10px;color:{theme.ERROR};"
                f"background:{theme.ERROR_GROUND};border:1px solid {theme.ERROR_BORDER};"
                "border-radius:6px"
            )
        self.value = f'<span style="{style}">{html.escape(text)}</span>'
        self.layout.display = ""
        if error:
            self.add_class("ll-status-error")
        else:
            self.remove_class("ll-status-error")

    def clear(self) -> None:
        self.value = ""
        self.layout.display = "none"
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
                self.errors.append(traceback.format_exc())
                print(self.errors[-1], file=sys.stderr)
                self.show(
                    f"Something went wrong ({type(exc).__name__}: {exc}); "
                    "the details are in the server's log.",
                    error=True,
                )
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


def upload_note(bars: int) -> str:
    """What an upload button takes, in the same words on every dashboard."""
    return (
        "A 4/4 drum MIDI file (drums on channel 10, or on a channel set to no instrument); "
        f"its first {bars} bars are used."
    )


def file_stem(label: str) -> str:
    """A file name (without suffix) made of a groove's caption: 'funk · drummer1' ->
    'funk-drummer1'."""
    stem = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:60].strip("-")
    return stem or FILE_NAME


def load(machine: DrumMachine, pattern: DrumPattern, label: str = "") -> None:
    """Show `pattern` in the player at its own tempo; downloads are named after `label`."""
    with machine.hold_trait_notifications():
        machine.pattern = pattern
        machine.bpm = pattern.bpm
        machine.file_name = file_stem(label)


def play(machine: DrumMachine, pattern: DrumPattern, label: str = "") -> None:
    """`load` the pattern and make sure it sounds."""
    load(machine, pattern, label)
    machine.playing = True
