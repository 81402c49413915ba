"""``skeletonize(..., fill_holes=True)``: cavities filled first, masks and each label on its own."""

from __future__ import annotations

import warnings

import fill_voids
import numpy as np
import pytest
import scipy.ndimage as ndi

from napari_soft_skeleton import betti_numbers, skeletonize
from napari_soft_skeleton._fill import fill_holes
from napari_soft_skeleton.cli import main
from napari_soft_skeleton.io import read_volume, write_volume


def ball(shape, centre, radius) -> np.ndarray:
    grid = np.indices(shape)
    return sum((g - c) ** 2 for g, c in zip(grid, centre)) <= radius**2


def hollow_ball(n=21, outer=8, inner=5) -> np.ndarray:
    c = (n // 2,) * 3
    return ball((n,) * 3, c, outer) & ~ball((n,) * 3, c, inner)


def torus(shape=(15, 32, 32), big=9.0, small=3.5, hollow=0.0) -> np.ndarray:
    z, y, x = np.indices(shape, dtype=float)
    cz, cy, cx = [(s - 1) / 2 for s in shape]
    d = np.hypot(np.hypot(y - cy, x - cx) - big, z - cz)
    return (d <= small) & (d > hollow)


def thin(mask: np.ndarray) -> np.ndarray:
    """The topological skeleton of a mask computed alone (the same options as the calls under test)."""
    return skeletonize(mask, "topological")


def filled_alone(mask: np.ndarray) -> np.ndarray:
    """fill_voids on a padded copy (unpadded, fill_voids 2.1 fills some edge voxels)."""
    return fill_voids.fill(np.pad(mask, 1), in_place=True)[(slice(1, -1),) * mask.ndim]


def sequential_reference(labels: np.ndarray) -> np.ndarray:
    """The documented rule, label by label with fill_voids: largest label first (then the larger
    id), each filled in the image the previous ones left."""
    ids = [int(i) for i in np.unique(labels) if i]
    size = {i: int(np.count_nonzero(labels == i)) for i in ids}
    out = labels.copy()
    for i in sorted(ids, key=lambda i: (-size[i], -i)):
        mask = out == i
        if mask.any():
            out[filled_alone(mask) & ~mask] = i
    return out


# --------------------------------------------------------------------------
# masks
# --------------------------------------------------------------------------


def test_hollow_ball_gives_a_point_not_a_closed_surface():
    shell = hollow_ball()
    assert betti_numbers(shell) == (1, 0, 1)
    plain = skeletonize(shell, "topological")
    assert betti_numbers(plain) == (1, 0, 1)  # a closed surface around the cavity
    filled = skeletonize(shell, "topological", fill_holes=True)
    assert betti_numbers(filled) == (1, 0, 0)
    assert 1 <= np.count_nonzero(filled) <= 3
    assert np.count_nonzero(filled) < np.count_nonzero(plain) // 20
    np.testing.assert_array_equal(filled, thin(ball(shell.shape, (10, 10, 10), 8)))
    for method in ("lee", "soft"):  # every method takes the option
        skel = skeletonize(shell, method, fill_holes=True, iterations="auto")
        assert skel.any() and betti_numbers(skel)[2] == 0


def test_a_torus_keeps_its_loop_and_a_hollow_torus_becomes_a_ring():
    solid = torus()
    skel = skeletonize(solid, "topological", fill_holes=True)
    assert betti_numbers(skel) == (1, 1, 0)  # a tunnel is not a cavity
    np.testing.assert_array_equal(skel, skeletonize(solid, "topological"))
    hollow = torus(hollow=1.5)
    assert betti_numbers(hollow) == (1, 2, 1)
    assert betti_numbers(skeletonize(hollow, "topological", fill_holes=True)) == (1, 1, 0)


def test_cavities_are_face_connected_background_regions_and_edges_are_outside():
    # a shell of diagonal (26-connected) walls still encloses its centre (background is 6-connected)
    z, y, x = np.indices((9, 9, 9)) - 4
    diamond = np.abs(z) + np.abs(y) + np.abs(x) == 3
    filled, absorbed = fill_holes(diamond)
    assert filled[4, 4, 4] and absorbed == []
    assert betti_numbers(skeletonize(diamond, "topological", fill_holes=True)) == (1, 0, 0)
    # a background voxel on an edge of the image is outside, however it is walled in
    # (fill_voids 2.1 fills this one when called on the image as it is)
    mask = np.ones((4, 3, 4), bool)
    mask[0, 0, 2] = False
    assert not fill_holes(mask)[0][0, 0, 2]
    # nothing to fill: the input itself comes back, no copy
    solid = ball((9, 9, 9), (4, 4, 4), 3)
    assert fill_holes(solid)[0] is solid


def test_2d_and_per_slice():
    yy, xx = np.indices((25, 25))
    ring = (np.hypot(yy - 12, xx - 12) <= 9) & (np.hypot(yy - 12, xx - 12) > 4)
    assert betti_numbers(skeletonize(ring, "topological")) == (1, 1)
    skel = skeletonize(ring, "topological", fill_holes=True)
    assert betti_numbers(skel) == (1, 0) and np.count_nonzero(skel) <= 3
    for method in ("zhang", "lee"):
        assert betti_numbers(skeletonize(ring, method, fill_holes=True))[1] == 0
    # a tube along z: each slice is a ring, filled slice by slice in per-slice mode
    tube = np.repeat(ring[None], 6, axis=0)
    per = skeletonize(tube, "topological", per_slice=True, fill_holes=True)
    for z in range(6):
        np.testing.assert_array_equal(per[z], skel)
    # 2-D labels: a ring (1) around a disk (2), beside a ring (3) around background
    labels = np.zeros((25, 50), np.uint16)
    labels[:, :25][ring] = 1
    labels[:, :25][np.hypot(yy - 12, xx - 12) <= 3] = 2
    labels[:, 25:][ring] = 3
    with pytest.warns(UserWarning, match=r"fill_holes: 1 label .*ids 2\)"):
        out = skeletonize(labels, "topological", fill_holes=True)
    assert set(np.unique(out)) == {0, 1, 3}
    np.testing.assert_array_equal(out[:, :25] == 1, skel)
    np.testing.assert_array_equal(out[:, 25:] == 3, skel)


def test_float_maps_fill_the_cavities_above_the_threshold():
    shell = hollow_ball().astype(np.float32) * 0.8
    filled, _ = fill_holes(shell, threshold=0.5)
    cavity = ball(shell.shape, (10, 10, 10), 8) & (shell == 0)
    np.testing.assert_array_equal(filled, np.where(cavity, 1, shell))
    assert filled.dtype == np.float32
    thin = skeletonize(shell, "topological", fill_holes=True)
    np.testing.assert_array_equal(thin, skeletonize(shell > 0.5, "topological", fill_holes=True))
    soft = skeletonize(shell, "soft", threshold=None, iterations="auto", fill_holes=True)
    assert soft.dtype == np.float32 and betti_numbers(soft > 0.5)[2] == 0


# --------------------------------------------------------------------------
# label images
# --------------------------------------------------------------------------


def test_each_label_is_filled_as_if_alone():
    """Touching labels that enclose nothing of each other: each label's skeleton is that of its own
    filled mask, whatever its neighbours."""
    shape = (24, 24, 44)
    labels = np.zeros(shape, np.int32)
    labels[hollow_ball(24, 9, 5).nonzero()] = 1  # hollow: a cavity of background
    right = np.zeros(shape, bool)
    right[:, :, 20:] = hollow_ball(24, 9, 5)[:, :, :24]
    labels[right & (labels == 0)] = 2  # hollow too, touching label 1
    labels[3:21, 20:23, 2:40] = 3  # a slab touching both
    labels[2:5, 2:5, 40:43] = 4  # solid
    original = labels.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is absorbed: no warning
        out = skeletonize(labels, "topological", fill_holes=True)
    np.testing.assert_array_equal(labels, original)
    assert set(np.unique(out)) == {0, 1, 2, 3, 4}
    for i in (1, 2, 3, 4):
        alone = thin(filled_alone(labels == i))
        np.testing.assert_array_equal(out == i, alone)
        assert betti_numbers(out == i)[2] == 0
    # the other methods label by label, the same filled labels
    with pytest.warns(UserWarning, match="removed a non-empty object"):  # (Lee drops the thin slab)
        lee = skeletonize(labels, "lee", fill_holes=True)
    for i in (1, 2):
        assert betti_numbers(lee == i)[2] == 0


def test_an_enclosed_label_is_absorbed_and_named():
    """A hollow cell (1) holding a nucleus (2) in its cavity, and in the nucleus a nucleolus (3):
    the cell takes both (one tree), with one warning naming them; unfilled, each keeps its own."""
    n = 25
    c = (12, 12, 12)
    labels = np.zeros((n, n, n), np.uint8)
    labels[ball(labels.shape, c, 11) & ~ball(labels.shape, c, 7)] = 1
    labels[ball(labels.shape, c, 5) & ~ball(labels.shape, c, 2)] = 2  # (background around it)
    labels[ball(labels.shape, c, 1)] = 3
    labels[0:2, 0:2, 0:2] = 4  # elsewhere, untouched
    before = labels.copy()
    plain = skeletonize(labels, "topological")
    assert set(np.unique(plain)) == {0, 1, 2, 3, 4}
    with pytest.warns(UserWarning, match=r"2 labels lay wholly inside .*\(ids 2, 3\)"):
        out = skeletonize(labels, "topological", fill_holes=True)
    np.testing.assert_array_equal(labels, before)
    assert set(np.unique(out)) == {0, 1, 4}
    assert betti_numbers(out == 1) == (1, 0, 0)
    np.testing.assert_array_equal(out == 1, thin(ball(labels.shape, c, 11)))
    filled, absorbed = fill_holes(labels)
    assert absorbed == [2, 3]
    np.testing.assert_array_equal(filled, sequential_reference(labels))


def test_a_label_only_partly_enclosed_keeps_its_outer_part():
    """Label 2 has one piece inside label 1's cavity and one outside: the inner piece is filled
    into 1, the outer keeps its id and skeleton (no warning: 2 is not gone)."""
    labels = np.zeros((21, 21, 40), np.uint16)
    labels[hollow_ball(21, 9, 5).nonzero()] = 1
    labels[9:12, 9:12, 9:12] = 2
    labels[5:15, 5:15, 30:38] = 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = skeletonize(labels, "topological", fill_holes=True)
    assert betti_numbers(out == 1) == (1, 0, 0)
    assert (out == 2).any() and not (out[:, :, :20] == 2).any()
    np.testing.assert_array_equal(out[:, :, 20:] == 2, thin(labels[:, :, 20:] == 2))  # (even offset: same subfields)


def test_random_label_images_follow_the_rule_and_leave_no_cavity():
    """Against the documented rule computed label by label with fill_voids, on random label images
    full of enclosures (every neighbour pattern, 2-D and 3-D, 8- to 64-bit ids)."""
    rng = np.random.default_rng(7)
    for trial in range(120):
        ndim = 2 if trial % 3 == 0 else 3
        shape = tuple(int(s) for s in rng.integers(2, 16, ndim))
        labels = rng.integers(0, int(rng.integers(1, 7)) + 1, shape)
        if trial % 2:
            labels = ndi.median_filter(labels, size=2)
        labels = labels.astype([np.uint8, np.int16, np.uint32, np.int64][trial % 4])
        before = labels.copy()
        filled, absorbed = fill_holes(labels)
        np.testing.assert_array_equal(labels, before)
        expected = sequential_reference(labels)
        np.testing.assert_array_equal(filled, expected, err_msg=f"trial {trial}")
        assert filled.dtype == labels.dtype
        assert absorbed == [int(i) for i in np.unique(labels) if i and not (expected == i).any()]
        for i in np.unique(filled):
            if i:
                np.testing.assert_array_equal(filled_alone(filled == i), filled == i)


def test_large_64_bit_ids_and_read_only_input():
    n = 25
    c = (12, 12, 12)
    small = np.zeros((n, n, n), np.uint8)
    small[ball(small.shape, c, 11) & ~ball(small.shape, c, 7)] = 1
    small[ball(small.shape, c, 3)] = 2
    small[0:3, 0:3, :] = 3
    ids = np.array([0, 2**64 - 2, 2**63 + 5, 2**40], np.uint64)
    big = ids[small]
    big.flags.writeable = False
    with pytest.warns(UserWarning, match=str(2**63 + 5)):
        out = skeletonize(big, "topological", fill_holes=True)
    assert out.dtype == np.uint64
    with pytest.warns(UserWarning, match=r"ids 2\)"):
        expected = skeletonize(small, "topological", fill_holes=True)
    np.testing.assert_array_equal(out, ids[expected])
    np.testing.assert_array_equal(big, ids[small])
    # signed 64-bit ids of any size, too
    ids64 = np.array([0, 2**63 - 1, 2**62 + 7, 2**40], np.int64)
    np.testing.assert_array_equal(fill_holes(ids64[small])[0], ids64[fill_holes(small)[0]])


# --------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------


def test_cli_fill_holes(tmp_path, capsys):
    shell = hollow_ball().astype(np.uint8)
    src = tmp_path / "shell.npy"
    write_volume(src, shell)
    plain, filled = tmp_path / "plain.npy", tmp_path / "filled.npy"
    assert main(["skeletonize", str(src), "-o", str(plain), "--method", "topological", "-q"]) == 0
    assert main(["skeletonize", str(src), "-o", str(filled), "--method", "topological", "--fill-holes", "-q"]) == 0
    assert betti_numbers(read_volume(plain)[0]) == (1, 0, 1)
    skel = read_volume(filled)[0]
    assert betti_numbers(skel) == (1, 0, 0)
    np.testing.assert_array_equal(skel != 0, skeletonize(shell != 0, "topological", fill_holes=True))
    capsys.readouterr()
    assert main(["skeletonize", "--help"]) == 0
    assert "--fill-holes" in capsys.readouterr().out


def test_parser_helper_adds_the_flag():
    import argparse

    from napari_soft_skeleton.cli._parser import add_fill_holes_option

    parser = argparse.ArgumentParser()
    add_fill_holes_option(parser)
    assert parser.parse_args([]).fill_holes is False
    assert parser.parse_args(["--fill-holes"]).fill_holes is True
