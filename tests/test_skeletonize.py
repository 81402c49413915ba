"""Tests of the NumPy front end ``napari_soft_skeleton.skeletonize``.

Values are checked against independent references only:

* ``naive_reference.naive_soft_skeleton`` -- the clDice formula written
  literally with ``max_pool`` (float64), for ``method="soft"``;
* ``skimage.morphology.skeletonize`` for ``method="lee"`` / ``"zhang"``;
* ``scipy.ndimage.distance_transform_cdt`` (city-block) for the number of
  iterations ``iterations="auto"`` uses on masks.

"""

import importlib
import warnings

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
from skimage.morphology import skeletonize as sk_skeletonize

import napari_soft_skeleton.soft as soft_mod
from napari_soft_skeleton import load_sample, skeletonize
from napari_soft_skeleton.skeletonize import available_devices, resolve_device
from naive_reference import naive_soft_skeleton


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def naive_map(arr, iterations, per_slice=False):
    """The naive clDice formula in float64 on a 2-D/3-D array (or a batch of 2-D slices)."""
    t = torch.from_numpy(np.array(arr, dtype=np.float64))
    t = t[:, None] if per_slice else t[None, None]
    out = naive_soft_skeleton(t, iterations)
    return (out[:, 0] if per_slice else out[0, 0]).numpy()


def assert_binarized_equal(got, ref_map, threshold, margin=0.0, ctx=""):
    """``got`` equals ``ref_map > threshold`` except where ``ref_map`` is within ``margin``."""
    assert got.dtype == bool, ctx
    exp = ref_map > threshold
    bad = got != exp
    if margin > 0:  # float32 rounding: ignore voxels whose reference lies within margin
        bad &= np.abs(ref_map - threshold) > margin
    assert not bad.any(), f"{ctx}: {int(bad.sum())} voxels differ, first at {np.argwhere(bad)[:5].tolist()}"


def tube_mask(shape, n_tubes, radius, seed, through=True):
    """Random straight tubes (sparse); with ``through`` the first crosses the whole axis 0."""
    rng = np.random.default_rng(seed)
    shape = np.array(shape)
    lines = np.zeros(tuple(shape), bool)
    for i in range(n_tubes):
        a = rng.uniform(0, shape - 1)
        b = rng.uniform(0, shape - 1)
        if through and i == 0:  # touches two opposite faces of the volume
            a[0], b[0] = 0, shape[0] - 1
        t = np.linspace(0.0, 1.0, 4 * int(shape.max()))[:, None]
        pts = np.rint(a + t * (b - a)).astype(int)
        lines[tuple(pts.T)] = True
    return ndi.distance_transform_edt(~lines) <= radius


def dense_mask(shape, seed, sigma=1.5):
    """Random blobs covering about half of the volume."""
    rng = np.random.default_rng(seed)
    return ndi.gaussian_filter(rng.standard_normal(shape), sigma) > 0


def prob_map(shape, seed, sigma=1.5, dtype=np.float64, background=0.0, levels=None):
    """Smooth random map with values in [background, 1]; ``levels`` quantizes (plateaus/ties)."""
    rng = np.random.default_rng(seed)
    g = ndi.gaussian_filter(rng.random(shape), sigma)
    g = (g - g.min()) / (g.max() - g.min())
    if levels:
        g = np.round(g * levels) / levels
    return (background + (1 - background) * g).astype(dtype)


def box_masks():
    """Hand-made masks (2-D and 3-D), several touching the volume border."""
    out = {}
    m = np.zeros((12, 15), bool)
    m[3:8, 1:14] = True
    out["rect2d"] = m
    m = np.zeros((10, 14), bool)
    m[:, 4:9] = True  # crosses the whole image along y (touches two borders)
    m[0:4, 0:3] = True  # corner blob
    out["border2d"] = m
    m = np.zeros((14, 16, 18), bool)
    m[2:12, 3:13, 4:16] = True
    out["box3d"] = m
    m = np.zeros((12, 14, 16), bool)
    m[:, 3:9, 5:12] = True  # slab crossing the volume along z
    m[7:12, 9:14, 0:4] = True  # in a corner, touching three faces
    out["border3d"] = m
    return out


def label_volume():
    """3-D labels: two touching boxes (1, 2), a tube touching box 1/2 (3) and a small cube (9)."""
    lab = np.zeros((24, 40, 40), np.uint16)
    lab[3:12, 4:20, 4:36] = 1
    lab[12:21, 4:20, 4:36] = 2  # face contact with label 1 along z
    z, y, x = np.ogrid[:24, :40, :40]
    tube = (z - 12) ** 2 + (y - 24) ** 2 <= 16  # y 20..28: touches the boxes; crosses x
    lab[tube & (lab == 0)] = 3
    lab[1:4, 33:37, 33:37] = 9  # separate, small; id gap
    return lab


def label_image_2d():
    """2-D labels: two touching rectangles (1, 2), a disc touching rectangle 2 (4), a blob (6)."""
    lab = np.zeros((40, 48), np.int32)
    lab[4:16, 2:40] = 1
    lab[16:26, 2:40] = 2
    y, x = np.ogrid[:40, :48]
    disc = (y - 31) ** 2 + (x - 20) ** 2 <= 36
    lab[disc & (lab == 0)] = 4
    lab[32:38, 40:46] = 6
    return lab


def check_labels_result(out, labels, method, **kw):
    """Dtype/shape, each label's voxels equal its own skeleton, voxels inside their label."""
    assert out.shape == labels.shape
    assert out.dtype == labels.dtype
    ids = np.unique(labels)
    ids = ids[ids != 0]
    assert set(np.unique(out)) <= set(ids) | {0}
    nz = out != 0
    np.testing.assert_array_equal(out[nz], labels[nz])  # skeleton voxels lie in their own label
    for i in ids:
        alone = skeletonize(labels == i, method, **kw)
        np.testing.assert_array_equal(out == i, alone, err_msg=f"label {i} ({method}, {kw})")
    return ids


@pytest.fixture(scope="module")
def labels3d():
    return label_volume()


@pytest.fixture(scope="module")
def labels2d():
    return label_image_2d()


# --------------------------------------------------------------------------
# soft skeleton values vs the naive formula
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(box_masks()))
@pytest.mark.parametrize("iterations", [0, 1, 3, 10])
def test_soft_mask_matches_naive(name, iterations):
    mask = box_masks()[name]
    ref = naive_map(mask, iterations)
    got = skeletonize(mask.copy(), iterations=iterations)
    assert got.shape == mask.shape
    assert_binarized_equal(got, ref, 0.5, ctx=f"{name} it={iterations}")
    soft = skeletonize(mask.copy(), iterations=iterations, threshold=None)
    assert soft.dtype == np.float32
    np.testing.assert_array_equal(soft, ref.astype(np.float32))


