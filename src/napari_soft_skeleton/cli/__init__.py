"""Command-line interface: ``soft-skeleton`` (or ``python -m napari_soft_skeleton``).

Subcommands
-----------
``skeletonize INPUT -o OUTPUT``
    Skeletonize a 2D/3D image and write the result with the input's voxel
    spacing, unit and format.
``compare A B [C ...]``
    Compare skeleton B (candidate) with skeleton A (reference): precision,
    recall, F1, Betti numbers and per-slice statistics, optionally written
    as JSON and/or drawn as a figure.  Several candidates (say the soft and
    the topological skeleton against Lee's) are compared with A each and
    shown side by side.  A may be a traced tree (``.swc``, with
    ``--swc-scale``/``--swc-origin``): cable length, tips, branch points and
    branches are then compared too.
``graph INPUT``
    The graph of a skeleton (or of the skeleton of a mask or label image):
    branches, junctions, end points, loops, cable length and mean radius,
    optionally pruned and written as CSV, SWC and GraphML.
``demo``
    napari on a sample with the widgets, or without a display the two
    commands above on it.

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
``soft-skeleton: warning: ...`` lines.  Messages name the command line's
flags (``--per-slice``), not the library's keywords.

Voxel spacing
-------------
Every command that reads an image takes ``--spacing Z Y X`` and ``--unit U``
(see :mod:`._calibration`); lengths, radii and tolerances are shown in the
unit (``µm``), ``voxels`` without a spacing, ``spacing units`` for a spacing
without a unit.  A file without calibration, and what :func:`read_volume`
remarks about one, is said once per file (``soft-skeleton: note: ...``)
when the command succeeds.

torch and scikit-image are imported only by the command that needs them, so
``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import importlib
import sys
import traceback
import warnings
from collections.abc import Sequence

from ..io import InputError
from ._common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    MAX_CANDIDATES,
    PROG,
    ProgressBar,
    UsageError,
    error_message,
    is_library_error,
    print_error,
    show_warning,
)
from ._calibration import drop_notes, flush_notes, reset_notes
from ._parser import build_parser

__all__ = [
    "main",
    "build_parser",
    "PROG",
    "MAX_CANDIDATES",
    "EXIT_OK",
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "EXIT_INTERRUPTED",
    "UsageError",
    "ProgressBar",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    reset_notes()
    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        try:
            try:
                args = build_parser().parse_args(argv)
            except SystemExit as exc:  # --help / --version
                code = exc.code
                return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)
            debug = debug or bool(getattr(args, "debug", False))
            command = importlib.import_module(f".{args.command_module}", __name__)
            code = int(command.run(args))
            flush_notes()
            return code
        except KeyboardInterrupt:
            drop_notes()
            print_error("interrupted")
            return EXIT_INTERRUPTED
        except (UsageError, InputError, ValueError, OSError) as exc:
            drop_notes()
            if debug:
                traceback.print_exc()
            print_error(error_message(exc))
            return EXIT_USAGE
        except Exception as exc:
            drop_notes()
            if debug:
                traceback.print_exc()
            if is_library_error(exc):
                print_error(error_message(exc))
                return EXIT_USAGE
            print_error(f"unexpected {type(exc).__name__}: {error_message(exc)} (run with --debug for the traceback)")
            return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
