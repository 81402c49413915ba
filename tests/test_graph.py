"""skeleton_graph: tables against hand-computed paths, labels, radii, pruning's topology, exports."""

from __future__ import annotations

import math
import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from napari_soft_skeleton import betti_numbers, read_swc, skeleton_graph, skeletonize
from napari_soft_skeleton.graph import SkeletonGraph

R2 = math.sqrt(2)


def _star(arms=((0, 1, 5), (0, -1, 2), (1, 0, 3))):
    """A 2-D star centred at (10, 10): arms (dy, dx, length)."""
    img = np.zeros((21, 21), bool)
    img[10, 10] = True
    for dy, dx, n in arms:
        for k in range(1, n + 1):
            img[10 + dy * k, 10 + dx * k] = True
    return img


def _ring(shape=(15, 15), centre=(7, 7), r=4):
    """A one-voxel-thin digital circle (8-connected, no corner triangles)."""
    img = np.zeros(shape, bool)
    for t in np.linspace(0, 2 * np.pi, 400, endpoint=False):
        img[int(round(centre[0] + r * np.sin(t))), int(round(centre[1] + r * np.cos(t)))] = True
    return skeletonize(img, "topological")


# ---- tables -------------------------------------------------------------------------------------


def test_line_lengths_with_anisotropic_spacing():
    img = np.zeros((9, 12), bool)
    img[2, 1:6] = True  # 4 steps along x
    for k in range(1, 4):  # then 3 diagonal steps
        img[2 + k, 5 + k] = True
    g = skeleton_graph(img, spacing=(2.0, 0.5), unit="um")
    (row,) = g.branches.itertuples()
    assert row.kind == "end-end"
    # the coarse axis's staircase is smoothed (graph/_length.py): the corner is cut a little, so the
    # length lies between the chord and the voxel-step sum
    steps = 4 * 0.5 + 3 * math.hypot(2.0, 0.5)
    assert row.euclidean == pytest.approx(math.hypot(3 * 2.0, 7 * 0.5))
    assert row.euclidean < row.length < steps
    assert row.length > 0.9 * steps
    assert row.tortuosity == pytest.approx(row.length / row.euclidean)
    assert {(row.start_y, row.start_x), (row.end_y, row.end_x)} == {(2, 1), (5, 8)}
    s = g.summary.iloc[0]
    assert (s.n_branches, s.n_junctions, s.n_endpoints, s.n_loops, s.n_voxels) == (1, 0, 2, 0, 8)
    assert g.unit == "um" and g.branches.attrs["unit"] == "um"


def test_straight_runs_keep_their_length_on_anisotropic_voxels():
    for step in ((1, 0, 0), (0, 1, 1), (1, 1, 0), (1, 1, 1), (0, 0, 1)):
        img = np.zeros((12, 12, 12), bool)
        for k in range(9):
            img[1 + k * step[0], 1 + k * step[1], 1 + k * step[2]] = True
        for spacing in ((5.0, 1.0, 1.0), (3.0, 0.5, 0.5), (1.0, 1.0, 1.0)):
            g = skeleton_graph(img, spacing=spacing)
            assert g.branches["length"].iloc[0] == pytest.approx(8 * math.hypot(*np.multiply(step, spacing)))


