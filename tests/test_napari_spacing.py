"""The widgets' "voxel spacing" readout and switch: what they say, and what the computations get."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("pytestqt")

from napari.utils.notifications import NotificationSeverity, notification_manager  # noqa: E402

from napari_soft_skeleton import skeleton_graph  # noqa: E402
from napari_soft_skeleton._napari._common import METADATA_KEY  # noqa: E402
from napari_soft_skeleton._napari._spacing_control import SpacingState, readout  # noqa: E402
from napari_soft_skeleton.skeletonize import skeletonize  # noqa: E402

PLUGIN = "napari-soft-skeleton"
TIMEOUT_MS = 60_000
ANISO = (5.0, 1.0, 1.0)
UM = ("micrometer",) * 3


# --------------------------------------------------------------------------
# data and helpers
# --------------------------------------------------------------------------


def flat_tube() -> np.ndarray:
    """A flat tube along x, 4 slices thick: on 5 µm slices it is a thin ribbon, in voxels a thick bar."""
    mask = np.zeros((4, 20, 20), bool)
    mask[:, 6:14, 2:18] = True
    return mask


def two_lines() -> np.ndarray:
    """Two one-voxel-thin lines: 5 voxels along z, 10 along x."""
    skel = np.zeros((8, 12, 16), bool)
    skel[1:6, 2, 3] = True
    skel[5, 8, 3:13] = True
    return skel


def dock(viewer, name):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name)
    return widget


def run_and_wait(qtbot, widget):
    worker = widget.run()
    assert worker is not None, "run() did not start a worker"
    qtbot.waitUntil(lambda: not widget.job.running, timeout=TIMEOUT_MS)
    return worker


def build(qtbot, widget):
    worker = widget.run()
    assert worker is not None, widget.status.text()
    qtbot.waitUntil(lambda: not widget.busy, timeout=TIMEOUT_MS)
    return worker


@pytest.fixture
def errors():
    start = len(notification_manager.records)

    def get():
        return [str(n.message) for n in notification_manager.records[start:]
                if n.severity == NotificationSeverity.ERROR]

    return get


# --------------------------------------------------------------------------
# the readout
# --------------------------------------------------------------------------


def test_readout_texts():
    assert readout(SpacingState((5.0, 1.0, 1.0), "µm", True)) == \
        "voxel spacing: 5 × 1 × 1 µm (z, y, x), from the layer's scale"
    assert readout(SpacingState((1.0, 1.0, 1.0), None, True)) == \
        "voxel spacing: 1 × 1 × 1 pixel (z, y, x): the layer has no scale"
    assert "2 × 0.5 scale units (y, x)" in readout(SpacingState((2.0, 0.5), None, True))
    off = readout(SpacingState((5.0, 1.0, 1.0), "µm", False))
    assert "off" in off and "voxel grid" in off and "5 × 1 × 1 µm" in off
    assert "pick a layer" in readout(SpacingState(None, None, True))
    assert SpacingState((5.0, 1.0, 1.0), "µm", False).spacing is None
    assert SpacingState((5.0, 1.0, 1.0), None, True).length_unit == "scale units"
    assert SpacingState((1.0, 1.0, 1.0), None, True).length_unit == "voxels"


def test_readout_follows_the_layer_its_scale_and_units(make_napari_viewer):
    viewer = make_napari_viewer()
    aniso = viewer.add_labels(flat_tube().astype(np.uint8), name="aniso", scale=ANISO, units=UM)
    plain = viewer.add_labels(flat_tube().astype(np.uint8), name="plain")
    widget = dock(viewer, "Reference skeleton")
    control = widget.voxel_spacing
    assert control.use.value is True  # on by default
    assert control.native.isVisibleTo(widget.native) and control.readout.native.isVisibleTo(widget.native)

    widget.layer.value = aniso
    assert "voxel spacing: 5 × 1 × 1 µm (z, y, x), from the layer's scale" in control.text
    widget.layer.value = plain
    assert "1 × 1 × 1 pixel" in control.text and "no scale" in control.text
    plain.scale = (2.0, 1.0, 1.0)  # rescaled: the readout follows, a scale without a unit says so
    assert "2 × 1 × 1 scale units (z, y, x)" in control.text
    plain.units = ("nm",) * 3
    assert "2 × 1 × 1 nm (z, y, x)" in control.text
    aniso.scale = (3.0, 1.0, 1.0)  # no longer the picked layer: not followed
    assert "2 × 1 × 1 nm" in control.text
    widget.layer.value = aniso
    assert "3 × 1 × 1 µm" in control.text

    # what the spacing does, per method
    widget.method.value = "lee"
    assert "Lee works on the voxel grid (scikit-image has no spacing)" in control.text
    widget.method.value = "topological"
    assert "topological: thinning follows the spacing" in control.text
    control.use.value = False
    assert "off, computing on the voxel grid" in control.text
    assert "topological: thinning on the voxel grid" in control.text

    soft = dock(viewer, "Soft skeleton")
    soft.layer.value = aniso
    assert "3 × 1 × 1 µm" in soft.voxel_spacing.text
    assert "the clDice formula runs on the voxel grid" in soft.voxel_spacing.text


def test_a_closed_widget_stops_following_the_layer(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(flat_tube().astype(np.uint8), name="aniso", scale=ANISO, units=UM)
    dock_widget, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Reference skeleton")
    assert widget.voxel_spacing._watched == layer
    viewer.window.remove_dock_widget(dock_widget)
    widget.native.deleteLater()
    qtbot.wait(50)
    layer.scale = (2.0, 1.0, 1.0)  # no error from a deleted readout
    layer.units = ("nm",) * 3


# --------------------------------------------------------------------------
# skeleton widgets
# --------------------------------------------------------------------------


def test_topological_follows_the_spacing_only_when_switched_on(make_napari_viewer, qtbot, errors):
    mask = flat_tube()
    grid = skeletonize(mask, "topological")
    physical = skeletonize(mask, "topological", spacing=ANISO)
    assert (grid != physical).any()  # the mask is one where the spacing matters

    viewer = make_napari_viewer()
    source = viewer.add_labels(mask.astype(np.uint8), name="ribbon", scale=ANISO, units=UM)
    widget = dock(viewer, "Reference skeleton")
    widget.layer.value = source
    widget.method.value = "topological"
    run_and_wait(qtbot, widget)
    (skel,) = widget.last_layers
    np.testing.assert_array_equal(np.asarray(skel.data) != 0, physical)
    np.testing.assert_allclose(skel.scale, ANISO)  # placed on the source, in its unit
    assert [f"{u:~}" for u in skel.units] == ["µm"] * 3
    assert skel.metadata[METADATA_KEY]["spacing"] == ANISO

    widget.voxel_spacing.use.value = False
    run_and_wait(qtbot, widget)
    (skel,) = widget.last_layers
    np.testing.assert_array_equal(np.asarray(skel.data) != 0, grid)
    assert skel.metadata[METADATA_KEY]["spacing"] is None
    np.testing.assert_allclose(skel.scale, ANISO)  # still drawn in the source's space
    assert errors() == []


def test_lee_ignores_the_spacing(make_napari_viewer, qtbot, errors):
    mask = flat_tube()
    mask[1:3, 9:11, 2:18] = True
    expected = skeletonize(mask, "lee")
    viewer = make_napari_viewer()
    source = viewer.add_labels(mask.astype(np.uint8), name="ribbon", scale=ANISO, units=UM)
    widget = dock(viewer, "Reference skeleton")
    widget.layer.value = source
    widget.method.value = "lee"
    for used in (True, False):
        widget.voxel_spacing.use.value = used
        run_and_wait(qtbot, widget)
        (skel,) = widget.last_layers
        np.testing.assert_array_equal(np.asarray(skel.data) != 0, expected)
        assert "anisotropic" not in widget.status.value
    assert errors() == []


def test_soft_gets_the_spacing_only_when_switched_on(make_napari_viewer, qtbot, errors):
    mask = np.zeros((12, 20, 20), bool)
    mask[3:9, 6:14, 2:18] = True
    viewer = make_napari_viewer()
    source = viewer.add_labels(mask.astype(np.uint8), name="bar", scale=ANISO, units=UM)
    widget = dock(viewer, "Soft skeleton")
    widget.layer.value = source
    widget.iterations.value = 3
    assert "strongly anisotropic" in widget.voxel_spacing.text
    widget.mode.value = "per-slice 2D"  # (in-plane: no warning)
    assert "strongly anisotropic" not in widget.voxel_spacing.text
    widget.mode.value = "3D"
    run_and_wait(qtbot, widget)
    on = np.asarray(widget.last_layers[0].data).copy()
    assert "strongly anisotropic" in widget.status.value  # the library's warning: the formula ignores it
    widget.voxel_spacing.use.value = False
    assert "strongly anisotropic" not in widget.voxel_spacing.text
    run_and_wait(qtbot, widget)
    assert "anisotropic" not in widget.status.value
    np.testing.assert_array_equal(np.asarray(widget.last_layers[0].data), on)  # the same formula either way
    assert errors() == []


# --------------------------------------------------------------------------
# skeleton graph
# --------------------------------------------------------------------------


def test_graph_lengths_in_the_unit_or_in_voxels(make_napari_viewer, qtbot, errors):
    skel = two_lines()
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Skeleton graph")
    layer = viewer.add_labels(skel.astype(np.uint8), name="lines", scale=ANISO, units=UM)
    widget.layer.value = layer
    widget.method.value = "none"
    assert "5 × 1 × 1 µm (z, y, x)" in widget.voxel_spacing.text
    assert "lengths and radii in µm" in widget.voxel_spacing.text
    build(qtbot, widget)
    physical = skeleton_graph(skel, spacing=ANISO).summary["length"].sum()
    voxels = skeleton_graph(skel).summary["length"].sum()
    assert physical == pytest.approx(4 * 5 + 9) and voxels == pytest.approx(4 + 9)
    assert widget.graph.summary["length"].sum() == pytest.approx(physical)
    assert widget.graph.unit == "µm"
    assert f"length {physical:.4g} µm" in widget.status.text()
    assert widget.min_length_label.text().endswith("(µm)")

    widget.voxel_spacing.use.value = False
    assert "lengths and radii in voxels" in widget.voxel_spacing.text
    build(qtbot, widget)
    assert widget.graph.summary["length"].sum() == pytest.approx(voxels)
    assert widget.graph.unit is None
    assert f"length {voxels:.4g} voxels" in widget.status.text()
    assert widget.min_length_label.text().endswith("(voxels)")
    np.testing.assert_allclose(widget.layers[0].scale, ANISO)  # still drawn on the layer

    # a scale without a unit: lengths in "scale units", not voxels
    widget.voxel_spacing.use.value = True
    layer.units = ("pixel",) * 3
    assert "5 × 1 × 1 scale units" in widget.voxel_spacing.text
    build(qtbot, widget)
    assert widget.graph.summary["length"].sum() == pytest.approx(physical)
    assert "scale units" in widget.status.text()
    assert errors() == []


def test_graph_topological_follows_the_spacing(make_napari_viewer, qtbot, errors):
    mask = flat_tube()
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Skeleton graph")
    layer = viewer.add_labels(mask.astype(np.uint8), name="ribbon", scale=ANISO, units=UM)
    widget.layer.value = layer
    assert widget.method.value == "topological"
    assert "topological: thinning follows the spacing; lengths and radii in µm" in widget.voxel_spacing.text
    build(qtbot, widget)
    expected = skeleton_graph(skeletonize(mask, "topological", spacing=ANISO), spacing=ANISO)
    assert widget.graph.summary["n_voxels"].sum() == expected.summary["n_voxels"].sum()
    widget.voxel_spacing.use.value = False
    build(qtbot, widget)
    grid = skeleton_graph(skeletonize(mask, "topological"))
    assert widget.graph.summary["n_voxels"].sum() == grid.summary["n_voxels"].sum()
    assert errors() == []


# --------------------------------------------------------------------------
# compare
# --------------------------------------------------------------------------


def test_compare_tolerance_in_the_unit_or_in_voxels(make_napari_viewer, qtbot, errors):
    mask = flat_tube()
    lee = skeletonize(mask, "lee").astype(np.uint8)
    topo = skeletonize(mask, "topological", spacing=ANISO).astype(np.uint8)
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Compare skeletons")
    a = viewer.add_labels(lee, name="A", scale=ANISO, units=UM)
    b = viewer.add_labels(topo, name="B", scale=ANISO, units=UM)
    widget.reference.value, widget.candidate.value = a, b
    text = widget.voxel_spacing.text
    assert "5 × 1 × 1 µm (z, y, x)" in text and "default tolerance 1.5 × 5 = 7.5 µm" in text
    assert widget.tolerance.value == pytest.approx(7.5) and widget.tolerance.native.suffix() == " µm"
    run_and_wait(qtbot, widget)
    assert widget.result.unit == "µm" and widget.result.tolerance == pytest.approx(7.5)
    assert "tolerance 7.5 µm" in widget.status.text()
    assert widget.table.shown()["tolerance"] == "7.5 µm"

    widget.voxel_spacing.use.value = False
    assert "default tolerance 1.5 voxels" in widget.voxel_spacing.text
    assert widget.tolerance.value == pytest.approx(1.5) and widget.tolerance.native.suffix() == " voxels"
    run_and_wait(qtbot, widget)
    assert widget.result.unit == "voxels" and widget.result.tolerance == pytest.approx(1.5)
    assert "tolerance 1.5 voxels" in widget.status.text()
    assert widget.plan.spacing is None

    # A with a scale but no unit
    widget.voxel_spacing.use.value = True
    a.units = ("pixel",) * 3
    assert "scale units" in widget.voxel_spacing.text
    assert widget.tolerance.native.suffix() == " scale units"
    assert errors() == []
