"""Explorer: the landing dashboard. Walk the latent space of a drum VAE and hear every step.

The state is a history of places (latent points, with the real groove where there is one);
every action (a click on the map, sample, sample in a style, similar, random jump, a step in
the neighbourhood grid, an upload, an edit in the drum machine) adds a place, and back and
forward walk the history. Attribute sliders and the temperature change how the current place
sounds without adding one. Each action is a method, so tests drive the explorer without a
browser; `show()` gives the dashboard's widget.

    from latentlab.widgets.explorer import Explorer
    Explorer.load().show()
"""

from __future__ import annotations

import functools
import html
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np

from latentlab.atlas import Atlas
from latentlab.errors import LatentLabError
from latentlab.lab import LatentLab
from latentlab.pattern import DRUM_CHANNEL, DrumPattern, read_midi
from latentlab.widgets.drum_machine import DrumMachine
from latentlab.widgets.latent_map import LatentMap
from latentlab.widgets.neighbour_grid import CENTRE, NeighbourGrid

CSS = Path(__file__).with_name("explorer.css")
# Attribute sliders first in this order (others the atlas has follow), with their names.
ATTRIBUTE_LABELS = {
    "density": "Density",
    "shuffle": "Shuffle",
    "syncopation": "Syncopation",
    "laid_back": "Laid back",
    "accent": "Accent",
    "kick_density": "Kick",
    "snare_density": "Snare",
    "hihat_density": "Hi-hat",
    "toms_density": "Toms",
    "cymbals_density": "Cymbals",
}
DIRECTION_KINDS = (
    ("Attribute vectors", "attributes"),
    ("Latent dimensions", "dimensions"),
    ("Principal directions", "principal"),
)
SHIFT_RANGE = 1.5  # slider range, in attribute vectors (top minus bottom quartile means)
SIMILARITY = 0.8  # how close "similar" stays to the current point
PRINCIPAL = 16  # principal directions the grid cycles through
# The grid cell one step away in each direction (cells row by row from the top left).
KEY_CELLS = {"left": 3, "right": 5, "up": 1, "down": 7}


@dataclass(frozen=True, eq=False)
class Place:
    """A stop in the explorer's history: a latent point and, if it is one, the real groove.

    `amounts` are the attribute shifts (the sliders) applied to `z` while here; `seed` makes
    decoding at a temperature repeatable.
    """

    z: np.ndarray
    label: str
    pattern: DrumPattern | None = None
    index: int | None = None
    amounts: tuple[tuple[str, float], ...] = ()
    seed: int = 0


def attribute_label(name: str) -> str:
    return ATTRIBUTE_LABELS.get(name, name.replace("_", " ").capitalize())


