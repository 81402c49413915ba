"""The topology-preserving skeleton (``method="topological"``) and its torch front end.

Everything the skeleton promises is checked here with tools written in this
file, independently of the package:

* Betti numbers (``betti``): β0 from ``scipy.ndimage.label`` with full
  connectivity (26 in 3D, 8 in 2D); the cavities (3D) / holes (2D) from the
  6- (4-) connected components of the one-voxel-padded complement minus one;
  χ from ``skimage.measure.euler_number(mask, connectivity=ndim)``; in 3D
  β1 = β0 + β2 − χ, in 2D β1 = holes, cross-checked against β0 − χ.
* Simple points (``brute_simple``): the standard local characterization —
  in 3D, the foreground of N26(p) \\ {p} is one 26-component and the
  background of N18(p) \\ {p} has exactly one 6-component 6-adjacent to p;
  in 2D, one 8-component of foreground in N8(p) \\ {p} and exactly one
  4-component of background in N8(p) \\ {p} 4-adjacent to p.

A skeleton is correct (``assert_topological_skeleton``) when it lies inside
the mask, has the mask's β0, β1 and β2, and is thin: every voxel left is an
end point (exactly one 26-/8-neighbour) or not simple.
"""

from __future__ import annotations

import importlib
import itertools
from functools import lru_cache

import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage
import torch
from scipy.spatial import cKDTree
from skimage.measure import euler_number
from skimage.morphology import skeletonize as sk_skeletonize

from napari_soft_skeleton import compare, load_sample, skeletonize, topological_skeleton
from napari_soft_skeleton.io import read_volume, write_volume
from napari_soft_skeleton.topological import is_simple, topological_skeleton_labels, topological_skeleton_mask

SAMPLES = [
    "vessel_64",
    "vessel_128",
    "vessel_256",
    "vessel_2d",
    "neuron_lm",
    "neuron_hemibrain_glomerulus",
    "neuron_hemibrain_pn",
]


# ==========================================================================
# independent tools: Betti numbers, simple points, thinness
# ==========================================================================


def betti(mask) -> tuple[int, int, int]:
    """(β0, β1, β2) of a 2D/3D mask, 26/6 (8/4) connectivity; β2 = 0 in 2D."""
    mask = np.asarray(mask, bool)
    nd = mask.ndim
    b0 = ndi.label(mask, np.ones((3,) * nd, bool))[1]
    background = ndi.label(~np.pad(mask, 1), ndi.generate_binary_structure(nd, 1))[1]
    enclosed = background - 1  # everything but the outside
    chi = int(euler_number(mask, connectivity=nd))
    if nd == 2:
        assert b0 - chi == enclosed, "2D Betti helper is inconsistent"
        return int(b0), int(enclosed), 0
    b1 = b0 + enclosed - chi
    assert b1 >= 0
    return int(b0), int(b1), int(enclosed)


_CORNERS = list(itertools.product((0, 2), repeat=3))


def brute_simple(cube) -> bool:
    """Is the centre of a 3×3(×3) 0/1 neighbourhood a simple point (26/6, 8/4)?"""
    cube = np.asarray(cube, bool)
    nd = cube.ndim
    centre = (1,) * nd
    fg = cube.copy()
    fg[centre] = False
    n_fg = ndi.label(fg, np.ones((3,) * nd, bool))[1]
    if n_fg != 1:
        return False
    bg = ~cube
    bg[centre] = False
    if nd == 3:  # N18: no corners
        for corner in _CORNERS:
            bg[corner] = False
    lab = ndi.label(bg, ndi.generate_binary_structure(nd, 1))[0]
    faces = [tuple(1 + d if a == axis else 1 for a in range(nd)) for axis in range(nd) for d in (-1, 1)]
    adjacent = {int(lab[f]) for f in faces} - {0}
    return len(adjacent) == 1


def package_code(cube) -> int:
    """``is_simple``'s code of a neighbourhood: bit i ↔ i-th neighbour in C order, centre skipped.

    (The package orders neighbours as ``itertools.product((-1, 0, 1), repeat=ndim)``,
    which is the C-order ravel of the 3×3(×3) cube.)
    """
    flat = np.asarray(cube, bool).ravel()
    mid = flat.size // 2
    bits = np.concatenate([flat[:mid], flat[mid + 1:]]).astype(np.int64)
    return int(np.sum(bits << np.arange(bits.size, dtype=np.int64)))


