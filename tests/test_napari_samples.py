"""File ▸ Open Sample: the plugin's sample volumes, scaled by their voxel spacing."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
npe2 = pytest.importorskip("npe2")

from napari.layers import Image, Labels

from napari_soft_skeleton.palette import MASK_COLOUR
from napari_soft_skeleton.palette import METHOD_COLOURS, rgb
from napari_soft_skeleton.samples import list_samples, load_sample

PLUGIN = "napari-soft-skeleton"


def _manifest():
    pm = npe2.PluginManager.instance()
    pm.discover()
    return pm.get_manifest(PLUGIN)


def test_manifest_lists_vessel_and_neuron_samples():
    keys = [s.key for s in _manifest().contributions.sample_data]
    assert any(k.startswith("vessel") for k in keys)
    assert any(k.startswith("neuron") for k in keys)
    assert len(keys) == len(set(keys))
    # every sample of the library is offered, and nothing else
    assert sorted(keys) == sorted(list_samples())


# The big ones (vessel_256 and the hemibrain neurons) are left out for speed.
@pytest.mark.parametrize("key", ["vessel_64", "vessel_128", "vessel_2d", "neuron_lm"])
def test_open_sample_scales_layers_by_spacing(make_napari_viewer, key):
    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, key)
    sample = load_sample(key)

    layers = list(viewer.layers)
    names = [ly.name for ly in layers]
    assert layers, "no layer was added"
    assert all(name.startswith(key) for name in names), names
    for layer in layers:
        np.testing.assert_allclose(layer.scale, sample.spacing)
        assert layer.ndim == sample.ndim
        assert layer.data.shape == sample.shape

    mask = viewer.layers[f"{key} mask"]
    assert isinstance(mask, Labels)
    np.testing.assert_array_equal(np.asarray(mask.data) != 0, sample.mask)
    # a neutral grey, never mistaken for a skeleton's method colour (napari's default is a dark orange)
    mask_colour = np.asarray(mask.get_color(1))[:3]
    np.testing.assert_allclose(mask_colour, rgb(MASK_COLOUR), atol=1e-3)
    assert all(np.abs(mask_colour - rgb(c)).max() > 0.2 for c in METHOD_COLOURS.values())
    if sample.image is not None:
        image = viewer.layers[f"{key} image"]
        assert isinstance(image, Image)
        np.testing.assert_array_equal(image.data, sample.image)
    if sample.centerline is not None:
        centerline = viewer.layers[f"{key} true centerline"]
        assert isinstance(centerline, Labels)
        np.testing.assert_array_equal(np.asarray(centerline.data) != 0, sample.centerline)
    expected = 1 + (sample.image is not None) + (sample.centerline is not None)
    assert len(layers) == expected


def test_anisotropic_sample_is_not_isotropic():
    # guard that the scale check above is not vacuous: one opened sample has
    # a voxel spacing other than 1 along some axis
    assert any(v != 1 for v in load_sample("vessel_128").spacing)


def test_widgets_start_on_a_visible_sample_layer(make_napari_viewer):
    # after File > Open Sample the hidden true centerline is the selected layer: not what anyone means
    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "vessel_64")
    assert not viewer.layers["vessel_64 true centerline"].visible
    for name in ("Soft skeleton", "Reference skeleton", "Iteration explorer"):
        _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name)
        assert widget.layer.value is not None and widget.layer.value.visible, (name, widget.layer.value)
