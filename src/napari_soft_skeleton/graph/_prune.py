"""Pruning short terminal branches without changing a skeleton's topology.

Each round removes the spurs of the current graph (end-junction branches
shorter than the threshold), voxel by voxel from the tip towards the
junction: a voxel goes only if it is a simple point at that moment (the same
test as our thinning), so components, loops and cavities are untouched — in
practice a spur's voxels have one neighbour when their turn comes, and the
test only stops at the junction.  Where every branch at a junction would
go, the longest stays, so an object never shrinks to nothing.  Then the graph
is rebuilt (a junction left with two branches joins them) and the next round
runs, until a round removes nothing.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._peel_numba import _code, _simple
from .._simple_points import _steps

#: Rounds at most (each rebuilds the graph); real skeletons settle in a handful.
MAX_ROUNDS = 50


def _check_threshold(name: str, value) -> float | None:
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number; got {value!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number; got {value}")
    return value


def prune(graph, min_length, radius_factor):
    from ._graph import SkeletonGraph

    min_length = _check_threshold("min_length", min_length)
    radius_factor = _check_threshold("radius_factor", radius_factor)
    if min_length is None and radius_factor is None:
        raise ValueError("prune needs min_length or radius_factor (or both)")
    if radius_factor is not None and not graph.has_radius:
        raise ValueError("radius_factor needs radii: build the graph with mask= (skeleton_graph(..., mask=mask))")
    current = graph
    for _ in range(MAX_ROUNDS):
        chains = _spurs(current, min_length, radius_factor)
        if not chains:
            break
        skeleton, removed = _delete(current._skeleton, chains)
        if removed == 0:
            break
        current = SkeletonGraph._from(skeleton, graph.spacing, graph.unit, graph._mask, graph._image,
                                      graph._radius, graph._cache)
    if current is graph:  # nothing pruned: still a new graph, on its own copy
        current = SkeletonGraph._from(graph._skeleton.copy(), graph.spacing, graph.unit, graph._mask,
                                      graph._image, graph._radius, graph._cache)
    return current


def _spurs(graph, min_length, radius_factor) -> list[np.ndarray]:
    """Voxel coordinates of each spur to remove, ordered from its tip to (not including) its junction."""
    b = graph.branches
    terminal = b[b["kind"] == "end-junction"]
    if terminal.empty:
        return []
    length = terminal["length"].to_numpy()
    short = np.zeros(len(terminal), bool)
    if min_length is not None:
        short |= length < min_length
    paths, is_junction = [], []
    for i in terminal["branch"].to_numpy():
        part, pixels = graph._path_pixels(int(i))
        junction = part.skan.degrees[pixels] > 2
        if not junction[-1]:  # orient tip -> junction
            pixels, junction = pixels[::-1], junction[::-1]
        paths.append(part.coords[pixels])
        is_junction.append(junction)
    if radius_factor is not None:
        junction_radius = np.array([graph._radius[tuple(p[-1])] for p in paths])
        short |= length < radius_factor * junction_radius
    if not short.any():
        return []
    # at each junction keep the longest branch if all its branches are short spurs
    src, dst = terminal["src"].to_numpy(), terminal["dst"].to_numpy()
    degree = _node_degrees(b)
    is_junction_node = (graph.nodes.set_index("node")["kind"] == "junction").to_dict()
    junction_node = np.where([is_junction_node.get(int(d), False) for d in dst], dst, src)
    chosen = np.flatnonzero(short)
    spared = set()
    by_node: dict[int, list[int]] = {}
    for k in chosen:
        by_node.setdefault(int(junction_node[k]), []).append(int(k))
    for node, ks in by_node.items():
        if len(ks) >= degree.get(node, 0):
            spared.add(max(ks, key=lambda k: (length[k], -k)))
    chains = []
    for k in chosen:
        if k in spared:
            continue
        chains.append(paths[k][~is_junction[k]])
    return chains


def _node_degrees(branches) -> dict[int, int]:
    ends = np.concatenate([branches["src"].to_numpy(), branches["dst"].to_numpy()])
    ends = ends[ends >= 0]
    values, counts = np.unique(ends, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist()))


def _delete(skeleton: np.ndarray, chains: list[np.ndarray]) -> tuple[np.ndarray, int]:
    """A copy of ``skeleton`` with each chain's voxels removed in order while they are simple points."""
    ndim = skeleton.ndim
    work = np.uint8 if skeleton.dtype == bool else np.uint32 if skeleton.dtype.itemsize <= 4 else np.uint64
    padded = np.zeros(tuple(n + 2 for n in skeleton.shape), work)
    inner = (slice(1, -1),) * ndim
    padded[inner] = skeleton
    strides = np.array(padded.strides, np.int64) // padded.itemsize
    offsets = np.array(_steps(ndim), np.int64) @ strides
    order = np.concatenate([(c + 1) @ strides for c in chains]).astype(np.int64)
    indptr = np.concatenate([[0], np.cumsum([len(c) for c in chains])]).astype(np.int64)
    removed = _delete_chains(padded.reshape(-1), order, indptr, offsets, ndim, np.zeros(1 << 12, np.int64))
    out = padded[inner]
    out = out.astype(bool) if skeleton.dtype == bool else np.ascontiguousarray(out).astype(skeleton.dtype)
    return out, int(removed)


@njit(cache=True, nogil=True)
def _delete_chains(flat, order, indptr, offsets, ndim, memo):
    removed = 0
    for c in range(indptr.shape[0] - 1):
        for k in range(indptr[c], indptr[c + 1]):
            v = order[k]
            centre = flat[v]
            if centre == 0:
                continue
            if not _simple(_code(flat, v, centre, offsets), ndim, memo):
                break
            flat[v] = 0
            removed += 1
    return removed