def neighbourhood_keys(skel: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """For each voxel of ``skel``: its full 3^ndim neighbourhood (centre included) as an int key."""
    nd = skel.ndim
    padded = np.pad(np.asarray(skel, bool), 1)
    coords = np.nonzero(skel)
    keys = np.zeros(coords[0].shape, np.int64)
    for bit, off in enumerate(itertools.product((0, 1, 2), repeat=nd)):
        values = padded[tuple(c + o for c, o in zip(coords, off))]
        keys |= values.astype(np.int64) << bit
    return keys, coords


def key_to_cube(key: int, nd: int) -> np.ndarray:
    return (((int(key) >> np.arange(3**nd)) & 1).astype(bool)).reshape((3,) * nd)


def assert_thin(skel) -> None:
    """Every voxel is an end point (one neighbour) or not simple (brute force)."""
    skel = np.asarray(skel, bool)
    keys, coords = neighbourhood_keys(skel)
    uniq, inverse = np.unique(keys, return_inverse=True)
    for u, key in enumerate(uniq):
        cube = key_to_cube(key, skel.ndim)
        assert cube[(1,) * skel.ndim]
        if int(cube.sum()) - 1 == 1:  # end point
            continue
        if brute_simple(cube):
            where = np.flatnonzero(inverse.ravel() == u)[:5]
            voxels = [tuple(int(c[i]) for c in coords) for i in where]
            raise AssertionError(f"simple non-end voxels left in the skeleton, e.g. at {voxels}")


def assert_topological_skeleton(mask, skel, expected_betti=None) -> None:
    mask = np.asarray(mask, bool)
    skel = np.asarray(skel)
    assert skel.shape == mask.shape
    assert skel.dtype == bool
    assert not (skel & ~mask).any(), "skeleton leaves the mask"
    b_mask = betti(mask)
    if expected_betti is not None:  # the test shape is what we think it is
        assert b_mask == tuple(expected_betti), (b_mask, expected_betti)
    assert betti(skel) == b_mask
    assert_thin(skel)


# ==========================================================================
# the simple-point test itself
# ==========================================================================


def test_brute_simple_knows_textbook_cases():
    # 3D: isolated point, interior point, end of a line, middle of a line,
    # corner of a cube, a voxel whose removal would open a tunnel
    cube = np.zeros((3, 3, 3), bool)
    cube[1, 1, 1] = True
    assert not brute_simple(cube)  # isolated: deleting it removes a component
    assert not brute_simple(np.ones((3, 3, 3), bool))  # interior: would make a cavity
    line = cube.copy()
    line[1, 1, 0] = True
    assert brute_simple(line)  # end of a line is simple (end points are kept by rule)
    line[1, 1, 2] = True
    assert not brute_simple(line)  # middle of a line
    corner = np.zeros((3, 3, 3), bool)
    corner[1:, 1:, 1:] = True
    assert brute_simple(corner)
    plate = np.zeros((3, 3, 3), bool)
    plate[1] = True
    assert not brute_simple(plate)  # removing it punches a hole through a plate
    # 2D
    sq = np.zeros((3, 3), bool)
    sq[1:, 1:] = True
    assert brute_simple(sq)
    assert not brute_simple(np.ones((3, 3), bool))
    diag = np.eye(3, dtype=bool)
    assert not brute_simple(diag)


def test_is_simple_matches_brute_force_on_all_2d_configurations():
    cubes, codes = [], []
    for k in range(256):
        bits = [(k >> i) & 1 for i in range(8)]
        cube = np.array(bits[:4] + [1] + bits[4:], bool).reshape(3, 3)
        cubes.append(cube)
        codes.append(package_code(cube))
    assert sorted(codes) == list(range(256))
    expected = np.array([brute_simple(c) for c in cubes])
    got = is_simple(np.array(codes, np.uint32), 2)
    assert got.dtype == bool and got.shape == (256,)
    bad = np.flatnonzero(got != expected)
    assert bad.size == 0, [cubes[i].astype(int).tolist() for i in bad[:3]]
    assert 0 < expected.sum() < 256


def test_is_simple_matches_brute_force_on_random_3d_configurations():
    rng = np.random.default_rng(1234)
    n = 6000
    density = rng.uniform(0.05, 0.95, n)
    cubes = rng.random((n, 3, 3, 3)) < density[:, None, None, None]
    # plus every configuration of the 6 face neighbours alone, and their complements
    faces = [(0, 1, 1), (2, 1, 1), (1, 0, 1), (1, 2, 1), (1, 1, 0), (1, 1, 2)]
    extra = []
    for k in range(64):
        c = np.zeros((3, 3, 3), bool)
        for i, f in enumerate(faces):
            c[f] = (k >> i) & 1
        extra += [c, ~c]
    cubes = np.concatenate([cubes, np.array(extra)])
    cubes[:, 1, 1, 1] = True
    expected = np.array([brute_simple(c) for c in cubes])
    codes = np.array([package_code(c) for c in cubes], np.uint32)
    got = is_simple(codes, 3)
    bad = np.flatnonzero(got != expected)
    assert bad.size == 0, [np.argwhere(cubes[i]).tolist() for i in bad[:2]]
    # both answers are well represented
    assert 0.2 < expected.mean() < 0.8


# ==========================================================================
# shapes
# ==========================================================================


def tube_along(points, shape, radius) -> np.ndarray:
    """Voxels within ``radius`` of a densely sampled curve ``points`` (K, ndim)."""
    grid = np.indices(shape).reshape(len(shape), -1).T
    d, _ = cKDTree(points).query(grid)
    return (d <= radius).reshape(shape)


def circle(centre, radius, normal_axis, n=400):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    pts = np.zeros((n, 3))
    axes = [a for a in range(3) if a != normal_axis]
    pts[:, axes[0]] = radius * np.cos(t)
    pts[:, axes[1]] = radius * np.sin(t)
    return pts + np.asarray(centre, float)


def torus(shape=(12, 30, 30), R=8.0, r=2.5):
    c = [(s - 1) / 2 for s in shape]
    return tube_along(circle(c, R, 0), shape, r)


def hollow_shell(n=16, t=2):
    m = np.zeros((n, n, n), bool)
    m[2:-2, 2:-2, 2:-2] = True
    m[2 + t:-2 - t, 2 + t:-2 - t, 2 + t:-2 - t] = False
    return m


def shell_with_holes(count):
    m = hollow_shell()
    n = m.shape[0]
    c = n // 2
    m[c - 1:c + 1, c - 1:c + 1, :c] = False  # a 2x2 hole through the x-low wall
    if count == 2:
        m[c - 1:c + 1, c - 1:c + 1, c:] = False  # and the opposite wall
    return m


def shell_with_rod():
    m = hollow_shell()
    c = m.shape[0] // 2
    m[c - 1:c + 1, c - 1:c + 1, :] |= True  # a rod across the cavity, wall to wall
    m[:, :, :2] = False
    m[:, :, -2:] = False
    return m


def block_with_tunnel():
    m = np.zeros((14, 14, 14), bool)
    m[2:-2, 2:-2, 2:-2] = True
    m[5:9, 5:9, :] = False
    return m


def block_with_two_cavities():
    m = np.zeros((12, 12, 20), bool)
    m[1:-1, 1:-1, 1:-1] = True
    m[4:8, 4:8, 4:8] = False
    m[4:8, 4:8, 12:16] = False
    return m


def figure_eight_3d():
    shape = (10, 26, 42)
    c0, c1 = 4.5, 12.5
    pts = np.concatenate([circle((c0, c1, 12.5), 8.0, 0), circle((c0, c1, 28.5), 8.0, 0)])
    return tube_along(pts, shape, 2.0)


def hopf_link():
    shape = (24, 24, 34)
    R = 7.0
    a = circle((12, 12, 12), R, 0)  # in the (y, x) plane
    b = circle((12, 12, 12 + R), R, 1)  # in the (z, x) plane, through a's disc
    return tube_along(a, shape, 1.6) | tube_along(b, shape, 1.6)


def trefoil():
    t = np.linspace(0, 2 * np.pi, 3000, endpoint=False)
    x = np.sin(t) + 2 * np.sin(2 * t)
    y = np.cos(t) - 2 * np.cos(2 * t)
    z = -np.sin(3 * t)
    s = 4.0
    pts = np.stack([z * s + 9, y * s + 16, x * s + 16], axis=1)
    return tube_along(pts, (19, 32, 32), 1.6)


def line(points, shape):
    m = np.zeros(shape, bool)
    for p in points:
        m[tuple(p)] = True
    return m


def line_6(shape=(10, 10, 10)):
    """A 6-connected staircase (x, y, z, x, y, z, ... steps) from (1, 1, 1) to (7, 7, 7)."""
    p, pts = [1, 1, 1], [(1, 1, 1)]
    for i in range(18):
        p[2 - i % 3] += 1
        pts.append(tuple(p))
    return line(pts, shape)


def line_18(shape=(8, 12, 12)):
    return line([(3, i, i) for i in range(1, 11)], shape)


def line_26(shape=(12, 12, 12)):
    return line([(i, i, 11 - i) for i in range(12)], shape)  # corner to corner


def diamond_loop_26():
    """A closed loop of body-diagonal (26-adjacent only) steps in 3D."""
    p, pts = np.array([6, 2, 6]), []
    for step in [(1, 1, 1), (-1, 1, -1), (-1, -1, 1), (1, -1, -1)]:
        for _ in range(4):
            pts.append(tuple(p))
            p = p + step
    assert tuple(p) == pts[0]
    return line(pts, (13, 13, 13))


def diamond_loop_8():
    """A closed 8-connected (one-pixel, diagonal) loop in 2D: one hole in 8/4 topology."""
    m = np.zeros((13, 13), bool)
    for i in range(6):
        m[i + 1, 6 + i] = m[6 + i, 11 - i] = m[11 - i, 6 - i] = m[6 - i, 1 + i] = True
    return m


def checkerboard(shape):
    return np.indices(shape).sum(0) % 2 == 0


def framed_checkerboard_2d():
    m = np.ones((11, 11), bool)
    m[2:-2, 2:-2] = checkerboard((7, 7))
    return m


def random_blob(shape, seed, sigma, level):
    rng = np.random.default_rng(seed)
    field = ndi.gaussian_filter(rng.standard_normal(shape), sigma)
    return field > level * field.std()


def annulus_2d(shape=(30, 30), r_in=5, r_out=11):
    y, x = np.indices(shape)
    r = np.hypot(y - (shape[0] - 1) / 2, x - (shape[1] - 1) / 2)
    return (r <= r_out) & (r >= r_in)


def figure_eight_2d():
    y, x = np.indices((26, 46))
    r1 = np.hypot(y - 12.5, x - 12.5)
    r2 = np.hypot(y - 12.5, x - 31.5)
    return ((r1 <= 11) & (r1 >= 5)) | ((r2 <= 11) & (r2 >= 5))


def pair(offset, shape=(5, 5, 5)):
    m = np.zeros(shape, bool)
    m[2, 2, 2] = True
    m[tuple(2 + o for o in offset)] = True
    return m


def single(shape, where):
    m = np.zeros(shape, bool)
    m[where] = True
    return m


def isolated_lattice():
    m = np.zeros((9, 9, 9), bool)
    m[::2, ::2, ::2] = True  # 125 lone voxels, also on every face of the volume
    return m


def border_shapes():
    m = np.zeros((10, 12, 14), bool)
    m[:, 3:7, 3:7] = True  # a rod from face to face
    m[:3, :, 10:] = True  # a slab in a corner of the volume
    m[9, 11, 0] = True  # a voxel in a volume corner
    return m


def thin_plate():
    m = np.zeros((7, 16, 16), bool)
    m[3, 2:14, 2:14] = True
    return m


def plate_with_holes():
    m = np.zeros((7, 20, 20), bool)
    m[2:5, 2:18, 2:18] = True
    m[:, 5:8, 5:8] = False
    m[:, 12:15, 6:9] = False
    m[:, 8:11, 12:16] = False
    return m


def cube_with_shell_inside():
    """A hollow ball inside the cavity of a hollow cube: two components, two cavities."""
    m = hollow_shell(22, 2)
    z, y, x = np.indices(m.shape)
    r = np.sqrt((z - 10.5) ** 2 + (y - 10.5) ** 2 + (x - 10.5) ** 2)
    m |= (r <= 4.5) & (r >= 2.5)
    return m


ADVERSARIAL = {
    # 2D
    "annulus_2d": (annulus_2d, (1, 1, 0)),
    "figure_eight_2d": (figure_eight_2d, (1, 2, 0)),
    "diamond_loop_8": (diamond_loop_8, (1, 1, 0)),
    "diagonal_8": (lambda: np.eye(12, dtype=bool), (1, 0, 0)),
    "staircase_4": (lambda: np.eye(12, dtype=bool) | np.eye(12, k=1, dtype=bool), (1, 0, 0)),
    "checkerboard_2d": (lambda: checkerboard((9, 9)), None),
    "framed_checkerboard_2d": (framed_checkerboard_2d, None),
    "single_pixel_2d": (lambda: single((5, 5), (2, 2)), (1, 0, 0)),
    "corner_pixel_2d": (lambda: single((5, 5), (0, 4)), (1, 0, 0)),
    "pair_4_2d": (lambda: single((4, 4), (1, 1)) | single((4, 4), (1, 2)), (1, 0, 0)),
    "pair_8_2d": (lambda: single((4, 4), (1, 1)) | single((4, 4), (2, 2)), (1, 0, 0)),
    "full_2d": (lambda: np.ones((9, 13), bool), (1, 0, 0)),
    "empty_2d": (lambda: np.zeros((9, 13), bool), (0, 0, 0)),
    "thin_image_2d": (lambda: np.ones((1, 13), bool), (1, 0, 0)),
    "square_frame_at_border_2d": (lambda: ~np.pad(np.ones((6, 6), bool), 1), (1, 1, 0)),
    # 3D
    "torus": (torus, (1, 1, 0)),
    "hollow_shell": (hollow_shell, (1, 0, 1)),
    "shell_one_hole": (lambda: shell_with_holes(1), (1, 0, 0)),
    "shell_two_holes": (lambda: shell_with_holes(2), (1, 1, 0)),
    "shell_with_rod_inside": (shell_with_rod, (1, 1, 1)),
    "block_with_tunnel": (block_with_tunnel, (1, 1, 0)),
    "block_with_two_cavities": (block_with_two_cavities, (1, 0, 2)),
    "nested_shells": (cube_with_shell_inside, (2, 0, 2)),
    "figure_eight_3d": (figure_eight_3d, (1, 2, 0)),
    "hopf_link": (hopf_link, (2, 2, 0)),
    "trefoil": (trefoil, (1, 1, 0)),
    "line_6": (line_6, (1, 0, 0)),
    "line_18": (line_18, (1, 0, 0)),
    "line_26": (line_26, (1, 0, 0)),
    "diamond_loop_26": (diamond_loop_26, (1, 1, 0)),
    "checkerboard_3d": (lambda: checkerboard((6, 6, 6)), None),
    "isolated_lattice": (isolated_lattice, (125, 0, 0)),
    "single_voxel": (lambda: single((3, 3, 3), (1, 1, 1)), (1, 0, 0)),
    "corner_voxel": (lambda: single((4, 5, 6), (3, 4, 5)), (1, 0, 0)),
    "pair_face": (lambda: pair((0, 0, 1)), (1, 0, 0)),
    "pair_edge": (lambda: pair((0, 1, 1)), (1, 0, 0)),
    "pair_corner": (lambda: pair((1, 1, 1)), (1, 0, 0)),
    "cube_2x2x2": (lambda: np.pad(np.ones((2, 2, 2), bool), 2), (1, 0, 0)),
    "border_shapes": (border_shapes, (3, 0, 0)),
    "thin_plate": (thin_plate, (1, 0, 0)),
    "plate_with_holes": (plate_with_holes, (1, 3, 0)),
    "full_3d": (lambda: np.ones((7, 8, 9), bool), (1, 0, 0)),
    "empty_3d": (lambda: np.zeros((7, 8, 9), bool), (0, 0, 0)),
    "one_voxel_volume": (lambda: np.ones((1, 1, 1), bool), (1, 0, 0)),
    "flat_volume": (lambda: np.ones((1, 6, 7), bool), (1, 0, 0)),
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_shapes_keep_topology_and_are_thin(name):
    make, expected = ADVERSARIAL[name]
    mask = make()
    before = mask.copy()
    skel = topological_skeleton_mask(mask)
    np.testing.assert_array_equal(mask, before)  # input untouched
    assert_topological_skeleton(mask, skel, expected)
    # the front end gives the same (2D and 3D, any mask)
    if mask.any():
        np.testing.assert_array_equal(skeletonize(mask, "topological"), skel)
    # stable: the skeleton of a skeleton is itself
    np.testing.assert_array_equal(topological_skeleton_mask(skel), skel)


def test_small_shapes_shrink_to_what_they_must():
    # lone voxels and two-voxel objects are never dropped
    assert topological_skeleton_mask(single((3, 3, 3), (1, 1, 1))).sum() == 1
    for offset in [(0, 0, 1), (0, 1, 1), (1, 1, 1)]:
        skel = topological_skeleton_mask(pair(offset))
        assert 1 <= skel.sum() <= 2
    # a solid cube or square shrinks to a point or a short segment (end points
    # are kept, so an odd cube leaves three voxels) near its centre
    for nd in (2, 3):
        for n in range(2, 12):
            m = np.pad(np.ones((n,) * nd, bool), 1)
            skel = topological_skeleton_mask(m)
            assert 1 <= skel.sum() <= 3 and betti(skel) == (1, 0, 0)
            assert np.abs(np.argwhere(skel) - (n + 1) / 2).max() <= 1.5
    # one-voxel lines with only 18- or 26-adjacent steps are already thin: they stay
    for make in (line_18, line_26, diamond_loop_26):
        m = make()
        np.testing.assert_array_equal(topological_skeleton_mask(m), m)
    np.testing.assert_array_equal(topological_skeleton_mask(diamond_loop_8()), diamond_loop_8())
    # a 6-connected staircase is not thin in 26-connectivity: it loses its
    # corners and becomes a 26-connected curve that still spans the volume
    m = line_6()
    skel = topological_skeleton_mask(m)
    assert skel.sum() < m.sum() and betti(skel) == (1, 0, 0)
    extent = np.ptp(np.argwhere(skel), axis=0)
    assert (extent >= 5).all(), extent
    # a full image (touching every border) becomes a point or a short segment
    for shape in [(9, 9), (8, 8), (6, 7, 8)]:
        skel = topological_skeleton_mask(np.ones(shape, bool))
        assert 1 <= skel.sum() <= 3 and betti(skel) == (1, 0, 0)
    # an empty one stays empty
    assert not topological_skeleton_mask(np.zeros((4, 5, 6), bool)).any()


@pytest.mark.parametrize("seed", range(24))
def test_random_2d_blobs(seed):
    sigma = 1.5 + (seed % 4) * 0.75
    level = (-0.4, 0.0, 0.4)[seed % 3]
    mask = random_blob((56, 64), seed, sigma, level)
    assert_topological_skeleton(mask, topological_skeleton_mask(mask))


_BLOBS_3D = [(seed, 1.2 + (seed % 3) * 0.6, (-0.5, -0.1, 0.3, 0.7)[seed % 4]) for seed in range(12)]


@pytest.mark.parametrize("seed,sigma,level", _BLOBS_3D)
def test_random_3d_blobs(seed, sigma, level):
    mask = random_blob((22, 24, 26), 100 + seed, sigma, level)
    assert_topological_skeleton(mask, topological_skeleton_mask(mask))


def test_random_blobs_exercise_loops_and_cavities():
    """The random 3D cases above are not all trivial: some have loops, some cavities."""
    found = [betti(random_blob((22, 24, 26), 100 + s, sg, lv)) for s, sg, lv in _BLOBS_3D]
    assert any(b[0] > 1 for b in found)
    assert any(b[1] > 0 for b in found)
    assert any(b[2] > 0 for b in found)
    found2 = [betti(random_blob((56, 64), s, 1.5 + (s % 4) * 0.75, (-0.4, 0.0, 0.4)[s % 3])) for s in range(24)]
    assert any(b[1] > 0 for b in found2) and any(b[0] > 1 for b in found2)


def test_rejects_other_dimensions():
    for shape in [(5,), (2, 3, 4, 5)]:
        with pytest.raises(ValueError):
            topological_skeleton_mask(np.ones(shape, bool))


def test_fortran_ordered_and_strided_inputs():
    from napari_soft_skeleton.topological import topological_skeleton_labels, topological_skeleton_slices

    mask = random_blob((14, 18, 22), 9, 1.5, 0.0)
    expected = topological_skeleton_mask(mask)
    for view in (np.asfortranarray(mask), mask.T.copy().T, np.repeat(mask, 2, axis=2)[:, :, ::2]):
        assert not view.flags.c_contiguous
        np.testing.assert_array_equal(topological_skeleton_mask(view), expected)
        np.testing.assert_array_equal(topological_skeleton_labels(view.astype(np.uint8) * 4), expected * 4)
        np.testing.assert_array_equal(topological_skeleton_slices(view),
                                      np.stack([topological_skeleton_mask(m) for m in mask]))
    from napari_soft_skeleton.topological import _thin_torch

    permuted = torch.from_numpy(mask).permute(2, 1, 0)[None]
    assert not permuted.is_contiguous()
    # (the peelings compared: the torch one prunes no spurs, that is done on the CPU after it)
    np.testing.assert_array_equal(_thin_torch(permuted)[0].numpy(),
                                  topological_skeleton_mask(mask.transpose(2, 1, 0), spurs="keep"))


def test_read_only_and_non_bool_masks():
    mask = torus()
    ro = mask.copy()
    ro.setflags(write=False)
    expected = topological_skeleton_mask(mask)
    np.testing.assert_array_equal(topological_skeleton_mask(ro), expected)
    np.testing.assert_array_equal(topological_skeleton_mask(mask.astype(np.uint8)), expected)
    # a view with odd strides
    big = np.zeros((mask.shape[0], mask.shape[1], 2 * mask.shape[2]), bool)
    big[:, :, ::2] = mask
    np.testing.assert_array_equal(topological_skeleton_mask(big[:, :, ::2]), expected)


# ==========================================================================
# small objects: scikit-image's Lee may drop them, ours never does
# ==========================================================================


def _small_objects_volume():
    m = np.zeros((40, 40, 40), bool)
    m[2:6, 2:6, 5:35] = True  # a 4×4×30 bar
    m[10:20, 10:20, 10:20] = True  # a 10³ cube
    m[25:27, 25:27, 25:27] = True  # a 2³ cube
    m[30, 5, 5] = True  # a lone voxel
    m[34:38, 30:38, 2:10] = True  # a 4×8×8 box
    z, y, x = np.indices(m.shape)
    m |= (z - 30) ** 2 + (y - 14) ** 2 + (x - 30) ** 2 <= 9  # a small ball
    return m


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.pad(np.ones((4, 4, 30), bool), 2),
        lambda: np.pad(np.ones((10, 10, 10), bool), 2),
        _small_objects_volume,
    ],
    ids=["bar_4x4x30", "cube_10", "many_small_objects"],
)
def test_every_component_is_kept_unlike_lee(make):
    mask = make()
    n = betti(mask)[0]
    ours = topological_skeleton_mask(mask)
    assert_topological_skeleton(mask, ours)
    assert betti(ours)[0] == n
    labelled, _ = ndi.label(mask, np.ones((3, 3, 3)))
    assert set(np.unique(labelled[ours])) == set(range(1, n + 1))  # every object has skeleton voxels
    lee = sk_skeletonize(mask, method="lee").astype(bool)
    lee_kept = len(set(np.unique(labelled[lee])) - {0})
    if skimage.__version__.startswith("0.26"):
        # what motivates the method: scikit-image 0.26's Lee loses these objects
        assert lee_kept < n, (lee_kept, n)


