"""``soft-skeleton compare A B [C ...]``: a table, and optionally JSON and a figure."""

from __future__ import annotations

import argparse
import json
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..io import InputError, atomic_write
from ._lazy import for_figure
from ._calibration import NO_UNIT, convert_spacing, flush_notes, note, spacing_text
from ._common import (
    EXIT_OK,
    FIGURE_EXTENSIONS,
    MAX_CANDIDATES,
    UsageError,
    check_output,
    library_function,
    read_image,
    same_file,
    writing,
)


def _check_binary(array: np.ndarray, path: str) -> None:
    if array.dtype.kind == "f" and not np.isin(array, (0, 1)).all():
        raise InputError(
            f"'{path}' is not a binary skeleton: floating-point values other than 0 and 1 "
            "(threshold soft skeletons first, e.g. skeletonize --threshold 0.5)"
        )


def _fmt_betti(betti: Any) -> str:
    try:
        return "(" + ", ".join(str(int(v)) for v in betti) + ")"
    except (TypeError, ValueError):
        return str(betti)


def _fmt_float(value: Any, digits: int = 4) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    return "n/a" if not math.isfinite(value) else f"{value:.{digits}f}"


def letters_for(n: int) -> list[str]:
    return [chr(ord("B") + i) for i in range(n)]


def _tolerance_line(result: Any, given: float | None) -> str:
    text = f"tolerance: {_fmt_float(result.tolerance, 3)} {result.unit}"
    if given is None:
        text += " (default: 1.5 × the largest voxel spacing)" if result.spacing else " (default)"
    return text


def _unit_symbol(unit: str) -> str | None:
    """The unit of a spacing, or None for the display names of no unit."""
    return None if unit in ("voxels", "spacing units") else unit


def _fmt_error(value: Any) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if not math.isfinite(value) else f"{100 * value:+.1f} %"


def _tree_rows(results: Sequence[Any]) -> list[tuple[str, ...]]:
    """Tips, branch points, branches and their errors, for an SWC or SkeletonGraph reference."""
    first = results[0].tree
    rows = [("length error", "", *(_fmt_error(r.tree["cable_length_error"]) for r in results))]
    for key, name, error in (("tips", "tips", "tip"), ("branch_points", "branch points", "branch_point"),
                             ("branches", "branches", "branch")):
        rows.append((name, str(first[f"{key}_reference"]), *(str(r.tree[f"{key}_candidate"]) for r in results)))
        rows.append((f"{error.replace('_', ' ')} error", "", *(_fmt_error(r.tree[f"{error}_error"]) for r in results)))
    return rows


