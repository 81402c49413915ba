"""``soft-skeleton skeletonize in.zarr -o out.zarr``: a Zarr volume streamed chunk by chunk.

When both the input and the output are Zarr stores, the volume is never read
whole: the library's lazy path (:mod:`napari_soft_skeleton._chunked`) makes
a dask array of the skeleton, chunk by chunk with an exact halo, and
:func:`~napari_soft_skeleton.io.write_volume` computes and stores it chunk by
chunk into an OME-Zarr image with the input's calibration, showing progress.
Only what is exact chunk by chunk runs this way (the soft skeleton with a
number of iterations); anything else is refused with one line.  The output
is written whole or not at all (a temporary store renamed into place).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import warnings

import numpy as np

from ..io import InputError, write_volume
from ..io._errors import one_line
from ..io._paths import ZARR_EXTENSIONS, match_extension
from ._calibration import flush_notes, spacing_text
from ._common import EXIT_OK, ProgressBar, check_output, format_shape, isatty, library_function, read_image, writing


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
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) \
            as cluster, Client(cluster) as client:
        yield client


def run(args: argparse.Namespace) -> int:
    import dask.array as da

    check_output(args.output, [args.input])
    if args.method != "soft":
        raise InputError(
            f"--method {args.method} cannot stream a Zarr volume chunk by chunk yet (only soft is exact "
            "by chunks); write the output as .tif/.npy to compute it in memory"
        )
    if args.iterations == "auto":
        raise InputError("--iterations auto cannot stream a Zarr volume (the halo must be known first); "
                         "give a number of iterations")
    if args.fill_holes:
        raise InputError("--fill-holes cannot stream a Zarr volume yet; write the output as .tif/.npy")
    volume = read_image(args.input, "input", spacing=args.spacing, unit=args.unit, lazy=True,
                        series=args.series, channel=args.channel)
    data, spacing = volume
    if data.dtype.kind in "iu":
        if args.normalize:
            data = data.astype(np.float32)
        elif da.unique(data).compute().size <= 2:  # (per chunk, then combined: as many values as labels)
            data = data != 0
    skeletonize = library_function("skeletonize", "skeletonize")
    kwargs = dict(iterations=args.iterations, per_slice=args.per_slice, normalize=args.normalize,
                  device=None if args.device == "auto" else args.device)
    if args.no_threshold:
        kwargs["threshold"] = None
    elif args.threshold is not None:
        kwargs["threshold"] = args.threshold
    lazy = skeletonize(data, "soft", **kwargs)

    bar = ProgressBar(enabled=not args.quiet and isatty(sys.stderr), desc="soft, by chunks")
    start = time.perf_counter()
    try:
        with _cluster(args), writing(args.output):
            write_volume(args.output, lazy, spacing=spacing, unit=volume.unit if spacing is not None else None,
                         progress=bar)
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    stored = da.from_zarr(str(args.output), component="0")
    count = int(da.count_nonzero(stored).compute())
    if count == 0:
        warnings.warn(f"the skeleton is empty: '{args.input}' has no foreground above the threshold", stacklevel=1)
    flush_notes()
    where = f", spacing {spacing_text(spacing, volume.unit, lazy.ndim)}" if spacing is not None else ""
    what = "nonzero voxels (soft values)" if lazy.dtype.kind == "f" else "skeleton voxels"
    print(f"{args.output}: shape {format_shape(lazy.shape)} {lazy.dtype}{where}, {count} {what}, "
          f"{args.iterations} iterations, {lazy.npartitions} chunks, {seconds:.2f} s")
    return EXIT_OK
