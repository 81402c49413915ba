"""NIfTI-1/2 images (``.nii``, ``.nii.gz``) through nibabel.

NIfTI stores axes x, y, z (then t, then vector components); arrays here are
(z, y, x), so data are transposed both ways.  The spacing is the voxel size
(``pixdim``, float32 in the file: values come back as the shortest decimal
they stand for), the unit the header's spatial unit (``mm``, ``micron``,
``meter``; ``unknown`` is none).  NIfTI knows only those three units, so
:func:`write_nifti` stores nm, pm and Å as µm and cm and inches as mm (the
spacing converted).  A header with unit ``unknown`` and voxel size 1 is
uncalibrated.  bool arrays are stored as uint8 with the header description
:data:`BOOL_MARK`.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import numpy as np

from ._axes import CHANNEL, OTHER, SPACE, TIME, select_axes, single_image
from ._calib import converted, file_unit, from_float32
from ._errors import InputError
from ._spacing import Spacing
from ._types import Volume

BOOL_MARK = b"soft_skeleton_dtype=bool"
#: canonical unit -> (NIfTI unit name, canonical unit it is stored in)
_STORED = {
    "µm": ("micron", "µm"), "nm": ("micron", "µm"), "pm": ("micron", "µm"), "Å": ("micron", "µm"),
    "mm": ("mm", "mm"), "cm": ("mm", "mm"), "in": ("mm", "mm"), "m": ("meter", "m"),
}
_LABELS = "XYZTUVW"


def read_nifti(
    p: Path,
    shown: str,
    *,
    series: int | None,
    channel: int | None,
    option_names: Mapping[str, str] | None,
) -> Volume:
    import nibabel as nib

    single_image(shown, series)
    try:
        img = nib.load(str(p))
    except nib.filebasedimages.ImageFileError:
        raise InputError(f"cannot read '{shown}': not a NIfTI file") from None
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise InputError(f"cannot read '{shown}': not a NIfTI file")
    header = img.header
    shape = tuple(int(n) for n in img.shape)
    ndim = len(shape)
    nspace = min(ndim, 3)
    kinds = [SPACE] * nspace + [TIME] * (ndim > 3) + [CHANNEL] * (ndim > 4) + [OTHER] * max(0, ndim - 5)
    labels = _LABELS[:ndim]
    index, _ = select_axes(shown, shape, kinds, labels, channel, option_names)
    data = np.asanyarray(img.dataobj)[index]  # x, y, z
    data = np.ascontiguousarray(data.transpose())
    if bytes(header["descrip"]).rstrip(b"\0") == BOOL_MARK and data.dtype == np.uint8:
        data = data.astype(bool)
    zooms = [from_float32(z) for z in header.get_zooms()[:nspace]][::-1]
    unit = file_unit(header.get_xyzt_units()[0], shown)
    if not all(math.isfinite(z) and z > 0 for z in zooms):
        note = f"'{shown}' has invalid voxel sizes {zooms}: ignored"
        return Volume(data, None, format="nifti", notes=(note,))
    if unit is None and all(z == 1.0 for z in zooms):
        return Volume(data, None, format="nifti")
    return Volume(data, tuple(zooms), unit=unit, format="nifti")


def check_nifti_array(shown: str, array: np.ndarray) -> None:
    import nibabel as nib

    if array.ndim not in (2, 3):
        raise InputError(
            f"cannot write '{shown}': NIfTI output needs a 2D or 3D array, got shape {array.shape}"
        )
    if array.dtype != np.bool_:
        try:
            nib.Nifti1Header().set_data_dtype(array.dtype)
        except nib.spatialimages.HeaderDataError:
            raise InputError(f"cannot write '{shown}': NIfTI cannot hold {array.dtype} data") from None


def write_nifti(
    fh: IO[bytes], array: np.ndarray, spacing: Spacing | None, unit: str | None, compress: bool
) -> None:
    import nibabel as nib

    data = array.astype(np.uint8) if array.dtype == np.bool_ else array
    zooms = [1.0] * 3
    stored = None
    if spacing is not None:
        values = list(spacing)
        if unit is not None:
            stored, canonical = _STORED[unit]
            values = [converted(v, unit, canonical) for v in values]
        zooms[: len(values)] = values[::-1]  # x, y[, z]
    img = nib.Nifti1Image(np.ascontiguousarray(data.transpose()), np.diag([*zooms, 1.0]))
    img.header.set_xyzt_units(xyz=stored or "unknown")
    if array.dtype == np.bool_:
        img.header["descrip"] = BOOL_MARK
    payload = img.to_bytes()
    if compress:
        with gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=6, mtime=0) as gz:
            gz.write(payload)
    else:
        fh.write(payload)
