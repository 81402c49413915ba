"""``soft-skeleton graph INPUT``: branches, junctions, end points and cable length; CSV, SWC, GraphML."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..io import InputError
from . import _lazy
from ._calibration import flush_notes, length_unit, spacing_text
from ._common import (
    EXIT_OK,
    ProgressBar,
    check_output,
    format_shape,
    isatty,
    library_function,
    read_image,
    same_file,
    writing,
)

#: --flag, the args attribute, what it holds, the extensions it accepts.
OUTPUTS = (
    ("--csv", "csv_path", "branches CSV", (".csv",)),
    ("--summary-csv", "summary_csv_path", "summary CSV", (".csv",)),
    ("--swc", "swc_path", "SWC", (".swc",)),
    ("--graphml", "graphml_path", "GraphML", (".graphml", ".xml")),
)
DEFAULT_METHOD = "topological"


def _outputs(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """``(flag, path, kind)`` of the requested files, checked before any work."""
    chosen = []
    for flag, attr, kind, extensions in OUTPUTS:
        path = getattr(args, attr, None)
        if path is None:
            continue
        check_output(path, [args.input], extensions=extensions)
        for other_flag, other_path, _ in chosen:
            if same_file(path, other_path):
                raise InputError(f"{other_flag} and {flag} name the same file '{path}'")
        chosen.append((flag, path, kind))
    return chosen


def _as_graph_input(data: np.ndarray, path: str) -> np.ndarray:
    """A boolean mask/skeleton, or integer labels (several nonzero values)."""
    if data.dtype.kind == "b":
        return data
    if data.dtype.kind == "f":
        if not np.isin(data, (0, 1)).all():
            raise InputError(
                f"'{path}' has floating-point values other than 0 and 1: graph needs a skeleton, a mask or a "
                "label image (binarize a probability map first, e.g. skeletonize --threshold 0.5)"
            )
        return data != 0
    values = np.unique(data)
    if values.size and values[0] < 0:
        raise InputError(f"'{path}' has negative values; a label image must be non-negative (0 is background)")
    return data != 0 if values[values != 0].size <= 1 else data


def _skeleton(data: np.ndarray, spacing, args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray | None, str | None]:
    """The skeleton, the mask it came from (None when the input already is one) and the method used."""
    from ..metrics import THICK_FRACTION, interior_fraction

    method = args.method or DEFAULT_METHOD
    if interior_fraction(data != 0) < THICK_FRACTION:
        if args.method is not None or args.fill_holes:
            flags = " and ".join(f for f, on in (("--method", args.method), ("--fill-holes", args.fill_holes)) if on)
            warnings.warn(f"'{args.input}' already looks like a skeleton (almost no interior voxels), so it is "
                          f"used as is and {flags} {'has' if ' and ' not in flags else 'have'} no effect",
                          stacklevel=1)
        if args.prune_radius is not None:
            raise InputError(
                f"--prune-radius needs radii, which come from a mask, but '{args.input}' is already a skeleton; "
                "use --prune LENGTH, or give the mask"
            )
        return data, None, None
    skeletonize = library_function("skeletonize", "skeletonize")
    kwargs: dict[str, Any] = dict(method=method, spacing=spacing)
    if method == "soft":
        kwargs["iterations"] = "auto"
    if args.fill_holes:
        kwargs["fill_holes"] = True
    bar = ProgressBar(enabled=not args.quiet and isatty(sys.stderr), desc=method)
    try:
        skel = skeletonize(data, progress=bar, **kwargs)
    finally:
        bar.close()
    return np.asarray(skel), data, method


def _render(graph, outputs) -> list[tuple[str, bytes]]:
    """Every requested file's bytes, made in memory (a scratch folder for SWC and GraphML) before any is written."""
    from ..graph._export import csv_text

    rendered = []
    with tempfile.TemporaryDirectory(prefix="soft-skeleton-graph-") as scratch:
        for flag, path, _ in outputs:
            if flag == "--csv":
                data = csv_text(graph, "branches").encode("utf-8")
            elif flag == "--summary-csv":
                data = csv_text(graph, "summary").encode("utf-8")
            else:
                tmp = Path(scratch) / f"graph{Path(path).suffix}"
                (graph.to_swc if flag == "--swc" else graph.to_graphml)(tmp)
                data = tmp.read_bytes()
            rendered.append((path, data))
    return rendered


def _write_all(rendered: list[tuple[str, bytes]]) -> None:
    """All files or none: each goes to a temporary file next to it, renamed into place once all are written."""
    from ..io._atomic import atomic_file

    with contextlib.ExitStack() as stack:
        for path, data in rendered:
            stack.enter_context(writing(path))
            stack.enter_context(atomic_file(path)).write(data)


