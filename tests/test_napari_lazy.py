"""The skeleton widgets on dask- and Zarr-backed layers: chunk by chunk, lazy result, Cancel, no leak in /tmp.

Every "equal" here compares the chunk-by-chunk run with the same widget's
run on the same data held in memory (the NumPy path), bit for bit.
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("qtpy")

import dask.array as da
import zarr
from napari.layers import Image, Labels
from napari.utils.notifications import NotificationSeverity, notification_manager

import napari_soft_skeleton._napari._jobs as jobs_mod
import napari_soft_skeleton._napari._lazy_compute as compute_mod
import napari_soft_skeleton._napari._lazy_job as lazy_mod
from napari_soft_skeleton._napari._lazy_store import PREFIX, store_of

PLUGIN = "napari-soft-skeleton"
TIMEOUT_MS = 30000


def tubes(shape=(24, 40, 48)) -> np.ndarray:
    """Two crossing round tubes (uint8 0/1)."""
    z, y, x = np.indices(shape)
    cz, cy, cx = (s // 2 for s in shape)
    return (((y - cy) ** 2 + (z - cz) ** 2 < 30) | ((x - cx) ** 2 + (z - cz) ** 2 < 20)).astype(np.uint8)


def tube_map(shape=(24, 40, 48)) -> np.ndarray:
    """A float32 probability map in [0, 1]: a soft tube along x."""
    z, y, _ = np.indices(shape, dtype=np.float32)
    d = np.hypot(z - shape[0] // 2, y - shape[1] // 2)
    return np.clip(1.5 - d / 3, 0.0, 1.0).astype(np.float32)


@pytest.fixture(autouse=True)
def own_tmp(tmp_path, monkeypatch):
    """The runs' temporary stores go to a folder of this test alone (to count them)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def stores(folder) -> list[str]:
    return sorted(p for p in os.listdir(folder) if p.startswith(PREFIX))


@pytest.fixture
def errors(monkeypatch):
    monkeypatch.setattr(notification_manager, "catch_error", True)
    start = len(notification_manager.records)
    return lambda: [str(n.message) for n in notification_manager.records[start:]
                    if n.severity == NotificationSeverity.ERROR]


@pytest.fixture
def chunks_seen(monkeypatch):
    """Every (done, total) the GUI heard from a chunk-by-chunk run."""
    seen = []
    real = lazy_mod.LazyRun._advance

    def advance(self, done, total):
        seen.append((done, total))
        real(self, done, total)

    monkeypatch.setattr(lazy_mod.LazyRun, "_advance", advance)
    return seen


def dock(viewer, name):
    return viewer.window.add_plugin_dock_widget(PLUGIN, name)[1]


def run_and_wait(qtbot, widget):
    worker = widget.run()
    assert worker is not None, widget.status.value
    qtbot.waitUntil(lambda: not widget.job.running, timeout=TIMEOUT_MS)
    qtbot.wait(20)
    return worker


def in_memory(qtbot, viewer, widget, data, kind="labels", **kwargs):
    """The same widget's layers for the same data held in memory (then removed again)."""
    add = viewer.add_labels if kind == "labels" else viewer.add_image
    layer = add(np.asarray(data), name="in memory", **kwargs)
    widget.layer.value = layer
    run_and_wait(qtbot, widget)
    assert all(isinstance(ly.data, np.ndarray) for ly in widget.last_layers)  # (the NumPy path, unchanged)
    out = [np.asarray(ly.data).copy() for ly in widget.last_layers]
    for ly in [*widget.last_layers, layer]:
        viewer.layers.remove(ly)
    return out


def test_dask_labels_layer_is_skeletonized_chunk_by_chunk(make_napari_viewer, qtbot, own_tmp, chunks_seen, errors):
    viewer = make_napari_viewer()
    mask = tubes()
    widget = dock(viewer, "Soft skeleton")
    widget.iterations.value = 4
    (expected,) = in_memory(qtbot, viewer, widget, mask)
    lazy = da.from_array(mask, chunks=(12, 20, 24))  # 2 × 2 × 2 chunks
    source = viewer.add_labels(lazy, name="tubes", scale=(2.0, 0.5, 0.5), translate=(3.0, -1.0, 4.0))
    widget.layer.value = source

    run_and_wait(qtbot, widget)
    assert errors() == []
    (skel,) = widget.last_layers
    assert skel.name == "tubes soft skeleton (k=4)" and isinstance(skel, Labels)
    assert isinstance(skel.data, da.Array), type(skel.data)  # lazy: over the store, never a NumPy copy
    np.testing.assert_array_equal(np.asarray(skel.data), expected)
    assert expected.any()
    np.testing.assert_allclose(skel.scale, source.scale)
    np.testing.assert_allclose(skel.translate, source.translate)
    # the progress counts chunks, one at a time, up to all 8
    assert [done for done, _ in chunks_seen] == list(range(1, 9)) and {t for _, t in chunks_seen} == {8}
    assert "8 chunks" in widget.status.value and f"{int(expected.sum())} skeleton voxels" in widget.status.value
    assert source.data is lazy  # the input was never replaced by a loaded copy
    # the store lives while the layer does, and goes with it
    store = store_of(skel)
    assert store is not None and os.path.isdir(store.path) and stores(own_tmp) == [os.path.basename(store.path)]
    viewer.layers.remove(skel)
    assert not os.path.exists(store.path) and stores(own_tmp) == []


