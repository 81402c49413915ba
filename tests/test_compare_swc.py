"""``compare`` with a traced reference: an SWC table or file, or a SkeletonGraph."""

import json

import numpy as np
import pandas as pd
import pytest

from napari_soft_skeleton import compare, read_swc, skeleton_graph
from napari_soft_skeleton.metrics._swc_compare import reference_skeleton
from napari_soft_skeleton.samples import rasterize_swc

SPACING = (0.5, 0.5, 0.5)
SHAPE = (12, 30, 44)

# A tree in physical units (µm), x y z: a trunk along x with a junction, a branch along -y,
# one along +z, and a 45-degree branch in the x-y plane.  Root at one end.
TREE = [
    # id type x     y     z    radius parent
    (1, 0, 2.0, 8.0, 3.0, 0.5, -1),
    (2, 0, 8.0, 8.0, 3.0, 0.5, 1),
    (3, 0, 14.0, 8.0, 3.0, 0.5, 2),
    (4, 0, 20.0, 8.0, 3.0, 0.5, 3),
    (5, 0, 8.0, 2.0, 3.0, 0.5, 2),
    (6, 0, 14.0, 8.0, 5.0, 0.5, 3),
    (7, 0, 18.0, 12.0, 3.0, 0.5, 3),
]


def _table(rows=TREE) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "type", "x", "y", "z", "radius", "parent"])


def _write_swc(path, rows=TREE, header="# units: um") -> None:
    lines = [header] + [f"{i} {t} {x:g} {y:g} {z:g} {r:g} {p}" for i, t, x, y, z, r, p in rows]
    path.write_text("\n".join(lines) + "\n")


def _raster(rows=TREE, shape=SHAPE) -> np.ndarray:
    """The tree drawn as digital lines (scikit-image's line_nd), independently of the code under test."""
    return rasterize_swc(np.array(rows, float), shape, origin=(0.0, 0.0, 0.0), pitch=SPACING[0])


def test_swc_against_its_rasterized_skeleton_is_perfect(tmp_path):
    path = tmp_path / "tree.swc"
    _write_swc(path)
    cand = _raster()
    for reference in (path, str(path), read_swc(path), _table()):
        r = compare(reference, cand, spacing=SPACING)
        assert r.precision == 1.0 and r.recall == 1.0 and r.f1 == 1.0
        t = r.tree
        assert t["reference_kind"] == "swc"
        length = 6 + 6 + 6 + 6 + 2 + 4 * np.sqrt(2)
        assert t["cable_length_reference"] == pytest.approx(length)
        assert abs(t["cable_length_error"]) < 0.01
        assert (t["tips_reference"], t["tips_candidate"]) == (5, 5)  # root, 4 leaves
        assert t["tip_error"] == 0
        assert (t["branch_points_reference"], t["branch_points_candidate"]) == (2, 2)
        assert (t["branches_reference"], t["branches_candidate"]) == (6, 6)
        assert not t["clipped"] and t["cable_length_outside"] == 0
        assert r.betti_reference == (1, 0, 0)
        assert r.length_reference == t["cable_length_reference"]
        assert r.length_candidate == t["cable_length_candidate"]
    assert compare(path, cand, spacing=SPACING).unit == "µm"  # from the file's header
    assert r.unit == "spacing units"  # a table without one


def test_partial_candidate_lowers_recall_not_precision():
    cand = _raster()
    partial = _raster([row for row in TREE if row[0] != 5])  # no branch along -y (6 µm of 30 + 4√2)
    r = compare(_table(), partial, spacing=SPACING)
    assert r.precision == 1.0
    length = 6 * 4 + 2 + 4 * np.sqrt(2)
    # the first 0.75 µm of the missing branch lie within the tolerance of the trunk
    assert r.recall == pytest.approx((length - 6 + 0.75) / length, abs=0.01)
    assert r.tree["tips_candidate"] == 4 and r.tree["tip_error"] == pytest.approx(-0.2)
    assert r.tree["branches_candidate"] == 4
    full = compare(_table(), cand, spacing=SPACING)
    assert full.f1 > r.f1