# ==========================================================================
# sample volumes: exact topology, thin, close to Lee
# ==========================================================================


@lru_cache(maxsize=None)
def _sample(name):
    mask = load_sample(name).mask
    mask.setflags(write=False)
    ours = topological_skeleton_mask(mask)
    lee = sk_skeletonize(mask, method="lee").astype(bool)
    return mask, ours, lee


@pytest.mark.parametrize("name", SAMPLES)
def test_samples_exact_topology_and_thin(name):
    mask, ours, _ = _sample(name)
    assert mask.any()
    assert_topological_skeleton(mask, ours)
    assert ours.sum() < 0.5 * mask.sum()


@pytest.mark.parametrize("name", SAMPLES)
def test_samples_close_to_lee(name):
    mask, ours, lee = _sample(name)
    result = compare(lee, ours, tolerance=2.0)
    assert result.precision >= 0.9, result.precision
    assert result.recall >= 0.9, result.recall
    # and the same by an own count (KD-tree, Euclidean, 2 voxels)
    a, b = np.argwhere(lee), np.argwhere(ours)
    precision = np.mean(cKDTree(a).query(b)[0] <= 2.0)
    recall = np.mean(cKDTree(b).query(a)[0] <= 2.0)
    assert precision >= 0.9 and recall >= 0.9, (precision, recall)
    assert precision == pytest.approx(result.precision) and recall == pytest.approx(result.recall)


