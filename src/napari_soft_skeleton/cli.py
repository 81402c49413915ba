"""Command-line interface: ``soft-skeleton`` (or ``python -m napari_soft_skeleton``).

Subcommands
-----------
``skeletonize INPUT -o OUTPUT``
    Skeletonize a 2D/3D ``.tif``/``.tiff``/``.npy`` image and write the
    result with the input's voxel spacing.
``compare A B [C ...]``
    Compare skeleton B (candidate) with skeleton A (reference): precision,
    recall, F1, Betti numbers and per-slice statistics, optionally written
    as JSON and/or drawn as a figure.  Several candidates (say the soft and
    the topological skeleton against Lee's) are compared with A each and
    shown side by side.

Error conventions
-----------------
Bad input (missing or unreadable files, arrays that are not 2D or 3D,
shapes that differ, invalid option values) exits with status 2 after
printing exactly one line to stderr, ``soft-skeleton: error: ...``, and
leaves no output file behind: results are computed in memory first and
every output is written atomically (temporary file + rename).  Ctrl-C exits
with status 130 (``soft-skeleton: error: interrupted``).  Any other
exception is reported on one line with status 1; ``--debug`` prints the
traceback instead.  Warnings are shown as single
``soft-skeleton: warning: ...`` lines.
"""

from __future__ import annotations

import argparse
import importlib
import io as _stdio
import json
import math
import os
import sys
import time
import traceback
import types
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .io import InputError, atomic_write, check_output_path, read_volume, write_volume

