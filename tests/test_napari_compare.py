"""The "Compare skeletons" widget: defaults, tolerance and unit, table, difference layers, per-slice plot,
side by side, time-lapse layers, exports, errors and cancel."""

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
from napari_soft_skeleton._napari import _compare_plan  # noqa: E402
from napari_soft_skeleton._napari._common import METADATA_KEY  # noqa: E402
from napari_soft_skeleton._napari._compare_grid import view_titles  # noqa: E402
from napari_soft_skeleton._napari._compare_widget import PLOT_DOCK_NAME  # noqa: E402
from napari_soft_skeleton.metrics import (  # noqa: E402
    DIFFERENCE_CANDIDATE_MATCHED,
    DIFFERENCE_CANDIDATE_ONLY,
    DIFFERENCE_MATCHED_CODES,
    DIFFERENCE_REFERENCE_MATCHED,
    DIFFERENCE_REFERENCE_ONLY,
)
from napari_soft_skeleton.palette import (  # noqa: E402
    DIFFERENCE_COLOURS,
    METHOD_COLOURS,
    REFERENCE_COLOUR,
    candidate_colour,
    rgb,
)

SCALE = (2.0, 0.5, 0.5)
TRANSLATE = (10.0, -3.0, 4.0)
TOL = 1.5 * max(SCALE)  # the default tolerance: 1.5 × the largest voxel size
TIMEOUT = 20_000


