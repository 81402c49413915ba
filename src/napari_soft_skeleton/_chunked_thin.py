"""The topological thinning of a dask or zarr array, chunk by chunk, equal to the in-memory result.

The thinning (:mod:`.topological`) is a sequence of sweeps, and a sweep is a
function of the volume as it was when the sweep began (the compiled
engine's caches of end points and non-simple voxels only skip work whose
answer cannot have changed).  So the volume is thinned one sweep per pass,
every chunk with a halo of its neighbours' voxels, as Janelia's COSEM
pipeline does, until a pass deletes nothing — the sweep at which the
in-memory thinning stops too.  A pass is exact when:

* **the halo covers what a sweep can reach**: a sweep is 6 sub-sweeps (one
  per side); each fixes its candidates at its start (a look at the 26
  neighbours: one voxel), then deletes the simple ones subfield by subfield,
  8 subfields one after the other, each deletion deciding only on the 26
  neighbours as they are then (one voxel).  So a voxel's fate in a sub-sweep
  depends on the volume within 1 + 8 = 9 voxels of it, in a sweep within
  6 × 9 = :data:`HALO` = 54 voxels; what the chunk's own edges (seen as
  background) do to its halo travels no further in one sweep, and the
  halo is cut off after.  (Measured: 10 voxels sufficed on random blobs; 54
  is the bound.)
* **the subfields are the in-memory ones**: a voxel's subfield is the
  parity of its coordinates, counted from the block the engine is given; a
  block that starts at an odd coordinate flips it.  Every task region but
  the last along an axis is therefore even in length, and the halo is even,
  so every block starts at an even coordinate of the volume.  (Found on a
  real neuron: a dask ``map_overlap`` version of this, whose last chunk was
  shorter than the halo, was rechunked by dask at an odd boundary.)

Edges of the volume get no halo (the block is clipped there), so blocks
there see the edge as the in-memory thinning does (background beyond).
Label images thin each label alone, as in memory.  :func:`thin_store` keeps
the volume in two Zarr arrays (bounded memory: a task region and its halo
per task), reading each block's halo straight from the store, sweeps again
only the regions whose halo saw a change in the last pass (a sweep is a
function of the volume as it stands: a region whose surroundings did not
change cannot change either), and saves its state after every phase
(resumable).  :func:`topological_by_chunks` (the library's dask/zarr path)
runs it in a temporary directory; the command line's streaming
(:mod:`._streaming_thin`) in the output's ``.partial`` directory.

**Physical space** (an anisotropic ``spacing``): sweep ``t`` deletes only
voxels whose gate (:mod:`._depth`) is at most ``t``.  The gate is a function
of the input alone, computed exactly region by region
(:mod:`._chunked_gate`), and each pass passes its sweep number to the
engine.  A sweep that changes nothing may still hold voxels back; so a
region that held some is swept again even if nothing around it changed, and
the thinning stops when a pass changes nothing and holds nothing back —
where the in-memory thinning stops.

**Then** ``spurs="prune"`` prunes from the sparse skeleton
(:mod:`._chunked_prune`), and ``fill_holes`` fills first
(:mod:`._chunked_fill`), both exact.  Not chunked (refused with one line):
``per_slice``.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np

#: Voxels of halo that make one sweep of a chunk exact (module docstring).
HALO = 54
#: Where :func:`thin_store` keeps its state (resumable).
STATE_FILE = "thin-state.json"


def _one_sweep(block: np.ndarray, labels: bool, gate: np.ndarray | None = None, sweep_no: int = 1):
    """Sweep ``sweep_no`` of the thinning of ``block`` (with the physical gate ``gate`` of its voxels, or
    none on the grid): ``(thinned block, voxels the gate held back)``."""
    from ._peel_numba import peel
    from .topological import _padded

    if not block.any():
        return block, 0
    padded, strides, offsets, face_offsets = _padded(block, labels)
    inner = (slice(1, -1),) * block.ndim
    flat_gate = None
    if gate is not None:
        padded_gate = np.zeros(padded.shape, np.uint16)
        padded_gate[inner] = gate
        flat_gate = padded_gate.reshape(-1)
    held = peel(padded.reshape(-1), offsets, face_offsets, strides, np.array(padded.shape, np.int64), block.ndim,
                1, None, flat_gate, sweep_no)
    out = padded[inner]
    return (out != 0 if block.dtype == bool else out.astype(block.dtype, copy=True)), held


def _work_dir() -> Path:
    """A temporary directory for one chunked thinning (dask's ``temporary-directory`` when set), removed when
    the process exits: the result the returned dask array reads stays there until then."""
    import atexit
    import shutil
    import tempfile

    import dask

    work = Path(tempfile.mkdtemp(prefix="soft-skeleton-thin-", dir=dask.config.get("temporary-directory", None)))
    atexit.register(shutil.rmtree, work, True)
    return work


def topological_by_chunks(arr, *, threshold, per_slice: bool, spurs: str, spacing, fill_holes: bool, progress=None):
    """The topological skeleton of the dask array ``arr`` (a mask, a label image or a float map with
    ``threshold``), thinned one exact sweep per pass over Zarr stores in a temporary directory
    (:func:`thin_store`: bounded memory), pruned (:mod:`._chunked_prune`); a dask array over the result's
    store (kept until the process exits; the work arrays are removed as soon as it is written)."""
    import shutil

    import dask
    import dask.array as da
    import zarr

    from ._chunked_prune import gather, prune_gathered
    from ._streaming_thin import STORE_EDGE, task_shape

    if per_slice:
        raise ValueError("per_slice is not chunked yet for the topological skeleton of a dask or zarr array "
                         "(thin the slices one by one, or pass np.asarray(data))")
    kind = arr.dtype.kind
    if kind == "f":
        if threshold is None:
            raise ValueError("method='topological' needs a threshold to binarize a float map; got None")
        arr = arr > threshold
    elif kind == "i":
        if dask.compute(arr.min())[0] < 0:
            raise ValueError("label images must be non-negative integers (0 is background)")
    labels = arr.dtype != bool
    if fill_holes:  # (exact, chunk by chunk: _chunked_fill.py; the same warning as in memory)
        from ._chunked_fill import fill_dask
        from ._fill import warn_absorbed

        arr, absorbed = fill_dask(arr)
        warn_absorbed(absorbed, stacklevel=4)
    shape, out_dtype = tuple(arr.shape), arr.dtype
    work = _work_dir()
    task = task_shape(shape, 1 if not labels else arr.dtype.itemsize)
    store_chunks = tuple(min(STORE_EDGE, t) for t in task)
    values = zarr.open_array(str(work / "input"), mode="w", shape=shape, chunks=store_chunks,
                             dtype=np.uint8 if not labels else arr.dtype)
    da.store((arr.astype(np.uint8) if not labels else arr).rechunk(store_chunks), values, lock=False)
    current = thin_store(values, work, labels=labels, task=task, store_chunks=store_chunks, spacing=spacing,
                         progress=progress)
    deleted = np.empty(0, np.int64)
    if spurs == "prune":
        skel, vals = gather(current.__getitem__, shape, store_chunks)
        deleted = prune_gathered(skel, vals, values.__getitem__, shape, task, spacing, store_chunks)
    result = zarr.open_array(str(work / "skeleton"), mode="w", shape=shape, chunks=store_chunks, dtype=out_dtype)
    dask.compute(*[dask.delayed(_clear_chunk)(current, result, index, deleted, store_chunks)
                   for index in itertools.product(*(range(-(-n // c)) for n, c in zip(shape, store_chunks)))])
    for name in ("input", "current", "following", "gate", "fill", STATE_FILE):
        shutil.rmtree(work / name, ignore_errors=True) if name != STATE_FILE else (work / name).unlink(True)
    return da.from_zarr(result)


def _clear_chunk(current, result, index, deleted, chunks) -> None:
    """Chunk ``index`` of the thinned ``current`` less the ``deleted`` voxels, into ``result``."""
    from ._chunked_prune import pruned_block

    region = _region(index, chunks, current.shape)
    result[region] = pruned_block(current, region, deleted, result.dtype)


# ---- the same thinning over Zarr stores, only where something changed --------------------------------


def _even(n: int, total: int) -> int:
    return min(total, n + n % 2)


def _region(index, chunks, shape, grow: int = 0):
    return tuple(slice(max(i * c - grow, 0), min((i + 1) * c + grow, n)) for i, c, n in zip(index, chunks, shape))


def _sweep_chunk(current, following, index, labels: bool, task=None, gate=None, sweep_no: int = 1):
    """Sweep ``sweep_no`` of the task region ``index`` (of size ``task``, default the chunks) of the Zarr
    array ``current`` (with its halo, and the physical gate's Zarr array ``gate`` when there is one) into
    ``following``: ``(changed, held)``, whether the region changed (only then is it written) and whether
    the gate held a voxel back."""
    chunks, shape = task or current.chunks, current.shape
    outer = _region(index, chunks, shape, HALO)
    core = _region(index, chunks, shape)
    block = np.asarray(current[outer])
    thinned, held = _one_sweep(block, labels, None if gate is None else np.asarray(gate[outer]), sweep_no)
    inner = tuple(slice(c.start - o.start, c.stop - o.start) for c, o in zip(core, outer))
    if np.array_equal(thinned[inner], block[inner]):
        return False, held > 0
    following[core] = thinned[inner]
    return True, held > 0


def _copy_chunk(source, target, index, task=None) -> None:
    region = _region(index, task or source.chunks, source.shape)
    target[region] = source[region]


def _save_state(work_dir, state: dict) -> None:
    from .io._atomic import atomic_write

    atomic_write(Path(work_dir) / STATE_FILE, json.dumps(state).encode())


def load_state(work_dir) -> dict | None:
    """The thinning's state saved in ``work_dir`` by :func:`thin_store`, or None (none, or unreadable)."""
    try:
        return json.loads((Path(work_dir) / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def thin_store(source, work_dir, *, labels: bool, progress=None, read=None, task=None, store_chunks=None,
               spacing=None):
    """The topological thinning (``spurs="keep"``) of the Zarr array ``source`` (a mask or label image), one
    exact sweep per pass, in two Zarr arrays under ``work_dir`` (bounded memory: a task region and its halo
    per task); returns the Zarr array holding the skeleton.

    Only the task regions whose halo saw a change in the last pass, or whose voxels the gate held back,
    are swept again: a sweep is a function of the volume as it stands (and of the gate), so a region whose
    surroundings did not change, and that held nothing back, cannot change either.  The thinning stops when
    a pass changes nothing and holds nothing back — where the in-memory thinning stops.

    ``read(region)``: what to thin (default ``source[region]``, nonzero as the mask unless ``labels``);
    ``task``: the task regions' size (even; default ``source``'s chunks made even), ``store_chunks``: the
    work arrays' chunks (default ``task``; a divisor of it, so that a task reads little beyond its halo);
    ``spacing``: an anisotropic one thins in physical space, with the gate of :mod:`._chunked_gate`
    (a third Zarr array, computed when the volume is copied in).

    **Resumable**: the state (the pass, its phase and its regions) is saved in ``work_dir`` after each
    phase, every phase is idempotent (a sweep reads ``current`` and writes ``following``; the copy writes
    back the regions that changed), so a run killed at any point continues from its last saved phase when
    called again with the same ``work_dir``."""
    import dask
    import zarr

    from ._depth import is_anisotropic

    shape = tuple(source.shape)
    task = tuple(task) if task is not None else tuple(_even(c, n) for c, n in zip(source.chunks, shape))
    store_chunks = tuple(store_chunks) if store_chunks is not None else task
    dtype = np.uint8 if not labels else source.dtype
    gated = spacing is not None and is_anisotropic(tuple(spacing))
    work = Path(work_dir)
    state = load_state(work)
    if state is not None and state.get("task") != list(task):
        state = None
    mode = "r+" if state is not None else "w"
    names = ("current", "following", "gate") if gated else ("current", "following")
    arrays = [zarr.open_array(str(work / name), mode=mode, shape=shape, chunks=store_chunks,
                              dtype=np.uint16 if name == "gate" else dtype) for name in names]
    current, following = arrays[:2]
    gate = arrays[2] if gated else None
    grid = [range(-(-n // c)) for n, c in zip(shape, task)]
    every = list(itertools.product(*grid))
    read = read or source.__getitem__

    def fill(index):
        from ._chunked_gate import region_gate

        region = _region(index, task, shape)
        block = np.asarray(read(region))
        current[region] = (block != 0).astype(np.uint8) if not labels else block
        if gated:
            gate[region] = region_gate(read, region, shape, spacing)

    if state is None:
        dask.compute(*[dask.delayed(fill)(i) for i in every])
        state = {"task": list(task), "sweeps": 0, "phase": "sweep", "regions": [list(i) for i in every],
                 "held": []}
        _save_state(work, state)
    reach = tuple(-(-HALO // c) for c in task)  # regions a change can reach within one sweep's halo
    while state["phase"] != "done":
        regions = [tuple(i) for i in state["regions"]]
        if state["phase"] == "sweep":
            sweep_no = state["sweeps"] + 1
            flags = dask.compute(*[dask.delayed(_sweep_chunk)(current, following, i, labels, task, gate, sweep_no)
                                   for i in regions])
            state = {**state, "sweeps": sweep_no, "phase": "copy",
                     "regions": [list(i) for i, (changed, _) in zip(regions, flags) if changed],
                     "held": [list(i) for i, (_, held) in zip(regions, flags) if held]}
            _save_state(work, state)
            continue
        dask.compute(*[dask.delayed(_copy_chunk)(following, current, i, task) for i in regions])
        dirty = {tuple(i) for i in state["held"]}
        for i in regions:
            for step in itertools.product(*(range(-r, r + 1) for r in reach)):
                j = tuple(a + b for a, b in zip(i, step))
                if all(0 <= a < len(g) for a, g in zip(j, grid)):
                    dirty.add(j)
        state = {**state, "phase": "sweep" if dirty else "done", "regions": [list(i) for i in sorted(dirty)]}
        _save_state(work, state)
        if progress is not None and dirty:
            progress(state["sweeps"], state["sweeps"] + 1)
    return current
