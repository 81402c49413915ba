"""The compiled topological peeling (numba) and label ids of any size.

* The compiled peeling (``napari_soft_skeleton._peel_numba``, the default
  where numba imports) must give the NumPy peeling's skeleton
  (``topological._peel``, the fallback) voxel for voxel — on thick solids,
  noise, labels, slice stacks and part-way (``max_sweeps``) — and its
  simple-point test must be the NumPy one.
* Label ids are the caller's, exactly, whatever their type and size, with or
  without background, for every method and on the GPU path; a big-id image
  thins like its 1..n version; the topological path never renumbers
  (no ``np.unique`` / fastremap pass over the volume).
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch

from napari_soft_skeleton import skeletonize
from napari_soft_skeleton import topological as topo
from napari_soft_skeleton.topological import (
    is_simple,
    topological_skeleton_labels,
    topological_skeleton_mask,
    topological_skeleton_slices,
)


def _both(monkeypatch, fn, *args, **kwargs):
    """``fn(*args)`` with the NumPy peeling, then with the compiled one."""
    monkeypatch.setattr(topo, "_ENGINE", "numpy")
    reference = fn(*args, **kwargs)
    monkeypatch.setattr(topo, "_ENGINE", "compiled")
    return reference, fn(*args, **kwargs)


def _ball(n, r):
    z, y, x = np.indices((n, n, n)) - (n - 1) / 2
    return z**2 + y**2 + x**2 <= r**2


def _blobs(shape, seed, sigma=2.0, level=0.5):
    return ndi.gaussian_filter(np.random.default_rng(seed).random(shape), sigma) > level


def _labels(shape, seed):
    """Touching labels 1..n (a blob image cut into pieces along a plane), uint16."""
    labels, n = ndi.label(_blobs(shape, seed, 2.0, 0.53))
    labels = np.where((labels > 0) & (np.indices(shape)[-1] % 7 < 3), labels + n, labels)
    return labels.astype(np.uint16)


MASKS = {
    "cube": lambda: np.pad(np.ones((22, 22, 22), bool), 2),
    "ball": lambda: _ball(28, 12.5),
    "noise_50": lambda: np.random.default_rng(0).random((20, 22, 24)) < 0.5,
    "noise_70": lambda: np.random.default_rng(1).random((20, 22, 24)) < 0.7,
    "blobs_3d": lambda: _blobs((30, 34, 36), 2, 2.0, 0.5),
    "plate_with_holes": lambda: np.pad(np.ones((4, 30, 30), bool), 1) & ~_blobs((6, 32, 32), 3, 1.5, 0.56),
    "noise_2d": lambda: np.random.default_rng(2).random((60, 70)) < 0.6,
    "blobs_2d": lambda: _blobs((80, 90), 4, 2.5, 0.5),
}


def test_which_peeling_runs(monkeypatch):
    import sys

    small, big = np.zeros(topo._COMPILED_FROM, bool), np.ones(topo._COMPILED_FROM, bool)
    small[: topo._COMPILED_FROM - 1] = True
    assert topo._compiled_peel(small) is not None  # numba is a dependency and loaded: it runs
    monkeypatch.delitem(sys.modules, "numba")  # a process that has not loaded numba yet:
    assert topo._compiled_peel(small) is None  # small jobs skip its one-off cost
    assert topo._compiled_peel(big) is not None
    monkeypatch.setattr(topo, "_ENGINE", "numpy")
    assert topo._compiled_peel(big) is None
    monkeypatch.setattr(topo, "_ENGINE", "compiled")
    assert topo._compiled_peel(small[:1]) is not None


@pytest.mark.parametrize("name", sorted(MASKS))
def test_compiled_peeling_equals_numpy_peeling(monkeypatch, name):
    mask = MASKS[name]()
    reference, got = _both(monkeypatch, topological_skeleton_mask, mask)
    assert reference.any() and reference.sum() < mask.sum()  # (something was thinned and something kept)
    np.testing.assert_array_equal(got, reference)
    for sweeps in (1, 2):  # part-way too: the same voxels go in the same sweep
        reference, got = _both(monkeypatch, topological_skeleton_mask, mask, max_sweeps=sweeps)
        np.testing.assert_array_equal(got, reference, err_msg=f"after {sweeps} sweeps")


def test_compiled_peeling_equals_numpy_on_labels_and_slices(monkeypatch):
    labels = _labels((24, 40, 44), 5)
    assert len(np.unique(labels)) > 20
    for data in (labels, labels.astype(np.uint8), labels.astype(np.int64) * (2**50 + 3)):
        reference, got = _both(monkeypatch, topological_skeleton_labels, data)
        assert got.dtype == data.dtype
        np.testing.assert_array_equal(got, reference)
    for data in (labels, labels > 0):
        reference, got = _both(monkeypatch, topological_skeleton_slices, data)
        np.testing.assert_array_equal(got, reference)


def test_compiled_simple_point_test_equals_numpy():
    from napari_soft_skeleton import _peel_numba

    rng = np.random.default_rng(0)
    density = rng.random((20_000, 1))
    bits = rng.random((20_000, 26)) < density  # sparse to dense neighbourhoods
    codes = (bits.astype(np.int64) << np.arange(26)).sum(1)
    expected = is_simple(codes.astype(np.uint32), 3)
    assert 0.05 < expected.mean() < 0.95
    memo = np.zeros(1 << 6, np.int64)  # tiny: many collisions in the cache of past answers
    for _ in range(2):  # the second time mostly from the cache
        got = np.array([_peel_numba._simple(int(c), 3, memo) for c in codes])
        np.testing.assert_array_equal(got, expected)
    all_2d = np.arange(256)
    np.testing.assert_array_equal([_peel_numba._simple(int(c), 2, memo) for c in all_2d],
                                  is_simple(all_2d.astype(np.uint32), 2))


def test_progress_and_cancel_in_the_compiled_peeling(monkeypatch):
    monkeypatch.setattr(topo, "_ENGINE", "compiled")
    mask = MASKS["cube"]()
    calls = []
    topological_skeleton_mask(mask, progress=lambda done, total: calls.append((done, total)))
    assert len(calls) >= 5 and calls == [(i, i + 1) for i in range(1, len(calls) + 1)]

    class Stop(Exception):
        pass

    def cancel(done, total):
        raise Stop

    with pytest.raises(Stop):
        topological_skeleton_mask(mask, progress=cancel)


# --------------------------------------------------------------------------
# label ids of any size
# --------------------------------------------------------------------------

#: (dtype, the ids given to labels 1..n): large ids at the top of each type's range
IDS = {
    "uint64_top": (np.uint64, lambda n: np.iinfo(np.uint64).max - np.arange(n, dtype=np.uint64) * 7919),
    "int64_large": (np.int64, lambda n: 2**62 + np.arange(n, dtype=np.int64) * 2**40),
    "uint32_large": (np.uint32, lambda n: np.iinfo(np.uint32).max - np.arange(n, dtype=np.uint32) * 3),
    "int32_top": (np.int32, lambda n: np.iinfo(np.int32).max - np.arange(n, dtype=np.int32)),
    "uint16_small": (np.uint16, lambda n: np.arange(1, n + 1, dtype=np.uint16) * 3),
}


def _relabel(small: np.ndarray, kind: str, background: bool):
    """``(base, big, lut)``: ``base`` is ``small`` (labels 1..n, 0 background) or, without
    background, ``small + 1`` (every voxel labelled); ``big == lut[base]`` carries the ids of
    ``IDS[kind]``, shuffled, and ``lut[0] == 0``."""
    dtype, make = IDS[kind]
    base = small if background else small + 1
    n = int(base.max())
    ids = make(n)[np.random.default_rng(n).permutation(n)]  # ids not in the labels' order
    lut = np.concatenate([np.zeros(1, dtype), ids]).astype(dtype)
    return base, lut[base], lut


@pytest.mark.parametrize("background", [True, False], ids=["with_background", "no_background"])
@pytest.mark.parametrize("kind", sorted(IDS))
def test_ids_are_the_callers_and_big_ids_thin_like_small(kind, background):
    small = _labels((16, 30, 34), 7).astype(np.int64)
    base, big, lut = _relabel(small, kind, background)
    assert big.dtype == IDS[kind][0] and (big != 0).all() == (not background)
    for per_slice in (False, True):
        out = skeletonize(big, "topological", per_slice=per_slice, device="cpu")
        assert out.dtype == big.dtype and out.shape == big.shape
        on = out != 0
        np.testing.assert_array_equal(out[on], big[on])  # the caller's ids, where they were
        assert set(np.unique(out[on])) == set(np.unique(big[big != 0]))  # every label kept
        # the same skeleton as the 1..n image, up to the ids
        np.testing.assert_array_equal(out, lut[skeletonize(base, "topological", per_slice=per_slice, device="cpu")])


@pytest.mark.filterwarnings("ignore:scikit-image's:UserWarning")  # (Lee drops small labels: tested elsewhere)
@pytest.mark.parametrize("method", ["lee", "soft"])
@pytest.mark.parametrize("kind", ["uint64_top", "int64_large", "uint32_large"])
def test_other_methods_keep_big_ids(method, kind):
    small = _labels((12, 26, 28), 8).astype(np.int64)
    base, big, lut = _relabel(small, kind, True)
    out = skeletonize(big, method)
    assert out.dtype == big.dtype
    np.testing.assert_array_equal(out, lut[skeletonize(base, method)])
    assert out.any()


def test_topological_labels_are_never_renumbered(monkeypatch):
    small = _labels((12, 24, 26), 9).astype(np.int64)
    _, big, lut = _relabel(small, "uint64_top", True)
    expected = lut[skeletonize(small, "topological", device="cpu")]
    import fastremap

    def forbidden(*args, **kwargs):
        raise AssertionError("a pass over the volume to renumber the ids")

    monkeypatch.setattr(np, "unique", forbidden)
    monkeypatch.setattr(fastremap, "renumber", forbidden)
    np.testing.assert_array_equal(skeletonize(big, "topological", device="cpu"), expected)
    np.testing.assert_array_equal(skeletonize(big, "topological", per_slice=True, device="cpu"),
                                  lut[skeletonize(small, "topological", per_slice=True, device="cpu")])


def test_gpu_path_renumbers_ids_beyond_int32_and_maps_them_back(monkeypatch):
    module = importlib.import_module("napari_soft_skeleton._front_thin")  # (the thinning dispatch)
    small = _labels((12, 24, 26), 10).astype(np.int64)
    expected = {}
    for kind in ("uint64_top", "int32_top"):
        _, big, lut = _relabel(small, kind, True)
        expected[kind] = (big, lut[skeletonize(small, "topological", device="cpu")])

    class FakeDevice:
        type = "cuda"

    seen = []
    real = module._thin_on_device

    def on_device(batch, dev, labels=False, progress=None, spacing=None):
        seen.append((batch.dtype, int(batch.max())))
        return real(batch, torch.device("cpu"), labels, progress, spacing)

    monkeypatch.setattr(module, "resolve_device", lambda device: FakeDevice())
    monkeypatch.setattr(module, "_thin_on_device", on_device)
    for kind, (big, want) in expected.items():
        got = skeletonize(big, "topological")
        assert got.dtype == big.dtype
        np.testing.assert_array_equal(got, want)
    n = len(np.unique(small)) - 1
    ids_32 = expected["int32_top"][0]
    assert seen == [(np.dtype(np.int32), n), (np.dtype(np.int32), int(ids_32.max()))]  # renumbered; as they are
    assert ids_32.max() > 2**31 - 30
