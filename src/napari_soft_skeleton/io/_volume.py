"""The two entry points: :func:`read_volume` and :func:`write_volume`."""

from __future__ import annotations

import operator
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ._atomic import atomic_directory, atomic_file
from ._calib import no_calibration_note
from ._errors import InputError, display, missing_input, one_line
from ._nifti import check_nifti_array, read_nifti, write_nifti
from ._npy import read_npy, write_npy
from ._nrrd import check_nrrd_array, read_nrrd, write_nrrd
from ._ome_tiff import check_ome_array, write_ome_tiff
from ._paths import (
    NIFTI_EXTENSIONS,
    OME_TIFF_EXTENSIONS,
    TIFF_EXTENSIONS,
    ZARR_EXTENSIONS,
    check_extension,
)
from ._sidecar import check_sidecar_writable, read_sidecar, remove_stale_sidecar, write_sidecar
from ._spacing import normalize_spacing
from ._tiff_read import read_tiff
from ._tiff_write import write_tiff
from ._types import FORMATS, Volume
from ._units import normalize_unit
from ._zarr import check_zarr_array, check_zarr_format, read_zarr, write_ome_zarr


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


def _read_npy_volume(p: Path, shown: str, series: int | None, channel: int | None) -> Volume:
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
    array = read_npy(p, shown)
    spacing, unit, notes = read_sidecar(p, shown, array.ndim)
    if spacing is None and unit is not None:
        spacing = (1.0,) * array.ndim  # a sidecar with a unit only: one unit per voxel
    return Volume(array, spacing, unit=unit, format="npy", notes=notes)


