"""The iteration explorer widget: steps shown exactly, placement, slider, errors, cancel."""

import numpy as np
import pytest
import torch

pytest.importorskip("napari")
pytest.importorskip("pytestqt")

from napari.layers import Image, Labels
from napari.utils.notifications import notification_manager

from napari_soft_skeleton._napari import _explorer_steps as steps_mod
from napari_soft_skeleton._napari import _explorer_widget as explorer
from napari_soft_skeleton._napari._common import UserError
from napari_soft_skeleton._napari._sample_data import _layers as sample_layers
from napari_soft_skeleton.palette import METHOD_COLOURS, rgb
from napari_soft_skeleton.samples import list_samples
from napari_soft_skeleton.soft import soft_skeleton_levels, soft_skeleton_steps

K = 12


# --------------------------------------------------------------------------
# inputs and references
# --------------------------------------------------------------------------


def _mask_labels(ndim):
    """Two touching labels (a slab and a ball) plus a thin line: 2D 30×34 or 3D 18×22×24."""
    shape = (30, 34) if ndim == 2 else (18, 22, 24)
    grid = np.indices(shape)
    centre = [s // 2 for s in shape]
    ball = sum((g - c) ** 2 for g, c in zip(grid, centre)) <= 7**2
    labels = np.zeros(shape, np.uint16)
    labels[ball] = 2
    labels[(slice(3, 9),) + (slice(2, -2),) * (ndim - 1)] = 1
    labels[(slice(-3, -2),) + (slice(4, -4),) * (ndim - 1)] = 3
    return labels


def _probability(ndim):
    """A smooth float32 map in [0, 1] with a few bumps: 2D 32×36 or 3D 16×20×22."""
    shape = (32, 36) if ndim == 2 else (16, 20, 22)
    rng = np.random.default_rng(7)
    grid = np.indices(shape).astype(np.float64)
    out = np.zeros(shape)
    for _ in range(4):
        centre = [rng.uniform(0, s) for s in shape]
        out += np.exp(-sum((g - c) ** 2 for g, c in zip(grid, centre)) / (2 * 4.0**2))
    out = out / out.max()
    out[out < 0.15] = 0
    return out.astype(np.float32)


def _reference(image, iterations):
    """What soft_skeleton_steps yields, as NumPy (eroded, skeleton) per step."""
    x = torch.from_numpy(np.asarray(image, np.float32))[None, None]
    return [(e[0, 0].numpy().copy(), s[0, 0].numpy().copy()) for _, e, s in soft_skeleton_steps(x, iterations)]


def _used(image, iterations):
    x = torch.from_numpy(np.asarray(image, np.float32))[None, None]
    return soft_skeleton_levels(x, iterations)[1]


def _dock(viewer):
    _, widget = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Iteration explorer")
    return widget


def _run(qtbot, widget, timeout=20000):
    worker = widget.compute()
    assert worker is not None
    qtbot.waitUntil(lambda: not widget.job.running, timeout=timeout)
    return worker


def _notes(start):
    return [(str(n.severity).lower(), n.message) for n in notification_manager.records[start:]]


# --------------------------------------------------------------------------
# the compact representation, without a viewer
# --------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["mask3d", "all_foreground", "float2d", "uint8_normalized"])
def test_compact_steps_equal_soft_skeleton_steps_at_every_step(case):
    rng = np.random.default_rng(1)
    if case == "mask3d":
        layer = Labels((rng.random((12, 14, 15)) > 0.35).astype(np.uint8) * 4)
    elif case == "all_foreground":
        layer = Labels(np.ones((9, 10), np.uint8))
    elif case == "float2d":
        layer = Image(_probability(2))
    else:  # integer intensities are rescaled min-max
        layer = Image(rng.integers(10, 200, (20, 22), dtype=np.uint8))
    image = explorer.explorer_input(layer)
    assert image.dtype == (bool if case in ("mask3d", "all_foreground") else np.float32)
    if case == "uint8_normalized":
        assert image.min() == 0 and image.max() == 1
    steps = explorer.compute_steps(image, K)
    if steps.binary:  # stored as two small integer maps, not per step
        assert steps.depth.dtype == np.uint8 and steps.joined.dtype == np.uint8 and not steps.eroded
    reference = _reference(image, K)
    for k, (eroded, skel) in enumerate(reference):
        np.testing.assert_array_equal(steps.eroded_at(k), eroded)
        if steps.binary:
            np.testing.assert_array_equal(steps.skeleton_at(k), skel)
        else:
            np.testing.assert_allclose(steps.skeleton_at(k), skel, rtol=0, atol=1e-6)
        voxels, gone = steps.stats_at(k)
        assert voxels == np.count_nonzero(skel > 0.5)
        assert gone == pytest.approx(1 - eroded.sum(dtype=np.float64) / image.sum(dtype=np.float64), abs=1e-9)
    used = _used(image, K)
    assert steps.settled == (None if used == K and steps.last == K else used)
    if case == "all_foreground":  # never erodes: constant from the start
        assert steps.last == 0 and steps.settled == 0


# --------------------------------------------------------------------------
# the widget in a viewer
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("kind", ["labels", "float"])
def test_steps_are_shown_exactly_and_placed_on_the_input(make_napari_viewer, qtbot, ndim, kind):
    viewer = make_napari_viewer()
    scale = (2.0,) + (1.0,) * (ndim - 1)
    translate = (4.0, 5.0, -3.0)[-ndim:]
    if kind == "labels":
        data = _mask_labels(ndim)
        layer = viewer.add_labels(data, name="input", scale=scale, translate=translate)
        image = (data > 0).astype(np.float32)
    else:
        data = _probability(ndim)
        layer = viewer.add_image(data, name="input", scale=scale, translate=translate)
        image = data
    before = data.copy()
    widget = _dock(viewer)
    assert widget.layer.value is layer
    assert not widget.slider.enabled
    widget.max_iterations.value = K
    _run(qtbot, widget)

    assert widget.slider.enabled and widget.slider.max == K
    assert len(viewer.layers) == 3
    # (the widget holds napari's plugin proxies of the layers: compare with ==)
    eroded_layer, skeleton_layer = viewer.layers["input eroded"], viewer.layers["input skeleton so far"]
    assert widget.eroded_layer == eroded_layer and widget.skeleton_layer == skeleton_layer
    for out in (eroded_layer, skeleton_layer):
        np.testing.assert_array_equal(out.scale, layer.scale)
        np.testing.assert_array_equal(out.translate, layer.translate)
    assert tuple(skeleton_layer.contrast_limits) == (0, 1)

    reference = _reference(image, K)
    for k in (0, 1, 3, 7, K):
        widget.show_step(k)
        eroded, skel = reference[k]
        np.testing.assert_array_equal(widget.eroded_layer.data, eroded)
        if kind == "labels":
            np.testing.assert_array_equal(widget.skeleton_layer.data, skel)
        else:
            np.testing.assert_allclose(widget.skeleton_layer.data, skel, rtol=0, atol=1e-6)
        assert widget.slider.value == k
        assert widget.status.value.startswith(f"step {k} of {K}: {np.count_nonzero(skel > 0.5)} skeleton voxels")

    # the slider drives the same update
    widget.slider.value = 5
    np.testing.assert_array_equal(widget.eroded_layer.data, reference[5][0])
    np.testing.assert_allclose(widget.skeleton_layer.data, reference[5][1], rtol=0, atol=1e-6)
    assert widget.status.value.startswith(f"step 5 of {K}:")
    what = "mask" if kind == "labels" else "intensity"
    assert f"% of the {what} eroded away" in widget.status.value
    used = _used(image, K)
    if widget.steps.settled is not None:
        assert widget.steps.settled == used
        assert f"after step {used}" in widget.hint.value

    # the same objects are updated, never re-created; the layer count stays put
    assert viewer.layers["input eroded"] is eroded_layer
    assert viewer.layers["input skeleton so far"] is skeleton_layer
    _run(qtbot, widget)
    assert len(viewer.layers) == 3
    assert viewer.layers["input eroded"] is eroded_layer
    assert viewer.layers["input skeleton so far"] is skeleton_layer
    assert widget.layer.value is layer
    np.testing.assert_array_equal(layer.data, before)
    assert layer.data.dtype == before.dtype


def test_use_this_count_emits_the_step(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.add_labels(_mask_labels(2), name="cells")
    widget = _dock(viewer)
    assert not widget.use_button.enabled
    widget.max_iterations.value = 6
    _run(qtbot, widget)
    widget.slider.value = 4
    got = []
    widget.iterations_chosen.connect(got.append)
    widget.use_button.clicked.emit()
    assert got == [4] and widget.chosen_iterations == 4
    # an open Soft skeleton widget takes the count (found by duck typing, not imported)
    _, soft = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Soft skeleton")
    assert soft.iterations.value != 3
    widget.slider.value = 3
    widget.use_button.clicked.emit()
    assert got == [4, 3] and soft.iterations.value == 3


def test_errors_become_notifications_and_add_no_layer(make_napari_viewer, qtbot, monkeypatch):
    viewer = make_napari_viewer()
    widget = _dock(viewer)

    def fails_with(text):
        start = len(notification_manager.records)
        count = len(viewer.layers)
        assert widget.compute() is None
        notes = _notes(start)
        assert any("error" in sev and text in msg for sev, msg in notes), notes
        assert text in widget.status.value  # in the status line too, in full
        assert len(viewer.layers) == count
        assert not widget.job.running

    fails_with("Select an Image or Labels layer in 'input layer' first")
    assert widget.status.native.wordWrap()
    rgb_layer = viewer.add_image(np.zeros((8, 9, 3), np.uint8) + 9, rgb=True, name="rgb")
    assert rgb_layer not in list(widget.layer.choices)  # never offered
    widget.layer.value = viewer.add_image(np.ones((2, 3, 8, 8), np.float32), name="t")
    fails_with("4D")
    widget.layer.value = viewer.add_labels(np.zeros((8, 8), np.uint8), name="nothing")
    fails_with("empty")
    widget.layer.value = viewer.add_image(np.full((8, 8), 7, np.uint16), name="flat")
    fails_with("constant")
    big = viewer.add_image(_probability(2), name="big")
    widget.layer.value = big
    # only the voxels above the minimum are stored: (K + 1) x 2 float32 each
    stored = int(np.count_nonzero(big.data))
    assert stored < big.data.size
    per_step = explorer.float_store_bytes((stored,), 0)
    monkeypatch.setattr(steps_mod, "MAX_FLOAT_STORE_BYTES", 7 * per_step + 5)  # 6 iterations fit
    widget.max_iterations.value = 7
    fails_with(f"At most 6 iterations fit in {(7 * per_step + 5) / 1e9:g} GB for this 32×36 layer ('big', "
               f"{stored} voxels above its minimum), not 7; set 'max iterations' to 6")
    widget.max_iterations.value = 6
    assert _run(qtbot, widget) is not None
    with pytest.raises(UserError):
        explorer.explorer_input(None)


def test_cancel_adds_no_layer(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    data = np.random.default_rng(0).random((64, 64, 64), dtype=np.float32)
    viewer.add_image(data, name="noise")
    widget = _dock(viewer)
    widget.max_iterations.value = 200
    start = len(notification_manager.records)
    worker = widget.compute()
    assert worker is not None and widget.cancel_button.enabled and not widget.compute_button.enabled
    widget.job.cancel()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=20000)
    assert len(viewer.layers) == 1
    assert widget.steps is None and not widget.slider.enabled
    assert any("info" in sev and "Cancelled" in msg for sev, msg in _notes(start))
    assert widget.compute_button.enabled and not widget.cancel_button.enabled
    assert widget.status.value.startswith("Cancelled")


def test_removing_the_input_forgets_its_steps(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(_mask_labels(2), name="cells")
    widget = _dock(viewer)
    widget.max_iterations.value = 4
    _run(qtbot, widget)
    assert widget.slider.enabled and widget.steps is not None
    viewer.layers.remove(layer)
    assert widget.steps is None and not widget.slider.enabled and not widget.use_button.enabled
    assert widget.layer.value is None  # its own output layers are never offered as input
    widget.slider.value = 2  # nothing to show: no error, no new layer
    assert len(viewer.layers) == 2


def test_default_maximum_fits_every_sample_layer(make_napari_viewer):
    """No sample is refused at the default maximum (the check only: no steps are computed)."""
    viewer = make_napari_viewer()
    default = int(_dock(viewer).max_iterations.value)
    for name in list_samples():
        for data, meta, kind in sample_layers(name):
            layer = (Image if kind == "image" else Labels)(data, name=meta["name"])
            image = explorer.explorer_input(layer)
            explorer.check_fits(image, default, layer.name)  # raises UserError when refused


def test_refusal_says_how_many_iterations_fit(monkeypatch):
    image = np.zeros((256, 256, 256), np.float32)
    image[100:110, 50:200, 60:70] = np.linspace(0.1, 1.0, 10, dtype=np.float32)[:, None, None]
    voxels = 10 * 150 * 10
    monkeypatch.setattr(steps_mod, "MAX_FLOAT_STORE_BYTES", int(1.5e6))
    fit = int(1.5e6) // (2 * 4 * voxels) - 1
    assert explorer.float_store_bytes((voxels,), fit) <= 1.5e6 < explorer.float_store_bytes((voxels,), fit + 1)
    explorer.check_fits(image, fit, "vessels")
    with pytest.raises(UserError, match=rf"^At most {fit} iterations fit in 0.0015 GB for this 256³ layer "
                                        rf"\('vessels', {voxels} voxels above its minimum\), not {fit + 1}; "
                                        rf"set 'max iterations' to {fit} or crop the layer\.$"):
        explorer.check_fits(image, fit + 1, "vessels")
    explorer.check_fits(image > 0.5, 200, "mask")  # a mask: two small integer maps, any count fits


def test_legend_says_what_each_colour_is(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.add_image(_probability(2), name="prob")
    widget = _dock(viewer)
    legend = widget.legend.value
    soft = METHOD_COLOURS["soft"]
    assert soft in legend and "skeleton so far" in legend and "eroded" in legend
    assert not widget.legend.native.isHidden()
    widget.max_iterations.value = 4
    _run(qtbot, widget)
    widget.show_step(2)
    # the layers are drawn in the colours the legend names
    np.testing.assert_allclose(widget.skeleton_layer.colormap.map(np.array([1.0]))[0, :3], rgb(soft), atol=1e-3)
    assert widget.eroded_layer.colormap.name == "gray"