@pytest.mark.parametrize("iterations", [0, 2, 5, 12])
@pytest.mark.parametrize("ndim", [2, 3])
def test_soft_random_masks_match_naive(ndim, iterations):
    shape = (64, 64) if ndim == 2 else (32, 36, 40)
    for seed, mask in enumerate(
        [tube_mask(shape, 3, 2.5, seed=ndim), dense_mask(shape, seed=ndim + 10)]
    ):
        ref = naive_map(mask, iterations)
        assert_binarized_equal(skeletonize(mask.copy(), iterations=iterations), ref, 0.5)
        # the same mask as float 0/1 and as float32 0/1
        for dtype in (np.float64, np.float32):
            got = skeletonize(mask.astype(dtype), iterations=iterations, threshold=None)
            assert got.dtype == dtype
            np.testing.assert_array_equal(got, ref.astype(dtype))


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("iterations", [0, 1, 4, 10])
@pytest.mark.parametrize(
    "kind", ["smooth", "plateaus", "offset"], ids=["smooth", "plateaus", "background0.2"]
)
def test_soft_float_map_matches_naive(ndim, iterations, kind):
    shape = (48, 48) if ndim == 2 else (24, 28, 32)
    kw = {"smooth": {}, "plateaus": {"levels": 4}, "offset": {"background": 0.2}}[kind]
    img = prob_map(shape, seed=ndim * 7 + iterations, **kw)
    ref = naive_map(img, iterations)
    got = skeletonize(img, iterations=iterations, threshold=None)
    assert got.dtype == np.float64 and got.shape == img.shape
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    for thr in (0.5, 0.1, 0.0):
        assert_binarized_equal(
            skeletonize(img, iterations=iterations, threshold=thr), ref, thr, ctx=f"thr={thr}"
        )
    # float32 and float16 inputs are computed in float32
    for dtype in (np.float32, np.float16):
        low = img.astype(dtype)
        ref_low = naive_map(low.astype(np.float32), iterations)
        got32 = skeletonize(low, iterations=iterations, threshold=None)
        assert got32.dtype == np.float32
        np.testing.assert_allclose(got32, ref_low, rtol=1e-5, atol=1e-6)
        assert_binarized_equal(
            skeletonize(low, iterations=iterations, threshold=0.3), ref_low, 0.3, margin=1e-5
        )


@pytest.mark.parametrize(
    "threshold",
    [
        0.0,
        0.5,
        0.999,
        1.0,
    ],
)
def test_bool_mask_threshold_is_map_greater_than_threshold(threshold):
    mask = box_masks()["rect2d"]
    ref = naive_map(mask, 3)
    as_float = skeletonize(mask.astype(np.float32), iterations=3, threshold=threshold)
    assert_binarized_equal(as_float, ref, threshold)
    assert_binarized_equal(skeletonize(mask, iterations=3, threshold=threshold), ref, threshold)


def test_empty_and_full_masks():
    empty = np.zeros((8, 9, 10), bool)
    full = np.ones((8, 9, 10), bool)
    for m in (empty, full):
        out, used = skeletonize(m, iterations="auto", return_iterations=True)
        assert out.dtype == bool and not out.any() and used == 0
        np.testing.assert_array_equal(out, naive_map(m, 3) > 0.5)
    assert not skeletonize(empty, "lee").any()
    const = np.full((10, 10), 0.7)
    np.testing.assert_array_equal(skeletonize(const, threshold=None), np.zeros((10, 10)))


# --------------------------------------------------------------------------
# sparse and dense binary paths
# --------------------------------------------------------------------------


def _both_paths(monkeypatch, mask, iterations, per_slice=False):
    results = []
    for frac in (0.0, 1.0):  # 0: always dense, 1: always sparse
        monkeypatch.setattr(soft_mod, "SPARSE_FRACTION", frac)
        results.append(
            skeletonize(mask.copy(), iterations=iterations, per_slice=per_slice, return_iterations=True)
        )
    return results


@pytest.mark.parametrize("iterations", [0, 1, 3, 7, "auto"])
def test_sparse_and_dense_binary_paths_agree(monkeypatch, iterations):
    cases = {
        "tubes3d": tube_mask((40, 40, 40), 4, 2.0, seed=1),
        "tubes2d": tube_mask((80, 80), 4, 3.0, seed=2),
        "dense3d": dense_mask((28, 30, 32), seed=3),
        "dense2d": dense_mask((70, 70), seed=4, sigma=2.0),
    }
    assert (cases["tubes3d"].mean() < 0.2) and (cases["tubes2d"].mean() < 0.2)
    assert 0.35 < cases["dense3d"].mean() < 0.65 and 0.35 < cases["dense2d"].mean() < 0.65
    for name, mask in cases.items():
        (dense, u_dense), (sparse, u_sparse) = _both_paths(monkeypatch, mask, iterations)
        np.testing.assert_array_equal(dense, sparse, err_msg=name)
        assert u_dense == u_sparse, name
        k = u_dense if iterations == "auto" else iterations
        assert_binarized_equal(dense, naive_map(mask, k), 0.5, ctx=f"{name} it={iterations}")


@pytest.mark.parametrize("iterations", [0, 2, 6, "auto"])
def test_sparse_and_dense_paths_agree_per_slice_batch(monkeypatch, iterations):
    vol = np.concatenate(
        [tube_mask((6, 48, 48), 3, 2.5, seed=5), dense_mask((6, 48, 48), seed=6, sigma=(0.01, 2, 2))]
    )
    vol[3] = False  # an empty slice in the batch
    (dense, u_dense), (sparse, u_sparse) = _both_paths(monkeypatch, vol, iterations, per_slice=True)
    np.testing.assert_array_equal(dense, sparse)
    assert u_dense == u_sparse
    k = u_dense if iterations == "auto" else iterations
    assert_binarized_equal(dense, naive_map(vol, k, per_slice=True), 0.5)


# --------------------------------------------------------------------------
# label images
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, kw",
    [
        ("soft", {"iterations": 3}),
        ("soft", {"iterations": "auto"}),
        ("soft", {"iterations": 2, "per_slice": True}),
        ("lee", {}),
        ("lee", {"per_slice": True}),
        ("zhang", {"per_slice": True}),
    ],
)
def test_labels_3d_each_label_alone(labels3d, method, kw):
    lab = labels3d.copy()
    out = skeletonize(lab, method, **kw)
    np.testing.assert_array_equal(lab, labels3d)
    ids = check_labels_result(out, labels3d, method, **kw)
    if method != "soft" or kw.get("iterations") == "auto":
        # touching objects do not merge: every label keeps its own skeleton
        # (with few soft iterations a thick box may legitimately have none)
        for i in ids:
            assert (out == i).any(), f"label {i} lost its skeleton"


