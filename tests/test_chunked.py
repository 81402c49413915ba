"""Skeletons of dask and zarr arrays (``_chunked.py``): lazy, chunk by chunk, equal to the in-memory result."""

from __future__ import annotations

import warnings

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
import zarr

from napari_soft_skeleton import skeletonize
from napari_soft_skeleton._chunked import is_lazy, soft_halo
from napari_soft_skeleton.io import InputError as InputErrorType

CHUNKS = [(17, 19, 23), (1, 28, 30), (24, 1, 30), (9, 5, 30), (24, 28, 30)]


def volume(seed: int, shape=(24, 28, 30)):
    rng = np.random.default_rng(seed)
    img = ndi.gaussian_filter(rng.random(shape), 1.5)
    img = ((img - img.min()) / (img.max() - img.min())).astype(np.float32)
    mask = img > 0.5
    labels = ndi.label(mask)[0].astype(np.uint32)
    return img, mask, labels


def in_memory(data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return skeletonize(data, "soft", **kw)


@pytest.mark.parametrize("seed, k", [(0, 0), (1, 1), (2, 4)])
def test_soft_on_dask_equals_in_memory_bit_for_bit(seed, k):
    img, mask, labels = volume(seed)
    cases = [(img, {"threshold": None}), (img, {"threshold": 0.3}), (mask, {}), (labels, {}),
             (img, {"threshold": None, "per_slice": True})]
    for data, kw in cases:
        expected = in_memory(data, iterations=k, **kw)
        for chunks in CHUNKS:
            lazy = skeletonize(da.from_array(data, chunks=chunks), "soft", iterations=k, **kw)
            assert isinstance(lazy, da.Array)
            got = lazy.compute()
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected, err_msg=f"chunks {chunks}, {kw}")


def test_many_small_chunks_of_a_larger_volume():
    img, mask, _ = volume(4, shape=(40, 44, 48))
    for data, kw in ((img, {"threshold": None}), (mask, {})):
        expected = in_memory(data, iterations=3, **kw)
        got = skeletonize(da.from_array(data, chunks=(7, 7, 7)), "soft", iterations=3, **kw).compute()
        np.testing.assert_array_equal(got, expected)


def test_a_halo_one_short_is_not_enough():
    # the halo is what the formula reaches: one voxel less and a float map differs somewhere
    img, _, _ = volume(7)
    k = 3
    expected = in_memory(img, iterations=k, threshold=None)
    arr = da.from_array(img, chunks=(10, 11, 12))
    short = arr.map_overlap(lambda b: in_memory(b, iterations=k, threshold=None), depth=soft_halo(k) - 1,
                            boundary="none", dtype=np.float32).compute()
    assert (short != expected).any()


def test_2d_zarr_and_normalize():
    img, mask, _ = volume(3, shape=(60, 70))
    store = zarr.create_array(store={}, shape=img.shape, chunks=(16, 23), dtype="float32")
    store[:] = img * 200 + 10  # an intensity image: normalize uses the volume's min and max
    assert is_lazy(store)
    got = skeletonize(store, "soft", iterations=3, normalize=True, threshold=None).compute()
    np.testing.assert_allclose(got, in_memory(img * 200 + 10, iterations=3, normalize=True, threshold=None),
                               rtol=1e-6, atol=1e-6)
    mask_store = zarr.create_array(store={}, shape=mask.shape, chunks=(9, 70), dtype=bool)
    mask_store[:] = mask
    np.testing.assert_array_equal(skeletonize(mask_store, "soft", iterations=2).compute(),
                                  in_memory(mask, iterations=2))


def test_return_iterations_and_laziness():
    _, mask, _ = volume(1)
    calls = []
    arr = da.from_array(mask, chunks=(20, 22, 24))
    arr = arr.map_blocks(lambda b: calls.append(1) or b, dtype=bool, meta=np.array((), bool))
    out, used = skeletonize(arr, "soft", iterations=2, return_iterations=True)
    assert used == 2 and calls == []  # nothing computed until asked
    assert out.chunks == arr.chunks