PROG = "soft-skeleton"
_FIGURE_EXTENSIONS = (".png", ".pdf", ".svg")
#: Most candidates ``compare`` takes at once (they are letters B, C, ... in its table and figure).
MAX_CANDIDATES = 6

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Invalid command line (reported with exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser that raises instead of printing usage and exiting, so
    that every error is reported as one line by :func:`main`."""

    def error(self, message: str) -> None:  # type: ignore[override]
        if message.endswith("required: COMMAND"):
            message = "missing command: choose 'skeletonize', 'compare' or 'demo' (see soft-skeleton --help)"
        raise UsageError(message)


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("napari-soft-skeleton")
        except PackageNotFoundError:
            pass
    except ImportError:  # pragma: no cover
        pass
    try:
        from . import __version__

        return str(__version__)
    except ImportError:  # pragma: no cover
        return "unknown"


# ---------------------------------------------------------------------------
# option types
# ---------------------------------------------------------------------------


def _iterations_type(text: str) -> int | str:
    value = text.strip().lower()
    if value == "auto":
        return "auto"
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: expected a non-negative integer or 'auto'"
        ) from None
    if number < 0:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: expected a non-negative integer or 'auto'"
        )
    return number


def _finite_float_type(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a finite number")
    return value


def _tolerance_type(text: str) -> float:
    value = _finite_float_type(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a number >= 0")
    return value


# ---------------------------------------------------------------------------
# parser
# ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``soft-skeleton`` argument parser."""
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the full traceback of unexpected errors",
    )

    parser = _Parser(
        prog=PROG,
        description=(
            "Soft (clDice) and topology-preserving skeletons of tubular structures in "
            "2D and 3D images (.tif, .tiff, .npy), and skeleton comparison."
        ),
        epilog="Run 'soft-skeleton COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback of unexpected errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    sk = sub.add_parser(
        "skeletonize",
        parents=[common],
        help="skeletonize a 2D/3D image",
        description=(
            "Skeletonize a 2D or 3D image and write the skeleton with the input's voxel "
            "spacing. Boolean images and integer images with one nonzero value are masks; "
            "integer images with several values are label images (each label is skeletonized "
            "on its own and keeps its id); floating-point images are probability maps in "
            "[0, 1]. With --normalize, any non-boolean image is an intensity image rescaled "
            "to [0, 1] (use it for probability maps stored as 0-255 integers)."
        ),
    )
    sk.add_argument("input", metavar="INPUT", help="input image (.tif, .tiff or .npy)")
    sk.add_argument(
        "-o", "--output", required=True, metavar="OUTPUT",
        help="output file (.tif, .tiff or .npy); replaced if it exists",
    )
    sk.add_argument(
        "--method", choices=("soft", "topological", "lee", "zhang"), default="soft",
        help="'soft': clDice soft skeleton (default); 'topological': topology-preserving "
        "thinning that keeps every object; 'lee': scikit-image's thinning (Lee et al. 1994); "
        "'zhang': scikit-image's 2D thinning",
    )
    sk.add_argument(
        "--iterations", type=_iterations_type, default=10, metavar="N|auto",
        help="number of soft-skeleton iterations, or 'auto' to iterate until the "
        "result stops changing (default: 10)",
    )
    thr = sk.add_mutually_exclusive_group()
    thr.add_argument(
        "--threshold", type=_finite_float_type, default=None, metavar="T",
        help="binarize the soft skeleton (and a probability-map input for 'lee') as "
        "value > T (default: 0.5)",
    )
    thr.add_argument(
        "--no-threshold", action="store_true",
        help="write the soft skeleton as floating-point values instead of binarizing it "
        "(masks and probability maps only)",
    )
    sk.add_argument(
        "--per-slice", action="store_true",
        help="skeletonize each 2D slice along axis 0 of a 3D image separately "
        "(no effect on 2D images)",
    )
    sk.add_argument(
        "--device", choices=("auto", "cpu", "cuda", "mps"), default="auto",
        help="torch device for the soft and topological skeletons (default: auto: CUDA, then MPS, then the CPU)",
    )
    sk.add_argument(
        "--normalize", action="store_true",
        help="treat the input as an intensity image and rescale it linearly to [0, 1] "
        "(min to 0, max to 1): for integer probability maps (0-255) and float images "
        "outside [0, 1]",
    )
    sk.add_argument("-q", "--quiet", action="store_true", help="do not show a progress bar")
    sk.set_defaults(func=_cmd_skeletonize)

    cmp_ = sub.add_parser(
        "compare",
        parents=[common],
        help="compare two skeletons",
        description=(
            "Compare skeleton B (candidate) with skeleton A (reference): precision (share "
            "of B within the tolerance of A), recall (share of A within the tolerance of "
            "B), F1, Betti numbers and per-slice statistics along axis 0. Several candidates "
            "(B C ...) are each compared with A and shown side by side in one table and one "
            "figure. Nonzero voxels are skeleton voxels; floating-point files must contain "
            "only 0 and 1."
        ),
    )
    cmp_.add_argument("a", metavar="A", help="reference skeleton (.tif, .tiff or .npy)")
    cmp_.add_argument(
        "b", metavar="B", nargs="+",
        help="candidate skeleton, same shape as A; give several (e.g. the soft and the topological "
        f"skeleton, at most {MAX_CANDIDATES}) to compare each with A and see them side by side",
    )
    cmp_.add_argument(
        "--mask", metavar="M", default=None,
        help="region of interest (same shape); only voxels where M is nonzero count",
    )
    cmp_.add_argument(
        "--tolerance", type=_tolerance_type, default=None, metavar="T",
        help="matching distance, in the physical units of A's voxel spacing when A's "
        "file has one, else in voxels (default: the library's default, 1.5)",
    )
    cmp_.add_argument(
        "--json", dest="json_path", metavar="OUT.json", default=None,
        help="write all results (including per-slice arrays) as JSON",
    )
    cmp_.add_argument(
        "--figure", dest="figure_path", metavar="OUT.png", default=None,
        help="draw projections, their difference and per-slice curves (.png, .pdf or .svg)",
    )
    cmp_.set_defaults(func=_cmd_compare)

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="open napari on a sample with the widgets (or, without a display, run the CLI on it)",
        description=(
            "Open napari on a sample volume with the plugin's widgets docked. On a machine "
            "without a display, skeletonize the sample with the soft, Lee and topological "
            "methods and compare them instead, writing the results to --out."
        ),
    )
    demo.add_argument("--sample", default="vessel_256", help="sample name (default: vessel_256)")
    demo.add_argument("--out", default="out", help="output folder without a display (default: out)")
    demo.add_argument("--no-gui", action="store_true", help="run the command-line job even with a display")
    demo.add_argument("-q", "--quiet", action="store_true", help="do not show progress bars")
    demo.set_defaults(func=_cmd_demo)
    return parser


def _has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _cmd_demo(args: argparse.Namespace) -> int:
    """napari with the widgets, or the command-line job on the sample."""
    from .samples import list_samples, load_sample, samples_dir

    if args.sample not in list_samples():
        raise UsageError(f"unknown sample {args.sample!r}; expected one of {', '.join(list_samples())}")
    if _has_display() and not args.no_gui:
        try:
            from ._napari._launch import open_viewer
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
    write_volume(source, sample.mask, spacing=sample.spacing)
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
        code = main(step)
        if code:
            return code
    print(f"sample from {samples_dir()}; results written to {out.resolve()}/: "
          f"{soft.name}, {lee.name}, {topo.name}, {name}_compare.json/.png "
          "(Lee as the reference, soft and topological side by side)")
    return 0


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _error_message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, InputError) and exc.strerror:
        name = exc.filename
        return f"{name}: {exc.strerror}" if name else str(exc.strerror)
    text = _one_line(exc)
    return text or type(exc).__name__