def test_staircase_on_coarse_z_is_measured_along_the_line():
    # a line sinking one 5 µm slice per 10 µm of x: the voxel steps over-estimate it, the smoothed length not
    img = np.zeros((5, 3, 44), bool)
    for x in range(1, 41):
        img[(x - 1) // 10, 1, x] = True
    g = skeleton_graph(img, spacing=(5.0, 1.0, 1.0))
    true = math.hypot(39.0, 39 * 0.5)  # the line through the runs' middles: 0.5 µm of z per µm of x
    raw = 36 + 3 * math.hypot(5.0, 1.0)
    length = g.branches["length"].iloc[0]
    assert abs(length - true) < abs(raw - true) / 3


def test_star_branches_and_nodes():
    g = skeleton_graph(_star())
    assert sorted(g.branches["length"]) == [2, 3, 5]
    assert set(g.branches["kind"]) == {"end-junction"}
    assert g.junctions.tolist() == [[10, 10]]
    assert sorted(map(tuple, g.endpoints.tolist())) == [(10, 8), (10, 15), (13, 10)]
    s = g.summary.iloc[0]
    assert (s.n_branches, s.n_junctions, s.n_endpoints, s.n_loops, s.length) == (3, 1, 3, 0, 10)
    # each path runs between its two ends, one voxel at a time
    for i, path in enumerate(g.paths()):
        row = g.branches.iloc[i]
        assert tuple(path[0]) == (row.start_y, row.start_x) and tuple(path[-1]) == (row.end_y, row.end_x)
        assert np.all(np.abs(np.diff(path, axis=0)).max(axis=1) == 1)
        assert np.array_equal(path, g.path(i))


def test_ring_is_one_loop_with_no_junction():
    ring = _ring()
    g = skeleton_graph(ring)
    assert list(g.branches["kind"]) == ["loop"]
    assert g.branches["src"].iloc[0] == -1 and np.isnan(g.branches["tortuosity"].iloc[0])
    assert g.summary["n_loops"].iloc[0] == 1 == betti_numbers(ring)[1]
    assert g.summary["length"].iloc[0] == pytest.approx(g.branches["length"].sum())


def test_theta_and_lasso_loops_match_betti():
    theta = _ring(r=5)
    theta[7, 2:13] = True  # a bar across: two loops
    theta = skeletonize(theta, "topological")
    lasso = _ring(shape=(15, 25), centre=(7, 7), r=4)
    lasso[7, 11:20] = True
    for img in (theta, lasso):
        g = skeleton_graph(img)
        assert g.summary["n_loops"].iloc[0] == betti_numbers(img)[1]
    assert "loop" in set(skeleton_graph(lasso).branches["kind"])
    assert "junction-junction" in set(skeleton_graph(theta).branches["kind"])


def test_3d_loops_and_objects_match_betti():
    rng = np.random.default_rng(3)
    blobs = rng.random((24, 24, 24)) < 0.35
    from scipy import ndimage as ndi

    blobs = ndi.binary_opening(blobs, iterations=1) | ndi.binary_dilation(rng.random((24, 24, 24)) < 0.01)
    skel = skeletonize(blobs, "topological")
    g = skeleton_graph(skel)
    b0, b1, b2 = betti_numbers(skel)
    assert len(g.summary) == b0
    # loops of the branch graph: the digital β1 but for the tiny loops inside clusters of
    # touching junction voxels (noise makes many); on thin parts they agree (tests above)
    assert 0 < g.summary["n_loops"].sum() <= b1


def test_binary_objects_numbered_in_raster_order():
    img = np.zeros((10, 10), bool)
    img[1, 5:9] = True  # first in raster order
    img[4:9, 2] = True
    img[8, 8] = True  # an isolated voxel: an object with no branch
    g = skeleton_graph(img)
    assert g.summary["label"].tolist() == [1, 2, 3]
    assert g.summary["n_voxels"].tolist() == [4, 5, 1]
    assert g.summary["n_branches"].tolist() == [1, 1, 0]
    assert g.branches["label"].tolist() == [1, 2]


def test_touching_labels_stay_apart_with_large_ids():
    labels = np.zeros((10, 12), np.uint64)
    big = np.uint64(2**40 + 3)
    labels[2, 1:10] = big
    labels[3, 1:10] = 7  # touches the first all along
    labels[6:9, 5] = 3
    g = skeleton_graph(labels)
    assert g.summary["label"].tolist() == [3, 7, int(big)]
    assert g.summary["n_branches"].tolist() == [1, 1, 1]
    assert g.summary["length"].tolist() == [2, 8, 8]
    assert g.branches.set_index("label").loc[int(big), "kind"] == "end-end"


def test_radii_and_intensity_along_a_tube():
    z, y, x = np.mgrid[:12, :31, :31]
    spacing = (2.0, 0.5, 0.5)
    r = 3.0
    mask = ((y - 15) * 0.5) ** 2 + ((x - 15) * 0.5) ** 2 <= r**2
    skel = np.zeros_like(mask)
    skel[:, 15, 15] = True
    image = np.broadcast_to(np.arange(12, dtype=float)[:, None, None], mask.shape)
    g = skeleton_graph(skel, spacing=spacing, mask=mask, image=image)
    row = g.branches.iloc[0]
    # distance from the axis to the first background voxel centre: just over r
    assert 3.0 <= row.radius_min <= row.radius_max <= 3.0 + 0.5
    assert row.intensity_mean == pytest.approx(5.5)
    assert g.summary["volume"].iloc[0] == pytest.approx(mask.sum() * np.prod(spacing))
    assert row.length == pytest.approx(11 * 2.0)


def test_label_mask_gives_per_label_radii_and_volumes():
    mask = np.zeros((20, 30), np.uint16)
    mask[2:9, 2:28] = 5  # half-width 3
    mask[9:12, 2:28] = 9  # touching, half-width 1
    skel = np.zeros_like(mask)
    skel[5, 4:26] = 5
    skel[10, 4:26] = 9
    g = skeleton_graph(skel, mask=mask)
    radius = g.branches.set_index("label")["radius_max"]  # (per label: the other label is background)
    assert radius[5] == pytest.approx(4.0) and radius[9] == pytest.approx(2.0)
    assert g.summary.set_index("label")["volume"].to_dict() == {5: 7 * 26, 9: 3 * 26}


def test_empty_skeleton_gives_empty_tables():
    g = skeleton_graph(np.zeros((6, 7, 8), bool))
    assert g.branches.empty and g.nodes.empty and g.summary.empty
    assert g.prune(3).to_mask().sum() == 0
    assert g.paths() == [] and g.endpoints.shape == (0, 3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(skeleton=np.zeros((3, 3, 3, 3), bool)), "2D or 3D"),
        (dict(skeleton=np.full((5, 5), 0.5)), "binary skeleton"),
        (dict(skeleton=np.zeros((5, 5), complex)), "binary skeleton"),
        (dict(skeleton=-np.ones((5, 5), int)), "non-negative"),
        (dict(skeleton=np.zeros((5, 5), bool), spacing=(1, 2, 3)), "positive numbers, one per axis"),
        (dict(skeleton=np.zeros((5, 5), bool), spacing=(1, 0)), "positive"),
        (dict(skeleton=np.zeros((5, 5), bool), spacing=(1, float("nan"))), "positive"),
        (dict(skeleton=np.zeros((5, 5), bool), mask=np.zeros((5, 6), bool)), "mask must have"),
        (dict(skeleton=np.zeros((5, 5), bool), image=np.zeros((4, 5))), "image must have"),
    ],
)
def test_bad_input_is_one_clear_line(kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        skeleton_graph(**kwargs)
    assert "\n" not in str(info.value)


def test_a_mask_passed_as_skeleton_warns():
    mask = np.zeros((20, 20), bool)
    mask[5:15, 5:15] = True
    with pytest.warns(UserWarning, match="does not look like a skeleton"):
        skeleton_graph(mask)


def test_matches_skan_summarize_on_a_sample():
    from skan import Skeleton, summarize

    from napari_soft_skeleton import load_sample

    s = load_sample("vessel_64")
    skel = skeletonize(s.mask, "lee")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = summarize(Skeleton(skel, spacing=s.spacing), separator="_")
    g = skeleton_graph(skel, spacing=s.spacing)
    links = len(theirs) - len(g.branches)  # skan's one-step links inside junction clusters
    assert links >= 0
    assert g.summary["length"].sum() == pytest.approx(theirs["branch_distance"].sum())
    assert g.summary["n_endpoints"].sum() == int((Skeleton(skel).degrees == 1).sum())


# ---- pruning -------------------------------------------------------------------------------------


def _adversarial():
    """Shapes where careless pruning changes topology: loops with spurs, stars, cavities, objects."""
    shapes = []
    ring = _ring(shape=(21, 21), centre=(10, 10), r=6)
    ring[10, 17:20] = True  # a spur off the ring
    ring[3:5, 10] = True
    shapes.append(ring)
    shapes.append(_star(((0, 1, 2), (0, -1, 2), (1, 0, 2), (-1, 0, 1))))  # all arms short
    two = np.zeros((12, 20), bool)
    two[3, 2:5] = True  # a tiny object alone
    two[8, 2:18] = True
    two[5:8, 10] = True  # a spur on the second
    shapes.append(two)
    lasso = _ring(shape=(15, 25), centre=(7, 7), r=4)
    lasso[7, 11:14] = True  # a short tail on a loop
    shapes.append(lasso)
    # 3-D: a hollow box surface (cavity) with a spur, and a 3-D cross
    box = np.zeros((12, 12, 12), bool)
    box[3:9, 3:9, 3:9] = True
    box[4:8, 4:8, 4:8] = False
    box[6, 6, 9:11] = True
    shapes.append(box)
    cross = np.zeros((11, 11, 11), bool)
    cross[5, 5, 1:10] = cross[5, 1:10, 5] = cross[1:10, 5, 5] = True
    shapes.append(cross)
    rng = np.random.default_rng(0)
    from scipy import ndimage as ndi

    noisy = ndi.binary_opening(rng.random((20, 20, 20)) < 0.4)
    shapes.append(skeletonize(noisy, "topological"))
    labels = np.zeros((12, 20), np.int64)
    labels[8, 2:18] = 4
    labels[5:8, 10] = 4
    labels[9, 2:18] = 2**33  # touching label
    shapes.append(labels)
    return shapes


@pytest.mark.parametrize("index", range(8))
@pytest.mark.parametrize("threshold", [1.5, 4, 1000])
def test_prune_keeps_betti_numbers_and_objects(index, threshold):
    skel = _adversarial()[index]
    g = skeleton_graph(skel)
    pruned = g.prune(threshold).to_mask()
    assert pruned.dtype == skel.dtype
    assert not np.any(pruned & ~(skel != 0)) if skel.dtype == bool else np.all((pruned == 0) | (pruned == skel))
    ids = np.unique(skel[skel != 0])
    for i in ids:
        before, after = (skel == i) if skel.dtype != bool else skel, (pruned == i) if skel.dtype != bool else pruned
        assert betti_numbers(after) == betti_numbers(before)
    assert set(np.unique(pruned[pruned != 0])) == set(ids)


def test_prune_removes_short_spurs_only():
    img = np.zeros((12, 30), bool)
    img[6, 2:28] = True
    img[3:6, 10] = True  # spur of 3
    img[7:12, 20] = True  # branch of 5
    g = skeleton_graph(img)
    p = g.prune(4)
    assert p.to_mask().sum() == img.sum() - 3
    assert sorted(p.branches["length"]) == [5, 7, 18]
    assert np.array_equal(g.to_mask(), img)  # the original graph is untouched
    assert len(g.prune(100).branches) == 1  # then the longest of the last two stays, as one branch...
    assert g.prune(100).summary["n_endpoints"].iloc[0] == 2


def test_prune_by_radius_factor():
    mask = np.zeros((30, 60), bool)
    mask[10:21, 5:55] = True  # a thick bar, half-width 5
    mask[2:10, 30:32] = True  # a thin real branch, 9 long
    skel = np.zeros_like(mask)
    skel[15, 8:52] = True
    skel[11:15, 20] = True  # a bump spur of 4 inside the bar
    skel[2:15, 30] = True  # the branch out of it
    g = skeleton_graph(skel, mask=mask)
    p = g.prune(radius_factor=1.5)  # spurs shorter than 1.5 x the radius at their junction (~6)
    kept = p.to_mask()
    assert not kept[11:15, 20].any() and kept[2:15, 30].all()
    assert betti_numbers(kept) == betti_numbers(skel)


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((0,), {}, "min_length must be a positive number"),
        ((-1,), {}, "min_length must be a positive number"),
        ((), {"radius_factor": 0}, "radius_factor must be a positive number"),
        ((), {}, "needs min_length or radius_factor"),
        ((), {"radius_factor": 2}, "needs radii"),
        (("x",), {}, "min_length must be a positive number"),
    ],
)
def test_prune_bad_arguments(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        skeleton_graph(_star()).prune(*args, **kwargs)


# ---- exports ---------------------------------------------------------------------------------------


def test_swc_round_trip_cuts_loops_deterministically(tmp_path):
    skel = np.zeros((5, 20, 20), bool)
    skel[2] = _ring(shape=(20, 20), centre=(9, 9), r=6)
    skel[2, 9, 16:19] = True
    skel[1:4, 2, 18] = True  # a second object
    mask = np.zeros_like(skel)
    mask[1:4] = skel[2] | skel[1]
    spacing = (3.0, 0.5, 0.25)
    g = skeleton_graph(skel, spacing=spacing, mask=skel, unit="um")
    path = tmp_path / "a.swc"
    g.to_swc(path)
    text = path.read_text()
    assert "# units: um" in text and "spacing (z, y, x): 3, 0.5, 0.25" in text
    table = read_swc(path)
    assert len(table) == skel.sum() and (table["parent"] == -1).sum() == 2
    assert table.attrs["unit"] == "um"
    # nodes at voxel x spacing, every voxel once; parents are neighbours
    voxels = np.argwhere(skel) * spacing
    got = table[["z", "y", "x"]].to_numpy()
    assert sorted(map(tuple, got.round(6))) == sorted(map(tuple, voxels.round(6)))
    pos = table.set_index("id")[["z", "y", "x"]]
    child = table[table["parent"] >= 0]
    step = (child[["z", "y", "x"]].to_numpy() - pos.loc[child["parent"]].to_numpy()) / spacing
    assert np.abs(step).max() <= 1 + 1e-9
    assert len(child) == skel.sum() - 2  # a tree per object: the ring's loop is cut once
    g.to_swc(tmp_path / "b.swc")
    assert (tmp_path / "b.swc").read_text() == text
    nameless = skeleton_graph(skel, spacing=spacing)  # a spacing without a unit: not "voxels"
    nameless.to_swc(tmp_path / "c.swc")
    assert "# units: unknown" in (tmp_path / "c.swc").read_text() and read_swc(tmp_path / "c.swc").attrs["unit"] is None


@pytest.mark.parametrize(
    "body, message",
    [
        ("1 0 0 0 0 1 -1\n2 0 1 0 0 1 3\n3 0 2 0 0 1 2\n", "cycle"),
        ("1 0 0 0 0 1 -1\n2 0 1 0 0 1 7\n", "parent 7, which is not in the file"),
        ("1 0 0 0 0 -1 -1\n", "negative radius"),
        ("1 0 0 0 0 1\n", "line 2 has 6 fields"),
        ("1 0 0 0 0 1 -1\n1 0 1 0 0 1 1\n", "node id 1 appears 2 times"),
        ("1 0 a 0 0 1 -1\n", "not numbers"),
    ],
)
def test_read_swc_rejects_bad_files(tmp_path, body, message):
    path = tmp_path / "bad.swc"
    path.write_text("# a comment\n" + body)
    with pytest.raises(ValueError, match=message) as info:
        read_swc(path)
    assert "\n" not in str(info.value) and "bad.swc" in str(info.value)


def test_read_swc_scale_and_origin(tmp_path):
    path = tmp_path / "t.swc"
    path.write_text("1 1 100 200 300 10 -1\n2 3 110 200 300 5 1\n")
    table = read_swc(path, scale=0.5, origin=(100, 200, 300))
    assert table[["x", "y", "z", "radius"]].to_numpy().tolist() == [[0, 0, 0, 5], [5, 0, 0, 2.5]]


def test_networkx_graphml_and_csv(tmp_path):
    img = _ring(shape=(21, 21), centre=(10, 10), r=6)
    img[10, 17:20] = True
    extra = np.zeros((21, 21), bool)
    extra[1, 1:6] = True
    g = skeleton_graph(img | extra, spacing=(0.5, 0.5))
    nxg = g.to_networkx()
    assert isinstance(nxg, nx.MultiGraph)
    assert nxg.number_of_edges() == len(g.branches)
    assert sum(nx.cycle_basis(nx.Graph(nxg))) if False else True
    assert nx.number_connected_components(nxg) == len(g.summary)
    lengths = sorted(d["length"] for *_, d in nxg.edges(data=True))
    assert lengths == sorted(g.branches["length"])
    g.to_graphml(tmp_path / "g.graphml")
    back = nx.read_graphml(tmp_path / "g.graphml")
    assert back.number_of_edges() == len(g.branches)
    g.to_csv(tmp_path / "b.csv")
    table = pd.read_csv(tmp_path / "b.csv")
    assert len(table) == len(g.branches) and "_part" not in table.columns
    g.to_csv(tmp_path / "s.csv", table="summary")
    assert pd.read_csv(tmp_path / "s.csv")["n_loops"].tolist() == g.summary["n_loops"].tolist()
    with pytest.raises(ValueError, match="table must be"):
        g.to_csv(tmp_path / "x.csv", table="nope")


def test_graph_is_not_constructed_directly():
    with pytest.raises(TypeError, match="skeleton_graph"):
        SkeletonGraph()


def test_docstring_examples_run():
    import doctest

    from napari_soft_skeleton.graph import _graph

    result = doctest.testmod(_graph, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3 and result.failed == 0
