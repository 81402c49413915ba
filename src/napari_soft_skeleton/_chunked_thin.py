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
thin each label alone, as in memory.  Between passes the volume is kept
(``persist``) — in memory for a dask array that fits it; the streaming
command line keeps it in Zarr stores instead.

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
