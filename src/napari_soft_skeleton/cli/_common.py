"""What every command needs: exit codes, option types, reading inputs, checking outputs, progress."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import os
import sys
import types
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._messages import CLI, rephrase
from ..io import InputError, Volume, check_output_path, read_volume

PROG = "soft-skeleton"
FIGURE_EXTENSIONS = (".png", ".pdf", ".svg")
#: Most candidates ``compare`` takes at once (they are letters B, C, ... in its table and figure).
MAX_CANDIDATES = 6

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Invalid command line (reported with exit status 2)."""


# ---------------------------------------------------------------------------
# option types
# ---------------------------------------------------------------------------


def iterations_type(text: str) -> int | str:
    if text.strip().lower() == "auto":
        return "auto"
    return index_type(text, "a non-negative integer or 'auto'")


def finite_float_type(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a finite number")
    return value


def tolerance_type(text: str) -> float:
    value = finite_float_type(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a number >= 0")
    return value


def positive_float_type(text: str) -> float:
    value = finite_float_type(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a number > 0")
    return value


def positive_int_type(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a whole number > 0") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a whole number > 0")
    return value


_SIZES = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20,
          "gib": 2**30, "tib": 2**40}


def memory_type(text: str) -> int:
    """A memory size such as ``2GB``, ``500MB``, ``1.5GiB`` or a number of bytes, in bytes (at least 64 MB)."""
    import re

    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _SIZES:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: expected e.g. 2GB, 500MB or 1.5GiB")
    value = int(float(match.group(1)) * _SIZES[unit])
    if value < 64 * 10**6:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: expected at least 64MB")
    return value


def levels_type(text: str) -> int | None:
    """``auto`` (None: as many pyramid levels as :func:`..io._pyramid.add_levels` chooses) or 0 to 9."""
    if text.strip().lower() == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 9:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected 'auto' or a whole number from 0 to 9")
    return value


def unit_interval_type(text: str) -> float:
    value = finite_float_type(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a number in [0, 1]")
    return value


def index_type(text: str, expected: str = "a non-negative integer") -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected {expected}")
    return value


# ---------------------------------------------------------------------------
# messages
# ---------------------------------------------------------------------------


def one_line(text: object) -> str:
    return rephrase(" ".join(str(text).split()), CLI)


def error_message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, InputError) and exc.strerror:
        name = exc.filename
        return f"{name}: {exc.strerror}" if name else str(exc.strerror)
    return one_line(exc) or type(exc).__name__


def is_library_error(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module == "napari_soft_skeleton" or module.startswith("napari_soft_skeleton.")


def print_error(message: str) -> None:
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr)


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    stream = file if file is not None else sys.stderr
    try:
        print(f"{PROG}: warning: {one_line(message)}", file=stream)
    except Exception:
        pass


def library_function(name: str, module: str) -> Callable[..., Any]:
    """``napari_soft_skeleton.<name>``, imported lazily (falling back to the submodule that defines it)."""
    pkg = importlib.import_module("napari_soft_skeleton")
    obj = getattr(pkg, name, None)
    if callable(obj) and not isinstance(obj, types.ModuleType):
        return obj
    return getattr(importlib.import_module(f"napari_soft_skeleton.{module}"), name)


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------


def same_file(a: str, b: str) -> bool:
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.abspath(a) == os.path.abspath(b)


def check_output(path: str, inputs: Sequence[str | None], extensions: Sequence[str] | None = None) -> None:
    check_output_path(path, extensions=extensions)
    for src in inputs:
        if src is not None and same_file(path, src):
            raise InputError(f"output '{path}' is the same file as input '{src}'")


#: How read_volume's errors name its choices on the command line.
_FLAGS = {"series": "--series", "channel": "--channel"}


def read_image(path: str, what: str, *, spacing: Sequence[float] | None = None, unit: str | None = None,
               calibrated: bool = True, uncalibrated: str | None = None, lazy: bool = False,
               **choose: Any) -> Volume:
    """A 2D/3D image with its calibration, as a :class:`~napari_soft_skeleton.io.Volume`.

    Unpacks as ``array, spacing``; ``.unit``, ``.format`` and ``.notes`` as
    read, except that ``spacing``/``unit`` (``--spacing``/``--unit``, see
    :mod:`._calibration`) replace or label the file's.  ``choose``:
    ``series=``/``channel=`` for :func:`read_volume`.  The file's notes, and
    that it has no calibration (``uncalibrated``: what is done instead; default
    isotropic voxels), are said once per file on stderr.  ``calibrated=False``
    (a mask): the calibration is neither checked nor reported.  ``lazy=True``:
    a Zarr store's image is a dask array, not read here (its values are then
    not checked for NaN: that would read it all).
    """
    from ._calibration import calibrate, note, uncalibrated_text

    volume = read_volume(path, **choose, option_names=_FLAGS, lazy=lazy)
    array, file_spacing = volume
    if array.ndim not in (2, 3):
        raise InputError(
            f"{what} '{path}' has {array.ndim} dimension{'s' if array.ndim != 1 else ''} "
            f"(shape {array.shape}); only 2D and 3D images are accepted"
        )
    if array.size == 0:
        raise InputError(f"{what} '{path}' is empty (shape {array.shape})")
    if array.dtype.kind == "c":
        raise InputError(f"{what} '{path}' has complex values ({array.dtype}); expected real numbers")
    if array.dtype.kind == "f" and isinstance(array, np.ndarray) and not np.isfinite(array).all():
        raise InputError(f"{what} '{path}' contains NaN or infinite values")
    if file_spacing is not None and len(file_spacing) != array.ndim:
        file_spacing = None
    file_unit = getattr(volume, "unit", None)
    fmt = getattr(volume, "format", "npy")
    notes = tuple(getattr(volume, "notes", ()))
    if not calibrated:
        return Volume(array, file_spacing, unit=file_unit, format=fmt, notes=notes)
    spacing_t, unit_t, from_file = calibrate(path, what, array.ndim, file_spacing, file_unit, spacing, unit)
    if from_file:
        for text in notes:
            if spacing_t is not None or "no calibration" not in text:
                note(path, text)
        if spacing_t is None:  # (once per file, whichever input it is)
            note(path, uncalibrated or uncalibrated_text(path, array.ndim), kind="uncalibrated")
    return Volume(array, spacing_t, unit=unit_t, format=fmt, notes=notes)


def format_shape(shape: Sequence[int]) -> str:
    return "x".join(str(int(s)) for s in shape)


# ---------------------------------------------------------------------------
# progress
# ---------------------------------------------------------------------------


def isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:
        return False


class ProgressBar:
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

                self.bar = tqdm(total=total, desc=self.desc, file=sys.stderr, leave=False,
                                dynamic_ncols=True, unit="step")
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


@contextlib.contextmanager
def writing(path: str):
    """An ``OSError`` while writing ``path`` becomes one line naming ``path``.

    (The library writes to a temporary file next to it first; its name means
    nothing to the user.)
    """
    try:
        yield
    except InputError:
        raise
    except OSError as exc:
        reason = exc.strerror or one_line(exc) or type(exc).__name__
        raise InputError(f"cannot write '{path}': {reason}") from exc