@pytest.mark.parametrize("kw, message", [
    ({"method": "topological", "per_slice": True}, "per_slice"),
    ({"iterations": -1}, "non-negative"),
    ({"threshold": 2.0}, "threshold"),
])
def test_bad_options_are_one_line(kw, message):
    arr = da.zeros((8, 8, 8), dtype=bool, chunks=4)
    with pytest.raises(ValueError, match=message) as err:
        skeletonize(arr, **{"method": "soft", "iterations": 2, **kw})
    assert "\n" not in str(err.value)


def test_bad_arrays_are_one_line():
    with pytest.raises(ValueError, match="2D .* or 3D"):
        skeletonize(da.zeros((2, 8, 8, 8), chunks=4), "soft", iterations=1)
    with pytest.raises(ValueError, match="dtype"):
        skeletonize(da.zeros((8, 8), dtype=complex, chunks=4), "soft", iterations=1)
    with pytest.raises(ValueError, match="non-empty"):
        skeletonize(da.zeros((0, 8), chunks=4), "soft", iterations=1)


# ---- the command line: a Zarr store in, a Zarr store out -------------------------------------------


def test_cli_streams_a_zarr_volume_into_an_ome_zarr_with_its_calibration(tmp_path, capsys):
    from napari_soft_skeleton.cli import main
    from napari_soft_skeleton.io import read_volume, write_volume

    img, mask, labels = volume(5, shape=(30, 64, 70))
    cases = [(mask, []), (img, ["--no-threshold"]), (labels, [])]
    for i, (data, extra) in enumerate(cases):
        src, out = tmp_path / f"in{i}.zarr", tmp_path / f"out{i}.zarr"
        write_volume(src, data, spacing=(3.0, 1.0, 1.0), unit="um")
        assert main(["skeletonize", str(src), "-o", str(out), "--iterations", "3", "-q", *extra]) == 0
        got = read_volume(out)
        kw = {"threshold": None} if extra else {}
        np.testing.assert_array_equal(got.array, in_memory(data, iterations=3, **kw))
        assert got.spacing == (3.0, 1.0, 1.0) and got.unit == "µm" and got.format == "ome-zarr"
    assert "skeleton voxels" in capsys.readouterr().out


@pytest.mark.parametrize("extra, message", [
    (["--method", "lee"], "cannot stream a Zarr volume"),
    (["--iterations", "2", "--keep-spurs"], "--keep-spurs applies to --method topological"),
    (["--iterations", "2", "--fill-holes", "--per-slice"], "--fill-holes with --per-slice cannot stream"),
    (["--method", "topological", "--per-slice"], "--per-slice cannot stream"),
    (["--method", "topological", "--workers", "2", "--memory-limit", "300MB"], "a worker process needs 500 MB"),
])
def test_cli_refuses_what_does_not_stream_in_one_line(tmp_path, capsys, extra, message):
    from napari_soft_skeleton.cli import main
    from napari_soft_skeleton.io import write_volume

    src, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    write_volume(src, volume(0, shape=(8, 20, 20))[1])
    assert main(["skeletonize", str(src), "-o", str(out), *extra]) != 0
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


# ---- the topological thinning, one exact sweep per pass ---------------------------------------------


def blobs(shape, seed, sigma=2.5):
    rng = np.random.default_rng(seed)
    return ndi.gaussian_filter(rng.random(shape), sigma) > 0.5


@pytest.mark.parametrize("seed", range(2))
def test_topological_on_dask_equals_in_memory_bit_for_bit(seed):
    # blocks (chunk + 2 x 54 voxels of halo) smaller than the volume along y and x: the halo matters
    mask = blobs((24, 150, 160), seed)
    labels = ndi.label(mask)[0].astype(np.uint32) * 3
    for data in (mask, labels):
        expected = skeletonize(data, "topological", spurs="keep")
        for chunks in ((24, 31, 37), (7, 150, 1), (24, 1, 160)):
            got = skeletonize(da.from_array(data, chunks=chunks), "topological", spurs="keep").compute()
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected, err_msg=f"chunks {chunks}")


