"""``iterations="auto"`` on dask and zarr arrays (``_chunked_auto.py``): the in-memory count and result, bit for bit."""

from __future__ import annotations

import warnings

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
import zarr

import napari_soft_skeleton._chunked_auto as chunked_auto
from napari_soft_skeleton import skeletonize


def _run(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, [str(w.message) for w in caught if "stopped after" in str(w.message)]


def in_memory(data, **kw):
    return _run(lambda: skeletonize(data, "soft", iterations="auto", return_iterations=True, **kw))


def chunked(data, chunks, **kw):
    def go():
        out, used = skeletonize(da.from_array(data, chunks=chunks), "soft", iterations="auto",
                                return_iterations=True, **kw)
        assert isinstance(out, da.Array)
        return out.compute(), used
    return _run(go)


def assert_same(data, chunks, **kw):
    (expected, k), warned = in_memory(data, **kw)
    (got, used), warned_lazy = chunked(data, chunks, **kw)
    assert used == k, f"count {used}, in memory {k} (chunks {chunks}, {kw})"
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected, err_msg=f"chunks {chunks}, {kw}")
    assert warned_lazy == warned  # the cap's warning, once, when in memory gives it
    return k


@pytest.fixture
def small_blocks(monkeypatch):
    """The count pass on blocks of a few voxels, from a one-voxel halo and 2 iterations: every growth step of
    the halo and of the float rule's window runs on these small volumes (the halos seen are recorded)."""
    monkeypatch.setattr(chunked_auto, "MIN_EDGE", {3: 5, 2: 9})
    monkeypatch.setattr(chunked_auto, "FIRST_HALO", 1)
    monkeypatch.setattr(chunked_auto, "FIRST_K", 2)
    halos = []
    real = chunked_auto._depth_block
    monkeypatch.setattr(chunked_auto, "_depth_block", lambda *args: halos.append(args[3]) or real(*args))
    return halos


def probability(rng, shape, sigma, steep=30.0):
    """A smooth map pushed towards 0 and 1 (a probability map: the exact rule stops 'auto')."""
    smooth = ndi.gaussian_filter(rng.random(shape), sigma)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return (1 / (1 + np.exp(-steep * (smooth - 0.5)))).astype(np.float32)


SHAPE = (16, 24, 26)
CHUNKS_3D = [(7, 9, 11), (1, 24, 26), (16, 24, 1)]  # odd, and one voxel thin along z, then x


def test_masks_and_labels_give_the_in_memory_count_and_result(small_blocks):
    rng = np.random.default_rng(0)
    mask = probability(rng, SHAPE, 2.0) > 0.45
    labels = ndi.label(mask)[0].astype(np.uint16)
    touching = (labels + (np.indices(SHAPE)[2] >= 13) * 7).astype(np.uint16) * (labels > 0)  # labels in contact
    thick = np.zeros(SHAPE, bool)
    thick[1:15, 2:22, 1:25] = True  # thicker than any block: the halo must grow to reach its middle
    counts = set()
    for data in (mask, labels):
        for chunks in CHUNKS_3D:
            counts.add(assert_same(data, chunks))
    counts.add(assert_same(touching, (7, 9, 11)))
    assert len(counts) == 2 and min(counts) > 0  # touching labels erode sooner than the mask
    small_blocks.clear()
    assert assert_same(thick, (7, 9, 11)) == 7 - 1  # D = 7 in the middle of 14 slices
    assert max(small_blocks) >= 8 > min(small_blocks)  # the halo grew
    for data in (mask, labels, thick):
        assert_same(data, (3, 1, 26), per_slice=True)


def test_full_and_empty_volumes_and_slices(small_blocks):
    shape = (6, 12, 14)
    full = np.ones(shape, bool)
    assert assert_same(full, (3, 7, 5)) == 0  # no background anywhere: nothing erodes, as in memory
    some = full.copy()
    some[0, 0, 0] = False  # one background voxel: the far corner is 5 + 11 + 13 away
    assert assert_same(some, (3, 7, 5)) == 5 + 11 + 13 - 1
    stack = np.zeros(shape, bool)
    stack[2] = True  # a full slice (no background in it) beside empty ones and a bar
    stack[4, 5:9, 2:12] = True
    assert assert_same(stack, (2, 7, 5), per_slice=True) == 1
    assert assert_same(np.zeros(shape, np.uint8), (3, 7, 5)) == 0
    assert assert_same(np.full(shape, 3, np.uint8), (3, 7, 5)) == 0


def test_float_maps_give_the_in_memory_count_and_result(small_blocks):
    rng = np.random.default_rng(10)
    prob = probability(rng, SHAPE, 2.0)
    noisy = ndi.gaussian_filter(rng.random(SHAPE), 1.0).astype(np.float32)  # intensities: 'auto' is capped
    noisy = (noisy - noisy.min()) / (noisy.max() - noisy.min())
    for chunks in CHUNKS_3D:
        assert_same(prob, chunks, threshold=0.5)
    assert_same(prob, (16, 24, 1), threshold=None)
    assert_same(prob, (7, 9, 11), threshold=None, auto_threshold=0.3)
    assert_same(prob.astype(np.float64), (5, 24, 8), threshold=0.4)
    assert_same(prob, (4, 7, 26), threshold=0.5, per_slice=True)
    assert_same(noisy, (7, 9, 11), threshold=0.5)  # the cap: twice the depth above the threshold
    assert_same(np.round(prob), (7, 9, 11), threshold=0.5)  # only 0 and 1: the mask rule, as in memory
    assert_same(np.full(SHAPE, 0.25, np.float32), (7, 9, 11), threshold=0.5)
    assert in_memory(noisy, threshold=0.5)[1]  # (the cap was reached in memory: its warning was compared)


