"""The Reference skeleton dock widget with method="topological", in a real viewer."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("qtpy")

from napari.layers import Labels

from napari_soft_skeleton.skeletonize import skeletonize
from napari_soft_skeleton.topological import topological_skeleton_mask

PLUGIN = "napari-soft-skeleton"
TIMEOUT_MS = 30000


def ring_volume(shape=(12, 28, 28)) -> np.ndarray:
    """A thick ring (torus-like) around axis 0: one loop, which the skeleton keeps."""
    z, y, x = np.indices(shape)
    cz, cy, cx = [(s - 1) / 2 for s in shape]
    r = np.hypot(y - cy, x - cx)
    return (np.hypot(r - 8.0, z - cz) <= 2.6)


def touching_labels(shape=(12, 28, 28)) -> np.ndarray:
    """The ring cut in two touching halves (ids 3 and 9), plus a lone voxel (id 4)."""
    ring = ring_volume(shape)
    x = np.indices(shape)[2]
    labels = np.zeros(shape, np.uint16)
    labels[ring & (x < shape[2] // 2)] = 3
    labels[ring & (x >= shape[2] // 2)] = 9
    labels[0, 0, 0] = 4
    return labels


def dock(viewer):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Reference skeleton")
    return widget


def run_topological(qtbot, widget, layer, mode="3D"):
    widget.method.value = "topological"
    widget.layer.value = layer
    widget.mode.value = mode
    worker = widget.run()
    assert worker is not None, "run() did not start a worker"
    qtbot.waitUntil(lambda: not widget.job.running, timeout=TIMEOUT_MS)
    (out,) = widget.last_layers
    return out


def assert_placed_on(layer, source):
    np.testing.assert_allclose(layer.scale, source.scale)
    np.testing.assert_allclose(layer.translate, source.translate)
    np.testing.assert_allclose(layer.affine.affine_matrix, source.affine.affine_matrix)


def test_mask_image_layer(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    mask = ring_volume()
    before = mask.copy()
    layer = viewer.add_image(mask, name="ring", scale=(2.0, 0.5, 0.5), translate=(4.0, -3.0, 7.0))
    widget = dock(viewer)
    assert "topological" in list(widget.method.choices)
    out = run_topological(qtbot, widget, layer)
    assert isinstance(out, Labels)
    assert out.name == "ring topological skeleton"
    assert out in viewer.layers
    data = np.asarray(out.data)
    assert data.shape == mask.shape
    assert set(np.unique(data)) == {0, 1}
    # the layer's scale is the voxel spacing: the thinning follows it
    np.testing.assert_array_equal(data != 0, skeletonize(before, "topological", spacing=(2.0, 0.5, 0.5)))
    np.testing.assert_array_equal(data != 0, topological_skeleton_mask(before, spacing=(2.0, 0.5, 0.5)))
    assert_placed_on(out, layer)
    np.testing.assert_array_equal(layer.data, before)  # input untouched

    # per-slice 2D mode: each z-slice on its own
    out2 = run_topological(qtbot, widget, layer, mode="per-slice 2D")
    assert out2.name == "ring topological skeleton"
    np.testing.assert_array_equal(np.asarray(out2.data) != 0, skeletonize(before, "topological", per_slice=True))
    assert_placed_on(out2, layer)


def test_labels_layer_keeps_ids(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    labels = touching_labels()
    layer = viewer.add_labels(labels, name="cells", scale=(1.5, 1.0, 1.0), translate=(0.0, 10.0, -5.0))
    widget = dock(viewer)
    out = run_topological(qtbot, widget, layer)
    assert out.name == "cells topological skeleton"
    expected = skeletonize(labels, "topological", spacing=(1.5, 1.0, 1.0))
    np.testing.assert_array_equal(np.asarray(out.data), expected)
    assert set(np.unique(out.data)) == {0, 3, 4, 9}
    for i in (3, 4, 9):
        np.testing.assert_array_equal(np.asarray(out.data) == i,
                                      topological_skeleton_mask(labels == i, spacing=(1.5, 1.0, 1.0)))
    assert_placed_on(out, layer)
    np.testing.assert_array_equal(layer.data, touching_labels())


def test_probability_map_and_2d_layer(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    rng = np.random.default_rng(0)
    ring = ring_volume()
    prob = np.where(ring, rng.uniform(0.4, 1.0, ring.shape), rng.uniform(0.0, 0.3, ring.shape)).astype(np.float32)
    layer = viewer.add_image(prob, name="prob", translate=(1.0, 2.0, 3.0))
    widget = dock(viewer)
    widget.threshold.value = 0.6
    out = run_topological(qtbot, widget, layer)
    assert out.name == "prob topological skeleton"
    np.testing.assert_array_equal(np.asarray(out.data) != 0, skeletonize(prob, "topological", threshold=0.6))
    assert_placed_on(out, layer)

    plane = ring[6]
    layer2 = viewer.add_image(plane, name="plane", scale=(0.25, 0.25))
    out2 = run_topological(qtbot, widget, layer2)
    assert out2.name == "plane topological skeleton"
    assert out2.ndim == 2
    np.testing.assert_array_equal(np.asarray(out2.data) != 0, skeletonize(plane, "topological"))
    assert_placed_on(out2, layer2)
