"""Betti numbers of a sparse skeleton (its voxel coordinates), as :func:`betti_numbers` defines them.

* ``b0``: 8-/26-connected components of the voxels (a sparse union-find);
* holes (2D ``b1``) and cavities (3D ``b2``): background components (4-/6-
  connected) that do not touch the border of the foreground's bounding box
  (what ``_betti`` counts after cropping and padding), labelled block by
  block over that box — each block dense only while it is labelled, rebuilt
  from the coordinates — and joined across block faces with a union-find;
  the faces waiting for their neighbour are kept run-length encoded;
* 3D ``b1 = b0 + b2 - chi``, with the Euler characteristic ``chi`` of the
  closed voxel cubes counted sparsely (:func:`.._sparse.euler_characteristic`).

Every count is an integer computed exactly: the result equals
``betti_numbers(dense)`` for the dense array with these voxels.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from .._sparse import coarsen, components, euler_characteristic, iter_chunks

#: Block edge (voxels) of the background labelling when no chunking is given.
DEFAULT_BLOCK = 200

#: Most voxels in one block of the background labelling (whole chunks are merged up to it).
BLOCK_VOXELS = 1 << 23


def _grid(lo, hi, bounds):
    """Block boundaries inside the box ``[lo, hi)`` per axis: the given chunk bounds, clipped."""
    out = []
    for a, (start, stop) in enumerate(zip(lo, hi)):
        if bounds is None:
            b = np.arange(start, stop, DEFAULT_BLOCK)
        else:
            b = np.asarray(coarsen(bounds, 1, BLOCK_VOXELS)[a], np.int64)
            b = b[(b > start) & (b < stop)]
        out.append(np.unique(np.concatenate([[start], b, [stop]])).astype(np.int64))
    return out


def _rle(plane: np.ndarray):
    flat = plane.ravel()
    starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]])
    return plane.shape, starts, flat[starts]


def _unrle(encoded) -> np.ndarray:
    shape, starts, values = encoded
    size = int(np.prod(shape))
    return np.repeat(values, np.diff(np.r_[starts, size])).reshape(shape)


def enclosed_background(coords: np.ndarray, shape, bounds=None) -> int:
    """Background components (4-/6-connected) not touching the border of the voxels' bounding box."""
    import cc3d

    ndim = coords.shape[1]
    if coords.shape[0] == 0:
        return 0
    lo, hi = coords.min(axis=0), coords.max(axis=0) + 1
    grid = _grid(lo, hi, bounds)
    sizes = tuple(len(b) - 1 for b in grid)
    z = coords[:, 0]
    pending: dict[tuple, list] = {}
    src, dst, touching = [], [], []
    next_id = 1
    for region in iter_chunks(grid):
        idx = tuple(int(np.searchsorted(b, r.start)) for b, r in zip(grid, region))
        start = np.array([r.start for r in region])
        block_shape = tuple(r.stop - r.start for r in region)
        rows = coords[np.searchsorted(z, region[0].start):np.searchsorted(z, region[0].stop)]
        inside = np.all((rows >= start) & (rows < start + block_shape), axis=1)
        local = rows[inside] - start
        if local.shape[0] == 0:
            labels, n = np.ones(block_shape, np.int64), 1
        else:
            fg = np.zeros(block_shape, bool)
            fg[tuple(local.T)] = True
            labels, n = cc3d.connected_components((~fg).view(np.uint8), connectivity=2 * ndim, return_N=True)
            labels = labels.astype(np.int64)
        labels = np.where(labels > 0, labels + (next_id - 1), 0)
        next_id += int(n)
        for axis in range(ndim):
            first = np.take(labels, 0, axis=axis)
            last = np.take(labels, -1, axis=axis)
            if region[axis].start == lo[axis]:
                touching.append(first[first > 0])
            if region[axis].stop == hi[axis]:
                touching.append(last[last > 0])
            if idx[axis] + 1 < sizes[axis]:
                after = tuple(i + (a == axis) for a, i in enumerate(idx))
                pending.setdefault(after, []).append((axis, _rle(last)))
        for axis, encoded in pending.pop(idx, []):
            before, mine = _unrle(encoded), np.take(labels, 0, axis=axis)
            both = (before > 0) & (mine > 0)
            if both.any():
                pairs = np.unique(np.stack([before[both], mine[both]], axis=1), axis=0)
                src.append(pairs[:, 0])
                dst.append(pairs[:, 1])
    n_ids = next_id
    src = np.concatenate(src) if src else np.zeros(0, np.int64)
    dst = np.concatenate(dst) if dst else np.zeros(0, np.int64)
    graph = sparse.csr_matrix((np.ones(src.size, np.int8), (src, dst)), shape=(n_ids, n_ids))
    count, comp = csgraph.connected_components(graph, directed=False)
    outer = np.zeros(count, bool)
    outer[comp[np.unique(np.concatenate(touching))]] = True
    used = np.zeros(count, bool)
    used[comp[1:]] = True  # (id 0 is no background component)
    return int(np.count_nonzero(used & ~outer))


def betti_from_coords(coords: np.ndarray, shape, bounds=None) -> tuple[int, ...]:
    """``betti_numbers`` of the array whose nonzero voxels are ``coords`` (raster order)."""
    ndim = len(shape)
    if coords.shape[0] == 0:
        return (0,) * ndim
    b0, _ = components(coords, shape)
    enclosed = enclosed_background(coords, shape, bounds)
    if ndim == 2:
        return (int(b0), enclosed)
    chi = euler_characteristic(coords, shape)
    return (int(b0), int(b0) + enclosed - chi, enclosed)
