"""The spur pruning (:mod:`._spurs`) of a skeleton too big for memory, from its sparse coordinates.

A thinned skeleton is sparse (well under 1 % of the volume), so its voxels'
flat indices and values fit in memory when the volume does not.  The pruning
needs three things, none of them the dense volume:

* **the skeleton's voxel graph**: gathered chunk by chunk
  (:func:`gather`) as sorted flat indices into the volume padded by one
  voxel — the indices the in-memory pruning uses — and linked by
  :func:`._spurs_graph.neighbour_lists`, which finds each voxel's neighbours
  by binary search instead of in a dense array;
* **the radii at tips and junctions**: distances to the nearest voxel of
  another value in what was thinned, searched (:class:`StoreDistances`)
  chunk by chunk: the points of one chunk together, in the chunk's region
  grown by the search radius along each axis (clipped to the volume), so
  that every offset the in-memory search tries lies inside the region or
  outside the volume, as it does in memory;
* **the values at a few border voxels** (the border rule): read per chunk.

The same compiled kernels then run on the same indices in the same order as
in memory (:func:`._spurs.prune_sparse`), so the pruned skeleton is the
in-memory one, voxel for voxel.  Memory: ~40 bytes per skeleton voxel
(index, value, neighbour lists) plus one grown chunk at a time.
"""

from __future__ import annotations


import numpy as np

from ._spurs import _c_strides, _depth, _Distances
from .io._zarr_region import chunk_regions


def gather(read, shape, chunks, progress=None):
    """``(skel, vals)``: the sorted flat indices (into ``shape`` padded by one voxel) and values of the
    nonzero voxels of the volume ``read(region)`` returns, chunk by chunk, on dask's threads."""
    import dask

    pshape = tuple(n + 2 for n in shape)

    def one(region):
        block = np.asarray(read(region))
        where = np.nonzero(block)
        coords = tuple(w + r.start + 1 for w, r in zip(where, region))
        return np.ravel_multi_index(coords, pshape).astype(np.int64), block[where]

    regions = chunk_regions(shape, chunks)
    parts = dask.compute(*[dask.delayed(one)(r) for r in regions])
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.uint8)
    skel = np.concatenate([p[0] for p in parts])
    vals = np.concatenate([p[1] for p in parts])
    order = np.argsort(skel, kind="stable")
    return skel[order], vals[order]


def _by_chunk(coords: np.ndarray, chunks):
    """Groups of rows of ``coords`` (n, ndim) in one chunk each: ``(chunk index, rows)`` pairs."""
    index = coords // np.asarray(chunks)
    if len(index) == 0:
        return
    keys, inverse = np.unique(index, axis=0, return_inverse=True)
    order = np.argsort(inverse.reshape(-1), kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(inverse.reshape(-1), minlength=len(keys)))]
    for g, key in enumerate(keys):
        yield key, order[bounds[g]:bounds[g + 1]]


def _unsigned(block: np.ndarray) -> np.ndarray:
    block = np.ascontiguousarray(block)
    if block.dtype == bool:
        block = block.view(np.uint8)
    return block.reshape(-1).view(np.dtype(f"u{block.dtype.itemsize}"))


def _search_region(read, start, stop, coords, reach, tpos, tlen):
    """:func:`._spurs._depth` of the voxels ``coords`` in the region ``start:stop`` (grown by the table's reach)."""
    block = read(tuple(slice(a, b) for a, b in zip(start, stop)))
    bshape = np.array(block.shape, np.int64)
    local = np.ravel_multi_index(tuple((coords - start + 1).T), tuple(bshape + 2)).astype(np.int64)
    dl, kl = np.empty(len(coords)), np.empty(len(coords), np.uint8)
    _depth(_unsigned(block), bshape, local, bshape + 2, 0, tpos, tpos @ _c_strides(bshape), tlen,
           np.ascontiguousarray(reach), dl, kl)
    return dl, kl