def test_topological_2d_zarr_float_map_and_a_halo_too_small(monkeypatch):
    import napari_soft_skeleton._chunked_thin as chunked_thin

    img = ndi.gaussian_filter(np.random.default_rng(9).random((300, 320)), 3)
    store = zarr.create_array(store={}, shape=img.shape, chunks=(37, 41), dtype="float64")
    store[:] = img
    expected = skeletonize(img, "topological", threshold=0.5, spurs="keep")
    np.testing.assert_array_equal(skeletonize(store, "topological", threshold=0.5, spurs="keep").compute(),
                                  expected)
    monkeypatch.setattr(chunked_thin, "HALO", 2)  # a sweep reaches further: the result differs somewhere
    assert (skeletonize(store, "topological", threshold=0.5, spurs="keep").compute() != expected).any()


def test_topological_on_a_real_neuron_with_a_last_chunk_thinner_than_the_halo():
    # found on the hemibrain glomerulus (113 slices): chunks of 64 left a last chunk of 49 < 54, which dask
    # rechunked at an odd boundary; 7 voxels differed
    from napari_soft_skeleton.samples import load_sample

    mask = load_sample("neuron_hemibrain_glomerulus").mask.astype(bool)
    expected = skeletonize(mask, "topological")
    for chunks in (64, 100):
        got = skeletonize(da.from_array(mask, chunks=chunks), "topological").compute()
        np.testing.assert_array_equal(got, expected, err_msg=f"chunks {chunks}")


# ---- streaming a Zarr store chunk by chunk: resume, refusals, a local cluster -------------------------


def _store_job(tmp_path, data, **kw):
    from napari_soft_skeleton._streaming import skeletonize_store

    src = tmp_path / "in.zarr"
    if not src.exists():
        from napari_soft_skeleton.io import write_volume

        write_volume(src, data, spacing=(3.0, 1.0, 1.0), unit="um")
    source = zarr.open_group(str(src), mode="r")["0"]
    args = dict(iterations=3, threshold=0.5, per_slice=False, device="cpu", as_mask=True, rescale=None,
                out_dtype=bool, spacing=(3.0, 1.0, 1.0), unit="µm")
    args.update(kw)
    return skeletonize_store(source, str(src), tmp_path / "out.zarr", **args)


def test_a_killed_run_resumes_and_skips_the_chunks_it_finished(tmp_path):
    from napari_soft_skeleton._streaming import partial_path
    from napari_soft_skeleton.io import read_volume

    mask = blobs((70, 80, 90), 3, sigma=2.0)  # chunks (64, 80, 90): the writer's defaults give 2 chunks
    seen = []

    def killer(done, total):
        seen.append(done)
        if done >= 1:
            raise KeyboardInterrupt  # as if the run were killed after its first chunk

    with pytest.raises(KeyboardInterrupt):
        _store_job(tmp_path, mask, progress=killer)
    out = tmp_path / "out.zarr"
    assert not out.exists() and partial_path(out).exists()  # nothing that looks complete
    with pytest.raises(InputErrorType, match="iterations was 3, now 4"):
        _store_job(tmp_path, mask, iterations=4)
    computed = _store_job(tmp_path, mask)
    assert computed < 2  # the finished chunk was skipped
    assert not partial_path(out).exists()
    got = read_volume(out)
    np.testing.assert_array_equal(got.array, in_memory(mask, iterations=3))
    assert got.spacing == (3.0, 1.0, 1.0) and got.unit == "µm"


def test_cli_on_a_local_cluster_of_one_worker(tmp_path):
    from napari_soft_skeleton.cli import main
    from napari_soft_skeleton.io import read_volume, write_volume

    mask = blobs((20, 60, 70), 8, sigma=2.0)
    write_volume(tmp_path / "in.zarr", mask)
    assert main(["skeletonize", str(tmp_path / "in.zarr"), "-o", str(tmp_path / "out.zarr"), "--iterations", "2",
                 "--workers", "1", "-q"]) == 0
    np.testing.assert_array_equal(read_volume(tmp_path / "out.zarr").array, in_memory(mask, iterations=2))
    assert main(["skeletonize", str(tmp_path / "in.zarr"), "-o", str(tmp_path / "out.tif"), "--iterations", "2",
                 "--workers", "2"]) != 0