def read_volume(
    path: str | os.PathLike,
    *,
    series: int | None = None,
    channel: int | None = None,
    option_names: Mapping[str, str] | None = None,
    lazy: bool = False,
) -> Volume:
    """Read one image, with its calibration, from a TIFF (ImageJ, OME or
    plain), ``.npy``, OME-Zarr, NIfTI or NRRD file.

    ``lazy=True``: a Zarr store's image comes back as a dask array over its
    chunks, read only when computed (for volumes bigger than memory); the
    other formats are read as usual.

    Returns a :class:`Volume`, which unpacks as ``array, spacing``:
    ``spacing`` has one value per axis of ``array`` (``(z, y, x)`` /
    ``(y, x)``) or is ``None`` when the file has no calibration (then
    ``notes`` says so); ``unit`` is the canonical length unit (``"µm"``,
    ``"nm"``, ...) or ``None``; ``format`` is one of ``"imagej-tiff"``,
    ``"ome-tiff"``, ``"tiff"``, ``"npy"``, ``"ome-zarr"``, ``"zarr"``,
    ``"nifti"``, ``"nrrd"``.  Where the calibration comes from:

    * ImageJ TIFF (axes ``YX``/``ZYX`` after channel selection): x/y from
      the XResolution/YResolution tags, z from ``spacing=`` in the ImageJ
      description, the unit from its ``unit=`` (``micron``, ``\\u00B5m``,
      ``nm``...; ``pixel`` or none: no unit).
    * OME-TIFF: ``PhysicalSizeX/Y/Z`` and their units (µm by default) of the
      chosen series, converted to the x unit; a 3D image without
      ``PhysicalSizeZ`` gets z = x, with a note.  A file that is both ImageJ
      and OME whose calibrations disagree is an :class:`InputError`.
    * tifffile's "shaped" TIFF (what :func:`write_volume` writes for other
      arrays): its JSON ``spacing`` (less the channel axis) and ``unit``.
    * Other TIFF: XResolution/YResolution with ResolutionUnit inch or cm,
      in µm (3D: z = x, with a note); ResolutionUnit none or 1/1: none.
    * ``.npy``: the sidecar ``<stem>.json`` (``{"spacing": [...], "unit":
      "µm"}``) if there is one.
    * OME-Zarr (a ``.zarr`` directory): level 0 of the first multiscale
      image, its ``scale`` transforms and ``axes[].unit``; a plain Zarr
      array is read uncalibrated (format ``"zarr"``).
    * NIfTI: the voxel size and spatial unit of the header.
    * NRRD: ``space directions`` / ``spacings`` and ``space units`` / ``units``.

    ``series`` picks one image series of a file that holds several (a TIFF
    with several series, a bioformats2raw OME-Zarr); it is required then.
    ``channel`` picks one channel of an RGB(A) or other multi-sample image,
    of an ImageJ/OME hyperstack with a channel (``C``) axis, of an OME-Zarr
    image with a ``channel`` axis or of a NIfTI/NRRD vector image; it is
    required then.  A file with one image counts as series 0 and a
    single-channel image as channel 0, so ``series=0``/``channel=0`` are
    always accepted for them.

    ``option_names`` maps ``"series"``/``"channel"`` to the name the caller
    shows to its users, e.g. ``{"series": "--series"}``: error messages then
    say ``choose one with --series N`` instead of ``series=N``.

    Raises :class:`MissingInputError` (a ``FileNotFoundError``) when the file
    does not exist, and :class:`InputError` with a one-line message for an
    unsupported extension, a file that cannot be read, a truncated or
    corrupt TIFF (never a partial image), a time series or an image with
    other non-spatial axes, an unknown unit or contradictory calibration in
    the file, a bad ``.npy`` sidecar, and a missing or out-of-range
    ``series`` / ``channel``; for the last two the error's ``option``
    attribute is ``"series"`` or ``"channel"``.  tifffile's log messages
    are kept off the terminal while reading (see :mod:`._tifflog`).
    ``.npy`` files are loaded with ``allow_pickle=False``.
    """
    shown = display(path)
    ext = check_extension(path)
    series = _check_index(series, "series", option_names)
    channel = _check_index(channel, "channel", option_names)
    p = Path(path)
    if not p.exists():
        raise missing_input(shown)
    if ext in ZARR_EXTENSIONS:
        if not p.is_dir():
            raise InputError(f"cannot read '{shown}': not a Zarr store (a file, not a directory)")
    elif p.is_dir():
        raise InputError(f"cannot read '{shown}': is a directory")
    choose = {"series": series, "channel": channel, "option_names": option_names}
    try:
        if ext == ".npy":
            volume = _read_npy_volume(p, shown, series, channel)
        elif ext in ZARR_EXTENSIONS:
            volume = read_zarr(p, shown, **choose, lazy=lazy)
        elif ext in NIFTI_EXTENSIONS:
            volume = read_nifti(p, shown, **choose)
        elif ext == ".nrrd":
            volume = read_nrrd(p, shown, **choose)
        else:
            volume = read_tiff(p, shown, **choose)
    except InputError:
        raise
    except PermissionError:
        raise InputError(f"cannot read '{shown}': permission denied") from None
    except MemoryError:
        raise InputError(f"cannot read '{shown}': not enough memory") from None
    except Exception as exc:  # damaged files raise all sorts of things
        raise InputError(f"cannot read '{shown}': {one_line(exc) or type(exc).__name__}") from exc
    array = volume.array
    if array.dtype.kind not in "biufc":
        raise InputError(
            f"cannot read '{shown}': unsupported data type {array.dtype} "
            "(expected boolean or numeric data)"
        )
    if volume.spacing is None:
        return Volume(
            array, None, format=volume.format, notes=(*volume.notes, no_calibration_note(shown))
        )
    return volume


def _is_dask(array) -> bool:
    return type(array).__module__.startswith("dask.") and type(array).__name__ == "Array"


def _container(ext: str, format: str | None) -> str:
    if ext in OME_TIFF_EXTENSIONS or (ext in TIFF_EXTENSIONS and format == "ome-tiff"):
        return "ome-tiff"
    if ext in TIFF_EXTENSIONS:
        return "tiff"
    if ext in ZARR_EXTENSIONS:
        return "ome-zarr"
    if ext in NIFTI_EXTENSIONS:
        return "nifti"
    return ext.lstrip(".")  # npy, nrrd


def _stem(path: str | os.PathLike, ext: str) -> str:
    name = Path(path).name
    return name[: -len(ext)] or name


