"""The "Skeleton graph" widget: layers, features, colours, live pruning, selection, export, errors."""

from __future__ import annotations

import csv
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.ndimage as ndi

pytest.importorskip("napari")
pytest.importorskip("pytestqt")

from napari.layers import Points, Shapes  # noqa: E402
from napari.utils.notifications import notification_manager  # noqa: E402

from napari_soft_skeleton import read_swc, skeleton_graph  # noqa: E402
from napari_soft_skeleton._napari import _graph_layers as gl  # noqa: E402
from napari_soft_skeleton._napari import _graph_actions, _graph_inputs, _graph_widget  # noqa: E402, F401
from napari_soft_skeleton._napari._common import CANCELLED, METADATA_KEY  # noqa: E402
from napari_soft_skeleton._napari._graph_widget import _click_to_select  # noqa: E402

TIMEOUT = 60_000  # (the first build compiles the path simplification)
SCALE = (2.0, 0.5, 0.5)
TRANSLATE = (10.0, -3.0, 4.0)


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------


def _skeleton(shape=(16, 40, 48)) -> np.ndarray:
    """A thin skeleton in the plane z = 8: a main line along x, a long branch along y and two short spurs."""
    s = np.zeros(shape, bool)
    z = shape[0] // 2
    s[z, 20, 4:44] = True  # main line
    s[z, 21:36, 24] = True  # long branch (15 voxels)
    s[z, 17:20, 10] = True  # spur, 3 voxels
    s[z, 21:23, 34] = True  # spur, 2 voxels
    return s


def _mask(skel: np.ndarray, radius: int = 2) -> np.ndarray:
    """A tube around ``skel``."""
    return ndi.binary_dilation(skel, ndi.generate_binary_structure(3, 1), iterations=radius)


def _distance_to_polyline(points, polyline) -> np.ndarray:
    """Each point's distance to the nearest segment of ``polyline``."""
    points, polyline = np.asarray(points, float), np.asarray(polyline, float)
    if len(polyline) == 1:
        return np.linalg.norm(points - polyline[0], axis=1)
    seg_a, d = polyline[:-1], np.diff(polyline, axis=0)
    t = np.clip(np.einsum("ijk,jk->ij", points[:, None, :] - seg_a[None], d) / np.maximum((d * d).sum(1), 1e-12),
                0, 1)
    nearest = seg_a[None] + t[..., None] * d[None]
    return np.min(np.linalg.norm(points[:, None, :] - nearest, axis=2), axis=1)


def _hollow_ball(shape=(21, 21, 21), outer=9, inner=5) -> np.ndarray:
    z, y, x = np.indices(shape) - np.array(shape)[:, None, None, None] // 2
    r = np.sqrt(z ** 2 + y ** 2 + x ** 2)
    return (r <= outer) & (r > inner)


# --------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------


@pytest.fixture
def viewer_widget(make_napari_viewer):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Skeleton graph")
    return viewer, widget


@pytest.fixture
def notes():
    start = len(notification_manager.records)

    def get(kind=None):
        records = [(str(n.severity).lower(), str(n.message)) for n in notification_manager.records[start:]]
        return [m for s, m in records if kind is None or kind in s]

    return get


def _build(qtbot, widget):
    worker = widget.run()
    assert worker is not None, widget.status.text()
    qtbot.waitUntil(lambda: not widget.busy, timeout=TIMEOUT)
    return worker


def _prune(qtbot, widget, min_length=None, radius_factor=None):
    widget.set_prune(min_length, radius_factor)
    assert widget.busy  # debounced: waits for the controls to rest
    qtbot.waitUntil(lambda: not widget.busy, timeout=TIMEOUT)


def _skeleton_layer(viewer, skel=None, **kwargs):
    skel = _skeleton() if skel is None else skel
    return viewer.add_labels(skel.astype(np.uint8), name="skel", scale=SCALE, translate=TRANSLATE,
                             units=("um", "um", "um"), **kwargs)


# --------------------------------------------------------------------------
# building: layers, features, placement
# --------------------------------------------------------------------------


