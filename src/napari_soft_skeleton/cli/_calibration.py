"""Voxel spacing and its unit on the command line: ``--spacing`` / ``--unit``, notes, labels.

Every command that reads an image takes ``--spacing S [S ...]`` (one value
per axis, Z Y X or Y X) and ``--unit U``:

* ``--spacing`` replaces the file's spacing; its unit is ``--unit``, else the
  file's unit (if the file names one), else none ("spacing units").
* ``--unit`` alone names the unit of a spacing the file has without a unit.
  It is an error on a file that has no spacing (there is nothing to label:
  give ``--spacing`` too) and on a file whose spacing has another unit (give
  ``--spacing`` too to replace it).

A file without calibration is reported once per file on stderr
(``soft-skeleton: note: ...``), as are the remarks :func:`read_volume` makes
about a file's calibration (:attr:`Volume.notes`); with ``--spacing`` the
file's calibration is not used and nothing is said about it.  Notes are
printed when the command succeeds (before its results on stdout); a command
that fails prints only its one-line error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ._common import PROG, UsageError, one_line, positive_float_type

#: ``args.unit`` for ``--unit pixel`` / ``--unit none``: explicitly no unit.
NO_UNIT = ""

_SHOWN: set[tuple[str, str]] = set()
_PENDING: list[str] = []


def reset_notes() -> None:
    """Forget the notes shown and pending (each command run says its notes again)."""
    _SHOWN.clear()
    _PENDING.clear()


def _file_key(path: str) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.abspath(path)


def note(path: str, text: str, kind: str | None = None) -> None:
    """Queue ``soft-skeleton: note: TEXT`` for stderr, at most once per file and ``kind`` (default: the text).

    Notes are printed by :func:`flush_notes` once the command has succeeded,
    so that a command that fails still prints exactly one line.
    """
    key = (_file_key(path), kind or text)
    if key in _SHOWN:
        return
    _SHOWN.add(key)
    _PENDING.append(f"{PROG}: note: {one_line(text)}")


def flush_notes() -> None:
    """Print the pending notes on stderr."""
    while _PENDING:
        print(_PENDING.pop(0), file=sys.stderr)


def drop_notes() -> None:
    """Forget the pending notes (the command failed: its error is the one line it prints)."""
    _PENDING.clear()


def unit_type(text: str) -> str:
    """``--unit``: a length unit (``um``, ``µm``, ``nm``, ``mm``, ...), as its canonical symbol."""
    from ..io import InputError, normalize_unit

    try:
        unit = normalize_unit(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return NO_UNIT if unit is None else unit


def add_calibration_options(parser: argparse.ArgumentParser, what: str = "the input file's") -> None:
    """``--spacing S [S ...]`` and ``--unit U`` (``args.spacing``, ``args.unit``)."""
    parser.add_argument(
        "--spacing", type=positive_float_type, nargs="+", default=None, metavar="S",
        help=f"voxel size per axis, Z Y X (Y X in 2D), instead of {what}; in --unit, else in the "
        "file's unit when it names one (e.g. --spacing 5 1 1 --unit um)",
    )
    parser.add_argument(
        "--unit", type=unit_type, default=None, metavar="U",
        help="length unit of the spacing: nm, um (µm), mm, cm, m, ... Alone, it names the unit of a file "
        "spacing that has none; to replace a file's spacing or unit give --spacing too",
    )


def axes_names(ndim: int) -> str:
    return "Z Y X" if ndim == 3 else "Y X"


def calibrate(path: str, what: str, ndim: int, file_spacing, file_unit: str | None,
              spacing: Sequence[float] | None, unit: str | None):
    """The spacing and unit to use: the file's, or ``--spacing`` / ``--unit``; ``(spacing, unit, from_file)``."""
    if spacing is not None:
        if len(spacing) != ndim:
            raise UsageError(
                f"--spacing takes one value per axis of the {ndim}D {what} '{path}' ({axes_names(ndim)}); "
                f"got {len(spacing)}"
            )
        chosen = file_unit if unit is None else (unit or None)
        return tuple(float(s) for s in spacing), chosen, False
    if unit is not None:
        if file_spacing is None:
            raise UsageError(
                f"--unit needs --spacing: {what} '{path}' has no voxel spacing to give a unit to "
                f"(use --spacing {axes_names(ndim)} --unit {unit or 'um'})"
            )
        if file_unit is not None and file_unit != (unit or None):
            raise UsageError(
                f"--unit needs --spacing: {what} '{path}' has its spacing in {file_unit} already "
                "(give --spacing too to replace it)"
            )
        return file_spacing, unit or None, True
    return file_spacing, file_unit, True


def uncalibrated_text(path: str, ndim: int) -> str:
    return (f"'{path}' has no calibration: treating voxels as isotropic "
            f"(use --spacing {axes_names(ndim)} [--unit um] to set it)")


# ---------------------------------------------------------------------------
# labels
# ---------------------------------------------------------------------------


def length_unit(spacing, unit: str | None) -> str:
    """How lengths are labelled: the unit, ``"spacing units"`` for a spacing without one, else ``"voxels"``."""
    if spacing is None:
        return "voxels"
    return unit or "spacing units"


def spacing_text(spacing, unit: str | None, ndim: int) -> str:
    """``"2, 0.5, 0.5 µm (z, y, x)"``; ``"none (lengths in voxels)"`` without spacing."""
    if spacing is None:
        return "none (lengths in voxels)"
    axes = "(z, y, x)" if ndim == 3 else "(y, x)"
    values = ", ".join(f"{float(v):g}" for v in spacing)
    return f"{values} {unit} {axes}" if unit else f"{values} {axes}"


def convert_spacing(spacing, source: str | None, target: str | None):
    """``spacing`` in ``source`` units expressed in ``target`` units (unchanged unless both are known)."""
    if spacing is None or source is None or target is None or source == target:
        return spacing
    from ..io._units import unit_factor

    factor = unit_factor(source, target)
    return tuple(float(s) * factor for s in spacing)
