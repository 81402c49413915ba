"""OME-TIFF calibration: ``PhysicalSizeX/Y/Z`` (+ ``...Unit``) of the OME-XML
``Image/Pixels`` element of the chosen series, and writing OME-TIFF files.

OME's default length unit is µm (a size given without a unit).  All axes are
converted to the x unit.  A 3D image without ``PhysicalSizeZ`` gets z = x,
with a note; a missing x or y size is taken from the other, with a note.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import IO, Any

import numpy as np
import tifffile

from ._calib import describe, file_unit, to_common_unit, z_not_recorded_note
from ._errors import InputError
from ._spacing import Spacing
from ._units import unit_factor

OME_DEFAULT_UNIT = "µm"
#: numpy dtypes OME-TIFF can hold (OME pixel types; bool is OME's "bit")
OME_DTYPES = frozenset(
    np.dtype(t).str
    for t in (bool, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
              np.float32, np.float64, np.complex64, np.complex128)
)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _pixels_elements(xml: str) -> list[tuple[str | None, dict]]:
    """``(Image Name, Pixels attributes)`` of every image in the OME-XML."""
    root = ET.fromstring(xml)
    found = []
    for image in root:
        if _local(image.tag) != "Image":
            continue
        for pixels in image:
            if _local(pixels.tag) == "Pixels":
                found.append((image.attrib.get("Name"), dict(pixels.attrib)))
                break
    return found


def _pixels_of(tif: Any, series: Any) -> dict | None:
    try:
        images = _pixels_elements(tif.ome_metadata or "")
    except ET.ParseError:
        return None
    all_series = [s for s in tif.series if s.kind == "ome"]
    if len(images) == len(all_series) and series in all_series:
        return images[all_series.index(series)][1]
    named = [attrs for name, attrs in images if name is not None and name == series.name]
    return named[0] if len(named) == 1 else None


def _size(attrs: dict, axis: str) -> float | None:
    try:
        value = float(attrs.get(f"PhysicalSize{axis}", "nan"))
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def ome_calibration(
    tif: Any, series: Any, axes: str, shown: str
) -> tuple[Spacing | None, str | None, tuple[str, ...]]:
    """Spacing (array order), unit and notes of ``series`` whose axes after
    channel selection are ``axes`` (``"YX"``/``"ZYX"``)."""
    if axes not in ("YX", "ZYX"):
        return None, None, ()
    attrs = _pixels_of(tif, series)
    if attrs is None:
        return None, None, ()
    wanted = axes[::-1]  # X, Y[, Z]
    sizes = {a: _size(attrs, a) for a in wanted}
    if sizes["X"] is None and sizes["Y"] is None:
        return None, None, ()  # nothing in the plane (a lone z step says nothing)
    units = {
        a: file_unit(attrs.get(f"PhysicalSize{a}Unit", OME_DEFAULT_UNIT), shown)
        for a in wanted if sizes[a] is not None
    }
    notes = []
    if sizes["X"] is None or sizes["Y"] is None:
        have, missing = ("Y", "X") if sizes["X"] is None else ("X", "Y")
        sizes[missing], units[missing] = sizes[have], units[have]
        notes.append(
            f"'{shown}' does not record its {missing.lower()} pixel size: "
            f"assumed equal to {have.lower()} ({sizes[have]:g} {units[have] or 'voxels'})"
        )
    target = units["X"]
    if "Z" in sizes and sizes["Z"] is None:
        sizes["Z"], units["Z"] = sizes["X"], target
        notes.append(z_not_recorded_note(shown, sizes["X"], target, " (no OME PhysicalSizeZ)"))
    order = list(axes)
    spacing = to_common_unit([sizes[a] for a in order], [units[a] for a in order], shown, target)
    return spacing, target, tuple(notes)


def check_agreement(
    shown: str,
    imagej: tuple[Spacing | None, str | None],
    ome: tuple[Spacing | None, str | None],
) -> None:
    """Refuse a file whose ImageJ and OME calibrations contradict each other
    (relative tolerance 1e-4 after unit conversion).  An uncalibrated side,
    or a side without a unit whose numbers agree, is no contradiction."""
    (ij_sp, ij_unit), (ome_sp, ome_unit) = imagej, ome
    if ij_sp is None or ome_sp is None or len(ij_sp) != len(ome_sp):
        return
    factor = 1.0
    if ij_unit is not None and ome_unit is not None:
        factor = unit_factor(ij_unit, ome_unit)
    agree = all(math.isclose(a * factor, b, rel_tol=1e-4) for a, b in zip(ij_sp, ome_sp))
    if not agree:
        raise InputError(
            f"cannot read '{shown}': contradictory calibration: ImageJ says "
            f"{describe(ij_sp, ij_unit)}, OME says {describe(ome_sp, ome_unit)}"
        )


def check_ome_array(shown: str, array: np.ndarray) -> None:
    if array.ndim not in (2, 3):
        raise InputError(
            f"cannot write '{shown}': OME-TIFF output needs a 2D or 3D array, got shape {array.shape}"
        )
    if array.dtype.str not in OME_DTYPES:
        raise InputError(f"cannot write '{shown}': OME-TIFF cannot hold {array.dtype} data")


def write_ome_tiff(
    fh: IO[bytes], array: np.ndarray, spacing: Spacing | None, unit: str | None
) -> None:
    """Write a zlib-compressed OME-TIFF (bool as OME "bit", which tifffile
    reads back as bool).  Without a unit the sizes are marked ``pixel``
    (OME would otherwise take them as µm)."""
    axes = "ZYX" if array.ndim == 3 else "YX"
    metadata: dict[str, Any] = {"axes": axes}
    if spacing is not None:
        for axis, value in zip(axes, spacing):
            metadata[f"PhysicalSize{axis}"] = float(value)
            metadata[f"PhysicalSize{axis}Unit"] = unit if unit is not None else "pixel"
    tifffile.imwrite(
        fh, array, ome=True, photometric="minisblack", compression="zlib", metadata=metadata
    )
