"""NRRD images (``.nrrd``, header and data in one file) through pynrrd.

NRRD lists its axes fastest first (x, y, z); pynrrd's ``index_order='C'``
returns the data as (z, y, x) but leaves the header fields in file order,
so they are reversed here.  The spacing comes from ``space directions``
(the length of each axis' vector; axes without one are not spatial) or
else ``spacings``; the unit from ``space units`` or else ``units``.  Axes
whose ``kinds`` is ``time`` are time, other non-spatial kinds (``vector``,
``RGB-color``, ``list``, ...) are channels.  bool arrays are stored as
uint8 with the key/value pair ``soft_skeleton_dtype:=bool``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from ._axes import CHANNEL, SPACE, TIME, select_axes, single_image
from ._calib import file_unit, to_common_unit
from ._errors import InputError, one_line
from ._spacing import Spacing
from ._types import Volume

DTYPE_KEY = "soft_skeleton_dtype"
_SPACE_KINDS = frozenset({"domain", "space"})
#: how a canonical unit is written ("microns" as in most microscopy NRRDs)
_NRRD_UNITS = {"µm": "microns", "Å": "angstrom"}


def _axis_kinds(header: dict, ndim: int) -> list[str]:
    directions = header.get("space directions")
    kinds = header.get("kinds")
    result = []
    for i in range(ndim):
        kind = str(kinds[i]).lower() if kinds is not None and i < len(kinds) else None
        if directions is not None:
            row = np.asarray(directions[i], dtype=float) if directions[i] is not None else None
            spatial = row is not None and bool(np.all(np.isfinite(row)))
        else:
            spatial = kind is None or kind in _SPACE_KINDS
        result.append(SPACE if spatial else TIME if kind == "time" else CHANNEL)
    return result


def _units(header: dict, kept: tuple[int, ...], shown: str) -> list[str | None]:
    space_units = header.get("space units")
    if space_units is not None:
        found = {file_unit(u, shown) for u in space_units}
        if len(found) > 1:
            raise InputError(
                f"cannot read '{shown}': its 'space units' differ ({', '.join(map(str, space_units))})"
            )
        return [found.pop() if found else None] * len(kept)
    units = header.get("units")
    if units is not None and len(units) == int(header.get("dimension", 0)):
        return [file_unit(units[i], shown) for i in kept]
    return [None] * len(kept)


def _spacing(header: dict, kept: tuple[int, ...]) -> list[float] | None:
    directions = header.get("space directions")
    if directions is not None:
        return [float(np.linalg.norm(np.asarray(directions[i], dtype=float))) for i in kept]
    spacings = header.get("spacings")
    if spacings is not None:
        return [float(spacings[i]) for i in kept]
    return None


def read_nrrd(
    p: Path,
    shown: str,
    *,
    series: int | None,
    channel: int | None,
    option_names: Mapping[str, str] | None,
) -> Volume:
    import nrrd

    single_image(shown, series)
    with open(p, "rb") as fh:
        if not fh.read(4) == b"NRRD":
            raise InputError(f"cannot read '{shown}': not an NRRD file")
    try:
        data, header = nrrd.read(str(p), index_order="C")
    except nrrd.NRRDError as exc:
        raise InputError(f"cannot read '{shown}': invalid NRRD file ({one_line(exc)})") from None
    ndim = data.ndim
    kinds = _axis_kinds(header, ndim)  # file order: x first
    labels, count = "", 0
    for kind in kinds:
        labels += ("XYZ"[count] if count < 3 else "S") if kind == SPACE else kind[0].upper()
        count += kind == SPACE
    c_kinds = kinds[::-1]
    index, kept_c = select_axes(shown, data.shape, c_kinds, labels[::-1], channel, option_names)
    array = np.asarray(data[index])
    if str(header.get(DTYPE_KEY, "")) == "bool" and array.dtype == np.uint8:
        array = array.astype(bool)
    kept = tuple(ndim - 1 - i for i in kept_c)  # the same axes in file order
    values = _spacing(header, kept)
    if values is None:
        return Volume(array, None, format="nrrd")
    if not all(math.isfinite(v) and v > 0 for v in values):
        return Volume(array, None, format="nrrd", notes=(f"'{shown}' has invalid spacings {values}: ignored",))
    units = _units(header, kept, shown)
    target = units[-1] if units else None
    spacing = to_common_unit(values, units, shown, target)
    return Volume(array, spacing, unit=target, format="nrrd")


def check_nrrd_array(shown: str, array: np.ndarray) -> None:
    if array.ndim < 1 or array.dtype.kind == "c" or array.dtype == np.float16:
        raise InputError(f"cannot write '{shown}': NRRD cannot hold {array.dtype} data of shape {array.shape}")


def write_nrrd(fh: IO[bytes], array: np.ndarray, spacing: Spacing | None, unit: str | None) -> None:
    import nrrd

    header: dict[str, Any] = {}
    data = array
    if array.dtype == np.bool_:
        data = array.astype(np.uint8)
        header[DTYPE_KEY] = "bool"
    if spacing is not None:
        values = list(spacing)[::-1]  # file order
        header["space dimension"] = len(values)
        header["space directions"] = np.diag(values)
        if unit is not None:
            header["space units"] = [_NRRD_UNITS.get(unit, unit)] * len(values)
    nrrd.write(fh, np.ascontiguousarray(data), header, index_order="C")
