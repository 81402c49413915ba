"""Comparing a skeleton with a traced tree: an SWC reference (a table or a file) or a :class:`SkeletonGraph`.

:func:`~napari_soft_skeleton.compare` hands its work here when its
reference is an SWC table (:func:`~napari_soft_skeleton.read_swc`), a path
to a ``.swc`` file or a :class:`~napari_soft_skeleton.SkeletonGraph`.

An SWC reference is a polyline: every parent → child link is a straight
segment between the two nodes, at physical positions ``(x, y, z)`` in the
candidate's frame, i.e. voxel index ``(z, y, x)`` × spacing (``swc_origin``
is subtracted first, then ``swc_scale`` multiplies, as in ``read_swc``).
The segments are clipped to the volume — the box ``[-0.5, n - 0.5]`` voxels
along every axis — so cable outside the image neither counts nor is missed;
where a segment leaves the volume the clipped tree has a new tip there, as
the candidate skeleton would.

* **precision**: the share of candidate voxels within ``tolerance`` of the
  polyline (exact point-to-segment distances);
* **recall**: the share of the polyline's cable length within ``tolerance``
  of a candidate voxel (the segments cut into pieces no longer than half the
  smallest spacing, each weighted by its length);
* **tree measures**: cable length, tips, branch points and branches of both,
  with relative errors ``(candidate - reference) / reference``.

Tips are the tree's nodes of degree 0 or 1 (a leaf, a root with one child, a
cut at the volume's edge); branch points those of degree 3 or more (a node
with two or more children, and a root with three or more: a root with two
children lies on a path, as it would in a skeleton), where branch points
within a voxel diagonal of each other count as one, as touching junction
voxels are one junction of the candidate (the hemibrain DA1 tracing: 633
forks, 303 branch points); branches the paths between tips and branch
points, less the links inside one.  For the candidate they are the end points,
junctions and branches of :func:`~napari_soft_skeleton.skeleton_graph`, its
cable length the graph's total ``length``.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from dataclasses import replace

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from ._checks import _as_mask, _check_spacing, _check_tolerance, _harmonic, _ratio
from ._distance import _TOLERANCE_RTOL

_GRAPH_MODULE = "napari_soft_skeleton.graph._graph"


def is_tree_reference(obj) -> bool:
    """An SWC table, a path to a ``.swc`` file or a SkeletonGraph (checked without importing pandas)."""
    if isinstance(obj, (str, os.PathLike)):
        return os.fspath(obj).lower().endswith(".swc")
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(obj, pandas.DataFrame):
        return True
    return _is_graph(obj)


def _is_graph(obj) -> bool:
    module = sys.modules.get(_GRAPH_MODULE)
    return module is not None and isinstance(obj, module.SkeletonGraph)


# ---- the SWC table ---------------------------------------------------------------------------------


def load_swc(reference, swc_scale=None, swc_origin=None):
    """An SWC table from a path or a DataFrame, checked, with ``swc_origin`` subtracted and ``swc_scale`` applied."""
    from ..graph._swc import _check, read_swc

    if isinstance(reference, (str, os.PathLike)):
        return read_swc(reference, scale=swc_scale, origin=swc_origin)
    missing = [c for c in ("id", "x", "y", "z", "parent") if c not in reference.columns]
    if missing:
        raise ValueError(f"an SWC table needs the columns id, x, y, z, parent (as read_swc returns); "
                         f"missing {', '.join(missing)}")
    table = reference.copy()
    if "radius" not in table.columns:
        table["radius"] = 0.0
    _check(table, "SWC table")
    if swc_origin is not None:
        table[["x", "y", "z"]] -= np.asarray(swc_origin, float).reshape(1, 3)
    if swc_scale is not None:
        table[["x", "y", "z", "radius"]] *= float(swc_scale)
    return table


def _segments(table, ndim: int):
    """Physical node positions (axis order z, y, x; 2-D: y, x) and the links as (child, parent) rows."""
    axes = ["z", "y", "x"][-ndim:]
    pos = table[axes].to_numpy(float)
    if not np.isfinite(pos).all():
        raise ValueError("the SWC reference has coordinates that are not finite numbers")
    ids = table["id"].to_numpy()
    parents = table["parent"].to_numpy()
    order = np.argsort(ids)
    child = np.flatnonzero(parents >= 0)
    parent = order[np.searchsorted(ids[order], parents[child])]
    return pos, child, parent


def _clip(a: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Liang–Barsky: the part ``t0 <= t <= t1`` of each segment a→b inside the box; ``keep`` where non-empty."""
    d = b - a
    t0 = np.zeros(len(a))
    t1 = np.ones(len(a))
    keep = np.ones(len(a), bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(a.shape[1]):
            flat = d[:, k] == 0
            keep &= ~(flat & ((a[:, k] < lo[k]) | (a[:, k] > hi[k])))
            u = (lo[k] - a[:, k]) / d[:, k]
            v = (hi[k] - a[:, k]) / d[:, k]
            t0 = np.where(flat, t0, np.maximum(t0, np.minimum(u, v)))
            t1 = np.where(flat, t1, np.minimum(t1, np.maximum(u, v)))
    keep &= t0 <= t1
    return t0, t1, keep


class _Polyline:
    """The SWC tree clipped to the volume: segments, dense points and tree counts."""

    def __init__(self, table, shape, spacing):
        ndim = len(shape)
        sp = np.asarray(spacing, float)
        lo, hi = -0.5 * sp, (np.asarray(shape) - 0.5) * sp
        pos, child, parent = _segments(table, ndim)
        n = len(pos)
        full_length = float(np.linalg.norm(pos[parent] - pos[child], axis=1).sum())
        t0, t1, keep = _clip(pos[child], pos[parent], lo, hi)
        child, parent, t0, t1 = child[keep], parent[keep], t0[keep], t1[keep]
        d = pos[parent] - pos[child]
        self.a = pos[child] + t0[:, None] * d
        self.b = pos[child] + t1[:, None] * d
        lengths = np.linalg.norm(self.b - self.a, axis=1)
        # a segment that only touches the box (a point) is not cable inside it
        touching = (lengths == 0) & (np.linalg.norm(d, axis=1) > 0)
        self.a, self.b, lengths = self.a[~touching], self.b[~touching], lengths[~touching]
        child, parent, t0, t1 = child[~touching], parent[~touching], t0[~touching], t1[~touching]
        self.length = float(lengths.sum())
        self.length_outside = max(full_length - self.length, 0.0)
        inside = np.all((pos >= lo) & (pos <= hi), axis=1)
        degree, cuts = self._count(pos, child, parent, t0, t1, inside, sp)
        self.components = self._components(child, parent, inside, n)
        self.clipped = bool(cuts) or bool((~inside).any())
        # lone nodes (roots without children) inside the volume are zero-length segments
        lone = np.flatnonzero(inside & (degree == 0))
        self.a = np.concatenate([self.a, pos[lone]])
        self.b = np.concatenate([self.b, pos[lone]])
        self.step = 0.5 * float(sp.min())
        self._dense(np.concatenate([lengths, np.zeros(lone.size)]))

    def _count(self, pos, child, parent, t0, t1, inside, sp):
        """Tips, branch points and branches of the clipped forest: its SWC nodes inside the volume and
        one new tip per cut.  Branch points within a voxel diagonal of each other are one (as touching
        junction voxels are one junction of the candidate), and the links inside it are no branches."""
        n, s = len(pos), len(child)
        seg = np.arange(s)
        inc_seg = np.concatenate([seg[t0 == 0], seg[t1 == 1]])  # (segment, node) where a node ends a segment
        inc_node = np.concatenate([child[t0 == 0], parent[t1 == 1]])
        degree = np.bincount(inc_node, minlength=n)
        cuts = int(np.count_nonzero(t0 > 0) + np.count_nonzero(t1 < 1))
        self.tips = int(np.count_nonzero(degree[inside] <= 1)) + cuts
        fork = np.flatnonzero(inside & (degree >= 3))
        cluster = np.full(n, -1)
        self.branch_points = 0
        if fork.size:
            diagonal = float(np.sqrt(np.sum(np.square(sp)))) * (1 + 1e-9)
            pairs = cKDTree(pos[fork]).query_pairs(diagonal, output_type="ndarray").reshape(-1, 2)
            near = sparse.csr_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(fork.size,) * 2)
            self.branch_points, cluster[fork] = csgraph.connected_components(near, directed=False)
        # branches: the segments joined at nodes of degree 2 (each appears twice among the incidences)
        through = degree[inc_node] == 2
        order = np.argsort(inc_node[through], kind="stable")
        joined = inc_seg[through][order].reshape(-1, 2)
        links = sparse.csr_matrix((np.ones(len(joined)), (joined[:, 0], joined[:, 1])), shape=(s, s))
        n_paths, path = csgraph.connected_components(links, directed=False) if s else (0, np.zeros(0, int))
        end_path, end_cluster = path[inc_seg[~through]], cluster[inc_node[~through]]
        ends = np.bincount(end_path, minlength=n_paths)
        low, high = np.full(n_paths, n), np.full(n_paths, -1)
        np.minimum.at(low, end_path, end_cluster)
        np.maximum.at(high, end_path, end_cluster)
        internal = (ends == 2) & (low == high) & (low >= 0)
        self.branches = int(n_paths - np.count_nonzero(internal))
        return degree, cuts

    @staticmethod
    def _components(child, parent, inside, n) -> int:
        whole = (inside[child]) & (inside[parent])
        nodes_in = np.flatnonzero(inside)
        graph = sparse.csr_matrix((np.ones(int(whole.sum())), (child[whole], parent[whole])), shape=(n, n))
        _, labels = csgraph.connected_components(graph, directed=False)
        count = np.unique(labels[nodes_in]).size
        # a clipped segment with no node inside (it crosses the volume) is a component of its own
        return int(count + np.count_nonzero(~inside[child] & ~inside[parent]))

    def _dense(self, lengths: np.ndarray) -> None:
        """Points along every segment: ``nodes`` (ends included, for distances and rasterising) and
        ``mid`` (piece centres, each weighted by its piece's length, for recall)."""
        pieces = np.maximum(np.ceil(lengths / self.step).astype(np.int64), 1)
        seg = np.repeat(np.arange(len(pieces)), pieces + 1)
        start = np.repeat(np.cumsum(pieces + 1) - (pieces + 1), pieces + 1)
        t = (np.arange(seg.size) - start) / pieces[seg]
        self.points = self.a[seg] + t[:, None] * (self.b[seg] - self.a[seg])
        self.point_segment = seg
        mseg = np.repeat(np.arange(len(pieces)), pieces)
        mstart = np.repeat(np.cumsum(pieces) - pieces, pieces)
        mt = (np.arange(mseg.size) - mstart + 0.5) / pieces[mseg]
        self.mid = self.a[mseg] + mt[:, None] * (self.b[mseg] - self.a[mseg])
        self.weight = (lengths / pieces)[mseg]

    def distance_within(self, query: np.ndarray, tolerance: float) -> np.ndarray:
        """Is each query point (physical) within ``tolerance`` of the polyline? Exact segment distances."""
        if len(query) == 0 or len(self.points) == 0:
            return np.zeros(len(query), bool)
        limit = tolerance * (1.0 + _TOLERANCE_RTOL)
        tree = cKDTree(self.points)
        d, _ = tree.query(query, k=1)
        matched = d <= limit
        # the nearest point of a segment within the tolerance is at most step / 2 from a dense point
        unsure = np.flatnonzero(~matched & (d <= limit + 0.5 * self.step))
        if unsure.size:
            near = tree.query_ball_point(query[unsure], limit + 0.5 * self.step)
            counts = np.array([len(x) for x in near])
            rows = np.repeat(unsure, counts)
            segs = self.point_segment[np.concatenate(near).astype(np.int64)]
            p, a, b = query[rows], self.a[segs], self.b[segs]
            ab = b - a
            denom = np.einsum("ij,ij->i", ab, ab)
            t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.where(denom > 0, denom, 1), 0, 1)
            dist = np.linalg.norm(p - (a + t[:, None] * ab), axis=1)
            best = np.full(len(query), np.inf)
            np.minimum.at(best, rows, dist)
            matched |= best <= limit
        return matched

    def raster(self, shape, spacing) -> np.ndarray:
        """The voxels the polyline passes through (its dense points rounded), as a boolean skeleton."""
        out = np.zeros(shape, bool)
        if len(self.points):
            idx = np.rint(self.points / np.asarray(spacing, float)).astype(np.int64)
            idx = np.clip(idx, 0, np.asarray(shape) - 1)
            out[tuple(idx.T)] = True
        return out


