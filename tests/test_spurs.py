"""The spur pruning of the topological skeleton (``spurs="prune"``, :mod:`napari_soft_skeleton._spurs`)."""

from __future__ import annotations

import importlib

import edt
import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
from scipy.spatial import cKDTree

from napari_soft_skeleton import betti_numbers, skeletonize
from napari_soft_skeleton import topological as topo
from napari_soft_skeleton._spurs import _Distances, prune_spurs
from napari_soft_skeleton.topological import (
    _thin_torch,
    topological_skeleton_labels,
    topological_skeleton_mask,
    topological_skeleton_slices,
)

ANISO = (2.5, 1.0, 1.0)


def end_points(skel) -> int:
    """Skeleton voxels with exactly one 26- (8-) neighbour."""
    s = np.asarray(skel) != 0
    n = ndi.convolve(s.astype(np.uint8), np.ones((3,) * s.ndim, np.uint8), mode="constant")
    return int(((n == 2) & s).sum())


def bumpy_tube(shape=(16, 40, 80), spacing=ANISO, radius=12.0, bumps=12, bump_radius=4.0, spines=(), seed=0):
    """A tube along x (rounded ends inside the image), balls on its surface (bumps) and thin spines with
    a head (``(x, angle, length beyond the surface)``), in physical units on an anisotropic grid (the
    tube flattened along z in voxels, as in EM); returns the mask and the heads' voxel coordinates."""
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape, dtype=float) * np.array(spacing)[:, None, None, None]
    cz, cy = (shape[0] - 1) * spacing[0] / 2, (shape[1] - 1) * spacing[1] / 2
    x0, x1 = radius + 2, (shape[2] - 1) * spacing[2] - radius - 2
    sdf = np.sqrt((z - cz) ** 2 + (y - cy) ** 2 + (x - np.clip(x, x0, x1)) ** 2) - radius
    for _ in range(bumps):
        a, px = rng.uniform(0, 2 * np.pi), rng.uniform(x0 + 3, x1 - 3)
        bz, by = cz + radius * np.sin(a), cy + radius * np.cos(a)
        sdf = np.minimum(sdf, np.sqrt((z - bz) ** 2 + (y - by) ** 2 + (x - px) ** 2) - bump_radius)
    heads = []
    for px, a, length in spines:
        dz, dy = np.sin(a), np.cos(a)
        s = np.clip((z - cz) * dz + (y - cy) * dy, 0, radius + length)
        sdf = np.minimum(sdf, np.sqrt((z - cz - s * dz) ** 2 + (y - cy - s * dy) ** 2 + (x - px) ** 2) - 1.5)
        hz, hy = cz + (radius + length) * dz, cy + (radius + length) * dy
        sdf = np.minimum(sdf, np.sqrt((z - hz) ** 2 + (y - hy) ** 2 + (x - px) ** 2) - 2.5)
        heads.append((hz / spacing[0], hy / spacing[1], px / spacing[2]))
    return sdf < 0, np.array(heads)


def bumpy_band_2d(shape=(40, 90), half=7.0, bumps=10, bump_radius=3.0, seed=0):
    """2-D: a band along x (rounded ends) with discs on its edges."""
    rng = np.random.default_rng(seed)
    y, x = np.indices(shape, dtype=float)
    cy, x0, x1 = (shape[0] - 1) / 2, half + 3, shape[1] - half - 4
    m = np.hypot(y - cy, x - np.clip(x, x0, x1)) <= half
    for _ in range(bumps):
        side, px = rng.choice([-1, 1]), rng.uniform(x0 + 3, x1 - 3)
        m |= np.hypot(y - cy - side * half, x - px) <= bump_radius
    return m


def with_bumps(mask, seed, count=10, radius=2.5):
    """``mask`` with balls (discs) centred on random voxels of its surface."""
    rng = np.random.default_rng(seed)
    surface = np.argwhere(mask & ~ndi.binary_erosion(mask))
    grid = np.indices(mask.shape, dtype=float)
    out = mask.copy()
    for c in surface[rng.choice(len(surface), count, replace=False)]:
        out |= sum((g - ci) ** 2 for g, ci in zip(grid, c)) <= radius ** 2
    return out


def torus(shape=(20, 44, 44), R=13.0, r=5.0):
    z, y, x = np.indices(shape, dtype=float) - (np.array(shape)[:, None, None, None] - 1) / 2
    return (np.hypot(y, x) - R) ** 2 + z ** 2 <= r ** 2


def hollow_ball(n=36, r_out=15.0, r_in=8.0):
    d = np.sqrt(sum(g ** 2 for g in np.indices((n,) * 3, dtype=float) - (n - 1) / 2))
    return (d <= r_out) & (d >= r_in)


