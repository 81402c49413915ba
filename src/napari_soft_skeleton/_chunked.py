"""Skeletons of arrays bigger than memory: a dask or zarr array in, a lazy dask array out.

:func:`~napari_soft_skeleton.skeletonize` hands a ``dask.array.Array`` or a
``zarr.Array`` to :func:`skeletonize_lazy`, which never loads the whole
volume: every chunk is skeletonized with a halo of its neighbours' voxels
(``dask.array.map_overlap``) and the halo is cut off again.  The result is
the in-memory result, bit for bit, where the halo covers everything a voxel's
value depends on:

* **soft** (``iterations=k``): the clDice formula is ``k + 1`` rounds of a
  cross-shaped min-pool erosion followed by an opening (one more erosion and
  a 3×3(×3) max-pool dilation), whose values are combined voxel by voxel.
  The ``j``-th round's output at a voxel depends on the input within
  ``j + 3`` voxels along each axis (``j + 2`` erosions, each reaching one
  voxel along each axis, then one dilation), so the last round (``j = k -
  1``) reaches ``k + 2`` voxels, and a halo of ``k + 2`` makes every value of
  a chunk's core the value the whole volume gives: the same min, max and
  arithmetic on the same numbers.  Blocks at the volume's edges get no halo
  on that side (``boundary="none"``), so they see the edge as the in-memory
  call does.  A label image is skeletonized per label in each block, as in
  memory.  With ``per_slice=True`` only the in-plane axes get a halo.
  ``iterations="auto"`` first finds, in a pass over the chunks, the count
  the in-memory call stops at (:mod:`._chunked_auto`), then runs with it.

* **topological**: one exact sweep per pass, with the physical gate, the
  spur pruning and ``fill_holes`` done chunk by chunk too
  (:mod:`._chunked_thin`, :mod:`._chunked_gate`, :mod:`._chunked_prune`,
  :mod:`._chunked_fill`); the passes go through Zarr stores in a
  temporary directory (bounded memory), and the dask array returned reads
  the skeleton from there (kept until the process exits).
* **fill_holes** (masks and label images): filled first, exactly
  (:mod:`._chunked_fill`), with the in-memory warning.
* **Lee / Zhang**: scikit-image thins the whole volume at once, which no
  halo can reproduce: an array up to :data:`LOADED_UP_TO` voxels is loaded
  and thinned in memory (a dask array again), a larger one is refused with
  one line.

``normalize=True`` takes the volume's minimum and maximum in a first pass.
The soft method's per-chunk warning (an intensity image rather than a
probability map) is switched off in the blocks' threads
(:data:`._front_soft.QUIET`): it would repeat for every chunk.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np


def is_lazy(data: Any) -> bool:
    """Is ``data`` a dask or zarr array (the chunked path), without importing either?"""
    module = type(data).__module__ or ""
    return (module.startswith("dask.") and type(data).__name__ == "Array") or (
        module.startswith("zarr.") and type(data).__name__ == "Array"
    )


def as_dask(data: Any):
    import dask.array as da

    if isinstance(data, da.Array):
        return data
    return da.from_zarr(data)


def soft_halo(iterations: int) -> int:
    """Voxels of halo that make a chunk's soft skeleton with ``iterations`` exact (module docstring)."""
    return int(iterations) + 2


def soft_block(block: np.ndarray, *, iterations: int, threshold, per_slice: bool, device) -> np.ndarray:
    """The soft skeleton of one block (with its halo), without the library's per-call warnings (module
    docstring): what every chunked path computes per chunk."""
    from ._front_soft import QUIET
    from .skeletonize import skeletonize

    QUIET.on = True  # (this thread's blocks: per-block warnings would repeat, or disagree with the volume's)
    try:
        return skeletonize(block, "soft", iterations=iterations, threshold=threshold, per_slice=per_slice,
                           device=device)
    finally:
        QUIET.on = False


