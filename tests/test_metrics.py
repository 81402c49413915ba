"""Tests for napari_soft_skeleton.metrics."""

import itertools
import json
import math

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.draw import circle_perimeter, line_nd
from skimage.measure import euler_number
from skimage.morphology import ball, disk, skeletonize

from napari_soft_skeleton import metrics
from napari_soft_skeleton.metrics import (
    DIFFERENCE_BOTH,
    DIFFERENCE_CANDIDATE_ONLY,
    DIFFERENCE_NONE,
    DIFFERENCE_REFERENCE_ONLY,
    ClDiceScore,
    SkeletonComparison,
    betti_numbers,
    cldice,
    compare,
    difference_labels,
)

# ---------------------------------------------------------------------------
# Shape builders
# ---------------------------------------------------------------------------


def square_ring_2d(size=9, lo=2, hi=6):
    img = np.zeros((size, size), dtype=bool)
    img[lo : hi + 1, lo] = img[lo : hi + 1, hi] = True
    img[lo, lo : hi + 1] = img[hi, lo : hi + 1] = True
    return img


def circle_ring_2d(radius=8):
    img = np.zeros((2 * radius + 5,) * 2, dtype=bool)
    rr, cc = circle_perimeter(radius + 2, radius + 2, radius)
    img[rr, cc] = True
    return img


def polyline(shape, points, closed=False):
    img = np.zeros(shape, dtype=bool)
    pts = list(points) + ([points[0]] if closed else [])
    for a, b in zip(pts[:-1], pts[1:]):
        img[line_nd(a, b, endpoint=True)] = True
    return img


def ring_3d_planar():
    img = np.zeros((7, 9, 9), dtype=bool)
    img[3] = square_ring_2d()
    return img


def ring_3d_skew():
    # A closed polygon that is only 26-connected (diagonal steps in 3D).
    return polyline(
        (14, 14, 14),
        [(2, 2, 2), (10, 5, 3), (11, 11, 9), (4, 10, 11)],
        closed=True,
    )


def solid_ball(radius=5):
    return np.pad(ball(radius).astype(bool), 2)


def hollow_shell(outer=6, inner=4):
    out = ball(outer).astype(bool)
    inn = np.pad(ball(inner).astype(bool), outer - inner)
    return np.pad(out & ~inn, 2)


def torus(R=8, r=3):
    n = 2 * (R + r) + 5
    z, y, x = np.mgrid[:n, :n, :n] - n // 2
    return (np.sqrt(x**2 + y**2) - R) ** 2 + z**2 <= r**2


# ---------------------------------------------------------------------------
# Independent reference computations (for cross-checks)
# ---------------------------------------------------------------------------


def cubical_euler(mask):
    """Euler characteristic of the union of closed unit cubes (squares).

    Counts every k-dimensional face of the cubical complex spanned by the
    foreground voxels: chi = sum_k (-1)^k (number of distinct k-cells).
    Corresponds to 8-/26-connectivity of the foreground.
    """
    ndim = mask.ndim
    coords = np.argwhere(mask)
    chi = 0
    for k in range(ndim + 1):
        cells = set()
        for spanned in itertools.combinations(range(ndim), k):
            fixed = [a for a in range(ndim) if a not in spanned]
            for offs in itertools.product((0, 1), repeat=len(fixed)):
                delta = np.zeros(ndim, dtype=int)
                delta[fixed] = offs
                for p in coords + delta:
                    cells.add((spanned, tuple(p)))
        chi += (-1) ** k * len(cells)
    return chi


def enclosed_background(mask):
    """Background components (4/6-connected) that do not touch the border."""
    labels, n = ndi.label(~mask, ndi.generate_binary_structure(mask.ndim, 1))
    border = set()
    for axis in range(mask.ndim):
        border |= set(np.unique(np.take(labels, 0, axis=axis)))
        border |= set(np.unique(np.take(labels, -1, axis=axis)))
    return len(set(range(1, n + 1)) - border)


