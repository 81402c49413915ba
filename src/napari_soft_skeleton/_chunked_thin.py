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
  block that starts at an odd coordinate flips it.  Every chunk but the last
  along an axis is therefore made even in length, and the halo is even, so
  every block starts at an even coordinate of the volume.

Edges of the volume get no halo (``boundary="none"``), so blocks there see
the edge as the in-memory thinning does (background beyond).  Label images
thin each label alone, as in memory.  :func:`topological_by_chunks` keeps
the volume between passes in memory (``persist``, for a dask array that
fits); :func:`thin_store` keeps it in two Zarr arrays (bounded memory: a
chunk and its halo per task) and sweeps again only the chunks whose halo saw
a change in the last pass (a sweep is a function of the volume as it
stands: a chunk whose surroundings did not change cannot change either).

Not chunked yet (refused with one line): the spur pruning (``spurs="keep"``
is required: pruning walks terminal branches of any length), thinning in
physical space (an anisotropic ``spacing``: its gate needs the exact
distance transform), ``fill_holes`` and ``per_slice``.
"""

from __future__ import annotations

import numpy as np

#: Voxels of halo that make one sweep of a chunk exact (module docstring).
HALO = 54


def _even_chunks(chunks: tuple[int, ...]) -> tuple[int, ...]:
    """Chunk lengths along one axis with every boundary at an even coordinate (the last chunk takes the rest)."""
    total = sum(chunks)
    out, start = [], 0
    for c in chunks[:-1]:
        stop = start + c
        stop += stop % 2
        if stop >= total:
            break
        if stop > start:
            out.append(stop - start)
            start = stop
    out.append(total - start)
    return tuple(out)


def _one_sweep(block: np.ndarray, labels: bool) -> np.ndarray:
    from .topological import _thin_numpy

    if not block.any():
        return block
    return _thin_numpy(block, labels=labels, max_sweeps=1, spurs="keep")


def topological_by_chunks(arr, *, threshold, per_slice: bool, spurs: str, spacing, fill_holes: bool, progress=None):
    """The topological skeleton of the dask array ``arr`` (a mask, a label image or a float map with
    ``threshold``), thinned one exact sweep per pass (module docstring); a persisted dask array."""
    from ._depth import is_anisotropic

    if spurs != "keep":
        raise ValueError("the topological skeleton of a dask or zarr array needs spurs='keep' for now "
                         "(pruning spurs is not chunked yet)")
    if spacing is not None and is_anisotropic(tuple(spacing)):
        raise ValueError("the topological skeleton of a dask or zarr array is computed on the voxel grid for now; "
                         "an anisotropic spacing is not chunked yet (leave spacing out)")
    if fill_holes or per_slice:
        raise ValueError(f"{'fill_holes' if fill_holes else 'per_slice'} is not chunked yet for the topological "
                         "skeleton of a dask or zarr array")
    kind = arr.dtype.kind
    if kind == "f":
        if threshold is None:
            raise ValueError("method='topological' needs a threshold to binarize a float map; got None")
        arr = arr > threshold
    elif kind == "i":
        import dask

        if dask.compute(arr.min())[0] < 0:
            raise ValueError("label images must be non-negative integers (0 is background)")
    labels = arr.dtype != bool
    arr = arr.rechunk(tuple(_even_chunks(c) for c in arr.chunks))
    depth = {axis: min(HALO, n - n % 2) for axis, n in enumerate(arr.shape)}
    current = arr.persist()
    sweeps = 0
    while True:
        following = current.map_overlap(_one_sweep, labels=labels, depth=depth, boundary="none",
                                         dtype=arr.dtype).persist()
        sweeps += 1
        if not bool((following != current).any().compute()):
            return following
        current = following
        if progress is not None:
            progress(sweeps, sweeps + 1)


# ---- the same thinning over Zarr stores, only where something changed --------------------------------


def _even(n: int, total: int) -> int:
    return min(total, n + n % 2)


def _region(index, chunks, shape, grow: int = 0):
    return tuple(slice(max(i * c - grow, 0), min((i + 1) * c + grow, n)) for i, c, n in zip(index, chunks, shape))


def _sweep_chunk(current, following, index, labels: bool) -> bool:
    """One sweep of chunk ``index`` of the Zarr array ``current`` (with its halo) into ``following``;
    whether the chunk changed (only then is it written)."""
    chunks, shape = current.chunks, current.shape
    outer = _region(index, chunks, shape, HALO)
    core = _region(index, chunks, shape)
    block = np.asarray(current[outer])
    thinned = _one_sweep(block, labels)
    inner = tuple(slice(c.start - o.start, c.stop - o.start) for c, o in zip(core, outer))
    if np.array_equal(thinned[inner], block[inner]):
        return False
    following[core] = thinned[inner]
    return True


def _copy_chunk(source, target, index) -> None:
    region = _region(index, source.chunks, source.shape)
    target[region] = source[region]


def thin_store(source, work_dir, *, labels: bool, progress=None) -> object:
    """The topological thinning (``spurs="keep"``, grid) of the Zarr array ``source`` (a mask or label image),
    one exact sweep per pass, in two Zarr arrays under ``work_dir`` (bounded memory: a chunk and its halo per
    task); returns the Zarr array holding the skeleton.

    Only the chunks whose halo saw a change in the last pass are swept again: a sweep is a function of the
    volume as it stands, so a chunk whose surroundings did not change cannot change either.  The thinning
    stops when a pass changes nothing — where the in-memory thinning stops."""
    import itertools

    import dask
    import zarr

    shape = tuple(source.shape)
    chunks = tuple(_even(c, n) for c, n in zip(source.chunks, shape))
    dtype = np.uint8 if not labels else source.dtype
    arrays = [zarr.open_array(str(work_dir) + f"/{name}", mode="w", shape=shape, chunks=chunks, dtype=dtype)
              for name in ("current", "following")]
    current, following = arrays
    grid = [range(-(-n // c)) for n, c in zip(shape, chunks)]
    every = list(itertools.product(*grid))

    def fill(index):
        region = _region(index, chunks, shape)
        block = np.asarray(source[region])
        current[region] = (block != 0).astype(np.uint8) if not labels else block

    dask.compute(*[dask.delayed(fill)(i) for i in every])
    reach = tuple(-(-HALO // c) for c in chunks)  # chunks a change can reach within one sweep's halo
    dirty = set(every)
    sweeps = 0
    while dirty:
        sweeps += 1
        todo = sorted(dirty)
        flags = dask.compute(*[dask.delayed(_sweep_chunk)(current, following, i, labels) for i in todo])
        changed = [i for i, f in zip(todo, flags) if f]
        dask.compute(*[dask.delayed(_copy_chunk)(following, current, i) for i in changed])
        dirty = set()
        for i in changed:
            for step in itertools.product(*(range(-r, r + 1) for r in reach)):
                j = tuple(a + b for a, b in zip(i, step))
                if all(0 <= a < len(g) for a, g in zip(j, grid)):
                    dirty.add(j)
        if progress is not None and dirty:
            progress(sweeps, sweeps + 1)
    return current