def test_sample_components_as_labels():
    """neuron_lm's separate pieces as a label image: per-label result = whole-mask skeleton."""
    mask, ours, _ = _sample("neuron_lm")
    labels, n = ndi.label(mask, np.ones((3, 3, 3)))
    assert n > 1
    out = skeletonize(labels.astype(np.uint16), "topological")
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, np.where(ours, labels, 0))


# ==========================================================================
# label images: each label alone
# ==========================================================================


def touching_labels_3d():
    """Touching labels whose union has another topology than each part."""
    labels = np.zeros((14, 30, 50), np.int32)
    _, y, x = np.indices(labels.shape)
    ring = torus((14, 30, 30), 8.0, 2.5)
    halves = np.where(x[:, :, :30] < 15, 1, 2)
    labels[:, :, :30][ring] = halves[ring]  # two C-shaped halves of a torus, touching at both ends
    rod = ((y - 14.5) ** 2 + (x - 14.5) ** 2 <= 6.2**2) & (labels == 0)
    labels[rod] = 3  # a fat rod through the ring's hole, touching its inside
    shell = hollow_shell(14, 2)
    labels[:, :14, 34:48][shell] = 4  # a hollow box
    labels[6, 6, 40] = 6  # a lone voxel inside the box's cavity
    labels[:, 2:12, 48:50] = 7  # a plate touching the box's outside
    labels[0, 29, 0] = 5  # a lone voxel in a corner of the volume
    return labels


