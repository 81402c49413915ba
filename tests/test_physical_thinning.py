"""The topological thinning in physical space (``spacing=`` on anisotropic voxels): the depth gate
(:mod:`napari_soft_skeleton._depth`), its sparse transform, and what it does to skeletons."""

from __future__ import annotations

import math

import edt
import numpy as np
import pytest
import scipy.ndimage as ndi
import torch

import napari_soft_skeleton._depth as depth_mod
import napari_soft_skeleton.topological as topo
from napari_soft_skeleton import compare, skeleton_graph, skeletonize
from napari_soft_skeleton._depth import physical_gate
from napari_soft_skeleton._depth_sparse import nonzero, sparse_depth
from napari_soft_skeleton._torch_peel import _thin_torch
from test_topological import assert_topological_skeleton

rng = np.random.default_rng(2026)


def blobs(shape, sigma=2.0, level=0.5, seed=0) -> np.ndarray:
    r = np.random.default_rng(seed)
    return ndi.gaussian_filter(r.random(shape), sigma) > level


def padded(values: np.ndarray, batch: bool = False) -> np.ndarray:
    pad = [(0, 0)] * batch + [(1, 1)] * (values.ndim - batch)
    return np.pad(values, pad)


def voronoi_labels(shape, n, seed=0) -> np.ndarray:
    r = np.random.default_rng(seed)
    seeds = np.zeros(shape, np.uint32)
    seeds[tuple(r.integers(0, shape, (n, len(shape))).T)] = np.arange(1, n + 1)
    _, ind = ndi.distance_transform_edt(seeds == 0, return_indices=True)
    labels = seeds[tuple(ind)]
    labels[r.random(shape) < 0.05] = 0
    return labels


# ---- the sparse transform is the exact EDT -------------------------------------------------------


@pytest.mark.parametrize("spacing", [(3.0, 1.0, 0.7), (1.0, 1.0, 1.0), (0.5, 2.0, 1.0)])
def test_sparse_depth_equals_edt_on_masks_and_labels(spacing):
    for values in (blobs((22, 40, 35)).astype(np.uint8), voronoi_labels((20, 30, 33), 40)):
        p = padded(values)
        idx, depth = sparse_depth(p, spacing)
        np.testing.assert_array_equal(idx, np.flatnonzero(p))
        expected = edt.edt(p, anisotropy=spacing, black_border=True).reshape(-1)[idx]
        np.testing.assert_allclose(depth, expected, rtol=1e-6)


def test_sparse_depth_of_a_stack_of_2d_images_and_of_2d():
    stack = padded(blobs((5, 40, 35)).astype(np.uint8), batch=True)
    idx, depth = sparse_depth(stack, (2.0, 1.0), batch=True)
    full = np.stack([edt.edt(im, anisotropy=(2.0, 1.0), black_border=True) for im in stack]).reshape(-1)
    np.testing.assert_allclose(depth, full[idx], rtol=1e-6)
    flat2d = padded(blobs((50, 41)).astype(np.uint8))
    idx, depth = sparse_depth(flat2d, (1.0, 4.0))
    np.testing.assert_allclose(depth, edt.edt(flat2d, anisotropy=(1.0, 4.0), black_border=True).reshape(-1)[idx],
                               rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint32, np.uint64])
def test_nonzero_matches_numpy(dtype):
    flat = (rng.random(10_007) < 0.01).astype(dtype) * 3
    np.testing.assert_array_equal(nonzero(flat), np.flatnonzero(flat))


def test_the_sparse_and_dense_gates_agree(monkeypatch):
    p = padded(blobs((30, 60, 60), sigma=4.0, level=0.5).astype(np.uint8))
    monkeypatch.setattr(depth_mod, "SPARSE_FROM", 0)
    monkeypatch.setattr(depth_mod, "SPARSE_BELOW", 1.0)
    sparse = physical_gate(p, (4.0, 1.0, 1.0))
    monkeypatch.setattr(depth_mod, "SPARSE_BELOW", 0.0)
    dense = physical_gate(p, (4.0, 1.0, 1.0))
    np.testing.assert_array_equal(sparse, dense)
    assert sparse.dtype == np.uint16 and sparse.max() > 3


def test_no_gate_on_isotropic_or_missing_spacing():
    p = padded(blobs((10, 20, 20)).astype(np.uint8))
    assert physical_gate(p, None) is None
    assert physical_gate(p, (2.0, 2.0, 2.0)) is None
    assert physical_gate(p, (1.0, 1.0, 1.0)) is None


# ---- the thinning ------------------------------------------------------------------------------------


def test_equal_spacings_give_the_grid_skeleton_bit_for_bit():
    mask = blobs((20, 40, 40))
    grid = skeletonize(mask, "topological")
    for spacing in ((1.0, 1.0, 1.0), (0.3, 0.3, 0.3)):
        np.testing.assert_array_equal(skeletonize(mask, "topological", spacing=spacing), grid)