def test_build_makes_paths_points_and_features(viewer_widget, qtbot, notes):
    viewer, widget = viewer_widget
    skel = _skeleton()
    layer = _skeleton_layer(viewer, skel)
    widget.layer.value = layer
    widget.method.value = "none"
    before = len(viewer.layers)
    _build(qtbot, widget)
    expected = skeleton_graph(skel, spacing=SCALE, unit="um")
    assert len(viewer.layers) == before + 3
    branches, junctions, ends = widget.layers
    assert isinstance(branches, Shapes) and isinstance(junctions, Points) and isinstance(ends, Points)
    assert branches.name == "skel branches" and junctions.name == "skel junctions" and ends.name == "skel end points"
    n = len(expected.branches)
    assert branches.nshapes == n == len(branches.features) == 7
    assert set(branches.shape_type) == {"path"}
    assert list(branches.features.columns) == list(expected.table("branches").columns)
    np.testing.assert_allclose(branches.features["length"], expected.branches["length"])
    assert len(junctions.data) == len(expected.junctions) and len(ends.data) == len(expected.endpoints)
    np.testing.assert_allclose(junctions.data, expected.junctions)
    assert set(junctions.features["kind"]) == {"junction"} and set(ends.features["kind"]) == {"end"}
    # the paths run along the branches' voxels (simplified within half a voxel), ends kept exactly
    for path, voxels in zip(branches.data, expected.paths()):
        np.testing.assert_array_equal(path[[0, -1]], voxels[[0, -1]])
        assert _distance_to_polyline(voxels, path).max() <= 0.5 + 1e-6
    for out in widget.layers:
        np.testing.assert_allclose(out.scale, SCALE)
        np.testing.assert_allclose(out.translate, TRANSLATE)
        assert out.metadata[METADATA_KEY]["kind"] == gl.GRAPH_KIND
        assert out.metadata[METADATA_KEY]["source"] == "skel"
    assert widget.graph.unit == "µm" and widget.graph.spacing == SCALE
    assert "7 branches" in widget.status.text() and "µm" in widget.status.text()
    assert viewer.layers.selection.active == branches
    assert not notes("error")


def test_mask_input_is_skeletonized_with_radii_from_the_mask(viewer_widget, qtbot, notes):
    viewer, widget = viewer_widget
    mask = _mask(_skeleton())
    layer = viewer.add_labels(mask.astype(np.uint8), name="tubes")
    widget.layer.value = layer
    assert widget.method.value == "topological"  # a mask: skeletonized first
    assert widget.mask.value == layer  # radii from the input itself
    _build(qtbot, widget)
    branches = widget.layers[0]
    assert branches.nshapes == len(widget.graph.branches) > 0
    assert "radius_mean" in branches.features.columns
    assert widget.colour_by.value == "radius_mean"  # coloured by radius when there are radii
    assert np.nanmax(branches.features["radius_mean"]) >= 1.5
    assert widget.radius_factor.enabled
    assert not notes("error")


