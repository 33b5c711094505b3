"""GroovePicker: choose a groove from the corpus, sample one, or upload a MIDI file.

Every choice becomes a `Groove`: the pattern at the model's length, its latent point and a
caption. The picker's `groove` trait holds the current one; observe it to react.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import traitlets

from latentlab.errors import LatentLabError
from latentlab.lab import LatentLab
from latentlab.pattern import DrumPattern
from latentlab.widgets.common import StatusLine
from latentlab.widgets.latent_map import LatentMap
from latentlab.widgets.pattern_strip import PatternStrip


@dataclass(eq=False)
class Groove:
    """A chosen groove: its pattern (model length), latent point (z_dim,), caption, and its
    atlas index when it is a corpus window."""

    pattern: DrumPattern
    z: np.ndarray
    label: str
    index: int | None = None


def fit(pattern: DrumPattern, steps: int) -> DrumPattern:
    """The pattern cut, or padded with silence, to `steps` steps."""
    hvo = pattern.to_array()[:steps]
    hvo = np.pad(hvo, ((0, steps - len(hvo)), (0, 0)))
    return DrumPattern.from_array(hvo, pattern.bpm)


def corpus_groove(lab: LatentLab, index: int) -> Groove:
    """The corpus window at an atlas index, with its stored latent point."""
    r = lab.record(index)
    bars = f"bars {r['first_bar'] + 1}–{r['first_bar'] + lab.bars}"
    parts = (r["style"], r["drummer"], r["substyle"], bars, f"{r['bpm']:g} bpm")
    label = " · ".join(p for p in parts if p)
    return Groove(lab.corpus_pattern(index), lab.atlas.latents[index].copy(), label, index)


def sampled_groove(lab: LatentLab, seed: int, style: str = "") -> Groove:
    """A greedy decode of a point drawn from the prior, or from a style's Gaussian."""
    if style:
        z = lab.sample_style_latents(style, 1, seed=seed)[0]
        label = f"sampled from the {style} Gaussian (seed {seed})"
    else:
        z = lab.sample_latents(1, seed)[0]
        label = f"sampled from the prior N(0, I) (seed {seed})"
    return Groove(lab.decode(z[None])[0], z, label)


def uploaded_groove(lab: LatentLab, name: str, data: bytes) -> Groove:
    """A groove from the bytes of a drum MIDI file: its first bars at the model's length."""
    pattern = DrumPattern.from_midi(bytes(data), name=name)
    fitted = fit(pattern, lab.model.config.steps)
    if fitted.n_hits == 0:
        raise LatentLabError(f"{name}: its first {lab.bars} bars have no drum hits")
    note = f" (first {lab.bars} of {pattern.bars} bars)" if pattern.bars > lab.bars else ""
    return Groove(fitted, lab.encode(fitted)[0], f"uploaded: {name}{note}")


def pick_index(lab: LatentLab, style: str = "", seed: int = 0) -> int:
    """A random corpus window (a beat, not a fill) of a style; of any style when `style` is
    empty or the corpus has no beats in it (another checkpoint's corpus, say)."""
    meta = lab.atlas.meta
    beats = meta["beat_type"] != "fill"
    candidates = np.flatnonzero(beats & (meta["style"] == style))
    if not len(candidates):
        candidates = np.flatnonzero(beats) if beats.any() else np.arange(len(lab.atlas))
    return int(np.random.default_rng(seed).choice(candidates))


