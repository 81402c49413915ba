"""Lower resolution levels (a multiscale pyramid) for a one-level OME-Zarr image.

:func:`add_levels` adds levels ``"1"``, ``"2"``... to an image written by
:func:`~napari_soft_skeleton.io.write_volume` (or any one-level OME-Zarr
image with 2 or 3 space axes, Zarr v2 or v3), so that napari and other
viewers show a big volume at every zoom without reading level 0 whole.

Which axes are halved (per level, from the previous level): every axis
longer than one voxel whose spacing is within a factor √2 of the finest
spacing among those axes.  An isotropic volume is halved in z, y and x at
every level; a volume with z spacing 4× y/x is halved in y and x only until
they catch up with z (levels 1 and 2), then in all three: each level is as
close to isotropic voxels as 2× steps allow (what Neuroglancer /
igneous-style pyramids do; ome-zarr-py's default halves y and x only).
Uncalibrated images count as isotropic.

How many: ``levels=None`` adds levels until no axis is longer than
:data:`MAX_EDGE` (256) voxels — a level napari reads whole at a glance —
and at most :data:`MAX_LEVELS` (9: paths ``"0"`` to ``"9"``, which
napari's built-in Zarr reader orders as text); ``levels=N`` adds N (fewer
when every axis is down to one voxel).

How (``method``), each output voxel from its 2× block of the level above:

* ``"max"`` (the default for every dtype): skeletons are one voxel thin, so
  a mean or a subsample would break lines up and drop branches at coarse
  levels; the maximum keeps every line visible at every level.  For a label
  image the maximum keeps each label's skeleton visible too (where two
  labels share a block the larger id shows); the mode would pick the
  background, which fills most blocks of a skeleton, and erase it.  For a
  float map (soft skeleton values) the maximum keeps the ridge's value.
* ``"mean"``: the mean of the block's voxels (an intensity image); rounded
  to the nearest integer for integer data; not for bool masks.
* ``"nearest"``: the block's first voxel (a subsample, like ome-zarr-py's
  default for labels).

Metadata: each level's ``coordinateTransformations`` are the level-0
``scale`` times the level's cumulative factor, and a ``translation`` of
``(factor - 1) / 2`` level-0 voxels (plus level 0's own translation), the
NGFF placement of a block's centre; the multiscale's ``type`` is the method.

Memory and order: each level is computed from the one above as stored, one
task per output chunk (its 2× block of the level above: at most 2³ chunks
read), run by :func:`._zarr.compute_tasks` (dask threads, or the active
dask.distributed client).  Crash safety: the new arrays are written into
the store first and the multiscale metadata is updated last (zarr replaces
the attributes file in one rename), so an interrupted run leaves the old,
valid one-level image (its stray arrays are replaced by the next run).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import InputError, display
from ._zarr_region import chunk_regions
from ._zarr import _attributes, _open, _scale, compute_tasks, create_level, put_multiscale, read_zarr
from ._zarr_region import read_region

MAX_EDGE = 256
MAX_LEVELS = 9
METHODS = ("max", "mean", "nearest")


def level_factors(
    shape: tuple[int, ...], spacing: tuple[float, ...] | None, levels: int | None = None
) -> list[tuple[int, ...]]:
    """The factor (1 or 2) per axis of each level to add, relative to the level above (module docstring)."""
    shape = [int(n) for n in shape]
    current = [float(s) for s in spacing] if spacing is not None else [1.0] * len(shape)
    wanted = MAX_LEVELS if levels is None else levels
    factors: list[tuple[int, ...]] = []
    while len(factors) < wanted:
        if levels is None and max(shape) <= MAX_EDGE:
            break
        live = [i for i, n in enumerate(shape) if n > 1]
        if not live:
            break
        finest = min(current[i] for i in live)
        step = tuple(2 if n > 1 and s <= math.sqrt(2) * finest else 1 for n, s in zip(shape, current))
        factors.append(step)
        shape = [-(-n // f) for n, f in zip(shape, step)]
        current = [s * f for s, f in zip(current, step)]
    return factors


def downsample(block: np.ndarray, factors: tuple[int, ...], method: str = "max") -> np.ndarray:
    """``block`` reduced by ``factors`` per axis: each output voxel from its block of input voxels (the
    last block of an axis of odd length is shorter); ``method``: ``"max"``, ``"mean"`` or ``"nearest"``."""
    if method == "nearest":
        return np.ascontiguousarray(block[tuple(slice(None, None, f) for f in factors)])
    pad = [(0, -n % f) for n, f in zip(block.shape, factors)]
    out_shape = [-(-n // f) for n, f in zip(block.shape, factors)]
    split = [v for n, f in zip(out_shape, factors) for v in (n, f)]
    inner = tuple(range(1, 2 * block.ndim, 2))
    if method == "max":
        padded = np.pad(block, pad, mode="edge") if any(p for _, p in pad) else block
        return padded.reshape(split).max(axis=inner)
    # (8- and 16-bit sums of at most 2³ voxels are exact in float32, and so are their means: counts are 2^k)
    work = np.float32 if block.dtype.kind in "iu" and block.dtype.itemsize <= 2 else np.float64
    sums = np.pad(block.astype(work), pad).reshape(split).sum(axis=inner)
    counts = np.ones((), work)
    for n, f in zip(block.shape, factors):  # voxels per block along each axis (the last may be short)
        sizes = np.minimum(f, n - np.arange(0, n, f)).astype(work)
        counts = np.multiply.outer(counts, sizes)
    mean = sums / counts
    if block.dtype.kind in "iu":
        mean = np.rint(mean)
    return mean.astype(block.dtype)


def _level_task(source: Any, target: Any, region: tuple[slice, ...], factors: tuple[int, ...], method: str,
                shown: str) -> int:
    above = tuple(slice(r.start * f, min(r.stop * f, n)) for r, f, n in zip(region, factors, source.shape))
    target[region] = downsample(read_region(source, above, shown), factors, method)
    return 1


def _translation(transforms: object, ndim: int) -> list[float]:
    offset = [0.0] * ndim
    for transform in transforms if isinstance(transforms, list) else []:
        if isinstance(transform, dict) and transform.get("type") == "translation":
            values = transform.get("translation")
            if isinstance(values, list) and len(values) == ndim:
                offset = [o + float(v) for o, v in zip(offset, values)]
    return offset


def _check(levels: object, method: object, dtype: np.dtype, shown: str) -> str:
    if levels is not None and (isinstance(levels, bool) or not isinstance(levels, int)
                               or not 0 <= levels <= MAX_LEVELS):
        raise InputError(f"levels must be a whole number from 0 to {MAX_LEVELS} (or None: automatic), "
                         f"got {levels!r}")
    method = "max" if method is None else method
    if method not in METHODS:
        raise InputError(f"unknown downsampling method {method!r}; expected one of: {', '.join(METHODS)}")
    if method == "mean" and dtype.kind == "b":
        raise InputError(f"cannot add levels to '{shown}': method 'mean' needs numeric data, the image is a "
                         "bool mask (use 'max')")
    return method


def add_levels(
    path: str | os.PathLike, *, levels: int | None = None, method: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Add lower resolution levels to the one-level OME-Zarr image at ``path`` (module docstring: which
    axes, how many, how), chunk by chunk, with ``progress(done, total)`` as chunks are stored; returns the
    number of levels added (0 when level 0 is already small enough, or ``levels=0``).

    Bad input (a path that is not a one-level OME-Zarr image of 2 or 3 space axes, a bad ``levels`` or
    ``method``, a damaged chunk) raises a one-line :class:`InputError` and leaves the image as it was."""
    import dask
    import zarr

    shown = display(path)
    p = Path(path)
    try:
        volume = read_zarr(p, shown, series=None, channel=None, option_names=None, lazy=True)  # (checks it)
    except InputError as exc:
        if exc.option is None:
            raise
        raise InputError(f"cannot add levels to '{shown}': only single images with 2 or 3 space axes are "
                         f"supported ({exc})") from None
    root = _open(p, shown)
    attrs = _attributes(root) if isinstance(root, zarr.Group) else {}
    if "multiscales" not in attrs:
        raise InputError(f"cannot add levels to '{shown}': not an OME-Zarr image (a plain Zarr array)")
    multiscale = dict(attrs["multiscales"][0])
    if root.metadata.zarr_format == 2 and multiscale.get("version") != "0.4":
        raise InputError(f"cannot add levels to '{shown}': it is OME-Zarr {multiscale.get('version')}; levels "
                         "are added to OME-Zarr 0.4 (Zarr v2) and 0.5 (Zarr v3) images")
    datasets = multiscale["datasets"]
    if len(datasets) != 1:
        raise InputError(f"cannot add levels to '{shown}': it has {len(datasets)} resolution levels already")
    root = zarr.open_group(store=str(p), mode="r+")
    base = root[str(datasets[0]["path"])]
    if base.ndim != volume.array.ndim or base.ndim not in (2, 3):
        raise InputError(f"cannot add levels to '{shown}': only images with 2 or 3 space axes (and no channel "
                         f"or time axis) are supported, its array has shape {tuple(base.shape)}")
    method = _check(levels, method, base.dtype, shown)
    steps = level_factors(base.shape, volume.spacing, levels)
    names = [str(k) for k in range(1, len(steps) + 1)]
    if str(datasets[0]["path"]) in names:
        raise InputError(f"cannot add levels to '{shown}': its level 0 is named '{datasets[0]['path']}'")
    shapes, chunks = [tuple(base.shape)], []
    for step in steps:
        shapes.append(tuple(-(-n // f) for n, f in zip(shapes[-1], step)))
        chunks.append(tuple(min(c, n) for c, n in zip(base.chunks, shapes[-1])))
    total = sum(len(chunk_regions(s, c)) for s, c in zip(shapes[1:], chunks))
    done = 0
    if progress is not None and total:
        progress(0, total)
    scale = _scale(datasets[0].get("coordinateTransformations"), base.ndim, shown)
    offset = _translation(datasets[0].get("coordinateTransformations"), base.ndim)
    source, cumulative, new = base, [1] * base.ndim, [datasets[0]]
    for name, step, shape, chunk in zip(names, steps, shapes[1:], chunks):
        target = create_level(root, name, shape, base.dtype, chunk)
        tasks = [dask.delayed(_level_task, pure=False)(source, target, r, step, method, shown)
                 for r in chunk_regions(shape, chunk)]
        compute_tasks(tasks, progress, done, total)
        done += len(tasks)
        cumulative = [c * f for c, f in zip(cumulative, step)]
        new.append({"path": name, "coordinateTransformations": [
            {"type": "scale", "scale": [s * c for s, c in zip(scale, cumulative)]},
            {"type": "translation",
             "translation": [o + s * (c - 1) / 2 for o, s, c in zip(offset, scale, cumulative)]},
        ]})
        source = target
    if steps:  # (last: the store stays a valid one-level image until here)
        multiscale.update(datasets=new, type=method,
                          metadata={"description": f"2x blocks reduced with {method} (napari-soft-skeleton)"})
        put_multiscale(root, multiscale)
    return len(steps)
