"""``soft-skeleton skeletonize in.zarr -o out.zarr``: a Zarr volume streamed chunk by chunk.

When both the input and the output are Zarr stores, the volume is never read
whole: :func:`napari_soft_skeleton._streaming.skeletonize_store` runs one
task per output chunk (read the chunk and its halo from the input store,
skeletonize, write), on dask's threads or on a dask.distributed cluster
(``--workers N`` starts a local one, ``--scheduler ADDRESS`` uses a running
one), with a progress bar; the output is an OME-Zarr image with the input's
calibration, written whole or not at all, and a killed run resumes where it
stopped.  Only what is exact chunk by chunk runs this way (the soft skeleton
with a number of iterations or ``auto``); anything else is refused with one
line.  Two passes over the input come first where needed: its distinct values
(a mask or labels?) and, for float input, its range; with ``--iterations
auto`` a third finds the count the in-memory run stops at
(:mod:`napari_soft_skeleton._chunked_auto`).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import warnings

import numpy as np

from ..io import InputError
from ..io._errors import one_line
from ..io._paths import ZARR_EXTENSIONS, match_extension
from ._calibration import flush_notes, spacing_text
from ._common import EXIT_OK, ProgressBar, check_output, format_shape, isatty, read_image, writing


#: The least memory a --workers process is given (it holds Python, NumPy, torch and a task or two).
MIN_WORKER_MEMORY = 500 * 10**6


def streams(args: argparse.Namespace) -> bool:
    """Does this run stream (a Zarr store in, a Zarr store out)?"""
    return (match_extension(args.input, ZARR_EXTENSIONS) is not None
            and match_extension(args.output, ZARR_EXTENSIONS) is not None)


@contextlib.contextmanager
def _cluster(args: argparse.Namespace):
    """A dask.distributed client for ``--scheduler`` / ``--workers`` (none without them), closed after."""
    if args.scheduler is None and args.workers is None:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("--workers and --scheduler need dask.distributed: pip install distributed") from None
    if args.scheduler is not None:
        try:
            client = Client(args.scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the dask scheduler at {args.scheduler!r}: {one_line(exc)}") from None
        with client:
            yield client
        return
    limit = "auto" if args.memory_limit is None else args.memory_limit // args.workers
    if limit != "auto" and limit < MIN_WORKER_MEMORY:
        raise InputError(f"--memory-limit {args.memory_limit / 1e6:.0f}MB gives each of the {args.workers} workers "
                         f"{limit / 1e6:.0f} MB; a worker process needs {MIN_WORKER_MEMORY / 1e6:.0f} MB at least "
                         "(Python with NumPy and torch): raise the limit or start fewer workers")
    import logging

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      memory_limit=limit, silence_logs=logging.ERROR) \
            as cluster, Client(cluster) as client:
        yield client


def run(args: argparse.Namespace) -> int:
    import dask.array as da

    from .._streaming import skeletonize_store

    check_output(args.output, [args.input])
    if args.method not in ("soft", "topological"):
        raise InputError(
            f"--method {args.method} cannot stream a Zarr volume chunk by chunk (scikit-image's thinning "
            "cannot be split exactly; soft and topological can); write the output as .tif/.npy to compute "
            "it in memory"
        )
    if args.fill_holes and args.per_slice:
        raise InputError("--fill-holes with --per-slice cannot stream a Zarr volume yet; write the output as "
                         ".tif/.npy")
    if args.method == "topological" and args.per_slice:
        raise InputError("--per-slice cannot stream the topological skeleton of a Zarr volume yet; write the "
                         "output as .tif/.npy")
    volume = read_image(args.input, "input", spacing=args.spacing, unit=args.unit, lazy=True,
                        series=args.series, channel=args.channel)
    data, spacing = volume
    source = _zarr_array(data)
    if tuple(source.shape) != tuple(data.shape):
        raise InputError(f"'{args.input}' has more axes than its image ({source.shape}, a channel or time "
                         "axis): streaming needs a single-channel 2D/3D Zarr image")
    kind = data.dtype.kind
    as_mask, rescale = False, None
    threshold = None if args.no_threshold else (args.threshold if args.threshold is not None else 0.5)
    if kind in "iu" and not args.normalize:
        as_mask = da.unique(data).compute().size <= 2  # (per chunk, then combined: as many values as labels)
    if args.normalize or kind == "f":
        lo, hi = (float(v) for v in da.compute(data.min(), data.max()))
        if args.normalize:
            rescale = (lo, hi)
        elif lo < 0 or hi > 1:
            raise InputError(f"input '{args.input}' has values in [{lo:g}, {hi:g}], not a probability map in "
                             "[0, 1]; add --normalize to rescale an intensity image")
    if as_mask or kind == "b":
        out_dtype = np.dtype(bool)
    elif kind in "iu" and rescale is None:
        out_dtype = data.dtype
    else:
        out_dtype = np.dtype(np.float64 if data.dtype == np.float64 else np.float32) if threshold is None \
            else np.dtype(bool)

    if args.fill_holes and args.method == "soft" and (kind == "f" or rescale is not None):
        raise InputError("--fill-holes cannot stream the soft skeleton of a probability or intensity map yet "
                         "(a mask or label image can); write the output as .tif/.npy")
    if args.method == "topological":
        return _topological(args, volume, source, as_mask=as_mask or kind == "b", threshold=threshold)
    bar = ProgressBar(enabled=not args.quiet and isatty(sys.stderr), desc="soft, by chunks")
    start = time.perf_counter()
    report: dict = {}  # (the count --iterations auto resolved to)
    try:
        with _cluster(args), writing(args.output):
            computed = skeletonize_store(
                source, args.input, args.output, iterations=args.iterations, threshold=threshold,
                per_slice=args.per_slice, device=None if args.device == "auto" else args.device,
                as_mask=as_mask, rescale=rescale, out_dtype=out_dtype, spacing=spacing,
                unit=volume.unit if spacing is not None else None, progress=bar, report=report,
                fill_holes=args.fill_holes, levels=args.levels, zarr_format=args.zarr_format)
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    stored, count, where = _written(args, volume, f"'{args.input}' has no foreground above the threshold")
    what = "nonzero voxels (soft values)" if stored.dtype.kind == "f" else "skeleton voxels"
    chunks = stored.npartitions
    resumed = f" ({chunks - computed} were done before: resumed)" if computed < chunks else ""
    print(f"{args.output}: shape {format_shape(stored.shape)} {stored.dtype}{where}, {count} {what}, "
          f"{report.get('iterations', args.iterations)} iterations{' (auto)' if args.iterations == 'auto' else ''}, "
          f"{chunks} chunks{resumed}, {seconds:.2f} s")
    return EXIT_OK


def _topological(args: argparse.Namespace, volume, source, *, as_mask: bool, threshold) -> int:
    """The topological skeleton streamed (:func:`napari_soft_skeleton._streaming_thin.thin_to_store`)."""
    import os

    import dask.array as da

    from .._streaming_thin import thin_to_store

    data, spacing = volume
    kind = data.dtype.kind
    if kind == "f" and threshold is None:
        raise InputError("--no-threshold needs --method soft: the topological skeleton thins a mask")
    labels = kind in "iu" and not as_mask
    if labels and kind == "i" and int(da.min(data).compute()) < 0:
        raise InputError(f"'{args.input}' has negative values: label images must be non-negative (0 is background)")
    out_dtype = data.dtype if labels else np.dtype(bool)
    bar = ProgressBar(enabled=not args.quiet and isatty(sys.stderr), desc="topological: thinning")

    def phase(name: str) -> None:
        bar.close()
        bar.desc, bar.bar = f"topological: {name}", None

    threads = args.workers or os.cpu_count() or 1
    start = time.perf_counter()
    try:
        with _cluster(args), writing(args.output):
            stats = thin_to_store(
                source, args.input, args.output, threshold=threshold, as_mask=not labels, labels=labels,
                spurs="keep" if args.keep_spurs else "prune", out_dtype=out_dtype, spacing=spacing,
                unit=volume.unit if spacing is not None else None, fill_holes=args.fill_holes,
                memory_limit=args.memory_limit, threads=threads, progress=bar, phase=phase, levels=args.levels,
                zarr_format=args.zarr_format)
    finally:
        bar.close()
    from .._fill import warn_absorbed

    warn_absorbed(stats["absorbed"], stacklevel=1)
    seconds = time.perf_counter() - start
    stored, count, where = _written(args, volume, f"'{args.input}' has no foreground")
    resumed = f" ({stats['chunks'] - stats['written']} were done before: resumed)" \
        if stats["written"] < stats["chunks"] else ""
    pruned = f", {stats['pruned']} spur voxels pruned" if not args.keep_spurs else ", spurs kept"
    print(f"{args.output}: shape {format_shape(stored.shape)} {stored.dtype}{where}, {count} skeleton voxels, "
          f"{stats['sweeps']} sweeps{pruned}, {stats['chunks']} chunks{resumed}, {seconds:.2f} s")
    return EXIT_OK


def _written(args: argparse.Namespace, volume, empty: str):
    """``(stored, count, where)``: the output's level 0 (a dask array), its nonzero voxels (a warning that the
    skeleton is empty, and why: ``empty``, when none) and its spacing for the summary line."""
    import dask.array as da

    stored = da.from_zarr(str(args.output), component="0")
    count = int(da.count_nonzero(stored).compute())
    if count == 0:
        warnings.warn(f"the skeleton is empty: {empty}", stacklevel=2)
    flush_notes()
    spacing = volume.spacing
    where = f", spacing {spacing_text(spacing, volume.unit, stored.ndim)}" if spacing is not None else ""
    return stored, count, where


def _zarr_array(data):
    """The zarr array behind a dask array read from a store (its single source), for tasks that read it."""
    import zarr

    for layer in data.dask.layers.values():
        for value in (getattr(layer, "mapping", None) or {}).values():
            if isinstance(value, zarr.Array):
                return value
    graph = dict(data.__dask_graph__())
    for value in graph.values():
        if isinstance(value, zarr.Array):
            return value
    raise InputError("the input is not a plain Zarr array")