def _is_library_error(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module == "napari_soft_skeleton" or module.startswith("napari_soft_skeleton.")


def _library_function(name: str, module: str) -> Callable[..., Any]:
    """``napari_soft_skeleton.<name>``, imported lazily (falling back to the
    submodule that defines it)."""
    pkg = importlib.import_module("napari_soft_skeleton")
    obj = getattr(pkg, name, None)
    if callable(obj) and not isinstance(obj, types.ModuleType):
        return obj
    mod = importlib.import_module(f"napari_soft_skeleton.{module}")
    return getattr(mod, name)


def _same_file(a: str, b: str) -> bool:
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.abspath(a) == os.path.abspath(b)


def _check_output(path: str, inputs: Sequence[str], extensions: Sequence[str] | None = None) -> None:
    check_output_path(path, extensions=extensions)
    for src in inputs:
        if src is not None and _same_file(path, src):
            raise InputError(f"output '{path}' is the same file as input '{src}'")


def _read_image(path: str, what: str) -> tuple[np.ndarray, tuple[float, ...] | None]:
    array, spacing = read_volume(path)
    if array.ndim not in (2, 3):
        raise InputError(
            f"{what} '{path}' has {array.ndim} dimension{'s' if array.ndim != 1 else ''} "
            f"(shape {array.shape}); only 2D and 3D images are accepted"
        )
    if array.size == 0:
        raise InputError(f"{what} '{path}' is empty (shape {array.shape})")
    if array.dtype.kind == "c":
        raise InputError(f"{what} '{path}' has complex values ({array.dtype}); expected real numbers")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise InputError(f"{what} '{path}' contains NaN or infinite values")
    if spacing is not None and len(spacing) != array.ndim:
        spacing = None
    return array, spacing


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:
        return False


class _ProgressBar:
    """``progress(done, total)`` callback shown as a tqdm bar on stderr.

    Display problems never interrupt the computation: if updating the bar
    fails, the bar is switched off.
    """

    def __init__(self, enabled: bool, desc: str) -> None:
        self.enabled = enabled
        self.desc = desc
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        try:
            done = int(done)
            total = int(total) if total is not None else None
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(
                    total=total, desc=self.desc, file=sys.stderr, leave=False,
                    dynamic_ncols=True, unit="step",
                )
            if total != self.bar.total:
                self.bar.total = total
            delta = done - self.bar.n
            if delta >= 0:
                self.bar.update(delta)
            else:
                self.bar.reset(total=total)
                self.bar.update(done)
            if total is not None and done >= total:
                self.bar.refresh()  # show the finished state despite tqdm's rate limit
        except Exception:
            self.enabled = False
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            try:
                self.bar.close()
            except Exception:
                pass
            self.bar = None


def _format_shape(shape: Sequence[int]) -> str:
    return "x".join(str(int(s)) for s in shape)


# ---------------------------------------------------------------------------
# skeletonize
# ---------------------------------------------------------------------------


def _cmd_skeletonize(args: argparse.Namespace) -> int:
    _check_output(args.output, [args.input])
    data, spacing = _read_image(args.input, "input")

    if data.dtype.kind in "iu":
        if args.normalize:
            # an intensity or probability image stored as integers (e.g. uint8
            # 0-255): the library rescales it to [0, 1]
            data = data.astype(np.float32)
        else:
            # integer images are label images for the library (each label on
            # its own, ids kept); one with a single nonzero value is a mask
            values = np.unique(data)
            nonzero = values[values != 0]
            if nonzero.size <= 1:
                data = data != 0
            elif args.no_threshold:
                raise InputError(
                    f"--no-threshold needs a mask or probability map, but '{args.input}' is "
                    f"read as a label image with {nonzero.size} labels (add --normalize if it "
                    "is an intensity or probability image)"
                )
            else:
                warnings.warn(
                    f"'{args.input}' is read as a label image with {nonzero.size} labels, each "
                    "skeletonized on its own; add --normalize if it is an intensity or "
                    "probability image",
                    stacklevel=1,
                )

    skeletonize = _library_function("skeletonize", "skeletonize")
    kwargs: dict[str, Any] = dict(
        method=args.method,
        iterations=args.iterations,
        per_slice=args.per_slice,
        spacing=spacing,
        device=None if args.device == "auto" else args.device,
        normalize=args.normalize,
        return_iterations=True,
    )
    if args.no_threshold:
        kwargs["threshold"] = None
    elif args.threshold is not None:
        kwargs["threshold"] = args.threshold

    bar = _ProgressBar(enabled=not args.quiet and _isatty(sys.stderr), desc=args.method)
    start = time.perf_counter()
    try:
        result, iterations_used = skeletonize(data, progress=bar, **kwargs)
    finally:
        bar.close()
    seconds = time.perf_counter() - start

    result = np.asarray(result)
    write_volume(args.output, result, spacing=spacing if spacing and len(spacing) == result.ndim else None)

    if result.dtype.kind == "f" and not np.isin(result, (0, 1)).all():
        count = f"{int(np.count_nonzero(result))} nonzero voxels (soft values)"
    else:
        count = f"{int(np.count_nonzero(result))} skeleton voxels"
    iters = "iterations n/a" if iterations_used is None else f"{iterations_used} iterations"
    print(
        f"{args.output}: shape {_format_shape(result.shape)} {result.dtype}, {count}, "
        f"{iters}, {seconds:.2f} s"
    )
    return EXIT_OK


# ---------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------


def _check_binary(array: np.ndarray, path: str) -> None:
    if array.dtype.kind == "f" and not np.isin(array, (0, 1)).all():
        raise InputError(
            f"'{path}' is not a binary skeleton: floating-point values other than 0 and 1 "
            "(threshold soft skeletons first, e.g. skeletonize --threshold 0.5)"
        )


def _fmt_betti(betti: Any) -> str:
    if isinstance(betti, dict):
        return ", ".join(f"{k}={v}" for k, v in betti.items())
    try:
        return "(" + ", ".join(str(int(v)) for v in betti) + ")"
    except (TypeError, ValueError):
        return str(betti)


def _fmt_float(value: Any, digits: int = 4) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f}"