def test_labels_3d_lee_matches_skimage_per_label(labels3d):
    out = skeletonize(labels3d, "lee")
    for i in (1, 2, 3, 9):
        np.testing.assert_array_equal(out == i, sk_skeletonize(labels3d == i, method="lee") > 0)
    # the merged mask gives a different skeleton: labels really are kept apart
    merged = sk_skeletonize(labels3d > 0, method="lee") > 0
    assert not np.array_equal(merged, out > 0)


def test_labels_3d_soft_matches_naive_per_label(labels3d):
    out = skeletonize(labels3d, iterations=4)
    for i in (1, 2, 3, 9):
        assert_binarized_equal(out == i, naive_map(labels3d == i, 4), 0.5, ctx=f"label {i}")
    assert not np.array_equal(out > 0, naive_map(labels3d > 0, 4) > 0.5)


@pytest.mark.parametrize("method", ["soft", "lee", "zhang"])
def test_labels_2d(labels2d, method):
    kw = {"iterations": 5} if method == "soft" else {}
    out = skeletonize(labels2d, method, **kw)
    check_labels_result(out, labels2d, method, **kw)
    if method != "soft":
        for i in (1, 2, 4, 6):
            np.testing.assert_array_equal(
                out == i, sk_skeletonize(labels2d == i, method=method) > 0
            )


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.uint64, np.int64])
def test_label_dtypes_preserved(labels2d, dtype):
    lab = labels2d.astype(dtype)
    ref = skeletonize(labels2d, iterations=4)
    out = skeletonize(lab, iterations=4)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, ref.astype(dtype))


@pytest.mark.parametrize(
    "dtype, mapping",
    [
        (np.int64, {1: 2**40, 2: 2**40 + 1, 3: 7, 9: 2**62}),
        (np.uint64, {1: 2**63 + 5, 2: 2**64 - 1, 3: 2**40, 9: 1}),
        (np.int32, {1: 2**31 - 1, 2: 2**30 + 3, 3: 5, 9: 2**31 - 2}),
        (np.uint32, {1: 2**32 - 1, 2: 2**31, 3: 3, 9: 4}),
    ],
)
@pytest.mark.parametrize(
    "method, kw", [("soft", {"iterations": 3}), ("soft", {"iterations": 2, "per_slice": True}), ("lee", {})]
)
def test_labels_huge_ids_like_small_ids(labels3d, dtype, mapping, method, kw):
    small = labels3d.astype(np.int32)
    big = np.zeros(small.shape, dtype)
    for s, b in mapping.items():
        big[small == s] = b
    ref_small = skeletonize(small, method, **kw)
    exp = np.zeros(small.shape, dtype)
    for s, b in mapping.items():
        exp[ref_small == s] = b
    out = skeletonize(big, method, **kw)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, exp)


@pytest.mark.parametrize(
    "dtype",
    [
        np.uint8,
        np.int32,
        np.int64,
        np.uint64,
    ],
)
def test_labels_without_background(dtype):
    """Every voxel labelled (no 0): the output background must still be 0."""
    lab = np.ones((12, 12), dtype)
    lab[:, 6:] = 2
    out = skeletonize(lab, iterations=3)
    for i in (1, 2):
        np.testing.assert_array_equal(out == i, skeletonize(lab == i, iterations=3))
    full = np.ones((6, 7, 8), dtype)
    np.testing.assert_array_equal(skeletonize(full), np.zeros_like(full))


@pytest.mark.parametrize("method, kw", [("soft", {"iterations": 3}), ("lee", {}), ("soft", {"per_slice": True})])
def test_uint8_mask_same_voxels_as_bool(method, kw):
    mask = box_masks()["box3d"] | tube_mask((14, 16, 18), 2, 1.5, seed=8)
    as_u8 = mask.astype(np.uint8)
    out = skeletonize(as_u8, method, **kw)
    assert out.dtype == np.uint8
    assert set(np.unique(out)) <= {0, 1}
    np.testing.assert_array_equal(out.astype(bool), skeletonize(mask.copy(), method, **kw))


def test_labels_ignore_threshold_none(labels2d):
    out = skeletonize(labels2d, iterations=3, threshold=None)
    np.testing.assert_array_equal(out, skeletonize(labels2d, iterations=3))
    assert out.dtype == labels2d.dtype


# --------------------------------------------------------------------------
# reference methods (scikit-image)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ndim", [2, 3])
def test_lee_matches_skimage(ndim):
    shape = (64, 64) if ndim == 2 else (40, 40, 40)
    for mask in (tube_mask(shape, 3, 2.5, seed=11), dense_mask(shape, seed=12, sigma=2.5)):
        exp = sk_skeletonize(mask, method="lee") > 0
        got = skeletonize(mask.copy(), "lee", iterations=7, threshold=0.5)
        assert got.dtype == bool and got.shape == mask.shape
        np.testing.assert_array_equal(got, exp)


def test_lee_and_zhang_on_float_map_binarize_first():
    img = prob_map((48, 48), seed=13)
    for method in ("lee", "zhang"):
        for thr in (0.5, 0.3):
            exp = sk_skeletonize(img > thr, method=method) > 0
            np.testing.assert_array_equal(skeletonize(img, method, threshold=thr), exp)


def test_zhang_matches_skimage_2d():
    for mask in (tube_mask((64, 64), 3, 3.0, seed=14), dense_mask((64, 64), seed=15, sigma=2.0)):
        exp = sk_skeletonize(mask, method="zhang") > 0
        np.testing.assert_array_equal(skeletonize(mask.copy(), "zhang"), exp)
        # per_slice on a 2-D image changes nothing
        np.testing.assert_array_equal(skeletonize(mask.copy(), "zhang", per_slice=True), exp)


def test_zhang_per_slice_3d_matches_skimage_slices():
    vol = tube_mask((6, 40, 40), 3, 2.5, seed=16)
    got = skeletonize(vol.copy(), "zhang", per_slice=True)
    exp = np.stack([sk_skeletonize(s, method="zhang") > 0 for s in vol])
    np.testing.assert_array_equal(got, exp)