def independent_betti(mask):
    b0 = ndi.label(mask, np.ones((3,) * mask.ndim))[1]
    holes = enclosed_background(mask)
    chi = cubical_euler(mask)
    if mask.ndim == 2:
        assert b0 - chi == holes  # Alexander duality in the plane
        return (b0, holes)
    return (b0, b0 + holes - chi, holes)


def brute_force_matched(query, target, spacing, tol):
    """Matched query voxels via a full-array EDT (no cropping, no tree)."""
    if not target.any():
        return 0
    dist = ndi.distance_transform_edt(~target, sampling=spacing)
    return int(np.count_nonzero(dist[query] <= tol + 1e-9))


# ---------------------------------------------------------------------------
# Betti numbers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("ring", [square_ring_2d(), circle_ring_2d()])
def test_betti_ring_2d(ring):
    assert betti_numbers(ring) == (1, 1)


@pytest.mark.parametrize("ring", [ring_3d_planar(), ring_3d_skew()])
def test_betti_ring_3d(ring):
    assert betti_numbers(ring) == (1, 1, 0)


def test_skew_ring_is_only_26_connected():
    # Guards the test above: the skew loop must need diagonal steps.
    ring = ring_3d_skew()
    n6 = ndi.label(ring, ndi.generate_binary_structure(3, 1))[1]
    assert n6 > 1
    assert ndi.label(ring, np.ones((3, 3, 3)))[1] == 1


def test_betti_solid_shapes():
    assert betti_numbers(solid_ball()) == (1, 0, 0)
    assert betti_numbers(np.pad(disk(5).astype(bool), 2)) == (1, 0)
    cube = np.zeros((6, 6, 6), dtype=bool)
    cube[1:5, 1:5, 1:5] = True
    assert betti_numbers(cube) == (1, 0, 0)


def test_betti_hollow_shell_and_torus():
    assert betti_numbers(hollow_shell()) == (1, 0, 1)
    assert betti_numbers(torus()) == (1, 1, 0)


def test_betti_disjoint_segments():
    img2 = np.zeros((10, 10), dtype=bool)
    img2[2, 1:8] = True
    img2[6, 1:8] = True
    assert betti_numbers(img2) == (2, 0)
    img3 = np.zeros((6, 10, 10), dtype=bool)
    img3[1, 2, 1:8] = True
    img3[4, 6, 1:8] = True
    assert betti_numbers(img3) == (2, 0, 0)


def test_betti_diagonal_contact_is_connected():
    img = np.zeros((5, 5, 5), dtype=bool)
    img[1, 1, 1] = img[2, 2, 2] = True  # corner contact: 26-connected
    assert betti_numbers(img) == (1, 0, 0)
    img2 = np.zeros((4, 4), dtype=bool)
    img2[1, 1] = img2[2, 2] = True
    assert betti_numbers(img2) == (1, 0)


def test_betti_figure_eight():
    eight = np.zeros((9, 13), dtype=bool)
    eight[2, 2:11] = eight[6, 2:11] = True
    eight[2:7, 2] = eight[2:7, 6] = eight[2:7, 10] = True
    assert betti_numbers(eight) == (1, 2)
    vol = np.zeros((5, 9, 13), dtype=bool)
    vol[2] = eight
    assert betti_numbers(vol) == (1, 2, 0)
    # Two skew loops sharing one vertex.
    a = polyline((16, 16, 16), [(8, 8, 8), (2, 3, 4), (3, 12, 2)], closed=True)
    b = polyline((16, 16, 16), [(8, 8, 8), (13, 4, 12), (12, 13, 13)], closed=True)
    assert betti_numbers(a | b) == (1, 2, 0)


def test_betti_empty_and_full():
    assert betti_numbers(np.zeros((4, 5), dtype=bool)) == (0, 0)
    assert betti_numbers(np.zeros((3, 4, 5), dtype=bool)) == (0, 0, 0)
    assert betti_numbers(np.ones((3, 4, 5), dtype=np.uint8)) == (1, 0, 0)


def test_betti_accepts_integer_labels_and_float01():
    ring = square_ring_2d().astype(np.int32) * 7
    assert betti_numbers(ring) == (1, 1)
    assert betti_numbers(square_ring_2d().astype(np.float32)) == (1, 1)


