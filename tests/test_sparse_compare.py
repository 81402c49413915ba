"""compare, cldice and the skeleton graph of lazy (dask / zarr) skeletons: equal to the in-memory calls.

The lazy paths read the skeletons chunk by chunk into their voxel coordinates
(``_sparse``); these tests run them on random skeletons, label skeletons and
masks with odd chunk shapes (and tiny read / labelling blocks, so every
chunk-border path is taken) and check every number against ``np.asarray``.
"""

from __future__ import annotations

import json
import warnings

import dask.array as da
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage as ndi

import napari_soft_skeleton._sparse as sparse_mod
import napari_soft_skeleton.graph._build_lazy as build_lazy
import napari_soft_skeleton.metrics._sparse_betti as betti_mod
from napari_soft_skeleton import skeleton_graph, skeletonize
from napari_soft_skeleton._sparse import components, euler_characteristic, skeleton_coords
from napari_soft_skeleton.cli import main
from napari_soft_skeleton.io import write_volume
from napari_soft_skeleton.metrics import betti_numbers, cldice, compare
from napari_soft_skeleton.metrics._sparse_betti import betti_from_coords
from napari_soft_skeleton.metrics._topology import _euler_characteristic, _pad_false


@pytest.fixture(params=["blocks", "merged"])
def small_blocks(request, monkeypatch):
    """'blocks': every chunk read alone and the background labelled in tiny blocks; 'merged': defaults."""
    if request.param == "blocks":
        monkeypatch.setattr(sparse_mod, "BATCH_BYTES", 200)
        monkeypatch.setattr(betti_mod, "BLOCK_VOXELS", 1)
        monkeypatch.setattr(build_lazy, "MASK_MARGIN", 1)
        monkeypatch.setattr(build_lazy, "GROUP_VOXELS", 300)  # several skan passes, some of several objects
    return request.param


def _shape(rng, ndim, low=5, high=18):
    return tuple(int(s) for s in rng.integers(low, high, ndim))


def _chunks(rng, ndim):
    """Odd chunk shapes, sometimes one voxel thin along an axis."""
    chunks = [int(c) for c in rng.integers(2, 8, ndim)]
    chunks[int(rng.integers(ndim))] = int(rng.choice([1, 3]))
    return tuple(chunks)


def _zarr(array, chunks):
    import zarr

    z = zarr.create_array(store={}, shape=array.shape, chunks=chunks, dtype=array.dtype)
    z[...] = array
    return z


