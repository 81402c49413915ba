"""Writing TIFF files: ImageJ hyperstacks where ImageJ can hold the array,
tifffile's "shaped" layout otherwise (see the package docstring)."""

from __future__ import annotations

from typing import IO, Any

import numpy as np
import tifffile

from ._spacing import Spacing
from ._tiff_meta import DTYPE_KEY, YX_SPACING_KEY, imagej_unit_name
from ._units import unit_factor

# dtypes ImageJ can hold natively (bool is stored as uint8 0/1)
_IMAGEJ_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32))


def _imagej_compatible(array: np.ndarray) -> bool:
    if array.dtype != np.bool_ and array.dtype not in _IMAGEJ_DTYPES:
        return False
    if array.ndim == 2:
        return True
    return array.ndim == 3 and array.shape[0] > 1


def write_tiff(
    fh: IO[bytes], array: np.ndarray, spacing: Spacing | None, unit: str | None = None
) -> None:
    if _imagej_compatible(array):
        metadata: dict[str, Any] = {"axes": "ZYX" if array.ndim == 3 else "YX"}
        kwargs: dict[str, Any] = {}
        data = array
        if array.dtype == np.bool_:
            data = array.astype(np.uint8)
            metadata[DTYPE_KEY] = "bool"
        if spacing is not None:
            sy, sx = spacing[-2], spacing[-1]
            kwargs["resolution"] = (1.0 / sx, 1.0 / sy)
            # for 2D images ``spacing`` only marks the file as calibrated
            metadata["spacing"] = spacing[0] if array.ndim == 3 else 1.0
            metadata[YX_SPACING_KEY] = f"{sy!r},{sx!r}"
            if unit is not None:
                metadata["unit"] = imagej_unit_name(unit)
        tifffile.imwrite(
            fh,
            data,
            imagej=True,
            photometric="minisblack",
            compression="zlib",
            metadata=metadata,
            **kwargs,
        )
    else:
        metadata = {}
        kwargs = {}
        if spacing is not None:
            metadata["spacing"] = list(spacing)
            if unit is not None:
                metadata["unit"] = unit
            if array.ndim >= 2:
                # for other readers: pixels per cm when there is a unit
                per = unit_factor("cm", unit) if unit is not None else 1.0
                res = (per / spacing[-1], per / spacing[-2])
                if all(1e-6 < r < 1e9 for r in res):  # what a TIFF rational can hold
                    kwargs["resolution"] = res
                    kwargs["resolutionunit"] = "CENTIMETER" if unit is not None else "NONE"
        tifffile.imwrite(
            fh,
            array,
            photometric="minisblack",
            compression="zlib",
            metadata=metadata,
            **kwargs,
        )