@pytest.mark.parametrize("seed", range(4))
def test_betti_matches_independent_computation_3d(seed):
    rng = np.random.default_rng(seed)
    vol = rng.random((9, 10, 11)) < 0.35
    assert betti_numbers(vol) == independent_betti(vol)


@pytest.mark.parametrize("seed", range(4))
def test_betti_matches_independent_computation_2d(seed):
    rng = np.random.default_rng(100 + seed)
    img = rng.random((25, 30)) < 0.45
    assert betti_numbers(img) == independent_betti(img)


@pytest.mark.parametrize("ndim", [2, 3])
def test_euler_characteristic_matches_skimage(ndim):
    rng = np.random.default_rng(ndim)
    for density in (0.1, 0.3, 0.6):
        img = rng.random((12,) * ndim) < density
        padded = np.pad(img, 1)
        expected = euler_number(img, connectivity=ndim)
        assert metrics._topology._euler_characteristic(padded) == expected
        assert cubical_euler(img) == expected


def test_euler_characteristic_conventions():
    cube = np.zeros((5, 5, 5), dtype=bool)
    cube[1:4, 1:4, 1:4] = True
    assert metrics._topology._euler_characteristic(np.pad(cube, 1)) == 1
    assert metrics._topology._euler_characteristic(np.pad(ring_3d_skew(), 1)) == 0
    assert metrics._topology._euler_characteristic(np.pad(hollow_shell(), 1)) == 2
    for shape, chi in ((cube, 1), (ring_3d_skew(), 0), (hollow_shell(), 2)):
        assert euler_number(shape, connectivity=3) == chi


def test_betti_independent_on_known_shapes():
    for shape in (ring_3d_skew(), hollow_shell(4, 2), torus(5, 2)):
        assert betti_numbers(shape) == independent_betti(shape)


# ---------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------


def tree_skeleton_3d():
    return polyline(
        (20, 24, 24),
        [(2, 3, 3), (10, 12, 12), (18, 20, 4)],
    ) | polyline((20, 24, 24), [(10, 12, 12), (17, 5, 21)])


def test_compare_with_itself():
    skel = tree_skeleton_3d()
    res = compare(skel, skel)
    assert isinstance(res, SkeletonComparison)
    assert res.precision == res.recall == res.f1 == 1.0
    assert res.n_reference == res.n_candidate == res.n_both == skel.sum()
    assert res.betti_reference == res.betti_candidate == (1, 0, 0)
    assert res.length_reference == res.length_candidate > 0
    nonempty = skel.reshape(skel.shape[0], -1).any(axis=1)
    agreement = res.per_slice["agreement"]
    np.testing.assert_array_equal(agreement[nonempty], 1.0)
    assert np.isnan(agreement[~nonempty]).all()
    assert (~nonempty).any()  # the test covers empty slices too


def test_compare_shifted_copy_tolerance():
    ref = np.zeros((12, 30, 30), dtype=bool)
    ref[6, 15, 3:27] = True
    ref[6, 3:27, 15] = True
    cand = np.roll(ref, 1, axis=1)
    res = compare(ref, cand, tolerance=1.5)
    assert res.precision == res.recall == res.f1 == 1.0
    strict = compare(ref, cand, tolerance=0.5)
    assert strict.f1 < 1.0
    # Only the voxels on the line along axis 1 still overlap after the shift.
    assert strict.n_both == 23
    assert strict.matched_candidate == strict.n_both


def test_compare_anisotropic_spacing():
    ref = np.zeros((8, 20, 20), dtype=bool)
    ref[3, 10, 2:18] = True
    z_shift = np.roll(ref, 1, axis=0)
    y_shift = np.roll(ref, 1, axis=1)
    assert compare(ref, z_shift, tolerance=1.5).f1 == 1.0
    coarse_z = compare(ref, z_shift, spacing=(4, 1, 1), tolerance=1.5)
    assert coarse_z.units == "physical"
    assert coarse_z.precision == coarse_z.recall == 0.0
    assert compare(ref, z_shift, spacing=(4, 1, 1), tolerance=4.0).f1 == 1.0
    assert compare(ref, y_shift, spacing=(4, 1, 1), tolerance=1.5).f1 == 1.0
    # Fine spacing: 3 voxels of 0.1 are within 0.3 despite rounding.
    shift3 = np.roll(ref, 3, axis=2)
    res = compare(ref, shift3, spacing=0.1, tolerance=0.3)
    assert res.precision == 1.0 and res.spacing == (0.1, 0.1, 0.1)


