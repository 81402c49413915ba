"""The two entry points: :func:`read_volume` and :func:`write_volume`."""

from __future__ import annotations

import operator
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ._atomic import atomic_file
from ._errors import InputError, display, missing_input, one_line
from ._npy import read_npy, write_npy
from ._paths import TIFF_EXTENSIONS, check_extension
from ._spacing import Spacing, normalize_spacing
from ._tiff_read import read_tiff
from ._tiff_write import write_tiff


def _check_index(value: object, option: str, option_names: Mapping[str, str] | None) -> int | None:
    if value is None:
        return None
    name = (option_names or {}).get(option, option)
    index = None
    if not isinstance(value, bool):
        try:
            index = operator.index(value)
        except TypeError:
            pass
    if index is None or index < 0:
        raise InputError(f"{name} must be a non-negative integer, got {value!r}", option=option)
    return index


def _read_npy_volume(p: Path, shown: str, series: int | None, channel: int | None) -> np.ndarray:
    if series:
        raise InputError(
            f"cannot read '{shown}': there is no image series {series}; "
            "a .npy file holds a single array (valid: 0)",
            option="series",
        )
    if channel:
        raise InputError(
            f"cannot read '{shown}': there is no channel {channel}; "
            ".npy arrays are read as single-channel images (valid: 0)",
            option="channel",
        )
    return read_npy(p, shown)


def read_volume(
    path: str | os.PathLike,
    *,
    series: int | None = None,
    channel: int | None = None,
    option_names: Mapping[str, str] | None = None,
) -> tuple[np.ndarray, Spacing | None]:
    """Read one image from a ``.tif``/``.tiff`` or ``.npy`` file.

    Returns ``(array, spacing)``; ``spacing`` has one value per axis of
    ``array`` (``(z, y, x)`` / ``(y, x)``) or is ``None`` when the file has
    no calibration:

    * ImageJ TIFF with axes ``YX`` or ``ZYX`` (after channel selection): x/y
      from the XResolution and YResolution tags (spacing = 1 / resolution),
      z from ``spacing=`` in the ImageJ description (1.0 if absent).
      ``None`` when the file has neither a ``spacing``/``unit`` entry nor
      resolution tags other than 1.
    * TIFF in tifffile's "shaped" layout (what :func:`write_volume` writes
      for other arrays) with a ``spacing`` list of one value per stored
      axis: that spacing, less the channel axis if one was selected.
    * Any other TIFF (OME included), and ``.npy``: ``None``.

    ``series`` picks one image series of a TIFF file that holds several
    (tifffile's view: e.g. an OME file with several images, or a plain
    multi-page file whose pages differ in shape); it is required then.
    ``channel`` picks one channel of an RGB(A) or other multi-sample image
    or of an ImageJ/OME hyperstack with a channel (``C``) axis; it is
    required then.  A single-series file counts as series 0 and a
    single-channel image (and any ``.npy`` array) as channel 0, so
    ``series=0``/``channel=0`` are always accepted for them.

    ``option_names`` maps ``"series"``/``"channel"`` to the name the caller
    shows to its users, e.g. ``{"series": "--series"}``: error messages then
    say ``choose one with --series N`` instead of ``series=N``.

    Raises :class:`MissingInputError` (a ``FileNotFoundError``) when the file
    does not exist, and :class:`InputError` with a one-line message for an
    unsupported extension, a file that cannot be read, a truncated or
    corrupt TIFF (never a partial image), a time series or an image with
    other non-spatial axes, and a missing or out-of-range ``series`` /
    ``channel``; for the last two the error's ``option`` attribute is
    ``"series"`` or ``"channel"``.  tifffile's log messages are kept off
    the terminal while reading (see :mod:`._tifflog`).  ``.npy`` files are
    loaded with ``allow_pickle=False``.
    """
    shown = display(path)
    ext = check_extension(path)
    series = _check_index(series, "series", option_names)
    channel = _check_index(channel, "channel", option_names)
    p = Path(path)
    if not p.exists():
        raise missing_input(shown)
    if p.is_dir():
        raise InputError(f"cannot read '{shown}': is a directory")
    try:
        if ext == ".npy":
            array, spacing = _read_npy_volume(p, shown, series, channel), None
        else:
            array, spacing = read_tiff(
                p, shown, series=series, channel=channel, option_names=option_names
            )
    except InputError:
        raise
    except PermissionError:
        raise InputError(f"cannot read '{shown}': permission denied") from None
    except MemoryError:
        raise InputError(f"cannot read '{shown}': not enough memory") from None
    except Exception as exc:  # damaged files raise all sorts of things
        raise InputError(f"cannot read '{shown}': {one_line(exc) or type(exc).__name__}") from exc
    if array.dtype.kind not in "biufc":
        raise InputError(
            f"cannot read '{shown}': unsupported data type {array.dtype} "
            "(expected boolean or numeric data)"
        )
    return array, spacing


def write_volume(
    path: str | os.PathLike,
    array: np.ndarray,
    *,
    spacing: Sequence[float] | None = None,
    overwrite: bool = True,
) -> None:
    """Write ``array`` to ``path`` (``.tif``, ``.tiff`` or ``.npy``), atomically.

    ``spacing`` (one positive value per axis, array order) is stored in TIFF
    files (see the package docstring for the layout) and ignored for
    ``.npy``, which has no place for it.  With ``overwrite=False`` an
    existing file raises :class:`FileExistsError`.  The file is written to a
    temporary file in the same directory and renamed into place, so ``path``
    is either the complete new file or untouched.
    """
    shown = display(path)
    ext = check_extension(path)
    array = np.asarray(array)
    if array.dtype.kind not in "biufc":
        raise InputError(f"cannot write '{shown}': unsupported data type {array.dtype}")
    spacing_t = normalize_spacing(spacing, array.ndim)
    if ext in TIFF_EXTENSIONS:
        if array.ndim < 2:
            raise InputError(
                f"cannot write '{shown}': TIFF needs at least 2 dimensions, got shape {array.shape}"
            )
        if array.size == 0:
            raise InputError(f"cannot write '{shown}': the array is empty (shape {array.shape})")
        with atomic_file(path, overwrite=overwrite) as fh:
            write_tiff(fh, array, spacing_t)
    else:
        with atomic_file(path, overwrite=overwrite) as fh:
            write_npy(fh, array)
