"""The worker's side of a chunk-by-chunk run: look at a lazy layer, then write its skeleton chunk by chunk.

* :func:`lazy_source` says whether a layer is backed by a dask or Zarr array
  (for a multiscale layer: its full-resolution level 0) — the layers that are
  never loaded whole.
* :func:`analyse` decides, as :func:`~._common.image_input` does for an
  array in memory (it is the same function, given a way to compute), whether
  an Image layer is a mask, a probability map or intensities, and refuses an
  empty, constant or non-finite layer; each of its passes over the data is a
  dask reduction (bounded memory) that stops at the next task after Cancel.
* :func:`write_blocks` computes the library's lazy result a few chunks at a
  time (as many as dask has threads) and writes each into the result store,
  with a call per chunk written; Cancel is looked at between those batches,
  so no write is left running when the run ends.  A result whose chunks are
  uneven is rechunked to even ones first (each stored chunk is written once,
  by one task).

Only dask's local threads are used (``scheduler="threads"``): the result
store is a temporary directory of this machine.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np
from napari.layers import Image, Labels

from .._chunked import as_dask, is_lazy
from ._common import Cancelled, UserError, image_input

#: Input chunks larger than this (bytes) are split before the run: memory stays a few chunks per thread.
MAX_CHUNK_BYTES = 64 * 2**20


def lazy_source(layer) -> tuple[Any, list[tuple[int, ...]] | None] | None:
    """``(level 0, the levels' shapes or None)`` for an Image or Labels layer backed by a dask or Zarr
    array (a multiscale layer: its level 0 is), else None (the layer is in memory)."""
    if not isinstance(layer, (Image, Labels)) or (isinstance(layer, Image) and layer.rgb):
        return None
    if layer.multiscale:
        level0 = layer.data[0]
        return (level0, [tuple(level.shape) for level in layer.data]) if is_lazy(level0) else None
    return (layer.data, None) if is_lazy(layer.data) else None


def threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def compute(*values, aborted: Callable[[], bool] | None = None, after: Callable[[Any], None] | None = None):
    """``dask.compute(*values)`` on local threads; raises :class:`Cancelled` at the next task once
    ``aborted()``; ``after(key)`` after each task.  The callbacks are this call's alone (not dask's
    global ones, which other threads — napari's slicing — would share)."""
    import dask

    def pretask(key, dsk, state):
        if aborted is not None and aborted():
            raise Cancelled

    def posttask(key, result, dsk, state, worker_id):
        if after is not None:
            after(key)

    return dask.compute(*values, scheduler="threads", num_workers=threads(),
                        callbacks=[(None, None, pretask, posttask, None)])


def analyse(layer, arr, aborted) -> tuple[Any, str, tuple[float, float]]:
    """``(data, kind, (min, max))`` for the lazy ``arr`` of ``layer``, as the in-memory path has them
    (:func:`~._common.layer_array`'s emptiness check, then :func:`~._common.image_input`)."""
    arr = as_dask(arr)
    limit = max(MAX_CHUNK_BYTES // arr.dtype.itemsize, 1)
    if math.prod(arr.chunksize) > limit:
        arr = arr.rechunk("auto", block_size_limit=MAX_CHUNK_BYTES)
    known: dict[str, Any] = {}

    def now(*values):
        """Compute the lazy ``values`` (each reduction once: min and max are asked for twice)."""
        todo = [v for v in values if hasattr(v, "dask") and v.name not in known]
        for v, result in zip(todo, compute(*todo, aborted=aborted)):
            known[v.name] = result
        return tuple(known[v.name] if hasattr(v, "dask") else v for v in values)

    lo, hi = now(arr.min(), arr.max())
    if lo == 0 and hi == 0:
        raise UserError(f"Layer '{layer.name}' is empty (all zero); there is nothing to skeletonize.")
    if isinstance(layer, Labels):
        if arr.dtype.kind == "i" and lo < 0:
            raise UserError("Label images must be non-negative integers (0 is background).")
        return arr, "labels", (0.0, 0.0)
    return image_input(layer, arr, now)


def regular(result):
    """``result`` with every chunk but the last along an axis of one length (the store's chunks)."""
    if all(len(set(c[:-1])) <= 1 and c[-1] <= c[0] for c in result.chunks):
        return result
    return result.rechunk(result.chunksize)


def stored_dtype(dtype) -> np.dtype:
    """What the store keeps: masks as 0/1 ``uint8`` (what a Labels layer shows), the rest as it is."""
    return np.dtype(np.uint8) if np.dtype(dtype) == bool else np.dtype(dtype)


def _write(block: np.ndarray, *, target, region: tuple, threshold, labels: bool):
    """Store one finished chunk; returns (skeleton voxels, up to two of its ids, its peak value)."""
    block = np.asarray(block)
    target[region] = block.astype(target.dtype, copy=False)
    skeleton = block > threshold if threshold is not None else block != 0
    ids = tuple(int(i) for i in np.unique(block[skeleton])[:2]) if labels else ()
    peak = float(block.max()) if block.size else 0.0
    return int(np.count_nonzero(skeleton)), ids, peak


def write_blocks(result, target, lead: tuple, *, threshold, labels: bool, aborted, on_chunk) -> list:
    """Compute every chunk of the dask array ``result`` into ``target[lead + region]``, a batch of
    :func:`threads` chunks at a time; ``on_chunk()`` after each chunk is written.  Raises
    :class:`Cancelled` between batches once ``aborted()``; returns each chunk's :func:`_write` summary.

    The graph is laid out once, and each batch runs only the tasks its chunks need (dask's ``cull``):
    handing dask the whole graph for every batch would cost time in proportion to the number of chunks,
    per batch."""
    from dask.optimization import cull
    from dask.threaded import get

    graph = dict(result.__dask_graph__())
    keys = np.empty(tuple(len(c) for c in result.chunks), dtype=object)
    for index in itertools.product(*(range(n) for n in keys.shape)):
        keys[index] = (result.name, *index)
    starts = [np.cumsum((0,) + c[:-1]) for c in result.chunks]
    indices = list(itertools.product(*(range(len(c)) for c in result.chunks)))
    summaries = []
    for first in range(0, len(indices), threads()):
        if aborted():
            raise Cancelled
        batch = indices[first:first + threads()]
        sub, _ = cull(graph, [keys[index] for index in batch])
        writes = []
        for index in batch:
            region = tuple(slice(int(s[i]), int(s[i]) + int(c[i])) for s, c, i in zip(starts, result.chunks, index))
            key = ("soft-skeleton-write", *index)
            sub[key] = (functools.partial(_write, target=target, region=lead + region, threshold=threshold,
                                          labels=labels), keys[index])
            writes.append(key)
        wanted = set(writes)
        summaries += get(sub, writes, num_workers=threads(),
                         callbacks=[(None, None, None, lambda key, *_: on_chunk() if key in wanted else None, None)])
    return summaries


def block_count(result) -> int:
    return math.prod(len(c) for c in result.chunks)