@pytest.mark.parametrize("seed", range(3))
def test_compare_matches_brute_force_distances(seed):
    rng = np.random.default_rng(seed)
    shape = (10, 16, 18)
    ref = rng.random(shape) < 0.01
    cand = rng.random(shape) < 0.01
    spacing = (2.0, 0.7, 1.3)
    res = compare(ref, cand, spacing=spacing, tolerance=2.1)
    assert res.matched_candidate == brute_force_matched(cand, ref, spacing, 2.1)
    assert res.matched_reference == brute_force_matched(ref, cand, spacing, 2.1)
    assert res.precision == pytest.approx(res.matched_candidate / cand.sum())
    assert res.recall == pytest.approx(res.matched_reference / ref.sum())
    p, r = res.precision, res.recall
    assert res.f1 == pytest.approx(2 * p * r / (p + r))


def test_compare_dense_and_sparse_paths_agree(monkeypatch):
    rng = np.random.default_rng(7)
    ref = rng.random((12, 14, 15)) < 0.2
    cand = rng.random((12, 14, 15)) < 0.2
    kwargs = dict(spacing=(1.5, 1.0, 0.8), tolerance=1.2)
    monkeypatch.setattr(metrics._distance, "_DENSE_FRACTION", 0.0)
    dense = compare(ref, cand, **kwargs)
    monkeypatch.setattr(metrics._distance, "_DENSE_FRACTION", np.inf)
    sparse = compare(ref, cand, **kwargs)
    assert dense.matched_candidate == sparse.matched_candidate
    assert dense.matched_reference == sparse.matched_reference
    for key in dense.per_slice:
        np.testing.assert_array_equal(dense.per_slice[key], sparse.per_slice[key])
    assert 0 < dense.precision < 1


def test_lengths():
    line = np.zeros((5, 6, 14), dtype=bool)
    line[2, 3, 2:12] = True  # 10 voxels
    res = compare(line, line)
    assert res.length_reference == pytest.approx(9.0)
    assert res.units == "voxels"
    res = compare(line, line, spacing=(4.0, 2.0, 0.5))
    assert res.length_candidate == pytest.approx(4.5)
    zline = np.zeros((12, 4, 4), dtype=bool)
    zline[1:11, 2, 2] = True
    zres = compare(zline, zline, spacing=(4, 1, 1))
    assert zres.length_reference == pytest.approx(36)
    diag = np.zeros((12, 12, 12), dtype=bool)
    idx = np.arange(1, 11)
    diag[idx, idx, idx] = True
    assert compare(diag, diag).length_reference == pytest.approx(9 * math.sqrt(3))
    # Closed square loop of 16 pixels: 16 unit steps, corners not doubled.
    sq = compare(square_ring_2d(), square_ring_2d())
    assert sq.length_reference == pytest.approx(16)
    # Digital circle: close to 2 * pi * r.
    circ = compare(circle_ring_2d(20), circle_ring_2d(20)).length_reference
    assert circ == pytest.approx(2 * math.pi * 20, rel=0.08)


def test_lengths_of_degenerate_skeletons():
    empty = np.zeros((4, 5, 6), dtype=bool)
    single = empty.copy()
    single[2, 2, 2] = True
    res = compare(empty, single)
    assert res.length_reference == 0.0
    assert res.length_candidate == 0.0
    assert res.betti_candidate == (1, 0, 0)


