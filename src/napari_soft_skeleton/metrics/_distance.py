"""Skeleton lengths and tolerance matching."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree

from ._checks import _bounding_box

# Relative slack used when testing ``distance <= tolerance`` so that, e.g.,
# 3 voxels of spacing 0.1 (0.30000000000000004) count as within 0.3.
_TOLERANCE_RTOL = 1e-9

# When the larger of the two point sets covers more than this fraction of
# the (cropped) grid, distances are computed with a Euclidean distance
# transform instead of a k-d tree. Both give the same exact distances.
_DENSE_FRACTION = 0.05



def _neighbour_offsets(ndim: int) -> list[tuple[int, ...]]:
    """Nonzero offsets in {-1, 0, 1}^ndim."""
    grids = np.stack(
        np.meshgrid(*([np.array([-1, 0, 1])] * ndim), indexing="ij"), axis=-1
    ).reshape(-1, ndim)
    return [tuple(int(v) for v in o) for o in grids if any(o)]


def _skeleton_length(skel: np.ndarray, spacing: tuple[float, ...] | None) -> float:
    """Length of a thin skeleton as the sum of its non-redundant neighbour edges.

    Every pair of 8-/26-adjacent voxels is an edge of length
    ``|offset * spacing|``, except edges that are the strictly longest side
    of a triangle of adjacent voxels (for example the diagonal across the
    corner of an L-shaped step), which would count the same stretch twice.
    """
    ndim = skel.ndim
    box = _bounding_box(skel)
    if box is None:
        return 0.0
    padded = np.pad(skel[box], 1, mode="constant", constant_values=False)
    flat = padded.ravel()
    points = np.flatnonzero(flat)
    if points.size < 2:
        return 0.0
    strides = np.array(padded.strides) // padded.itemsize
    return _edge_length(points, ndim, spacing, lambda o: int(np.dot(o, strides)), flat.__getitem__)


def _edge_length(points: np.ndarray, ndim: int, spacing, step, present) -> float:
    """The edge sum of :func:`_skeleton_length` over voxels given by integer keys.

    ``points`` are the voxels' keys (flat indices), ``step(offset)`` the key
    difference of a neighbour offset, and ``present(keys)`` tells which keys
    are voxels: a flat mask look-up here, a sorted-key search for the
    coordinates of a lazy skeleton (``_compare_lazy.length_from_coords``).
    """
    sp = np.ones(ndim) if spacing is None else np.asarray(spacing, dtype=float)
    offsets = _neighbour_offsets(ndim)
    length_of = {o: float(np.sqrt(np.sum((np.array(o) * sp) ** 2))) for o in offsets}
    flat_of = {o: step(o) for o in offsets}
    offset_set = set(offsets)

    total = 0.0
    for o in offsets:
        if o <= tuple(0 for _ in o):  # keep one of each +/- pair
            continue
        src = points[present(points + flat_of[o])]
        if src.size == 0:
            continue
        lo = length_of[o]
        redundant = np.zeros(src.size, dtype=bool)
        for a in offsets:
            b = tuple(oi - ai for oi, ai in zip(o, a))
            if b not in offset_set:
                continue
            if length_of[a] < lo and length_of[b] < lo:
                redundant |= present(src + flat_of[a])
        total += lo * int(np.count_nonzero(~redundant))
    return float(total)


def _matched(
    query_coords: np.ndarray,
    target_coords: np.ndarray,
    target_mask: np.ndarray,
    spacing: tuple[float, ...] | None,
    tolerance: float,
) -> np.ndarray:
    """Boolean array: is each query point within ``tolerance`` of a target?"""
    n_query = query_coords.shape[0]
    if n_query == 0:
        return np.zeros(0, dtype=bool)
    if target_coords.shape[0] == 0:
        return np.zeros(n_query, dtype=bool)
    ndim = target_mask.ndim
    sp = np.ones(ndim) if spacing is None else np.asarray(spacing, dtype=float)
    limit = tolerance * (1.0 + _TOLERANCE_RTOL)

    # Work in the joint bounding box of both point sets.
    lo = np.minimum(query_coords.min(axis=0), target_coords.min(axis=0))
    hi = np.maximum(query_coords.max(axis=0), target_coords.max(axis=0)) + 1
    box_size = int(np.prod(hi - lo))
    dense = max(n_query, target_coords.shape[0]) > _DENSE_FRACTION * box_size

    if dense:
        box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
        dist = ndi.distance_transform_edt(~target_mask[box], sampling=sp)
        local = query_coords - lo
        d = dist[tuple(local.T)]
    else:
        tree = cKDTree(target_coords * sp)
        d, _ = tree.query(
            query_coords * sp, k=1, distance_upper_bound=np.nextafter(limit, np.inf)
        )
    return d <= limit