def _format_table(result: Any, a: str, b: str, mask: str | None) -> str:
    units = getattr(result, "units", None)
    tol = getattr(result, "tolerance", None)
    unit_word = "voxels" if units in (None, "voxels") else "physical units"
    header = f"A (reference): {a}\nB (candidate): {b}"
    if mask:
        header += f"\nmask: {mask}"
    if tol is not None:
        header += f"\ntolerance: {_fmt_float(tol, 3)} {unit_word}"
    rows = [("", "A", "B"), ("skeleton voxels", str(result.n_reference), str(result.n_candidate))]
    if hasattr(result, "length_reference"):
        rows.append(
            (f"length ({unit_word})", _fmt_float(result.length_reference, 1),
             _fmt_float(result.length_candidate, 1))
        )
    rows.append(
        ("Betti numbers", _fmt_betti(result.betti_reference), _fmt_betti(result.betti_candidate))
    )
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    w2 = max(len(r[2]) for r in rows)
    lines = [header, ""]
    lines += [f"{r[0]:<{w0}}  {r[1]:>{w1}}  {r[2]:>{w2}}" for r in rows]
    lines.append("")
    if hasattr(result, "n_both"):
        lines.append(f"{'voxels in both':<{w0}}  {result.n_both}")
    lines.append(f"{'precision':<{w0}}  {_fmt_float(result.precision)}  (share of B matched in A)")
    lines.append(f"{'recall':<{w0}}  {_fmt_float(result.recall)}  (share of A matched in B)")
    lines.append(f"{'F1':<{w0}}  {_fmt_float(result.f1)}")
    return "\n".join(lines)


def _candidate_letters(n: int) -> list[str]:
    return ["B"] if n == 1 else [chr(ord("B") + i) for i in range(n)]