def test_edge_cases_empty():
    empty = np.zeros((4, 6, 6), dtype=bool)
    skel = empty.copy()
    skel[1, 2, 1:5] = True
    both = compare(empty, empty)
    assert (both.precision, both.recall, both.f1) == (1.0, 1.0, 1.0)
    assert np.isnan(both.per_slice["agreement"]).all()
    assert both.worst_slices().size == 0
    no_cand = compare(skel, empty)
    assert (no_cand.precision, no_cand.recall, no_cand.f1) == (1.0, 0.0, 0.0)
    no_ref = compare(empty, skel)
    assert (no_ref.precision, no_ref.recall, no_ref.f1) == (0.0, 1.0, 0.0)
    assert no_ref.per_slice["agreement"][1] == 0.0
    assert no_ref.per_slice["precision"][1] == 0.0
    assert no_ref.per_slice["recall"][1] == 1.0
    # Empty slices follow the same vacuous rule for precision / recall / f1.
    assert no_ref.per_slice["f1"][0] == 1.0


def test_per_slice_sums_and_lengths():
    rng = np.random.default_rng(3)
    ref = rng.random((9, 12, 13)) < 0.03
    cand = ref.copy()
    cand[rng.random(cand.shape) < 0.02] = True
    cand[rng.random(cand.shape) < 0.3] = False
    res = compare(ref, cand, tolerance=1.0)
    ps = res.per_slice
    assert set(ps) == {
        "n_reference",
        "n_candidate",
        "n_both",
        "matched_reference",
        "matched_candidate",
        "precision",
        "recall",
        "f1",
        "agreement",
        "sparse",
    }
    for value in ps.values():
        assert value.shape == (ref.shape[0],)
    assert ps["n_reference"].sum() == res.n_reference == ref.sum()
    assert ps["n_candidate"].sum() == res.n_candidate == cand.sum()
    assert ps["n_both"].sum() == res.n_both == (ref & cand).sum()
    assert ps["matched_reference"].sum() == res.matched_reference
    assert ps["matched_candidate"].sum() == res.matched_candidate
    np.testing.assert_array_equal(
        ps["n_reference"], ref.reshape(ref.shape[0], -1).sum(axis=1)
    )


def test_per_slice_2d_is_per_row():
    ref = np.zeros((6, 10), dtype=bool)
    ref[2, 1:9] = True
    ref[4, 1:9] = True
    res = compare(ref, ref)
    np.testing.assert_array_equal(res.per_slice["n_reference"], [0, 0, 8, 0, 8, 0])
    assert res.betti_reference == (2, 0)


def test_worst_slices_finds_disagreement():
    ref = np.zeros((10, 30, 30), dtype=bool)
    ref[::2, 15, 2:28] = True  # every other slice: slices are 2 voxels apart
    cand = ref.copy()
    cand[6] = False
    cand[6, 3, 2:28] = True  # far away in slice 6
    cand[2, 15, 2:10] = False  # partly missing in slice 2
    res = compare(ref, cand)
    worst = res.worst_slices(k=2)
    assert list(worst) == [6, 2]
    assert res.per_slice["agreement"][6] < res.per_slice["agreement"][2] < 1.0
    assert len(res.worst_slices(k=50)) == 5  # only slices with a skeleton
    assert res.per_slice["agreement"][[0, 4, 8]].tolist() == [1.0, 1.0, 1.0]
    assert res.worst_slices(k=0).size == 0


def test_mask_restricts_both_skeletons():
    ref = np.zeros((4, 20, 20), dtype=bool)
    ref[2, 10, 2:18] = True
    cand = ref.copy()
    cand[2, 2, 2:18] = True  # extra branch, outside the mask
    roi = np.zeros_like(ref)
    roi[:, 5:, :] = True
    assert compare(ref, cand).precision < 1.0
    res = compare(ref, cand, mask=roi)
    assert res.masked
    assert res.precision == res.recall == 1.0
    assert res.n_candidate == res.n_reference == 16


def test_integer_label_skeleton_equals_boolean():
    skel = tree_skeleton_3d()
    labels = ndi.label(skel, np.ones((3, 3, 3)))[0].astype(np.uint16) * 3
    res = compare(labels, skel)
    assert res.f1 == 1.0 and res.n_both == skel.sum()