def test_lee_warns_when_object_removed_entirely():
    bar = np.zeros((8, 8, 34), bool)
    bar[2:6, 2:6, 2:32] = True
    if sk_skeletonize(bar, method="lee").any():
        pytest.skip("this scikit-image version keeps the 4x4x30 bar")
    with pytest.warns(UserWarning, match="removed a non-empty object entirely"):
        out = skeletonize(bar, "lee")
    assert out.dtype == bool and not out.any()
    # per label as well: one warning for all the labels it drops
    plate = np.zeros_like(bar, dtype=np.uint8)
    plate[1:7, 3, 2:32] = 6  # a plate Lee keeps
    labels = np.concatenate([bar.astype(np.uint8) * 3, bar.astype(np.uint8) * 5, plate, bar.astype(np.uint8) * 7])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = skeletonize(labels, "lee")
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert "removed a non-empty object entirely for 3 of 4 labels (ids 3, 5, 7)" in messages[0]
    assert "method='topological' keeps every object" in messages[0]
    assert set(np.unique(out)) == {0, 6}
    assert set(np.unique(skeletonize(labels, "topological"))) == {0, 3, 5, 6, 7}
    # large (connectomics) ids are named as the user gave them, not as renumbered internally
    big = labels.astype(np.uint64)
    big[big > 0] += np.uint64(10**12)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        skeletonize(big, "lee")
    text = " ".join(str(w.message) for w in caught)
    assert "(ids 1000000000003, 1000000000005, 1000000000007)" in text, text


def test_per_slice_warns_once_naming_the_slices(monkeypatch):
    # 2D thinning in scikit-image keeps small squares; make it drop every odd slice's object
    import skimage.morphology

    real = skimage.morphology.skeletonize
    calls = []

    def dropping(image, method=None):
        calls.append(1)
        out = real(image, method=method)
        return out & False if len(calls) % 2 == 0 else out

    monkeypatch.setattr(skimage.morphology, "skeletonize", dropping)
    vol = tube_mask((6, 40, 40), 3, 2.5, seed=16)
    assert all(s.any() for s in vol)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = skeletonize(vol, "zhang", per_slice=True)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert "entirely in 3 of 6 non-empty slices (slices 1, 3, 5)" in messages[0]
    assert [bool(s.any()) for s in out] == [True, False] * 3


def test_lee_keeps_objects_without_warning():
    mask = tube_mask((32, 32, 32), 2, 2.5, seed=17)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert skeletonize(mask, "lee").any()


def test_return_iterations_reference_methods_is_none():
    mask = box_masks()["rect2d"]
    for method in ("lee", "zhang"):
        out, used = skeletonize(mask, method, return_iterations=True)
        assert used is None and out.dtype == bool


# --------------------------------------------------------------------------
# per_slice
# --------------------------------------------------------------------------


@pytest.mark.parametrize("iterations", [1, 4, "auto"])
def test_per_slice_soft_mask_equals_slice_by_slice(iterations):
    vol = tube_mask((8, 40, 40), 3, 3.0, seed=20)
    vol[2] = False
    vol[5] = dense_mask((40, 40), seed=21)
    got, used = skeletonize(vol.copy(), iterations=iterations, per_slice=True, return_iterations=True)
    parts = [skeletonize(s.copy(), iterations=iterations, return_iterations=True) for s in vol]
    np.testing.assert_array_equal(got, np.stack([p[0] for p in parts]))
    assert used == max(p[1] for p in parts)
    k = used if iterations == "auto" else iterations
    assert_binarized_equal(got, naive_map(vol, k, per_slice=True), 0.5)
    # it is not the 3-D skeleton
    assert not np.array_equal(got, skeletonize(vol.copy(), iterations=iterations))