# ---- the comparison ----------------------------------------------------------------------------


def _graph_counts(graph) -> dict:
    kinds = graph.nodes["kind"]
    return {
        "cable_length": float(graph.summary["length"].sum()),
        "tips": int((kinds == "end").sum()),
        "branch_points": int((kinds == "junction").sum()),
        "branches": int(len(graph.branches)),
    }


def _relative(candidate: float, reference: float) -> float:
    if reference == 0:
        return 0.0 if candidate == 0 else math.inf
    return (candidate - reference) / reference


def _tree_dict(kind: str, unit: str, ref: dict, cand: dict, **extra) -> dict:
    out = {"reference_kind": kind, "unit": unit}
    for key, error in (("cable_length", "cable_length_error"), ("tips", "tip_error"),
                       ("branch_points", "branch_point_error"), ("branches", "branch_error")):
        out[f"{key}_reference"] = ref[key]
        out[f"{key}_candidate"] = cand[key]
        out[error] = _relative(cand[key], ref[key])
    out.update(extra)
    return out


def _candidate(candidate, spacing):
    """The candidate as a boolean/label array and its SkeletonGraph (built here unless given)."""
    from ..graph import skeleton_graph

    if _is_graph(candidate):
        return candidate.to_mask(), candidate
    cand = np.asarray(candidate)
    _as_mask(cand, "candidate")  # the usual checks and messages
    skel = cand if cand.dtype.kind in "biu" else cand != 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # compare itself warns about a thick candidate
        graph = skeleton_graph(skel, spacing=spacing)
    return skel, graph