def annulus(shape=(50, 50), r_in=9.0, r_out=18.0):
    d = np.sqrt(sum(g ** 2 for g in np.indices(shape, dtype=float) - (np.array(shape)[:, None, None] - 1) / 2))
    return (d <= r_out) & (d >= r_in)


def figure_eight_2d():
    return annulus((50, 80), 8, 16) | np.roll(annulus((50, 80), 8, 16), 28, axis=1)


# --------------------------------------------------------------------------------------------------
# topology


ADVERSARIAL = {
    "bumpy tube (aniso grid)": lambda: bumpy_tube(seed=3)[0],
    "torus with bumps": lambda: with_bumps(torus(), 0),
    "hollow ball with bumps (a cavity)": lambda: with_bumps(hollow_ball(), 1, count=14),
    "2-D ring with bumps": lambda: with_bumps(annulus(), 2, count=12, radius=3.0),
    "2-D figure eight with bumps": lambda: with_bumps(figure_eight_2d(), 3, count=14, radius=3.0),
    "2-D bumpy band": lambda: bumpy_band_2d(seed=1),
    "noise blobs 3-D": lambda: ndi.gaussian_filter(np.random.default_rng(4).random((30, 34, 36)), 2.0) > 0.5,
    "noise blobs 2-D": lambda: ndi.gaussian_filter(np.random.default_rng(5).random((80, 90)), 2.5) > 0.5,
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_pruning_keeps_the_betti_numbers(name):
    mask = ADVERSARIAL[name]()
    kept, pruned = topological_skeleton_mask(mask, spurs="keep"), topological_skeleton_mask(mask)
    assert betti_numbers(pruned) == betti_numbers(kept) == betti_numbers(mask)
    assert not (pruned & ~kept).any()  # only deletions
    assert end_points(pruned) <= end_points(kept)
    # one voxel thin still: every voxel left is an end point or not simple
    again = topological_skeleton_mask(pruned, spurs="keep")
    np.testing.assert_array_equal(again, pruned)


def test_something_is_pruned_on_the_adversarial_shapes():
    pruned = {name: end_points(topological_skeleton_mask(make(), spurs="keep"))
              - end_points(topological_skeleton_mask(make())) for name, make in ADVERSARIAL.items()}
    # (tips within their ball plus a voxel of a border their object reaches are kept: the 3-D noise blobs, cut
    # by the border, keep 2 more than before that rule)
    assert sum(pruned.values()) >= 8, pruned


def test_a_star_of_short_arms_becomes_a_line_never_a_point():
    # three short arms from the centre of a ball: all three are spurs of their junction
    # (p = L - (R_j - R_t) < R_j), but a junction keeps two branches
    ball = np.sqrt(sum(g ** 2 for g in np.indices((15, 15, 15), dtype=float) - 7)) <= 6
    star = np.zeros_like(ball)
    star[7, 7, 4:11] = True  # two arms along x
    star[7, 8:11, 7] = True  # one along y
    got = prune_spurs(star, ball)
    assert got.sum() >= 5 and end_points(got) == 2 and not (got & ~star).any()
    assert betti_numbers(got) == betti_numbers(star)
    # a line alone (tip to tip, a whole object) is never touched, however deep
    line = np.zeros_like(ball)
    line[7, 7, 5:10] = True
    np.testing.assert_array_equal(prune_spurs(line, ball), line)
    single = np.zeros_like(ball)
    single[7, 7, 7] = True
    np.testing.assert_array_equal(prune_spurs(single, ball), single)


def test_one_voxel_thin_objects_lose_nothing():
    # every branch of a one-voxel-thick tree protrudes >= R_j = 1
    tree = np.zeros((9, 30, 30), bool)
    tree[4, 15, 2:28] = True
    tree[4, 3:15, 10] = True
    tree[4, 16:18, 20] = True  # a two-voxel twig
    tree[4, 14, 24] = True  # a one-voxel twig
    kept = topological_skeleton_mask(tree, spurs="keep")
    assert end_points(kept) == 4  # (the thinning cuts the T's corners: the one-voxel twig is no tip)
    for spacing in (None, (1.0, 1.0, 1.0), (3.0, 1.0, 1.0)):
        np.testing.assert_array_equal(topological_skeleton_mask(tree, spacing=spacing), kept)


# --------------------------------------------------------------------------------------------------
# bumps go, branches stay


@pytest.mark.parametrize("seed", range(5))
def test_bumps_on_a_tube_are_pruned(seed):
    mask, _ = bumpy_tube(seed=seed)
    kept, pruned = topological_skeleton_mask(mask, spurs="keep"), topological_skeleton_mask(mask, spacing=ANISO)
    assert end_points(pruned) == 2  # the tube's two ends, nothing else
    if seed:
        assert end_points(kept) > 2  # (the thinning alone grew spurs into the bumps)
    assert betti_numbers(pruned) == betti_numbers(mask) == (1, 0, 0)


@pytest.mark.parametrize("seed", range(3))
def test_long_thin_spines_are_kept(seed):
    spines = [(30, 0.3, 12), (50, 2.5, 14), (70, 4.4, 12)]
    mask, heads = bumpy_tube((20, 48, 96), seed=seed, bump_radius=3.5, spines=spines)
    pruned = topological_skeleton_mask(mask, spacing=ANISO)
    assert end_points(pruned) == 2 + len(spines)
    distance, _ = cKDTree(np.argwhere(pruned)).query(heads)
    assert distance.max() < 2  # into every spine's head
    assert betti_numbers(pruned) == betti_numbers(mask)


def test_2d_bumps_and_slices():
    bands = np.stack([bumpy_band_2d(seed=s) for s in range(4)])
    kept = np.stack([topological_skeleton_mask(b, spurs="keep") for b in bands])
    pruned = np.stack([topological_skeleton_mask(b) for b in bands])
    assert sum(map(end_points, kept)) > sum(map(end_points, pruned)) == 2 * len(bands)
    np.testing.assert_array_equal(topological_skeleton_slices(bands), pruned)
    np.testing.assert_array_equal(topological_skeleton_slices(bands, spurs="keep"), kept)
    np.testing.assert_array_equal(skeletonize(bands, "topological", per_slice=True, device="cpu"), pruned)
    labels = bands.astype(np.uint16) * 300
    np.testing.assert_array_equal(topological_skeleton_slices(labels), pruned * 300)


def test_spacing_is_the_physical_rule():
    # a tube along x (9 x 9 voxels across) and a 2-voxel spur along z from its axis
    values = np.zeros((11, 11, 42), bool)
    values[1:10, 1:10, 1:41] = True
    skel = np.zeros_like(values)
    skel[5, 5, 5:37] = True
    skel[6:9, 5, 20] = True  # (its junction: (6, 5, 20), diagonal to the axis' voxels)
    # in voxels: L = 2, R_t = 2, R_j = 4: p = L - (R_j - R_t) = 0 < R_j, a spur
    assert not prune_spurs(skel, values)[6:9, 5, 20].any()
    # z voxels 4 units deep: L = 8, R_t = R_j = 5 (across y): p = 8 >= R_j, a branch
    np.testing.assert_array_equal(prune_spurs(skel, values, spacing=(4.0, 1.0, 1.0)), skel)
    # units cancel: the same spacing, scaled, gives the same skeleton
    mask, _ = bumpy_tube(seed=2)
    np.testing.assert_array_equal(topological_skeleton_mask(mask, spacing=ANISO),
                                  topological_skeleton_mask(mask, spacing=tuple(40 * s for s in ANISO)))


def test_branches_leaving_the_image_are_kept():
    # the same tube and spur, the spur now reaching the image's top face: never a spur
    values = np.zeros((11, 11, 42), bool)
    values[1:10, 1:10, 1:41] = True
    values[6:, 4:7, 19:22] = True
    skel = np.zeros_like(values)
    skel[5, 5, 5:37] = True
    skel[6:11, 5, 20] = True
    np.testing.assert_array_equal(prune_spurs(skel, values), skel)


# --------------------------------------------------------------------------------------------------
# labels, old output, devices, distances


def test_labels_are_pruned_each_on_its_own():
    tubes = [bumpy_tube((16, 40, 80), seed=s)[0] for s in (1, 2, 4)]
    labels = np.zeros((16, 40, 80), np.uint32)
    labels[tubes[0]] = 5
    labels[tubes[1] & ~tubes[0]] = 9  # overlapping tubes: touching labels
    labels[:, 26:, :][tubes[2][:, :14, :]] = 2**31 + 7  # a third one, across another's side
    got = topological_skeleton_labels(labels, spacing=ANISO)
    expected = np.zeros_like(labels)
    for i in np.unique(labels)[1:]:
        alone = topological_skeleton_mask(labels == i, spacing=ANISO)
        assert betti_numbers(alone) == betti_numbers(labels == i)
        expected[alone] = i
    np.testing.assert_array_equal(got, expected)
    assert end_points(got) < end_points(topological_skeleton_labels(labels, spurs="keep"))
    np.testing.assert_array_equal(skeletonize(labels.astype(np.int64), "topological", spacing=ANISO, device="cpu"),
                                  expected.astype(np.int64))


def test_keep_is_the_peeling_as_it_was(monkeypatch):
    mask, _ = bumpy_tube(seed=4)
    kept = topological_skeleton_mask(mask, spurs="keep")
    # the peeling, untouched by this option (the NumPy one, as it was: the compiled and torch ones
    # equal it, tests/test_topological*.py)
    monkeypatch.setattr(topo, "_ENGINE", "numpy")
    np.testing.assert_array_equal(topological_skeleton_mask(mask, spurs="keep"), kept)
    np.testing.assert_array_equal(skeletonize(mask, "topological", spurs="keep", device="cpu"), kept)
    assert not np.array_equal(topological_skeleton_mask(mask, spacing=ANISO), kept)
    # a part-way thinning is not pruned
    np.testing.assert_array_equal(topological_skeleton_mask(mask, max_sweeps=2),
                                  topological_skeleton_mask(mask, max_sweeps=2, spurs="keep"))


def test_the_device_path_prunes_the_same(monkeypatch):
    module = importlib.import_module("napari_soft_skeleton._front_thin")
    mask, _ = bumpy_tube(seed=4)
    labels = mask.astype(np.int64) * (2**40 + 1)  # (ids renumbered for the device, mapped back)
    stack = np.stack([bumpy_band_2d(seed=s) for s in range(3)])
    cases = [(mask, {}), (mask, {"spacing": ANISO}), (labels, {"spacing": ANISO}), (stack, {"per_slice": True})]
    expected = [skeletonize(data, "topological", device="cpu", **kw) for data, kw in cases]

    class FakeDevice:
        type = "cuda"

    def on_device(batch, dev, labels=False, progress=None, spacing=None):
        # the device's peeling (equal to the CPU's: tests/test_topological.py), as its fallback
        # computes it: unpruned, the pruning then done on the CPU
        calls.append(batch.dtype)
        if batch.ndim == 3 and batch.shape[0] > 1:  # (2-D slices: torch's peeling itself, cheap in 2-D)
            return _thin_torch(torch.from_numpy(batch), labels=labels, spacing=spacing).numpy()
        return np.stack([topological_skeleton_labels(m, spurs="keep", spacing=spacing) for m in batch])

    calls = []
    monkeypatch.setattr(module, "resolve_device", lambda device: FakeDevice())
    monkeypatch.setattr(module, "_thin_on_device", on_device)
    for (data, kw), e in zip(cases, expected):
        np.testing.assert_array_equal(skeletonize(data, "topological", **kw), e)
    assert calls == [np.bool_, np.bool_, np.int32, np.bool_]  # (ids renumbered for the device)


@pytest.mark.parametrize("shape, spacing, batch", [((14, 18, 22), (1.0, 1.0, 1.0), 0),
                                                   ((14, 18, 22), (2.0, 1.0, 0.5), 0),
                                                   ((40, 50), (1.0, 1.0), 0), ((4, 40, 50), (1.5, 1.0), 1)])
def test_distances_are_euclidean_to_another_value_or_the_outside(shape, spacing, batch):
    rng = np.random.default_rng(0)
    labels = (ndi.gaussian_filter(rng.random(shape), 2) * 6).astype(np.uint16)
    pshape = np.array(shape[:batch] + tuple(n + 2 for n in shape[batch:]))
    inner = np.zeros(pshape, bool)
    inner[(slice(None),) * batch + (slice(1, -1),) * (len(shape) - batch)] = True
    points = np.flatnonzero(inner)
    dist, _ = _Distances(labels, pshape, batch, spacing)(points, np.full(len(points), np.inf))
    if batch:
        expected = np.stack([edt.edt(im, anisotropy=spacing, black_border=True) for im in labels])
    else:
        expected = edt.edt(labels, anisotropy=spacing, black_border=True)
    fg = labels.reshape(-1) != 0
    np.testing.assert_allclose(dist[fg], expected.reshape(-1)[fg], rtol=1e-5)


@pytest.mark.parametrize("call", [
    lambda m: topological_skeleton_mask(m, spurs="yes"),
    lambda m: topological_skeleton_labels(m.astype(np.uint8), spurs=None),
    lambda m: topological_skeleton_slices(m, spurs="Prune"),
    lambda m: skeletonize(m, "topological", spurs="none"),
    lambda m: topological_skeleton_mask(m, spacing=(1.0, 1.0)),
    lambda m: topological_skeleton_mask(m, spacing=(1.0, 0.0, 1.0)),
])
def test_bad_options(call):
    with pytest.raises(ValueError, match="spurs|spacing"):
        call(np.ones((4, 5, 6), bool))