class GroovePicker(widgets.VBox):
    """A preview of the current groove over three ways to change it: Corpus, Sample, Upload."""

    groove = traitlets.Instance(Groove)

    def __init__(self, lab: LatentLab, title: str, style: str = "", seed: int = 0) -> None:
        self.lab = lab
        self._seed = seed
        self._quiet = False
        meta = lab.atlas.meta
        self._styles = sorted(set(meta["style"].tolist()))
        self.status = StatusLine()
        self.preview = PatternStrip()
        self.caption = widgets.HTML()
        self.caption.add_class("ll-picker-caption")
        header = widgets.HTML(f"<b>{title}</b>", layout=widgets.Layout(width="28px"))

        wide = widgets.Layout(width="98%")
        self.style = widgets.Dropdown(options=self._styles, description="Style", layout=wide)
        self.file = widgets.Dropdown(description="Recording", layout=wide)
        self.window = widgets.SelectionSlider(
            options=[("-", -1)], description="Bars", continuous_update=False, layout=wide
        )
        self.random = widgets.Button(description="Random in style", icon="random")
        corpus_tab = widgets.VBox([self.style, self.file, self.window, self.random])

        self.sample_from = widgets.Dropdown(
            options=[("the prior N(0, I)", "")] + [(f"style {s}", s) for s in lab.styles],
            description="From",
            layout=wide,
        )
        self.sample = widgets.Button(description="Sample", icon="dice")
        sample_tab = widgets.VBox([self.sample_from, self.sample])

        self.upload = widgets.FileUpload(accept=".mid,.midi", multiple=False)
        upload_note = widgets.HTML(
            f"A drum MIDI file in 4/4 (General MIDI drums, channel 10); "
            f"its first {lab.bars} bars are used."
        )
        upload_tab = widgets.VBox([self.upload, upload_note])

        self.tabs = widgets.Tab(
            children=[corpus_tab, sample_tab, upload_tab],
            layout=widgets.Layout(width="96%", max_width="620px"),
        )
        self.tabs.titles = ("Corpus", "Sample", "Upload")
        for w, name in (
            (self.style, "style"),
            (self.file, "file"),
            (self.window, "window"),
            (self.random, "random"),
            (self.sample, "sample"),
            (self.upload, "upload"),
        ):
            w.add_class(f"ll-picker-{name}")

        self.style.observe(self.status.guard(self._on_style), "value")
        self.file.observe(self.status.guard(self._on_file), "value")
        self.window.observe(self.status.guard(self._on_window), "value")
        self.random.on_click(self.status.guard(lambda _: self.choose_random()))
        self.sample.on_click(self.status.guard(self._on_sample))
        self.upload.observe(self.status.guard(self._on_upload), "value")

        top = widgets.HBox([header, widgets.VBox([self.preview, self.caption])])
        super().__init__([top, self.tabs, self.status])
        self.add_class("ll-picker")
        self.choose_corpus(pick_index(lab, style, seed))

    # ---- choices ------------------------------------------------------------------------
    def set_groove(self, groove: Groove) -> None:
        self.preview.show([groove.pattern], [f"{groove.pattern.n_hits} hits · click to play"])
        self.caption.value = f'<span style="color:#57606a">{groove.label}</span>'
        self.groove = groove

    def choose_corpus(self, index: int) -> None:
        """Choose the corpus window at an atlas index, and show it in the corpus controls."""
        meta = self.lab.atlas.meta
        self._quiet = True
        try:
            self.style.value = str(meta["style"][index])
            self._fill_files()
            self.file.value = str(meta["file_id"][index])
            self._fill_windows()
            self.window.value = index
        finally:
            self._quiet = False
        self.set_groove(corpus_groove(self.lab, index))

    def choose_random(self) -> None:
        self._seed += 1
        self.choose_corpus(pick_index(self.lab, self.style.value, self._seed))

    # ---- corpus controls ------------------------------------------------------------------
    def _fill_files(self) -> None:
        meta = self.lab.atlas.meta
        rows = np.flatnonzero(meta["style"] == self.style.value)
        files: dict[str, str] = {}
        for i in rows:
            file_id = str(meta["file_id"][i])
            if file_id not in files:
                parts = (meta["drummer"][i], meta["substyle"][i], f"{meta['bpm'][i]:g} bpm")
                files[file_id] = " · ".join(str(p) for p in (*parts, meta["beat_type"][i]) if p)
        self.file.options = [(label, file_id) for file_id, label in files.items()]

    def _fill_windows(self) -> None:
        meta = self.lab.atlas.meta
        rows = np.flatnonzero(meta["file_id"] == self.file.value)
        rows = rows[np.argsort(meta["first_bar"][rows], kind="stable")]
        bars = self.lab.bars
        self.window.options = [
            (f"{meta['first_bar'][i] + 1}–{meta['first_bar'][i] + bars}", int(i)) for i in rows
        ]

    def _on_style(self, _change: dict) -> None:
        if not self._quiet:
            self.choose_random()

    def _on_file(self, _change: dict) -> None:
        if self._quiet or self.file.value is None:
            return
        self._quiet = True
        try:
            self._fill_windows()
        finally:
            self._quiet = False
        self.choose_corpus(self.window.options[0][1])

    def _on_window(self, change: dict) -> None:
        if not self._quiet and change["new"] is not None and change["new"] >= 0:
            self.choose_corpus(change["new"])

    # ---- sample and upload ----------------------------------------------------------------
    def _on_sample(self, _button: widgets.Button) -> None:
        self._seed += 1
        self.set_groove(sampled_groove(self.lab, self._seed, self.sample_from.value))

    def _on_upload(self, change: dict) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        self.set_groove(uploaded_groove(self.lab, item["name"], bytes(item["content"])))


class MapPicker(widgets.VBox):
    """The corpus map as one more way to choose: a click on a point chooses that window for
    the picker the toggle names; the map marks that picker's groove."""

    def __init__(
        self, lab: LatentLab, pickers: dict[str, GroovePicker], width: int = 560, height: int = 400
    ) -> None:
        self.lab, self.pickers = lab, pickers
        self.map = LatentMap(lab.atlas, width=width, height=height)
        self.target = widgets.ToggleButtons(options=list(pickers), style={"button_width": "48px"})
        self.target.add_class("ll-map-target")
        label = widgets.HTML("A click on the map chooses")
        several = len(pickers) > 1
        choose = widgets.HBox(
            [label, self.target], layout=widgets.Layout(display="" if several else "none")
        )
        self.status = StatusLine()
        self.map.observe(self.status.guard(self._on_select), "selected")
        self.target.observe(self.status.guard(self._show_target), "value")
        for picker in pickers.values():
            picker.observe(self.status.guard(self._show_target), "groove")
        super().__init__([choose, self.map, self.status])
        self.add_class("ll-map-picker")
        self._show_target()

    @property
    def picker(self) -> GroovePicker:
        return self.pickers[self.target.value]

    def _on_select(self, change: dict) -> None:
        if change["new"] is not None:
            self.picker.choose_corpus(change["new"])

    def _show_target(self, _change: dict | None = None) -> None:
        groove = self.picker.groove
        if groove.index is not None:
            self.map.mark(self.lab.atlas.coords[groove.index])
        else:
            self.map.mark(self.lab.place(groove.z[None])[0])