@pytest.mark.parametrize("threshold", [None, 0.5, 0.2])
@pytest.mark.parametrize("iterations", [2, "auto"])
def test_per_slice_soft_float_equals_slice_by_slice(threshold, iterations):
    vol = prob_map((6, 32, 32), seed=22, sigma=(0.01, 1.5, 1.5))
    got = skeletonize(vol, iterations=iterations, threshold=threshold, per_slice=True)
    exp = np.stack([skeletonize(s, iterations=iterations, threshold=threshold) for s in vol])
    if threshold is None and iterations == "auto":
        # one count for the stack (the largest a slice needs): the maps differ, the skeletons at 0.5 do not
        np.testing.assert_array_equal(got > 0.5, exp > 0.5)
    elif threshold is None:
        np.testing.assert_allclose(got, exp, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got, naive_map(vol, iterations, per_slice=True), rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_array_equal(got, exp)


@pytest.mark.parametrize("method", ["lee", "zhang"])
def test_per_slice_reference_equals_slice_by_slice(method):
    vol = tube_mask((5, 40, 40), 3, 3.0, seed=23)
    got = skeletonize(vol.copy(), method, per_slice=True)
    exp = np.stack([skeletonize(s.copy(), method) for s in vol])
    np.testing.assert_array_equal(got, exp)
    np.testing.assert_array_equal(exp, np.stack([sk_skeletonize(s, method=method) > 0 for s in vol]))


def test_per_slice_lee_float_map():
    vol = prob_map((4, 32, 32), seed=24, sigma=(0.01, 2, 2))
    got = skeletonize(vol, "lee", threshold=0.4, per_slice=True)
    exp = np.stack([sk_skeletonize(s > 0.4, method="lee") > 0 for s in vol])
    np.testing.assert_array_equal(got, exp)


def test_per_slice_is_ignored_for_2d():
    mask = box_masks()["border2d"]
    np.testing.assert_array_equal(
        skeletonize(mask.copy(), iterations=3, per_slice=True), skeletonize(mask.copy(), iterations=3)
    )


# --------------------------------------------------------------------------
# iterations="auto"
# --------------------------------------------------------------------------


def _auto_masks():
    out = dict(box_masks())
    out["tubes3d"] = tube_mask((32, 32, 32), 3, 3.5, seed=30)
    out["dense2d"] = dense_mask((60, 60), seed=31, sigma=3.0)
    return out


@pytest.mark.parametrize("name", list(_auto_masks()))
def test_auto_iterations_on_masks(name):
    mask = _auto_masks()[name]
    out, used = skeletonize(mask.copy(), iterations="auto", return_iterations=True)
    # city-block distance to the nearest in-volume zero (scipy, independent)
    dist = ndi.distance_transform_cdt(mask, metric="taxicab")
    assert used == int(dist.max()) - 1
    assert used >= 2, "pick masks whose result changes with the iteration count"
    np.testing.assert_array_equal(out, skeletonize(mask.copy(), iterations=used))
    np.testing.assert_array_equal(out, skeletonize(mask.copy(), iterations=used + 10))
    assert not np.array_equal(out, skeletonize(mask.copy(), iterations=used - 1))
    assert_binarized_equal(out, naive_map(mask, used), 0.5)
    # a fixed count reports min(count, auto)
    assert skeletonize(mask.copy(), iterations=1, return_iterations=True)[1] == 1
    assert skeletonize(mask.copy(), iterations=used + 5, return_iterations=True)[1] == used
    # the soft map agrees too
    soft, used2 = skeletonize(mask.copy(), iterations="auto", threshold=None, return_iterations=True)
    assert used2 == used
    np.testing.assert_array_equal(soft, out.astype(np.float32))


def test_auto_iterations_thin_line_is_zero():
    mask = np.zeros((9, 20), bool)
    mask[4, 2:18] = True
    out, used = skeletonize(mask, iterations="auto", return_iterations=True)
    assert used == 0
    np.testing.assert_array_equal(out, mask)


@pytest.mark.parametrize("ndim", [2, 3])
def test_auto_iterations_on_float_maps(ndim):
    """'auto' on a float map stops once the map thresholded at 0.5 is final, not when it is constant."""
    shape = (48, 48) if ndim == 2 else (20, 24, 28)
    img = prob_map(shape, seed=32 + ndim, sigma=3.0)
    out, used = skeletonize(img, iterations="auto", threshold=None, return_iterations=True)
    assert isinstance(used, int) and used >= 1
    np.testing.assert_allclose(out, naive_map(img, used), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(out, skeletonize(img, iterations=used, threshold=None))
    converged = naive_map(img, sum(shape))
    np.testing.assert_array_equal(out > 0.5, converged > 0.5)
    thr, used_thr = skeletonize(img, iterations="auto", return_iterations=True)
    assert used_thr == used
    np.testing.assert_array_equal(thr, out > 0.5)


@pytest.mark.parametrize("threshold", [0.2, 0.35, 0.5, 0.8])
def test_auto_on_float_map_is_final_at_its_threshold(threshold):
    """On a probability map the exact rule stops 'auto': the result equals the converged one."""
    img = load_sample("vessel_64").image[8:40, 8:56, 8:56].astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither "intensity" nor "stopped after"
        out, used = skeletonize(img, iterations="auto", threshold=threshold, return_iterations=True)
        fmap, used_map = skeletonize(img, iterations="auto", threshold=None, auto_threshold=threshold,
                                     return_iterations=True)
    converged = skeletonize(img, iterations=sum(img.shape), threshold=threshold)  # the constant-image rule
    np.testing.assert_array_equal(out, converged)
    assert used_map == used
    np.testing.assert_array_equal(fmap > threshold, out)
    np.testing.assert_allclose(fmap, naive_map(img, used), rtol=1e-12, atol=1e-12)


def test_auto_cap_warns_when_texture_could_still_change():
    img = prob_map((16, 30, 30), seed=7, sigma=2.0)  # smoothed noise: no probability map
    with pytest.warns(UserWarning, match="stopped after"):
        _, used = skeletonize(img, iterations="auto", return_iterations=True)
    assert used < 30


def _noisy_intensity(seed=0):
    """A grey volume like a raw two-photon stack: bright tubes on a noisy, uneven background."""
    rng = np.random.default_rng(seed)
    z, y, x = np.mgrid[:40, :64, :64]
    tubes = np.exp(-((y - 20) ** 2 + (z - 20) ** 2) / 8.0) + np.exp(-((x - 40) ** 2 + (z - 12) ** 2) / 6.0)
    grey = 300 + 900 * tubes + rng.normal(0, 60, tubes.shape) + 2.0 * x
    return grey.astype(np.float32)


def test_auto_on_intensity_image_stops_early_and_warns():
    grey = _noisy_intensity()
    with pytest.warns(UserWarning, match="looks like a raw intensity image") as caught:
        out, used = skeletonize(grey, iterations="auto", normalize=True, return_iterations=True)
    # the old rule (until the eroded image is constant) ran ~sum of the dimensions here
    assert used <= 12, used
    assert out.any()
    assert sum("looks like a raw intensity" in str(w.message) for w in caught) == 1
    # what it returns is final at the threshold, or it says it is not
    norm = (grey - grey.min()) / (grey.max() - grey.min())
    final = naive_map(norm.astype(np.float64), 3 * used + 5) > 0.5
    capped = any("stopped after" in str(w.message) for w in caught)
    assert capped or np.array_equal(out, final)


def test_two_valued_image_is_not_called_intensity():
    mask = box_masks()["rect2d"].astype(np.float32) * 255
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = skeletonize(mask, iterations=3, normalize=True)
    np.testing.assert_array_equal(out, skeletonize(mask > 0, iterations=3))


@pytest.mark.parametrize("bad", [-1, -0.5, 1.5, 2, float("nan"), float("inf"), True, "0.5"])
def test_threshold_outside_unit_interval_is_an_error(bad):
    img = prob_map((12, 12), seed=1)
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\]"):
        skeletonize(img, threshold=bad)
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\]"):
        skeletonize(img > 0.5, "lee", threshold=bad)
    with pytest.raises(ValueError, match=r"auto_threshold must be a number in \[0, 1\]"):
        skeletonize(img, iterations="auto", threshold=None, auto_threshold=bad)


def test_progress_must_be_callable():
    with pytest.raises(ValueError, match="progress must be a callable"):
        skeletonize(np.ones((5, 5), bool), progress=42)


@pytest.mark.parametrize("tensor", [
    torch.zeros(8, 8, device="meta"),
    torch.zeros(0, 8, 8),
    torch.zeros(8, 8, dtype=torch.complex64),
], ids=["meta", "zero-size", "complex"])
def test_bad_tensors_to_skeletonize_are_one_line_errors(tensor):
    with pytest.raises(ValueError) as info:
        skeletonize(tensor)
    assert "\n" not in str(info.value) and str(info.value).startswith("expected")


def test_auto_iterations_on_labels(labels3d):
    out, used = skeletonize(labels3d, iterations="auto", return_iterations=True)
    per_label = [
        skeletonize(labels3d == i, iterations="auto", return_iterations=True)[1] for i in (1, 2, 3, 9)
    ]
    assert used == max(per_label)
    np.testing.assert_array_equal(out, skeletonize(labels3d, iterations=used))
    np.testing.assert_array_equal(out, skeletonize(labels3d, iterations=used + 10))
    assert not np.array_equal(out, skeletonize(labels3d, iterations=used - 1))
    _, used_lee = skeletonize(labels3d, "lee", return_iterations=True)
    assert used_lee is None


def test_return_iterations_shapes():
    mask = box_masks()["rect2d"]
    res = skeletonize(mask, iterations=2, return_iterations=True)
    assert isinstance(res, tuple) and len(res) == 2
    assert not isinstance(skeletonize(mask, iterations=2), tuple)
    assert skeletonize(mask, iterations=np.int64(2)).shape == mask.shape