def write_volume(
    path: str | os.PathLike,
    array: np.ndarray,
    *,
    spacing: Sequence[float] | None = None,
    unit: str | None = None,
    format: str | None = None,
    overwrite: bool = True,
    progress=None,
    zarr_format: int = 2,
) -> None:
    """Write ``array`` with its calibration to ``path``, atomically.

    ``array`` may be a dask array (e.g. a lazy skeleton of a volume bigger
    than memory): into ``.zarr`` / ``.ome.zarr`` it is computed and stored
    chunk by chunk, never whole, with ``progress(done, total)`` called as
    chunks are stored; into the other formats it is computed in memory first.

    The extension picks the container: ``.tif``/``.tiff`` (an ImageJ
    hyperstack where ImageJ can hold the array, tifffile's "shaped" TIFF
    otherwise; an OME-TIFF with ``format="ome-tiff"``), ``.ome.tif`` /
    ``.ome.tiff`` (OME-TIFF), ``.npy`` (plus a sidecar ``<stem>.json``
    holding ``spacing`` and ``unit``), ``.zarr`` / ``.ome.zarr`` (a one-level
    OME-Zarr image: NGFF 0.4 on Zarr v2 with ``zarr_format=2``, the default,
    or NGFF 0.5 on Zarr v3 with ``zarr_format=3``; Blosc-zstd chunks; add
    lower resolution levels with :func:`._pyramid.add_levels`), ``.nii`` / ``.nii.gz``
    (NIfTI-1) or ``.nrrd``.  See the package docstring for what each stores.

    ``spacing``: one positive finite value per axis (array order) or
    ``None``; ``unit``: a length unit (``"µm"``, ``"um"``, ``"micron"``,
    ``"nm"``, ... see :func:`normalize_unit`) or ``None``; stored only
    together with a spacing.  NIfTI knows only µm, mm and m: other units are
    stored converted (nm as µm, cm as mm...).  ``format``: the
    :attr:`Volume.format` of the input, used where the extension leaves a
    choice (only ``"ome-tiff"`` for ``.tif``/``.tiff`` changes anything).

    Bad arguments (spacing of the wrong length, zero, negative or NaN; an
    unknown unit or format; an array the format cannot hold) raise
    :class:`InputError` before anything is written.  With
    ``overwrite=False`` an existing output raises :class:`FileExistsError`.
    A file is written to a temporary file in the same directory and renamed
    into place, a ``.zarr`` directory likewise (an existing one is replaced
    only once the new one is complete, and only if it is a Zarr store), so
    ``path`` is either the complete new output or untouched.
    """
    shown = display(path)
    ext = check_extension(path)
    container = _container(ext, format if format in FORMATS else None)
    if not (container == "ome-zarr" and _is_dask(array)):
        array = np.asarray(array)
    if array.dtype.kind not in "biufc":
        raise InputError(f"cannot write '{shown}': unsupported data type {array.dtype}")
    spacing_t = normalize_spacing(spacing, array.ndim)
    zarr_format = check_zarr_format(zarr_format)  # (2 or 3; used by .zarr outputs only)
    unit_c = normalize_unit(unit)
    if format is not None and format not in FORMATS:
        raise InputError(f"unknown format {format!r}; expected one of: {', '.join(FORMATS)}")
    if spacing_t is None:
        unit_c = None  # a unit means nothing without a spacing
    container = _container(ext, format)
    if container in ("tiff", "ome-tiff"):
        if array.ndim < 2:
            raise InputError(
                f"cannot write '{shown}': TIFF needs at least 2 dimensions, got shape {array.shape}"
            )
        if array.size == 0:
            raise InputError(f"cannot write '{shown}': the array is empty (shape {array.shape})")
    if container == "ome-tiff":
        check_ome_array(shown, array)
        with atomic_file(path, overwrite=overwrite) as fh:
            write_ome_tiff(fh, array, spacing_t, unit_c)
    elif container == "tiff":
        with atomic_file(path, overwrite=overwrite) as fh:
            write_tiff(fh, array, spacing_t, unit_c)
    elif container == "ome-zarr":
        check_zarr_array(shown, array)
        with atomic_directory(path, overwrite=overwrite) as directory:
            write_ome_zarr(directory, array, spacing_t, unit_c, _stem(path, ext), progress,
                           zarr_format=zarr_format)
    elif container == "nifti":
        check_nifti_array(shown, array)
        with atomic_file(path, overwrite=overwrite) as fh:
            write_nifti(fh, array, spacing_t, unit_c, compress=ext == ".nii.gz")
    elif container == "nrrd":
        check_nrrd_array(shown, array)
        with atomic_file(path, overwrite=overwrite) as fh:
            write_nrrd(fh, array, spacing_t, unit_c)
    else:
        if spacing_t is not None:
            check_sidecar_writable(path)
        with atomic_file(path, overwrite=overwrite) as fh:
            write_npy(fh, array)
            if spacing_t is not None:  # the .npy is complete in its temporary file
                write_sidecar(path, spacing_t, unit_c)
        if spacing_t is None:
            remove_stale_sidecar(path)