def _cmd_compare(args: argparse.Namespace) -> int:
    paths = list(args.b)
    if len(paths) > MAX_CANDIDATES:
        raise UsageError(f"compare takes at most {MAX_CANDIDATES} candidate skeletons; got {len(paths)}")
    letters = _candidate_letters(len(paths))
    inputs = [args.a, *paths, args.mask]
    if args.json_path is not None:
        _check_output(args.json_path, inputs, extensions=(".json",))
    if args.figure_path is not None:
        _check_output(args.figure_path, inputs, extensions=_FIGURE_EXTENSIONS)
    if (
        args.json_path is not None
        and args.figure_path is not None
        and _same_file(args.json_path, args.figure_path)
    ):
        raise InputError("--json and --figure name the same file")

    a, spacing_a = _read_image(args.a, "A")
    candidates = []
    for letter, path in zip(letters, paths):
        b, spacing_b = _read_image(path, letter)
        if a.shape != b.shape:
            raise InputError(
                f"shape mismatch: A '{args.a}' has shape {a.shape} but {letter} '{path}' has shape {b.shape}"
            )
        if spacing_a is not None and spacing_b is not None and not np.allclose(spacing_a, spacing_b):
            warnings.warn(
                f"A and {letter} have different voxel spacings ({spacing_a} and {spacing_b}); using A's",
                stacklevel=1,
            )
        candidates.append(b)
    mask = None
    if args.mask is not None:
        mask, _ = _read_image(args.mask, "mask")
        if mask.shape != a.shape:
            raise InputError(
                f"shape mismatch: mask '{args.mask}' has shape {mask.shape} but A '{args.a}' "
                f"has shape {a.shape}"
            )
    _check_binary(a, args.a)
    for b, path in zip(candidates, paths):
        _check_binary(b, path)

    compare = _library_function("compare", "metrics")
    kwargs: dict[str, Any] = {"mask": mask, "spacing": spacing_a}
    if args.tolerance is not None:
        kwargs["tolerance"] = args.tolerance
    results = [compare(a, b, **kwargs) for b in candidates]

    # everything is rendered in memory before any file is written
    json_text = None
    if args.json_path is not None:
        if len(results) == 1:
            payload = results[0].to_dict()
        else:
            payload = {
                "reference": args.a,
                "mask": args.mask,
                "candidates": [{"letter": letter, "candidate": path, **r.to_dict()}
                               for letter, path, r in zip(letters, paths, results)],
            }
        json_text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
    figure_bytes = None
    if args.figure_path is not None:
        fmt = Path(args.figure_path).suffix.lower().lstrip(".")
        if len(results) == 1:
            figure_bytes = render_comparison_figure(
                a, candidates[0], results[0], mask=mask, spacing=spacing_a,
                names=(Path(args.a).name, Path(paths[0]).name), fmt=fmt,
            )
        else:
            figure_bytes = render_side_by_side_figure(
                a, candidates, results, mask=mask, spacing=spacing_a,
                names=[Path(args.a).name, *(Path(p).name for p in paths)], fmt=fmt,
            )
    if json_text is not None:
        atomic_write(args.json_path, json_text)
    if figure_bytes is not None:
        atomic_write(args.figure_path, figure_bytes)

    if len(results) == 1:
        print(_format_table(results[0], args.a, paths[0], args.mask))
    else:
        print(_format_side_by_side_table(results, args.a, paths, args.mask))
    return EXIT_OK


def _format_side_by_side_table(results: Sequence[Any], a: str, paths: Sequence[str], mask: str | None) -> str:
    """One column per skeleton: A, then the candidates B, C, ..."""
    letters = _candidate_letters(len(paths))
    first = results[0]
    unit_word = "voxels" if getattr(first, "units", None) in (None, "voxels") else "physical units"
    lines = [f"A (reference): {a}"] + [f"{letter} (candidate): {p}" for letter, p in zip(letters, paths)]
    if mask:
        lines.append(f"mask: {mask}")
    lines.append(f"tolerance: {_fmt_float(first.tolerance, 3)} {unit_word}")
    rows = [
        ("", "A", *letters),
        ("skeleton voxels", str(first.n_reference), *(str(r.n_candidate) for r in results)),
        (f"length ({unit_word})", _fmt_float(first.length_reference, 1),
         *(_fmt_float(r.length_candidate, 1) for r in results)),
        ("Betti numbers", _fmt_betti(first.betti_reference), *(_fmt_betti(r.betti_candidate) for r in results)),
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
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# figure
# ---------------------------------------------------------------------------

_COLOR_BOTH = (1.0, 1.0, 1.0)
_COLOR_ONLY_A = (1.0, 0.2, 1.0)  # magenta
_COLOR_ONLY_B = (0.1, 0.85, 0.2)  # green
_COLOR_A_LINE = "#b4008c"
_COLOR_B_LINE = "#1a9a2a"


def _slice_axis(n: int, is3d: bool) -> tuple[np.ndarray, str, str | None]:
    """x values, unit word and point marker of the per-slice (per-row in 2D) curves."""
    return np.arange(n), ("slice" if is3d else "row"), ("o" if n <= 40 else None)


def _finish_count_axis(ax, unit: str) -> None:
    """Labels, limits, legend and grid of the voxels-per-slice axis (its curves drawn)."""
    from matplotlib.ticker import MaxNLocator

    ax.set_ylabel(f"voxels per {unit}", fontsize=9)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=9, frameon=False)
    ax.grid(True, alpha=0.3)
    ax.tick_params(labelsize=8, labelbottom=False)