# --------------------------------------------------------------------------
# normalize
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ndim", [2, 3])
def test_normalize_equals_manual_rescale(dtype, ndim):
    shape = (48, 48) if ndim == 2 else (16, 24, 24)
    img = np.rint(100 + 3900 * prob_map(shape, seed=40 + ndim, dtype=np.float64)).astype(dtype)
    assert img.min() == 100 and img.max() == 4000
    with pytest.raises(ValueError, match=r"normalize=True"):
        skeletonize(img)
    lo, hi = float(img.min()), float(img.max())
    manual = ((img.astype(np.float64) - lo) / (hi - lo)).astype(dtype)
    for thr in (None, 0.5):
        got = skeletonize(img, iterations=4, threshold=thr, normalize=True)
        exp = skeletonize(manual, iterations=4, threshold=thr)
        if thr is None:
            assert got.dtype == dtype
            tol = 1e-12 if dtype == np.float64 else 1e-6
            np.testing.assert_allclose(got, exp, rtol=tol, atol=tol)
        else:
            ref = naive_map(manual, 4)
            assert_binarized_equal(got, ref, thr, margin=1e-5 if dtype == np.float32 else 0)
    # lee on a normalized intensity image = lee on the binarized rescaled image
    np.testing.assert_array_equal(
        skeletonize(img, "lee", normalize=True, threshold=0.5),
        sk_skeletonize(manual > 0.5, method="lee") > 0,
    )


def test_normalize_constant_image_and_in_range_input():
    const = np.full((12, 12), 250.0)
    np.testing.assert_array_equal(skeletonize(const, normalize=True, threshold=None), 0.0)
    img = 0.25 + 0.5 * prob_map((32, 32), seed=41)
    # normalize rescales an in-range image too (min -> 0, max -> 1)
    manual = (img - img.min()) / (img.max() - img.min())
    np.testing.assert_allclose(
        skeletonize(img, normalize=True, threshold=None), skeletonize(manual, threshold=None),
        rtol=1e-12, atol=1e-12,
    )


# --------------------------------------------------------------------------
# inputs are never modified; outputs are new arrays
# --------------------------------------------------------------------------


def _unmodified_cases():
    sparse3d = tube_mask((24, 24, 24), 2, 2.0, seed=50)
    dense2d = dense_mask((40, 40), seed=51, sigma=2.5)
    dense3d = dense_mask((16, 18, 20), seed=52, sigma=2.0)
    fmap = prob_map((20, 22, 24), seed=53)
    lab = label_volume()
    return [
        pytest.param(sparse3d, {}, id="bool-sparse-3d"),
        pytest.param(sparse3d, {"iterations": "auto", "threshold": None}, id="bool-sparse-auto"),
        pytest.param(dense2d, {"iterations": 5}, id="bool-dense-2d"),
        pytest.param(dense3d, {"iterations": "auto"}, id="bool-dense-3d"),
        pytest.param(dense3d, {"per_slice": True}, id="bool-dense-per-slice"),
        pytest.param(dense2d, {"method": "lee"}, id="bool-lee"),
        pytest.param(dense2d, {"method": "zhang"}, id="bool-zhang"),
        pytest.param(fmap, {"threshold": None}, id="float64-map"),
        pytest.param(fmap.astype(np.float32), {"iterations": 3}, id="float32-map"),
        pytest.param(fmap.astype(np.float32), {"per_slice": True, "threshold": None}, id="float32-per-slice"),
        pytest.param(fmap * 1000, {"normalize": True}, id="float-normalize"),
        pytest.param(fmap, {"method": "lee"}, id="float-lee"),
        pytest.param((fmap > 0.5).astype(np.float32), {"iterations": 4}, id="float-binary"),
        pytest.param(lab, {}, id="labels-uint16"),
        pytest.param(lab.astype(np.int64) * 2**40, {"iterations": 2}, id="labels-int64-huge"),
        pytest.param(lab, {"method": "lee"}, id="labels-lee"),
        pytest.param(lab, {"per_slice": True}, id="labels-per-slice"),
        pytest.param(dense3d.astype(np.uint8), {"iterations": 4}, id="uint8-mask"),
    ]


@pytest.mark.parametrize("arr, kw", _unmodified_cases())
def test_input_not_modified(arr, kw):
    arr = np.array(arr)  # own copy, writable
    before = arr.copy()
    out = skeletonize(arr, **kw)
    np.testing.assert_array_equal(arr, before)
    assert out.shape == arr.shape
    assert not np.shares_memory(out, arr)


@pytest.mark.parametrize("arr, kw", _unmodified_cases())
def test_read_only_input_accepted_and_not_modified(arr, kw):
    arr = np.array(arr)
    before = arr.copy()
    expected = skeletonize(before.copy(), **kw)
    arr.setflags(write=False)
    with warnings.catch_warnings():
        # torch warns (once per process) when wrapping a non-writable array
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        out = skeletonize(arr, **kw)
    assert not arr.flags.writeable
    np.testing.assert_array_equal(arr, before)
    np.testing.assert_array_equal(out, expected)
    assert out.flags.writeable
    assert not np.shares_memory(out, arr)


def test_non_contiguous_input():
    mask = box_masks()["box3d"]
    view = np.asfortranarray(mask)
    np.testing.assert_array_equal(skeletonize(view, iterations=3), skeletonize(mask.copy(), iterations=3))
    strided = np.zeros((28, 16, 18), bool)
    strided[::2] = mask
    np.testing.assert_array_equal(
        skeletonize(strided[::2], iterations=3), skeletonize(mask.copy(), iterations=3)
    )
    img = prob_map((20, 30), seed=54)
    np.testing.assert_allclose(
        skeletonize(img.T, threshold=None), naive_map(img.T, 10), rtol=1e-12, atol=1e-12
    )


def test_list_input_accepted():
    mask = box_masks()["rect2d"]
    np.testing.assert_array_equal(skeletonize(mask.tolist(), iterations=2), skeletonize(mask, iterations=2))


# --------------------------------------------------------------------------
# torch tensors
# --------------------------------------------------------------------------


def test_torch_tensor_input():
    sparse = tube_mask((24, 24, 24), 2, 2.0, seed=60)
    fmap = prob_map((20, 22, 24), seed=61, dtype=np.float32)
    lab = label_volume().astype(np.int32)
    cases = [
        (sparse, {"iterations": 3}),
        (fmap, {"threshold": None}),
        (fmap, {"threshold": 0.4, "per_slice": True}),
        (lab, {"iterations": 2}),
        (lab, {"method": "lee"}),
    ]
    for arr, kw in cases:
        t = torch.from_numpy(arr.copy())
        t_before = t.clone()
        got = skeletonize(t, **kw)
        assert isinstance(got, np.ndarray)
        np.testing.assert_array_equal(got, skeletonize(arr.copy(), **kw))
        assert torch.equal(t, t_before)
    # a tensor that requires grad is accepted too
    t = torch.from_numpy(fmap.copy()).requires_grad_(True)
    np.testing.assert_array_equal(skeletonize(t, threshold=None), skeletonize(fmap, threshold=None))


