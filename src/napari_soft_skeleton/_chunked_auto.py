"""``iterations="auto"`` on a dask or zarr array: the count the in-memory call would use, chunk by chunk.

:func:`auto_iterations` runs a first pass over the chunks that finds the
number ``k`` of soft-skeleton iterations :func:`~napari_soft_skeleton.skeletonize`
stops at in memory; the chunked path then runs with that fixed ``k`` (a halo
of ``k + 2``, exact: :mod:`._chunked`), so the result and the count equal the
in-memory ``iterations="auto"`` bit for bit.  The first pass works on blocks
of neighbouring chunks merged to :data:`MIN_EDGE` voxels a side or more (any
grid gives the same count; thin chunks would make tasks of mostly halo), one
block and its halo per task.  Why each count is the in-memory one:

**Masks and label images.**  In memory a mask stops at ``max(D) - 1`` (0 for
an empty mask, or one whose every voxel is foreground), ``D`` the city-block
distance to the nearest *in-volume* background voxel (the volume's border is
not background); a label image takes the largest count of its labels, each
label alone (cropping to its box changes no distance: the crop's margin is
background) and so ``D`` is the distance to the nearest voxel of *another
value*; ``per_slice`` measures ``D`` in each slice and takes the largest.
Here ``D(v) = 1 + dist(v, G)``, ``G`` the voxels that are background or have a
face neighbour of another value: the nearest voxel ``u`` of another value sits
at ``D(v)``, its neighbour on a shortest path at ``D(v) - 1`` is in ``G``, and
nothing nearer is (every voxel nearer than ``D(v)`` has ``v``'s value, so do
their neighbours).  One distance transform thus serves every label.  A chunk
computes it in its window (the chunk plus a halo of ``h``): every voxel it
marks ``G`` is in ``G``, and any it misses lies on the window's outer layer or
outside it, at least ``h`` away from the chunk, so ``dist <= h`` found in the
window is exact; a voxel further in is *uncertain*, with ``h + 1 <= D <=`` its
window value.  ``D`` is infinite exactly for a label (or mask) covering the
whole volume (slice): those count 0, as in memory; an element (the volume, or
a slice with ``per_slice``) that holds any ``G`` voxel has only finite ``D``.
The largest exact ``D`` and the lower bounds give ``M <= max(D)``; a chunk
whose uncertain voxels are all bounded by ``M`` cannot change the maximum;
every other chunk is redone with twice the halo, until none is left (at
worst the window is the volume: the thickest object bounds the halo, as it
bounds the final pass's ``k + 2``).

**Float maps.**  In memory the loop stops at the first ``k`` where the image
eroded ``k`` times is constant (count ``k - 1``), or
:class:`~napari_soft_skeleton.soft.ThresholdStop` fires (count ``k``), or
``k`` reaches the cap ``max(8, 2 (depth + 1))`` (count ``k``, with a warning),
``depth`` being the largest finite ``D`` of ``map > threshold`` (the mask rule
above), worked out only once ``k`` reaches 8; the loop itself ends at
``sum(shape - 1) + 1``.  Each of these tests is a maximum or minimum over the
voxels of the values ``img_k`` (the map eroded ``k`` times) and
``skel_k + img_{k+1}`` (masked where ``skel_k > threshold``), per image of the
batch: the constant test is ``max img_k == min img_0``, ThresholdStop compares
``max(skel_k + img_{k+1}) - min img_0`` with ``threshold - margin``.  A chunk
with a halo of ``K + 2`` has exactly the whole volume's ``skel_k`` and
``img_{k+1}`` in its core for every ``k <= K`` (the fixed-``K`` argument of
:mod:`._chunked`), and runs the same loop code
(:func:`~napari_soft_skeleton._soft_forward._dense_forward`), so the maxima
over the cores, combined by ``max``, are the in-memory values bit for bit, and
the in-memory arithmetic on them (the float32 or float64 difference, the
comparison) is repeated as is.  (In memory the loop runs on the box where the
map differs from its minimum; that box's margin holds the same values as the
voxels outside it, so the maxima are the same.)  ``K`` starts at 8 and
doubles (never past the cap or the loop's end) until one of the tests fires.
A float map with only the values 0 and 1 (and a 0) takes the mask rule, as in
memory.  The count pass runs on the CPU whatever ``device``: the comparisons
must see exactly the values NumPy sees in memory.  Not done: the warning that
a map looks like an intensity image (as in :mod:`._chunked`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: The first count window of the float rule (the in-memory cap is never below it).
FIRST_K = 8
#: The first halo of the distance pass.
FIRST_HALO = 8
#: The count pass merges neighbouring chunks into blocks at least this wide (3-D, 2-D): any grid gives the
#: same count, and thin chunks would make many tasks of mostly halo.
MIN_EDGE = {3: 64, 2: 256}


def capped_message(used: int, threshold: float) -> str:
    """The in-memory warning for a float map whose ``'auto'`` reached its cap (:mod:`._front_soft`)."""
    return (f"iterations='auto' stopped after {used} iterations, twice the thickness of the structures "
            f"above the threshold {threshold:g}; more iterations could still add skeleton voxels from "
            "texture below it (is this a probability map?)")


def auto_iterations(arr, *, threshold, per_slice: bool, auto_threshold=None, read: Callable | None = None,
                    chunks=None) -> tuple[int, str | None]:
    """The count in-memory ``iterations='auto'`` uses on ``arr`` (module docstring), and the warning the
    in-memory call gives (its cap was reached), or None.

    ``arr``: a dask array (bool mask, integer labels, or a float map already rescaled); ``read(outer)``,
    if given, returns what a task reads for the window ``outer`` (a tuple of slices; default
    ``arr[outer]``), and ``chunks`` the grid (default ``arr.chunks``).  Raises a one-line ``ValueError``
    for a float map that is not finite or not in [0, 1], as in memory."""
    from dask.array.core import normalize_chunks

    shape = tuple(int(n) for n in arr.shape)
    grid = _merged(normalize_chunks(arr.chunks if chunks is None else chunks, shape), MIN_EDGE[len(shape)])
    if read is None:
        def read(outer):
            return arr[outer]
    job = _Job(shape, grid, read, bool(per_slice) and len(shape) == 3)
    if arr.dtype.kind in "biu":
        return max(job.depth(None) - 1, 0), None
    t = float(threshold if threshold is not None else (0.5 if auto_threshold is None else auto_threshold))
    k, capped = job.float_count(t)
    return k, (capped_message(k, t) if capped else None)


def _merged(grid, edge: int):
    """The grid with neighbouring chunks merged along each axis until a block is ``edge`` wide or more."""
    out = []
    for sizes in grid:
        merged, run = [], 0
        for size in sizes:
            run += int(size)
            if run >= edge:
                merged, run = merged + [run], 0
        if run:
            merged = merged[:-1] + [merged[-1] + run] if merged else [run]
        out.append(tuple(merged))
    return tuple(out)


def _regions(grid):
    """The blocks of ``grid`` (chunk sizes per axis), in C order."""
    from ._sparse import iter_chunks

    return iter_chunks([np.cumsum((0,) + tuple(c)) for c in grid])


class _Job:
    def __init__(self, shape, grid, read, per_slice: bool):
        self.shape, self.read, self.per_slice = shape, read, per_slice
        self.regions = list(_regions(grid))
        self.elements = shape[0] if per_slice else 1  # the batch: slices, or the volume

    def window(self, region, halo: int):
        """``(outer, inner, whole)``: the region grown by ``halo`` (clipped; not along z per slice), the
        region inside it, and whether the window spans the volume (the slice) along every grown axis."""
        grow = [0 if self.per_slice and ax == 0 else halo for ax in range(len(self.shape))]
        outer = tuple(slice(max(r.start - g, 0), min(r.stop + g, n)) for r, g, n in zip(region, grow, self.shape))
        inner = tuple(slice(r.start - o.start, r.stop - o.start) for r, o in zip(region, outer))
        whole = all(o.start == 0 and o.stop == n for ax, (o, n) in enumerate(zip(outer, self.shape))
                    if not (self.per_slice and ax == 0))
        return outer, inner, whole

    def run(self, fn, regions, halo: int, *args) -> list:
        import dask

        tasks = []
        for region in regions:
            outer, inner, whole = self.window(region, halo)
            tasks.append(dask.delayed(fn, pure=True)(self.read(outer), inner, whole, halo, self.per_slice, *args))
        return list(dask.compute(*tasks))  # (on the active dask.distributed client, if any)

    def el(self, region) -> slice:
        return region[0] if self.per_slice else slice(0, 1)

    # ---- the distance pass: the largest finite D (module docstring) ----------------------------------

    def depth(self, above) -> int:
        """Largest finite ``D`` of the mask/labels (``above`` None) or of ``map > above``; 0 if none."""
        pending, halo, best = self.regions, FIRST_HALO, 0
        has_g = np.zeros(self.elements, bool)
        while pending:
            results = self.run(_depth_block, pending, halo, above)
            for region, (exact, _, g) in zip(pending, results):
                best = max(best, exact)
                has_g[self.el(region)] |= g
            for region, (_, unsure, _) in zip(pending, results):
                if np.any(unsure[has_g[self.el(region)]] >= 0):
                    best = max(best, halo + 1)  # an uncertain, finite D: at least halo + 1
            pending = [region for region, (_, unsure, _) in zip(pending, results)
                       if np.any(unsure[has_g[self.el(region)]] > best)]
            halo *= 2
        return best

    # ---- the float rule ------------------------------------------------------------------------------

    def float_count(self, t: float) -> tuple[int, bool]:
        from ._front_soft import _auto_cap, _AutoStop
        from .soft import ThresholdStop

        spatial = self.shape[1:] if self.per_slice else self.shape
        loop_end = _auto_cap(spatial)
        margin, lazy = ThresholdStop(t).margin, _AutoStop.LAZY_FROM
        cap = []

        def cap_of() -> int:
            if not cap:
                cap.append(max(lazy, 2 * (self.depth(t) + 1)))
            return cap[0]

        K = min(FIRST_K, loop_end)
        first = True
        while True:
            tops, reach, low, binary = self.float_round(K, t, check=first)
            if first and binary:  # only 0 and 1, and a 0: the mask path in memory
                return max(self.depth(None) - 1, 0), False
            first = False
            for k in range(1, min(K, loop_end) + 1):
                if np.array_equal(tops[k - 1], low):  # img_k constant (every image of the batch)
                    return k - 1, False
                top = reach[k - 1] - low  # (ThresholdStop's arithmetic, in the map's dtype)
                if np.all(top <= t - margin):
                    return k, False
                if k >= lazy and k >= cap_of():
                    return k, True
            if K >= loop_end:
                return loop_end, False
            K = min(2 * K, cap_of(), loop_end)

    def float_round(self, K: int, t: float, check: bool):
        """Per image of the batch: ``max img_k`` (k = 1..K), the masked ``max(skel_k + img_{k+1})``
        (k = 1..K) and ``min img_0``, combined over the chunks; and whether the map is binary."""
        results = self.run(_soft_block, self.regions, K + 2, K, t)
        dtype = results[0][0].dtype
        tops = np.full((K, self.elements), -np.inf, dtype)
        reach = np.full((K, self.elements), -np.inf, dtype)
        low = np.full(self.elements, np.inf, dtype)
        lo, hi, finite, binary = np.inf, -np.inf, True, True
        for region, (t_, r_, l_, (blo, bhi, bfin, bbin)) in zip(self.regions, results):
            e = self.el(region)
            tops[:, e] = np.maximum(tops[:, e], t_)
            reach[:, e] = np.maximum(reach[:, e], r_)
            low[e] = np.minimum(low[e], l_)
            lo, hi, finite, binary = min(lo, blo), max(hi, bhi), finite and bfin, binary and bbin
        if check and not finite:
            raise ValueError("expected finite values; the image contains NaN or infinity")
        if check and (lo < 0 or hi > 1):
            raise ValueError(f"float input must be a probability map with values in [0, 1]; got values in "
                             f"[{lo:g}, {hi:g}] (pass normalize=True to rescale an intensity image)")
        return tops, reach, low, binary and lo == 0


def _depth_block(window: np.ndarray, inner, whole: bool, halo: int, per_slice: bool, above):
    """One window of the distance pass: ``(largest exact D of the core, per image the largest uncertain
    bound (-1: none; inf: no G in the window), per image whether the core holds a G voxel)``."""
    import scipy.ndimage as ndi

    window = np.asarray(window)
    if window.dtype.kind == "f":  # (the in-memory map's dtype, for the comparison with ``above``)
        window = window.astype(np.float64 if window.dtype == np.float64 else np.float32, copy=False)
    if above is not None:
        values = window > above
    else:
        values = window != 0 if window.dtype.kind == "f" else window
    fg = values != 0
    batch = values.shape[0] if per_slice else 1
    core = (inner if per_slice else (slice(None),) + inner)
    axes = range(1, values.ndim) if per_slice else range(values.ndim)
    g = ~fg
    for ax in axes:
        hi = tuple(slice(1, None) if a == ax else slice(None) for a in range(values.ndim))
        lo = tuple(slice(None, -1) if a == ax else slice(None) for a in range(values.ndim))
        differ = values[hi] != values[lo]
        g[hi] |= differ
        g[lo] |= differ
    shaped = (lambda a: a) if per_slice else (lambda a: a[None])
    has_g = shaped(g)[core].reshape(batch, -1).any(axis=1)
    unsure = np.full(batch, -1.0)
    if not fg[inner].any():
        return 0, unsure, has_g
    metric = ndi.generate_binary_structure(values.ndim, 1)
    if per_slice:  # nothing along z
        metric = np.zeros((3, 3, 3), bool)
        metric[1] = ndi.generate_binary_structure(2, 1)
    dist = shaped(ndi.distance_transform_cdt(~g, metric=metric))[core].reshape(batch, -1)
    inside = shaped(fg)[core].reshape(batch, -1)
    finite = inside & (dist >= 0)
    sure = finite if whole else finite & (dist <= halo)
    exact = int(dist[sure].max()) + 1 if sure.any() else 0
    if not whole:
        doubt = inside & ~sure
        for b in np.flatnonzero(doubt.any(axis=1)):
            d = dist[b][doubt[b]]
            unsure[b] = np.inf if (d < 0).any() else float(d.max()) + 1
    return exact, unsure, has_g


def _soft_block(window: np.ndarray, inner, whole: bool, halo: int, per_slice: bool, K: int, t: float):
    """One window of the float rule (halo ``K + 2``): per image of the core's batch, ``max img_k`` and
    the masked ``max(skel_k + img_{k+1})`` for k = 1..K (:class:`ThresholdStop`'s NumPy arithmetic),
    ``min img_0``, and ``(min, max, finite, only 0 and 1)`` of the core."""
    import torch

    from . import _morphology as morph
    from ._soft_forward import _dense_forward

    window = np.asarray(window)
    window = window.astype(np.float64 if window.dtype == np.float64 else np.float32, copy=False)
    batch = window if per_slice else window[None]
    core = inner if per_slice else (slice(None),) + inner
    n = batch.shape[0]
    values = batch[core]
    finite = bool(np.isfinite(values).all())
    info = (float(values.min()), float(values.max()), finite, bool(np.all((values == 0) | (values == 1))))
    low = values.reshape(n, -1).min(axis=1)
    if not finite:  # (refused by the caller)
        empty = np.zeros((K, n), window.dtype)
        return empty, empty, low, info
    x = torch.from_numpy(np.array(batch, order="C"))
    first = morph.erode(x)
    tops: list[Any] = [first.numpy()[core].reshape(n, -1).max(axis=1)]
    reach: list[Any] = []

    def core_stats(skel, nxt):
        s = skel.numpy()[core].reshape(n, -1)
        m = nxt.numpy()[core].reshape(n, -1)
        r = np.add(s, m)
        np.putmask(r, s > t, -np.inf)
        return r.max(axis=1), m.max(axis=1)

    def record(skel, nxt) -> bool:
        r, m = core_stats(skel, nxt)
        reach.append(r)
        tops.append(m)
        return False

    skel, used = _dense_forward(x, K, stop=record)
    if used == 0:  # img_1 is constant here: nothing changes any more
        reach.append(core_stats(skel, first)[0])
    while len(reach) < K:  # the loop stopped: img and skel are final in this window (and its core)
        reach.append(reach[-1])
        tops.append(tops[-1])
    return np.array(tops[:K]), np.array(reach[:K]), low, info
