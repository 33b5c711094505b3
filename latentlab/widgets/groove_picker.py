"""GroovePicker: choose a groove from the corpus, sample one, or upload a MIDI file.

Every choice becomes a `latentlab.lab.Groove` (the pattern at the model's length and its own
tempo, its latent point and a caption), made by the facade: this module only shows them. The
picker's `groove` trait holds the current one; observe it to react.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import traitlets

from latentlab.lab import Groove, LatentLab
from latentlab.widgets.common import StatusLine, muted, upload_note
from latentlab.widgets.latent_map import LatentMap
from latentlab.widgets.pattern_strip import PatternStrip


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
            options=[("any style", "")] + [(f"style {s}", s) for s in lab.styles],
            description="From",
            layout=wide,
        )
        self.sample = widgets.Button(description="Sample", icon="dice")
        sample_tab = widgets.VBox([self.sample_from, self.sample])

        self.upload = widgets.FileUpload(accept=".mid,.midi", multiple=False)
        note = widgets.HTML(muted(upload_note(lab.bars)))
        upload_tab = widgets.VBox([self.upload, note])

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
        self.choose_corpus(lab.pick_window(style, seed))

    # ---- choices ------------------------------------------------------------------------
    def set_groove(self, groove: Groove) -> None:
        pattern = groove.pattern
        self.preview.show(
            [pattern], [f"{pattern.n_hits} hits · {pattern.bpm:.0f} bpm · click to play"]
        )
        self.caption.value = muted(groove.label)
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
        self.set_groove(self.lab.corpus_groove(index))

    def choose_random(self) -> None:
        self._seed += 1
        self.choose_corpus(self.lab.pick_window(self.style.value, self._seed))

    # ---- corpus controls ------------------------------------------------------------------
    def _fill_files(self) -> None:
        meta = self.lab.atlas.meta
        rows = np.flatnonzero(meta["style"] == self.style.value)
        files: dict[str, str] = {}
        for i in rows:
            files.setdefault(str(meta["file_id"][i]), self.lab.caption(i, window=False))
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
        self.set_groove(self.lab.sampled_groove(self._seed, self.sample_from.value))

    def _on_upload(self, change: dict) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        self.set_groove(self.lab.read_groove(bytes(item["content"]), item["name"]))


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