def test_thinning_over_zarr_stores_sweeps_only_what_changed_and_equals_in_memory(tmp_path, monkeypatch):
    import napari_soft_skeleton._chunked_thin as chunked_thin

    calls, passes = [], []
    real = chunked_thin._sweep_chunk
    monkeypatch.setattr(chunked_thin, "_sweep_chunk", lambda *args: calls.append(args[2]) or real(*args))
    mask = blobs((24, 150, 170), 4, sigma=2.0)
    src = zarr.create_array(store={}, shape=mask.shape, chunks=(24, 37, 43), dtype=bool)
    src[:] = mask
    out = chunked_thin.thin_store(src, tmp_path / "work", labels=False, progress=lambda d, t: passes.append(d))
    np.testing.assert_array_equal(np.asarray(out[...]) != 0, skeletonize(mask, "topological", spurs="keep"))
    # a thick disc at one end of a long strip of thin lines: the far chunks stop being swept after a pass
    wide = np.zeros((64, 1500), bool)
    yy, xx = np.ogrid[:64, :1500]
    wide |= (yy - 32) ** 2 + (xx - 60) ** 2 <= 28 ** 2
    wide[10, 100:1490] = wide[50, 100:1490] = wide[10:51, 1489] = True
    src_w = zarr.create_array(store={}, shape=wide.shape, chunks=(64, 64), dtype=bool)
    src_w[:] = wide
    calls.clear()
    out = chunked_thin.thin_store(src_w, tmp_path / "wide", labels=False, progress=lambda d, t: passes.append(d))
    np.testing.assert_array_equal(np.asarray(out[...]) != 0, skeletonize(wide, "topological", spurs="keep"))
    sweeps = passes[-1] + 1
    assert sweeps >= 5 and len(calls) < 0.5 * sweeps * 24  # 24 chunks; unchanged neighbourhoods are skipped
    labels = (ndi.label(mask)[0] * 5).astype(np.uint32)
    lab_src = zarr.create_array(store={}, shape=labels.shape, chunks=(24, 64, 64), dtype=np.uint32)
    lab_src[:] = labels
    out = chunked_thin.thin_store(lab_src, tmp_path / "work2", labels=True)
    np.testing.assert_array_equal(np.asarray(out[...]), skeletonize(labels, "topological", spurs="keep"))
    img = ndi.gaussian_filter(np.random.default_rng(2).random((200, 230)), 3) > 0.5
    src2 = zarr.create_array(store={}, shape=img.shape, chunks=(31, 33), dtype=bool)
    src2[:] = img
    out = chunked_thin.thin_store(src2, tmp_path / "work3", labels=False)
    np.testing.assert_array_equal(np.asarray(out[...]) != 0, skeletonize(img, "topological", spurs="keep"))


def test_cli_streaming_never_replaces_an_unrelated_directory(tmp_path, capsys):
    from napari_soft_skeleton.cli import main
    from napari_soft_skeleton.io import write_volume

    write_volume(tmp_path / "in.zarr", volume(0, shape=(8, 20, 20))[1])
    (tmp_path / "out.zarr").mkdir()
    (tmp_path / "out.zarr" / "notes.txt").write_text("mine")
    assert main(["skeletonize", str(tmp_path / "in.zarr"), "-o", str(tmp_path / "out.zarr"), "--iterations", "2"]) != 0
    assert "is not a Zarr store" in capsys.readouterr().err
    assert (tmp_path / "out.zarr" / "notes.txt").read_text() == "mine"


# ---- spurs pruned from the sparse skeleton; the topological skeleton streamed -----------------------


def bumpy(shape, seed):
    """Blobs with one-voxel bumps on their surface: the thinning grows spurs into them."""
    mask = blobs(shape, seed, sigma=2.0)
    rng = np.random.default_rng(seed + 100)
    return mask | (ndi.binary_dilation(mask) & (rng.random(shape) < 0.08))