def test_plugin_skeleton_layer_defaults_to_no_skeletonizing_and_its_source_mask(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    skel = _skeleton()
    mask = viewer.add_labels(_mask(skel).astype(np.uint8), name="tubes")
    lee = viewer.add_labels(skel.astype(np.uint8), name="tubes lee skeleton",
                            metadata={METADATA_KEY: {"method": "lee", "source": "tubes"}})
    widget.layer.value = lee
    assert widget.method.value == "none"
    assert widget.mask.value == mask
    _build(qtbot, widget)
    assert widget.graph.has_radius
    assert len(widget.graph.branches) == 7


def test_label_skeleton_keeps_objects_apart(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    labels = np.zeros((12, 20, 30), np.uint16)
    labels[6, 10, 2:15] = 3
    labels[6, 10, 15:28] = 7  # touching label 3 end to end
    viewer.add_labels(labels, name="two")
    widget.layer.value = viewer.layers["two"]
    widget.method.value = "none"
    _build(qtbot, widget)
    branches = widget.layers[0]
    assert sorted(branches.features["label"]) == [3, 7]
    assert set(branches.features["kind"]) == {"end-end"}


def test_2d_image_mask(viewer_widget, qtbot, notes):
    viewer, widget = viewer_widget
    image = np.zeros((40, 50), np.uint8)
    image[18:23, 3:47] = 255
    image[5:23, 22:27] = 255
    layer = viewer.add_image(image, name="cross", scale=(0.5, 0.5))
    widget.layer.value = layer
    widget.method.value = "lee"
    _build(qtbot, widget)
    branches, junctions, ends = widget.layers
    assert branches.ndim == 2 and branches.nshapes == len(widget.graph.branches) >= 3
    assert len(junctions.data) >= 1 and len(ends.data) >= 3
    np.testing.assert_allclose(branches.scale, (0.5, 0.5))
    assert not notes("error")


def test_fill_holes_gives_a_tree_for_a_hollow_ball(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    viewer.add_labels(_hollow_ball().astype(np.uint8), name="shell")
    widget.layer.value = viewer.layers["shell"]
    widget.method.value = "topological"
    if not widget.fill_holes.enabled:
        pytest.skip("skeletonize() has no fill_holes keyword yet")
    _build(qtbot, widget)
    hollow = widget.graph
    widget.fill_holes.value = True
    _build(qtbot, widget)
    filled = widget.graph
    assert filled.summary["n_voxels"].sum() < hollow.summary["n_voxels"].sum()
    assert widget._settings["fill_holes"] is True


def test_rebuild_updates_the_same_layers(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    _skeleton_layer(viewer)
    widget.method.value = "none"
    _build(qtbot, widget)
    first = widget.layers
    n = len(viewer.layers)
    _build(qtbot, widget)
    assert len(viewer.layers) == n
    assert all(a == b for a, b in zip(first, widget.layers))
    assert "layers updated" in widget.status.text()


# --------------------------------------------------------------------------
# colours
# --------------------------------------------------------------------------


def test_colour_by_column_changes_edge_colours(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    skel = _skeleton()
    viewer.add_labels(_mask(skel).astype(np.uint8), name="tubes")
    lee = viewer.add_labels(skel.astype(np.uint8), name="tubes lee skeleton",
                            metadata={METADATA_KEY: {"method": "lee", "source": "tubes"}})
    widget.layer.value = lee
    _build(qtbot, widget)
    branches = widget.layers[0]
    assert branches.edge_color_mode == "colormap"
    assert widget.colour_by.value == "radius_mean"
    widget.colour_by.value = "length"
    by_length = branches.edge_color.copy()
    lengths = branches.features["length"].to_numpy()
    longest, shortest = int(np.argmax(lengths)), int(np.argmin(lengths))
    cmap = branches.edge_colormap
    np.testing.assert_allclose(by_length[longest], cmap.map(np.array([1.0]))[0], atol=1e-3)
    # lengths are coloured from 0 up to the longest
    assert branches.edge_contrast_limits == pytest.approx((0.0, lengths.max()))
    np.testing.assert_allclose(by_length[shortest], cmap.map(np.array([lengths.min() / lengths.max()]))[0],
                               atol=1e-3)
    widget.colormap.value = "magma"
    assert not np.allclose(branches.edge_color, by_length)
    assert "magma" in branches.edge_colormap.name
    widget.colour_by.value = "kind"
    assert branches.edge_color_mode == "cycle"
    assert not widget.colormap.enabled
    for kind, colour in zip(branches.features["kind"], branches.edge_color):
        np.testing.assert_allclose(colour, gl._rgba(gl.KIND_COLOURS[kind]), atol=1e-3)
    widget.colour_by.value = "tortuosity"
    assert np.all(branches.edge_color[:, 3] == 1)  # nothing transparent
    assert widget.legend.bar.isVisibleTo(widget)


def test_loops_without_tortuosity_are_grey_not_invisible(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    ring = np.zeros((5, 20, 20), bool)
    ring[2, 5, 6:14] = ring[2, 14, 6:14] = ring[2, 6:14, 5] = ring[2, 6:14, 14] = True  # (corners cut)
    ring[2, 15:19, 9] = True  # a tail: one junction, one loop
    viewer.add_labels(ring.astype(np.uint8), name="ring")
    widget.layer.value = viewer.layers["ring"]
    widget.method.value = "none"
    _build(qtbot, widget)
    widget.colour_by.value = "tortuosity"
    branches = widget.layers[0]
    loops = np.flatnonzero(branches.features["kind"].to_numpy() == "loop")
    assert loops.size
    np.testing.assert_allclose(branches.edge_color[loops], [gl._rgba(gl.NO_VALUE_COLOUR)] * loops.size, atol=1e-3)


def test_line_width_resizes_paths_and_points(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    _skeleton_layer(viewer)
    widget.method.value = "none"
    _build(qtbot, widget)
    branches, junctions, _ = widget.layers
    widget.width.value = 3.0
    assert set(branches.edge_width) == {3.0}
    np.testing.assert_allclose(junctions.size, gl.NODE_SIZES["junction"] * 3.0)


# --------------------------------------------------------------------------
# pruning
# --------------------------------------------------------------------------


def test_prune_slider_updates_the_same_layers(viewer_widget, qtbot, notes):
    viewer, widget = viewer_widget
    skel = _skeleton()
    _skeleton_layer(viewer, skel)
    widget.method.value = "none"
    _build(qtbot, widget)
    layers = widget.layers
    names = [ly.name for ly in viewer.layers]
    expected = skeleton_graph(skel, spacing=SCALE).prune(2.0)  # 2 µm: the spurs (1 and 1.5 µm along x... y)
    _prune(qtbot, widget, min_length=2.0)
    branches, junctions, ends = widget.layers
    assert all(a is b for a, b in zip(layers, widget.layers))
    assert [ly.name for ly in viewer.layers] == names  # no new layer
    assert branches.nshapes == len(branches.features) == len(expected.branches) == 3
    assert len(junctions.data) == len(expected.junctions) == 1
    assert len(ends.data) == len(expected.endpoints) == 3
    assert sorted(branches.features["length"]) == pytest.approx(sorted(expected.branches["length"]))
    assert "3 branches, 4 pruned" in widget.status.text()
    assert len(widget.graph.branches) == 3 and len(widget.full_graph.branches) == 7
    # back to 0: everything again, still the same layers
    _prune(qtbot, widget, min_length=0.0)
    assert branches.nshapes == len(branches.features) == 7
    assert "7 branches, 0 pruned" in widget.status.text()
    assert all(a is b for a, b in zip(layers, widget.layers))
    assert not notes("error")


def test_prune_keeps_the_features_in_step_with_the_paths(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    skel = _skeleton()
    _skeleton_layer(viewer, skel)
    widget.method.value = "none"
    _build(qtbot, widget)
    branches = widget.layers[0]
    for value in (2.0, 0.0, 1.2, 2.0):
        _prune(qtbot, widget, min_length=value)
        graph = widget.graph
        assert branches.nshapes == len(branches.features) == len(graph.branches)
        for path, (_, row) in zip(branches.data, branches.features.iterrows()):
            voxels = graph.path(int(row["branch"]))
            ends = {tuple(voxels[0]), tuple(voxels[-1])}
            assert {tuple(path[0].astype(int)), tuple(path[-1].astype(int))} == ends
        colours = branches.edge_color
        assert colours.shape == (branches.nshapes, 4)


def test_rapid_slider_moves_prune_once_with_the_last_value(viewer_widget, qtbot, monkeypatch):
    viewer, widget = viewer_widget
    _skeleton_layer(viewer)
    widget.method.value = "none"
    _build(qtbot, widget)
    calls = []
    original = type(widget.full_graph).prune

    def counting(self, *args, **kwargs):
        calls.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(widget.full_graph), "prune", counting)
    for value in (0.5, 1.0, 1.5, 2.0):
        widget.min_length.value = value
    qtbot.waitUntil(lambda: not widget.busy, timeout=TIMEOUT)
    assert calls == [(2.0,)]
    assert widget.layers[0].nshapes == 3


def test_radius_factor_prunes_with_the_mask(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    skel = _skeleton()
    viewer.add_labels(_mask(skel).astype(np.uint8), name="tubes")
    lee = viewer.add_labels(skel.astype(np.uint8), name="tubes lee skeleton",
                            metadata={METADATA_KEY: {"method": "lee", "source": "tubes"}})
    widget.layer.value = lee
    _build(qtbot, widget)
    expected = widget.full_graph.prune(radius_factor=1.5)
    _prune(qtbot, widget, radius_factor=1.5)
    assert widget.layers[0].nshapes == len(expected.branches) < 7


def test_radius_factor_is_off_without_a_mask(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    _skeleton_layer(viewer)
    widget.method.value = "none"
    widget.mask.value = None
    _build(qtbot, widget)
    assert not widget.radius_factor.enabled


# --------------------------------------------------------------------------
# selection
# --------------------------------------------------------------------------


def test_selecting_a_branch_shows_its_row(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    _skeleton_layer(viewer)
    widget.method.value = "none"
    _build(qtbot, widget)
    branches = widget.layers[0]
    assert widget.table.values() == {}
    i = int(np.argmax(branches.features["length"].to_numpy()))
    branches.selected_data = {i}
    row = widget.table.values()
    assert row["branch"] == int(branches.features["branch"].iloc[i])
    assert row["length"] == pytest.approx(float(branches.features["length"].iloc[i]))
    assert row["kind"] == branches.features["kind"].iloc[i]
    shown = widget.table.item(list(row).index("length"), 0).text()
    assert shown.endswith("µm")
    branches.selected_data = {0, 1}
    assert widget.table.columnCount() == 2
    branches.selected_data = set()
    assert widget.table.values() == {}


def test_selection_survives_a_prune_that_keeps_the_branch(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    _skeleton_layer(viewer)
    widget.method.value = "none"
    _build(qtbot, widget)
    branches = widget.layers[0]
    long_branch = int(np.argmax(branches.features["length"].to_numpy()))  # the 15-voxel branch along y
    length = float(branches.features["length"].iloc[long_branch])
    branches.selected_data = {long_branch}
    _prune(qtbot, widget, min_length=2.0)
    assert len(branches.selected_data) == 1
    assert widget.table.values()["length"] == pytest.approx(length)


def test_click_selects_a_branch_in_3d(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    skel = _skeleton()
    _skeleton_layer(viewer, skel)
    widget.method.value = "none"
    _build(qtbot, widget)
    viewer.dims.ndisplay = 3
    branches = widget.layers[0]
    assert _click_to_select in branches.mouse_drag_callbacks
    i = int(np.argmax(branches.features["length"].to_numpy()))
    path = widget.graph.path(int(branches.features["branch"].iloc[i]))
    point = branches.data_to_world(path[len(path) // 2])

    def click(pos, position, type_="mouse_release"):
        press = SimpleNamespace(button=1, pos=np.array(pos, float), type="mouse_press", position=position,
                                view_direction=np.array([1.0, 0.0, 0.0]), dims_displayed=[0, 1, 2])
        gen = _click_to_select(branches, press)
        next(gen)
        press.type = type_
        press.pos = np.array(pos, float) + (0 if type_ == "mouse_release" else 50)
        with pytest.raises(StopIteration):
            next(gen)

    click((100, 100), point)
    assert branches.selected_data == {i}
    assert widget.table.values()["branch"] == int(branches.features["branch"].iloc[i])
    far = np.array(point) + np.array([0.0, 0.0, 200.0])  # beside everything
    click((100, 100), far)
    assert branches.selected_data == set()


# --------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------


def test_export_csv_and_swc_write_the_pruned_graph(viewer_widget, qtbot, tmp_path, monkeypatch):
    viewer, widget = viewer_widget
    _skeleton_layer(viewer)
    widget.method.value = "none"
    assert not widget.csv_button.isEnabled()
    _build(qtbot, widget)
    _prune(qtbot, widget, min_length=2.0)
    answers = iter([(str(tmp_path / "branches"), "branches table (*.csv)"),
                    (str(tmp_path / "nodes.csv"), "nodes table (*.csv)"),
                    (str(tmp_path / "tree"), "SWC (*.swc)")])
    asked = []

    def fake_dialog(parent, title, default, filters):
        asked.append((title, default, filters))
        return next(answers)

    monkeypatch.setattr(_graph_actions.QFileDialog, "getSaveFileName", fake_dialog)
    widget.csv_button.click()
    widget.csv_button.click()
    widget.swc_button.click()
    assert asked[0][1] == "skel graph pruned branches.csv"
    with open(tmp_path / "branches.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 and "length" in rows[0]
    with open(tmp_path / "nodes.csv", newline="") as fh:
        nodes = list(csv.DictReader(fh))
    assert len(nodes) == len(widget.graph.nodes)
    swc = read_swc(tmp_path / "tree.swc")
    assert len(swc) == int(widget.graph.to_mask().sum())
    assert swc.attrs.get("unit") in ("µm", "um")
    assert "Saved" in widget.status.text()


def test_export_error_is_a_sentence(viewer_widget, qtbot, tmp_path, notes):
    viewer, widget = viewer_widget
    _skeleton_layer(viewer)
    widget.method.value = "none"
    _build(qtbot, widget)
    assert not widget.export_csv(tmp_path / "missing" / "dir" / "x.csv")
    assert "Could not save" in widget.status.text()
    assert notes("error")


# --------------------------------------------------------------------------
# errors, empty input, cancel, inputs untouched
# --------------------------------------------------------------------------


def test_thick_input_without_a_method_is_an_error(viewer_widget, qtbot, notes):
    viewer, widget = viewer_widget
    viewer.add_labels(_mask(_skeleton()).astype(np.uint8), name="tubes")
    widget.layer.value = viewer.layers["tubes"]
    widget.method.value = "none"
    n = len(viewer.layers)
    _build(qtbot, widget)
    assert len(viewer.layers) == n
    assert "does not look like a skeleton" in widget.status.text()
    assert "'skeletonize'" in widget.status.text()
    assert notes("error")


def test_empty_skeleton_says_no_branches(viewer_widget, qtbot, notes):
    viewer, widget = viewer_widget
    viewer.add_labels(np.zeros((8, 10, 12), np.uint8), name="nothing")
    widget.layer.value = viewer.layers["nothing"]
    n = len(viewer.layers)
    _build(qtbot, widget)
    assert len(viewer.layers) == n
    assert "No branches" in widget.status.text()
    assert not notes("error")
    assert not widget.csv_button.isEnabled()
    single = np.zeros((8, 10, 12), np.uint8)
    single[4, 5, 6] = 1
    viewer.add_labels(single, name="dot")
    widget.layer.value = viewer.layers["dot"]
    widget.method.value = "none"
    _build(qtbot, widget)
    assert "No branches" in widget.status.text() and "isolated" in widget.status.text()


def test_user_errors_are_sentences(viewer_widget, qtbot, notes):
    viewer, widget = viewer_widget
    layer = viewer.add_image(np.random.default_rng(0).random((8, 10, 12)).astype(np.float32) * 5, name="noise")
    widget.layer.value = layer
    assert widget.run() is None
    assert "intensity image" in widget.status.text()
    _skeleton_layer(viewer)
    widget.layer.value = viewer.layers["skel"]
    other = viewer.add_labels(np.zeros((4, 4, 4), np.uint8), name="small")
    widget.mask.value = other
    assert widget.run() is None
    assert "same shape" in widget.status.text()
    viewer.add_image(np.zeros((2, 4, 6, 8)), name="4d")
    widget.layer.value = viewer.layers["4d"]
    assert widget.run() is None
    assert "4D" in widget.status.text()
    assert len(notes("error")) == 3


def test_inputs_are_never_modified(viewer_widget, qtbot):
    viewer, widget = viewer_widget
    skel = _skeleton()
    mask = _mask(skel)
    image = np.random.default_rng(1).random(skel.shape).astype(np.float32)
    m = viewer.add_labels(mask.astype(np.uint8), name="tubes")
    i = viewer.add_image(image, name="intensity")
    s = viewer.add_labels(skel.astype(np.uint8), name="tubes lee skeleton",
                          metadata={METADATA_KEY: {"method": "lee", "source": "tubes"}})
    copies = [ly.data.copy() for ly in (m, i, s)]
    widget.layer.value = s
    widget.image.value = i
    _build(qtbot, widget)
    assert "intensity_mean" in widget.layers[0].features.columns
    _prune(qtbot, widget, min_length=2.0)
    widget.layer.value = m
    widget.method.value = "topological"
    _build(qtbot, widget)
    _prune(qtbot, widget, min_length=2.0)
    for layer, copy in zip((m, i, s), copies):
        np.testing.assert_array_equal(layer.data, copy)


def test_cancel_changes_nothing(viewer_widget, qtbot, monkeypatch):
    viewer, widget = viewer_widget
    _skeleton_layer(viewer)
    widget.method.value = "none"
    started = []

    def slow_graph(*args, **kwargs):
        started.append(True)
        import time

        time.sleep(1.0)
        return skeleton_graph(*args, **kwargs)

    monkeypatch.setattr(_graph_inputs, "skeleton_graph", slow_graph)
    n = len(viewer.layers)
    widget.run()
    qtbot.waitUntil(lambda: bool(started), timeout=TIMEOUT)
    widget.cancel()
    qtbot.waitUntil(lambda: not widget.busy, timeout=TIMEOUT)
    assert len(viewer.layers) == n
    assert widget.status.text() == CANCELLED


def test_input_removed_while_building(viewer_widget, qtbot, monkeypatch):
    viewer, widget = viewer_widget
    layer = _skeleton_layer(viewer)
    widget.method.value = "none"
    started = []

    def slow_graph(*args, **kwargs):
        started.append(True)
        import time

        time.sleep(0.5)
        return skeleton_graph(*args, **kwargs)

    monkeypatch.setattr(_graph_inputs, "skeleton_graph", slow_graph)
    widget.run()
    qtbot.waitUntil(lambda: bool(started), timeout=TIMEOUT)
    viewer.layers.remove(layer)
    qtbot.waitUntil(lambda: not widget.busy, timeout=TIMEOUT)
    assert not any(isinstance(ly, (Shapes, Points)) for ly in viewer.layers)
    assert "removed" in widget.status.text()


# --------------------------------------------------------------------------
# the layer helpers
# --------------------------------------------------------------------------


def test_simplify_paths_keeps_ends_and_stays_within_half_a_voxel():
    rng = np.random.default_rng(3)
    steps = rng.integers(-1, 2, size=(200, 3))
    walk = np.cumsum(steps, axis=0)
    straight = np.stack([np.zeros(30), np.zeros(30), np.arange(30)], axis=1)
    loop = np.array([[0, 0, 0], [0, 1, 1], [0, 2, 0], [0, 1, -1], [0, 0, 0]])
    out = gl.simplify_paths([walk, straight, loop, walk[:1]])
    assert len(out[1]) == 2 and len(out[3]) == 1
    assert len(out[2]) >= 3  # a loop keeps its shape
    for original, simple in zip([walk, straight, loop], out):
        np.testing.assert_array_equal(simple[[0, -1]], original[[0, -1]])
        assert _distance_to_polyline(original, simple).max() <= 0.5 + 1e-6


def test_branch_key_ignores_direction():
    p = np.array([[0, 1, 2], [0, 1, 3], [0, 2, 4]])
    assert gl.branch_key(p) == gl.branch_key(p[::-1])
    assert gl.branch_key(p) != gl.branch_key(p[:2])