def _shorten(name: str, limit: int = 40) -> str:
    return name if len(name) <= limit else name[: limit // 2 - 1] + "…" + name[-(limit // 2) :]


def render_comparison_figure(
    a: np.ndarray,
    b: np.ndarray,
    result: Any,
    *,
    mask: np.ndarray | None = None,
    spacing: Sequence[float] | None = None,
    names: tuple[str, str] = ("A", "B"),
    fmt: str = "png",
    dpi: int = 120,
) -> bytes:
    """Draw the comparison figure and return the encoded file (``fmt``).

    Top row: A, B (maximum projections along axis 0 for 3D, the images
    themselves for 2D) and their difference (both / only A / only B).
    Below: per-slice (per-row for 2D) voxel counts and agreement.
    Uses matplotlib's Agg canvas directly (no pyplot, no display).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    sa = a != 0
    sb = b != 0
    if mask is not None:
        roi = mask != 0
        sa = sa & roi
        sb = sb & roi
    is3d = sa.ndim == 3
    if is3d:
        pa = sa.any(axis=0)
        pb = sb.any(axis=0)
    else:
        pa, pb = sa, sb
    rows, cols = pa.shape
    if spacing is not None and len(spacing) == sa.ndim:
        aspect = float(spacing[-2]) / float(spacing[-1])
    else:
        aspect = 1.0

    diff = np.zeros(pa.shape + (3,), dtype=float)
    diff[pa & pb] = _COLOR_BOTH
    diff[pa & ~pb] = _COLOR_ONLY_A
    diff[~pa & pb] = _COLOR_ONLY_B

    panel_w = 4.0
    img_h = float(np.clip(panel_w * rows * aspect / cols, 1.6, 6.0))
    curve_h = 2.3
    fig = Figure(figsize=(3 * panel_w, img_h + 1.6 + 2 * curve_h), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    gs = fig.add_gridspec(3, 3, height_ratios=[img_h + 0.6, curve_h, curve_h])

    name_a, name_b = (_shorten(n) for n in names)
    f1 = _fmt_float(result.f1, 3)
    tol = getattr(result, "tolerance", None)
    units = getattr(result, "units", "voxels")
    tol_text = ""
    if tol is not None:
        tol_text = (
            f"   (tolerance {_fmt_float(tol, 2)} "
            f"{'voxels' if units == 'voxels' else 'in the units of the spacing'})"
        )
    fig.suptitle(
        f"A: {name_a}   vs   B: {name_b}\n"
        f"precision {_fmt_float(result.precision, 3)}   recall {_fmt_float(result.recall, 3)}"
        f"   F1 {f1}{tol_text}" + ("   (masked)" if mask is not None else ""),
        fontsize=11,
    )

    unit_word = "voxels" if is3d else "pixels"
    suffix = "\nmaximum projection along z" if is3d else ""
    img_kw = dict(interpolation="nearest", aspect=aspect, origin="upper")
    ax_a = fig.add_subplot(gs[0, 0])
    ax_a.imshow(pa, cmap="gray", vmin=0, vmax=1, **img_kw)
    ax_a.set_title(f"A ({result.n_reference} {unit_word}){suffix}", fontsize=10)
    ax_b = fig.add_subplot(gs[0, 1], sharex=ax_a, sharey=ax_a)
    ax_b.imshow(pb, cmap="gray", vmin=0, vmax=1, **img_kw)
    ax_b.set_title(f"B ({result.n_candidate} {unit_word}){suffix}", fontsize=10)
    ax_d = fig.add_subplot(gs[0, 2], sharex=ax_a, sharey=ax_a)
    ax_d.imshow(diff, **img_kw)
    ax_d.set_title(f"difference{suffix}", fontsize=10)
    for ax in (ax_a, ax_b, ax_d):
        ax.set_xlabel("x", fontsize=9)
        ax.tick_params(labelsize=8)
    ax_a.set_ylabel("y", fontsize=9)
    ax_d.legend(
        handles=[
            Patch(facecolor=_COLOR_BOTH, edgecolor="0.3", label="both"),
            Patch(facecolor=_COLOR_ONLY_A, edgecolor="0.3", label="only A"),
            Patch(facecolor=_COLOR_ONLY_B, edgecolor="0.3", label="only B"),
        ],
        loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=9, frameon=False,
        handlelength=1.2,
    )

    per = getattr(result, "per_slice", {}) or {}
    n = sa.shape[0]
    idx, unit, marker = _slice_axis(n, is3d)

    ax_c = fig.add_subplot(gs[1, :])
    if "n_reference" in per:
        ax_c.plot(idx, per["n_reference"], color=_COLOR_A_LINE, marker=marker, ms=3, lw=1.4, label="A")
    if "n_candidate" in per:
        ax_c.plot(idx, per["n_candidate"], color=_COLOR_B_LINE, marker=marker, ms=3, lw=1.4,
                  ls="--", label="B")
    if "n_both" in per:
        ax_c.plot(idx, per["n_both"], color="0.45", lw=1.0, ls=":", label="both (exact)")
    _finish_count_axis(ax_c, unit)

    ax_g = fig.add_subplot(gs[2, :], sharex=ax_c)
    handles = []
    if "agreement" in per:
        ax_g.plot(idx, per["agreement"], color="#1f4e9c", marker=marker, ms=3, lw=1.4)
        handles.append(Line2D([], [], color="#1f4e9c", lw=1.4, label=f"agreement\n(F1 per {unit})"))
    if math.isfinite(float(result.f1)):
        ax_g.axhline(float(result.f1), color="0.4", ls=":", lw=1.0)
        handles.append(Line2D([], [], color="0.4", ls=":", lw=1.0, label=f"overall F1\n{f1}"))
    ax_g.set_ylim(-0.03, 1.05)
    ax_g.set_ylabel("agreement", fontsize=9)
    ax_g.set_xlabel(f"{unit} index (axis 0)", fontsize=9)
    ax_g.set_xlim(-0.5, n - 0.5)
    ax_g.grid(True, alpha=0.3)
    ax_g.tick_params(labelsize=8)
    if handles:
        ax_g.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=9,
                    frameon=False)

    buf = _stdio.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    return buf.getvalue()


#: Line colours of the candidates B, C, ... in the side-by-side figure.
_CANDIDATE_LINES = ("#1a9a2a", "#e07b00", "#1f77b4", "#c8102e", "#7b3fb8", "#8c6d1f")


def _projection(skel: np.ndarray) -> np.ndarray:
    return skel.any(axis=0) if skel.ndim == 3 else skel


def render_side_by_side_figure(
    a: np.ndarray,
    candidates: Sequence[np.ndarray],
    results: Sequence[Any],
    *,
    mask: np.ndarray | None = None,
    spacing: Sequence[float] | None = None,
    names: Sequence[str] = (),
    fmt: str = "png",
    dpi: int = 110,
) -> bytes:
    """Several candidate skeletons against one reference, side by side; returns the encoded file.

    Top row: A, then each candidate coloured by its difference with A (in
    both / only in A / only in the candidate), as maximum projections along
    axis 0 for 3D.  Below, shared by all: voxels per slice (row for 2D) and
    the per-slice agreement (F1) of each candidate with A.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    letters = _candidate_letters(len(candidates))
    names = list(names) or ["A", *letters]
    roi = None if mask is None else mask != 0
    sa = a != 0 if roi is None else (a != 0) & roi
    sbs = [b != 0 if roi is None else (b != 0) & roi for b in candidates]
    is3d = sa.ndim == 3
    pa = _projection(sa)
    rows, cols = pa.shape
    aspect = float(spacing[-2]) / float(spacing[-1]) if spacing is not None and len(spacing) == sa.ndim else 1.0
    k = len(candidates)
    panel_w = 3.6
    img_h = float(np.clip(panel_w * rows * aspect / cols, 1.6, 6.0))
    curve_h = 2.2
    fig = Figure(figsize=((k + 1) * panel_w + 1.6, img_h + 1.9 + 2 * curve_h), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    gs = fig.add_gridspec(3, k + 1, height_ratios=[img_h + 0.9, curve_h, curve_h])
    first = results[0]
    tol = getattr(first, "tolerance", None)
    units = getattr(first, "units", "voxels")
    tol_text = "" if tol is None else (
        f"tolerance {_fmt_float(tol, 2)} {'voxels' if units == 'voxels' else 'in the units of the spacing'}")
    fig.suptitle(f"A: {_shorten(names[0])} (reference) vs "
                 + ", ".join(f"{letter}: {_shorten(n, 28)}" for letter, n in zip(letters, names[1:]))
                 + f"\n{tol_text}" + ("   (masked)" if mask is not None else ""), fontsize=11)
    unit_word = "voxels" if is3d else "pixels"
    suffix = "\nmaximum projection along z" if is3d else ""
    img_kw = dict(interpolation="nearest", aspect=aspect, origin="upper")
    ax_a = fig.add_subplot(gs[0, 0])
    ax_a.imshow(pa, cmap="gray", vmin=0, vmax=1, **img_kw)
    ax_a.set_title(f"A ({first.n_reference} {unit_word})\nBetti {_fmt_betti(first.betti_reference)}{suffix}",
                   fontsize=9)
    image_axes = [ax_a]
    for i, (letter, sb, r) in enumerate(zip(letters, sbs, results)):
        pb = _projection(sb)
        diff = np.zeros(pa.shape + (3,), dtype=float)
        diff[pa & pb] = _COLOR_BOTH
        diff[pa & ~pb] = _COLOR_ONLY_A
        diff[~pa & pb] = _COLOR_ONLY_B
        ax = fig.add_subplot(gs[0, i + 1], sharex=ax_a, sharey=ax_a)
        ax.imshow(diff, **img_kw)
        ax.set_title(
            f"{letter} ({r.n_candidate} {unit_word}) vs A\nP {_fmt_float(r.precision, 3)}  "
            f"R {_fmt_float(r.recall, 3)}  F1 {_fmt_float(r.f1, 3)}\nBetti {_fmt_betti(r.betti_candidate)}",
            fontsize=9, color=_CANDIDATE_LINES[i],
        )
        image_axes.append(ax)
    for ax in image_axes:
        ax.set_xlabel("x", fontsize=9)
        ax.tick_params(labelsize=8)
    ax_a.set_ylabel("y", fontsize=9)
    image_axes[-1].legend(
        handles=[Patch(facecolor=_COLOR_BOTH, edgecolor="0.3", label="both"),
                 Patch(facecolor=_COLOR_ONLY_A, edgecolor="0.3", label="only A"),
                 Patch(facecolor=_COLOR_ONLY_B, edgecolor="0.3", label="only the\ncandidate")],
        loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=9, frameon=False, handlelength=1.2,
    )

    n = sa.shape[0]
    idx, unit, marker = _slice_axis(n, is3d)
    ax_c = fig.add_subplot(gs[1, :])
    ax_c.plot(idx, first.per_slice["n_reference"], color=_COLOR_A_LINE, marker=marker, ms=3, lw=1.6, label="A")
    for i, (letter, r) in enumerate(zip(letters, results)):
        ax_c.plot(idx, r.per_slice["n_candidate"], color=_CANDIDATE_LINES[i], marker=marker, ms=3, lw=1.2,
                  ls="--", label=letter)
    _finish_count_axis(ax_c, unit)
    ax_g = fig.add_subplot(gs[2, :], sharex=ax_c)
    for i, (letter, r) in enumerate(zip(letters, results)):
        ax_g.plot(idx, r.per_slice["agreement"], color=_CANDIDATE_LINES[i], marker=marker, ms=3, lw=1.3,
                  label=f"{letter} (F1 {_fmt_float(r.f1, 3)})")
    ax_g.set_ylim(-0.03, 1.05)
    ax_g.set_ylabel(f"agreement with A\n(F1 per {unit})", fontsize=9)
    ax_g.set_xlabel(f"{unit} index (axis 0)", fontsize=9)
    ax_g.set_xlim(-0.5, n - 0.5)
    ax_g.grid(True, alpha=0.3)
    ax_g.tick_params(labelsize=8)
    ax_g.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=9, frameon=False)
    buf = _stdio.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    return buf.getvalue()


# ---------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------


def _print_error(message: str) -> None:
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    stream = file if file is not None else sys.stderr
    try:
        print(f"{PROG}: warning: {_one_line(message)}", file=stream)
    except Exception:
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = build_parser()
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            try:
                args = parser.parse_args(argv)
            except SystemExit as exc:  # --help / --version
                code = exc.code
                return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)
            debug = debug or bool(getattr(args, "debug", False))
            return int(args.func(args))
        except KeyboardInterrupt:
            _print_error("interrupted")
            return EXIT_INTERRUPTED
        except (UsageError, InputError) as exc:
            if debug:
                traceback.print_exc()
            _print_error(_error_message(exc))
            return EXIT_USAGE
        except (ValueError, OSError) as exc:
            if debug:
                traceback.print_exc()
            _print_error(_error_message(exc))
            return EXIT_USAGE
        except Exception as exc:
            if debug:
                traceback.print_exc()
            if _is_library_error(exc):
                _print_error(_error_message(exc))
                return EXIT_USAGE
            _print_error(
                f"unexpected {type(exc).__name__}: {_error_message(exc)} "
                "(run with --debug for the traceback)"
            )
            return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