# --------------------------------------------------------------------------
# devices and the out-of-memory fallback
# --------------------------------------------------------------------------


def test_available_and_resolve_devices():
    devs = available_devices()
    assert devs[-1] == "cpu" and len(set(devs)) == len(devs)
    assert set(devs) <= {"cuda", "mps", "cpu"}
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert resolve_device(None).type == devs[0]
    assert resolve_device("auto").type == devs[0]
    with pytest.raises(ValueError, match=r"device must be"):
        resolve_device("no-such-device")
    for name in ("cuda", "mps"):
        if name not in devs:
            with pytest.raises(ValueError, match=rf"{name}.*not available.*available: .*cpu"):
                resolve_device(name)


def test_skeletonize_device_argument():
    mask = tube_mask((20, 20, 20), 2, 2.0, seed=70)
    img = prob_map((20, 20), seed=71)
    np.testing.assert_array_equal(skeletonize(mask, device="cpu"), skeletonize(mask))
    np.testing.assert_array_equal(
        skeletonize(img, device=torch.device("cpu"), threshold=None), skeletonize(img, threshold=None)
    )
    missing = [d for d in ("cuda", "mps") if d not in available_devices()]
    for name in missing:
        with pytest.raises(ValueError, match=r"available: .*cpu"):
            skeletonize(img, device=name)
    with pytest.raises(ValueError, match=r"device must be"):
        skeletonize(img, device="gpu-please")


