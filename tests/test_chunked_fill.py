"""``fill_holes`` chunk by chunk (``_chunked_fill.py``): bit for bit the in-memory ``_fill.fill_holes``."""

from __future__ import annotations

import json

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi

from napari_soft_skeleton._chunked_fill import STATE_FILE, fill_dask, fill_store
from napari_soft_skeleton._fill import fill_holes


def reference(vol: np.ndarray, labels: bool):
    filled, absorbed = fill_holes(vol if labels else vol.astype(bool))
    return np.asarray(filled).astype(vol.dtype), absorbed


def both(vol: np.ndarray, chunks, tmp_path, labels: bool, name: str = "w"):
    """The chunked fill by both entry points, checked equal to the in-memory one; returns the reference."""
    ref, absorbed = reference(vol, labels)
    lazy, got = fill_dask(da.from_array(vol, chunks=chunks))
    out = lazy.compute()
    assert out.dtype == vol.dtype and got == absorbed
    np.testing.assert_array_equal(out, ref)
    store, got = fill_store(lambda region: vol[region], vol.shape, chunks, tmp_path / name, labels=labels)
    assert store.dtype == vol.dtype and tuple(store.chunks) == tuple(chunks) and got == absorbed
    np.testing.assert_array_equal(store[...], ref)
    return ref, absorbed


def blobs(seed: int, shape, sigma=1.2, level=0.55):
    rng = np.random.default_rng(seed)
    img = ndi.gaussian_filter(rng.random(shape), sigma)
    return img > np.quantile(img, level)


def shell(shape, centre, r_out, r_in):
    grid = np.indices(shape)
    d = np.sqrt(sum((g - c) ** 2 for g, c in zip(grid, centre)))
    return (d <= r_out) & (d > r_in)


def test_random_masks_with_cavities_3d(tmp_path):
    shape = (40, 44, 45)
    ball = shell(shape, (20, 22, 22), 9, -1)
    for seed, chunks in enumerate([(31, 37, 41), (1, 44, 45), (40, 1, 45), (13, 15, 11)]):
        mask = blobs(seed, shape, level=0.45) | shell(shape, (20, 22, 22), 12, 9)
        ref, absorbed = both(mask.astype(np.uint8), chunks, tmp_path, labels=False, name=f"m{seed}")
        assert absorbed == [] and ref[ball].all()  # (the shell's cavity, at least)
        assert np.count_nonzero(ref & ~mask & ~ball) > 0  # (and cavities of the blobs)


def test_random_masks_with_holes_2d(tmp_path):
    for seed, chunks in enumerate([(31, 37), (1, 64), (60, 1), (7, 11)]):
        mask = blobs(seed, (60, 64), sigma=1.0, level=0.4)
        ref, _ = both(mask.astype(np.uint8), chunks, tmp_path, labels=False, name=f"h{seed}")
        assert np.count_nonzero(ref != mask) > 0