class Explorer:
    """The explorer's state and actions, and its widgets (`show()`)."""

    def __init__(self, lab: LatentLab, seed: int | None = None) -> None:
        if lab.atlas is None:
            raise LatentLabError(f"{lab.folder}: the explorer needs a checkpoint with an atlas")
        self.lab = lab
        self.atlas: Atlas = lab.atlas
        self.rng = np.random.default_rng(seed)
        self.history: list[Place] = []
        self.position = -1
        self.temperature = 0.0
        self.direction_kind = "attributes"
        self.pair = 0
        self.step = 1.0
        self.errors: list[str] = []  # tracebacks of unexpected errors in callbacks
        self.grid_z = np.zeros((9, lab.z_dim), np.float32)
        self.grid_patterns: list[DrumPattern] = []
        self.pattern = DrumPattern.empty(lab.bars)
        self.xy = np.zeros(2, np.float32)
        order = list(ATTRIBUTE_LABELS)
        self.attributes = [n for n in order if n in lab.attribute_names] + [
            n for n in lab.attribute_names if n not in order
        ]
        variance = self.atlas.latents.var(0)
        self._active_dims = np.argsort(-variance)[: max(2, int((variance > 1e-3).sum()))]
        self._principal: np.ndarray | None = None
        self._setting_pattern = False
        self._build_widgets()
        beats = np.flatnonzero(self.atlas.meta["beat_type"] == "beat")
        start = int(self.rng.choice(beats if len(beats) else np.arange(len(self.atlas))))
        self.select_corpus(start, play=False)

    @classmethod
    def load(cls, checkpoint: str | os.PathLike | None = None, seed: int | None = None) -> Explorer:
        """An explorer of a checkpoint (the shipped model, or $LATENTLAB_CHECKPOINT)."""
        return cls(LatentLab.load(checkpoint), seed)

    # ---- where we are ----------------------------------------------------------------------
    @property
    def place(self) -> Place:
        return self.history[self.position]

    @property
    def z(self) -> np.ndarray:
        """The current latent point: the place's point shifted by the attribute sliders."""
        place = self.place
        return self.lab.shift(place.z, dict(place.amounts)) if place.amounts else place.z

    def _decode(self, z: np.ndarray, seed: int) -> list[DrumPattern]:
        return self.lab.decode(z, self.temperature or None, seed, bpm=self.machine.bpm)

    def _seed(self) -> int:
        return int(self.rng.integers(2**31))

    # ---- moving ------------------------------------------------------------------------------
    def go(self, place: Place, play: bool = True) -> None:
        """Go to a new place: it replaces any forward history."""
        del self.history[self.position + 1 :]
        self.history.append(place)
        self.position = len(self.history) - 1
        self._refresh(play)

    def select_corpus(self, index: int, play: bool = True) -> None:
        """Go to the corpus window at an atlas index: its real groove plays."""
        index = int(index)
        if not 0 <= index < len(self.atlas):
            raise LatentLabError(f"no corpus window {index} (the atlas has {len(self.atlas)})")
        pattern = self.lab.corpus_pattern(index)
        self.go(Place(self.atlas.latents[index], self.describe(index), pattern, index), play)

    def sample(self) -> None:
        """Go to a new point drawn from the prior."""
        seed = self._seed()
        z = self.lab.sample_latents(1, seed)[0]
        self.go(Place(z, "a new groove from the prior", seed=seed))

    def sample_style(self, style: str) -> None:
        """Go to a new point drawn from a style's region of the latent space."""
        seed = self._seed()
        z = self.lab.sample_style_latents(style, 1, 1.0, seed)[0]
        self.go(Place(z, f"a new {style} groove", seed=seed))

    def similar(self) -> None:
        """Go to a point near the current one."""
        seed = self._seed()
        z = self.lab.similar(self.z, 1, SIMILARITY, seed)[0]
        self.go(Place(z, "a groove similar to the last one", seed=seed))

    def random_jump(self) -> None:
        """Go to a random corpus groove among those the map shows."""
        shown = self.map.shown
        if len(shown) == 0:
            raise LatentLabError("random jump: the map's filters show no grooves")
        self.select_corpus(int(self.rng.choice(shown)))

    def move(self, key: str) -> None:
        """One step to a neighbour in the grid: 'left', 'right', 'up' or 'down'."""
        if key not in KEY_CELLS:
            raise LatentLabError(f"move: {key!r} is not left, right, up or down")
        self.go_to_cell(KEY_CELLS[key])

    def go_to_cell(self, index: int) -> None:
        """Go to a cell of the neighbourhood grid (0..8, row by row from the top left)."""
        if index == CENTRE:
            return
        row, col = divmod(index, 3)
        x, y = self.grid.x_label, self.grid.y_label
        where = ", ".join(
            f"{'more' if d > 0 else 'less'} {name}" for name, d in ((x, col - 1), (y, 1 - row)) if d
        )
        self.go(Place(self.grid_z[index], where, seed=self._seed()))

    def audition(self, index: int) -> None:
        """Play a cell of the grid without going there."""
        self._set_pattern(self.grid_patterns[index])
        self.grid.active = index
        self.machine.playing = True

    def back(self) -> None:
        if self.position > 0:
            self.position -= 1
            self._refresh(True)

    def forward(self) -> None:
        if self.position < len(self.history) - 1:
            self.position += 1
            self._refresh(True)

    # ---- shaping the current place -------------------------------------------------------------
    def set_amount(self, name: str, amount: float) -> None:
        """Shift the current place along an attribute vector (0: not at all)."""
        if name not in self.attributes:
            raise LatentLabError(
                f"attribute {name!r} is unknown; known: {', '.join(self.attributes)}"
            )
        amounts = dict(self.place.amounts)
        amounts[name] = float(amount)
        kept = tuple((n, a) for n, a in amounts.items() if a != 0)
        self.history[self.position] = replace(self.place, amounts=kept)
        self._refresh(True)

    def reset_amounts(self) -> None:
        self.history[self.position] = replace(self.place, amounts=())
        self._refresh(True)

    def set_temperature(self, temperature: float) -> None:
        """Decode at this temperature from now on (0: the most likely hits)."""
        if not 0 <= temperature <= 2:
            raise LatentLabError(f"temperature {temperature} is outside 0..2")
        self.temperature = float(temperature)
        self._refresh(False)

    def set_directions(self, kind: str | None = None, pair: int | None = None) -> None:
        """Choose the grid's two directions: a kind (attributes, dimensions, principal) and
        which pair of them; 'c' takes the next pair."""
        if kind is not None:
            if kind not in {value for _, value in DIRECTION_KINDS}:
                raise LatentLabError(
                    f"directions: {kind!r} is not attributes, dimensions or principal"
                )
            self.direction_kind = kind
            self.direction_choice.value = kind
            self.pair = 0
        if pair is not None:
            self.pair = int(pair)
        self._update_grid()

    def next_directions(self) -> None:
        self.set_directions(pair=self.pair + 1)

    def key(self, key: str) -> None:
        """A key of the page: arrows move, 'c' changes the directions, 'r' jumps."""
        if key in KEY_CELLS:
            self.move(key)
        elif key == "c":
            self.next_directions()
        elif key == "r":
            self.random_jump()
        else:
            raise LatentLabError(f"key {key!r} does nothing here")

    # ---- grooves of the user's ---------------------------------------------------------------
    def upload(self, name: str, data: bytes) -> None:
        """Encode a MIDI groove, pin it on the map and play it (its first bars)."""
        pattern = self.read_groove(name, data)
        z = self.lab.encode(pattern)[0]
        self.map.pin(self.lab.place(z)[0], name)
        self.go(Place(z, f"{name} (yours)", pattern, seed=self._seed()))

    def read_groove(self, name: str, data: bytes) -> DrumPattern:
        """A pattern of the model's length from MIDI bytes; drums on any channel if the file
        has none on channel 10. Errors name the file."""
        channel = DRUM_CHANNEL
        content = read_midi(bytes(data), channel, name)
        if not content.onsets and content.other_channel_notes:
            channel = None
        return DrumPattern.from_midi(bytes(data), bars=self.lab.bars, channel=channel, name=name)

    def edit(self, pattern: DrumPattern) -> None:
        """The groove edited in the drum machine: encoded, placed and kept as a new place
        (playing on, or not, as it was)."""
        z = self.lab.encode(pattern)[0]
        self.go(Place(z, "your edit", pattern, seed=self._seed()), play=False)

    # ---- describing ----------------------------------------------------------------------------
    def describe(self, index: int) -> str:
        """A corpus window in words: style, substyle, drummer, tempo, beat or fill."""
        r = self.lab.record(index)
        style = "/".join(s for s in (r["style"], r["substyle"]) if s) or "corpus groove"
        bars = f"bars {r['first_bar'] + 1}–{r['first_bar'] + self.lab.bars}"
        parts = (style, r["drummer"], f"{r['bpm']:.0f} bpm", r["beat_type"], bars)
        return " · ".join(p for p in parts if p)

    # ---- the grid's directions -----------------------------------------------------------------
    def directions(self) -> tuple[np.ndarray, str, str]:
        """The grid's two directions (2, z_dim) and their names."""
        pair = self.pair
        if self.direction_kind == "attributes":
            names = self.attributes
            a, b = names[(2 * pair) % len(names)], names[(2 * pair + 1) % len(names)]
            return (
                self.lab.directions([a, b]),
                attribute_label(a).lower(),
                attribute_label(b).lower(),
            )
        if self.direction_kind == "dimensions":
            dims = self._active_dims
            i, j = int(dims[(2 * pair) % len(dims)]), int(dims[(2 * pair + 1) % len(dims)])
            return np.eye(self.lab.z_dim, dtype=np.float32)[[i, j]], f"z[{i}]", f"z[{j}]"
        if self._principal is None:
            latents = self.atlas.latents
            _, _, vt = np.linalg.svd(latents - latents.mean(0), full_matrices=False)
            self._principal = vt[:PRINCIPAL].astype(np.float32)
        n = len(self._principal)
        i, j = (2 * pair) % n, (2 * pair + 1) % n
        return self._principal[[i, j]], f"principal {i + 1}", f"principal {j + 1}"

    # ---- showing the state ---------------------------------------------------------------------
    def _set_pattern(self, pattern: DrumPattern) -> None:
        if self.machine.pattern == pattern:
            return
        self._setting_pattern = True
        try:
            self.machine.pattern = pattern
        finally:
            self._setting_pattern = False

    def _refresh(self, play: bool) -> None:
        """Decode the current place, play it (first, for a quick sound), mark it, then the
        grid, the sliders and the captions."""
        place = self.place
        if place.pattern is not None and not place.amounts:
            self.pattern = place.pattern
            if place.pattern.bpm != self.machine.bpm:
                self.machine.bpm = place.pattern.bpm
        else:
            self.pattern = self._decode(self.z[None], place.seed)[0]
        self._set_pattern(self.pattern)
        if play:
            self.machine.playing = True
        if place.index is not None and not place.amounts:
            self.xy = self.atlas.coords[place.index]
        else:
            self.xy = self.lab.place(self.z)[0]
        self.map.mark(self.xy)
        self._show_place()
        self._update_grid()

    def _update_grid(self) -> None:
        d, x_label, y_label = self.directions()
        grid = self.lab.neighbourhood(self.z, [d[0], d[1]], size=3, step=self.step)
        # grid[a, b] is a steps along d[0] (x) and b along d[1] (y); cells go row by row from
        # the top, where y is largest.
        cells = np.stack([grid[col, 2 - row] for row in range(3) for col in range(3)])
        self.grid_z = cells
        decoded = self._decode(cells, self.place.seed)
        decoded[CENTRE] = self.pattern
        self.grid_patterns = decoded
        self.grid.show(decoded, x_label, y_label)

    def _show_place(self) -> None:
        place = self.place
        if place.index is None or place.amounts:
            near = self.lab.nearest(self.z, 1)[0][0]
            detail = f"closest corpus groove: {near['style']} · {near['drummer']}"
        else:
            detail = f"corpus groove #{place.index}"
        shifts = ", ".join(f"{attribute_label(n).lower()} {a:+.2f}" for n, a in place.amounts)
        title = html.escape(place.label + (f" (shifted: {shifts})" if shifts else ""))
        self.now.value = (
            f'<span class="ll-ex-now-label">Current groove</span> <b>{title}</b>'
            f'<span class="ll-ex-now-detail">{html.escape(detail)}</span>'
        )
        self.back_button.disabled = self.position == 0
        self.forward_button.disabled = self.position == len(self.history) - 1
        self.steps_label.value = f"{self.position + 1} / {len(self.history)}"
        amounts = dict(place.amounts)
        for name, slider in self.sliders.items():
            value = amounts.get(name, 0.0)
            if slider.value != value:
                slider.unobserve(self._slider_changed, "value")
                slider.value = value
                slider.observe(self._slider_changed, "value")

    def say(self, text: str, error: bool = False) -> None:
        """Show a message above the dashboard (errors in red)."""
        self.message.value = html.escape(text)
        self.message.layout.display = "" if text else "none"
        if error:
            self.message.add_class("ll-ex-error")
        else:
            self.message.remove_class("ll-ex-error")

    def _guard(self, action: Callable[..., Any]) -> Callable[..., None]:
        """A widget callback that shows errors in the message line instead of losing them."""

        @functools.wraps(action)
        def run(*args: Any) -> None:
            self.say("")
            try:
                action(*args)
            except LatentLabError as exc:
                self.say(str(exc), error=True)
            except Exception as exc:
                self.errors.append(traceback.format_exc())
                print(self.errors[-1], file=sys.stderr)
                self.say(f"Something went wrong: {type(exc).__name__}: {exc}", error=True)

        return run

    # ---- widgets ---------------------------------------------------------------------------------
    def _button(self, text: str, tip: str, action: Callable[[], None], name: str):
        button = widgets.Button(description=text, tooltip=tip)
        button.add_class("ll-ex-button")
        button.add_class(f"ll-ex-{name}")
        button.on_click(self._guard(lambda _: action()))
        return button

    def _build_widgets(self) -> None:
        lab = self.lab
        self.machine = DrumMachine(DrumPattern.empty(lab.bars))
        self.machine.add_class("ll-ex-machine")
        self.machine.observe(self._guard(self._machine_changed), "pattern")
        self.map = LatentMap(self.atlas, width=600, height=320)
        self.map.observe(self._guard(self._map_selected), "selected")
        self.grid = NeighbourGrid()
        self.grid.add_class("ll-ex-grid")
        self.grid.on_cell(self._guard(self._cell_clicked))
        self.grid.on_key(self._guard(self.key))

        self.message = widgets.HTML(layout=widgets.Layout(display="none"))
        self.message.add_class("ll-ex-message")
        self.now = widgets.HTML()
        self.now.add_class("ll-ex-now")
        self.back_button = self._button("◀ Back", "Back in your history", self.back, "back")
        self.forward_button = self._button("Forward ▶", "Forward again", self.forward, "forward")
        self.steps_label = widgets.HTML()
        self.steps_label.add_class("ll-ex-steps")

        self.style_choice = widgets.Dropdown(
            options=lab.styles, layout=widgets.Layout(width="120px")
        )
        self.style_choice.add_class("ll-ex-style")
        self.actions = widgets.HBox(
            [
                self._button("Sample", "A new groove from the prior", self.sample, "sample"),
                self._button("Similar", "A groove near this one", self.similar, "similar"),
                self._button(
                    "Random jump", "A random groove of the map (r)", self.random_jump, "jump"
                ),
                self.style_choice,
                self._button(
                    "Sample in style",
                    "A new groove in the chosen style",
                    lambda: self.sample_style(self.style_choice.value),
                    "sample-style",
                ),
            ]
        )
        self.actions.add_class("ll-ex-actions")

        self.sliders = {name: self._slider(name) for name in self.attributes}
        self.temperature_slider = self._slider("temperature", "Temperature", 0.0, 1.5)
        self.temperature_slider.observe(
            self._guard(lambda change: self.set_temperature(change.new)), "value"
        )
        self.direction_choice = widgets.Dropdown(
            options=DIRECTION_KINDS, value=self.direction_kind, layout=widgets.Layout(width="180px")
        )
        self.direction_choice.add_class("ll-ex-directions")
        self.direction_choice.observe(self._guard(self._directions_chosen), "value")
        self.step_slider = self._slider("step", "Step size", 0.25, 2.0, self.step, step=0.25)
        self.step_slider.observe(self._guard(self._step_changed), "value")
        self.upload_button = widgets.FileUpload(
            accept=".mid,.midi",
            multiple=False,
            description="Upload MIDI",
            layout=widgets.Layout(width="auto", flex="0 0 auto"),
        )
        self.upload_button.add_class("ll-ex-upload")
        self.upload_button.observe(self._guard(self._uploaded), "value")
        self.root = self._layout()

    def _slider(
        self,
        name: str,
        label: str | None = None,
        low: float = -SHIFT_RANGE,
        high: float = SHIFT_RANGE,
        value: float = 0.0,
        step: float = 0.05,
    ) -> widgets.FloatSlider:
        """A slider that reports on release; attribute sliders shift the current place."""
        slider = widgets.FloatSlider(
            value=value,
            min=low,
            max=high,
            step=step,
            description=label or attribute_label(name),
            continuous_update=False,
            readout_format="+.2f" if low < 0 else ".2f",
            layout=widgets.Layout(width="286px"),
        )
        slider.add_class("ll-ex-slider")
        slider.add_class(f"ll-ex-slider-{name.replace('_', '-')}")
        if name in self.attributes:
            slider.observe(self._slider_changed, "value")
        return slider

    def _layout(self) -> widgets.VBox:
        def card(title: str, *children: widgets.Widget, name: str) -> widgets.VBox:
            heading = widgets.HTML(f'<div class="ll-ex-heading">{title}</div>')
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
            "Corpus map <span>· every groove of the corpus · click one to play it</span>",
            self.map,
            name="map-card",
        )
        sliders = widgets.GridBox(
            [*self.sliders.values(), self.temperature_slider, self._reset_button()],
            layout=widgets.Layout(grid_template_columns="repeat(2, 286px)"),
        )
        sliders.add_class("ll-ex-sliders")
        shape_card = card(
            "Shape it <span>· move the groove along attribute vectors</span>",
            sliders,
            name="shape-card",
        )
        grid_head = widgets.HBox([self.direction_choice, self.step_slider])
        grid_head.add_class("ll-ex-grid-head")
        grid_card = card(
            "Neighbourhood <span>· variations along two directions</span>",
            grid_head,
            self.grid,
            name="grid-card",
        )
        upload_note = widgets.HTML(
            '<div class="ll-ex-note">Your own groove: a 4/4 drum MIDI file. Its first bars are '
            "encoded, placed on the map (◆) and played.</div>"
        )
        upload_row = widgets.HBox([self.upload_button, upload_note])
        upload_row.add_class("ll-ex-upload-row")
        left = widgets.VBox([map_card, shape_card], layout=widgets.Layout(flex="0 0 auto"))
        left.add_class("ll-ex-left")
        right = widgets.VBox(
            [self.machine, self.actions, grid_card, upload_row],
            layout=widgets.Layout(flex="1 1 0", min_width="0"),
        )
        right.add_class("ll-ex-right")
        main = widgets.HBox([left, right])
        main.add_class("ll-ex-main")
        style = widgets.HTML(f"<style>{CSS.read_text()}</style>")
        style.add_class("ll-ex-style-sheet")
        root = widgets.VBox([style, header, self.message, main])
        root.add_class("ll-explorer")
        return root

    def _reset_button(self) -> widgets.Button:
        return self._button(
            "Reset sliders", "All attribute sliders back to 0", self.reset_amounts, "reset"
        )

    def _model_caption(self) -> str:
        where = Path(self.lab.folder).name if self.lab.folder else "in memory"
        return f"model {where} · {self.lab.bars} bars · {len(self.atlas):,} corpus grooves"

    def show(self) -> widgets.VBox:
        """The dashboard's widget."""
        return self.root

    # ---- widget callbacks ------------------------------------------------------------------------
    def _map_selected(self, change: Any) -> None:
        if change.new is not None:
            self.select_corpus(change.new)

    def _machine_changed(self, change: Any) -> None:
        if not self._setting_pattern:
            self.edit(change.new)

    def _cell_clicked(self, index: int, move: bool) -> None:
        if move:
            self.go_to_cell(index)
        else:
            self.audition(index)

    def _slider_changed(self, change: Any) -> None:
        name = next(n for n, s in self.sliders.items() if s is change.owner)
        self._guard(self.set_amount)(name, change.new)

    def _directions_chosen(self, change: Any) -> None:
        if change.new != self.direction_kind:
            self.set_directions(change.new)

    def _step_changed(self, change: Any) -> None:
        self.step = float(change.new)
        self._update_grid()

    def _uploaded(self, change: Any) -> None:
        files = change.new
        if not files:
            return
        self.upload_button.value = ()
        for item in files:
            self.upload(item["name"], bytes(item["content"]))
            self.say(f"{item['name']}: encoded and placed on the map (◆).")