def format_table(results: Sequence[Any], a: str, paths: Sequence[str], mask: str | None,
                 tolerance: float | None = None) -> str:
    """One column per skeleton: A, then the candidates B, C, ..."""
    letters = letters_for(len(paths))
    first = results[0]
    unit = first.unit
    tree = getattr(first, "tree", None)
    reference = f"A (reference): {a}"
    if tree is not None and tree.get("reference_kind") == "swc":
        reference += " (SWC tree"
        if tree.get("clipped"):
            reference += f", clipped to the volume: {_fmt_float(tree['cable_length_outside'], 1)} {unit} outside"
        reference += ")"
    lines = [reference] + [f"{letter} (candidate): {p}" for letter, p in zip(letters, paths)]
    if mask:
        lines.append(f"mask: {mask}")
    lines.append(f"spacing: {spacing_text(first.spacing, _unit_symbol(unit), len(first.shape))}")
    lines.append(_tolerance_line(first, tolerance))
    rows = [
        ("", "A", *letters),
        ("skeleton voxels", str(first.n_reference), *(str(r.n_candidate) for r in results)),
        (f"{'cable ' if tree is not None else ''}length ({unit})", _fmt_float(first.length_reference, 1),
         *(_fmt_float(r.length_candidate, 1) for r in results)),
        *(_tree_rows(results) if tree is not None else []),
        ("Betti numbers", _fmt_betti(first.betti_reference), *(_fmt_betti(r.betti_candidate) for r in results)),
        ("voxels in both", "", *(str(r.n_both) for r in results)),
        ("precision", "", *(_fmt_float(r.precision) for r in results)),
        ("recall", "", *(_fmt_float(r.recall) for r in results)),
        ("F1", "", *(_fmt_float(r.f1) for r in results)),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines.append("")
    for row in rows:
        cells = [f"{row[0]:<{widths[0]}}"] + [f"{c:>{w}}" for c, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
    lines.append("")
    lines.append("precision: share of the candidate matched in A; recall: share of A matched in the candidate")
    if tree is not None:
        if tree.get("reference_kind") == "swc":
            lines.append("with an SWC tree A: recall is the share of its cable length within the tolerance")
        lines.append("errors: (candidate - A) / A")
    return "\n".join(lines)


def _is_swc(path: str) -> bool:
    return str(path).lower().endswith(".swc")


def _read_candidate(args: argparse.Namespace, path: str, letter: str, base: tuple | None, lazy: bool = False):
    """``(array, spacing, unit)`` of a skeleton; ``base``: ``(name, spacing, unit)`` of the image whose
    calibration the comparison uses (None: this one is it).  A spacing in another unit is converted to
    ``base``'s (said once in a note)."""
    uncalibrated = None
    if base is not None and base[1] is not None:
        uncalibrated = (f"{letter} '{path}' has no calibration: using {base[0]}'s spacing, "
                        f"{spacing_text(base[1], base[2], len(base[1]))}")
    unit_opt = args.unit
    if base is not None and args.spacing is not None and unit_opt is None:
        unit_opt = base[2] or NO_UNIT  # one --spacing for every file: in the base's unit
    volume = read_image(path, letter, spacing=args.spacing, unit=unit_opt, uncalibrated=uncalibrated,
                        series=args.series, channel=args.channel, lazy=lazy)
    array, spacing = volume
    unit = volume.unit
    if base is not None and base[1] is not None and spacing is not None and unit and base[2] and unit != base[2]:
        spacing = convert_spacing(spacing, unit, base[2])
        note(path, f"{letter} '{path}' has its spacing in {unit}: converted to {base[0]}'s unit, "
                   f"{spacing_text(spacing, base[2], array.ndim)}", kind="converted")
        unit = base[2]
    return array, spacing, unit


def _warn_spacings(base: tuple, letter: str, spacing) -> None:
    if base[1] is not None and spacing is not None and not np.allclose(base[1], spacing):
        unit = f" {base[2]}" if base[2] else ""
        warnings.warn(f"{base[0]} and {letter} have different voxel spacings ({base[1]} and {spacing}{unit}); "
                      f"using {base[0]}'s", stacklevel=1)


def _read_mask(args: argparse.Namespace, shape, other: str, other_path: str, lazy: bool = False):
    if args.mask is None:
        return None
    mask, _ = read_image(args.mask, "mask", calibrated=False, series=args.series, channel=args.channel, lazy=lazy)
    if mask.shape != shape:
        raise InputError(f"shape mismatch: mask '{args.mask}' has shape {mask.shape} but {other} "
                         f"'{other_path}' has shape {shape}")
    return mask


def _read_swc_reference(args: argparse.Namespace, paths: list[str], letters: list[str]):
    """A traced tree as A: the candidates set the shape and the spacing; A's voxels are drawn for the figure."""
    from ..metrics._swc_compare import load_swc, reference_skeleton

    table = load_swc(args.a, args.swc_scale, args.swc_origin)
    candidates, base = [], None
    for letter, path in zip(letters, paths):
        b, spacing_b, unit_b = _read_candidate(args, path, letter, base)
        if candidates and b.shape != candidates[0].shape:
            raise InputError(f"shape mismatch: B '{paths[0]}' has shape {candidates[0].shape} but {letter} "
                             f"'{path}' has shape {b.shape}")
        if base is None:
            base = ("B", spacing_b, unit_b)
        else:
            _warn_spacings(base, letter, spacing_b)
        candidates.append(b)
    mask = _read_mask(args, candidates[0].shape, "B", paths[0])
    for b, path in zip(candidates, paths):
        _check_binary(b, path)
    a = reference_skeleton(table, candidates[0].shape, base[1])
    return a, base[1], base[2], candidates, mask, table


def _read_all(args: argparse.Namespace, paths: list[str], letters: list[str]):
    """``(a, spacing, unit, candidates, mask, reference)``: A's calibration is the comparison's."""
    if _is_swc(args.a):
        return _read_swc_reference(args, paths, letters)
    if args.swc_scale is not None or args.swc_origin is not None:
        raise UsageError("--swc-scale and --swc-origin apply only to a reference A that is a .swc file")
    # (a .zarr is read lazily, chunk by chunk: compare works from the skeletons' coordinates, cli/_lazy.py)
    a, spacing_a, unit_a = _read_candidate(args, args.a, "A", None, lazy=True)
    base = ("A", spacing_a, unit_a)
    candidates = []
    for letter, path in zip(letters, paths):
        b, spacing_b, _ = _read_candidate(args, path, letter, base, lazy=True)
        if a.shape != b.shape:
            raise InputError(
                f"shape mismatch: A '{args.a}' has shape {a.shape} but {letter} '{path}' has shape {b.shape}"
            )
        _warn_spacings(base, letter, spacing_b)
        candidates.append(b)
    mask = _read_mask(args, a.shape, "A", args.a, lazy=True)
    _check_binary(a, args.a)
    for b, path in zip(candidates, paths):
        _check_binary(b, path)
    return a, spacing_a, unit_a, candidates, mask, a


def _check_outputs(args: argparse.Namespace, paths: list[str]) -> None:
    inputs = [args.a, *paths, args.mask]
    if args.json_path is not None:
        check_output(args.json_path, inputs, extensions=(".json",))
    if args.figure_path is not None:
        check_output(args.figure_path, inputs, extensions=FIGURE_EXTENSIONS)
    if args.json_path is not None and args.figure_path is not None and same_file(args.json_path, args.figure_path):
        raise InputError("--json and --figure name the same file")


def run(args: argparse.Namespace) -> int:
    paths = list(args.b)
    if len(paths) > MAX_CANDIDATES:
        raise UsageError(f"compare takes at most {MAX_CANDIDATES} candidate skeletons; got {len(paths)}")
    letters = letters_for(len(paths))
    _check_outputs(args, paths)
    a, spacing_a, unit_a, candidates, mask, reference = _read_all(args, paths, letters)

    compare = library_function("compare", "metrics")
    results = []
    for i, (letter, path, b) in enumerate(zip(letters, paths, candidates)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results.append(compare(reference, b, mask=mask, spacing=spacing_a, tolerance=args.tolerance,
                                   unit=unit_a))
        for w in caught:  # name the files: "the candidate" is B, C, ...; A's warning once
            text = str(w.message)
            if "the reference " in text and i > 0:
                continue
            text = text.replace("the reference ", f"A '{args.a}' ").replace("the candidate ", f"{letter} '{path}' ")
            warnings.warn(text, w.category, stacklevel=1)

    # everything is rendered in memory before any file is written
    json_text = None
    if args.json_path is not None:
        if len(results) == 1:
            payload = results[0].to_dict()
        else:
            payload = {
                "reference": args.a,
                "mask": args.mask,
                "unit": results[0].unit,
                "spacing": results[0].to_dict()["spacing"],
                "tolerance": results[0].tolerance,
                "candidates": [{"letter": letter, "candidate": path, **r.to_dict()}
                               for letter, path, r in zip(letters, paths, results)],
            }
        json_text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
    figure_bytes = None
    if args.figure_path is not None:
        from ..figures import render_comparison_figure, render_side_by_side_figure

        fmt = Path(args.figure_path).suffix.lower().lstrip(".")
        a, mask, *candidates = for_figure(a, mask, *candidates)
        names = [Path(args.a).name, *(Path(p).name for p in paths)]
        if len(results) == 1:
            figure_bytes = render_comparison_figure(a, candidates[0], results[0], mask=mask, spacing=spacing_a,
                                                    names=tuple(names), fmt=fmt)
        else:
            figure_bytes = render_side_by_side_figure(a, candidates, results, mask=mask, spacing=spacing_a,
                                                      names=names, fmt=fmt)
    if json_text is not None:
        with writing(args.json_path):
            atomic_write(args.json_path, json_text)
    if figure_bytes is not None:
        with writing(args.figure_path):
            atomic_write(args.figure_path, figure_bytes)
    flush_notes()
    print(format_table(results, args.a, paths, args.mask, args.tolerance))
    return EXIT_OK
