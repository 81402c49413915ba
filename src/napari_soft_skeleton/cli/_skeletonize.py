"""``soft-skeleton skeletonize INPUT -o OUTPUT``."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from typing import Any

import numpy as np

from ..io import InputError, write_volume
from ..io._paths import ZARR_EXTENSIONS, match_extension
from ._calibration import flush_notes, spacing_text
from ._common import (
    EXIT_OK,
    ProgressBar,
    check_output,
    format_shape,
    isatty,
    library_function,
    read_image,
    writing,
)


def _as_library_input(data: np.ndarray, args: argparse.Namespace) -> np.ndarray:
    """Integer images: labels, a mask (one nonzero value) or, with --normalize, intensities."""
    if data.dtype.kind not in "iu":
        return data
    if args.normalize:
        # an intensity or probability image stored as integers (e.g. uint8 0-255): rescaled by the library
        return data.astype(np.float32)
    # integer images are label images for the library (each label on its own, ids kept);
    # one with a single nonzero value is a mask
    values = np.unique(data)
    nonzero = values[values != 0]
    if nonzero.size <= 1:
        return data != 0
    if args.no_threshold:
        raise InputError(
            f"--no-threshold needs a mask or probability map, but '{args.input}' is read as a label "
            f"image with {nonzero.size} labels (add --normalize if it is an intensity or probability image)"
        )
    warnings.warn(
        f"'{args.input}' is read as a label image with {nonzero.size} labels, each skeletonized on "
        "its own; add --normalize if it is an intensity or probability image",
        stacklevel=1,
    )
    return data


def run(args: argparse.Namespace) -> int:
    from . import _stream

    if args.keep_spurs and args.method != "topological":
        raise InputError(f"--keep-spurs applies to --method topological, not {args.method}")
    if _stream.streams(args):  # a Zarr store in and out: chunk by chunk, never whole
        return _stream.run(args)
    if args.workers is not None or args.scheduler is not None:
        raise InputError("--workers and --scheduler apply when both INPUT and OUTPUT are Zarr stores (.zarr)")
    if args.memory_limit is not None:
        raise InputError("--memory-limit applies when both INPUT and OUTPUT are Zarr stores (.zarr); "
                         "in memory the whole volume is loaded")
    check_output(args.output, [args.input])
    volume = read_image(args.input, "input", spacing=args.spacing, unit=args.unit,
                        series=args.series, channel=args.channel)
    data, spacing = volume
    data = _as_library_input(data, args)

    skeletonize = library_function("skeletonize", "skeletonize")
    kwargs: dict[str, Any] = dict(
        method=args.method,
        iterations=args.iterations,
        per_slice=args.per_slice,
        spacing=spacing,
        device=None if args.device == "auto" else args.device,
        normalize=args.normalize,
        return_iterations=True,
        fill_holes=args.fill_holes,
    )
    if args.method == "topological":
        kwargs["spurs"] = "keep" if args.keep_spurs else "prune"
    if args.no_threshold:
        kwargs["threshold"] = None
    elif args.threshold is not None:
        kwargs["threshold"] = args.threshold

    bar = ProgressBar(enabled=not args.quiet and isatty(sys.stderr), desc=args.method)
    start = time.perf_counter()
    try:
        result, iterations_used = skeletonize(data, progress=bar, **kwargs)
    finally:
        bar.close()
    seconds = time.perf_counter() - start

    result = np.asarray(result)
    with writing(args.output):
        keep = spacing is not None and len(spacing) == result.ndim
        zarr_out = match_extension(args.output, ZARR_EXTENSIONS) is not None
        write_volume(args.output, result, spacing=spacing if keep else None, unit=volume.unit if keep else None,
                     format=volume.format, **({"zarr_format": args.zarr_format} if zarr_out else {}))
        if zarr_out and args.levels != 0:
            from ..io._pyramid import add_levels

            add_levels(args.output, levels=args.levels)  # (the metadata last: a crash leaves level 0 alone)

    if result.dtype.kind == "f" and not np.isin(result, (0, 1)).all():
        count = f"{int(np.count_nonzero(result))} nonzero voxels (soft values)"
    else:
        count = f"{int(np.count_nonzero(result))} skeleton voxels"
    threshold = kwargs.get("threshold", 0.5)
    if not np.any(result):
        if data.dtype.kind == "f" and threshold is not None:
            why = f"no value of '{args.input}' lies above --threshold {threshold:g}"
            why += f" (values in [{data.min():g}, {data.max():g}]{', before --normalize' if args.normalize else ''})"
        else:
            why = f"'{args.input}' has no foreground"
        warnings.warn(f"the skeleton is empty: {why}", stacklevel=1)
    iters = "iterations n/a" if iterations_used is None else f"{iterations_used} iterations"
    flush_notes()
    where = f", spacing {spacing_text(spacing, volume.unit, result.ndim)}" if spacing is not None else ""
    print(f"{args.output}: shape {format_shape(result.shape)} {result.dtype}{where}, {count}, {iters}, "
          f"{seconds:.2f} s")
    return EXIT_OK