def test_pruned_topological_on_dask_equals_in_memory_bit_for_bit():
    mask = bumpy((30, 120, 130), 0)
    labels = ndi.label(mask)[0].astype(np.int32) * 7
    flat = bumpy((150, 170), 1)
    for data, chunks in ((mask, (30, 31, 37)), (mask, (9, 120, 1)), (labels, (13, 40, 130)), (flat, (31, 33))):
        expected = skeletonize(data, "topological")
        assert (expected != skeletonize(data, "topological", spurs="keep")).sum() > 10  # spurs were pruned
        got = skeletonize(da.from_array(data, chunks=chunks), "topological").compute()
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected, err_msg=f"chunks {chunks}")


def test_cli_streams_the_topological_skeleton_equal_to_in_memory(tmp_path, capsys):
    from napari_soft_skeleton.cli import main
    from napari_soft_skeleton.io import read_volume, write_volume

    mask = bumpy((40, 150, 140), 2)
    img = np.where(mask, 0.8, 0.1).astype(np.float32)
    labels = (ndi.label(mask)[0] * 3).astype(np.uint16)
    cases = [(mask, [], {}), (mask, ["--keep-spurs"], {"spurs": "keep"}), (img, ["--threshold", "0.5"], {}),
             (labels, [], {})]
    for i, (data, extra, kw) in enumerate(cases):
        src, out = tmp_path / f"in{i}.zarr", tmp_path / f"out{i}.zarr"
        write_volume(src, data, spacing=(2.0, 2.0, 2.0), unit="um")
        assert main(["skeletonize", str(src), "-o", str(out), "--method", "topological", "-q", *extra]) == 0
        got = read_volume(out)
        expected = skeletonize(data, "topological", threshold=0.5, **kw)
        np.testing.assert_array_equal(got.array, expected, err_msg=str(extra))
        assert got.array.dtype == expected.dtype and got.spacing == (2.0, 2.0, 2.0)
        assert not list(tmp_path.glob("*.partial"))
    printed = capsys.readouterr().out
    assert "spur voxels pruned" in printed and "spurs kept" in printed and "sweeps" in printed


def test_a_killed_topological_run_resumes_from_its_pass(tmp_path):
    import napari_soft_skeleton._chunked_thin as chunked_thin
    from napari_soft_skeleton._streaming import partial_path
    from napari_soft_skeleton._streaming_thin import thin_to_store
    from napari_soft_skeleton.io import read_volume, write_volume

    mask = bumpy((24, 200, 190), 3)
    src = tmp_path / "in.zarr"
    write_volume(src, mask)
    source = zarr.open_group(str(src), mode="r")["0"]
    out = tmp_path / "out.zarr"
    kw = dict(threshold=0.5, as_mask=True, labels=False, out_dtype=bool, spacing=None, unit=None,
              memory_limit=150e6)  # (task regions of 64 voxels: several per axis)
    passes = []

    def killer(done, total):
        passes.append(done)
        if len(passes) == 3:
            raise KeyboardInterrupt  # killed in the middle of the thinning

    with pytest.raises(KeyboardInterrupt):
        thin_to_store(source, str(src), out, spurs="prune", progress=killer, **kw)
    assert not out.exists() and partial_path(out).exists()
    with pytest.raises(InputErrorType, match="spurs was 'prune', now 'keep'"):
        thin_to_store(source, str(src), out, spurs="keep", **kw)
    state = chunked_thin.load_state(partial_path(out) / "work")
    assert state["sweeps"] >= 2
    swept = []
    real = chunked_thin._sweep_chunk
    chunked_thin._sweep_chunk = lambda *args: swept.append(1) or real(*args)
    try:
        stats = thin_to_store(source, str(src), out, spurs="prune", **kw)
    finally:
        chunked_thin._sweep_chunk = real
    assert stats["sweeps"] > state["sweeps"] and stats["pruned"] > 0
    np.testing.assert_array_equal(read_volume(out).array, skeletonize(mask, "topological"))
    assert not partial_path(out).exists()
    # the resumed run swept fewer regions than a run from the start
    swept_all = []
    chunked_thin._sweep_chunk = lambda *args: swept_all.append(1) or real(*args)
    try:
        thin_to_store(source, str(src), tmp_path / "again.zarr", spurs="prune", **kw)
    finally:
        chunked_thin._sweep_chunk = real
    assert len(swept) < len(swept_all)