def test_shifted_reference_is_clipped_to_the_volume_and_matches_less():
    rows = [(i, t, x + 10.0, y, z, r, p) for i, t, x, y, z, r, p in TREE]  # 20 voxels along x
    r = compare(_table(rows), _raster(), spacing=SPACING)
    assert r.tree["clipped"]
    assert r.tree["cable_length_outside"] > 0
    assert r.tree["cable_length_reference"] + r.tree["cable_length_outside"] == pytest.approx(
        compare(_table(), _raster(), spacing=SPACING).tree["cable_length_reference"])
    assert r.recall < 0.7 and r.precision < 0.5
    # the x extent of the volume is (44 - 0.5) voxels × 0.5 µm = 21.75 µm: the trunk is cut there, a new tip
    assert r.tree["tips_reference"] >= 3


def test_tolerance_is_physical_and_exact_on_segments():
    cand = np.zeros(SHAPE, bool)
    cand[6, 10, 4:40] = True  # y index 10 = 5 µm; the segment below runs at y = 5 + 0.9 µm
    rows = [(1, 0, 2.0, 5.9, 3.0, 0.5, -1), (2, 0, 20.0, 5.9, 3.0, 0.5, 1)]
    assert compare(_table(rows), cand, spacing=SPACING, tolerance=0.9).precision == 1.0
    assert compare(_table(rows), cand, spacing=SPACING, tolerance=0.89).precision == 0.0


def test_swc_scale_and_origin_map_other_units(tmp_path):
    origin = np.array([1000.0, 2000.0, 3000.0])
    rows = [(i, t, *(np.array([x, y, z]) / 0.008 + origin), r / 0.008, p) for i, t, x, y, z, r, p in TREE]
    path = tmp_path / "nm8.swc"
    _write_swc(path, rows, header="# 8 nm voxels")
    cand = _raster()
    r = compare(path, cand, spacing=SPACING, swc_scale=0.008, swc_origin=tuple(origin), unit="µm")
    assert r.precision == 1.0 and r.recall == 1.0
    same = compare(read_swc(path, scale=0.008, origin=origin), cand, spacing=SPACING, unit="µm")
    assert same.to_dict() == r.to_dict()
    # table + scale/origin: applied to the table
    table = read_swc(path)
    assert compare(table, cand, spacing=SPACING, swc_scale=0.008, swc_origin=origin).f1 == 1.0


def test_round_trip_through_to_swc(tmp_path):
    cand = _raster()
    g = skeleton_graph(cand, spacing=SPACING, unit="um")
    path = tmp_path / "g.swc"
    g.to_swc(path)
    r = compare(path, cand, spacing=SPACING)
    assert r.precision == 1.0 and r.recall == 1.0
    assert r.tree["cable_length_error"] == pytest.approx(0, abs=1e-9)
    assert r.tree["tips_reference"] == r.tree["tips_candidate"]
    assert r.tree["branch_points_reference"] == r.tree["branch_points_candidate"]


def test_skeleton_graph_reference():
    cand = _raster()
    g = skeleton_graph(cand, spacing=SPACING, unit="um")
    r = compare(g, cand)
    assert r.spacing == SPACING and r.unit == "µm"
    assert r.f1 == 1.0 and r.tree["reference_kind"] == "graph"
    assert r.tree["tip_error"] == 0 and r.tree["cable_length_error"] == 0
    partial = _raster([row for row in TREE if row[0] != 5])
    r2 = compare(g, skeleton_graph(partial, spacing=SPACING))
    assert r2.recall < 1 and r2.precision == 1.0 and r2.tree["tips_candidate"] == 4
    with pytest.raises(ValueError, match="spacing"):
        compare(g, cand, spacing=(1, 1, 1))