def test_dask_probability_map_gives_lazy_map_and_skeleton(make_napari_viewer, qtbot, own_tmp, errors):
    viewer = make_napari_viewer()
    prob = tube_map()
    widget = dock(viewer, "Soft skeleton")
    widget.iterations.value = 5
    widget.threshold.value = 0.3
    expected_map, expected_skel = in_memory(qtbot, viewer, widget, prob, kind="image")
    widget.layer.value = viewer.add_image(da.from_array(prob, chunks=(8, 20, 16)), name="prob")
    run_and_wait(qtbot, widget)
    assert errors() == []
    soft_map, skel = widget.last_layers
    assert isinstance(soft_map, Image) and isinstance(skel, Labels)
    assert soft_map.name == "prob soft skeleton (k=5) map" and skel.name == "prob soft skeleton (k=5)"
    assert isinstance(soft_map.data, da.Array) and isinstance(skel.data, da.Array)
    np.testing.assert_array_equal(np.asarray(soft_map.data), expected_map)
    np.testing.assert_array_equal(np.asarray(skel.data), expected_skel)
    # a time series (t, z, y, x) is done per time point, as in memory
    series = np.stack([prob, prob[:, ::-1]])
    expected_series = in_memory(qtbot, viewer, widget, series, kind="image")
    widget.layer.value = viewer.add_image(da.from_array(series, chunks=(1, 12, 20, 24)), name="series")
    run_and_wait(qtbot, widget)
    assert [ly.data.shape for ly in widget.last_layers] == [series.shape] * 2
    for layer, expected in zip(widget.last_layers, expected_series):
        np.testing.assert_array_equal(np.asarray(layer.data), expected)
    # both layers show one store: it goes with the last of them
    assert len(stores(own_tmp)) == 2
    store = store_of(skel)
    assert store_of(soft_map) is store
    viewer.layers.remove(skel)
    assert os.path.isdir(store.path)
    viewer.layers.remove(soft_map)
    assert not os.path.exists(store.path) and len(stores(own_tmp)) == 1
    viewer.layers.clear()  # (what viewer.close() does)
    assert stores(own_tmp) == []


def write_pyramid(folder, level0: np.ndarray) -> list:
    """A three-level Zarr pyramid (y and x halved per level, z kept), opened as Zarr arrays."""
    group = zarr.open_group(str(folder / "pyramid.zarr"), mode="w")
    arrays, level = [], level0
    for i in range(3):
        arr = group.create_array(str(i), shape=level.shape, chunks=(8, 16, 16), dtype=level.dtype)
        arr[...] = level
        arrays.append(arr)
        level = level[:, ::2, ::2]
    return arrays


