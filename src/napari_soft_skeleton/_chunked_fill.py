"""``fill_holes=True`` for volumes bigger than memory: :func:`._fill.fill_holes`, chunk by chunk, bit for bit.

The in-memory fill of a mask or label image (:mod:`._fill`) is a function of
one small object, the *region graph*: the regions are the face-connected
components of each value (6-connected in 3-D, 4-connected in 2-D; the
background's components included), an edge joins two regions that touch by
a face, a flag marks the regions on the image border (in 2-D, the four
edges), and each region carries its value and voxel count.  Given the graph,
``_fill_graph`` fills the labels one after the other (largest first, then
the larger id): the cavities of label ``k`` are the components of the graph
without ``k``'s regions that reach no border region, which is a property of
the graph alone — not of how its regions are numbered or searched.  A mask
is the label image with the one label 1 (``fill_voids`` on a boolean mask
gives the same fill: tested).  So the chunked fill builds the same graph
from the chunks and runs the same ``_fill_graph`` on it:

1. **per chunk** (a dask task; memory: one chunk): the chunk's own regions
   (:func:`._fill._regions`, cc3d), their values, sizes, whether they touch
   the volume's border, the pairs of them that touch inside the chunk
   (:func:`._fill._scan`), and the chunk's six faces of region ids, saved;
2. **per chunk face** (a dask task; memory: two face planes): the pairs of
   regions facing each other across it;
3. **in memory** (the merge table — one row per chunk region, one per pair —
   is small): pairs of equal value are the same region (connected components
   of a sparse graph), every other pair an edge; a region's size is the sum,
   its border flag the ``or`` of its pieces'.  Two voxels of equal value are
   connected in the volume exactly when a chain of such pieces joins them, so
   these are the in-memory regions, edges, sizes and flags, and the labels'
   order (by their voxel counts and ids) is the in-memory order;
   ``_fill_graph`` then gives each region its new owner, and the labels none
   of whose regions kept their own are the *absorbed* ones, as in memory;
4. **per chunk** (a dask task): the chunk's regions again (cc3d is
   deterministic: the same ids), and the voxels of the regions that changed
   hands set to their new label.

Nothing here is approximate: regions, edges, flags, counts and order are
equal to the in-memory ones, and the fill is the same function of them.
``per_slice`` and float maps are not handled here (threshold first; a
per-slice fill has an order of its own in every slice).
"""

from __future__ import annotations

import itertools
import json
from functools import partial
from pathlib import Path

import numpy as np

#: The state of :func:`fill_store` in its work directory (resumable after the merge).
STATE_FILE = "fill-state.json"
MAPS_FILE = "fill-maps.npz"


def _bounds(shape, chunks) -> list[np.ndarray]:
    """Per axis the boundaries of the regular chunks ``chunks``."""
    return [np.r_[np.arange(0, n, max(c, 1)), n].astype(np.int64) for n, c in zip(shape, chunks)]


def _grid(bounds):
    return list(itertools.product(*(range(len(b) - 1) for b in bounds)))


def _region(bounds, index):
    return tuple(slice(int(b[i]), int(b[i + 1])) for b, i in zip(bounds, index))


def _vol(block: np.ndarray, labels: bool) -> np.ndarray:
    """The block as a C-ordered 3-D array of values (a mask as 0/1)."""
    vol = block if labels else (block != 0).view(np.uint8)
    if vol.dtype == bool:
        vol = vol.view(np.uint8)
    return np.ascontiguousarray(vol if vol.ndim == 3 else vol[None])


def _check(block: np.ndarray) -> None:
    if block.dtype.kind not in "biu":
        raise ValueError(f"fill_holes by chunks needs a mask or an integer label image; got dtype {block.dtype}")
    if block.dtype.kind == "i" and block.size and block.min() < 0:
        raise ValueError("label images must be non-negative integers (0 is background)")


def _local(block: np.ndarray, labels: bool):
    """The block's regions (3-D view), their count, and the values' volume."""
    from ._fill import _regions

    vol = _vol(block, labels)
    regions, _, n = _regions(vol)
    return regions, n, vol