def random_labels(shape, seed):
    rng = np.random.default_rng(seed)
    fg = ndi.gaussian_filter(rng.standard_normal(shape), 1.5) > -0.1
    part = ndi.gaussian_filter(rng.standard_normal(shape), 2.5)
    labels = np.where(part > 0.05, 1, np.where(part < -0.05, 2, 7)).astype(np.uint8)
    return np.where(fg, labels, 0).astype(np.uint8)


@pytest.mark.parametrize(
    "make",
    [touching_labels_3d, lambda: random_labels((20, 22, 24), 5), lambda: random_labels((60, 64), 6),
     lambda: random_labels((18, 20, 22), 7)],
    ids=["touching_3d", "random_3d_a", "random_2d", "random_3d_b"],
)
def test_labels_each_alone(make):
    labels = make()
    before = labels.copy()
    out = skeletonize(labels, "topological")
    np.testing.assert_array_equal(labels, before)
    assert out.dtype == labels.dtype and out.shape == labels.shape
    ids = [int(i) for i in np.unique(labels) if i]
    assert set(np.unique(out)) - {0} == set(ids)
    for i in ids:
        alone = labels == i
        np.testing.assert_array_equal(out == i, topological_skeleton_mask(alone), err_msg=f"label {i}")
        assert_topological_skeleton(alone, out == i)
    assert not ((out != 0) & (out != labels)).any()


def test_touching_labels_differ_from_their_union():
    labels = touching_labels_3d()
    assert betti(labels == 1) == (1, 0, 0) and betti(labels == 2) == (1, 0, 0)
    assert betti(labels == 4) == (1, 0, 1)
    ring = (labels == 1) | (labels == 2)
    assert betti(ring) == (1, 1, 0)
    out = skeletonize(labels, "topological")
    # the two halves make a ring, but each label is thinned alone: two arcs
    assert betti(out == 1) == (1, 0, 0) and betti(out == 2) == (1, 0, 0)
    assert betti(topological_skeleton_mask(ring)) == (1, 1, 0)
    assert betti(out == 4) == (1, 0, 1)
    assert (out == 5).sum() == 1 and (out == 6).sum() == 1


def _many_labels(shape=(40, 72, 72), seed=11):
    rng = np.random.default_rng(seed)
    blobs = ndi.gaussian_filter(rng.random(shape), 2.0) > 0.53
    labels, n = ndi.label(blobs)
    # plus touching neighbours: split every blob along a plane through its middle
    labels = np.where((labels > 0) & (np.indices(shape)[2] % 9 < 4), labels + n, labels)
    return labels.astype(np.uint16)