def test_task_regions_follow_the_memory_limit():
    from napari_soft_skeleton._streaming_thin import task_shape
    from napari_soft_skeleton.cli._common import memory_type

    assert task_shape((512, 1024, 1024), 1) == (256, 256, 256)
    assert task_shape((512, 1024, 1024), 4) == (128, 128, 128)
    assert task_shape((512, 1024, 1024), 1, memory_limit=150e6, threads=2) == (64, 64, 64)
    assert task_shape((9, 1024, 1024), 1) == (10, 256, 256)
    assert memory_type("2GB") == 2 * 10**9 and memory_type("1.5GiB") == int(1.5 * 2**30)
    for bad in ("lots", "2XB", "10MB"):
        with pytest.raises(Exception, match="invalid size"):
            memory_type(bad)


@pytest.mark.parametrize("spacing", [(3.0, 1.0, 1.0), (1.0, 2.0, 2.0)])
def test_topological_in_physical_space_on_chunks_equals_in_memory(tmp_path, spacing):
    # the gate (exact chunked depths, the region grown until no depth exceeds its radius) and the pruning
    from napari_soft_skeleton.cli import main
    from napari_soft_skeleton.io import read_volume, write_volume

    mask = bumpy((30, 90, 100), 4)
    labels = ndi.label(mask)[0].astype(np.uint16)
    for data in (mask, labels):
        expected = skeletonize(data, "topological", spacing=spacing)
        assert (expected != skeletonize(data, "topological")).any()  # the spacing matters here
        got = skeletonize(da.from_array(data, chunks=(17, 31, 40)), "topological", spacing=spacing).compute()
        np.testing.assert_array_equal(got, expected)
    src, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    write_volume(src, mask, spacing=spacing, unit="um")
    assert main(["skeletonize", str(src), "-o", str(out), "--method", "topological", "-q",
                 "--memory-limit", "150MB"]) == 0  # (task regions of 64 voxels)
    np.testing.assert_array_equal(read_volume(out).array, skeletonize(mask, "topological", spacing=spacing))


def test_topological_with_fill_holes_on_chunks_equals_in_memory(tmp_path):
    from napari_soft_skeleton.cli import main
    from napari_soft_skeleton.io import read_volume, write_volume

    mask = bumpy((30, 80, 90), 5)
    zz, yy, xx = np.ogrid[:30, :80, :90]
    ball = (zz - 15) ** 2 + (yy - 40) ** 2 + (xx - 45) ** 2
    mask |= (ball <= 12 ** 2)
    mask &= ~(ball <= 6 ** 2)  # a hollow ball: a cavity that fill_holes fills
    expected = skeletonize(mask, "topological", fill_holes=True)
    assert (expected != skeletonize(mask, "topological")).any()
    got = skeletonize(da.from_array(mask, chunks=(13, 31, 40)), "topological", fill_holes=True).compute()
    np.testing.assert_array_equal(got, expected)
    src, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    write_volume(src, mask)
    assert main(["skeletonize", str(src), "-o", str(out), "--method", "topological", "--fill-holes", "-q",
                 "--memory-limit", "150MB"]) == 0
    np.testing.assert_array_equal(read_volume(out).array, expected)


def test_lee_on_a_lazy_array_loads_it_up_to_a_size_and_refuses_above(monkeypatch):
    import napari_soft_skeleton._chunked as chunked

    mask = bumpy((20, 40, 44), 6)
    got = skeletonize(da.from_array(mask, chunks=(10, 20, 22)), "lee")
    assert isinstance(got, da.Array)
    np.testing.assert_array_equal(got.compute(), skeletonize(mask, "lee"))
    monkeypatch.setattr(chunked, "LOADED_UP_TO", 1000)
    with pytest.raises(ValueError, match="cannot be chunked exactly .* more than the 1,000") as err:
        skeletonize(da.from_array(mask, chunks=10), "lee")
    assert "\n" not in str(err.value)