def test_zarr_multiscale_layer_works_on_level_0_and_shows_all(make_napari_viewer, qtbot, tmp_path, own_tmp,
                                                             chunks_seen, errors):
    viewer = make_napari_viewer()
    mask = tubes((16, 36, 40)) * 255  # an Image of two values: a mask
    widget = dock(viewer, "Soft skeleton")
    widget.iterations.value = 6
    (expected,) = in_memory(qtbot, viewer, widget, mask, kind="image")
    levels = write_pyramid(tmp_path, mask)
    source = viewer.add_image(levels, multiscale=True, name="pyramid", scale=(3.0, 1.0, 1.0))
    widget.layer.value = source
    run_and_wait(qtbot, widget)
    assert errors() == []
    (skel,) = widget.last_layers
    assert skel.multiscale and len(skel.data) == 3
    assert [tuple(level.shape) for level in skel.data] == [tuple(level.shape) for level in levels]
    assert all(isinstance(level, da.Array) for level in skel.data)
    np.testing.assert_array_equal(np.asarray(skel.data[0]), expected)
    # a coarser level is the maximum over its voxels' blocks: the thin skeleton stays visible
    coarse = np.asarray(skel.data[1])
    padded = np.pad(expected, [(0, 0), (0, expected.shape[1] % 2), (0, expected.shape[2] % 2)])
    np.testing.assert_array_equal(coarse, padded.reshape(16, -1, 2, padded.shape[2] // 2, 2).max(axis=(2, 4)))
    assert coarse.any()
    np.testing.assert_allclose(skel.scale, source.scale)
    assert chunks_seen[-1] == (2 * 3 * 3, 2 * 3 * 3)  # level 0's chunks (16 × 36 × 40 in 8 × 16 × 16)


def test_cancel_keeps_the_chunks_done_and_says_so(make_napari_viewer, qtbot, own_tmp, monkeypatch, errors):
    viewer = make_napari_viewer()
    mask = tubes((16, 64, 64))
    widget = dock(viewer, "Soft skeleton")
    widget.iterations.value = 6
    (expected,) = in_memory(qtbot, viewer, widget, mask)
    real = compute_mod._write

    def slow_write(*args, **kwargs):  # (so that the run is surely still going when Cancel is pressed)
        time.sleep(0.05)
        return real(*args, **kwargs)

    monkeypatch.setattr(compute_mod, "_write", slow_write)
    real_advance = lazy_mod.LazyRun._advance
    after_first = {"do": lambda: widget.cancel_button.native.click()}  # the real button

    def cancel_after_first(self, done, total):
        real_advance(self, done, total)
        if done == 1:
            after_first["do"]()

    monkeypatch.setattr(lazy_mod.LazyRun, "_advance", cancel_after_first)
    widget.layer.value = viewer.add_labels(da.from_array(mask, chunks=(8, 16, 16)), name="tubes")  # 32 chunks
    run_and_wait(qtbot, widget)
    assert errors() == []
    (skel,) = widget.last_layers
    assert skel in viewer.layers and skel.name == "tubes soft skeleton (k=6) (incomplete)"
    assert widget.status.value.startswith("Cancelled; 'tubes soft skeleton (k=6) (incomplete)' keeps the ")
    assert widget.status.value.endswith(" of 32 chunks done.")
    done = int(widget.status.value.split(" keeps the ")[1].split(" of ")[0])
    assert 1 <= done < 32
    # what was done is correct; the rest is empty (not a loaded NumPy copy: the lazy layer, read now)
    got = np.asarray(skel.data)
    written = 0
    for z in range(0, 16, 8):
        for y in range(0, 64, 16):
            for x in range(0, 64, 16):
                region = np.s_[z:z + 8, y:y + 16, x:x + 16]
                if not np.array_equal(got[region], expected[region]):
                    assert not got[region].any()
                elif expected[region].any():
                    written += 1
    assert written <= done
    assert not widget.job.running and widget.run_button.enabled
    assert widget.job.cancelled == jobs_mod.CANCELLED  # (the run's own Cancel sentence is not left behind)
    viewer.layers.remove(skel)
    assert stores(own_tmp) == []
    # removing the result layer while the run goes on cancels it (nobody waits for it), and nothing is left
    after_first["do"] = lambda: viewer.layers.remove(widget.last_layers[0])
    run_and_wait(qtbot, widget)
    assert errors() == [] and widget.status.value == "Cancelled; no layer was kept."
    assert [ly.name for ly in viewer.layers] == ["tubes"] and stores(own_tmp) == []


def test_refusals_say_one_line_and_add_nothing(make_napari_viewer, qtbot, own_tmp, errors):
    viewer = make_napari_viewer()
    # (a volume larger than any the library loads for scikit-image's thinning: 520 × 512 × 512 voxels, made by dask)
    big = viewer.add_labels(da.ones((520, 512, 512), dtype=np.uint8, chunks=(130, 256, 256)), name="big")
    viewer.add_image(da.zeros((10, 20, 20), dtype=np.float32, chunks=10), name="nothing")
    # the library refuses (Lee cannot be chunked exactly): its one line, in the widget
    widget = dock(viewer, "Reference skeleton")
    widget.layer.value, widget.method.value = big, "lee"
    run_and_wait(qtbot, widget)
    (message,) = errors()
    assert "lee" in message.lower() and "\n" not in message
    assert widget.status.value == message
    # the widget refuses an empty layer, as in memory (found by a dask pass, not by loading it)
    widget = dock(viewer, "Soft skeleton")
    widget.layer.value = viewer.layers["nothing"]
    run_and_wait(qtbot, widget)
    assert len(errors()) == 2 and "'nothing' is empty" in errors()[1]
    assert [ly.name for ly in viewer.layers] == ["big", "nothing"] and stores(own_tmp) == []


def test_topological_on_a_dask_layer_is_exact_or_refused(make_napari_viewer, qtbot, own_tmp, errors):
    viewer = make_napari_viewer()
    mask = tubes((20, 32, 36))
    widget = dock(viewer, "Reference skeleton")
    widget.method.value = "topological"
    (expected,) = in_memory(qtbot, viewer, widget, mask)
    widget.layer.value = viewer.add_labels(da.from_array(mask, chunks=(10, 16, 18)), name="tubes")
    run_and_wait(qtbot, widget)
    if errors():  # the library cannot chunk it (yet): one line, nothing added
        assert len(errors()) == 1 and "\n" not in errors()[0]
        assert len(viewer.layers) == 1 and stores(own_tmp) == []
    else:
        (skel,) = widget.last_layers
        assert isinstance(skel.data, da.Array)
        np.testing.assert_array_equal(np.asarray(skel.data), expected)