def test_2d_and_zarr_and_normalize(small_blocks):
    rng = np.random.default_rng(3)
    prob = probability(rng, (50, 60), 3.0)
    for chunks in ((31, 37), (1, 60), (13, 17)):
        assert_same(prob, chunks, threshold=0.5)
        assert_same(ndi.label(prob > 0.5)[0].astype(np.int32), chunks)
    store = zarr.create_array(store={}, shape=prob.shape, chunks=(16, 23), dtype="float32")
    store[:] = prob * 200 + 10
    (expected, k), _ = in_memory(prob * 200 + 10, normalize=True, threshold=0.5)
    (got, used), _ = _run(lambda: skeletonize(store, "soft", iterations="auto", normalize=True, threshold=0.5,
                                              return_iterations=True))
    assert used == k
    np.testing.assert_array_equal(got.compute(), expected)


def test_the_default_blocks_merge_thin_chunks_and_give_the_same_count():
    rng = np.random.default_rng(4)
    prob = probability(rng, (12, 70, 80), 2.5)
    for data, kw in ((prob, {"threshold": 0.5}), (prob > 0.5, {})):
        assert_same(data, (1, 70, 80), **kw)
        assert_same(data, (12, 11, 13), **kw)


@pytest.mark.parametrize("kw, message", [
    ({"fill_holes": True}, "fill_holes=True for the soft skeleton of a dask or zarr array needs a mask"),
])
def test_refused_auto_options_are_one_line(kw, message):
    arr = da.zeros((8, 8, 8), dtype=np.float32, chunks=4)
    with pytest.raises(ValueError, match=message) as err:
        skeletonize(arr, "soft", iterations="auto", **kw)
    assert "\n" not in str(err.value)


def test_a_float_map_outside_0_1_is_refused_in_one_line_before_any_chunk_is_skeletonized():
    arr = da.from_array(np.linspace(-1, 2, 512, dtype=np.float32).reshape(8, 8, 8), chunks=4)
    with pytest.raises(ValueError, match=r"values in \[-1, 2\]") as err:
        skeletonize(arr, "soft", iterations="auto")
    assert "\n" not in str(err.value)


# ---- the command line: a Zarr store in, a Zarr store out ----------------------------------------------------


def test_cli_streams_iterations_auto_equal_to_in_memory(tmp_path, capsys):
    from napari_soft_skeleton.cli import main
    from napari_soft_skeleton.io import read_volume, write_volume

    rng = np.random.default_rng(5)
    prob = probability(rng, (12, 40, 44), 2.5)
    labels = ndi.label(prob > 0.5)[0].astype(np.uint16)
    for i, (data, extra, kw) in enumerate([(prob > 0.5, [], {}), (prob, [], {"threshold": 0.5}),
                                           (prob, ["--no-threshold"], {"threshold": None}), (labels, [], {})]):
        src, out = tmp_path / f"in{i}.zarr", tmp_path / f"out{i}.zarr"
        write_volume(src, data)
        assert main(["skeletonize", str(src), "-o", str(out), "--iterations", "auto", "-q", *extra]) == 0
        (expected, k), _ = in_memory(data, **kw)
        np.testing.assert_array_equal(read_volume(out).array, expected)
        assert f", {k} iterations (auto)," in capsys.readouterr().out


def test_a_killed_auto_run_resumes_only_with_auto_and_reuses_its_count(tmp_path, monkeypatch):
    import json

    import napari_soft_skeleton._streaming as streaming
    from napari_soft_skeleton._streaming import (
        JOB_FILE,
        partial_path,
        skeletonize_store,
    )
    from napari_soft_skeleton.io import InputError

    rng = np.random.default_rng(6)
    mask = probability(rng, (20, 30, 34), 2.0) > 0.5
    src = tmp_path / "in.zarr"
    source = zarr.create_array(store=str(src), shape=mask.shape, chunks=(4, 30, 34), dtype=bool)
    source[:] = mask
    out = tmp_path / "out.zarr"
    (expected, k), _ = in_memory(mask)

    def run(iterations, progress=None, report=None):
        return skeletonize_store(source, str(src), out, iterations=iterations, threshold=0.5, per_slice=False,
                                 device="cpu", as_mask=True, rescale=None, out_dtype=bool, spacing=None, unit=None,
                                 progress=progress, report=report)

    def killer(done, total):
        if done >= 1:
            raise KeyboardInterrupt  # as if the run were killed after its first chunk

    with pytest.raises(KeyboardInterrupt):
        run("auto", progress=killer)
    job = json.loads((partial_path(out) / JOB_FILE).read_text())
    assert job["iterations"] == "auto" and job["auto_iterations"] == k
    with pytest.raises(InputError, match=f"iterations was 'auto', now {k}") as err:
        run(k)  # the same count, but not the same options
    assert "\n" not in str(err.value)
    monkeypatch.setattr(streaming, "_auto_count", None)  # a resume reuses the count: no second pass
    report = {}
    assert run("auto", report=report) < 5  # the chunks done before are skipped
    assert report == {"iterations": k}
    np.testing.assert_array_equal(zarr.open_group(str(out), mode="r")["0"][:], expected)
