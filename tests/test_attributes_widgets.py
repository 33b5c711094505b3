"""The attributes dashboard, driven from Python as the page drives it."""

import numpy as np
import pytest

from latentlab.analysis import measure
from latentlab.attributes import ATTRIBUTES
from latentlab.lab import LatentLab
from latentlab.widgets.attributes_view import STRIP_AMOUNTS, AttributesView, held_out_latents


@pytest.fixture(scope="module")
def lab(tiny_checkpoint):
    return LatentLab.load(tiny_checkpoint, device="cpu")


@pytest.fixture(scope="module")
def view(lab):
    return AttributesView(lab, sample=6)


def decoded(lab: LatentLab, z: np.ndarray):
    return lab.decode(np.asarray(z, np.float32)[None])[0]


def test_held_out_latents_come_from_the_test_split(lab):
    z = held_out_latents(lab, 5, seed=1)
    test = lab.atlas.latents[lab.atlas.meta["split"] == "test"]
    assert z.shape == (min(5, len(test)), lab.z_dim)
    assert all((np.abs(test - row).sum(1) == 0).any() for row in z)


def test_the_strip_pushes_the_groove_from_minus_two_to_plus_two(view, lab):
    assert view.attribute.value == "density"
    patterns = view.strip.patterns
    assert len(patterns) == len(STRIP_AMOUNTS) == 9
    z, v = view.picker.groove.z, lab.attribute_vector("density")
    for amount, pattern in zip(STRIP_AMOUNTS, patterns, strict=True):
        np.testing.assert_array_equal(pattern.hits, decoded(lab, z + amount * v).hits)
    values = measure(np.stack([p.to_array() for p in patterns]), ["density"])[0]
    assert view.strip.captions[0] == f"-2.0 · {values[0]:.2f}"
    assert view.strip.selected == 4, "amount 0 is highlighted"


def test_the_amount_slider_changes_what_plays(view, lab):
    view.attribute.value = "snare_density"
    view.amount.value = 1.5
    z = view.picker.groove.z + 1.5 * lab.attribute_vector("snare_density")
    assert view.machine.pattern.hits.tolist() == decoded(lab, z).hits.tolist()
    assert view.strip.selected == 7
    assert "+1.50 along the snare vector" in view.readout.value
    assert "snare hits per bar" in view.readout.value
    view.amount.value = 0.25
    assert view.strip.selected == -1


def test_clicking_a_grid_sets_the_amount_and_plays_it(view):
    view.strip.click(0)
    assert view.amount.value == -2.0
    assert view.machine.playing and view.machine.pattern == view.strip.patterns[0]
    view.machine.playing = False
    view.picker.preview.click(0)
    assert view.machine.playing and view.machine.pattern == view.picker.groove.pattern
    assert "the groove itself" in view.readout.value


def test_response_curves_and_effect_matrix_come_from_the_sweep(view, lab):
    names = lab.attribute_names
    assert list(view.curves) == names == view.sweep.names
    amounts = view.sweep.amounts
    for name, figure in view.curves.items():
        band, median, groove = figure.marks
        np.testing.assert_allclose(band.y[0], np.percentile(view.sweep.response(name), 25, 1), 1e-5)
        np.testing.assert_allclose(median.y, np.median(view.sweep.response(name), 1), 1e-5)
        z = view.picker.groove.z[None] + amounts[:, None] * lab.attribute_vector(name)
        expected = measure(lab.decode_hvo(z), [name])[0]
        np.testing.assert_allclose(groove.y, expected, atol=1e-5)
    cells = view.children[-1].marks[0]
    np.testing.assert_allclose(cells.color, view.sweep.effect_matrix(1.0))
    short = [ATTRIBUTES[n].short for n in names]
    assert list(cells.row) == short and list(cells.column) == short


def test_a_new_groove_updates_its_curves_and_strip(view, lab):
    view.attribute.value = "density"
    view.picker.choose_corpus(3)
    z = lab.atlas.latents[3]
    np.testing.assert_array_equal(
        view.strip.patterns[0].hits, decoded(lab, z - 2 * lab.attribute_vector("density")).hits
    )
    assert view.machine.bpm == lab.corpus_pattern(3).bpm
    assert all(p.bpm == lab.corpus_pattern(3).bpm for p in view.strip.patterns)
    assert view.status.value == ""


def test_the_registry_names_and_units_every_control(view, lab):
    names = lab.attribute_names
    assert names == [n for n in ATTRIBUTES if n in names], "the registry's order"
    for (label, name), n in zip(view.attribute.options, names, strict=True):
        assert name == n and label == f"{ATTRIBUTES[n].label} ({ATTRIBUTES[n].unit})"
    for name, figure in view.curves.items():
        assert figure.axes[1].label == ATTRIBUTES[name].unit