def test_to_dict_carries_the_tree_measures_and_unit():
    r = compare(_table(), _raster(), spacing=SPACING, unit="um")
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert d["tree"]["unit"] == "µm"
    assert d["tree"]["tips_reference"] == 5
    assert "tree" not in compare(_raster(), _raster()).to_dict()
    # an empty reference (all outside): the relative errors are infinite, null in JSON
    far = [(i, t, x + 500, y, z, r, p) for i, t, x, y, z, r, p in TREE]
    d = compare(_table(far), _raster(), spacing=SPACING).to_dict()
    assert d["tree"]["tip_error"] is None
    json.dumps(d, allow_nan=False)


def test_two_dimensional_candidate():
    rows = [(1, 0, 1.0, 4.0, 0.0, 1.0, -1), (2, 0, 9.0, 4.0, 0.0, 1.0, 1), (3, 0, 5.0, 4.0, 0.0, 1.0, 2),
            (4, 0, 5.0, 8.0, 0.0, 1.0, 3)]
    # node 3 lies on the segment 1-2: a path back along it, then a branch
    skel = np.zeros((12, 12), bool)
    skel[4, 1:10] = True
    skel[4:9, 5] = True
    r = compare(_table(rows), skel)
    assert r.precision == 1.0 and r.recall == 1.0
    assert r.betti_reference == (1, 0)
    assert reference_skeleton(_table(rows), skel.shape).sum() == skel.sum()


def test_mask_restricts_the_matching():
    cand = _raster()
    roi = np.zeros(SHAPE, bool)
    roi[:, :, :20] = True  # x < 10 µm
    r = compare(_table(), np.zeros(SHAPE, bool), mask=roi, spacing=SPACING)
    assert r.recall == 0.0 and r.masked
    r = compare(_table(), cand * ~roi, mask=roi, spacing=SPACING)
    assert r.n_candidate == 0 and r.recall == 0.0


def test_bad_swc_is_one_line_value_error(tmp_path):
    path = tmp_path / "cycle.swc"
    _write_swc(path, [(1, 0, 1.0, 1.0, 1.0, 1.0, 2), (2, 0, 2.0, 1.0, 1.0, 1.0, 1)])
    with pytest.raises(ValueError, match="cycle") as info:
        compare(path, _raster(), spacing=SPACING)
    assert "\n" not in str(info.value) and "cycle.swc" in str(info.value)
    bad = _table([(1, 0, 1.0, 1.0, 1.0, 1.0, -1), (2, 0, 2.0, 1.0, 1.0, 1.0, 7)])
    with pytest.raises(ValueError, match="not in the file"):
        compare(bad, _raster(), spacing=SPACING)
    with pytest.raises(ValueError, match="columns"):
        compare(pd.DataFrame({"a": [1]}), _raster())
    with pytest.raises(FileNotFoundError):
        compare(tmp_path / "missing.swc", _raster())
    with pytest.raises(ValueError, match="swc_scale"):
        compare(_raster(), _raster(), swc_scale=2.0)


@pytest.mark.slow
def test_hemibrain_sample_against_its_traced_skeleton():
    from napari_soft_skeleton import load_sample, skeletonize
    from napari_soft_skeleton.samples import samples_dir

    s = load_sample("neuron_hemibrain_pn")
    swc = read_swc(samples_dir() / "neuron_hemibrain_da1_pn_722817260.swc", scale=0.008,
                   origin=(3088.019, 11280.019, 10000.019))
    skel = skeletonize(s.mask, method="lee", spacing=s.spacing)
    r = compare(swc, skel, spacing=s.spacing, unit="um")
    # measured: P 0.9996, R 0.931, cable length -6.1 %, tips 105 of 657 (twigs thinner than a voxel)
    assert r.precision > 0.99 and r.recall > 0.9
    assert abs(r.tree["cable_length_error"]) < 0.1
    assert not r.tree["clipped"]
    assert r.tree["tips_reference"] == 657