def test_all_labels_at_once_equal_each_label_alone():
    from napari_soft_skeleton.topological import topological_skeleton_labels

    labels = _many_labels()
    ids = np.unique(labels)[1:]
    assert len(ids) > 60  # many labels, many of them touching
    before = labels.copy()
    out = topological_skeleton_labels(labels)
    np.testing.assert_array_equal(labels, before)
    assert out.dtype == labels.dtype
    for i, box in enumerate(ndi.find_objects(labels)):
        if box is None:
            continue
        box = tuple(slice(max(s.start - 1, 0) // 2 * 2, s.stop + 1) for s in box)  # (even: same subfields)
        alone = labels[box] == i + 1
        np.testing.assert_array_equal(out[box] == i + 1, topological_skeleton_mask(alone), err_msg=f"label {i + 1}")
    assert not ((out != 0) & (out != labels)).any()
    # the GPU code path too (run here on the CPU)
    from napari_soft_skeleton.topological import _thin_torch

    got = _thin_torch(torch.from_numpy(labels.astype(np.int32))[None], labels=True)
    assert got.dtype == torch.int32
    np.testing.assert_array_equal(got[0].numpy(), out)


def test_label_function_dtypes_and_errors():
    from napari_soft_skeleton.topological import topological_skeleton_labels

    labels = random_labels((14, 16, 18), 2)
    expected = topological_skeleton_labels(labels)
    # 64-bit ids, with and without background
    big = np.where(labels > 0, labels.astype(np.uint64) + 2**40, 0).astype(np.uint64)
    out = topological_skeleton_labels(big)
    assert out.dtype == np.uint64
    np.testing.assert_array_equal(out, np.where(expected > 0, expected.astype(np.uint64) + 2**40, 0))
    full = np.where(labels > 0, labels, 9).astype(np.int64) + 2**35  # no 0 anywhere
    out = topological_skeleton_labels(full)
    for i in np.unique(full):
        np.testing.assert_array_equal(out == i, topological_skeleton_mask(full == i))
    np.testing.assert_array_equal(topological_skeleton_labels(labels > 0), topological_skeleton_mask(labels > 0))
    for bad, words in [(labels.astype(np.float32), "integer label image"),
                       (labels.astype(np.int16) - 1, "non-negative"),
                       (labels[None], "2D or 3D")]:
        with pytest.raises(ValueError, match=words):
            topological_skeleton_labels(bad)


def test_slices_function_equals_slice_by_slice():
    from napari_soft_skeleton.topological import topological_skeleton_slices

    labels = random_labels((6, 30, 34), 8)
    labels[2] = 0  # an empty slice
    big = np.where(labels > 0, labels.astype(np.int64) + 2**40, 0)
    for data in (labels > 0, labels, big):
        out = topological_skeleton_slices(data)
        assert out.dtype == data.dtype and out.shape == data.shape
        for z in range(data.shape[0]):
            thin = topological_skeleton_mask if data.dtype == bool else topological_skeleton_labels
            np.testing.assert_array_equal(out[z], thin(data[z]), err_msg=f"{data.dtype} slice {z}")
    for bad, words in [(labels[0], "3D stack"), (labels.astype(float), "integer label image"),
                       (labels.astype(np.int8) - 1, "non-negative")]:
        with pytest.raises(ValueError, match=words):
            topological_skeleton_slices(bad)


def test_sparse_large_label_ids():
    labels = np.zeros((10, 12, 14), np.int64)
    labels[2:8, 2:6, 2:12] = 10**12
    labels[2:8, 7:11, 2:12] = 3
    out = skeletonize(labels, "topological")
    assert out.dtype == np.int64
    for i in (3, 10**12):
        np.testing.assert_array_equal(out == i, topological_skeleton_mask(labels == i))


# ==========================================================================
# skeletonize(..., "topological"): dispatch
# ==========================================================================


def test_per_slice_equals_slice_by_slice():
    mask = random_blob((7, 40, 44), 3, 2.0, 0.0)
    mask[3] = False  # an empty slice
    out = skeletonize(mask, "topological", per_slice=True)
    assert out.dtype == bool and out.shape == mask.shape
    for z in range(mask.shape[0]):
        np.testing.assert_array_equal(out[z], topological_skeleton_mask(mask[z]))
        if mask[z].any():
            np.testing.assert_array_equal(out[z], skeletonize(mask[z], "topological"))
        assert_topological_skeleton(mask[z], out[z])
    # not the same as the 3D skeleton
    assert not np.array_equal(out, skeletonize(mask, "topological"))


def test_per_slice_labels_equal_slice_by_slice():
    labels = random_labels((5, 40, 44), 11)
    out = skeletonize(labels, "topological", per_slice=True)
    for z in range(labels.shape[0]):
        np.testing.assert_array_equal(out[z], skeletonize(labels[z], "topological"))
        for i in np.unique(labels[z]):
            if i:
                np.testing.assert_array_equal(out[z] == i, topological_skeleton_mask(labels[z] == i))


def test_per_slice_has_no_effect_in_2d():
    mask = annulus_2d()
    np.testing.assert_array_equal(skeletonize(mask, "topological", per_slice=True), topological_skeleton_mask(mask))


def test_label_crops_equal_labels_alone_at_odd_offsets():
    """Crops start anywhere: the result must not depend on where the label sits."""
    base = torus((12, 30, 30), 8.0, 2.5)
    for dz, dy, dx in [(0, 0, 0), (1, 0, 0), (0, 1, 1), (1, 1, 1), (3, 2, 5)]:
        labels = np.zeros((20, 40, 40), np.uint8)
        labels[dz:dz + 12, dy:dy + 30, dx:dx + 30][base] = 2
        labels[-2:, -3:, -3:] = 1  # a second label elsewhere
        out = skeletonize(labels, "topological")
        np.testing.assert_array_equal(out == 2, topological_skeleton_mask(labels == 2))
        np.testing.assert_array_equal(out == 1, topological_skeleton_mask(labels == 1))


def test_read_only_input():
    mask = block_with_tunnel()
    mask.setflags(write=False)
    labels = touching_labels_3d()
    labels.setflags(write=False)
    prob = mask.astype(np.float32) * 0.8
    prob.setflags(write=False)
    expected = topological_skeleton_mask(mask)
    np.testing.assert_array_equal(skeletonize(mask, "topological"), expected)
    np.testing.assert_array_equal(skeletonize(prob, "topological"), expected)
    np.testing.assert_array_equal(skeletonize(mask, "topological", per_slice=True),
                                  np.stack([topological_skeleton_mask(s) for s in mask]))
    out = skeletonize(labels, "topological")
    np.testing.assert_array_equal(out == 4, topological_skeleton_mask(labels == 4))


def test_float_map_with_threshold():
    prob = load_sample("vessel_64").image
    assert prob is not None and prob.dtype.kind == "f"
    for threshold in (0.3, 0.5, 0.7):
        out = skeletonize(prob, "topological", threshold=threshold)
        expected = topological_skeleton_mask(prob > threshold)
        np.testing.assert_array_equal(out, expected)
        assert out.dtype == bool
    np.testing.assert_array_equal(skeletonize(prob.astype(np.float64), "topological"),
                                  topological_skeleton_mask(prob > 0.5))
    # 2D map
    prob2 = load_sample("vessel_2d").image
    np.testing.assert_array_equal(skeletonize(prob2, "topological", threshold=0.4),
                                  topological_skeleton_mask(prob2 > 0.4))
    # an intensity image, rescaled
    img = prob * 200.0 + 10.0
    lo, hi = img.min(), img.max()
    np.testing.assert_array_equal(skeletonize(img, "topological", normalize=True),
                                  topological_skeleton_mask((img - lo) / (hi - lo) > 0.5))
    with pytest.raises(ValueError):
        skeletonize(prob, "topological", threshold=None)
    with pytest.raises(ValueError):
        skeletonize(img, "topological")  # outside [0, 1] without normalize


def test_front_end_2d_and_3d_masks_and_torch_input():
    for mask in (annulus_2d(), torus()):
        expected = topological_skeleton_mask(mask)
        np.testing.assert_array_equal(skeletonize(mask, "topological"), expected)
        np.testing.assert_array_equal(skeletonize(torch.from_numpy(mask), "topological"), expected)
        out, used = skeletonize(mask, "topological", return_iterations=True)
        assert used is None
        np.testing.assert_array_equal(out, expected)


def test_progress_is_reported():
    calls = []
    skeletonize(touching_labels_3d(), "topological", progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1] == (1, 1)
    calls.clear()
    skeletonize(torus(), "topological", per_slice=True, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 1)]  # 12 small slices: one pass


def test_progress_after_every_sweep_and_cancel_in_3d():
    from napari_soft_skeleton.topological import _thin_torch

    vessel = load_sample("vessel_64").mask
    labels = random_labels((20, 22, 24), 5)
    for data in (vessel, labels):
        calls = []
        out = skeletonize(data, "topological", progress=lambda d, t: calls.append((d, t)))
        np.testing.assert_array_equal(out, skeletonize(data, "topological"))
        sweeps = [c for c in calls if c != (1, 1)]
        assert len(sweeps) >= 2  # several sweeps, each reported
        assert sweeps == [(k, k + 1) for k in range(1, len(sweeps) + 1)]
        assert calls[-1] == (1, 1)
    # the torch path reports the same sweeps
    calls = []
    _thin_torch(torch.from_numpy(vessel)[None], progress=lambda d, t: calls.append((d, t)))
    counted = []
    topological_skeleton_mask(vessel, progress=lambda d, t: counted.append((d, t)))
    assert calls == counted and len(calls) >= 2

    # an exception in the callback stops the thinning at the end of a sweep
    class Stop(Exception):
        pass

    seen = []

    def stop_at_two(done, total):
        seen.append(done)
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        skeletonize(vessel, "topological", progress=stop_at_two)
    assert seen == [1, 2]


def test_per_slice_runs_in_passes_with_progress(monkeypatch):
    module = importlib.import_module("napari_soft_skeleton._front_thin")  # (the thinning dispatch)
    mask = torus()  # 12 slices of 30 x 30
    labels = (mask * (1 + (np.indices(mask.shape)[2] > 15))).astype(np.uint8)
    expected = [skeletonize(mask, "topological", per_slice=True), skeletonize(labels, "topological", per_slice=True)]
    monkeypatch.setattr(module, "_SLICE_CHUNK_VOXELS", 5 * 30 * 30)  # 5 slices per pass
    for data, exp in zip((mask, labels), expected):
        calls = []
        got = skeletonize(data, "topological", per_slice=True, progress=lambda d, t: calls.append((d, t)))
        assert calls == [(1, 3), (2, 3), (3, 3)]
        np.testing.assert_array_equal(got, exp)
        assert got.dtype == data.dtype
    # an exception raised by the callback stops the work (how the widgets cancel)
    def stop(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        skeletonize(mask, "topological", per_slice=True, progress=stop)


# ==========================================================================
# CLI
# ==========================================================================


def test_cli_topological(tmp_path, capsys):
    from napari_soft_skeleton.cli import main

    mask = figure_eight_3d().astype(np.uint8)
    src = tmp_path / "eight.tif"
    write_volume(src, mask, spacing=(2.0, 1.0, 1.0))
    out = tmp_path / "skel.tif"
    assert main(["skeletonize", str(src), "-o", str(out), "--method", "topological", "-q"]) == 0
    result, spacing = read_volume(out)
    # the file's spacing is used: the thinning follows it (physical space), not the grid
    np.testing.assert_array_equal(result != 0, topological_skeleton_mask(mask != 0, spacing=(2.0, 1.0, 1.0)))
    assert (topological_skeleton_mask(mask != 0) != (result != 0)).any()
    assert spacing is not None and tuple(spacing) == pytest.approx((2.0, 1.0, 1.0))
    assert betti(result != 0) == (1, 2, 0)
    assert "skeleton voxels" in capsys.readouterr().out

    # per-slice, .npy
    src2 = tmp_path / "eight.npy"
    write_volume(src2, mask)
    out2 = tmp_path / "skel_ps.npy"
    assert main(["skeletonize", str(src2), "-o", str(out2), "--method", "topological", "--per-slice", "-q"]) == 0
    np.testing.assert_array_equal(np.load(out2) != 0, skeletonize(mask != 0, "topological", per_slice=True))

    # a label image keeps its ids
    labels = touching_labels_3d().astype(np.uint16)
    src3 = tmp_path / "labels.tif"
    write_volume(src3, labels)
    out3 = tmp_path / "labels_skel.tif"
    capsys.readouterr()
    assert main(["skeletonize", str(src3), "-o", str(out3), "--method", "topological", "-q"]) == 0
    assert "label image" in capsys.readouterr().err
    np.testing.assert_array_equal(read_volume(out3)[0], skeletonize(labels, "topological"))

    # a probability map with a threshold
    prob = load_sample("vessel_64").image
    src4 = tmp_path / "prob.npy"
    write_volume(src4, prob)
    out4 = tmp_path / "prob_skel.npy"
    assert main(["skeletonize", str(src4), "-o", str(out4), "--method", "topological",
                 "--threshold", "0.4", "-q"]) == 0
    np.testing.assert_array_equal(np.load(out4) != 0, topological_skeleton_mask(prob > 0.4))


# ==========================================================================
# torch: topological_skeleton
# ==========================================================================


def _batch_2d():
    masks = [annulus_2d((24, 24), 4, 9), figure_eight_2d()[:24, :24], random_blob((24, 24), 2, 2.0, 0.0)]
    rng = np.random.default_rng(0)
    probs = [np.where(m, rng.uniform(0.55, 1.0, m.shape), rng.uniform(0.0, 0.45, m.shape)) for m in masks]
    return np.stack(probs).reshape(3, 1, 24, 24)


def test_torch_values_match_numpy_per_image_2d_and_3d():
    p2 = torch.tensor(_batch_2d(), dtype=torch.float32).reshape(1, 3, 24, 24)  # channels too
    out = topological_skeleton(p2)
    for c in range(3):
        np.testing.assert_array_equal(out[0, c].numpy() != 0, topological_skeleton_mask(p2[0, c].numpy() > 0.5))
    vols = np.stack([torus((10, 20, 20), 5.0, 2.0), np.pad(block_with_tunnel()[2:12], ((0, 0), (3, 3), (3, 3)))]).astype(np.float64) * 0.9
    p3 = torch.tensor(vols)[:, None]
    out3 = topological_skeleton(p3)
    for n in range(2):
        np.testing.assert_array_equal(out3[n, 0].numpy() != 0, topological_skeleton_mask(vols[n] > 0.5))
    # threshold
    out_t = topological_skeleton(p2, threshold=0.8)
    np.testing.assert_array_equal(out_t[0, 1].numpy() != 0, topological_skeleton_mask(p2[0, 1].numpy() > 0.8))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_torch_dtype_device_shape_and_input_untouched(dtype):
    x = torch.tensor(_batch_2d()).to(dtype)
    before = x.clone()
    out = topological_skeleton(x)
    assert out.dtype == x.dtype and out.device == x.device and out.shape == x.shape
    assert set(torch.unique(out.float()).tolist()) <= {0.0, 1.0}
    assert torch.equal(x, before)
    out_s = topological_skeleton(x, sample=True, generator=torch.Generator().manual_seed(3))
    assert out_s.dtype == x.dtype and out_s.shape == x.shape
    assert torch.equal(x, before)


def test_torch_non_contiguous_input():
    x = torch.tensor(_batch_2d(), dtype=torch.float32)
    xt = x.transpose(2, 3)
    assert not xt.is_contiguous()
    out = topological_skeleton(xt)
    for n in range(3):
        np.testing.assert_array_equal(out[n, 0].numpy() != 0,
                                      topological_skeleton_mask(xt[n, 0].numpy() > 0.5))


def test_torch_straight_through_gradient():
    x = torch.tensor(_batch_2d(), dtype=torch.float64, requires_grad=True)
    out = topological_skeleton(x)
    assert out.requires_grad
    weight = torch.randn(x.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    (out * weight).sum().backward()
    torch.testing.assert_close(x.grad, weight)  # identity in the backward pass
    # forward values are still the hard skeleton
    hard = topological_skeleton(x.detach())
    assert not hard.requires_grad
    torch.testing.assert_close(out.detach(), hard)
    # no graph under no_grad
    with torch.no_grad():
        assert not topological_skeleton(x).requires_grad
    # 3D too
    v = torch.rand((1, 1, 8, 9, 10), generator=torch.Generator().manual_seed(1), requires_grad=True)
    topological_skeleton(v).sum().backward()
    torch.testing.assert_close(v.grad, torch.ones_like(v))


def test_torch_sampling_is_reproducible():
    x = torch.tensor(_batch_2d(), dtype=torch.float32)
    a = topological_skeleton(x, sample=True, generator=torch.Generator().manual_seed(7))
    b = topological_skeleton(x, sample=True, generator=torch.Generator().manual_seed(7))
    c = topological_skeleton(x, sample=True, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    # the sample is Bernoulli(p): p = 0 / 1 everywhere gives the thresholded skeleton
    hard = (x > 0.5).float()
    torch.testing.assert_close(
        topological_skeleton(hard, sample=True, generator=torch.Generator().manual_seed(0)),
        topological_skeleton(hard),
    )
    # voxels of probability 0 are never sampled; a uniform 0.5 map gives some skeleton
    zero = x.clone()
    zero[:, :, :, :12] = 0
    s = topological_skeleton(zero, sample=True, generator=torch.Generator().manual_seed(1))
    assert not s[:, :, :, :12].any() and s.any()
    half = torch.full((2, 1, 32, 32), 0.5)
    s1 = topological_skeleton(half, sample=True, generator=torch.Generator().manual_seed(2))
    assert s1.any() and not torch.equal(s1[0], s1[1])


@pytest.mark.parametrize(
    "bad",
    [
        lambda: torch.zeros((1, 1, 8, 8), dtype=torch.int64),
        lambda: torch.zeros((1, 1, 8, 8), dtype=torch.bool),
        lambda: torch.zeros((8, 8)),
        lambda: torch.zeros((1, 8, 8)),
        lambda: torch.zeros((1, 1, 1, 4, 4, 4)),
        lambda: np.zeros((1, 1, 8, 8), np.float32),
    ],
    ids=["int", "bool", "2d", "3d_without_channel", "6d", "numpy"],
)
def test_torch_bad_input(bad):
    with pytest.raises(ValueError):
        topological_skeleton(bad())


def _optimise(target_mask: np.ndarray, steps=50, lr=0.2, seed=0):
    target = torch.from_numpy(topological_skeleton_mask(target_mask).astype(np.float32))[None, None]
    start = torch.randn(target.shape, generator=torch.Generator().manual_seed(seed))
    logits = torch.nn.Parameter(0.5 * start)
    opt = torch.optim.Adam([logits], lr=lr)
    losses = []
    for _ in range(steps):
        p = torch.sigmoid(logits)
        skel = topological_skeleton(p)
        loss = torch.mean((skel - target) ** 2) + 1e-3 * torch.mean(p)
        opt.zero_grad()
        loss.backward()
        assert logits.grad is not None and torch.isfinite(logits.grad).all()
        opt.step()
        losses.append(loss.item())
    return losses


def test_optimising_a_probability_map_towards_a_skeleton_2d():
    losses = _optimise(annulus_2d((24, 24), 4, 9))
    assert losses[-1] < 0.25 * losses[0], losses[::5]
    assert min(losses[-5:]) < 0.02


def test_optimising_a_probability_map_towards_a_skeleton_3d():
    losses = _optimise(torus((16, 16, 16), 5.0, 2.0), steps=50, lr=0.2)
    assert losses[-1] < 0.25 * losses[0], losses[::5]


def test_torch_empty_batch_and_error_name():
    import torch

    from napari_soft_skeleton import topological_skeleton

    assert topological_skeleton(torch.zeros((0, 1, 8, 8))).shape == (0, 1, 8, 8)
    with pytest.raises(ValueError, match="topological_skeleton expects"):
        topological_skeleton(torch.zeros(3, 3))


def _blobs(seed, shape, sigma=2.0):
    rng = np.random.default_rng(seed)
    return ndi.gaussian_filter(rng.random(shape), sigma) > 0.5


def test_torch_peeling_equals_numpy_per_image_and_in_a_batch():
    import torch

    from napari_soft_skeleton.topological import _thin_torch, topological_skeleton_mask

    for shape in [(26, 28, 30), (48, 44)]:
        batch = np.stack([_blobs(seed, shape) for seed in range(3)])
        got = _thin_torch(torch.from_numpy(batch)).numpy()
        for image, skel in zip(batch, got):  # (the peelings: spurs are pruned after, on the CPU)
            np.testing.assert_array_equal(skel, topological_skeleton_mask(image, spurs="keep"))
    vessel = load_sample("vessel_64").mask
    np.testing.assert_array_equal(
        _thin_torch(torch.from_numpy(vessel)[None]).numpy()[0], topological_skeleton_mask(vessel, spurs="keep")
    )


def test_cuda_topological_skeleton_equals_cpu():
    import torch

    from napari_soft_skeleton import topological_skeleton

    if not torch.cuda.is_available():
        pytest.skip("CUDA not available")
    x = torch.from_numpy(np.stack([_blobs(s, (24, 26, 28)) for s in range(2)]).astype(np.float32))[:, None]
    cpu = topological_skeleton(x)
    gpu = topological_skeleton(x.cuda())
    assert gpu.device.type == "cuda"
    assert torch.equal(gpu.cpu(), cpu)
    # the NumPy front end on the GPU: masks, slices and labels
    vessel = load_sample("vessel_128").mask
    labels = random_labels((20, 24, 26), 3)
    for data, per_slice in [(vessel, False), (vessel, True), (labels, False)]:
        np.testing.assert_array_equal(
            skeletonize(data, "topological", per_slice=per_slice, device="cuda"),
            skeletonize(data, "topological", per_slice=per_slice, device="cpu"),
        )


# ==========================================================================
# the GPU path: lookup table, device routing (run here on the CPU)
# ==========================================================================


def test_simple_point_table_matches_brute_force():
    from napari_soft_skeleton.topological import simple_point_table

    table2 = simple_point_table(2)
    assert table2.dtype == torch.bool and table2.shape == (256,)
    cubes = [np.array([(k >> i) & 1 for i in range(4)] + [1] + [(k >> i) & 1 for i in range(4, 8)],
                      bool).reshape(3, 3) for k in range(256)]
    codes = [package_code(c) for c in cubes]
    assert [bool(table2[c]) for c in codes] == [brute_simple(c) for c in cubes]

    table3 = simple_point_table(3)
    assert table3.dtype == torch.bool and table3.shape == (2**26,)
    assert simple_point_table(3) is table3  # built once
    rng = np.random.default_rng(99)
    density = rng.uniform(0.05, 0.95, 3000)
    cubes = rng.random((3000, 3, 3, 3)) < density[:, None, None, None]
    cubes[:, 1, 1, 1] = True
    codes = torch.tensor([package_code(c) for c in cubes])
    expected = torch.tensor([brute_simple(c) for c in cubes])
    assert torch.equal(table3[codes], expected)
    assert 0.2 < expected.float().mean() < 0.8


@pytest.mark.parametrize("name", [n for n in ADVERSARIAL if n not in ("empty_2d", "empty_3d")])
def test_torch_compiled_and_numpy_peelings_agree_on_adversarial_shapes(name, monkeypatch):
    from napari_soft_skeleton import topological
    from napari_soft_skeleton.topological import _thin_torch

    mask = ADVERSARIAL[name][0]()
    monkeypatch.setattr(topological, "_ENGINE", "numpy")
    expected = topological_skeleton_mask(mask)
    monkeypatch.setattr(topological, "_ENGINE", "compiled")  # (numba: the default on big jobs)
    np.testing.assert_array_equal(topological_skeleton_mask(mask), expected)
    got = _thin_torch(torch.from_numpy(mask)[None]).numpy()[0]
    np.testing.assert_array_equal(got, expected)


def test_torch_peeling_in_chunks_equals_numpy(monkeypatch):
    from napari_soft_skeleton import _torch_peel

    mask = load_sample("vessel_64").mask
    monkeypatch.setattr(_torch_peel, "_GATHER_CHUNK", 26 * 37)  # blocks split into many gathers
    got = _torch_peel._thin_torch(torch.from_numpy(mask)[None]).numpy()[0]
    np.testing.assert_array_equal(got, topological_skeleton_mask(mask))


def _pretend_gpu(monkeypatch, calls):
    """Make ``skeletonize`` believe a GPU is there; the device path then runs on the CPU."""
    module = importlib.import_module("napari_soft_skeleton._front_thin")  # (the thinning dispatch)

    class FakeDevice:
        type = "cuda"

    real = module._thin_on_device

    def on_device(batch, dev, labels=False, progress=None, spacing=None):
        calls.append((batch.shape, labels))
        return real(batch, torch.device("cpu"), labels, progress, spacing)

    monkeypatch.setattr(module, "resolve_device", lambda device: FakeDevice())
    monkeypatch.setattr(module, "_thin_on_device", on_device)


def test_skeletonize_topological_uses_the_device_path_with_the_same_result(monkeypatch):
    vessel = load_sample("vessel_64").mask
    labels = random_labels((20, 24, 26), 3)
    expected = [skeletonize(vessel, "topological"), skeletonize(vessel, "topological", per_slice=True),
                skeletonize(labels, "topological")]
    calls = []
    _pretend_gpu(monkeypatch, calls)
    got = [skeletonize(vessel, "topological"), skeletonize(vessel, "topological", per_slice=True),
           skeletonize(labels, "topological")]
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
    assert calls[0] == ((1, 64, 64, 64), False)
    assert calls[1] == ((64, 64, 64), False)  # every slice in one batch
    assert calls[2:] == [((1, 20, 24, 26), True)]  # every label at once


def test_device_out_of_memory_falls_back_to_the_cpu(monkeypatch):
    module = importlib.import_module("napari_soft_skeleton._front_thin")  # (the thinning dispatch)
    # (torch's 'meta' device stands in for a GPU: tensors without data, so the fake OOM comes first)

    def out_of_memory(batch, labels=False, progress=None, spacing=None):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(module, "_thin_torch", out_of_memory)
    vessel = load_sample("vessel_64").mask
    with pytest.warns(RuntimeWarning, match="out of memory on meta; computing the topological"):
        got = module._thin_on_device(vessel[None], torch.device("meta"))
    np.testing.assert_array_equal(got[0], topological_skeleton_mask(vessel, spurs="keep"))  # (pruned after)
    labels = random_labels((14, 16, 18), 4).astype(np.int32)
    with pytest.warns(RuntimeWarning, match="out of memory"):
        got = module._thin_on_device(labels[None], torch.device("meta"), labels=True)
    np.testing.assert_array_equal(got[0], topological_skeleton_labels(labels, spurs="keep"))

    def other_error(batch, labels=False, progress=None, spacing=None):
        raise RuntimeError("device-side assert triggered")

    monkeypatch.setattr(module, "_thin_torch", other_error)
    with pytest.raises(RuntimeError, match="device-side assert"):
        module._thin_on_device(vessel[None], torch.device("meta"))


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.int32, np.uint64])
def test_result_is_a_compact_array_not_a_view_of_the_padding(dtype):
    from napari_soft_skeleton.topological import topological_skeleton_labels

    vol = np.zeros((12, 14, 16), dtype)
    vol[3:9, 4:10, 2:14] = 1
    out = topological_skeleton_labels(vol)
    assert out.dtype == vol.dtype and out.shape == vol.shape and out.flags.c_contiguous
    owner = out if out.base is None else out.base
    assert owner.nbytes == out.nbytes  # the padded working copy is not kept alive
