"""Sparse skeletons of volumes bigger than memory: voxel coordinates read chunk by chunk.

A skeleton is sparse — its voxels are a tiny share of the volume — so its
coordinates (and, for a label skeleton, their values) fit in memory when the
volume does not.  :func:`skeleton_coords` reads a dask or zarr array one chunk
at a time and returns them in raster (C) order; what :func:`compare
<napari_soft_skeleton.compare>` and :func:`skeleton_graph
<napari_soft_skeleton.skeleton_graph>` need from a lazy skeleton is then
computed from the coordinates (:mod:`.metrics._compare_lazy`,
:mod:`.graph._build_lazy`), and dense inputs (masks, images) are only
sampled at them, chunk by chunk (:func:`sample_at`).

The helpers here work on *keys*: the raster (C-order) linear index of each
voxel in the volume padded by one voxel on every side, so that a neighbour's
key is ``key + offset`` and never wraps around an edge; keys are sorted as
the coordinates are.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph


def is_lazy(array) -> bool:
    """A dask array or a zarr array (read chunk by chunk here, never whole)."""
    module = type(array).__module__ or ""
    return type(array).__name__ == "Array" and (module.startswith("dask.") or module.startswith("zarr"))


def chunk_bounds(array) -> tuple[np.ndarray, ...]:
    """Per axis, the chunk boundaries ``[0, b1, ..., n]`` of a dask/zarr array (one chunk for numpy)."""
    chunks = getattr(array, "chunks", None)
    shape = tuple(int(n) for n in array.shape)
    out = []
    for axis, n in enumerate(shape):
        if chunks is None:
            sizes = [n]
        elif isinstance(chunks[axis], (tuple, list)):  # dask: the sizes of every chunk
            sizes = [int(c) for c in chunks[axis]]
        else:  # zarr: one chunk size per axis
            step = max(int(chunks[axis]), 1)
            sizes = [step] * (n // step) + ([n % step] if n % step else [])
        out.append(np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]) if n else np.zeros(1, np.int64))
    return tuple(out)


def iter_chunks(bounds) -> list[tuple[slice, ...]]:
    """The chunks' slices, in raster (C) order of the chunk grid."""
    ranges = [range(len(b) - 1) for b in bounds]
    return [tuple(slice(int(b[i]), int(b[i + 1])) for b, i in zip(bounds, idx))
            for idx in itertools.product(*ranges)]


def read_block(array, region) -> np.ndarray:
    """One block of a dask/zarr/numpy array, in memory."""
    block = array[region]
    compute = getattr(block, "compute", None)
    return np.asarray(compute() if compute is not None else block)


#: Neighbouring chunks are read together up to this many bytes (one read, one scheduler call, for many
#: small chunks; never less than one chunk).
BATCH_BYTES = 32 << 20