def test_soft_with_fill_holes_on_chunks_equals_in_memory():
    mask = blobs((24, 40, 44), 7, sigma=2.0)
    mask[6:18, 10:30, 10:34] = True
    mask[9:15, 15:25, 15:29] = False  # a cavity
    labels = ndi.label(mask)[0].astype(np.uint16)
    for data in (mask, labels):
        for k in (3, "auto"):
            expected = skeletonize(data, "soft", iterations=k, fill_holes=True)
            assert (expected != skeletonize(data, "soft", iterations=k)).any()
            got = skeletonize(da.from_array(data, chunks=(7, 11, 13)), "soft", iterations=k, fill_holes=True)
            np.testing.assert_array_equal(got.compute(), expected)
    with pytest.raises(ValueError, match="needs a mask or label image"):
        skeletonize(da.from_array(mask.astype(np.float32), chunks=8), "soft", iterations=2, fill_holes=True)


def test_cli_streams_pyramids_zarr_v3_fill_holes_and_recomputes_a_damaged_chunk(tmp_path, capsys):
    import zarr as zarr_

    from napari_soft_skeleton._streaming import partial_path
    from napari_soft_skeleton.cli import main
    from napari_soft_skeleton.io import read_volume, write_volume

    mask = blobs((40, 300, 300), 8, sigma=3.0)
    mask[10:30, 100:200, 100:200] = True
    mask[15:25, 130:170, 130:170] = False  # a cavity
    src = tmp_path / "in.zarr"
    write_volume(src, mask, spacing=(1.0, 1.0, 1.0), unit="um")
    for method, extra in (("soft", ["--iterations", "3"]), ("topological", [])):
        out = tmp_path / f"{method}.zarr"
        assert main(["skeletonize", str(src), "-o", str(out), "--method", method, "--fill-holes", "--zarr-format",
                     "3", "-q", *extra]) == 0
        expected = skeletonize(mask, method, fill_holes=True, **({"iterations": 3} if extra else {}))
        got = read_volume(out)
        np.testing.assert_array_equal(got.array, expected)
        root = zarr_.open_group(str(out), mode="r")
        assert root.metadata.zarr_format == 3
        datasets = root.attrs["ome"]["multiscales"][0]["datasets"]
        assert len(datasets) == 2 and root["1"].shape == (20, 150, 150)  # (300 > 256: one coarser level)
        np.testing.assert_array_equal(root["1"][:], expected.reshape(20, 2, 150, 2, 150, 2).max(axis=(1, 3, 5)))
    # a resumed run recomputes a chunk marked done that no longer reads back
    out = tmp_path / "again.zarr"

    def killer(done, total):
        if done >= 2:
            raise KeyboardInterrupt

    from napari_soft_skeleton._streaming import skeletonize_store

    source = zarr_.open_group(str(src), mode="r")["0"]
    kw = dict(iterations=2, threshold=0.5, per_slice=False, device="cpu", as_mask=True, rescale=None,
              out_dtype=bool, spacing=None, unit=None, levels=0)
    with pytest.raises(KeyboardInterrupt):
        skeletonize_store(source, str(src), out, progress=killer, **kw)
    partial = partial_path(out)
    marked = sorted(p.name for p in (partial / ".done").iterdir())
    assert marked
    start = [int(v) for v in marked[0].split(".")]
    key = "/".join(str(v // c) for v, c in zip(start, source.chunks))
    chunk = next(p for p in (partial / "0").rglob("*") if p.is_file() and p.relative_to(partial / "0").as_posix()
                 .replace(".", "/").endswith(key))
    chunk.write_bytes(b"damaged")
    skeletonize_store(source, str(src), out, **kw)
    np.testing.assert_array_equal(read_volume(out).array, skeletonize(mask, "soft", iterations=2))
