"""The topological skeleton of a Zarr volume into an OME-Zarr store: bounded memory, resumable, exact.

Three phases, all inside ``<output>.partial`` (renamed to ``<output>`` at
the end, as the soft skeleton's streaming does: :mod:`._streaming`):

1. **thinning** (:func:`._chunked_thin.thin_store`): one exact sweep per
   pass over task regions with a 54-voxel halo, in two work arrays under
   ``work/``, each pass only over the regions whose surroundings changed;
   its state is saved after every phase of a pass, so a killed run resumes
   at the pass it was in;
2. **pruning** (``spurs="prune"``, :mod:`._chunked_prune`): the thinned
   skeleton's coordinates gathered, its spurs pruned with the radii read
   chunk by chunk from the input; the deleted voxels are saved
   (``work/deleted.npy``) before the output is written;
3. **output**: one task per output chunk (the thinned chunk less its deleted
   voxels), each marked done after it is stored, as in :mod:`._streaming`.

Memory: a task region with its halo per thread (work arrays are stored in
small chunks, so a task reads little beyond its halo), plus ~40 bytes per
skeleton voxel while pruning.  The result is the in-memory topological
skeleton, voxel for voxel, on the voxel grid or, with an anisotropic
spacing, in physical space (the gate of :mod:`._chunked_gate`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ._streaming import DONE_DIR, WORK_DIR, _job, chunks_to_do, finish, open_partial, partial_path
from .io._atomic import atomic_write, check_replaceable
from .io._zarr_region import chunk_regions

DELETED_FILE = "deleted.npy"
#: The work arrays' chunk edge (voxels): small, so that a task's halo costs little reading.
STORE_EDGE = 64


def task_shape(shape, itemsize: int, memory_limit: float | None = None, threads: int = 1) -> tuple[int, ...]:
    """The thinning's task region: cubes of 256 voxels for bytes (128 for ids), smaller when
    ``memory_limit`` (bytes) would not hold ``threads`` tasks (each ~4 copies of the region and its halo
    at 1 byte plus its values); multiples of :data:`STORE_EDGE` (even), never beyond the volume."""
    from ._chunked_thin import HALO

    edge = 256 if itemsize == 1 else 128
    while memory_limit is not None and edge > STORE_EDGE:
        voxels = (edge + 2 * HALO) ** len(shape)
        if threads * voxels * (4 + 2 * itemsize) <= 0.6 * memory_limit:
            break
        edge //= 2
    return tuple(min(edge, n + n % 2) for n in shape)


def _reader(source, shown: str, *, threshold, as_mask: bool):
    """What the thinning thins, region by region: the mask (uint8) or the label image."""
    from .io._zarr import read_region

    def read(region):
        block = read_region(source, region, shown)
        if block.dtype.kind == "f":
            return (block > threshold).astype(np.uint8)
        if as_mask or block.dtype == bool:
            return (block != 0).astype(np.uint8)
        return block

    return read


def _write_chunk(current, target, region, deleted, done_dir: str) -> int:
    from ._chunked_prune import pruned_block
    from ._streaming import mark_done

    target[region] = pruned_block(current, region, deleted, target.dtype)
    mark_done(done_dir, region)
    return 1


def thin_to_store(source: Any, source_path: str, output: str | os.PathLike, *, threshold, as_mask: bool,
                  labels: bool, spurs: str, out_dtype, spacing, unit, fill_holes: bool = False,
                  memory_limit: float | None = None, threads: int = 1, progress=None, phase=None, levels=None,
                  zarr_format: int = 2) -> dict:
    """The topological skeleton of the zarr array ``source`` (read from ``source_path``) into the OME-Zarr
    store ``output``, resuming a run killed before (module docstring).

    ``as_mask``: the input's nonzero voxels are the mask (else ``labels``: each id thinned alone; a float
    map is thresholded at ``threshold``); ``spurs``: ``"prune"`` or ``"keep"``; ``progress(done, total)``
    per pass / chunk, ``phase(name)`` when a phase starts; ``fill_holes``: the holes filled first
    (:mod:`._chunked_fill`, exact); ``levels``, ``zarr_format``: the output's pyramid and format (as in
    :func:`._streaming.skeletonize_store`).  Returns ``{"sweeps", "pruned", "chunks", "written", "absorbed"}``."""
    import dask

    from ._chunked_prune import gather, prune_gathered
    from ._chunked_thin import load_state, thin_store
    from .io._zarr import compute_tasks, create_ome_zarr

    out = Path(output)
    check_replaceable(out)  # (never an unrelated directory: it would be replaced at the end)
    partial = partial_path(out)
    shape = tuple(source.shape)
    params = {"method": "topological", "threshold": threshold, "spurs": spurs, "fill_holes": bool(fill_holes),
              "as_mask": bool(as_mask),
              "labels": bool(labels), "dtype": np.dtype(out_dtype).str,
              "spacing": None if spacing is None else [float(s) for s in spacing], "unit": unit, "levels": levels,
              "zarr_format": int(zarr_format)}
    chunks = tuple(min(n, c) for n, c in zip(shape, source.chunks))
    job = _job(params, source_path, shape, chunks)
    name = out.name.split(".")[0]
    target, _ = open_partial(out, partial, job, lambda p: create_ome_zarr(p, shape, out_dtype, spacing, unit, name,
                                                                           chunks, zarr_format=zarr_format))
    work = partial / WORK_DIR
    read = _reader(source, source_path, threshold=threshold, as_mask=as_mask)
    itemsize = 1 if not labels else np.dtype(source.dtype).itemsize
    task = task_shape(shape, itemsize, memory_limit, threads)
    store_chunks = tuple(min(STORE_EDGE, t) for t in task)
    absorbed: list = []
    if fill_holes:
        from ._chunked_fill import fill_store

        if phase is not None:
            phase("filling holes")
        filled, absorbed = fill_store(read, shape, task, work / "fill", labels=labels, progress=progress)
        read = filled.__getitem__
    if phase is not None:
        phase("thinning")
    current = thin_store(source, work, labels=labels, read=read, task=task, store_chunks=store_chunks,
                         progress=progress, spacing=spacing)  # (returns at once when a run before finished it)
    sweeps = load_state(work)["sweeps"]
    if (work / DELETED_FILE).exists():
        deleted = np.load(work / DELETED_FILE)
    else:
        deleted = np.empty(0, np.int64)
        if spurs == "prune":
            if phase is not None:
                phase("pruning")
            skel, vals = gather(current.__getitem__, shape, store_chunks)
            deleted = prune_gathered(skel, vals, read, shape, task, spacing, chunks)
        atomic_write(work / DELETED_FILE, lambda fh: np.save(fh, deleted))
    if phase is not None:
        phase("writing")
    done_dir = partial / DONE_DIR
    todo, total = chunks_to_do(target, done_dir, chunk_regions(shape, chunks))
    if progress is not None:
        progress(total - len(todo), total)
    tasks = [dask.delayed(_write_chunk, pure=False)(current, target, r, deleted, str(done_dir))
             for r in todo]
    compute_tasks(tasks, progress, total - len(todo), total)
    finish(out, partial, total, levels)
    return {"sweeps": sweeps, "pruned": len(deleted), "chunks": total, "written": len(todo), "absorbed": absorbed}