def _mean_radius(graph) -> float | None:
    if not graph.has_radius or graph.branches.empty:
        return None
    b = graph.branches
    weights = b["length"].to_numpy(float)
    radii = b["radius_mean"].to_numpy(float)
    ok = np.isfinite(radii)
    if not ok.any():
        return None
    if weights[ok].sum() > 0:
        return float(np.average(radii[ok], weights=weights[ok]))
    return float(radii[ok].mean())


def summarize(graph) -> dict[str, Any]:
    kinds = graph.nodes["kind"]
    return {
        "objects": int(len(graph.summary)),
        "branches": int(len(graph.branches)),
        "junctions": int((kinds == "junction").sum()),
        "end_points": int((kinds == "end").sum()),
        "loops": int(graph.summary["n_loops"].sum()) if len(graph.summary) else 0,
        "cable_length": float(graph.summary["length"].sum()) if len(graph.summary) else 0.0,
        "mean_radius": _mean_radius(graph),
    }


def format_table(info: dict[str, Any]) -> str:
    unit = info["unit"]
    lines = [f"input: {info['input']} (shape {format_shape(info['shape'])})"]
    if info["method"]:
        how = f"skeletonized with --method {info['method']}" + (" after --fill-holes" if info["fill_holes"] else "")
    else:
        how = "used as a skeleton (it has almost no interior voxels)"
    lines.append(f"skeleton: {how}")
    spacing = info["spacing"]
    lines.append(f"spacing: {spacing_text(spacing, info.get('spacing_unit'), len(info['shape']))}")
    if info["pruned"]:
        p = info["pruned"]
        rule = (f"shorter than {p['min_length']:g} {unit}" if p["min_length"] is not None
                else f"shorter than {p['radius_factor']:g} x the radius at their junction")
        lines.append(f"pruned: terminal branches {rule} ({p['branches_removed']} branches removed)")
    s = info["summary"]
    radius = s["mean_radius"]
    rows = [
        ("objects", str(s["objects"])),
        ("branches", str(s["branches"])),
        ("junctions", str(s["junctions"])),
        ("end points", str(s["end_points"])),
        ("loops", str(s["loops"])),
        (f"cable length ({unit})", f"{s['cable_length']:.1f}"),
        (f"mean radius ({unit})", "n/a (no mask)" if radius is None else f"{radius:.2f}"),
    ]
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    lines.append("")
    lines.extend(f"{name:<{width}}  {value:>{value_width}}" for name, value in rows)
    if info["outputs"]:
        lines.append("")
        lines.extend(f"wrote {kind}: {path}" for kind, path in info["outputs"])
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    outputs = _outputs(args)
    volume = read_image(args.input, "input", spacing=args.spacing, unit=args.unit,
                        series=args.series, channel=args.channel, lazy=True)
    data, spacing = volume
    unit = volume.unit if spacing is not None else None
    if _lazy.is_lazy(data):  # a .zarr, read chunk by chunk: a skeleton's coordinates (cli/_lazy.py)
        data, coords = _lazy.graph_input(data, args.input, args)
    else:
        data = _as_graph_input(data, args.input)
        if not np.any(data):
            warnings.warn(f"'{args.input}' has no foreground: the graph is empty", stacklevel=1)

    start = time.perf_counter()
    if _lazy.is_lazy(data):
        skel, mask, method = data, None, None
        graph = _lazy.lazy_graph(skel, coords, spacing, unit)
    else:
        skel, mask, method = _skeleton(data, spacing, args)
        skeleton_graph = library_function("skeleton_graph", "graph")
        graph = skeleton_graph(skel, spacing=spacing, mask=mask, unit=unit)
    pruned = None
    if args.prune is not None or args.prune_radius is not None:
        before = len(graph.branches)
        graph = graph.prune(args.prune, radius_factor=args.prune_radius)
        pruned = {"min_length": args.prune, "radius_factor": args.prune_radius,
                  "branches_removed": before - len(graph.branches)}

    _write_all(_render(graph, outputs))
    seconds = time.perf_counter() - start
    info = {
        "input": args.input,
        "shape": [int(n) for n in skel.shape],
        "spacing": None if spacing is None else [float(s) for s in spacing],
        "unit": length_unit(spacing, unit),
        "spacing_unit": unit,
        "method": method,
        "fill_holes": bool(args.fill_holes and method),
        "pruned": pruned,
        "summary": summarize(graph),
        "outputs": [(kind, path) for _, path, kind in outputs],
        "seconds": seconds,
    }
    flush_notes()
    if args.json:
        payload = dict(info)
        payload.pop("spacing_unit", None)
        payload["outputs"] = {kind: path for kind, path in info["outputs"]}
        payload["per_object"] = json.loads(graph.table("summary").to_json(orient="records"))
        print(json.dumps(payload, indent=2, allow_nan=False, default=_plain))
    else:
        print(format_table(info))
    return EXIT_OK


def _plain(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