def coarsen(bounds, itemsize: int, budget: int | None = None) -> tuple[np.ndarray, ...]:
    """Chunk boundaries merged, last axis first, into blocks of whole chunks of at most ``budget`` bytes
    (default :data:`BATCH_BYTES`)."""
    budget = BATCH_BYTES if budget is None else budget
    out = [None] * len(bounds)
    size = max(int(itemsize), 1)
    for axis in range(len(bounds) - 1, -1, -1):
        b = np.asarray(bounds[axis], np.int64)
        widest = int(np.diff(b).max()) if b.size > 1 else 1
        k = int(max(1, min(b.size - 1, budget // max(size * widest, 1))))
        out[axis] = np.unique(np.r_[b[::k], b[-1]])
        size *= k * widest
    return tuple(out)


def iter_blocks(array, bounds):
    """``(region, block)`` for every block of ``coarsen(bounds)``, in raster order of the blocks."""
    for region in iter_chunks(coarsen(bounds, np.dtype(array.dtype).itemsize)):
        yield region, read_block(array, region)


def _check_kind(dtype, name: str) -> None:
    if np.dtype(dtype).kind not in "biuf":
        raise ValueError(f"{name} must be a boolean, integer or 0/1 floating-point array; got dtype {dtype}")


def skeleton_coords(array, progress=None, *, name: str = "skeleton", max_voxels: int | None = None):
    """The nonzero voxels of a (lazy) skeleton, read chunk by chunk.

    Parameters
    ----------
    array : dask.array.Array, zarr.Array or ndarray
        A 2-D/3-D skeleton: boolean, 0/1 floating point, or integers (a label
        skeleton; 0 is background).  Only one chunk is in memory at a time.
    progress : callable, optional
        ``progress(done, total)`` after every block of chunks read.
    max_voxels : int, optional
        Stop with a ValueError as soon as more voxels than this are found (a
        guard against reading the coordinates of a mask, which are not sparse).

    Returns
    -------
    coords : (n, ndim) ndarray of int64
        The nonzero voxels in raster (C) order.
    values : (n,) ndarray or None
        Their values for an integer array (labels), None for boolean or
        floating-point (binary) input.

    Raises
    ------
    ValueError
        For another dtype or dimensionality, negative labels, or floating-point
        values other than 0 and 1 (one line, naming ``name``).
    """
    shape = tuple(int(n) for n in array.shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"{name} must be a 2D or 3D array; got {len(shape)}D array of shape {shape}")
    dtype = np.dtype(array.dtype)
    _check_kind(dtype, name)
    bounds = chunk_bounds(array)
    total = len(iter_chunks(coarsen(bounds, dtype.itemsize)))
    keep_values = dtype.kind in "iu"
    found, vals, count = [], [], 0
    for done, (region, block) in enumerate(iter_blocks(array, bounds), 1):
        if dtype.kind == "f":
            binary = (block == 0) | (block == 1)
            if not binary.all():
                bad = block[~binary].flat[0].item()
                raise ValueError(f"{name} must be binary: floating-point input may only contain 0 and 1 "
                                 f"(threshold soft skeletons first); got value {bad!r}")
        if dtype.kind == "i" and block.size and block.min() < 0:
            raise ValueError(f"{name}: label skeletons must be non-negative integers (0 is background)")
        local = np.argwhere(block)
        count += local.shape[0]
        if max_voxels is not None and count > max_voxels:
            raise ValueError(f"{name} has more than {max_voxels} nonzero voxels: it does not look like a sparse "
                             "skeleton (a mask?), whose coordinates would not fit in memory")
        if local.size:
            found.append(local + np.array([r.start for r in region], np.int64))
            if keep_values:
                vals.append(block[tuple(local.T)])
        if progress is not None:
            progress(done, total)
    ndim = len(shape)
    coords = np.concatenate(found).astype(np.int64) if found else np.zeros((0, ndim), np.int64)
    values = (np.concatenate(vals) if vals else np.zeros(0, dtype)) if keep_values else None
    if total > 1 and coords.shape[0]:
        order = np.argsort(keys(coords, shape), kind="stable")
        coords = coords[order]
        values = values[order] if values is not None else None
    return coords, values


def sample_at(array, coords: np.ndarray) -> np.ndarray:
    """``array[tuple(coords.T)]`` for a dask/zarr/numpy array, reading only the chunks that hold a point."""
    if not is_lazy(array):
        return np.asarray(array)[tuple(np.asarray(coords).T)]
    out = np.zeros(coords.shape[0], np.dtype(array.dtype))
    if coords.shape[0] == 0:
        return out
    bounds = coarsen(chunk_bounds(array), np.dtype(array.dtype).itemsize)
    index = [np.searchsorted(b, coords[:, a], side="right") - 1 for a, b in enumerate(bounds)]
    chunk_id = np.ravel_multi_index(tuple(index), tuple(len(b) - 1 for b in bounds))
    order = np.argsort(chunk_id, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(chunk_id[order]) != 0])
    groups = [order[lo:hi] for lo, hi in zip(starts, np.r_[starts[1:], order.size])]
    regions = [tuple(slice(int(b[i[rows[0]]]), int(b[i[rows[0]] + 1])) for b, i in zip(bounds, index))
               for rows in groups]
    for rows, region in zip(groups, regions):
        block = read_block(array, region)
        local = coords[rows] - np.array([r.start for r in region])
        out[rows] = block[tuple(local.T)]
    return out


# ---- keys and neighbours --------------------------------------------------------------------------


def keys(coords: np.ndarray, shape) -> np.ndarray:
    """Raster keys of the voxels in the volume padded by one voxel (sorted as the coordinates are)."""
    padded = tuple(int(n) + 2 for n in shape)
    if coords.shape[0] == 0:
        return np.zeros(0, np.int64)
    return np.ravel_multi_index(tuple((coords + 1).T), padded).astype(np.int64)


def key_offset(offset, shape) -> int:
    """The key difference of a voxel offset."""
    strides = np.cumprod((1,) + tuple(int(n) + 2 for n in shape[::-1]))[:-1][::-1]
    return int(np.dot(np.asarray(offset, np.int64), strides))


def member(sorted_keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Is each query key in ``sorted_keys``, and where (its index; garbage where not)."""
    if sorted_keys.size == 0:
        return np.zeros(query.shape, bool), np.zeros(query.shape, np.intp)
    at = np.minimum(np.searchsorted(sorted_keys, query), sorted_keys.size - 1)
    return sorted_keys[at] == query, at


def positive_offsets(ndim: int) -> list[tuple[int, ...]]:
    """One of each ± pair of the 8-/26-neighbour offsets."""
    return [o for o in itertools.product((-1, 0, 1), repeat=ndim) if o > (0,) * ndim]


def components(coords: np.ndarray, shape, values=None) -> tuple[int, np.ndarray]:
    """8-/26-connected components of the voxels (links only between equal ``values`` if given), numbered
    0, 1, ... in raster order of their first voxel."""
    n = coords.shape[0]
    if n == 0:
        return 0, np.zeros(0, np.int64)
    k = keys(coords, shape)
    src, dst = [], []
    for offset in positive_offsets(coords.shape[1]):
        found, at = member(k, k + key_offset(offset, shape))
        if values is not None:
            found &= values[at] == values
        src.append(np.flatnonzero(found))
        dst.append(at[found])
    src, dst = np.concatenate(src), np.concatenate(dst)
    graph = sparse.csr_matrix((np.ones(src.size, np.int8), (src, dst)), shape=(n, n))
    count, labels = csgraph.connected_components(graph, directed=False)
    first = np.full(count, n, np.int64)
    np.minimum.at(first, labels, np.arange(n))
    rank = np.empty(count, np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(count)
    return int(count), rank[labels]


def interior_fraction(coords: np.ndarray, shape) -> float:
    """Share of the voxels whose 4/6 face neighbours are all voxels too (0.0 when there are none)."""
    if coords.shape[0] == 0:
        return 0.0
    k = keys(coords, shape)
    inner = np.ones(k.size, bool)
    for axis in range(coords.shape[1]):
        step = key_offset(tuple(int(a == axis) for a in range(coords.shape[1])), shape)
        inner &= member(k, k + step)[0] & member(k, k - step)[0]
    return int(np.count_nonzero(inner)) / k.size


def euler_characteristic(coords: np.ndarray, shape, batch: int = 1 << 17) -> int:
    """Euler characteristic of the union of the closed voxel squares/cubes (8-/26-connected foreground).

    The same cells as :func:`~napari_soft_skeleton.metrics._topology._euler_characteristic` counts
    with shifted ORs, counted sparsely: in doubled coordinates a voxel ``v`` holds the cells
    ``2v + o``, ``o`` in ``{0, 1, 2}^ndim``, of dimension the number of odd coordinates; the distinct
    cells are counted in slabs of about ``batch`` voxels along axis 0, so memory stays bounded.
    """
    n, ndim = coords.shape
    if n == 0:
        return 0
    doubled = tuple(2 * int(s) + 1 for s in shape)
    offsets = np.array(list(itertools.product((0, 1, 2), repeat=ndim)), np.int64)
    z = coords[:, 0]  # sorted (raster order)
    chi = 0
    z0, top = int(z[0]), int(z[-1]) + 1
    while z0 < top:
        at = int(np.searchsorted(z, z0, side="left"))
        z1 = int(z[min(at + batch, n - 1)]) + 1 if at < n else top
        z1 = max(z1, z0 + 1)
        rows = coords[int(np.searchsorted(z, z0 - 1, side="left")):int(np.searchsorted(z, z1, side="left"))]
        cells = (2 * rows[:, None, :] + offsets[None, :, :]).reshape(-1, ndim)
        cells = cells[(cells[:, 0] >= 2 * z0) & ((cells[:, 0] < 2 * z1) | (z1 >= top))]
        cells = np.sort(np.ravel_multi_index(tuple(cells.T), doubled))  # (np.unique hashes: slower)
        cells = cells[np.r_[True, cells[1:] != cells[:-1]]]
        odd = sum((np.unravel_index(cells, doubled)[a] & 1) for a in range(ndim))
        chi += int(np.count_nonzero(odd % 2 == 0)) - int(np.count_nonzero(odd % 2 == 1))
        z0 = z1
    return chi