def _summary(block: np.ndarray, region, shape, labels: bool):
    """Step 1 for one chunk: ``(summary, faces)`` — ``summary``: region count, values, sizes, border flags
    and the local pairs (ids 1..n); ``faces[axis] = (first plane, last plane)`` of region ids."""
    from ._fill import _scan

    _check(block)
    regions, n, vol = _local(block, labels)
    codes = np.empty(max(1 << 16, vol.size // 32), np.uint64)
    size, first, m = _scan(regions, n, codes)
    if m > len(codes):
        codes = np.empty(m, np.uint64)
        _scan(regions, n, codes)
    codes = np.unique(codes[:m])
    a = (codes // np.uint64(n + 1)).astype(np.int64)
    b = (codes % np.uint64(n + 1)).astype(np.int64)
    border = np.zeros(n + 1, bool)
    spatial = len(shape) == 3
    region3 = region if spatial else (slice(0, 1),) + tuple(region)
    shape3 = tuple(shape) if spatial else (1,) + tuple(shape)
    faces = {}
    for axis in range(0 if spatial else 1, 3):  # (a 2-D image is one slice: no faces, no border along axis 0)
        low = np.ascontiguousarray(np.take(regions, 0, axis=axis)).astype(np.uint32)
        high = np.ascontiguousarray(np.take(regions, -1, axis=axis)).astype(np.uint32)
        faces[axis] = (low, high)
        if region3[axis].start == 0:
            border[low.ravel()] = True
        if region3[axis].stop == shape3[axis]:
            border[high.ravel()] = True
    value = vol.reshape(-1)[first[1:]]  # (in the image's dtype: uint64 ids stay exact)
    summary = {"n": int(n), "value": value, "size": size[1:], "border": border[1:], "a": a, "b": b}
    return summary, faces


def _face_pairs(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Step 2: the distinct pairs ``(id before, id after)`` of region ids facing each other across a face."""
    if high.size == 0:
        return np.zeros((0, 2), np.int64)
    code = high.astype(np.int64).ravel() * (np.int64(1) << 32) + low.astype(np.int64).ravel()
    code = np.unique(code)
    return np.stack([code >> 32, code & 0xFFFFFFFF], axis=1)


def _merge(summaries, pairs, dtype):
    """Step 3: ``(new, changed, absorbed)`` per chunk region (indexed by the chunks' offsets + local id - 1).

    ``summaries``: step 1's per chunk (grid order); ``pairs``: ``(chunk i, chunk j, (k, 2) local ids)``
    across each face."""
    from scipy import sparse
    from scipy.sparse import csgraph

    from ._fill import _fill_graph

    counts = np.array([s["n"] for s in summaries], np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    total = int(offsets[-1])
    value = np.concatenate([s["value"] for s in summaries])
    size = np.concatenate([s["size"] for s in summaries]).astype(np.int64)  # (every chunk has a region)
    border = np.concatenate([s["border"] for s in summaries])
    src = [offsets[i] + p[:, 0] - 1 for i, _, p in pairs]
    dst = [offsets[j] + p[:, 1] - 1 for _, j, p in pairs]
    src = np.concatenate(src) if src else np.zeros(0, np.int64)
    dst = np.concatenate(dst) if dst else np.zeros(0, np.int64)
    same = value[src] == value[dst]
    graph = sparse.coo_matrix((np.ones(int(same.sum()), np.int8), (src[same], dst[same])), shape=(total, total))
    n, comp = csgraph.connected_components(graph.tocsr(), directed=False)
    comp = comp.astype(np.int64)
    # the regions of the volume: 1..n (0 unused), as _fill_labels numbers its own
    g_value = np.zeros(n + 1, value.dtype)
    g_value[comp + 1] = value
    g_size = np.bincount(comp + 1, weights=size, minlength=n + 1)
    g_border = np.bincount(comp + 1, weights=border, minlength=n + 1) > 0
    ea = [offsets[i] + s["a"] - 1 for i, s in enumerate(summaries)] + [src[~same]]
    eb = [offsets[i] + s["b"] - 1 for i, s in enumerate(summaries)] + [dst[~same]]
    ea, eb = comp[np.concatenate(ea)] + 1, comp[np.concatenate(eb)] + 1
    lo, hi = np.minimum(ea, eb), np.maximum(ea, eb)
    codes = np.unique(lo * (n + 1) + hi)
    lo, hi = codes // (n + 1), codes % (n + 1)
    a, b = np.concatenate([lo, hi]), np.concatenate([hi, lo])
    indices = b[np.argsort(a, kind="stable")]
    indptr = np.zeros(n + 2, np.int64)
    np.cumsum(np.bincount(a, minlength=n + 1), out=indptr[1:])
    fg = np.flatnonzero(g_value > 0)  # (nodes, ascending)
    ids, k_of = np.unique(g_value[fg], return_inverse=True)
    new = np.zeros(total, dtype)
    changed = np.zeros(total, bool)
    if not len(ids):
        return new, changed, []
    k_nodes = fg[np.argsort(k_of, kind="stable")]
    k_indptr = np.zeros(len(ids) + 1, np.int64)
    np.cumsum(np.bincount(k_of, minlength=len(ids)), out=k_indptr[1:])
    owner = np.full(n + 1, -1, np.int64)
    owner[fg] = k_of
    start = owner.copy()
    order = np.lexsort((-np.arange(len(ids)), -np.bincount(k_of, weights=g_size[fg])))
    if not _fill_graph(indptr, indices, g_border, owner, order, k_indptr, k_nodes):
        return new, changed, []
    moved = owner != start
    kept = np.zeros(len(ids), bool)
    kept[k_of[~moved[fg]]] = True
    absorbed = [int(i) for i in ids[~kept]]
    changed = moved[comp + 1]
    new[changed] = ids[owner[comp + 1][changed]].astype(dtype)
    return new, changed, absorbed


def _apply(block: np.ndarray, labels: bool, new: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """Step 4 for one chunk: its voxels in regions that changed hands set to their new label (``new``,
    ``changed``: per local region id - 1)."""
    if not changed.any():
        return block
    regions, _, _ = _local(block, labels)
    where = np.concatenate([[False], changed])[regions].reshape(block.shape)
    out = block.copy()
    value = np.concatenate([np.zeros(1, new.dtype), new]).astype(block.dtype)  # (not [0]: uint64 -> float)
    out[where] = value[regions.reshape(block.shape)[where]]
    return out


def _neighbour_pairs(grid_shape):
    """``(i, j, axis)``: the chunk indices (in grid order) on both sides of every inner chunk face."""
    flat = {idx: k for k, idx in enumerate(itertools.product(*(range(g) for g in grid_shape)))}
    for idx, k in flat.items():
        for axis in range(len(grid_shape)):
            after = tuple(i + (a == axis) for a, i in enumerate(idx))
            if after in flat:
                yield k, flat[after], axis


def _axis3(axis: int, ndim: int) -> int:
    return axis if ndim == 3 else axis + 1


def _batches(items, progress, done, total):
    """``dask.compute`` the delayed ``items`` in batches (a report to ``progress`` after each)."""
    import dask

    out = []
    step = max(64, -(-len(items) // 20))
    for lo in range(0, len(items), step):
        out.extend(dask.compute(*items[lo:lo + step]))
        done += len(items[lo:lo + step])
        if progress is not None:
            progress(done, total)
    return out, done


def fill_dask(arr):
    """``fill_holes`` of the dask array ``arr`` (a 2-D/3-D mask or label image): ``(filled, absorbed)``,
    ``filled`` a lazy dask array equal to ``_fill.fill_holes(arr.compute())[0]`` (``arr`` itself when
    nothing is enclosed), ``absorbed`` its list of absorbed labels.  The chunks' faces are held in memory
    here (step 2 runs in the caller), the chunks are not."""
    import dask
    import dask.array as da

    if arr.ndim not in (2, 3):
        raise ValueError(f"fill_holes needs a 2D or 3D array; got {arr.ndim}D")
    _check(np.zeros(0, arr.dtype))
    labels = arr.dtype != bool
    bounds = [np.concatenate([[0], np.cumsum(c)]).astype(np.int64) for c in arr.chunks]
    grid = _grid(bounds)
    blocks = arr.to_delayed().ravel()
    found = dask.compute(*[dask.delayed(_summary)(blk, _region(bounds, idx), arr.shape, labels)
                           for blk, idx in zip(blocks, grid)])
    summaries = [s for s, _ in found]
    pairs = [(i, j, _face_pairs(found[i][1][_axis3(ax, arr.ndim)][1], found[j][1][_axis3(ax, arr.ndim)][0]))
             for i, j, ax in _neighbour_pairs(arr.numblocks)]
    del found
    new, changed, absorbed = _merge(summaries, pairs, arr.dtype)
    if not changed.any():
        return arr, absorbed
    offsets = np.concatenate([[0], np.cumsum([s["n"] for s in summaries])])
    out = np.empty(arr.numblocks, object)
    for k, (blk, idx) in enumerate(zip(blocks, grid)):
        lo, hi = offsets[k], offsets[k + 1]
        part = dask.delayed(_apply)(blk, labels, new[lo:hi], changed[lo:hi])
        out[idx] = da.from_delayed(part, tuple(r.stop - r.start for r in _region(bounds, idx)), arr.dtype)
    return da.block(out.tolist()), absorbed


# ---- the same over Zarr stores (bounded memory) --------------------------------------------------------


def _summary_task(read, region, *, shape, labels, faces, index):
    """Step 1 for one chunk of :func:`fill_store`: its summary; its faces written to the ``faces`` arrays."""
    summary, planes = _summary(np.asarray(read(region)), region, shape, labels)
    for axis, face in faces.items():  # (plane 2i: chunk i's first along the axis, 2i + 1 its last)
        extent = [r.stop - r.start if a != axis else 1 for a, r in enumerate(region)]
        for side, plane in enumerate(planes[_axis3(axis, len(shape))]):
            at = list(region)
            at[axis] = slice(2 * index[axis] + side, 2 * index[axis] + side + 1)
            face[tuple(at)] = plane.reshape(extent)
    return summary


def _pairs_task(face, region, axis, index):
    """Step 2 across the face after the chunk ``index`` along ``axis`` (read from the ``face`` array)."""
    at = list(region)
    at[axis] = slice(2 * index[axis] + 1, 2 * index[axis] + 3)
    planes = np.asarray(face[tuple(at)])
    return _face_pairs(np.take(planes, 0, axis=axis), np.take(planes, 1, axis=axis))


def _write_task(read, target, region, *, labels, new, changed):
    target[region] = _apply(np.asarray(read(region)), labels, new, changed)


def fill_store(read, shape, chunks, work_dir, *, labels: bool, progress=None):
    """``fill_holes`` of the volume that ``read(region)`` gives (a mask as 0/1, or a label image with
    ``labels``), written chunk by chunk into the Zarr array ``work_dir/filled`` (chunks ``chunks``, the
    dtype ``read`` gives): ``(zarr array, absorbed)``, equal to ``_fill.fill_holes`` of the whole volume
    (module docstring).  Memory per task: one chunk (or two face planes); in the caller, one row per chunk
    region and per pair of regions across a face.  ``progress(done, total)`` after each batch of tasks.

    Resumable: once the merge is done its result is saved in ``work_dir``; a call again with the same
    ``work_dir``, shape and chunks rewrites the chunks from it (and returns at once when all were
    written)."""
    import dask
    import zarr

    from .io._atomic import atomic_write

    shape = tuple(int(n) for n in shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"fill_holes needs a 2D or 3D volume; got shape {shape}")
    chunks = tuple(int(c) for c in chunks)
    if len(chunks) != len(shape) or min(chunks) < 1:
        raise ValueError(f"chunks must be {len(shape)} positive lengths, one per axis; got {chunks}")
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    bounds = _bounds(shape, chunks)
    grid = _grid(bounds)
    grid_shape = tuple(len(b) - 1 for b in bounds)
    key = {"shape": list(shape), "chunks": list(chunks), "labels": bool(labels)}
    try:
        state = json.loads((work / STATE_FILE).read_text())
    except (OSError, ValueError):
        state = None
    if state is not None and state.get("key") != key:
        state = None
    if state is not None and state.get("phase") == "done":
        return zarr.open_array(str(work / "filled"), mode="r"), state["absorbed"]
    pairs_at = list(_neighbour_pairs(grid_shape))
    total = 2 * len(grid) + len(pairs_at)
    done = 0
    if state is None:
        dtype = np.dtype(np.asarray(read((slice(0, 1),) * len(shape))).dtype)
        faces = {axis: zarr.open_array(str(work / f"faces{axis}"), mode="w", dtype=np.uint32,
                                       shape=tuple(2 * g if a == axis else n
                                                   for a, (g, n) in enumerate(zip(grid_shape, shape))),
                                       chunks=tuple(1 if a == axis else c for a, c in enumerate(chunks)))
                 for axis in range(len(shape)) if grid_shape[axis] > 1}
        # (the zarr arrays and ``read`` go into the tasks bound with partial: dask would walk a zarr array's
        # dataclass fields, slowly, for every task)
        summarize = dask.delayed(partial(_summary_task, read, shape=shape, labels=labels, faces=faces))
        summaries, done = _batches([summarize(_region(bounds, idx), index=idx) for idx in grid], progress, done, total)
        pair = {ax: dask.delayed(partial(_pairs_task, face)) for ax, face in faces.items()}
        found, done = _batches([pair[ax](_region(bounds, grid[i]), ax, grid[i]) for i, _, ax in pairs_at],
                               progress, done, total)
        new, changed, absorbed = _merge(summaries, [(i, j, p) for (i, j, _), p in zip(pairs_at, found)], dtype)
        offsets = np.concatenate([[0], np.cumsum([s["n"] for s in summaries])]).astype(np.int64)
        atomic_write(work / MAPS_FILE, lambda f: np.savez(f, new=new, changed=changed, offsets=offsets))
        state = {"key": key, "phase": "write", "absorbed": absorbed, "dtype": dtype.str}
        atomic_write(work / STATE_FILE, json.dumps(state).encode())
    else:
        done = len(grid) + len(pairs_at)
    maps = np.load(work / MAPS_FILE)
    new, changed, offsets = maps["new"], maps["changed"], maps["offsets"]
    target = zarr.open_array(str(work / "filled"), mode="w", shape=shape, chunks=chunks, dtype=np.dtype(state["dtype"]))
    write = dask.delayed(partial(_write_task, read, target, labels=labels))
    tasks = [write(_region(bounds, idx), new=new[offsets[k]:offsets[k + 1]], changed=changed[offsets[k]:offsets[k + 1]])
             for k, idx in enumerate(grid)]
    _batches(tasks, progress, done, total)
    state = {**state, "phase": "done"}
    atomic_write(work / STATE_FILE, json.dumps(state).encode())
    return target, state["absorbed"]