def test_random_small_volumes_and_labels(tmp_path):
    """Random tiny masks and label images with random chunks (labels nested, interleaved, absorbed)."""
    rng = np.random.default_rng(7)
    absorbed_any = 0
    for case in range(16):
        shape = tuple(int(s) for s in rng.integers(3, 12, 3 if case % 2 else 2))
        chunks = tuple(int(rng.integers(max(1, s // 3), s + 1)) for s in shape)
        if case % 4 == 0:
            vol, labels = (rng.random(shape) < rng.uniform(0.3, 0.7)).astype(np.uint8), False
        else:
            vol = rng.integers(1, int(rng.integers(2, 6)), shape).astype(np.uint16)
            vol[rng.random(shape) < 0.35] = 0
            if case % 4 == 1:  # a voxel of label 9 wrapped in label 8, somewhere (across chunk faces, maybe)
                at = tuple(int(rng.integers(0, s - 2)) for s in shape)
                vol[tuple(slice(a, a + 3) for a in at)] = 8
                vol[tuple(a + 1 for a in at)] = 9
            labels = True
        _, absorbed = both(vol, chunks, tmp_path, labels, name=f"r{case}")
        absorbed_any += len(absorbed)
    assert absorbed_any >= 4


def test_label_image_nested_and_absorbed(tmp_path):
    shape = (38, 42, 44)
    vol = np.zeros(shape, np.uint32)
    vol[shell(shape, (19, 21, 22), 16, 12)] = 7  # a big hollow ball ...
    vol[shell(shape, (19, 21, 22), 8, 5)] = 3  # ... holding a smaller hollow ball ...
    vol[19, 21, 22] = 9  # ... holding a voxel of label 9
    vol[2:6, 2:6, 30:40] = 5  # a bar outside, and random blobs of other labels
    blob = ndi.label(blobs(3, shape, level=0.8))[0].astype(np.uint32)
    vol[(vol == 0) & (blob > 0)] = blob[(vol == 0) & (blob > 0)] + 20
    ref, absorbed = both(vol, (31, 37, 41), tmp_path, labels=True)
    assert 3 in absorbed and 9 in absorbed and 5 not in absorbed and 7 not in absorbed
    assert ref[19, 21, 22] == 7 and ref[5, 3, 35] == 5
    both(vol, (38, 1, 44), tmp_path, labels=True, name="thin")
    big = np.where(vol > 0, vol.astype(np.uint64) + np.uint64(2**63), np.uint64(0))  # (ids beyond int64)
    _, absorbed = both(big, (31, 37, 41), tmp_path, labels=True, name="big")
    assert 2**63 + 9 in absorbed and 2**63 + 7 not in absorbed


def test_cavity_spanning_many_chunks(tmp_path):
    shape = (30, 34, 36)
    mask = shell(shape, (15, 17, 18), 14, 11).astype(np.uint8)
    ref, _ = both(mask, (10, 9, 12), tmp_path, labels=False)
    assert ref[15, 17, 18] == 1 and np.count_nonzero(ref) > np.count_nonzero(mask) + 4000


def serpentine(size: int, closed: bool) -> np.ndarray:
    """A solid 3-D block with a background tunnel winding from its centre to its border through many chunks
    (``closed``: one voxel of the tunnel's mouth filled, so the whole tunnel is a cavity)."""
    n = size
    mask = np.ones((7, n, n), np.uint8)
    y, x = 1, 1
    path = [(y, x)]
    for row in range(1, n - 1, 4):  # back and forth along x, stepping down y by 4
        xs = range(1, n - 1) if (row // 4) % 2 == 0 else range(n - 2, 0, -1)
        path += [(row, x) for x in xs]
        path += [(row + k, xs[-1]) for k in range(1, 5) if row + k < n - 1]
    for y, x in path:
        mask[3, y, x] = 0
    mask[3, 0, 1] = 0 if not closed else 1  # the mouth on the border, next to the path's start (1, 1)
    return mask


@pytest.mark.parametrize("closed", [False, True])
def test_background_reaching_the_border_through_a_winding_path(tmp_path, closed):
    mask = serpentine(41, closed)
    tunnel = mask == 0
    ref, _ = both(mask, (7, 8, 10), tmp_path, labels=False)
    assert np.count_nonzero(tunnel) > 300
    if closed:
        assert ref.all()
    else:
        np.testing.assert_array_equal(ref, mask)  # nothing enclosed: the tunnel reaches the outside
    labels = mask.astype(np.uint16) * 4
    labels[:, :20] = np.where(labels[:, :20] > 0, 6, 0)  # two labels around the tunnel
    both(labels, (7, 14, 9), tmp_path, labels=True, name="lab")


def test_nothing_enclosed_returns_the_dask_array_itself(tmp_path):
    vol = np.zeros((10, 12, 9), np.uint8)
    vol[2:5, 3:7, 1:4] = 1
    arr = da.from_array(vol, chunks=(3, 4, 5))
    out, absorbed = fill_dask(arr)
    assert out is arr and absorbed == []
    store, _ = fill_store(lambda r: vol[r], vol.shape, (3, 4, 5), tmp_path / "s", labels=False)
    np.testing.assert_array_equal(store[...], vol)


def test_resumes_from_the_saved_merge(tmp_path):
    vol = shell((20, 22, 24), (10, 11, 12), 9, 6).astype(np.uint8)
    ref, _ = reference(vol, labels=False)
    calls = []

    def read(region):
        calls.append(region)
        return vol[region]

    fill_store(read, vol.shape, (7, 8, 9), tmp_path, labels=False)
    first = len(calls)
    state = json.loads((tmp_path / STATE_FILE).read_text())
    assert state["phase"] == "done"
    calls.clear()
    again, _ = fill_store(read, vol.shape, (7, 8, 9), tmp_path, labels=False)  # done: nothing read
    assert calls == [] and np.array_equal(again[...], ref)
    (tmp_path / STATE_FILE).write_text(json.dumps({**state, "phase": "write"}))  # killed while writing
    again, _ = fill_store(read, vol.shape, (7, 8, 9), tmp_path, labels=False)
    assert 0 < len(calls) < first and np.array_equal(again[...], ref)  # the chunks only, not the merge
    calls.clear()
    other, _ = fill_store(read, vol.shape, (5, 8, 9), tmp_path, labels=False)  # other chunks: from scratch
    assert len(calls) > 0 and np.array_equal(other[...], ref)


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="integer label image"):
        fill_dask(da.zeros((4, 5, 6), chunks=2, dtype=np.float32))
    neg = np.zeros((4, 5, 6), np.int16)
    neg[1, 1, 1] = -3
    with pytest.raises(ValueError, match="non-negative"):
        fill_store(lambda r: neg[r], neg.shape, (2, 5, 6), tmp_path, labels=True)
    with pytest.raises(ValueError, match="2D or 3D"):
        fill_dask(da.zeros((2, 3, 4, 5), chunks=2, dtype=np.uint8))
    with pytest.raises(ValueError, match="positive lengths"):
        fill_store(lambda r: neg[r], neg.shape, (2, 0, 6), tmp_path, labels=True)


def test_equal_sized_labels_fill_in_the_in_memory_order(tmp_path):
    """Two labels of 7 voxels whose fill depends on which goes first (the larger id): the same tie-break."""
    vol = np.array([[2, 1, 0, 0], [2, 2, 0, 0], [1, 1, 1, 0], [1, 2, 0, 1], [2, 1, 2, 1], [2, 2, 1, 2]], np.uint8)
    swapped = np.choose(vol, [0, 2, 1]).astype(np.uint8)
    assert not np.array_equal(np.choose(reference(swapped, True)[0], [0, 2, 1]), reference(vol, True)[0])
    for k, chunks in enumerate([(2, 2), (1, 4), (6, 1), (4, 3)]):
        both(vol, chunks, tmp_path, labels=True, name=f"t{k}")
        both(swapped, chunks, tmp_path, labels=True, name=f"s{k}")