def compare_tree(reference, candidate, *, mask=None, spacing=None, tolerance=None, unit=None,
                 swc_scale=None, swc_origin=None):
    """:func:`compare` for an SWC or SkeletonGraph reference (see the module docstring)."""
    from ._compare import compare

    if _is_graph(reference):
        if swc_scale is not None or swc_origin is not None:
            raise ValueError("swc_scale and swc_origin apply to an SWC reference, not to a SkeletonGraph")
        return _compare_graph(reference, candidate, mask, spacing, tolerance, unit, compare)
    table = load_swc(reference, swc_scale, swc_origin)
    if _is_graph(candidate) and spacing is None:
        spacing, unit = candidate.spacing, unit if unit is not None else candidate.unit
    if unit is None and spacing is not None:
        u = table.attrs.get("unit")
        unit = u if u not in (None, "voxels") else None
    cand_skel, cand_graph = _candidate(candidate, spacing)
    ndim = cand_skel.ndim
    spacing_t = _check_spacing(spacing, ndim)
    sp = spacing_t or (1.0,) * ndim
    tol = None if tolerance is None else _check_tolerance(tolerance)
    line = _Polyline(table, cand_skel.shape, sp)
    raster = line.raster(cand_skel.shape, sp)
    base = compare(raster, cand_skel, mask=mask, spacing=spacing_t, tolerance=tol, unit=unit)
    tol = base.tolerance

    cand = cand_skel != 0
    roi = None if mask is None else _as_mask(mask, "mask")
    if roi is not None:
        cand = cand & roi
    cand_coords = np.argwhere(cand)
    matched_cand = line.distance_within(cand_coords * np.asarray(sp), tol)
    # recall: cable length within the tolerance of a candidate voxel
    weight = line.weight.copy()
    mid_index = np.clip(np.rint(line.mid / np.asarray(sp)).astype(np.int64), 0, np.asarray(cand.shape) - 1)
    if roi is not None:
        weight = weight * roi[tuple(mid_index.T)]
    if len(cand_coords) and len(line.mid):
        d, _ = cKDTree(cand_coords * np.asarray(sp)).query(line.mid, k=1)
        hit = d <= tol * (1.0 + _TOLERANCE_RTOL)
    else:
        hit = np.zeros(len(line.mid), bool)
    total, covered = float(weight.sum()), float(weight[hit].sum())
    recall = 1.0 if total == 0 else covered / total
    m_cand = int(np.count_nonzero(matched_cand))
    precision = _ratio(m_cand, len(cand_coords))

    n_slices = cand.shape[0]
    ps = dict(base.per_slice)
    s_m_cand = np.bincount(cand_coords[:, 0], weights=matched_cand, minlength=n_slices).astype(np.int64)
    s_len = np.bincount(mid_index[:, 0], weights=weight, minlength=n_slices)
    s_cov = np.bincount(mid_index[:, 0], weights=weight * hit, minlength=n_slices)
    s_n_cand = ps["n_candidate"]
    with np.errstate(divide="ignore", invalid="ignore"):
        s_prec = np.where(s_n_cand > 0, s_m_cand / np.maximum(s_n_cand, 1), 1.0)
        s_rec = np.where(s_len > 0, s_cov / np.where(s_len > 0, s_len, 1), 1.0)
        denom = s_prec + s_rec
        s_f1 = np.where(denom > 0, 2 * s_prec * s_rec / np.where(denom > 0, denom, 1), 0.0)
    empty = (ps["n_reference"] + s_n_cand == 0) & (s_len == 0)
    ps.update(matched_candidate=s_m_cand, precision=s_prec.astype(float), recall=s_rec.astype(float),
              f1=s_f1.astype(float), agreement=np.where(empty, np.nan, s_f1).astype(float))

    ref_counts = {"cable_length": line.length, "tips": line.tips, "branch_points": line.branch_points,
                  "branches": line.branches}
    cand_counts = _graph_counts(cand_graph)
    tree = _tree_dict(
        "swc", base.unit, ref_counts, cand_counts,
        clipped=line.clipped, cable_length_outside=line.length_outside,
        recall_weighting="cable length",
    )
    betti = (line.components, 0, 0)[:ndim]
    return replace(base, betti_reference=betti, matched_candidate=m_cand, precision=float(precision),
                   recall=float(recall), f1=float(_harmonic(precision, recall)),
                   length_reference=line.length, length_candidate=cand_counts["cable_length"],
                   per_slice=ps, tree=tree)