def _tube_mask(shape=(32, 32, 32)):
    mask = np.zeros(shape, dtype=bool)
    z, y, x = shape
    mask[2:-2, y // 2 - 2 : y // 2 + 2, x // 2 - 2 : x // 2 + 2] = True  # along z
    mask[z // 3 - 2 : z // 3 + 2, y // 2 - 2 : y // 2 + 2, 3:-3] = True  # along x
    mask[2 * z // 3 - 1 : 2 * z // 3 + 2, 3:-3, x // 4 - 1 : x // 4 + 2] = True  # along y
    return mask


def _tube_skeletons(shape=(32, 32, 32)):
    """Two skeletons of the same 3D tubes: scikit-image's and the soft one."""
    mask = _tube_mask(shape)
    return skeletonize(mask, "lee").astype(np.uint8), skeletonize(mask, "soft", iterations=5)


def _plugin_layer(viewer, data, name, method, source="mask", **kwargs):
    """A skeleton layer as the plugin's skeleton widgets make it (their metadata)."""
    return viewer.add_labels(data, name=name, metadata={METADATA_KEY: {"method": method, "source": source}},
                             **kwargs)


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


def _warnings(notes):
    return [m for s, m in notes() if "warning" in s]


def _names(combo):
    return [combo.native.itemText(i) for i in range(combo.native.count())]


# ---------------------------------------------------------------------------
# defaults: which layers, which tolerance
# ---------------------------------------------------------------------------


def test_defaults_pick_skeleton_layers_as_they_appear_until_picked_by_hand(viewer_widget, qtbot, notes):
    viewer, widget = viewer_widget
    mask = _tube_mask((16, 16, 16))
    lee = skeletonize(mask, "lee").astype(np.uint8)
    viewer.add_image(mask.astype(np.float32), name="vessel image")
    m = viewer.add_labels(mask.astype(np.uint8), name="vessel mask")
    # docked before any skeleton: nothing is picked (not the mask), and Compare says what to do
    assert (widget.reference.value, widget.candidate.value, widget.second.value) == (None, None, None)
    assert widget.run() is None
    assert "'A (reference)'" in widget.status.text() and "'A (reference)'" in _errors(notes)[-1]

    soft_map = viewer.add_image(lee.astype(np.float32) * 0.8, name="vessel mask soft skeleton (k=3) map",
                                metadata={METADATA_KEY: {"method": "soft", "source": "vessel mask"}})
    assert widget.candidate.value is None  # a probability map is not a skeleton
    topo = _plugin_layer(viewer, lee, "vessel mask topological skeleton", "topological", "vessel mask")
    assert widget.reference.value == topo  # the only hard skeleton so far
    a = _plugin_layer(viewer, lee, "vessel mask lee skeleton", "lee", "vessel mask")
    assert widget.reference.value == a and widget.candidate.value == topo  # Lee's is the reference
    b = _plugin_layer(viewer, lee, "vessel mask soft skeleton (k=3)", "soft", "vessel mask")
    assert (widget.reference.value, widget.candidate.value, widget.second.value) == (a, b, topo)
    # by name, for skeletons made elsewhere; another image's skeleton only if nothing better
    other = viewer.add_labels(np.eye(16, dtype=np.uint8)[None].repeat(16, 0), name="other soft skeleton")
    assert widget.candidate.value == b and widget.second.value == topo
    for layer in (m, soft_map):
        assert layer != widget.reference.value and layer != widget.candidate.value

    # picked by hand: kept when new skeletons appear; the others still follow
    widget.candidate.value = topo
    assert widget.second.value == b  # the best one left
    newer = _plugin_layer(viewer, lee, "vessel mask soft skeleton (k=5)", "soft", "vessel mask")
    assert widget.candidate.value == topo and widget.second.value == newer
    widget.second.value = None  # "none" by hand stays
    viewer.add_labels(lee, name="again soft skeleton")
    assert widget.second.value is None and widget.candidate.value == topo
    viewer.layers.remove(topo)  # a picked layer that goes: back to the default
    assert widget.candidate.value == newer
    assert other not in (widget.reference.value, widget.candidate.value)


def test_defaults_with_the_plugins_skeleton_widgets(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    mask = viewer.add_labels(_tube_mask((20, 20, 20)).astype(np.uint8), name="vessel mask")
    _, widget = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Compare skeletons")
    _, soft = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Soft skeleton")
    _, ref = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Reference skeleton")
    for method in ("topological", "lee"):
        ref.layer.value, ref.method.value = mask, method
        ref.run()
        qtbot.waitUntil(lambda: not ref.job.running, timeout=TIMEOUT)
    soft.layer.value = mask
    soft.run()
    qtbot.waitUntil(lambda: not soft.job.running, timeout=TIMEOUT)
    methods = [layer.metadata[METADATA_KEY]["method"] if layer is not None else None
               for layer in (widget.reference.value, widget.candidate.value, widget.second.value)]
    assert methods == ["lee", "soft", "topological"]


def test_a_mask_compared_as_a_skeleton_says_so(viewer_widget, qtbot, notes):
    viewer, widget = viewer_widget
    mask = _tube_mask((16, 16, 16))
    m = viewer.add_labels(mask.astype(np.uint8), name="vessel mask")
    lee = _plugin_layer(viewer, skeletonize(mask, "lee").astype(np.uint8), "vessel lee skeleton", "lee")
    widget.reference.value, widget.candidate.value = m, lee
    _run(qtbot, widget)
    warned = [w for w in _warnings(notes) if "does not look like a skeleton" in w]
    assert len(warned) == 1 and warned[0].startswith("A ('vessel mask') does not look like a skeleton")
    assert warned[0] in widget.status.text()
    assert widget.status.text().startswith("Done")


def test_tolerance_follows_layer_a_in_its_unit(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    ref, cand = _tube_skeletons((16, 16, 16))
    um = _plugin_layer(viewer, ref, "um lee skeleton", "lee", scale=SCALE, units=("um", "um", "um"))
    b = _plugin_layer(viewer, cand.astype(np.uint8), "um soft skeleton", "soft", scale=SCALE,
                      units=("um", "um", "um"))
    assert widget.reference.value == um and widget.candidate.value == b
    assert widget.tolerance.value == pytest.approx(TOL)  # 1.5 × 2 µm
    assert widget.tolerance.native.suffix() == " µm"
    _run(qtbot, widget)
    assert widget.result.unit == "µm" and widget.result.tolerance == pytest.approx(TOL)
    shown = widget.table.shown()
    assert shown["length A"].endswith(" µm") and shown["length B"].endswith(" µm")
    assert shown["tolerance"] == "3 µm"
    assert "tolerance 3 µm" in widget.status.text()

    nm = viewer.add_labels(ref, name="nm", scale=(40.0, 8.0, 8.0), units=("nm", "nm", "nm"))
    widget.reference.value = nm
    assert widget.tolerance.value == pytest.approx(60.0) and widget.tolerance.native.suffix() == " nm"
    plain = viewer.add_labels(ref, name="plain")
    widget.reference.value = plain
    assert widget.tolerance.value == pytest.approx(1.5) and widget.tolerance.native.suffix() == " voxels"
    # a skeleton made from a sample layer, whose unit is in the sample's metadata
    viewer.add_labels(ref, name="sample mask", scale=(1.0, 0.5, 0.5), metadata={"unit": "um"})
    made = _plugin_layer(viewer, ref, "sample mask lee skeleton", "lee", "sample mask", scale=(1.0, 0.5, 0.5))
    widget.reference.value = made
    assert widget.tolerance.value == pytest.approx(1.5) and widget.tolerance.native.suffix() == " µm"
    made.scale = (4.0, 0.5, 0.5)  # A rescaled: the default follows
    assert widget.tolerance.value == pytest.approx(6.0)
    # set by hand: kept from then on, the unit still follows A
    widget.tolerance.value = 2.0
    widget.reference.value = nm
    assert widget.tolerance.value == 2.0 and widget.tolerance.native.suffix() == " nm"


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------


def test_table_matches_compare(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    a, b, ref, cand = _add_pair(viewer)
    widget.reference.value, widget.candidate.value = a, b
    widget.tolerance.value = 0.75
    _run(qtbot, widget)

    expected = compare(ref, cand, spacing=SCALE, tolerance=0.75, unit="scale units")
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
    shown = widget.table.shown()
    assert shown["F1"] == f"{expected.f1:.4f}"
    assert shown["Betti numbers A"].startswith("b0=")
    assert shown["length A"].endswith("scale units")  # scale (2, .5, .5) and no unit known
    assert 0 < expected.f1 < 1  # a comparison worth looking at


def test_difference_layer_matches_the_counts_placed_on_a_and_reused(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    a, b, ref, cand = _add_pair(viewer)
    widget.reference.value, widget.candidate.value = a, b
    _run(qtbot, widget)

    layer = widget.difference_layer
    assert layer.name == "diff B (B)"
    expected = difference_labels(ref, cand, tolerance=TOL, spacing=SCALE)
    np.testing.assert_array_equal(layer.data, expected)
    assert np.isin(expected, (DIFFERENCE_REFERENCE_MATCHED, DIFFERENCE_CANDIDATE_MATCHED)).any()
    np.testing.assert_allclose(layer.scale, a.scale)
    np.testing.assert_allclose(layer.translate, a.translate)
    colours = {DIFFERENCE_REFERENCE_ONLY: DIFFERENCE_COLOURS["reference only"],
               DIFFERENCE_CANDIDATE_ONLY: DIFFERENCE_COLOURS["candidate only"],
               **{code: DIFFERENCE_COLOURS["matched"] for code in DIFFERENCE_MATCHED_CODES}}
    for code, colour in colours.items():
        np.testing.assert_allclose(layer.colormap.map(code)[:3], rgb(colour), atol=1e-6)
    assert layer.colormap.map(0)[3] == 0  # background transparent
    # the legend counts are the layer's colours, and what precision and recall count
    r = widget.result
    counts = {kind: int(label.text().split()[0]) for kind, label in widget.legend.counts.items()}
    assert counts["matched"] == int(np.isin(layer.data, DIFFERENCE_MATCHED_CODES).sum())
    assert counts["reference only"] == int(np.sum(layer.data == DIFFERENCE_REFERENCE_ONLY)) \
        == r.n_reference - r.matched_reference
    assert counts["candidate only"] == int(np.sum(layer.data == DIFFERENCE_CANDIDATE_ONLY)) \
        == r.n_candidate - r.matched_candidate
    assert "within 3 scale units" in widget.legend.note.text()
    assert viewer.window.dock_widgets[PLOT_DOCK_NAME] is widget.plot_canvas

    n_layers, n_docks = len(viewer.layers), len(viewer.window.dock_widgets)
    b.data = np.zeros_like(cand)
    b.data[:, 16, 16] = 1
    _run(qtbot, widget)
    assert len(viewer.layers) == n_layers
    assert len(viewer.window.dock_widgets) == n_docks
    assert widget.difference_layer == layer  # (the widget sees layers through napari's proxy)
    assert [ly.name for ly in viewer.layers].count("diff B (B)") == 1

    # a closed plot dock comes back on the next run
    viewer.window.remove_dock_widget(widget.plot_canvas.parent())
    assert PLOT_DOCK_NAME not in viewer.window.dock_widgets
    _run(qtbot, widget)
    assert viewer.window.dock_widgets[PLOT_DOCK_NAME] is widget.plot_canvas
    assert len(viewer.layers) == n_layers
    np.testing.assert_array_equal(layer.data, difference_labels(ref, b.data, tolerance=TOL, spacing=SCALE))
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
    expected = compare(ref, cand, mask=roi)
    assert widget.result.to_dict() == expected.to_dict()
    np.testing.assert_array_equal(widget.difference_layer.data, difference_labels(ref * roi, cand * roi, tolerance=1.5))
    assert "within 'roi'" in widget.status.text()
    assert widget.table.shown()["length A"].endswith(" voxels")  # scale 1, no unit: voxels


def _add_three(viewer, methods=(None, None, None)):
    """A = Lee's skeleton, B = the soft one, C = the topological one, of the same tubes."""
    ref, cand = _tube_skeletons()
    topo = skeletonize(_tube_mask(), "topological").astype(np.uint8)
    layers = []
    for name, data, method in zip("ABC", (ref, cand.astype(np.uint8), topo), methods):
        meta = {} if method is None else {METADATA_KEY: {"method": method, "source": "mask"}}
        layers.append(viewer.add_labels(data, name=name, scale=SCALE, translate=TRANSLATE, metadata=meta))
    return (*layers, ref, cand, topo)


def test_two_candidates_in_the_table_plot_legend_and_exports(viewer_widget, qtbot, tmp_path):
    viewer, widget = viewer_widget
    a, b, c, ref, cand, topo = _add_three(viewer)
    assert widget.reference.value is None  # "A", "B", "C" are not named as skeletons
    widget.reference.value, widget.candidate.value, widget.second.value = a, b, c
    _run(qtbot, widget)

    unit = "scale units"
    expected = [compare(ref, cand, spacing=SCALE, unit=unit), compare(ref, topo, spacing=SCALE, unit=unit)]
    assert [r.to_dict() for r in widget.results] == [e.to_dict() for e in expected]
    assert expected[1].f1 > expected[0].f1  # the thin skeleton agrees better with Lee's
    assert widget.table.columnCount() == 3
    assert [widget.table.horizontalHeaderItem(i).text() for i in range(3)] == ["metric", "B", "C"]
    for column, e in ((1, expected[0]), (2, expected[1])):
        values = widget.table_values(column)
        assert values["F1"] == e.f1 and values["precision"] == e.precision
        assert values["voxels A"] == e.n_reference
        assert values["voxels candidate"] == e.n_candidate
        assert values["Betti numbers candidate"] == e.betti_candidate
    names = [ly.name for ly in widget.difference_layers]
    assert names == ["diff B (B)", "diff C (C)"]
    for layer, other in zip(widget.difference_layers, (cand, topo)):
        np.testing.assert_array_equal(layer.data, difference_labels(ref, other, tolerance=TOL, spacing=SCALE))
        np.testing.assert_allclose(layer.scale, a.scale)
    missed = widget.legend.counts["reference only"].text()
    assert missed == " / ".join(str(e.n_reference - e.matched_reference) for e in expected) + " voxels"
    assert widget.legend.texts["reference only"].text() == "only in A (missed by B/C)"
    top, _ = widget.plot.axes
    curves = {line.get_label(): line for line in top.lines}
    for letter, e in zip("BC", expected):
        agreement = np.where(e.per_slice["sparse"], np.nan, e.per_slice["agreement"])
        np.testing.assert_array_equal(curves[f"{letter} (F1 {e.f1:.3f})"].get_ydata(), agreement)
    assert widget.plot.legend_texts()[:2] == [f"B (F1 {expected[0].f1:.3f})", f"C (F1 {expected[1].f1:.3f})"]
    assert "B 'B' and C 'C' vs A 'A'" in top.get_title()
    # exports
    assert widget.export_metrics(tmp_path / "m.json")
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["reference_layer"] == "A" and data["length_unit"] == unit
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
    assert [ly.name for ly in widget.difference_layers] == ["diff B (B)"]
    assert "diff C (C)" in [ly.name for ly in viewer.layers]


def test_one_palette_in_layers_plot_and_legend(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    a, b, c, *_ = _add_three(viewer, methods=("lee", "soft", "topological"))
    assert (widget.reference.value, widget.candidate.value, widget.second.value) == (a, b, c)
    _run(qtbot, widget)
    soft, topo = METHOD_COLOURS["soft"], METHOD_COLOURS["topological"]
    assert widget.colours() == [soft, topo]
    assert candidate_colour(0, "soft") == soft
    # short names that napari's layer list (eliding in the middle) keeps readable
    diff_b, diff_c = widget.difference_layers
    assert (diff_b.name, diff_c.name) == ("diff B (soft)", "diff C (topological)")
    assert all(len(ly.name) <= 20 for ly in (diff_b, diff_c))
    # B's difference is the newest layer, shown on top; C's is there but hidden
    assert diff_b.visible and not diff_c.visible
    assert list(viewer.layers).index(diff_b) == len(viewer.layers) - 1
    # the plot: the candidates in their layers' colours, A in the reference colour
    top_colours, bottom_colours = widget.plot.line_colours(0), widget.plot.line_colours(1)
    r_b, r_c = widget.results
    assert top_colours[f"B (F1 {r_b.f1:.3f})"] == soft.lower()
    assert top_colours[f"C (F1 {r_c.f1:.3f})"] == topo.lower()
    assert bottom_colours == {"A": REFERENCE_COLOUR.lower(), "B": soft.lower(), "C": topo.lower()}
    assert widget.legend.texts["matched"].text().startswith("matched (in both, or within the tolerance")
    # a later comparison: its layer shows, the earlier ones are hidden
    widget.candidate.value, widget.second.value = c, None
    _run(qtbot, widget)
    newest = widget.difference_layer
    assert newest.name == "diff B (topological)" and newest.visible
    assert not diff_b.visible and not diff_c.visible


def test_sparse_slices_are_marked_not_joined(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    ref = np.zeros((12, 20, 20), np.uint8)
    ref[1:10, 10, 2:18] = 1
    cand = ref.copy()
    cand[11, 2, 2] = 1  # one extra voxel on an otherwise empty slice: agreement 0 there
    a, b = viewer.add_labels(ref, name="A"), viewer.add_labels(cand, name="B")
    widget.reference.value, widget.candidate.value = a, b
    _run(qtbot, widget)
    assert widget.result.per_slice["sparse"][11] and widget.result.per_slice["agreement"][11] == 0
    top, _ = widget.plot.axes
    curve = top.lines[0]
    assert np.isnan(curve.get_ydata()[11]) and curve.get_ydata()[5] == 1.0
    hollow = [ln for ln in top.lines if ln.get_linestyle() == "None" and len(ln.get_xdata())]
    assert [list(ln.get_xdata()) for ln in hollow] == [[11]]
    assert any(t.startswith("< 5 voxels") for t in widget.plot.legend_texts())


def test_time_lapse_layers_compare_the_time_point_shown(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    ref = np.zeros((3, 8, 16, 16), np.uint8)
    ref[:, 2:6, 8, 2:14] = 1
    cand = ref.copy()
    cand[1, 2:6, 8, 2:14] = 0
    cand[1, 2:6, 12, 2:14] = 1  # at t = 1 the candidate sits 4 voxels away
    units = ("s", "um", "um", "um")  # the time axis has its own unit
    a = viewer.add_labels(ref, name="A", scale=(5.0, 1.0, 1.0, 1.0), units=units)
    b = viewer.add_labels(cand, name="B", scale=(5.0, 1.0, 1.0, 1.0), units=units)
    widget.reference.value, widget.candidate.value = a, b
    assert widget.tolerance.value == 1.5 and widget.tolerance.native.suffix() == " µm"
    viewer.dims.set_current_step(0, 1)
    _run(qtbot, widget)
    assert widget.result.to_dict() == compare(ref[1], cand[1], spacing=(1.0, 1.0, 1.0), unit="µm").to_dict()
    assert widget.result.f1 == 0.0
    diff = widget.difference_layer.data
    assert diff.shape == ref.shape and not diff[0].any() and not diff[2].any()
    np.testing.assert_array_equal(diff[1], difference_labels(ref[1], cand[1], tolerance=1.5))
    assert "time point 1" in widget.status.text()
    viewer.dims.set_current_step(0, 0)
    widget.go_to_slice(3)  # z of A, back at the compared time point
    assert viewer.dims.current_step[:2] == (1, 3) and widget.current_slice() == 3
    viewer.dims.set_current_step(0, 2)
    _run(qtbot, widget)
    assert widget.result.f1 == 1.0 and "time point 2" in widget.status.text()


def test_side_by_side_titled_views_and_everything_put_back(viewer_widget, qtbot, notes):
    viewer, widget = viewer_widget
    image = viewer.add_image(np.zeros((32, 32, 32), np.float32), name="image", scale=SCALE, translate=TRANSLATE)
    a, b, c, *_ = _add_three(viewer)
    c.visible = False
    grid = viewer.canvas.grid
    grid.stride = 2
    selected = viewer.layers.selection.active
    ranges = viewer.dims.range
    # with only A chosen there is nothing to put beside it
    widget.reference.value, widget.candidate.value, widget.second.value = a, None, None
    before = len(_errors(notes))
    widget.side_by_side.setChecked(True)
    assert not widget.side_by_side.isChecked() and not grid.enabled
    assert len(_errors(notes)) == before + 1 and "'B (candidate)'" in widget.status.text()

    viewer.layers.move(1, 4)  # A above C: image, B, C, A
    order = [ly.name for ly in viewer.layers]
    assert order == ["image", "B", "C", "A"]
    widget.candidate.value, widget.second.value = b, c
    widget.side_by_side.setChecked(True)
    assert grid.enabled and tuple(grid.shape) == (1, 3) and grid.spacing > 0  # a gap between the views
    assert [ly.visible for ly in (image, a, b, c)] == [False, True, True, True]
    layers = list(viewer.layers)
    positions = [grid.position(layers.index(ly), viewer.layers) for ly in (a, b, c)]
    assert positions == [(0, 0), (0, 1), (0, 2)]  # A, B, C from the left
    # a title in each view: role and layer name, in the skeleton's colour
    titles = widget.side.titles
    assert [t.name for t in titles] == ["A: A", "B: B", "C: C"]
    assert [grid.position(layers.index(t), viewer.layers) for t in titles] == positions
    assert all(t.name_overlay.visible and t.visible for t in titles)
    np.testing.assert_allclose(titles[0].name_overlay.color[:3], rgb(REFERENCE_COLOUR), atol=1e-6)
    np.testing.assert_allclose(titles[1].name_overlay.color[:3], rgb(candidate_colour(0)), atol=1e-6)
    assert viewer.dims.range == ranges  # the (empty) title layers do not change the extent
    assert viewer.layers.selection.active == selected
    # titles fit the views: the words all the names share are left out
    assert view_titles("ABC", ["vessel mask lee skeleton", "vessel mask soft skeleton (k=10)",
                               "vessel mask topological skeleton"]) == [
        "A: …lee skeleton", "B: …soft skeleton (k=10)", "C: …topological skeleton"]
    assert view_titles("AB", ["cells skeleton", "cells skeleton 2"]) == ["A: cells skeleton", "B: cells skeleton 2"]
    # the pickers drive the grid
    widget.second.value = None
    assert tuple(grid.shape) == (1, 2) and not c.visible and len(widget.side.titles) == 2
    # a comparison run keeps its new difference layer out of the grid
    _run(qtbot, widget)
    assert not widget.difference_layer.visible
    # off: the layers' visibility and the grid as they were, the titles gone
    widget.show_side_by_side(False)
    assert not widget.side_by_side.isChecked()
    assert not grid.enabled and grid.stride == 2 and tuple(grid.shape) == (-1, -1) and grid.spacing == 0
    assert [ly.visible for ly in (image, a, b, c)] == [True, True, True, False]
    assert widget.difference_layer.visible  # it was not there before: left as napari shows new layers
    assert [ly.name for ly in viewer.layers] == [*order, "diff B (B)"]


# ---------------------------------------------------------------------------
# plot and slices
# ---------------------------------------------------------------------------


def test_go_to_slice_click_and_marker(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    a, b, _, _ = _add_pair(viewer)
    widget.reference.value, widget.candidate.value = a, b
    _run(qtbot, widget)
    top, bottom = widget.plot.axes
    assert bottom.get_xlabel() == "z slice (axis 0)"

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
    assert all(line.get_xdata()[0] == 12 for line in widget.plot.markers)
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
    assert widget.plot.axes[1].get_xlabel() == "row (axis 0)"
    assert len(widget.result.per_slice["agreement"]) == 20
    assert widget.result.tolerance == 4.5  # 1.5 × the 3-unit rows
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
# errors, removed layers and cancel
# ---------------------------------------------------------------------------


def _setup_no_layer(viewer, widget):
    a = viewer.add_labels(np.eye(8, dtype=np.uint8), name="A")
    widget.reference.value, widget.candidate.value = a, None


def _setup_shape_mismatch(viewer, widget):
    a = viewer.add_labels(np.eye(8, dtype=np.uint8), name="A")
    b = viewer.add_labels(np.eye(9, dtype=np.uint8), name="B")
    widget.reference.value, widget.candidate.value = a, b


def _setup_5d(viewer, widget):
    a = viewer.add_labels(np.ones((2, 2, 4, 8, 8), dtype=np.uint8), name="A")
    widget.reference.value, widget.candidate.value = a, a


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
    (_setup_no_layer, "Pick a skeleton layer for 'B (candidate)' first"),
    (_setup_c_is_b, "B and C are the same layer"),
    (_setup_c_shape_mismatch, "(C) have different shapes"),
    (_setup_c_empty, "is empty"),
    (_setup_shape_mismatch, "different shapes"),
    (_setup_5d, "is 5D; expected a 2D, 3D or 4D"),
    (_setup_empty, "empty"),
    (_setup_mask_mismatch, "does not have the shape"),
]


def test_errors_notify_show_in_the_status_line_and_add_no_layer(viewer_widget, notes):
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
        assert widget.status.text() == errors[0] and widget.status.wordWrap()  # the whole sentence
        assert len(viewer.layers) == n_layers
        assert widget.result is None and widget.difference_layer is None
        assert not widget.job.running and widget.compare_button.isEnabled()


def test_an_error_in_the_background_shows_in_the_status_line(viewer_widget, qtbot, notes, monkeypatch):
    def fails(*args, **kwargs):
        raise ValueError("this does not work with per_slice=True")

    monkeypatch.setattr(_compare_plan, "compare", fails)
    viewer, widget = viewer_widget
    a, b, _, _ = _add_pair(viewer, (8, 16, 16))
    widget.reference.value, widget.candidate.value = a, b
    _run(qtbot, widget)
    errors = _errors(notes)
    assert errors == ["This does not work with mode 'per-slice 2D'."]  # in the words of the widgets
    assert widget.status.text() == errors[0]
    assert widget.result is None and widget.compare_button.isEnabled()


def test_rgb_layers_are_not_offered(viewer_widget):
    viewer, widget = viewer_widget
    viewer.add_image(np.ones((8, 8, 3), dtype=np.uint8), name="photo", rgb=True)
    viewer.add_labels(np.eye(8, dtype=np.uint8), name="A")
    for picker in (widget.reference, widget.candidate, widget.second, widget.mask):
        assert "photo" not in _names(picker) and "A" in _names(picker)


def test_removing_an_input_during_the_run_adds_nothing(viewer_widget, qtbot, notes, monkeypatch):
    entered, release = threading.Event(), threading.Event()

    def slow_difference(*args, **kwargs):
        entered.set()
        release.wait(TIMEOUT / 1000)
        return difference_labels(*args, **kwargs)

    monkeypatch.setattr(_compare_plan, "difference_labels", slow_difference)
    viewer, widget = viewer_widget
    a, b, _, _ = _add_pair(viewer, (8, 16, 16))
    widget.reference.value, widget.candidate.value = a, b
    n_layers = len(viewer.layers)
    widget.run()
    assert entered.wait(TIMEOUT / 1000)
    viewer.layers.remove(b)
    release.set()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=TIMEOUT)
    assert len(viewer.layers) == n_layers - 1 and widget.result is None
    assert "Layer 'B' was removed during the comparison; no result was added" in widget.status.text()
    assert any("was removed during the comparison" in w for w in _warnings(notes))


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
    assert widget.status.text() == "Cancelled; no layer was changed."
    assert widget.compare_button.isEnabled() and not widget.cancel_button.isEnabled()


def test_late_cancel_still_wins(viewer_widget, qtbot, notes, monkeypatch):
    # Cancel pressed after the work is done but before its result reached the GUI
    # thread: the result is dropped and "Cancelled" is still reported.
    computed = threading.Event()

    def difference_then_signal(*args, **kwargs):
        out = difference_labels(*args, **kwargs)
        computed.set()
        return out

    monkeypatch.setattr(_compare_plan, "difference_labels", difference_then_signal)
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
    a = viewer.add_labels(np.eye(8, dtype=np.uint8), name="first lee skeleton")
    b = viewer.add_image(np.eye(8, dtype=bool), name="second soft skeleton")
    viewer.add_points(np.zeros((1, 2)), name="points")
    assert widget.reference.value == a and widget.candidate.value == b
    names = _names(widget.candidate)
    assert "points" not in names and {"first lee skeleton", "second soft skeleton"} <= set(names)
    assert widget.mask.native.itemText(0) == "none"

    a.name = "renamed"
    assert "renamed" in _names(widget.reference) and "first lee skeleton" not in _names(widget.reference)

    widget.reference.value = b
    viewer.layers.remove(b)
    assert b not in widget.reference.choices and b not in widget.candidate.choices
    a.name = "renamed again"  # still followed after another layer left
    assert "renamed again" in _names(widget.mask)
