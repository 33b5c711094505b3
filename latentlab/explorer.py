"""The explorer's state: where you are in latent space, how you got there, and every action a
dashboard user takes, with no widgets in it (so it is tested without a browser; the view,
`latentlab.widgets.explorer`, binds widgets to it).

The state is a history of places (latent points, with the real groove where there is one);
every action (a corpus groove, sample, sample in a style, similar, random jump, a step in the
neighbourhood grid, an upload, an edit, a continuation, humanize, drumify) adds a place, and
back and forward walk the history.

A groove longer than the model's window (a continuation, or an edit or transform of one)
plays, shows and downloads whole; its place on the map, the grid and the sliders use its
first window (that is what the model can encode). An edit of it keeps the whole groove.
Attribute amounts, the temperature and the tempo change how the current place sounds
without adding one. After each change the state holds what to show (the groove, its place
on the map, the neighbourhood grid, captions) and tells its listeners (`on_change`).
Every groove operation comes from the facade, `LatentLab`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from latentlab.attributes import attribute_label
from latentlab.continuation import MAX_SEED_BARS
from latentlab.errors import LatentLabError
from latentlab.lab import DEFAULT_BPM, DIRECTION_KINDS, LatentLab, select_windows
from latentlab.pattern import DrumPattern
from latentlab.transform import has_transform

SIMILARITY = 0.8  # how close "similar" stays to the current point
MAX_TEMPERATURE = 2.0
CENTRE = 4  # the current groove's cell in the 3x3 grid (cells row by row from the top left)
# The grid cell one step away in each direction.
KEY_CELLS = {"left": 3, "right": 5, "up": 1, "down": 7}
# The lengths Continue offers (those longer than the model's window). Each window is a search
# and a decode: with the shipped 2-bar model, beside two training jobs on 2 cores, 2 bars
# continue to 8 in 0.6 s and to 16 in 1.4 s; 32 took 3.4 s, too long to wait on a click.
CONTINUE_LENGTHS = (4, 8, 16)


@dataclass(frozen=True, eq=False)
class Place:
    """A stop in the history: a latent point and, if it is one, the real groove.

    `bpm` is its tempo (a real groove's own; a decoded one inherits the tempo of the place it
    came from); `amounts` are the attribute shifts applied to `z` while here; `seed` makes
    decoding at a temperature repeatable.
    """

    z: np.ndarray
    label: str
    bpm: float
    pattern: DrumPattern | None = None
    index: int | None = None
    amounts: tuple[tuple[str, float], ...] = ()
    seed: int = 0

    @property
    def real(self) -> bool:
        """Whether a real groove plays here (not a decode)."""
        return self.pattern is not None and not self.amounts


class ExplorerState:
    """The explorer's history, places, actions, filters and what they show."""

    def __init__(self, lab: LatentLab, seed: int | None = None) -> None:
        if lab.atlas is None:
            raise LatentLabError(f"{lab.folder}: the explorer needs a checkpoint with an atlas")
        self.lab = lab
        self.rng = np.random.default_rng(seed)
        self.history: list[Place] = []
        self.position = -1
        self.temperature = 0.0
        self.direction_kind = "attributes"
        self.pair = 0
        self.step = 1.0
        self.filters: dict[str, str | None] = {"style": None, "drummer": None, "beat_type": None}
        self.shown = np.arange(len(lab.atlas))
        self.pins: list[tuple[np.ndarray, str]] = []  # the user's grooves on the map
        self.attributes = lab.attribute_names
        # What to show, set by `_refresh`:
        self.pattern = DrumPattern.empty(lab.bars)  # the current place's groove
        self.sounding = self.pattern  # what the player plays (a grid cell when auditioned)
        self.active = CENTRE  # the grid cell that sounds
        self.xy = np.zeros(2, np.float32)
        self.grid_z = np.zeros((9, lab.z_dim), np.float32)
        self.grid_patterns: list[DrumPattern] = []
        self.axes = ("", "")
        self._listeners: list[Callable[[bool], None]] = []
        self.select_corpus(lab.pick_window(seed=self._seed()), play=False)

    def on_change(self, listener: Callable[[bool], None]) -> None:
        """Call `listener(play)` after every change; `play` asks for the sound to start."""
        self._listeners.append(listener)

    # ---- where we are ----------------------------------------------------------------------
    @property
    def place(self) -> Place:
        return self.history[self.position]

    @property
    def z(self) -> np.ndarray:
        """The current latent point: the place's point shifted by its attribute amounts."""
        place = self.place
        return self.lab.shift(place.z, dict(place.amounts)) if place.amounts else place.z

    @property
    def can_go_back(self) -> bool:
        return self.position > 0

    @property
    def can_go_forward(self) -> bool:
        return self.position < len(self.history) - 1

    def _seed(self) -> int:
        return int(self.rng.integers(2**31))

    def _decode(self, z: np.ndarray, seed: int) -> list[DrumPattern]:
        return self.lab.decode(z, self.temperature or None, seed, bpm=self.place.bpm)

    # ---- moving ----------------------------------------------------------------------------
    def go(self, place: Place, play: bool = True) -> None:
        """Go to a new place: it replaces any forward history."""
        del self.history[self.position + 1 :]
        self.history.append(place)
        self.position = len(self.history) - 1
        self._refresh(play)

    def _derived(self, z: np.ndarray, label: str, seed: int | None = None) -> Place:
        """A decoded place reached from here: it keeps the current tempo."""
        bpm = self.place.bpm if self.history else DEFAULT_BPM
        return Place(z, label, bpm, seed=self._seed() if seed is None else seed)

    def select_corpus(self, index: int, play: bool = True) -> None:
        """Go to the corpus window at an atlas index: its real groove plays."""
        groove = self.lab.corpus_groove(index)
        self.go(
            Place(groove.z, groove.label, groove.pattern.bpm, groove.pattern, groove.index), play
        )

    def sample(self, style: str = "") -> None:
        """Go to a new groove from the sampler (in a style, when given)."""
        seed = self._seed()
        z, label = self.lab.draw(seed, style)
        self.go(self._derived(z, label, seed))

    def similar(self) -> None:
        """Go to a point near the current one."""
        seed = self._seed()
        z = self.lab.similar(self.z, 1, SIMILARITY, seed)[0]
        self.go(self._derived(z, "a groove similar to the last one", seed))

    def set_filters(
        self, style: str | None = None, drummer: str | None = None, beat_type: str | None = None
    ) -> None:
        """Keep the random jump to corpus windows of a style, drummer and beat type (None: any)."""
        self.shown = select_windows(self.lab.atlas, style, drummer, beat_type)
        self.filters = {"style": style, "drummer": drummer, "beat_type": beat_type}

    def random_jump(self) -> None:
        """Go to a random corpus groove among those the filters keep."""
        if len(self.shown) == 0:
            raise LatentLabError("random jump: the map's filters show no grooves")
        self.select_corpus(int(self.rng.choice(self.shown)))

    def move(self, key: str) -> None:
        """One step to a neighbour in the grid: 'left', 'right', 'up' or 'down'."""
        if key not in KEY_CELLS:
            raise LatentLabError(f"move: {key!r} is not left, right, up or down")
        self.go_to_cell(KEY_CELLS[key])

    def go_to_cell(self, index: int) -> None:
        """Go to a cell of the neighbourhood grid (0..8, row by row from the top left)."""
        if index != CENTRE:
            self.go(self._derived(self.grid_z[index], self._cell_label(index)))

    def _cell_label(self, index: int) -> str:
        """A grid cell in words: which way it lies from the centre."""
        row, col = divmod(index, 3)
        steps = ((self.axes[0], col - 1), (self.axes[1], 1 - row))
        return ", ".join(f"{'more' if d > 0 else 'less'} {name}" for name, d in steps if d)

    def audition(self, index: int) -> None:
        """Play a cell of the grid without going there."""
        if not 0 <= index < len(self.grid_patterns):
            raise LatentLabError(f"audition: no grid cell {index}")
        self.sounding, self.active = self.grid_patterns[index], index
        self._notify(True)

    def back(self) -> None:
        if self.can_go_back:
            self.position -= 1
            self._refresh(True)

    def forward(self) -> None:
        if self.can_go_forward:
            self.position += 1
            self._refresh(True)

    # ---- shaping the current place ---------------------------------------------------------
    def set_amount(self, name: str, amount: float) -> None:
        """Shift the current place along an attribute vector (0: not at all)."""
        if name not in self.attributes:
            raise LatentLabError(
                f"attribute {name!r} is unknown; known: {', '.join(self.attributes)}"
            )
        amounts = dict(self.place.amounts)
        amounts[name] = float(amount)
        kept = tuple((n, a) for n, a in amounts.items() if a != 0)
        self._replace(amounts=kept)
        self._refresh(True)

    def reset_amounts(self) -> None:
        self._replace(amounts=())
        self._refresh(True)

    def set_temperature(self, temperature: float) -> None:
        """Decode at this temperature from now on (0: the most likely hits). It applies to
        the grooves the model decodes: a real groove plays as it was recorded."""
        if not 0 <= temperature <= MAX_TEMPERATURE:
            raise LatentLabError(f"temperature {temperature} is outside 0..{MAX_TEMPERATURE:g}")
        self.temperature = float(temperature)
        self._refresh(False)

    def set_bpm(self, bpm: float) -> None:
        """Play the current place at this tempo; the places reached from it keep it."""
        if bpm == self.place.bpm:
            return
        self.pattern.with_bpm(bpm)  # refuses a tempo outside 20..400, naming it
        self._replace(bpm=float(bpm))
        self._refresh(False)

    def set_directions(self, kind: str | None = None, pair: int | None = None) -> None:
        """Choose the grid's two directions: a kind (see DIRECTION_KINDS) and which pair of
        them; 'c' takes the next pair."""
        if kind is not None:
            if kind not in DIRECTION_KINDS:
                raise LatentLabError(f"directions: {kind!r} is not {', '.join(DIRECTION_KINDS)}")
            self.direction_kind, self.pair = kind, 0
        if pair is not None:
            self.pair = int(pair)
        self._update_grid()
        self._notify(False)

    def next_directions(self) -> None:
        self.set_directions(pair=self.pair + 1)

    def set_step(self, step: float) -> None:
        """The grid's step, in corpus spreads along each direction."""
        if not step > 0:
            raise LatentLabError(f"step {step} must be positive")
        self.step = float(step)
        self._update_grid()
        self._notify(False)

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

    # ---- grooves of the user's -------------------------------------------------------------
    def upload(self, name: str, data: bytes) -> None:
        """A MIDI groove of the user's (read by the facade's one rule), pinned on the map and
        played (its first bars)."""
        groove = self.lab.read_groove(data, name)
        self.pins.append((self.lab.place(groove.z[None])[0], name))
        pattern = groove.pattern
        self.go(Place(groove.z, groove.label, pattern.bpm, pattern, seed=self._seed()))

    def edit(self, pattern: DrumPattern) -> None:
        """The groove edited in the drum machine, kept as a new place (playing on, or not, as
        it was). A groove longer than the model's window stays whole; its first window is
        what is encoded and placed on the map."""
        label = "your edit"
        if pattern.bars > self.lab.bars:
            label += f" ({pattern.bars} bars)"
        else:
            pattern = self.lab.fit(pattern)
        self._go_with(pattern, label, play=False)

    # ---- the model's operations on the groove in the drum machine --------------------------
    @property
    def continue_lengths(self) -> list[int]:
        """The lengths, in bars, Continue offers for this model."""
        return [bars for bars in CONTINUE_LENGTHS if bars > self.lab.bars]

    def continue_groove(self, bars: int) -> None:
        """Play the groove in the drum machine on to `bars` bars as the same drummer would
        (`LatentLab.continue_groove`, at the explorer's temperature). Its empty last bars are
        not part of the seed: a groove drawn in bar 1 only is continued from bar 1."""
        seed = self._filled_bars(self.sounding)
        if seed.bars > MAX_SEED_BARS:
            raise LatentLabError(
                f"Continue plays on from a groove of 1 to {MAX_SEED_BARS} bars; this one has "
                f"{seed.bars}. Go back (◀) to a shorter groove, or pick another."
            )
        if bars <= seed.bars:
            raise LatentLabError(
                f"This groove already has {seed.bars} bars: continue it to more than that."
            )
        groove = self.lab.continue_groove(seed, bars, self.temperature or None, self._seed())
        self._go_with(groove, f"continued to {bars} bars: {self._sounding_label()}")

    def humanize(self) -> None:
        """The groove in the drum machine with a drummer's dynamics and timing
        (`LatentLab.humanize`): the same hits, new velocities and offsets."""
        self._need_transform("humanize", "Humanize")
        self._go_with(self.lab.humanize(self.sounding), f"humanized: {self._sounding_label()}")

    def drumify(self) -> None:
        """A full kit groove that follows the rhythm of the groove in the drum machine
        (`LatentLab.drumify`)."""
        self._need_transform("drumify", "Drumify")
        self._go_with(self.lab.drumify(self.sounding), f"drumified: {self._sounding_label()}")

    def _need_transform(self, kind: str, button: str) -> None:
        """Refuse, in the page's words, a transform this checkpoint has no model for (the
        facade's own error names the command that trains one: for whoever runs the server)."""
        if self.lab.folder is None or not has_transform(self.lab.folder, kind):
            name = Path(self.lab.folder).name if self.lab.folder else "in memory"
            raise LatentLabError(
                f"{button} is not available with this model ({name}): no {kind} model was "
                "trained for it."
            )

    def _sounding_label(self) -> str:
        """What the drum machine plays, in words: the current place or an auditioned cell."""
        return self.title() if self.active == CENTRE else self._cell_label(self.active)

    def _go_with(self, pattern: DrumPattern, label: str, play: bool = True) -> None:
        """Go to a groove made here: kept whole, its first window encoded and placed."""
        z = self.lab.encode(pattern)[0]
        self.go(Place(z, label, pattern.bpm, pattern, seed=self._seed()), play)

    @staticmethod
    def _filled_bars(pattern: DrumPattern) -> DrumPattern:
        """The pattern up to its last bar with a hit (at least one bar)."""
        filled = np.flatnonzero(pattern.hits.reshape(pattern.bars, -1).any(axis=1))
        return pattern.bar_slice(0, int(filled[-1]) + 1 if len(filled) else 1)

    # ---- what to show ----------------------------------------------------------------------
    def title(self) -> str:
        """The current place in words, with its shifts."""
        place = self.place
        shifts = ", ".join(f"{attribute_label(n).lower()} {a:+.2f}" for n, a in place.amounts)
        return place.label + (f" (shifted: {shifts})" if shifts else "")

    def detail(self) -> str:
        """Where the current place is in the corpus, and what the temperature does to it."""
        place = self.place
        if place.index is not None and not place.amounts:
            where = f"corpus groove #{place.index}"
        else:
            near = self.lab.nearest(self.z, 1)[0][0]
            where = f"closest corpus groove: {near['style']} · {near['drummer']}"
        whole = f"{where} · {self.pattern.bpm:.0f} bpm"
        if self.pattern.bars > self.lab.bars:
            whole += (
                f" · {self.pattern.bars} bars: the map, grid and sliders use the first "
                f"{self.lab.bars}"
            )
        return whole

    def temperature_note(self) -> str:
        """What the temperature applies to, for the place shown."""
        if self.temperature == 0:
            return "Temperature 0: the model plays its most likely hits."
        if self.place.real:
            return (
                f"Temperature {self.temperature:.2f} samples the model's grooves (the grid, "
                "Sample, Similar, the sliders, Continue); this groove is not a decode, so it "
                "plays as it is."
            )
        return f"Temperature {self.temperature:.2f}: the hits of this groove are sampled."

    def history_text(self) -> str:
        return f"{self.position + 1} / {len(self.history)}"

    # ---- keeping it up to date -------------------------------------------------------------
    def _replace(self, **changes) -> None:
        self.history[self.position] = replace(self.place, **changes)

    def _refresh(self, play: bool) -> None:
        """Decode the current place, place it on the map and rebuild the grid."""
        place = self.place
        if place.real:
            self.pattern = place.pattern.with_bpm(place.bpm)
        else:
            self.pattern = self._decode(self.z[None], place.seed)[0]
        if place.index is not None and not place.amounts:
            self.xy = self.lab.atlas.coords[place.index]
        else:
            self.xy = self.lab.place(self.z)[0]
        self._update_grid()
        self._notify(play)

    def _update_grid(self) -> None:
        self.axes = self.lab.directions(self.direction_kind, self.pair)[1]
        grid = self.lab.neighbourhood(self.z, self.direction_kind, 3, self.step, self.pair)
        # grid[a, b] is a steps along the first direction (x) and b along the second (y);
        # cells go row by row from the top, where y is largest.
        self.grid_z = np.stack([grid[col, 2 - row] for row in range(3) for col in range(3)])
        decoded = self._decode(self.grid_z, self.place.seed)
        decoded[CENTRE] = self.pattern
        self.grid_patterns = decoded
        self.sounding, self.active = self.pattern, CENTRE

    def _notify(self, play: bool) -> None:
        for listener in self._listeners:
            listener(play)