def _compare_graph(reference, candidate, mask, spacing, tolerance, unit, compare):
    ref_skel = reference.to_mask()
    if spacing is None and (reference.unit is not None or any(s != 1 for s in reference.spacing)):
        spacing = reference.spacing
    elif spacing is not None:
        given = _check_spacing(spacing, reference.ndim)
        if not np.allclose(given, reference.spacing):
            raise ValueError(f"spacing {given} differs from the reference graph's spacing {reference.spacing}")
    if unit is None:
        unit = reference.unit
    cand_skel, cand_graph = _candidate(candidate, spacing)
    base = compare(ref_skel, cand_skel, mask=mask, spacing=spacing, tolerance=tolerance, unit=unit)
    ref_counts, cand_counts = _graph_counts(reference), _graph_counts(cand_graph)
    tree = _tree_dict("graph", base.unit, ref_counts, cand_counts)
    return replace(base, length_reference=ref_counts["cable_length"],
                   length_candidate=cand_counts["cable_length"], tree=tree)


def reference_skeleton(reference, shape, spacing=None, *, swc_scale=None, swc_origin=None) -> np.ndarray:
    """The voxels of an SWC or SkeletonGraph reference in a volume of ``shape`` (for figures and overlays)."""
    if _is_graph(reference):
        return reference.to_mask() != 0
    table = load_swc(reference, swc_scale, swc_origin)
    sp = _check_spacing(spacing, len(shape)) or (1.0,) * len(shape)
    return _Polyline(table, tuple(shape), sp).raster(tuple(shape), sp)