def _skeleton_of(rng, shape):
    mask = ndi.binary_opening(rng.random(shape) < 0.4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mask, np.asarray(skeletonize(mask, method="topological")) > 0


# ---- coordinates and topology ------------------------------------------------------------------------


def test_skeleton_coords_raster_order_values_and_errors():
    rng = np.random.default_rng(0)
    labels = (rng.random((9, 11, 7)) < 0.2) * rng.integers(1, 300, (9, 11, 7)).astype(np.uint16)
    coords, values = skeleton_coords(da.from_array(labels, chunks=(4, 3, 5)))
    assert np.array_equal(coords, np.argwhere(labels)) and np.array_equal(values, labels[labels > 0])
    assert values.dtype == np.uint16
    calls = []
    coords, values = skeleton_coords(_zarr(labels > 0, (2, 5, 3)), progress=lambda d, t: calls.append((d, t)))
    assert np.array_equal(coords, np.argwhere(labels)) and values is None
    assert calls and calls[-1][0] == calls[-1][1]
    with pytest.raises(ValueError, match="0 and 1"):
        skeleton_coords(da.from_array(np.full((4, 4), 0.5), chunks=2))
    with pytest.raises(ValueError, match="non-negative"):
        skeleton_coords(da.from_array(-np.ones((4, 4), np.int8), chunks=2))
    with pytest.raises(ValueError, match="more than 3 nonzero"):
        skeleton_coords(da.from_array(np.ones((4, 4), bool), chunks=2), max_voxels=3)


def test_betti_components_and_euler_from_coordinates(small_blocks):
    rng = np.random.default_rng(1)
    for trial in range(40):
        ndim = 2 + trial % 2
        shape = _shape(rng, ndim, 3, 12)
        image = rng.random(shape) < rng.uniform(0.05, 0.7)
        coords = np.argwhere(image)
        bounds = tuple(np.unique(np.r_[0, rng.integers(0, n, 2), n]) for n in shape)
        assert betti_from_coords(coords, shape, bounds) == betti_numbers(image)
        n, _ = components(coords, shape)
        assert n == ndi.label(image, structure=np.ones((3,) * ndim))[1]
        if coords.size:
            assert euler_characteristic(coords, shape, batch=2) == _euler_characteristic(_pad_false(image))
    shell = np.zeros((7, 7, 7), bool)  # a cavity and a tunnel, across chunk faces
    shell[1:6, 1:6, 1:6] = True
    shell[2:5, 2:5, 2:5] = False
    assert betti_from_coords(np.argwhere(shell), shell.shape, (np.arange(8),) * 3) == (1, 0, 1)


# ---- compare and cldice ---------------------------------------------------------------------------------


def _same_comparison(a, b):
    da_, db = a.to_dict(), b.to_dict()
    assert da_.keys() == db.keys()
    for key in da_:
        assert da_[key] == db[key], key


def test_compare_lazy_equals_in_memory(small_blocks):
    rng = np.random.default_rng(2)
    for trial in range(8 if small_blocks == "blocks" else 16):
        ndim = 2 + trial % 2
        shape = _shape(rng, ndim)
        ref = rng.random(shape) < rng.uniform(0.01, 0.25)
        cand = rng.random(shape) < rng.uniform(0.01, 0.25)
        mask = rng.random(shape) < 0.8 if trial % 3 == 0 else None
        spacing = None if trial % 4 else tuple(float(s) for s in rng.choice([0.5, 1.0, 2.0], ndim))
        chunks = _chunks(rng, ndim)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = compare(ref, cand, mask=mask, spacing=spacing, unit="µm")
            lazy_ref = da.from_array(ref, chunks=chunks) if trial % 2 else _zarr(ref.astype(np.uint8), chunks)
            got = compare(lazy_ref, da.from_array(cand.astype(np.float32), chunks=chunks[::-1]),
                          mask=None if mask is None else da.from_array(mask, chunks=chunks), spacing=spacing,
                          unit="µm")
        _same_comparison(expected, got)
        if trial % 4 == 0:
            assert got.to_dict()["per_slice"]["n_reference"] == expected.to_dict()["per_slice"]["n_reference"]
            assert got.worst_slices(3).tolist() == expected.worst_slices(3).tolist()


def test_compare_lazy_skeletons_topology_and_warning():
    rng = np.random.default_rng(3)
    mask, skel = _skeleton_of(rng, (14, 22, 19))
    other = np.roll(skel, 1, axis=2)
    lazy = da.from_array(skel, chunks=(5, 7, 3))
    _same_comparison(compare(skel, other, spacing=(2.0, 1.0, 1.0)),
                     compare(lazy, da.from_array(other, chunks=(3, 4, 5)), spacing=(2.0, 1.0, 1.0)))
    with pytest.warns(UserWarning, match="does not look like a skeleton"):
        compare(da.from_array(mask, chunks=4), skel)


def test_compare_lazy_refuses_what_needs_the_volume():
    lazy = da.from_array(np.zeros((4, 5), bool), chunks=2)
    with pytest.raises(ValueError, match="same shape"):
        compare(lazy, np.zeros((4, 6), bool))
    with pytest.raises(ValueError, match="needs the candidate in memory"):
        compare(pd.DataFrame({"id": [1], "type": [0], "x": [0.0], "y": [0.0], "z": [0.0], "radius": [1.0],
                              "parent": [-1]}), lazy)
    with pytest.raises(ValueError, match="tolerance"):
        compare(lazy, lazy, tolerance=-1)


def test_cldice_lazy_equals_in_memory():
    rng = np.random.default_rng(4)
    for trial in range(6):
        shape = _shape(rng, 2 + trial % 2)
        pred, targ = rng.random(shape) < 0.5, rng.random(shape) < 0.5
        s_pred, s_targ = pred & (rng.random(shape) < 0.3), targ & (rng.random(shape) < 0.3)
        chunks = _chunks(rng, len(shape))
        expected = cldice(pred, targ, prediction_skeleton=s_pred, target_skeleton=s_targ)
        got = cldice(da.from_array(pred, chunks=chunks), _zarr(targ, chunks),
                     prediction_skeleton=da.from_array(s_pred, chunks=chunks), target_skeleton=s_targ)
        assert got == expected
    with pytest.raises(ValueError, match="prediction_skeleton and target_skeleton"):
        cldice(da.from_array(pred, chunks=3), targ)


# ---- the skeleton graph -----------------------------------------------------------------------------------


def _same_graph(expected, got):
    for name in ("branches", "nodes", "summary"):
        pd.testing.assert_frame_equal(expected.table(name), got.table(name), check_exact=True)
    assert len(expected.paths()) == len(got.paths())
    assert all(np.array_equal(p, q) for p, q in zip(expected.paths(), got.paths()))


def test_graph_lazy_equals_in_memory(small_blocks):
    rng = np.random.default_rng(5)
    for trial in range(6 if small_blocks == "blocks" else 12):
        ndim = 2 + trial % 2
        shape = _shape(rng, ndim, 8, 22 if ndim == 3 else 36)
        mask, skel = _skeleton_of(rng, shape)
        if trial % 3 == 1:  # a label skeleton with a label mask (touching labels stay apart)
            labels = ndi.label(mask)[0]
            skel, mask = np.where(skel, labels, 0).astype(np.uint16), labels.astype(np.int32)
        spacing = None if trial % 4 else tuple(float(s) for s in rng.choice([0.5, 1.0, 2.0], ndim))
        chunks = _chunks(rng, ndim)
        with_mask = trial % 2 == 0
        image = rng.random(shape).astype(np.float32) if trial % 4 == 0 else None
        expected = skeleton_graph(skel, spacing=spacing, mask=mask if with_mask else None, image=image)
        lazy = da.from_array(skel, chunks=chunks) if trial % 2 else _zarr(skel, chunks)
        got = skeleton_graph(lazy, spacing=spacing, mask=da.from_array(mask, chunks=chunks[::-1]) if with_mask else None,
                             image=None if image is None else _zarr(image, chunks))
        _same_graph(expected, got)
        assert isinstance(got.to_mask(), da.Array) and np.array_equal(np.asarray(got.to_mask()), skel)


def test_graph_lazy_limits_and_refusals():
    skel = np.zeros((6, 30, 30), bool)
    skel[3, 2:28, 2:28] = np.eye(26, dtype=bool)  # one diagonal object: a 1 x 26 x 26 box
    lazy = da.from_array(skel, chunks=(2, 7, 9))
    with pytest.raises(ValueError, match=r"object 1 .* 676 voxels .* max_object_bytes"):
        skeleton_graph(lazy, max_object_bytes=1000)
    graph = skeleton_graph(lazy, max_object_bytes=10_000)
    _same_graph(skeleton_graph(skel), graph)
    with pytest.raises(ValueError, match="prune needs the skeleton in memory"):
        graph.prune(2.0)
    empty = skeleton_graph(da.zeros((5, 6, 7), bool, chunks=3), mask=da.zeros((5, 6, 7), bool, chunks=3))
    _same_graph(skeleton_graph(np.zeros((5, 6, 7), bool), mask=np.zeros((5, 6, 7), bool)), empty)


# ---- the command line on .zarr stores ---------------------------------------------------------------------


def _ome_zarr(path, array, chunks, spacing=None):
    from napari_soft_skeleton.io._zarr import create_ome_zarr

    data = create_ome_zarr(path, array.shape, array.dtype, spacing, "µm" if spacing else None, "test", chunks)
    data[...] = array
    return str(path)


def test_cli_compare_and_graph_on_zarr(tmp_path, capsys):
    rng = np.random.default_rng(6)
    mask, skel = _skeleton_of(rng, (12, 26, 23))
    other = np.roll(skel, 1, axis=1)
    spacing = (2.0, 1.0, 1.0)
    for name, array in (("a", skel), ("b", other), ("m", mask)):
        write_volume(tmp_path / f"{name}.npy", array, spacing=spacing, unit="µm")
        _ome_zarr(tmp_path / f"{name}.zarr", array, (5, 7, 3), spacing)
    outs = {}
    for ext in ("npy", "zarr"):
        args = ["compare", str(tmp_path / f"a.{ext}"), str(tmp_path / f"b.{ext}"), "--mask",
                str(tmp_path / f"m.{ext}"), "--json", str(tmp_path / f"cmp_{ext}.json")]
        assert main(args) == 0
        assert main(["graph", str(tmp_path / f"a.{ext}"), "--csv", str(tmp_path / f"g_{ext}.csv"),
                     "--summary-csv", str(tmp_path / f"s_{ext}.csv")]) == 0
        outs[ext] = capsys.readouterr().out
    assert json.loads((tmp_path / "cmp_npy.json").read_text()) == json.loads((tmp_path / "cmp_zarr.json").read_text())
    assert (tmp_path / "g_npy.csv").read_text() == (tmp_path / "g_zarr.csv").read_text()
    assert (tmp_path / "s_npy.csv").read_text() == (tmp_path / "s_zarr.csv").read_text()
    assert outs["npy"].replace("npy", "EXT") == outs["zarr"].replace("zarr", "EXT")
    # graph of a Zarr mask, or pruning it: one line, no output
    assert main(["graph", str(tmp_path / "m.zarr"), "--csv", str(tmp_path / "x.csv")]) == 2
    assert "skeletonize it first" in capsys.readouterr().err and not (tmp_path / "x.csv").exists()
    assert main(["graph", str(tmp_path / "a.zarr"), "--prune", "3"]) == 2
    err = capsys.readouterr().err
    assert "--prune needs the skeleton in memory" in err and len(err.strip().splitlines()) == 1
