"""The "Compare skeletons" widget: table, difference layer, per-slice plot, exports, errors."""

from __future__ import annotations

import csv
import json
import threading
import time

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("pytestqt")

from matplotlib.backend_bases import MouseEvent  # noqa: E402
from matplotlib.image import imread  # noqa: E402
from napari.utils.notifications import notification_manager  # noqa: E402

from napari_soft_skeleton import compare, difference_labels, skeletonize  # noqa: E402
from napari_soft_skeleton._napari._compare_widget import COLOURS, PLOT_DOCK_NAME  # noqa: E402
from napari_soft_skeleton.metrics import (  # noqa: E402
    DIFFERENCE_BOTH,
    DIFFERENCE_CANDIDATE_ONLY,
    DIFFERENCE_REFERENCE_ONLY,
)

SCALE = (2.0, 0.5, 0.5)
TRANSLATE = (10.0, -3.0, 4.0)
TIMEOUT = 20_000


def _tube_skeletons(shape=(32, 32, 32)):
    """Two skeletons of the same 3D tubes: scikit-image's and the soft one."""
    mask = np.zeros(shape, dtype=bool)
    z, y, x = shape
    mask[2:-2, y // 2 - 2 : y // 2 + 2, x // 2 - 2 : x // 2 + 2] = True  # along z
    mask[z // 3 - 2 : z // 3 + 2, y // 2 - 2 : y // 2 + 2, 3:-3] = True  # along x
    mask[2 * z // 3 - 1 : 2 * z // 3 + 2, 3:-3, x // 4 - 1 : x // 4 + 2] = True  # along y
    return skeletonize(mask, "lee").astype(np.uint8), skeletonize(mask, "soft", iterations=5)


@pytest.fixture
def viewer_widget(make_napari_viewer):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Compare skeletons")
    return viewer, widget


@pytest.fixture
def notes():
    """Notifications shown during the test, as (severity, message) pairs."""
    start = len(notification_manager.records)

    def get():
        return [(str(n.severity).lower(), n.message) for n in notification_manager.records[start:]]

    return get


def _add_pair(viewer, shape=(32, 32, 32)):
    ref, cand = _tube_skeletons(shape)
    a = viewer.add_labels(ref, name="A", scale=SCALE, translate=TRANSLATE)
    b = viewer.add_image(cand, name="B", scale=SCALE, translate=TRANSLATE)
    return a, b, ref, cand


def _run(qtbot, widget):
    worker = widget.run()
    assert worker is not None
    qtbot.waitUntil(lambda: not widget.job.running, timeout=TIMEOUT)
    return worker


def _errors(notes):
    return [m for s, m in notes() if "error" in s]


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------


def test_table_matches_compare(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    a, b, ref, cand = _add_pair(viewer)
    widget.reference.value, widget.candidate.value = a, b
    widget.tolerance.value = 0.75
    _run(qtbot, widget)

    expected = compare(ref, cand, spacing=SCALE, tolerance=0.75)
    assert widget.result.to_dict() == expected.to_dict()
    values = widget.table_values()
    assert values["precision"] == expected.precision
    assert values["recall"] == expected.recall
    assert values["F1"] == expected.f1
    assert values["voxels A"] == expected.n_reference
    assert values["voxels B"] == expected.n_candidate
    assert values["voxels in both"] == expected.n_both
    assert values["Betti numbers A"] == expected.betti_reference
    assert values["Betti numbers B"] == expected.betti_candidate
    assert values["length A"] == pytest.approx(expected.length_reference)
    assert values["length B"] == pytest.approx(expected.length_candidate)
    assert values["tolerance"] == 0.75
    shown = {widget.table.item(i, 0).text(): widget.table.item(i, 1).text()
             for i in range(widget.table.rowCount())}
    assert shown["F1"] == f"{expected.f1:.4f}"
    assert shown["Betti numbers A"].startswith("b0=")
    assert shown["length A"].endswith("scale units")  # scale (2, .5, .5) without a unit
    assert 0 < expected.f1 < 1  # a comparison worth looking at


def test_difference_layer_placed_on_reference_and_reused(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    a, b, ref, cand = _add_pair(viewer)
    widget.reference.value, widget.candidate.value = a, b
    _run(qtbot, widget)

    layer = widget.difference_layer
    assert layer.name == "difference A vs B"
    np.testing.assert_array_equal(layer.data, difference_labels(ref, cand))
    np.testing.assert_allclose(layer.scale, a.scale)
    np.testing.assert_allclose(layer.translate, a.translate)
    for code, colour in COLOURS.items():
        np.testing.assert_allclose(layer.colormap.map(code)[:3], _rgb(colour), atol=1e-6)
    assert layer.colormap.map(0)[3] == 0  # background transparent
    # the legend counts add up to the skeletons
    r = widget.result
    counts = {code: int(label.text().split()[0]) for code, label in widget._legend_count.items()}
    assert counts[DIFFERENCE_BOTH] == int(np.sum(layer.data == DIFFERENCE_BOTH)) == r.n_both
    assert counts[DIFFERENCE_REFERENCE_ONLY] == int(np.sum(layer.data == DIFFERENCE_REFERENCE_ONLY))
    assert counts[DIFFERENCE_CANDIDATE_ONLY] == int(np.sum(layer.data == DIFFERENCE_CANDIDATE_ONLY))
    assert viewer.window.dock_widgets[PLOT_DOCK_NAME] is widget.plot_canvas

    n_layers, n_docks = len(viewer.layers), len(viewer.window.dock_widgets)
    b.data = np.zeros_like(cand)
    b.data[:, 16, 16] = 1
    _run(qtbot, widget)
    assert len(viewer.layers) == n_layers
    assert len(viewer.window.dock_widgets) == n_docks
    assert widget.difference_layer == layer  # (the widget sees layers through napari's proxy)
    assert [ly.name for ly in viewer.layers].count("difference A vs B") == 1

    # a closed plot dock comes back on the next run
    viewer.window.remove_dock_widget(widget.plot_canvas.parent())
    assert PLOT_DOCK_NAME not in viewer.window.dock_widgets
    _run(qtbot, widget)
    assert viewer.window.dock_widgets[PLOT_DOCK_NAME] is widget.plot_canvas
    assert len(viewer.layers) == n_layers
    np.testing.assert_array_equal(layer.data, difference_labels(ref, b.data))
    # the difference layer is never offered as an input
    assert layer not in widget.reference.choices


def test_mask_and_float_image_threshold(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    ref, cand = _tube_skeletons()
    soft = np.where(cand, 0.8, 0.3).astype(np.float32)  # float image: skeleton is > 0.5
    roi = np.zeros(ref.shape, dtype=np.uint8)
    roi[:16] = 1
    a = viewer.add_labels(ref, name="A")
    b = viewer.add_image(soft, name="B soft")
    m = viewer.add_labels(roi, name="roi")
    widget.reference.value, widget.candidate.value, widget.mask.value = a, b, m
    _run(qtbot, widget)
    expected = compare(ref, cand, mask=roi, spacing=(1.0, 1.0, 1.0))
    assert widget.result.to_dict() == expected.to_dict()
    np.testing.assert_array_equal(widget.difference_layer.data, difference_labels(ref * roi, cand * roi))
    assert "within 'roi'" in widget.status.text()
    assert "voxels" in widget.table.item(10, 1).text()  # scale 1: lengths in voxels


def _add_three(viewer):
    """A = Lee's skeleton, B = the soft one, C = the topological one, of the same tubes."""
    a, b, ref, cand = _add_pair(viewer)
    mask = np.zeros(ref.shape, dtype=bool)
    z, y, x = ref.shape
    mask[2:-2, y // 2 - 2 : y // 2 + 2, x // 2 - 2 : x // 2 + 2] = True
    mask[z // 3 - 2 : z // 3 + 2, y // 2 - 2 : y // 2 + 2, 3:-3] = True
    mask[2 * z // 3 - 1 : 2 * z // 3 + 2, 3:-3, x // 4 - 1 : x // 4 + 2] = True
    topo = skeletonize(mask, "topological").astype(np.uint8)
    c = viewer.add_labels(topo, name="C", scale=SCALE, translate=TRANSLATE)
    return a, b, c, ref, cand, topo


def test_two_candidates_side_by_side_in_the_table_plot_and_exports(viewer_widget, qtbot, tmp_path):
    viewer, widget = viewer_widget
    a, b, c, ref, cand, topo = _add_three(viewer)
    assert widget.second.value is None  # C is optional and never filled in for you
    widget.reference.value, widget.candidate.value, widget.second.value = a, b, c
    _run(qtbot, widget)

    expected = [compare(ref, cand, spacing=SCALE), compare(ref, topo, spacing=SCALE)]
    assert [r.to_dict() for r in widget.results] == [e.to_dict() for e in expected]
    assert widget.result.to_dict() == expected[0].to_dict()
    assert expected[1].f1 > expected[0].f1  # the thin skeleton agrees better with Lee's
    # the table: a column per candidate
    assert widget.table.columnCount() == 3
    assert [widget.table.horizontalHeaderItem(i).text() for i in range(3)] == ["metric", "B", "C"]
    for column, e in ((1, expected[0]), (2, expected[1])):
        values = widget.table_values(column)
        assert values["F1"] == e.f1 and values["precision"] == e.precision
        assert values["voxels A"] == e.n_reference
        assert values["voxels candidate"] == e.n_candidate
        assert values["Betti numbers candidate"] == e.betti_candidate
    # a difference layer per candidate, both placed on A
    names = [ly.name for ly in widget.difference_layers]
    assert names == ["difference A vs B", "difference A vs C"]
    for layer, other in zip(widget.difference_layers, (cand, topo)):
        np.testing.assert_array_equal(layer.data, difference_labels(ref, other))
        np.testing.assert_allclose(layer.scale, a.scale)
    both = widget._legend_count[DIFFERENCE_BOTH].text()
    assert both == f"{expected[0].n_both} / {expected[1].n_both} voxels"
    # the plot: one agreement line per candidate
    top, bottom = widget._axes
    for line, e in zip(top.lines, expected):
        np.testing.assert_array_equal(line.get_ydata(), np.asarray(e.per_slice["agreement"], float))
    assert [t.get_text() for t in top.get_legend().get_texts()][:2] == [
        f"B (F1 {expected[0].f1:.3f})", f"C (F1 {expected[1].f1:.3f})"]
    assert "B 'B' and C 'C' vs A 'A'" in top.get_title()
    # exports
    assert widget.export_metrics(tmp_path / "m.json")
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["reference_layer"] == "A"
    assert [d["candidate_layer"] for d in data["candidates"]] == ["B", "C"]
    assert [d["f1"] for d in data["candidates"]] == [e.f1 for e in expected]
    assert widget.export_metrics(tmp_path / "m.csv")
    with open(tmp_path / "m.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["metric", "B", "C"] and rows[2] == ["candidate_layer", "B", "C"]
    summary = {row[0]: row[1:] for row in rows[1 : rows.index([])]}
    assert [float(v) for v in summary["f1"]] == [e.f1 for e in expected]
    header = next(row for row in rows if row and row[0] == "slice")
    assert "agreement B" in header and "agreement C" in header
    assert len(rows) - rows.index(header) - 1 == ref.shape[0]
    # back to one candidate: two columns again, the layer of C is left alone
    widget.second.value = None
    _run(qtbot, widget)
    assert widget.table.columnCount() == 2 and len(widget.results) == 1
    assert [ly.name for ly in widget.difference_layers] == ["difference A vs B"]
    assert "difference A vs C" in [ly.name for ly in viewer.layers]


def test_side_by_side_shows_the_skeletons_in_a_grid_and_puts_everything_back(viewer_widget, qtbot, notes):
    viewer, widget = viewer_widget
    image = viewer.add_image(np.zeros((32, 32, 32), np.float32), name="image", scale=SCALE, translate=TRANSLATE)
    a, b, c, *_ = _add_three(viewer)
    c.visible = False
    viewer.canvas.grid.stride = 2
    # with only A chosen there is nothing to put beside it
    widget.reference.value, widget.candidate.value, widget.second.value = a, None, None
    before = len(_errors(notes))
    widget.side_by_side.setChecked(True)
    assert not widget.side_by_side.isChecked() and not viewer.canvas.grid.enabled
    assert len(_errors(notes)) == before + 1

    viewer.layers.move(1, 4)  # A above C: image, B, C, A
    order = [ly.name for ly in viewer.layers]
    assert order == ["image", "B", "C", "A"]
    widget.candidate.value, widget.second.value = b, c
    widget.side_by_side.setChecked(True)
    assert viewer.canvas.grid.enabled and tuple(viewer.canvas.grid.shape) == (1, 3)
    assert [ly.visible for ly in (image, a, b, c)] == [False, True, True, True]
    layers = list(viewer.layers)
    positions = [viewer.canvas.grid.position(layers.index(ly), viewer.layers) for ly in (a, b, c)]
    assert positions == [(0, 0), (0, 1), (0, 2)]  # A, B, C from the left
    # the pickers drive the grid
    widget.second.value = None
    assert tuple(viewer.canvas.grid.shape) == (1, 2) and not c.visible
    # a comparison run keeps its new difference layer out of the grid
    _run(qtbot, widget)
    assert not widget.difference_layer.visible
    # off: the layers' visibility and the grid as they were
    widget.show_side_by_side(False)
    assert not widget.side_by_side.isChecked()
    assert not viewer.canvas.grid.enabled and viewer.canvas.grid.stride == 2 and tuple(viewer.canvas.grid.shape) == (-1, -1)
    assert [ly.visible for ly in (image, a, b, c)] == [True, True, True, False]
    assert widget.difference_layer.visible  # it was not there before: left as napari shows new layers
    assert [ly.name for ly in viewer.layers] == [*order, "difference A vs B"]


# ---------------------------------------------------------------------------
# plot and slices
# ---------------------------------------------------------------------------


def test_go_to_slice_click_and_marker(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    a, b, _, _ = _add_pair(viewer)
    widget.reference.value, widget.candidate.value = a, b
    _run(qtbot, widget)
    top, bottom = widget._axes
    assert bottom.get_xlabel() == "z slice (axis 0)"
    np.testing.assert_array_equal(top.lines[0].get_ydata(), widget.result.per_slice["agreement"])

    widget.go_to_slice(5)
    assert viewer.dims.current_step[0] == 5
    assert viewer.dims.point[0] == pytest.approx(TRANSLATE[0] + 5 * SCALE[0])
    assert widget.current_slice() == 5
    assert widget.marker_position() == 5

    canvas = widget.plot_canvas
    canvas.draw()
    for ax, target in ((top, 9), (bottom, 7)):
        x_px, y_px = ax.transData.transform((target, np.mean(ax.get_ylim())))
        event = MouseEvent("button_press_event", canvas, x_px, y_px, button=1)
        canvas.callbacks.process("button_press_event", event)
        assert viewer.dims.current_step[0] == target
    # a click outside the axes does nothing
    canvas.callbacks.process("button_press_event", MouseEvent("button_press_event", canvas, 1, 1, button=1))
    assert viewer.dims.current_step[0] == 7

    viewer.dims.set_current_step(0, 12)
    assert widget.current_slice() == 12
    assert widget.marker_position() == 12
    assert all(line.get_xdata()[0] == 12 for line in widget._markers)
    widget.go_to_slice(1000)  # clipped to the last slice
    assert widget.current_slice() == 31


def test_2d_rows(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    ref = np.zeros((20, 30), dtype=np.uint8)
    ref[10, 2:28] = 1
    ref[3:18, 15] = 1
    cand = np.roll(ref, 1, axis=1)
    a = viewer.add_labels(ref, name="A", scale=(3.0, 1.0), translate=(6.0, 0.0))
    b = viewer.add_labels(cand, name="B", scale=(3.0, 1.0), translate=(6.0, 0.0))
    widget.reference.value, widget.candidate.value = a, b
    _run(qtbot, widget)
    assert widget._axes[1].get_xlabel() == "row (axis 0)"
    assert len(widget.result.per_slice["agreement"]) == 20
    widget.go_to_slice(4)
    assert viewer.dims.point[0] == pytest.approx(6.0 + 4 * 3.0)
    assert widget.current_slice() == 4


# ---------------------------------------------------------------------------
# exports
# ---------------------------------------------------------------------------


def test_exports(viewer_widget, qtbot, tmp_path, notes):
    viewer, widget = viewer_widget
    a, b, _, _ = _add_pair(viewer)
    widget.reference.value, widget.candidate.value = a, b
    assert not widget.export_button.isEnabled()
    _run(qtbot, widget)
    assert widget.export_button.isEnabled() and widget.save_plot_button.isEnabled()
    r = widget.result

    assert widget.export_metrics(tmp_path / "m.json")
    with open(tmp_path / "m.json") as fh:
        data = json.load(fh)
    assert data["f1"] == r.f1
    assert data["reference_layer"] == "A" and data["candidate_layer"] == "B"
    assert data["per_slice"] == r.to_dict()["per_slice"]

    assert widget.export_metrics(tmp_path / "m.csv")
    with open(tmp_path / "m.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    summary = dict(row for row in rows[1 : rows.index([])])
    assert float(summary["precision"]) == r.precision
    assert int(summary["n_reference"]) == r.n_reference
    header_at = next(i for i, row in enumerate(rows) if row and row[0] == "slice")
    assert rows[header_at][1:] == list(r.per_slice)
    table = rows[header_at + 1 :]
    assert len(table) == r.shape[0]
    assert [int(row[0]) for row in table] == list(range(r.shape[0]))
    agreement = r.per_slice["agreement"]
    column = rows[header_at].index("agreement")
    for row, value in zip(table, agreement):
        assert row[column] == "" if np.isnan(value) else float(row[column]) == pytest.approx(value)

    assert widget.save_plot(tmp_path / "plot.png")
    image = imread(tmp_path / "plot.png")
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 300

    before = len(_errors(notes))
    assert not widget.export_metrics(tmp_path / "missing" / "m.json")
    assert not widget.save_plot(tmp_path / "missing" / "plot.png")
    assert not widget.export_metrics(tmp_path / "m.txt")
    errors = _errors(notes)[before:]
    assert len(errors) == 3
    assert "Could not save the metrics" in errors[0]
    assert not (tmp_path / "missing").exists() and not (tmp_path / "m.txt").exists()


# ---------------------------------------------------------------------------
# errors and cancel
# ---------------------------------------------------------------------------


def _setup_no_layer(viewer, widget):
    a = viewer.add_labels(np.eye(8, dtype=np.uint8), name="A")
    widget.reference.value, widget.candidate.value = a, None


def _setup_shape_mismatch(viewer, widget):
    a = viewer.add_labels(np.eye(8, dtype=np.uint8), name="A")
    b = viewer.add_labels(np.eye(9, dtype=np.uint8), name="B")
    widget.reference.value, widget.candidate.value = a, b


def _setup_rgb(viewer, widget):
    a = viewer.add_labels(np.eye(8, dtype=np.uint8), name="A")
    b = viewer.add_image(np.ones((8, 8, 3), dtype=np.uint8), name="B", rgb=True)
    widget.reference.value, widget.candidate.value = a, b


def _setup_4d(viewer, widget):
    a = viewer.add_labels(np.ones((2, 4, 8, 8), dtype=np.uint8), name="A")
    b = viewer.add_labels(np.ones((2, 4, 8, 8), dtype=np.uint8), name="B")
    widget.reference.value, widget.candidate.value = a, b


def _setup_empty(viewer, widget):
    a = viewer.add_labels(np.eye(8, dtype=np.uint8), name="A")
    b = viewer.add_image(np.full((8, 8), 0.25, dtype=np.float32), name="B")  # nothing > 0.5
    widget.reference.value, widget.candidate.value = a, b


def _setup_mask_mismatch(viewer, widget):
    a = viewer.add_labels(np.eye(8, dtype=np.uint8), name="A")
    m = viewer.add_labels(np.ones((4, 4), dtype=np.uint8), name="M")
    widget.reference.value, widget.candidate.value, widget.mask.value = a, a, m


def _setup_c_is_b(viewer, widget):
    a = viewer.add_labels(np.eye(8, dtype=np.uint8), name="A")
    b = viewer.add_labels(np.eye(8, dtype=np.uint8), name="B")
    widget.reference.value, widget.candidate.value, widget.second.value = a, b, b


def _setup_c_shape_mismatch(viewer, widget):
    a = viewer.add_labels(np.eye(8, dtype=np.uint8), name="A")
    b = viewer.add_labels(np.eye(8, dtype=np.uint8), name="B")
    c = viewer.add_labels(np.eye(9, dtype=np.uint8), name="C")
    widget.reference.value, widget.candidate.value, widget.second.value = a, b, c


def _setup_c_empty(viewer, widget):
    a = viewer.add_labels(np.eye(8, dtype=np.uint8), name="A")
    b = viewer.add_labels(np.eye(8, dtype=np.uint8), name="B")
    c = viewer.add_labels(np.zeros((8, 8), dtype=np.uint8), name="C")
    widget.reference.value, widget.candidate.value, widget.second.value = a, b, c


_ERROR_CASES = [
    (_setup_no_layer, "Select the candidate"),
    (_setup_c_is_b, "B and C are the same layer"),
    (_setup_c_shape_mismatch, "(C) have different shapes"),
    (_setup_c_empty, "is empty"),
    (_setup_shape_mismatch, "different shapes"),
    (_setup_rgb, "RGB"),
    (_setup_4d, "4D"),
    (_setup_empty, "empty"),
    (_setup_mask_mismatch, "does not have the shape"),
]


def test_errors_notify_and_add_no_layer(viewer_widget, notes):
    # one viewer for all cases (a viewer per case would double the file's run time)
    viewer, widget = viewer_widget
    for setup, words in _ERROR_CASES:
        widget.mask.value = widget.second.value = None  # (layers pile up: clearing them costs more)
        setup(viewer, widget)
        n_layers, before = len(viewer.layers), len(_errors(notes))
        assert widget.run() is None, setup.__name__
        errors = _errors(notes)[before:]
        assert len(errors) == 1 and words in errors[0], (setup.__name__, errors)
        assert errors[0].count(". ") == 0  # one sentence
        assert len(viewer.layers) == n_layers
        assert widget.result is None and widget.difference_layer is None
        assert not widget.job.running and widget.compare_button.isEnabled()


def test_cancel_changes_nothing(viewer_widget, qtbot, notes):
    viewer, widget = viewer_widget
    ref = np.zeros((96, 160, 160), dtype=bool)
    ref[:, ::8, 80] = True
    ref[::4, 40, :] = True
    a = viewer.add_labels(ref.astype(np.uint8), name="A")
    b = viewer.add_labels(np.roll(ref, 1, axis=2).astype(np.uint8), name="B")
    widget.reference.value, widget.candidate.value = a, b
    n_layers = len(viewer.layers)
    worker = widget.run()
    assert worker is not None and widget.cancel_button.isEnabled()
    widget.job.cancel()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=TIMEOUT)
    qtbot.wait(50)
    assert len(viewer.layers) == n_layers
    assert widget.result is None and widget.difference_layer is None
    cancelled = [m for s, m in notes() if "info" in s and m.startswith("Cancelled")]
    assert len(cancelled) == 1
    assert widget.status.text().startswith("Cancelled")
    assert widget.compare_button.isEnabled() and not widget.cancel_button.isEnabled()


def test_late_cancel_still_wins(viewer_widget, qtbot, notes, monkeypatch):
    # Cancel pressed after the work is done but before its result reached the GUI
    # thread: the result is dropped and "Cancelled" is still reported.
    from napari_soft_skeleton._napari import _compare_widget

    computed = threading.Event()

    def difference_then_signal(*args):
        out = difference_labels(*args)
        computed.set()
        return out

    monkeypatch.setattr(_compare_widget, "difference_labels", difference_then_signal)
    viewer, widget = viewer_widget
    a, b, _, _ = _add_pair(viewer)
    widget.reference.value, widget.candidate.value = a, b
    n_layers = len(viewer.layers)
    worker = widget.run()
    # no Qt events while waiting, so the finished work's result stays queued
    assert computed.wait(TIMEOUT / 1000)
    deadline = time.monotonic() + TIMEOUT / 1000
    while worker.is_running and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not worker.is_running and widget.job.running and widget.result is None
    widget.job.cancel()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=TIMEOUT)
    assert len(viewer.layers) == n_layers and widget.result is None
    assert [m for s, m in notes() if m.startswith("Cancelled")] == ["Cancelled; no layer was changed."]
    assert widget.status.text().startswith("Cancelled")


# ---------------------------------------------------------------------------
# layer pickers
# ---------------------------------------------------------------------------


def test_pickers_follow_the_layer_list(viewer_widget):
    viewer, widget = viewer_widget
    assert widget.reference.value is None and widget.mask.value is None
    a = viewer.add_labels(np.eye(8, dtype=np.uint8), name="first skeleton")
    b = viewer.add_image(np.eye(8, dtype=bool), name="second skeleton")
    viewer.add_points(np.zeros((1, 2)), name="points")
    assert widget.reference.value is not None and widget.candidate.value is not None
    assert widget.reference.value is not widget.candidate.value
    names = [widget.candidate.native.itemText(i) for i in range(widget.candidate.native.count())]
    assert "points" not in names and {"first skeleton", "second skeleton"} <= set(names)
    assert widget.mask.native.itemText(0) == "none"

    a.name = "renamed"
    names = [widget.reference.native.itemText(i) for i in range(widget.reference.native.count())]
    assert "renamed" in names and "first skeleton" not in names

    widget.reference.value = b
    viewer.layers.remove(b)
    assert b not in widget.reference.choices and b not in widget.candidate.choices
    a.name = "renamed again"  # still followed after another layer left
    assert "renamed again" in [widget.mask.native.itemText(i) for i in range(widget.mask.native.count())]


def _rgb(colour: str):
    colour = colour.lstrip("#")
    return [int(colour[i : i + 2], 16) / 255 for i in (0, 2, 4)]