def test_to_dict_json_roundtrip():
    ref = np.zeros((5, 8, 8), dtype=bool)
    ref[1, 4, 1:7] = True
    cand = np.roll(ref, 2, axis=1)
    res = compare(ref, cand, spacing=(2, 1, 1), tolerance=1.0)
    text = json.dumps(res.to_dict(), allow_nan=False)
    back = json.loads(text)
    assert back["precision"] == res.precision
    assert back["betti_reference"] == list(res.betti_reference)
    assert back["spacing"] == [2.0, 1.0, 1.0]
    assert back["per_slice"]["n_reference"] == res.per_slice["n_reference"].tolist()
    assert back["per_slice"]["agreement"][0] is None  # NaN -> null
    assert back["units"] == "physical"
    # Nothing numpy-typed may leak into the dict.
    json.dumps(compare(ref, ref).to_dict(), allow_nan=False)


# ---------------------------------------------------------------------------
# clDice
# ---------------------------------------------------------------------------


def tube_3d():
    vol = np.zeros((12, 24, 24), dtype=bool)
    vol[4:8, 10:14, 2:22] = True
    vol[4:8, 2:22, 10:14] = True
    return vol


def test_cldice_self_and_disjoint():
    vol = tube_3d()
    score = cldice(vol, vol)
    assert isinstance(score, ClDiceScore)
    assert score.cldice == score.topology_precision == score.topology_sensitivity == 1.0
    assert score.n_prediction_skeleton > 0
    other = np.roll(vol, 5, axis=0)
    assert not (other & vol).any()
    assert cldice(vol, other).cldice == 0.0
    seg = np.zeros((9, 20), dtype=bool)
    seg[3:6, 2:18] = True
    assert cldice(seg, seg).cldice == 1.0


def test_cldice_known_partial_value_with_given_skeletons():
    target = np.zeros((10, 20), dtype=bool)
    target[4:7, 2:18] = True
    prediction = target.copy()
    prediction[0:4, 8:11] = True  # a spurious branch
    s_target = np.zeros_like(target)
    s_target[5, 3:17] = True  # 14 voxels, all inside prediction
    s_pred = s_target.copy()
    s_pred[0:5, 9] = True  # 5 more voxels; rows 0..3 are outside target
    score = cldice(
        prediction, target, prediction_skeleton=s_pred, target_skeleton=s_target
    )
    assert score.topology_sensitivity == 1.0
    assert score.topology_precision == pytest.approx(15 / 19)
    tp = 15 / 19
    assert score.cldice == pytest.approx(2 * tp / (tp + 1))
    assert json.loads(json.dumps(score.to_dict()))["n_prediction_skeleton"] == 19


def test_cldice_empty_cases():
    empty = np.zeros((6, 6, 6), dtype=bool)
    vol = empty.copy()
    vol[2:4, 2:4, 1:5] = True
    # skeletonize erases this bar; cldice must still not ignore it.
    assert not skeletonize(vol).any()
    assert cldice(empty, empty).cldice == 1.0
    miss = cldice(empty, vol)
    assert (miss.topology_precision, miss.topology_sensitivity, miss.cldice) == (
        1.0,
        0.0,
        0.0,
    )
    extra = cldice(vol, empty)
    assert (extra.topology_precision, extra.topology_sensitivity, extra.cldice) == (
        0.0,
        1.0,
        0.0,
    )


def test_cldice_keeps_components_erased_by_skeletonize():
    target = np.zeros((10, 12, 30), dtype=bool)
    target[2:5, 2:5, 2:26] = True  # a bar with a proper skeleton
    target[7:9, 7:9, 7:9] = True  # a 2x2x2 blob that skeletonize erases
    prediction = target.copy()
    prediction[7:9, 7:9, 7:9] = False  # the prediction misses the blob
    score = cldice(prediction, target)
    assert score.topology_precision == 1.0
    # Exactly one target skeleton voxel (the blob's) lies outside prediction.
    n = score.n_target_skeleton
    assert score.topology_sensitivity == pytest.approx((n - 1) / n)
    assert score.cldice < 1.0


# ---------------------------------------------------------------------------
# difference_labels
# ---------------------------------------------------------------------------