class StoreDistances(_Distances):
    """:class:`._spurs._Distances` over a volume read region by region (``read(region)``): what was
    thinned (a mask or label image) of ``shape``, read per chunk of ``chunks`` grown by the search radius."""

    def __init__(self, read, shape, chunks, spacing, point_chunks=None):
        self.read, self.chunks = read, tuple(int(c) for c in chunks)
        self.point_chunks = tuple(int(c) for c in (point_chunks or chunks))
        self.vshape = np.array(shape, np.int64)
        self._setup(self.vshape + 2, 0, spacing)

    def _search(self, points, reach, tpos, tlen):
        """The regions' searches run as dask tasks (threads, or the active cluster's workers)."""
        import dask

        dist, kind = np.empty(len(points)), np.empty(len(points), np.uint8)
        coords = np.stack(np.unravel_index(points, tuple(self.pshape)), 1) - 1
        grow = np.abs(tpos).max(0) if len(tpos) else np.zeros(len(self.vshape), np.int64)
        groups = list(_by_chunk(coords, self.chunks))
        tasks = []
        for key, rows in groups:
            start = np.maximum(key * self.chunks - grow, 0)
            stop = np.minimum((key + 1) * np.asarray(self.chunks) + grow, self.vshape)
            tasks.append(dask.delayed(_search_region)(self.read, start, stop, coords[rows], reach[rows], tpos, tlen))
        for (_, rows), (dl, kl) in zip(groups, dask.compute(*tasks)):
            dist[rows], kind[rows] = dl, kl
        return dist, kind

    def lookup(self, coords: tuple) -> np.ndarray:
        """The values at the voxels ``coords`` (a tuple of index arrays), read chunk by chunk."""
        points = np.stack(coords, 1) if len(coords[0]) else np.empty((0, len(coords)), np.int64)
        out = None
        for key, rows in _by_chunk(points, self.point_chunks):
            start = key * np.asarray(self.point_chunks)
            stop = np.minimum(start + self.point_chunks, self.vshape)
            block = np.asarray(self.read(tuple(slice(a, b) for a, b in zip(start, stop))))
            if out is None:
                out = np.zeros(len(points), block.dtype)
            out[rows] = block[tuple((points[rows] - start).T)]
        return out if out is not None else np.zeros(0, np.uint8)


def prune_gathered(skel, vals, read, shape, chunks, spacing=None, point_chunks=None) -> np.ndarray:
    """Prune the spurs of the skeleton ``(skel, vals)`` (from :func:`gather`) of what ``read`` returns
    (the mask or label image that was thinned, ``shape``): the radii searched per region of ``chunks``
    (grown by the search radius: large regions read fewer voxels twice), single values per region of
    ``point_chunks`` (default ``chunks``: the store's chunks suit).  Returns the flat padded indices of
    the voxels deleted (sorted).  ``vals`` is left alone."""
    from ._spurs import prune_sparse

    ndim = len(shape)
    sp = np.ones(ndim) if spacing is None else np.asarray(spacing, float)
    distances = StoreDistances(read, shape, chunks, sp, point_chunks)
    # (the in-memory pruning's types: a mask as bytes, ids as unsigned 32- or 64-bit integers)
    work = vals.astype(np.uint8 if vals.dtype == bool else np.uint32 if vals.dtype.itemsize <= 4 else np.uint64)
    prune_sparse(skel, work, np.array(shape) + 2, ndim, 0, sp, distances, distances.lookup, tuple(shape))
    return skel[work == 0]


def deleted_in(region, deleted: np.ndarray, shape) -> tuple:
    """The coordinates, relative to ``region``, of the ``deleted`` voxels (flat padded indices) inside it."""
    pshape = tuple(n + 2 for n in shape)
    lo = np.ravel_multi_index(tuple(r.start + 1 for r in region), pshape)
    hi = np.ravel_multi_index(tuple(r.stop for r in region), pshape)  # (the region's last voxel, padded)
    cand = deleted[np.searchsorted(deleted, lo):np.searchsorted(deleted, hi, side="right")]
    coords = np.unravel_index(cand, pshape)
    inside = np.ones(len(cand), bool)
    for c, r in zip(coords, region):
        inside &= (c - 1 >= r.start) & (c - 1 < r.stop)
    return tuple(c[inside] - 1 - r.start for c, r in zip(coords, region))


def pruned_block(skeleton, region, deleted: np.ndarray, dtype) -> np.ndarray:
    """The thinned ``skeleton``'s (a Zarr array) ``region`` less the ``deleted`` voxels (flat padded indices),
    as ``dtype``: bool for a mask, else the labels' type."""
    block = np.asarray(skeleton[region])
    where = deleted_in(region, deleted, skeleton.shape)
    if len(where[0]):
        block[where] = 0
    return block != 0 if np.dtype(dtype) == bool else block.astype(dtype)
