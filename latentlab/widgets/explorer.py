"""Explorer: the landing dashboard. Walk the latent space of a drum VAE and hear every step.

This is the view: it builds the widgets and binds them to the state object
(`latentlab.explorer.ExplorerState`, which holds the history, places, actions and filters and
knows nothing of widgets). A widget event calls a state action; after every change the state
tells the view, which shows it.

    from latentlab.widgets.explorer import Explorer
    Explorer.load().show()
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from latentlab.attributes import attribute_label
from latentlab.explorer import ExplorerState
from latentlab.lab import DIRECTION_KINDS, LatentLab
from latentlab.widgets.common import StatusLine, load, muted, upload_note
from latentlab.widgets.drum_machine import DrumMachine
from latentlab.widgets.latent_map import LatentMap
from latentlab.widgets.neighbour_grid import NeighbourGrid
from latentlab.widgets.theme import css_variables

CSS = Path(__file__).with_name("explorer.css")
SHIFT_RANGE = 1.5  # slider range, in attribute vectors (top minus bottom quartile means)
SLIDER_WIDTH = "286px"
CONTINUE_DEFAULT = 8  # bars


class Explorer:
    """The explorer's widgets, bound to an ExplorerState (`state`); `show()` gives the page."""

    def __init__(self, lab: LatentLab, seed: int | None = None) -> None:
        self.state = ExplorerState(lab, seed)
        self.lab = lab
        self._syncing = False  # True while the view sets widgets from the state
        self._grid_shown: list | None = None  # the grid patterns the grid widget shows
        self.status = StatusLine()
        self.status.add_class("ll-ex-message")
        self._build_widgets()
        self.state.on_change(self._show)
        self._show(play=False)

    @classmethod
    def load(cls, checkpoint: str | os.PathLike | None = None, seed: int | None = None) -> Explorer:
        """An explorer of a checkpoint (the shipped model, or $LATENTLAB_CHECKPOINT)."""
        return cls(LatentLab.load(checkpoint), seed)

    def show(self) -> widgets.VBox:
        """The dashboard's widget."""
        return self.root

    # ---- showing the state -----------------------------------------------------------------
    def _show(self, play: bool) -> None:
        state = self.state
        self._syncing = True
        try:
            load(self.machine, state.sounding, state.title())
            if play:
                self.machine.playing = True
            if self._grid_shown is not state.grid_patterns:
                self.grid.show(state.grid_patterns, *state.axes)
                self._grid_shown = state.grid_patterns
            self.grid.active = state.active
            self.map.mark(state.xy)
            for xy, name in state.pins[len(self.map.pins) :]:
                self.map.pin(xy, name)
            self.direction_choice.value = state.direction_kind
            amounts = dict(state.place.amounts)
            for name, slider in self.sliders.items():
                slider.value = amounts.get(name, 0.0)
        finally:
            self._syncing = False
        self.now.value = (
            f'<span class="ll-ex-now-label">Current groove</span> '
            f"<b>{html.escape(state.title())}</b>"
            f'<span class="ll-ex-now-detail">{html.escape(state.detail())}</span>'
        )
        self.back_button.disabled = not state.can_go_back
        self.forward_button.disabled = not state.can_go_forward
        self.steps_label.value = state.history_text()
        self.temperature_note.value = muted(state.temperature_note())

    # ---- binding ---------------------------------------------------------------------------
    def _on(self, action: Callable[..., Any]) -> Callable[..., None]:
        """A widget callback: runs the action unless the view itself is setting the widget,
        and shows its errors in the status line."""
        guarded = self.status.guard(action)

        def callback(*args: Any) -> None:
            if not self._syncing:
                guarded(*args)

        return callback

    def _button(self, text: str, tip: str, action: Callable[[], None], name: str):
        button = widgets.Button(description=text, tooltip=tip)
        button.add_class("ll-ex-button")
        button.add_class(f"ll-ex-{name}")
        button.on_click(self._on(lambda _: action()))
        return button

    def _build_widgets(self) -> None:
        state, lab = self.state, self.lab
        self.machine = DrumMachine(state.sounding)
        self.machine.add_class("ll-ex-machine")
        self.machine.observe(self._on(lambda c: state.edit(c.new)), "pattern")
        self.machine.observe(self._on(lambda c: state.set_bpm(c.new)), "bpm")
        self.map = LatentMap(lab.atlas, width=600, height=320)
        self.map.observe(self._on(self._map_selected), "selected")
        self.map.observe(self._on(lambda c: state.set_filters(**c.new)), "filters")
        self.grid = NeighbourGrid()
        self.grid.add_class("ll-ex-grid")
        self.grid.on_cell(self._on(self._cell_clicked))
        self.grid.on_key(self._on(state.key))

        self.now = widgets.HTML()
        self.now.add_class("ll-ex-now")
        self.back_button = self._button("◀ Back", "Back in your history", state.back, "back")
        self.forward_button = self._button("Forward ▶", "Forward again", state.forward, "forward")
        self.steps_label = widgets.HTML()
        self.steps_label.add_class("ll-ex-steps")

        self.style_choice = widgets.Dropdown(
            options=lab.styles, layout=widgets.Layout(width="120px")
        )
        self.style_choice.add_class("ll-ex-style")
        self.actions = widgets.HBox(
            [
                self._button("Sample", "A new groove from the model", state.sample, "sample"),
                self._button("Similar", "A groove near this one", state.similar, "similar"),
                self._button(
                    "Random jump", "A random groove of the map (r)", state.random_jump, "jump"
                ),
                self.style_choice,
                self._button(
                    "Sample in style",
                    "A new groove in the chosen style",
                    lambda: state.sample(self.style_choice.value),
                    "sample-style",
                ),
            ]
        )
        self.actions.add_class("ll-ex-actions")

        self.sliders = {
            name: self._slider(name, attribute_label(name)) for name in state.attributes
        }
        for name, slider in self.sliders.items():
            slider.observe(self._on(lambda c, n=name: state.set_amount(n, c.new)), "value")
        self.temperature_slider = self._slider("temperature", "Temperature", 0.0, 1.5)
        self.temperature_slider.tooltip = (
            "Samples the hits of the grooves the model decodes; real grooves play as recorded"
        )
        self.temperature_slider.observe(self._on(lambda c: state.set_temperature(c.new)), "value")
        self.temperature_note = widgets.HTML()
        self.temperature_note.add_class("ll-ex-temperature-note")
        self.direction_choice = widgets.Dropdown(
            options=[(label, kind) for kind, label in DIRECTION_KINDS.items()],
            value=state.direction_kind,
            layout=widgets.Layout(width="180px"),
        )
        self.direction_choice.add_class("ll-ex-directions")
        self.direction_choice.observe(self._on(lambda c: state.set_directions(c.new)), "value")
        self.step_slider = self._slider("step", "Step size", 0.25, 2.0, state.step, step=0.25)
        self.step_slider.observe(self._on(lambda c: state.set_step(c.new)), "value")
        self.upload_button = widgets.FileUpload(
            accept=".mid,.midi",
            multiple=False,
            description="Upload MIDI",
            layout=widgets.Layout(width="auto", flex="0 0 auto"),
        )
        self.upload_button.add_class("ll-ex-upload")
        self.upload_button.observe(self._on(self._uploaded), "value")
        self.tools = self._build_tools()
        self.root = self._layout()

    def _build_tools(self) -> widgets.VBox:
        """Continue, Humanize and Drumify: a strip under the drum machine, on what it plays."""
        lengths = self.state.continue_lengths
        self.continue_choice = widgets.Dropdown(
            options=[(f"{bars} bars", bars) for bars in lengths],
            value=CONTINUE_DEFAULT if CONTINUE_DEFAULT in lengths else lengths[0],
            layout=widgets.Layout(width="92px"),
        )
        self.continue_choice.add_class("ll-ex-continue-bars")
        self.continue_button = self._button(
            "Continue to",
            "Play this groove on as the same drummer would, to the length chosen (its bars "
            "are kept; the temperature slider applies)",
            lambda: self._working(
                f"Continuing to {self.continue_choice.value} bars…",
                lambda: self.state.continue_groove(self.continue_choice.value),
            ),
            "continue",
        )
        self.humanize_button = self._button(
            "Humanize",
            "Give this groove a drummer's dynamics and micro-timing (same hits)",
            lambda: self._working("Humanizing…", self.state.humanize),
            "humanize",
        )
        self.drumify_button = self._button(
            "Drumify",
            "Turn this groove's rhythm (its hits as taps on one drum) into a full kit groove",
            lambda: self._working("Drumifying…", self.state.drumify),
            "drumify",
        )
        buttons = widgets.HBox(
            [
                self.continue_button,
                self.continue_choice,
                self.humanize_button,
                self.drumify_button,
            ]
        )
        buttons.add_class("ll-ex-tool-buttons")
        bars = self.lab.bars
        note = widgets.HTML(
            f'<div class="ll-ex-tools-note">Each makes a new groove from the one playing. '
            f"A groove longer than {bars} bars plays and downloads whole; the map, grid and "
            f"sliders use its first {bars}, and an edit keeps it whole.</div>"
        )
        tools = widgets.VBox([buttons, note])
        tools.add_class("ll-ex-tools")
        return tools

    def _working(self, text: str, action: Callable[[], None]) -> None:
        """Run a model operation that may take a moment, saying so while it runs, with the
        tools disabled so a second click does not queue another."""
        buttons = (self.continue_button, self.humanize_button, self.drumify_button)
        self.status.show(text)
        for button in buttons:
            button.disabled = True
        try:
            action()
        finally:
            for button in buttons:
                button.disabled = False
        self.status.clear()

    def _slider(
        self,
        name: str,
        label: str,
        low: float = -SHIFT_RANGE,
        high: float = SHIFT_RANGE,
        value: float = 0.0,
        step: float = 0.05,
    ) -> widgets.FloatSlider:
        """A slider that reports on release."""
        slider = widgets.FloatSlider(
            value=value,
            min=low,
            max=high,
            step=step,
            description=label,
            continuous_update=False,
            readout_format="+.2f" if low < 0 else ".2f",
            layout=widgets.Layout(width=SLIDER_WIDTH),
        )
        slider.add_class("ll-ex-slider")
        slider.add_class(f"ll-ex-slider-{name.replace('_', '-')}")
        return slider

    def _layout(self) -> widgets.VBox:
        def card(title: str, note: str, *children: widgets.Widget, name: str) -> widgets.VBox:
            heading = widgets.HTML(
                f'<div class="ll-ex-heading">{html.escape(title)} '
                f"<span>· {html.escape(note)}</span></div>"
            )
            box = widgets.VBox([heading, *children])
            box.add_class("ll-ex-card")
            box.add_class(f"ll-ex-{name}")
            return box

        title = widgets.HTML(
            '<div class="ll-ex-title">latentlab <span>explorer</span></div>'
            f'<div class="ll-ex-model">{html.escape(self._model_caption())}</div>'
        )
        history = widgets.HBox([self.back_button, self.steps_label, self.forward_button])
        history.add_class("ll-ex-history")
        header = widgets.HBox([title, self.now, history])
        header.add_class("ll-ex-header")

        map_card = card(
            "Corpus map",
            "every groove of the corpus · click one to play it",
            self.map,
            name="map-card",
        )
        reset = self._button(
            "Reset sliders", "All attribute sliders back to 0", self.state.reset_amounts, "reset"
        )
        sliders = widgets.GridBox(
            [*self.sliders.values(), self.temperature_slider, reset],
            layout=widgets.Layout(grid_template_columns=f"repeat(2, {SLIDER_WIDTH})"),
        )
        sliders.add_class("ll-ex-sliders")
        shape_card = card(
            "Shape it",
            "move the groove along attribute vectors",
            sliders,
            self.temperature_note,
            name="shape-card",
        )
        grid_head = widgets.HBox([self.direction_choice, self.step_slider])
        grid_head.add_class("ll-ex-grid-head")
        grid_card = card(
            "Neighbourhood",
            "variations along two directions",
            grid_head,
            self.grid,
            name="grid-card",
        )
        text = upload_note(self.lab.bars).removesuffix(".") + ", placed on the map (◆), played."
        note = widgets.HTML(f'<div class="ll-ex-note">{html.escape(text)}</div>')
        upload_row = widgets.HBox([self.upload_button, note])
        upload_row.add_class("ll-ex-upload-row")
        left = widgets.VBox([map_card, shape_card], layout=widgets.Layout(flex="0 0 auto"))
        left.add_class("ll-ex-left")
        right = widgets.VBox(
            [self.machine, self.tools, self.actions, grid_card, upload_row],
            layout=widgets.Layout(flex="1 1 0", min_width="0"),
        )
        right.add_class("ll-ex-right")
        main = widgets.HBox([left, right])
        main.add_class("ll-ex-main")
        style = widgets.HTML(f"<style>{css_variables()}{CSS.read_text()}</style>")
        style.add_class("ll-ex-style-sheet")
        root = widgets.VBox([style, header, self.status, main])
        root.add_class("ll-explorer")
        return root

    def _model_caption(self) -> str:
        where = Path(self.lab.folder).name if self.lab.folder else "in memory"
        return f"model {where} · {self.lab.bars} bars · {len(self.lab.atlas):,} corpus grooves"

    # ---- widget callbacks ------------------------------------------------------------------
    def _map_selected(self, change: Any) -> None:
        if change.new is not None:
            self.state.select_corpus(change.new)

    def _cell_clicked(self, index: int, move: bool) -> None:
        if move:
            self.state.go_to_cell(index)
        else:
            self.state.audition(index)

    def _uploaded(self, change: Any) -> None:
        files = change.new
        if not files:
            return
        self._syncing = True
        try:
            self.upload_button.value = ()
        finally:
            self._syncing = False
        item = files[0]
        self.state.upload(item["name"], bytes(item["content"]))
        self.status.show(f"{item['name']}: encoded and placed on the map (◆).")
