"""``soft-skeleton demo``: napari on a sample, or the command-line job on it without a display."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..io import write_volume
from ._common import UsageError


def has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(args: argparse.Namespace) -> int:
    """napari with the widgets, or the command-line job on the sample."""
    from ..samples import list_samples, load_sample, samples_dir
    from . import main

    if args.sample not in list_samples():
        raise UsageError(f"unknown sample {args.sample!r}; expected one of {', '.join(list_samples())}")
    if has_display() and not args.no_gui:
        try:
            from .._napari._launch import open_viewer
        except ImportError as exc:
            raise UsageError(f"napari is not installed ({exc}); install 'napari-soft-skeleton[napari]'") from exc
        print(f"opening napari on the {args.sample} sample with the soft, reference, compare and explorer widgets")
        open_viewer(args.sample)
        return 0
    if not args.no_gui:
        print("no display found: running the command line on the sample instead")
    sample = load_sample(args.sample)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = args.sample
    source = out / f"{name}_mask.tif"
    write_volume(source, sample.mask, spacing=sample.spacing, unit=getattr(sample, "unit", None))
    soft, lee, topo = (out / f"{name}_{m}.tif" for m in ("soft", "lee", "topological"))
    quiet = ["-q"] if args.quiet else []
    steps = [
        ["skeletonize", str(source), "-o", str(soft), "--iterations", "auto", *quiet],
        ["skeletonize", str(source), "-o", str(lee), "--method", "lee", *quiet],
        ["skeletonize", str(source), "-o", str(topo), "--method", "topological", *quiet],
        ["compare", str(lee), str(soft), str(topo), "--json", str(out / f"{name}_compare.json"),
         "--figure", str(out / f"{name}_compare.png")],
    ]
    for step in steps:
        print("$ soft-skeleton " + " ".join(step))
        code = main(step)
        if code:
            return code
    print(f"sample from {samples_dir()}; results written to {out.resolve()}/: "
          f"{soft.name}, {lee.name}, {topo.name}, {name}_compare.json/.png "
          "(Lee as the reference, soft and topological side by side)")
    return 0
