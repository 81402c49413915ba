"""The Soft skeleton and Reference skeleton dock widgets, driven in a real viewer.

Every run goes through the background :class:`Job`; the tests wait for it with
``qtbot.waitUntil(lambda: not widget.job.running)``.  Notifications are
recorded twice: through the widgets' own ``show_error``/``show_info`` (patched
to record, then pass on) and through napari's notification manager, so an
extra error that napari itself would show (a relayed worker exception) counts
too.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("qtpy")

import torch
from napari.layers import Image, Labels
from napari.utils import progress as napari_progress
from napari.utils.notifications import NotificationSeverity, notification_manager

import napari_soft_skeleton._napari._common as common_mod
import napari_soft_skeleton._napari._jobs as jobs_mod
import napari_soft_skeleton._napari._skeleton_widgets as widgets_mod
from napari_soft_skeleton.palette import METHOD_COLOURS, rgb
from napari_soft_skeleton.skeletonize import (
    available_devices,
    skeletonize,
)

PLUGIN = "napari-soft-skeleton"
TIMEOUT_MS = 30000

# rotated/sheared test layers: napari only warns that it slices them orthogonally
pytestmark = pytest.mark.filterwarnings("ignore:Non-orthogonal slicing:UserWarning")


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------


def tube_map(shape, *, radius=3.0, shift=0.0) -> np.ndarray:
    """A float32 probability map in [0, 1]: a soft tube along x with a branch along y."""
    grids = np.indices(shape, dtype=np.float32)
    centre = [(s - 1) / 2 for s in shape]
    if len(shape) == 2:
        y, x = grids
        d_main = np.abs(y - centre[0] - shift)
        d_branch = np.abs(x - centre[1] - shift) + np.where(y < centre[0], 1e3, 0)
    else:
        z, y, x = grids
        d_main = np.hypot(z - centre[0], y - centre[1] - shift)
        d_branch = np.hypot(z - centre[0], x - centre[2] - shift) + np.where(y < centre[1], 1e3, 0)
    d = np.minimum(d_main, d_branch)
    return np.clip(1.2 - d / radius, 0.0, 1.0).astype(np.float32)


def two_touching_labels(shape=(12, 16, 28)) -> np.ndarray:
    """Two round rods along x, ids 1 and 2, touching end to end."""
    z, y, x = np.indices(shape)
    rod = (z - shape[0] // 2) ** 2 + (y - shape[1] // 2) ** 2 <= 8
    half = shape[2] // 2
    labels = np.zeros(shape, np.int32)
    labels[rod & (x >= 2) & (x < half)] = 1
    labels[rod & (x >= half) & (x < shape[2] - 2)] = 2
    return labels


# --------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------


class Notes:
    """Notifications shown since the fixture started."""

    def __init__(self):
        self.widget_errors: list[str] = []
        self.widget_infos: list[str] = []
        self.reset()

    def reset(self):
        """Forget what was shown so far."""
        self.widget_errors.clear()
        self.widget_infos.clear()
        self._start = len(notification_manager.records)

    def _all(self):
        return notification_manager.records[self._start:]

    @property
    def errors(self) -> list[str]:
        """Every error notification, whoever showed it."""
        return [str(n.message) for n in self._all() if n.severity == NotificationSeverity.ERROR]

    @property
    def infos(self) -> list[str]:
        return [str(n.message) for n in self._all() if n.severity == NotificationSeverity.INFO]


@pytest.fixture
def notes(monkeypatch):
    # What napari does outside tests: a worker exception relayed to the
    # manager becomes a notification (instead of only a print to stderr).
    monkeypatch.setattr(notification_manager, "catch_error", True)
    record = Notes()
    for module in (widgets_mod, jobs_mod):  # (the widgets, and the Job that reports errors)
        original_error, original_info = module.show_error, module.show_info

        def error(message, _original=original_error):
            record.widget_errors.append(str(message))
            _original(message)

        def info(message, _original=original_info):
            record.widget_infos.append(str(message))
            _original(message)

        monkeypatch.setattr(module, "show_error", error)
        monkeypatch.setattr(module, "show_info", info)
    return record


def dock(viewer, name):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name)
    return widget


def run_and_wait(qtbot, widget):
    worker = widget.run()
    assert worker is not None, "run() did not start a worker"
    qtbot.waitUntil(lambda: not widget.job.running, timeout=TIMEOUT_MS)
    return worker


def assert_placed_on(layer, source):
    np.testing.assert_allclose(layer.scale, source.scale)
    np.testing.assert_allclose(layer.translate, source.translate)
    np.testing.assert_allclose(layer.rotate, source.rotate)
    np.testing.assert_allclose(layer.shear, source.shear)
    np.testing.assert_allclose(layer.affine.affine_matrix, source.affine.affine_matrix)


def assert_one_error(notes, *words):
    assert len(notes.errors) == 1, notes.errors
    assert notes.widget_errors == notes.errors
    message = notes.errors[0].lower()
    for word in words:
        assert word.lower() in message, message
    return message


SHEAR_AFFINE = np.array(
    [[1.0, 0.0, 0.0, 5.0],
     [0.0, 1.0, 0.2, -1.0],
     [0.0, 0.0, 1.0, 2.0],
     [0.0, 0.0, 0.0, 1.0]]
)


# --------------------------------------------------------------------------
# soft skeleton widget
# --------------------------------------------------------------------------


def test_soft_probability_map_layers_placement_and_rerun(make_napari_viewer, qtbot, notes):
    viewer = make_napari_viewer()
    data = tube_map((10, 20, 20))
    before = data.copy()
    source = viewer.add_image(data, name="prob", scale=(2, 0.5, 0.5), translate=(10, -3, 4),
                              rotate=(30, 0, 0), affine=SHEAR_AFFINE)
    widget = dock(viewer, "Soft skeleton")
    assert widget.layer.value is source
    widget.iterations.value = 6
    widget.threshold.value = 0.3

    run_and_wait(qtbot, widget)
    assert notes.errors == []
    assert len(viewer.layers) == 3
    soft_map, skel = widget.last_layers
    assert soft_map.name == "prob soft skeleton (k=6) map"
    assert skel.name == "prob soft skeleton (k=6)"
    assert isinstance(soft_map, Image) and isinstance(skel, Labels)
    assert soft_map in viewer.layers and skel in viewer.layers

    expected = skeletonize(before, "soft", iterations=6, threshold=None)
    np.testing.assert_array_equal(soft_map.data, expected)
    np.testing.assert_array_equal(np.asarray(skel.data) != 0, expected > 0.3)
    assert set(np.unique(skel.data)) <= {0, 1}
    assert skel.data.any()
    for layer in (soft_map, skel):
        assert_placed_on(layer, source)
    assert str(soft_map.blending) == "additive"
    assert soft_map.colormap.name != "gray"
    # the input is never modified
    np.testing.assert_array_equal(source.data, before)
    assert source.data is data

    # same settings again, on changed input: the same two layers are updated
    # (compared through the real viewer: the widget sees napari's public proxy)
    real_map, real_skel = viewer.layers[soft_map.name], viewer.layers[skel.name]
    source.data = tube_map((10, 20, 20), shift=2.0)
    run_and_wait(qtbot, widget)
    assert len(viewer.layers) == 3
    assert [ly.name for ly in widget.last_layers] == [real_map.name, real_skel.name]
    assert viewer.layers[real_map.name] is real_map and viewer.layers[real_skel.name] is real_skel
    expected2 = skeletonize(source.data, "soft", iterations=6, threshold=None)
    np.testing.assert_array_equal(soft_map.data, expected2)
    np.testing.assert_array_equal(np.asarray(skel.data) != 0, expected2 > 0.3)

    # other iterations: new layers named with the new k, the old ones kept
    widget.iterations.value = 3
    run_and_wait(qtbot, widget)
    assert len(viewer.layers) == 5
    assert [ly.name for ly in widget.last_layers] == ["prob soft skeleton (k=3) map",
                                                      "prob soft skeleton (k=3)"]
    np.testing.assert_array_equal(soft_map.data, expected2)  # the k=6 map is untouched
    assert notes.errors == []


def test_soft_auto_iterations_and_per_slice(make_napari_viewer, qtbot, notes):
    viewer = make_napari_viewer()
    data = tube_map((9, 18, 18))
    source = viewer.add_image(data, name="tube")
    widget = dock(viewer, "Soft skeleton")

    widget.auto.value = True
    assert not widget.iterations.enabled
    widget.iterations.value = 1
    run_and_wait(qtbot, widget)
    expected, used = skeletonize(data, "soft", iterations="auto", threshold=None, return_iterations=True)
    assert used > 1
    assert widget.iterations.value == used
    assert str(used) in widget.status.value
    soft_map, skel = widget.last_layers
    np.testing.assert_array_equal(soft_map.data, expected)
    assert soft_map.metadata[common_mod.METADATA_KEY]["iterations_used"] == used

    widget.auto.value = False
    assert widget.iterations.enabled
    widget.iterations.value = 4
    widget.mode.value = "per-slice 2D"
    run_and_wait(qtbot, widget)
    soft_map, skel = widget.last_layers
    expected = skeletonize(data, "soft", iterations=4, threshold=None, per_slice=True)
    np.testing.assert_array_equal(soft_map.data, expected)
    np.testing.assert_array_equal(np.asarray(skel.data) != 0, expected > widget.threshold.value)
    assert not np.array_equal(expected, skeletonize(data, "soft", iterations=4, threshold=None))
    np.testing.assert_array_equal(source.data, tube_map((9, 18, 18)))
    assert notes.errors == []


def test_soft_labels_layer_keeps_ids_and_adds_no_map(make_napari_viewer, qtbot, notes):
    viewer = make_napari_viewer()
    labels = two_touching_labels()
    before = labels.copy()
    source = viewer.add_labels(labels, name="cells", scale=(1.5, 1, 1), translate=(0, 2, 3))
    widget = dock(viewer, "Soft skeleton")
    widget.iterations.value = 5
    run_and_wait(qtbot, widget)

    assert len(viewer.layers) == 2
    (skel,) = widget.last_layers
    assert isinstance(skel, Labels)
    assert skel.name == "cells soft skeleton (k=5)"
    expected = skeletonize(before, "soft", iterations=5)
    np.testing.assert_array_equal(skel.data, expected)
    assert set(np.unique(skel.data)) == {0, 1, 2}
    assert_placed_on(skel, source)
    np.testing.assert_array_equal(source.data, before)
    assert notes.errors == []


def test_soft_integer_intensity_image_is_rescaled(make_napari_viewer, qtbot, notes):
    viewer = make_napari_viewer()
    data = np.round(tube_map((8, 16, 16)) * 4000).astype(np.uint16)
    data[0, 0, 0] = 4000
    before = data.copy()
    viewer.add_image(data, name="intensity")
    widget = dock(viewer, "Soft skeleton")
    widget.iterations.value = 4
    run_and_wait(qtbot, widget)

    assert "rescaled" in widget.status.value
    assert any("rescaled" in m for m in notes.widget_infos)
    soft_map, _ = widget.last_layers
    values = data.astype(np.float32)
    rescaled = (values - values.min()) / (values.max() - values.min())
    expected = skeletonize(rescaled, "soft", iterations=4, threshold=None)
    np.testing.assert_allclose(soft_map.data, expected, atol=1e-6)
    # not the label-image path: an intensity image is a map, not labels
    assert soft_map.data.dtype.kind == "f"
    np.testing.assert_array_equal(data, before)
    assert notes.errors == []


def noisy_tubes(n=32, seed=0) -> np.ndarray:
    """A raw uint16 intensity volume: two bright tubes on a noisy background (no probability map)."""
    rng = np.random.default_rng(seed)
    z, y, x = np.indices((n, n, n), dtype=np.float32)
    c = (n - 1) / 2
    d = np.minimum(np.hypot(z - c, y - c), np.hypot(z - c, x - 10))
    signal = 3000 * np.exp(-(d / 3.0) ** 2)
    return np.clip(signal + 400 + rng.normal(0, 120, (n, n, n)), 0, 65535).astype(np.uint16)


def test_auto_on_an_intensity_image_stops_at_the_threshold_and_warns(make_napari_viewer, qtbot, notes):
    viewer = make_napari_viewer()
    data = noisy_tubes()
    viewer.add_image(data, name="raw")
    widget = dock(viewer, "Soft skeleton")
    widget.auto.value = True
    widget.threshold.value = 0.3
    run_and_wait(qtbot, widget)

    # the widget's threshold is the auto rule's: the count it stops at is the library's for 0.3
    expected, used = skeletonize(data.astype(np.float32), "soft", iterations="auto", threshold=None,
                                 normalize=True, auto_threshold=0.3, return_iterations=True)
    _, used_default = skeletonize(data.astype(np.float32), "soft", iterations="auto", threshold=None,
                                  normalize=True, return_iterations=True)
    assert used != used_default  # (so the check below can tell the two apart)
    soft_map, _ = widget.last_layers
    assert soft_map.metadata[common_mod.METADATA_KEY]["iterations_used"] == used < 20
    np.testing.assert_allclose(soft_map.data, expected, atol=1e-6)
    assert widget.iterations.value == used
    # the library's warning, as a notification and in the status line, in the widget's words
    warned = [str(n.message) for n in notes._all() if n.severity == NotificationSeverity.WARNING]
    assert any(m.startswith("The input looks like a raw intensity image") for m in warned), warned
    assert "looks like a raw intensity image" in widget.status.value
    assert "method='topological'" not in widget.status.value
    assert "Reference skeleton widget's method 'topological'" in widget.status.value
    assert notes.errors == []


@pytest.mark.parametrize("widget_name", ["Soft skeleton", "Reference skeleton"])
def test_two_valued_image_is_a_mask_not_rescaled_intensities(make_napari_viewer, qtbot, notes, widget_name):
    viewer = make_napari_viewer()
    mask = tube_map((10, 20, 20)) > 0.5
    data = mask.astype(np.uint8) * 255
    viewer.add_image(data, name="mask255")
    widget = dock(viewer, widget_name)
    run_and_wait(qtbot, widget)

    assert "rescaled" not in widget.status.value
    assert "mask" in widget.status.value
    assert not any("rescaled" in m for m in notes.widget_infos)
    method = "soft" if widget_name == "Soft skeleton" else "lee"
    (skel,) = widget.last_layers  # a mask gives the skeleton only: no soft map of 0s and 1s
    np.testing.assert_array_equal(np.asarray(skel.data) != 0, skeletonize(mask, method))
    np.testing.assert_array_equal(data, mask.astype(np.uint8) * 255)
    assert notes.errors == []


def test_library_messages_name_the_widget_controls(make_napari_viewer, qtbot, notes):
    viewer = make_napari_viewer()
    viewer.add_image(tube_map((10, 20, 20)) > 0.5, name="flat", scale=(5.0, 1.0, 1.0))
    widget = dock(viewer, "Soft skeleton")
    widget.iterations.value = 3
    run_and_wait(qtbot, widget)
    warned = [str(n.message) for n in notes._all() if n.severity == NotificationSeverity.WARNING]
    assert any("anisotropic" in m for m in warned), warned
    for text in warned + [widget.status.value]:
        assert "per_slice" not in text and "=True" not in text
    assert any("mode 'per-slice 2D'" in m for m in warned)
    assert "mode 'per-slice 2D'" in widget.status.value


def test_empty_results_are_said_with_the_threshold_and_value_range(make_napari_viewer, qtbot, notes):
    viewer = make_napari_viewer()
    data = tube_map((10, 20, 20)) * 0.6  # values in [0, 0.6]
    viewer.add_image(data, name="faint")
    for widget_name in ("Reference skeleton", "Soft skeleton"):
        notes.reset()
        widget = dock(viewer, widget_name)
        widget.layer.value = viewer.layers["faint"]
        widget.threshold.value = 0.9
        if widget_name == "Soft skeleton":
            widget.iterations.value = 4
        run_and_wait(qtbot, widget)
        skel = widget.last_layers[-1]
        assert not np.asarray(skel.data).any()
        warned = [str(n.message) for n in notes._all() if n.severity == NotificationSeverity.WARNING]
        empty = [m for m in warned if "is empty" in m]
        assert len(empty) == 1, warned
        for text in (empty[0], widget.status.value):
            assert "'threshold' 0.9" in text and f"[0, {data.max():g}]" in text, text
            assert "'faint'" in text


def test_removing_the_input_during_a_run_adds_nothing(make_napari_viewer, qtbot, notes):
    viewer = make_napari_viewer()
    for widget_name in ("Soft skeleton", "Reference skeleton"):
        layer = viewer.add_image(tube_map((12, 24, 24)), name="doomed")
        widget = dock(viewer, widget_name)
        widget.layer.value = layer
        worker = widget.run()
        assert worker is not None
        # (the result reaches the GUI thread through its event loop: after this removal)
        viewer.layers.remove(layer)
        qtbot.waitUntil(lambda w=widget: not w.job.running, timeout=TIMEOUT_MS)
        qtbot.wait(20)
        assert len(viewer.layers) == 0, [ly.name for ly in viewer.layers]
        assert "'doomed' was removed while computing" in widget.status.value
        assert "no layer was added" in widget.status.value
        assert notes.errors == []


def _label_colour(layer, label=1):
    return np.asarray(layer.get_color(label))[:3]


def test_skeletons_in_their_method_colour_thin_ones_over_the_soft_one(make_napari_viewer, qtbot, notes):
    viewer = make_napari_viewer()
    data = tube_map((12, 24, 24))
    viewer.add_image(data, name="prob")
    reference = dock(viewer, "Reference skeleton")
    soft = dock(viewer, "Soft skeleton")
    reference.layer.value = soft.layer.value = viewer.layers["prob"]
    colours = {}
    for method in ("lee", "topological"):
        reference.method.value = method
        run_and_wait(qtbot, reference)
        (colours[method],) = reference.last_layers
    reference.mode.value = "per-slice 2D"
    reference.method.value = "zhang"
    run_and_wait(qtbot, reference)
    (colours["zhang"],) = reference.last_layers
    soft.iterations.value = 5
    run_and_wait(qtbot, soft)  # added last ...
    soft_map, soft_skel = soft.last_layers
    for method, layer in colours.items():
        np.testing.assert_allclose(_label_colour(layer), rgb(METHOD_COLOURS[method]), atol=1e-3)
    np.testing.assert_allclose(_label_colour(soft_skel), rgb(METHOD_COLOURS["soft"]), atol=1e-3)
    np.testing.assert_allclose(soft_map.colormap.map(np.array([1.0]))[0, :3], rgb(METHOD_COLOURS["soft"]),
                               atol=1e-3)
    assert str(soft_map.blending) == "additive" and soft_map.opacity < 1
    # ... yet drawn below the thin skeletons, more transparent, which ignore depth: they stay readable
    names = [ly.name for ly in viewer.layers]
    lowest_thin = min(names.index(ly.name) for ly in colours.values())
    assert names.index(soft_map.name) < lowest_thin and names.index(soft_skel.name) < lowest_thin
    for layer in colours.values():
        assert soft_skel.opacity < layer.opacity
        assert str(layer.blending) == "translucent_no_depth"
    # a new thin skeleton lands on top; the soft layers stay where they are
    reference.mode.value = "3D"
    reference.method.value = "lee"
    reference.threshold.value = 0.3
    run_and_wait(qtbot, reference)
    assert [ly.name for ly in viewer.layers][:3] == ["prob", soft_map.name, soft_skel.name]
    assert notes.errors == []


def test_soft_4d_is_done_per_time_point(make_napari_viewer, qtbot, notes):
    viewer = make_napari_viewer()
    data = np.stack([tube_map((16, 16, 16), shift=s) for s in (-2.0, 0.0, 2.0)])
    source = viewer.add_image(data, name="movie", scale=(1, 2, 1, 1))
    widget = dock(viewer, "Soft skeleton")
    widget.iterations.value = 4
    run_and_wait(qtbot, widget)

    soft_map, skel = widget.last_layers
    assert soft_map.data.shape == skel.data.shape == (3, 16, 16, 16)
    for t in range(3):
        expected = skeletonize(data[t], "soft", iterations=4, threshold=None)
        np.testing.assert_array_equal(soft_map.data[t], expected)
        np.testing.assert_array_equal(np.asarray(skel.data[t]) != 0, expected > 0.5)
    assert_placed_on(soft_map, source)
    assert notes.errors == []


def test_soft_2d_layer(make_napari_viewer, qtbot, notes):
    viewer = make_napari_viewer()
    data = tube_map((32, 32), radius=4.0)
    source = viewer.add_image(data, name="plane", scale=(0.5, 0.25), translate=(1, 2), rotate=15)
    widget = dock(viewer, "Soft skeleton")
    widget.iterations.value = 5
    run_and_wait(qtbot, widget)

    soft_map, skel = widget.last_layers
    assert soft_map.ndim == skel.ndim == 2
    expected = skeletonize(data, "soft", iterations=5, threshold=None)
    np.testing.assert_array_equal(soft_map.data, expected)
    np.testing.assert_array_equal(np.asarray(skel.data) != 0, expected > 0.5)
    assert_placed_on(skel, source)
    assert notes.errors == []


def test_device_combo_lists_this_machine(make_napari_viewer):
    viewer = make_napari_viewer()
    widget = dock(viewer, "Soft skeleton")
    choices = list(widget.device.choices)
    assert choices[0] == "auto"
    assert "cpu" in choices
    assert choices == ["auto", *available_devices()]
    assert widget.device.value == "auto"


# --------------------------------------------------------------------------
# reference skeleton widget
# --------------------------------------------------------------------------


def test_reference_lee_zhang_and_per_label(make_napari_viewer, qtbot, notes):
    viewer = make_napari_viewer()
    mask3d = tube_map((12, 20, 20)) > 0.5
    vol = viewer.add_image(mask3d, name="mask3d", scale=(2, 1, 1), translate=(5, 0, -1),
                           affine=SHEAR_AFFINE)
    widget = dock(viewer, "Reference skeleton")

    # Lee in 3D
    widget.layer.value = vol
    widget.method.value = "lee"
    run_and_wait(qtbot, widget)
    (skel,) = widget.last_layers
    assert isinstance(skel, Labels)
    assert skel.name == "mask3d lee skeleton"
    np.testing.assert_array_equal(np.asarray(skel.data) != 0, skeletonize(mask3d, "lee"))
    assert skel.data.any()
    assert_placed_on(skel, vol)
    n_layers = len(viewer.layers)

    # Zhang on a volume needs per-slice mode: one error, nothing added
    widget.method.value = "zhang"
    assert widget.run() is None
    assert not widget.job.running
    message = assert_one_error(notes, "'zhang'", "'mode'", "'per-slice 2D'")
    assert widget.status.value.lower() == message
    assert len(viewer.layers) == n_layers
    # ... and with it, it is Zhang slice by slice
    widget.mode.value = "per-slice 2D"
    run_and_wait(qtbot, widget)
    (skel_z,) = widget.last_layers
    assert skel_z.name == "mask3d zhang skeleton"
    np.testing.assert_array_equal(np.asarray(skel_z.data) != 0,
                                  skeletonize(mask3d, "zhang", per_slice=True))

    # Zhang and Lee in 2D
    mask2d = tube_map((40, 40), radius=4.0) > 0.5
    plane = viewer.add_image(mask2d, name="mask2d")
    widget.layer.value = plane
    widget.mode.value = "3D"
    for method in ("zhang", "lee"):
        widget.method.value = method
        run_and_wait(qtbot, widget)
        (skel2,) = widget.last_layers
        assert skel2.ndim == 2
        np.testing.assert_array_equal(np.asarray(skel2.data) != 0, skeletonize(mask2d, method))

    # per label: each id skeletonized on its own, ids kept
    labels = two_touching_labels()
    cells = viewer.add_labels(labels, name="cells")
    widget.layer.value = cells
    widget.method.value = "lee"
    run_and_wait(qtbot, widget)
    (skel_l,) = widget.last_layers
    np.testing.assert_array_equal(skel_l.data, skeletonize(labels, "lee"))
    assert set(np.unique(skel_l.data)) == {0, 1, 2}
    np.testing.assert_array_equal(cells.data, two_touching_labels())
    assert len(notes.errors) == 1  # only the Zhang-on-a-volume one


def test_library_warnings_become_one_notification_each(make_napari_viewer, qtbot, notes):
    viewer = make_napari_viewer()
    bar = np.zeros((8, 8, 34), np.uint8)
    bar[2:6, 2:6, 2:32] = 1  # a 4 x 4 x 30 bar: scikit-image's Lee removes it entirely
    labels = np.concatenate([bar * 3, bar * 5, bar * 7])
    from skimage.morphology import skeletonize as sk_skeletonize

    if sk_skeletonize(bar > 0).any():
        pytest.skip("this scikit-image version keeps the bar")
    layer = viewer.add_labels(labels, name="bars")
    widget = dock(viewer, "Reference skeleton")
    widget.layer.value = layer
    widget.method.value = "lee"
    run_and_wait(qtbot, widget)
    qtbot.waitUntil(lambda: any(n.severity == NotificationSeverity.WARNING for n in notes._all()),
                    timeout=TIMEOUT_MS)
    warned = [str(n.message) for n in notes._all() if n.severity == NotificationSeverity.WARNING]
    assert len(warned) == 1, warned
    assert "removed a non-empty object entirely for 3 of 3 labels (ids 3, 5, 7)" in warned[0]
    assert "topological" in warned[0]
    (skel,) = widget.last_layers
    assert not np.asarray(skel.data).any()
    # the topological method keeps them, without a warning
    notes.reset()
    widget.method.value = "topological"
    run_and_wait(qtbot, widget)
    (skel,) = widget.last_layers
    assert set(np.unique(skel.data)) == {0, 3, 5, 7}
    qtbot.wait(50)
    assert not [n for n in notes._all() if n.severity == NotificationSeverity.WARNING]
    assert notes.errors == []


# --------------------------------------------------------------------------
# errors: one notification, no layer
# --------------------------------------------------------------------------


def _rgb(viewer):
    return viewer.add_image(np.random.default_rng(0).random((16, 16, 3)), name="rgb", rgb=True)


def _five_d(viewer):
    return viewer.add_image(np.ones((2, 2, 4, 4, 4), np.float32), name="five")


def _all_zero(viewer):
    return viewer.add_image(np.zeros((8, 8, 8), np.float32), name="zeros")


@pytest.mark.parametrize("widget_name", ["Soft skeleton", "Reference skeleton"])
def test_bad_layers_give_one_error_and_no_layer(make_napari_viewer, qtbot, notes, widget_name):
    viewer = make_napari_viewer()  # empty: no layer to pick
    widget = dock(viewer, widget_name)
    cases = [(None, ["select", "'input layer'"]), (_five_d, ["5d"]), (_all_zero, ["empty"])]
    for make, words in cases:
        notes.reset()
        layer = None if make is None else make(viewer)
        widget.layer.value = layer
        n_layers = len(viewer.layers)
        assert widget.run() is None
        qtbot.wait(10)
        assert not widget.job.running
        assert widget.run_button.enabled and not widget.cancel_button.enabled
        message = assert_one_error(notes, *words)
        assert widget.status.value.lower() == message  # said in the status line too
        assert len(viewer.layers) == n_layers
        assert widget.last_layers == []


@pytest.mark.parametrize("widget_name", ["Soft skeleton", "Reference skeleton"])
def test_rgb_layers_are_not_offered(make_napari_viewer, widget_name):
    viewer = make_napari_viewer()
    widget = dock(viewer, widget_name)
    rgb = _rgb(viewer)
    assert rgb not in list(widget.layer.choices)
    assert widget.layer.value is None
    gray = viewer.add_image(tube_map((8, 12, 12)), name="gray")
    assert [c for c in widget.layer.choices if c is not None] == [gray]


def test_points_layer_is_not_offered(make_napari_viewer, qtbot, notes):
    viewer = make_napari_viewer()
    viewer.add_points(np.array([[1.0, 2.0, 3.0]]), name="pts")
    widget = dock(viewer, "Soft skeleton")
    assert [c for c in widget.layer.choices if c is not None] == []
    assert widget.layer.value is None
    assert widget.run() is None
    assert_one_error(notes, "select")
    image = viewer.add_image(tube_map((8, 12, 12)), name="img")
    assert [c for c in widget.layer.choices if c is not None] == [image]
    assert widget.layer.value is image
    assert len(viewer.layers) == 2


@pytest.mark.parametrize("exc", [RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"),
                                 torch.cuda.OutOfMemoryError("CUDA out of memory."),
                                 ValueError("something the library rejects")])
def test_exception_in_worker_gives_one_error_and_keeps_layers(make_napari_viewer, qtbot, notes,
                                                              monkeypatch, exc):
    viewer = make_napari_viewer()
    data = tube_map((8, 14, 14))
    viewer.add_image(data, name="prob")
    widget = dock(viewer, "Soft skeleton")
    widget.iterations.value = 3
    run_and_wait(qtbot, widget)
    soft_map, skel = widget.last_layers
    map_before, skel_before = soft_map.data.copy(), np.asarray(skel.data).copy()

    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr(widgets_mod, "skeletonize", fail)
    run_and_wait(qtbot, widget)  # same settings: would update the two layers
    qtbot.wait(20)
    message = assert_one_error(notes)
    if "memory" in str(exc):
        assert "memory" in message
        assert "'per-slice 2d'" in message and "'cpu'" in message  # the controls to change
    assert "\n" not in message
    # the whole sentence in the status line (the toast cuts it), wrapped to the dock's width
    assert widget.status.value.lower() == message
    assert widget.status.native.wordWrap()
    assert len(viewer.layers) == 3
    np.testing.assert_array_equal(soft_map.data, map_before)
    np.testing.assert_array_equal(skel.data, skel_before)
    assert widget.run_button.enabled and not widget.cancel_button.enabled


# --------------------------------------------------------------------------
# cancel and progress
# --------------------------------------------------------------------------


def test_cancel_really_stops_and_adds_nothing(make_napari_viewer, qtbot, notes):
    viewer = make_napari_viewer()
    # uncancelled, this takes seconds: the run is surely still going when Cancel is pressed
    data = np.random.default_rng(1).random((96, 96, 96), dtype=np.float32)
    viewer.add_image(data, name="noise")
    widget = dock(viewer, "Soft skeleton")
    widget.iterations.value = 300
    assert widget.run_button.enabled and not widget.cancel_button.enabled

    worker = widget.run()
    assert worker is not None and widget.job.running
    assert not widget.run_button.enabled and widget.cancel_button.enabled
    assert widget.status.value
    # a second run while one is under way is refused, once, politely
    assert widget.run() is None
    assert_one_error(notes, "already running")

    widget.cancel_button.native.click()  # the real button
    assert worker.abort_requested
    qtbot.waitUntil(lambda: not widget.job.running, timeout=TIMEOUT_MS)
    qtbot.wait(20)
    assert len(viewer.layers) == 1
    assert widget.last_layers == []
    assert any("Cancelled" in m for m in notes.infos)
    assert len(notes.errors) == 1  # still only the "already running" one
    assert widget.run_button.enabled and not widget.cancel_button.enabled
    assert widget.status.value.startswith("Cancelled")  # not a blank status line


def test_cancel_right_after_run(make_napari_viewer, qtbot, notes, monkeypatch):
    viewer = make_napari_viewer()
    data = np.random.default_rng(2).random((64, 64, 64), dtype=np.float32)
    viewer.add_image(data, name="noise")
    widget = dock(viewer, "Soft skeleton")
    widget.iterations.value = 300
    # count the library's progress steps, to see that the work itself stopped
    calls = {"progress": 0, "returned": False}
    real = widgets_mod.skeletonize

    def counting(*args, progress=None, **kwargs):
        def counted(done, total):
            calls["progress"] += 1
            progress(done, total)

        result = real(*args, progress=counted, **kwargs)
        calls["returned"] = True
        return result

    monkeypatch.setattr(widgets_mod, "skeletonize", counting)
    widget.run()
    widget.job.cancel()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=TIMEOUT_MS)
    qtbot.wait(20)
    assert not calls["returned"], "the library ran to the end despite Cancel"
    assert calls["progress"] < 50  # an uncancelled run takes > 100 steps here
    assert len(viewer.layers) == 1
    assert widget.last_layers == []
    assert len([m for m in notes.infos if "Cancelled" in m]) == 1
    assert notes.errors == []
    assert widget.status.value.startswith("Cancelled")


def test_cancel_stops_a_topological_volume_between_sweeps(make_napari_viewer, qtbot, notes, monkeypatch):
    viewer = make_napari_viewer()
    z, y, x = np.indices((48, 96, 96))
    ball = (z - 24) ** 2 + (y - 48) ** 2 + (x - 48) ** 2 < 22**2  # about 20 sweeps to thin
    viewer.add_labels(ball.astype(np.uint8), name="ball")
    widget = dock(viewer, "Reference skeleton")
    widget.method.value = "topological"
    sweeps = []
    real = widgets_mod.skeletonize

    def counting(*args, progress=None, **kwargs):
        def counted(done, total):
            sweeps.append(done)
            if len(sweeps) == 2:
                widget.job.cancel()  # Cancel pressed while the volume is being thinned
            progress(done, total)

        return real(*args, progress=counted, **kwargs)

    monkeypatch.setattr(widgets_mod, "skeletonize", counting)
    widget.run()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=TIMEOUT_MS)
    qtbot.wait(20)
    assert len(sweeps) == 2, sweeps  # stopped at the next sweep, not at the end
    assert len(viewer.layers) == 1 and widget.last_layers == []
    assert len([m for m in notes.infos if "Cancelled" in m]) == 1
    assert notes.errors == []


@pytest.mark.skipif(not hasattr(napari_progress, "_all_instances"),
                    reason="napari.utils.progress keeps no registry of open bars")
def test_progress_bar_in_activity_dock(make_napari_viewer, qtbot, notes):
    viewer = make_napari_viewer()
    data = tube_map((16, 24, 24))
    viewer.add_image(data, name="prob")
    widget = dock(viewer, "Soft skeleton")
    widget.iterations.value = 12
    seen = []

    def on_advance(done, total):
        bar = widget.job._bar
        seen.append((done, total, bar is not None and bar in napari_progress._all_instances,
                     None if bar is None else bar.total))

    widget.job._bridge.advanced.connect(on_advance)
    widget.run_button.native.click()  # the real button
    assert widget.job.running
    bar = widget.job._bar
    assert bar is not None
    assert bar in napari_progress._all_instances
    assert "prob" in bar.desc
    qtbot.waitUntil(lambda: not widget.job.running, timeout=TIMEOUT_MS)

    assert seen, "no progress was reported"
    assert all(in_dock for _, _, in_dock, _ in seen)
    assert all(bar_total == total for _, total, _, bar_total in seen)
    dones = [done for done, *_ in seen]
    assert dones == sorted(dones)
    assert dones[-1] == seen[-1][1]
    # finished: the bar is closed and gone from the activity dock
    assert widget.job._bar is None
    assert bar not in napari_progress._all_instances
    assert len(widget.last_layers) == 2
    assert notes.errors == []


def test_picker_follows_a_renamed_layer(make_napari_viewer):
    viewer = make_napari_viewer()
    layer = viewer.add_image(np.random.default_rng(0).random((8, 9)), name="before")
    widget = dock(viewer, "Soft skeleton")
    layer.name = "after"
    names = [widget.layer.native.itemText(i) for i in range(widget.layer.native.count())]
    assert "after" in names and "before" not in names
    assert widget.layer.value.name == "after"


def test_fill_holes_checkbox(make_napari_viewer, qtbot, notes):
    """'fill holes' is passed to skeletonize: a hollow cell around a nucleus (Labels) becomes one tree,
    the nucleus absorbed (said in the status line); a hollow ball (Image) gives a point; the unfilled
    layers stay beside the filled ones."""
    from napari_soft_skeleton import betti_numbers

    grid = np.indices((21, 21, 21))
    r = np.sqrt(sum((g - 10) ** 2 for g in grid))
    labels = np.zeros((21, 21, 21), np.uint16)
    labels[(r <= 9) & (r > 5)] = 1
    labels[r <= 3] = 2
    viewer = make_napari_viewer()
    cells = viewer.add_labels(labels, name="cells")
    shell = viewer.add_image(((r <= 9) & (r > 5)).astype(np.float32), name="shell")
    widget = dock(viewer, "Reference skeleton")
    assert widget.fill_holes.value is False and "cavities" in widget.fill_holes.tooltip
    widget.layer.value = cells
    widget.method.value = "topological"
    run_and_wait(qtbot, widget)
    (plain,) = widget.last_layers
    assert set(np.unique(plain.data)) == {0, 1, 2}
    widget.fill_holes.value = True
    run_and_wait(qtbot, widget)
    (filled,) = widget.last_layers
    assert filled.name == "cells topological skeleton (holes filled)" and plain in viewer.layers
    with pytest.warns(UserWarning):
        expected = skeletonize(labels, "topological", fill_holes=True)
    np.testing.assert_array_equal(filled.data, expected)
    assert set(np.unique(filled.data)) == {0, 1}
    assert betti_numbers(filled.data == 1) == (1, 0, 0)
    assert "ids 2" in widget.status.value and notes.errors == []
    np.testing.assert_array_equal(cells.data, labels)
    widget.layer.value = shell
    run_and_wait(qtbot, widget)
    (ball,) = widget.last_layers
    assert betti_numbers(ball.data) == (1, 0, 0) and np.count_nonzero(ball.data) <= 3
    # the soft widget too
    soft = dock(viewer, "Soft skeleton")
    soft.layer.value = shell
    soft.fill_holes.value = True
    run_and_wait(qtbot, soft)
    assert soft.last_layers[-1].name.endswith("(holes filled)")
    assert betti_numbers(np.asarray(soft.last_layers[-1].data) != 0)[2] == 0
    assert notes.errors == []