def test_difference_labels_codes():
    assert (DIFFERENCE_NONE, DIFFERENCE_BOTH) == (0, 1)
    assert (DIFFERENCE_REFERENCE_ONLY, DIFFERENCE_CANDIDATE_ONLY) == (2, 3)
    ref = np.array([[1, 1, 0, 0]])
    cand = np.array([[1, 0, 1, 0]])
    out = difference_labels(ref, cand)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, [[1, 2, 3, 0]])
    rng = np.random.default_rng(0)
    a = rng.random((4, 5, 6)) < 0.5
    b = rng.random((4, 5, 6)) < 0.5
    lab = difference_labels(a, b)
    assert lab.shape == a.shape
    np.testing.assert_array_equal(lab == DIFFERENCE_BOTH, a & b)
    np.testing.assert_array_equal(lab == DIFFERENCE_REFERENCE_ONLY, a & ~b)
    np.testing.assert_array_equal(lab == DIFFERENCE_CANDIDATE_ONLY, ~a & b)
    np.testing.assert_array_equal(lab == DIFFERENCE_NONE, ~a & ~b)


# ---------------------------------------------------------------------------
# Errors and input immutability
# ---------------------------------------------------------------------------


def test_error_messages():
    a = np.zeros((3, 4), dtype=bool)
    b = np.zeros((3, 5), dtype=bool)
    with pytest.raises(ValueError, match=r"same shape; got \(3, 4\) and \(3, 5\)"):
        compare(a, b)
    with pytest.raises(ValueError, match="reference must be a 2D or 3D array; got 1D"):
        compare(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="must be a 2D or 3D array; got 4D"):
        betti_numbers(np.zeros((2, 2, 2, 2), dtype=bool))
    with pytest.raises(ValueError, match="mask must be a 2D or 3D array; got 1D"):
        betti_numbers([1, 0, 1])
    with pytest.raises(ValueError, match="boolean, integer or 0/1 floating-point"):
        compare(np.array([["a", "b"], ["c", "d"]]), a[:2, :2])
    with pytest.raises(ValueError, match="boolean, integer"):
        betti_numbers(np.zeros((3, 3), dtype=complex))
    with pytest.raises(ValueError, match="candidate must be binary"):
        compare(a, np.full((3, 4), 0.5))
    with pytest.raises(ValueError, match="mask must have the same shape|same shape"):
        compare(a, a, mask=b)
    with pytest.raises(ValueError, match="spacing must have one value per axis"):
        compare(a, a, spacing=(1, 1, 1))
    with pytest.raises(ValueError, match="spacing values must be finite and positive"):
        compare(a, a, spacing=(1, 0))
    with pytest.raises(ValueError, match="tolerance must be finite and non-negative"):
        compare(a, a, tolerance=-1)
    with pytest.raises(ValueError, match="tolerance must be a non-negative real"):
        compare(a, a, tolerance="1")
    with pytest.raises(ValueError, match="k must be a non-negative integer"):
        compare(a, a).worst_slices(k=-1)
    with pytest.raises(ValueError, match="prediction and target must have the same"):
        cldice(a, b)
    with pytest.raises(ValueError, match="target and target_skeleton must have the"):
        cldice(a, a, target_skeleton=b)
    with pytest.raises(ValueError, match="reference and candidate must have the same"):
        difference_labels(a, b)


def test_inputs_not_modified():
    rng = np.random.default_rng(5)
    ref = (rng.random((6, 10, 10)) < 0.1).astype(np.uint8) * 4
    cand = rng.random((6, 10, 10)) < 0.1
    roi = rng.random((6, 10, 10)) < 0.7
    seg = np.zeros((6, 10, 10), dtype=bool)
    seg[2:4, 2:8, 2:8] = True
    arrays = [ref, cand, roi, seg]
    copies = [x.copy() for x in arrays]
    for x in arrays:
        x.flags.writeable = False  # any in-place write would raise
    compare(ref, cand, mask=roi, spacing=(2, 1, 1))
    compare(cand, cand)
    betti_numbers(ref)
    betti_numbers(seg)
    cldice(seg, cand)
    cldice(seg, seg, prediction_skeleton=ref, target_skeleton=cand)
    difference_labels(ref, cand)
    for x, c in zip(arrays, copies):
        np.testing.assert_array_equal(x, c)
        assert x.dtype == c.dtype