def _check(arr, method: str, per_slice: bool) -> None:
    if arr.ndim not in (2, 3):
        raise ValueError(f"expected a 2D (Y, X) or 3D (Z, Y, X) array; got {arr.ndim}D with shape {arr.shape}")
    if 0 in arr.shape:
        raise ValueError(f"expected a non-empty array; got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise ValueError("expected a boolean mask, an integer label image or a float probability map; "
                         f"got dtype {arr.dtype}")
    if method in ("lee", "zhang") and arr.size > LOADED_UP_TO:
        raise ValueError(
            f"method {method!r} cannot be chunked exactly (scikit-image thins the whole volume at once), and this "
            f"array's {arr.size:,} voxels are more than the {LOADED_UP_TO:,} (512³) loaded into memory for it; "
            "use method='topological' (exact chunk by chunk), or skeletonize cropped regions"
        )


#: Lee and Zhang on a dask or zarr array: the volume is loaded and thinned in memory up to this many voxels
#: (512³; ~1 GB as a mask), refused above.
LOADED_UP_TO = 512 ** 3


def skeletonize_lazy(data: Any, method: str, *, iterations, threshold, per_slice: bool, device, normalize: bool,
                     return_iterations: bool, spurs: str = "prune", spacing=None, fill_holes: bool = False,
                     progress=None, auto_threshold=None):
    """:func:`~napari_soft_skeleton.skeletonize` of a dask or zarr array, as a dask array (module docstring)."""
    arr = as_dask(data)
    _check(arr, method, per_slice)
    per_slice = bool(per_slice) and arr.ndim == 3
    if method in ("lee", "zhang"):  # (small enough: in memory, as a dask array again)
        import dask.array as da

        from .skeletonize import skeletonize

        out = skeletonize(np.asarray(arr), method, threshold=threshold, per_slice=per_slice, spacing=spacing,
                          fill_holes=fill_holes, normalize=normalize)
        out = da.from_array(out, chunks=arr.chunks)
        return (out, None) if return_iterations else out
    if method == "topological":
        from ._chunked_thin import topological_by_chunks

        out = topological_by_chunks(arr, threshold=threshold, per_slice=per_slice, spurs=spurs, spacing=spacing,
                                    fill_holes=fill_holes, progress=progress)
        return (out, None) if return_iterations else out
    kind = arr.dtype.kind
    if kind == "f":
        arr = arr.astype(np.float64 if arr.dtype == np.float64 else np.float32)
        if normalize:
            import dask

            lo, hi = (float(v) for v in dask.compute(arr.min(), arr.max()))
            arr = (arr - lo) / (hi - lo) if hi > lo else arr * 0
    if fill_holes:  # masks and labels: exact, chunk by chunk (_chunked_fill.py), warning as in memory
        if kind == "f" or per_slice:
            raise ValueError("fill_holes=True for the soft skeleton of a dask or zarr array needs a mask or label "
                             "image (not a float map) and no per_slice; fill the holes first, or pass "
                             "np.asarray(data)")
        from ._chunked_fill import fill_dask
        from ._fill import warn_absorbed

        arr, absorbed = fill_dask(arr)
        warn_absorbed(absorbed, stacklevel=3)
    if iterations == "auto":  # a first pass over the chunks finds the in-memory count (_chunked_auto.py)
        from ._chunked_auto import auto_iterations

        k, warning = auto_iterations(arr, threshold=threshold, per_slice=per_slice, auto_threshold=auto_threshold)
        if warning:
            warnings.warn(warning, UserWarning, stacklevel=3)
    else:
        k = int(iterations)
    if kind == "f" and threshold is None:
        dtype = arr.dtype
    elif kind in "iu":
        dtype = arr.dtype
    else:
        dtype = np.dtype(bool)
    halo = soft_halo(k)
    depth = {axis: (0 if per_slice and axis == 0 else min(halo, n)) for axis, n in enumerate(arr.shape)}

    out = arr.map_overlap(soft_block, iterations=k, threshold=threshold, per_slice=per_slice, device=device,
                          depth=depth, boundary="none", dtype=dtype, trim=True)
    return (out, k) if return_iterations else out