@pytest.mark.parametrize("spacing", [(3.0, 1.0, 1.0), (1.0, 0.5, 0.7), (0.2, 1.0, 1.0)])
def test_every_engine_gives_the_same_anisotropic_skeleton(spacing, monkeypatch):
    mask = blobs((16, 30, 30), seed=5)
    labels = ndi.label(mask)[0].astype(np.int32)
    results = {}
    for engine in ("numpy", "compiled"):
        monkeypatch.setattr(topo, "_ENGINE", engine)
        results[engine] = (topo.topological_skeleton_mask(mask, spacing=spacing, spurs="keep"),
                           topo.topological_skeleton_labels(labels, spacing=spacing, spurs="keep"),
                           topo.topological_skeleton_slices(mask, spacing=spacing[1:], spurs="keep"))
    gpu_like = (_thin_torch(torch.from_numpy(mask)[None], spacing=spacing)[0].numpy(),
                _thin_torch(torch.from_numpy(labels)[None], labels=True, spacing=spacing)[0].numpy(),
                _thin_torch(torch.from_numpy(mask), spacing=spacing[1:]).numpy())
    for a, b, c in zip(results["numpy"], results["compiled"], gpu_like):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    grid = topo.topological_skeleton_mask(mask, spurs="keep")
    if max(spacing) / min(spacing) >= 2:
        assert (grid != results["numpy"][0]).any()  # the spacing changes something


@pytest.mark.parametrize("seed", range(3))
def test_topology_is_kept_on_anisotropic_voxels(seed):
    mask = blobs((18, 36, 36), seed=seed, level=0.52)
    for spacing in ((5.0, 1.0, 1.0), (1.0, 3.0, 1.0)):
        skel = skeletonize(mask, "topological", spacing=spacing)
        assert_topological_skeleton(mask, skel)


def test_labels_are_thinned_alone_with_spacing():
    labels = voronoi_labels((14, 30, 30), 12, seed=3).astype(np.uint16)
    spacing = (4.0, 1.0, 1.0)
    together = skeletonize(labels, "topological", spacing=spacing)
    for i in np.unique(labels)[1:]:
        alone = skeletonize(labels == i, "topological", spacing=spacing)
        np.testing.assert_array_equal(together == i, alone)


def tube(shape, spacing, axis_points, radius) -> np.ndarray:
    """Voxels (centres at index × spacing) within ``radius`` of the polyline ``axis_points`` (physical)."""
    grids = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing)], indexing="ij")
    pts = np.stack([g.ravel() for g in grids], axis=1)
    best = np.full(len(pts), np.inf)
    for a, b in zip(axis_points[:-1], axis_points[1:]):
        a, b = np.asarray(a, float), np.asarray(b, float)
        t = np.clip(((pts - a) @ (b - a)) / ((b - a) @ (b - a)), 0, 1)
        best = np.minimum(best, np.linalg.norm(pts - (a + t[:, None] * (b - a)), axis=1))
    return (best <= radius).reshape(shape)


def test_a_round_tube_on_coarse_z_is_centred_in_space_and_has_no_spurs():
    # a Y of round tubes (radius 7 µm) in a 4 × 1 × 1 µm grid, tilted through z
    spacing = (4.0, 1.0, 1.0)
    shape = (14, 70, 90)
    centre, ends = (26.0, 35.0, 45.0), [(14.0, 35.0, 8.0), (40.0, 8.0, 82.0), (36.0, 62.0, 82.0)]
    mask = np.zeros(shape, bool)
    lines = []
    for end in ends:
        mask |= tube(shape, spacing, [end, centre], 7.0)
        lines.append((end, centre))
    skel = skeletonize(mask, "topological", spacing=spacing)
    g = skeleton_graph(skel, spacing=spacing)
    assert int(g.summary["n_endpoints"].sum()) == 3 and int(g.summary["n_junctions"].sum()) == 1
    # every skeleton voxel within one z step of the true axes, in µm
    pts = np.argwhere(skel) * np.asarray(spacing)
    dist = np.full(len(pts), np.inf)
    for a, b in lines:
        a, b = np.asarray(a), np.asarray(b)
        t = np.clip(((pts - a) @ (b - a)) / ((b - a) @ (b - a)), 0, 1)
        dist = np.minimum(dist, np.linalg.norm(pts - (a + t[:, None] * (b - a)), axis=1))
    assert dist.max() <= spacing[0]
    true_length = sum(math.dist(a, b) for a, b in lines)
    assert abs(g.summary["length"].sum() - true_length) < 0.1 * true_length


def test_progress_and_part_way_thinning_with_spacing():
    mask = blobs((12, 30, 30))
    calls = []
    skel = topo.topological_skeleton_mask(mask, spacing=(3.0, 1.0, 1.0), progress=lambda d, t: calls.append(d))
    assert calls and calls == sorted(calls)
    part = topo.topological_skeleton_mask(mask, spacing=(3.0, 1.0, 1.0), max_sweeps=1)
    assert skel.sum() <= part.sum() <= mask.sum()


def test_a_tube_sinking_through_coarse_slices_is_skeletonized_on_its_axis():
    spacing = (5.0, 1.0, 1.0)
    shape = (12, 40, 120)
    axis = [(22.0, 20.0, 10.0), (33.0, 20.0, 110.0)]  # sinking 11 µm over 100 µm
    mask = tube(shape, spacing, axis, 8.0)
    truth = np.zeros(shape, bool)
    for x in range(10, 111):
        z = 22.0 + 11.0 * (x - 10) / 100
        truth[int(round(z / 5.0)), 20, x] = True
    ours = compare(truth, skeletonize(mask, "topological", spacing=spacing), spacing=spacing, tolerance=2.5)
    assert ours.precision >= 0.95