class _FakeGPU:
    """Pretend the best device is a GPU (torch's 'meta' device) that runs out of memory."""

    def __init__(self, monkeypatch, error=None, times=1):
        soft_front = importlib.import_module("napari_soft_skeleton._front_soft")
        self.real = soft_front.soft_skeleton_levels
        self.calls = []
        self.failures = 0
        self.error = error or (lambda: torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"))
        self.times = times
        monkeypatch.setattr(soft_front, "resolve_device", lambda device: torch.device("meta"))
        monkeypatch.setattr(soft_front, "soft_skeleton_levels", self)
        thin_front = importlib.import_module("napari_soft_skeleton._front_thin")
        monkeypatch.setattr(thin_front, "resolve_device", lambda device: torch.device("meta"))

    def __call__(self, img, iterations, callback=None, stop=None):
        self.calls.append(img.device.type)
        if img.device.type != "cpu" and self.failures < self.times:
            self.failures += 1
            raise self.error()
        return self.real(img, iterations, callback=callback, stop=stop)


@pytest.mark.parametrize(
    "make, kw",
    [
        (lambda: prob_map((20, 24, 28), seed=72), {"iterations": 4, "threshold": None}),
        (lambda: prob_map((20, 24, 28), seed=72, dtype=np.float32), {"iterations": "auto"}),
        (lambda: dense_mask((20, 24, 28), seed=73), {"iterations": 3}),
        (lambda: tube_mask((6, 32, 32), 3, 2.5, seed=74), {"iterations": 2, "per_slice": True}),
        (lambda: label_volume()[:, :, :30], {"iterations": 3}),
    ],
    ids=["float64", "float32-auto", "bool-dense", "bool-per-slice", "labels"],
)
def test_out_of_memory_falls_back_to_cpu(monkeypatch, make, kw):
    arr = make()
    expected = skeletonize(arr.copy(), device="cpu", return_iterations=True, **kw)
    fake = _FakeGPU(monkeypatch, times=10**6)
    with pytest.warns(RuntimeWarning, match="out of memory"):
        got = skeletonize(arr.copy(), return_iterations=True, **kw)
    assert fake.failures >= 1 and "meta" in fake.calls and "cpu" in fake.calls
    np.testing.assert_array_equal(got[0], expected[0])
    assert got[0].dtype == expected[0].dtype
    assert got[1] == expected[1]


def test_out_of_memory_message_variant_and_other_errors(monkeypatch):
    img = prob_map((16, 16), seed=75)
    expected = skeletonize(img, threshold=None)
    _FakeGPU(monkeypatch, error=lambda: RuntimeError("CUDA error: out of memory"))
    with pytest.warns(RuntimeWarning, match="out of memory"):
        np.testing.assert_array_equal(skeletonize(img, threshold=None), expected)
    # any other error on the device propagates (no silent fallback)
    _FakeGPU(monkeypatch, error=lambda: RuntimeError("boom: kernel failed"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # (prob_map looks like intensities: a UserWarning)
        with pytest.raises(RuntimeError, match="boom"):
            skeletonize(img, threshold=None)


# --------------------------------------------------------------------------
# progress
# --------------------------------------------------------------------------


def _recorder():
    calls = []
    return calls, lambda done, total: calls.append((done, total))


def _check_progress(calls):
    assert calls, "progress was never called"
    dones = [d for d, _ in calls]
    assert dones == sorted(dones)
    assert all(0 <= d <= t for d, t in calls)
    assert calls[-1][0] == calls[-1][1]


@pytest.mark.parametrize(
    "make, method, kw",
    [
        (lambda: prob_map((20, 24, 28), seed=80), "soft", {"iterations": 5, "threshold": None}),
        (lambda: prob_map((20, 24, 28), seed=80), "soft", {"iterations": "auto"}),
        (lambda: prob_map((6, 24, 28), seed=81), "soft", {"per_slice": True}),
        (lambda: tube_mask((20, 20, 20), 2, 2.0, seed=82), "soft", {"iterations": 3}),
        (lambda: dense_mask((20, 20, 20), seed=83), "soft", {"iterations": "auto"}),
        (lambda: tube_mask((5, 30, 30), 2, 2.0, seed=84), "lee", {"per_slice": True}),
        (lambda: tube_mask((20, 20, 20), 2, 2.0, seed=85), "lee", {}),
        (lambda: label_image_2d(), "zhang", {}),
        (label_volume, "soft", {"iterations": 3}),
        (label_volume, "lee", {}),
    ],
)
def test_progress_reaches_total(make, method, kw):
    calls, cb = _recorder()
    out = skeletonize(make(), method, progress=cb, **kw)
    _check_progress(calls)
    np.testing.assert_array_equal(out, skeletonize(make(), method, **kw))


def test_progress_counts_labels_and_slices():
    calls, cb = _recorder()
    skeletonize(label_volume(), iterations=2, progress=cb)
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    calls, cb = _recorder()
    skeletonize(tube_mask((5, 30, 30), 2, 2.0, seed=86), "lee", per_slice=True, progress=cb)
    assert calls == [(i, 5) for i in range(1, 6)]


class _Abort(Exception):
    pass


@pytest.mark.parametrize(
    "make, method, kw",
    [
        (lambda: prob_map((20, 24, 28), seed=90), "soft", {"iterations": 8}),
        (lambda: prob_map((20, 24, 28), seed=90), "soft", {"iterations": "auto", "threshold": None}),
        (lambda: dense_mask((20, 20, 20), seed=91), "soft", {}),
        (label_volume, "soft", {"iterations": 3}),
        (label_volume, "lee", {}),
        (lambda: tube_mask((5, 30, 30), 2, 2.0, seed=92), "zhang", {"per_slice": True}),
    ],
)
def test_exception_in_progress_aborts(make, method, kw):
    calls = []

    def cb(done, total):
        calls.append((done, total))
        raise _Abort("stop")

    with pytest.raises(_Abort):
        skeletonize(make(), method, progress=cb, **kw)
    assert len(calls) == 1, "the run went on after the callback raised"


# --------------------------------------------------------------------------
# errors and warnings
# --------------------------------------------------------------------------

_M2 = np.zeros((8, 8), bool)
_M2[2:6, 2:6] = True
_M3 = np.zeros((6, 8, 8), bool)
_M3[1:5, 2:6, 2:6] = True
_NAN = np.full((8, 8), 0.5)
_NAN[3, 3] = np.nan
_INF = np.full((8, 8), 0.5)
_INF[3, 3] = np.inf
_NEG = np.zeros((8, 8), np.int32)
_NEG[2, 2] = -1


@pytest.mark.parametrize(
    "data, kw, match",
    [
        (np.zeros(5, bool), {}, r"2D .*3D .*got 1D"),
        (np.zeros((2, 3, 4, 5), bool), {}, r"got 4D"),
        (np.zeros((0, 5), bool), {}, r"non-empty"),
        (np.zeros((3, 0, 4), np.float32), {}, r"non-empty"),
        (np.zeros((4, 4), np.complex64), {}, r"dtype complex64"),
        (np.zeros((4, 4), object), {}, r"dtype object"),
        (np.full((4, 4), "a"), {}, r"dtype <U1"),
        (np.zeros((4, 4), "datetime64[s]"), {}, r"dtype datetime64"),
        (_NAN, {}, r"NaN"),
        (_INF, {}, r"infinity"),
        (np.full((8, 8), 1.5), {}, r"\[0, 1\].*normalize=True"),
        (np.full((8, 8), -0.1), {}, r"\[0, 1\].*normalize=True"),
        (_NAN, {"normalize": True}, r"NaN"),
        (_NEG, {}, r"non-negative"),
        (_M2, {"method": "skimage"}, r"method must be one of"),
        (_M2, {"method": None}, r"method must be one of"),
        (_M2, {"iterations": "x"}, r"iterations must be"),
        (_M2, {"iterations": -1}, r"iterations must be"),
        (_M2, {"iterations": 1.5}, r"iterations must be"),
        (_M2, {"iterations": True}, r"iterations must be"),
        (_M2, {"iterations": None}, r"iterations must be"),
        (_M2, {"threshold": "a"}, r"threshold must be"),
        (_M2, {"threshold": float("nan")}, r"threshold must be"),
        (_M2, {"threshold": float("inf")}, r"threshold must be"),
        (_M2, {"threshold": True}, r"threshold must be"),
        (_M3, {"spacing": (1.0, 1.0)}, r"spacing must be"),
        (_M2, {"spacing": (1.0, 1.0, 1.0)}, r"spacing must be"),
        (_M3, {"spacing": (1.0, 0.0, 1.0)}, r"spacing must be"),
        (_M3, {"spacing": (1.0, -2.0, 1.0)}, r"spacing must be"),
        (_M3, {"spacing": (1.0, float("nan"), 1.0)}, r"spacing must be"),
        (_M3, {"spacing": 2.0}, r"spacing must be"),
        (_M3, {"method": "zhang"}, r"zhang.*2-D only.*per_slice"),
        (np.full((8, 8), 0.7), {"method": "lee", "threshold": None}, r"needs a threshold"),
        (np.full((8, 8), 0.7), {"method": "zhang", "threshold": None}, r"needs a threshold"),
        (_M2, {"device": "not-a-device"}, r"device must be"),
    ],
)
def test_invalid_input_raises_value_error(data, kw, match):
    with pytest.raises(ValueError, match=match) as info:
        skeletonize(data, **kw)
    msg = str(info.value)
    assert "\n" not in msg and msg.strip()


def test_errors_do_not_modify_input():
    arr = np.full((8, 8), 1.5)
    before = arr.copy()
    with pytest.raises(ValueError):
        skeletonize(arr)
    np.testing.assert_array_equal(arr, before)


def test_anisotropic_spacing_warns_in_3d():
    vol = tube_mask((10, 24, 24), 2, 2.0, seed=95)
    with pytest.warns(UserWarning, match="anisotropic.*per_slice=True"):
        out = skeletonize(vol.copy(), spacing=(3.0, 1.0, 1.0))
    np.testing.assert_array_equal(out, skeletonize(vol.copy()))  # spacing does not change values
    with pytest.warns(UserWarning, match="anisotropic"):
        skeletonize(vol.copy(), "lee", spacing=(1.0, 0.25, 1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        skeletonize(vol.copy(), spacing=(2.9, 1.0, 1.0))
        skeletonize(vol.copy(), spacing=(5.0, 1.0, 1.0), per_slice=True)
        skeletonize(vol[0].copy(), spacing=(5.0, 1.0))  # 2-D: no warning
        skeletonize(vol.copy(), spacing=np.array([1.0, 1.0, 1.0]))


# --------------------------------------------------------------------------
# one larger smoke test
# --------------------------------------------------------------------------


def test_smoke_96_cubed():
    mask = tube_mask((96, 96, 96), 5, 3.0, seed=99)
    assert mask.mean() < 0.2
    ref = naive_map(mask, 10)
    out, used = skeletonize(mask.copy(), return_iterations=True)
    assert out.shape == mask.shape and out.dtype == bool
    assert used == min(10, int(ndi.distance_transform_cdt(mask, metric="taxicab").max()) - 1)
    assert_binarized_equal(out, ref, 0.5)
    labels, n = ndi.label(mask)
    lab_out = skeletonize(labels.astype(np.uint16), iterations=10)
    assert lab_out.dtype == np.uint16
    nz = lab_out != 0
    np.testing.assert_array_equal(lab_out[nz], labels[nz])
    # separate components: the label skeleton is the mask skeleton
    np.testing.assert_array_equal(nz, out)
