"""Calibration (pixel spacing) stored in TIFF metadata, and the private
ImageJ description keys this package writes."""

from __future__ import annotations

import math
from typing import Any

from ._calib import converted, file_unit, z_not_recorded_note
from ._errors import InputError
from ._spacing import Spacing, normalize_spacing
from ._units import normalize_unit

# ImageJ description entry marking a bool array stored as uint8 0/1
DTYPE_KEY = "soft_skeleton_dtype"
# exact x/y spacing ("y,x" as repr floats); the resolution tags are rationals
# and do not round-trip every float exactly
YX_SPACING_KEY = "soft_skeleton_yx_spacing"
# axes of an ImageJ series (after channel selection) that have a calibration
IMAGEJ_SPATIAL_AXES = ("YX", "ZYX", "IYX", "QYX")


def _resolution_to_spacing(tag: Any) -> float | None:
    if tag is None:
        return None
    value = tag.value
    try:
        if isinstance(value, tuple):
            num, den = value
            res = float(num) / float(den)
        else:
            res = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not math.isfinite(res) or res <= 0:
        return None
    return 1.0 / res


def _exact_yx(raw: Any) -> tuple[float, float] | None:
    if raw is None:
        return None
    try:
        values = tuple(float(v) for v in str(raw).split(","))
    except ValueError:
        return None
    if len(values) != 2 or not all(math.isfinite(v) and v > 0 for v in values):
        return None
    return values  # type: ignore[return-value]


def _resolution_unit(page: Any) -> int:
    tag = page.tags.get("ResolutionUnit") if page is not None else None
    try:
        return int(tag.value) if tag is not None else 2  # TIFF default: inch
    except (TypeError, ValueError):
        return 1


def imagej_unit_name(unit: str) -> str:
    """How a canonical unit is written in an ImageJ description: ``micron``
    for µm (what ImageJ/Fiji write and recognise), ``inch``, ``angstrom``,
    the symbol otherwise (the description is ASCII)."""
    return {"µm": "micron", "in": "inch", "Å": "angstrom"}.get(unit, unit)


def imagej_calibration(
    page: Any, meta: dict, axes: str, shown: str
) -> tuple[Spacing | None, str | None]:
    """Spacing and unit of an ImageJ image whose axes (after channel
    selection) are ``axes``; ``(None, None)`` for uncalibrated files and
    non-spatial axes.

    The unit is the description's ``unit=`` (ImageJ writes ``micron``,
    ``\\u00B5m``, ``nm``, ...; ``pixel`` means none); without one, ImageJ's
    own fallback, the ResolutionUnit tag (inch / cm).  ``yunit=`` /
    ``zunit=`` entries that differ from it are converted to it."""
    spacing = imagej_spacing(page, meta, axes)
    if spacing is None:
        return None, None
    if "unit" in meta:
        unit = file_unit(meta["unit"], shown)
    else:
        unit = {2: "in", 3: "cm"}.get(_resolution_unit(page)) if _has_resolution(page) else None
    if unit is None:
        return spacing, None
    values = list(spacing)
    for key, position in (("yunit", -2), ("zunit", -3)):
        if key in meta and len(values) >= -position:
            other = file_unit(meta[key], shown)
            if other is not None and other != unit:
                values[position] = converted(values[position], other, unit)
    return tuple(values), unit


def _has_resolution(page: Any) -> bool:
    tags = page.tags if page is not None else {}
    res = (_resolution_to_spacing(tags.get("XResolution")), _resolution_to_spacing(tags.get("YResolution")))
    return any(r is not None and r != 1.0 for r in res)


#: micrometres per inch and per centimetre (TIFF ResolutionUnit 2 and 3)
_RESOLUTION_UM = {2: 25400.0, 3: 10000.0}
_RESOLUTION_NAMES = {2: "inch", 3: "cm"}


def resolution_calibration(
    page: Any, axes: str, shown: str
) -> tuple[Spacing | None, str | None, tuple[str, ...]]:
    """Calibration of a baseline TIFF from its XResolution/YResolution tags
    with ResolutionUnit inch or centimetre, in µm; uncalibrated (``None``)
    for ResolutionUnit none, resolution 1/1 or missing tags.  A 3D image
    does not record its z step: it is assumed equal to x, with a note."""
    if page is None or len(axes) not in (2, 3) or axes[-2:] != "YX":
        return None, None, ()
    tags = page.tags
    if tags.get("XResolution") is None or tags.get("YResolution") is None:
        return None, None, ()
    code = _resolution_unit(page)
    if code not in _RESOLUTION_UM:
        return None, None, ()
    values = []
    for name in ("YResolution", "XResolution"):
        step = _resolution_to_spacing(tags.get(name))
        if step is None:
            return None, None, ()
        values.append(step)
    if values == [1.0, 1.0]:
        return None, None, ()
    factor = _RESOLUTION_UM[code]
    sy, sx = (factor * v for v in values)
    per = f"{1 / values[1]:g} pixels per {_RESOLUTION_NAMES[code]}"
    if len(axes) == 2:
        return (sy, sx), "µm", (f"'{shown}': spacing from the TIFF resolution tags ({per})",)
    note = z_not_recorded_note(shown, sx, "µm", f" (TIFF resolution tags: {per})")
    return (sx, sy, sx), "µm", (note,)


def imagej_spacing(page: Any, meta: dict, axes: str) -> Spacing | None:
    """Spacing of an ImageJ image whose axes (after channel selection) are
    ``axes``; ``None`` for uncalibrated files and non-spatial axes."""
    if axes not in IMAGEJ_SPATIAL_AXES:
        return None
    tags = page.tags if page is not None else {}
    sx = _resolution_to_spacing(tags.get("XResolution"))
    sy = _resolution_to_spacing(tags.get("YResolution"))
    z = meta.get("spacing")
    try:
        sz = float(z) if z is not None else None
    except (TypeError, ValueError):
        sz = None
    if sz is not None and not (math.isfinite(sz) and sz > 0):
        sz = None
    calibrated = (
        "spacing" in meta
        or "unit" in meta
        or (sx is not None and sx != 1.0)
        or (sy is not None and sy != 1.0)
    )
    if not calibrated:
        return None
    yx = (sy if sy is not None else 1.0, sx if sx is not None else 1.0)
    exact = _exact_yx(meta.get(YX_SPACING_KEY))
    if exact is not None and all(math.isclose(e, v, rel_tol=1e-6) for e, v in zip(exact, yx)):
        yx = exact  # consistent with the tags: use the exact values written
    if len(axes) == 2:
        return yx
    return (sz if sz is not None else 1.0, *yx)


def shaped_metadata(tif: Any, series: Any) -> dict | None:
    """The JSON metadata (``shape``, ``spacing``, ...) tifffile stored for
    ``series`` of a "shaped" file, or ``None``."""
    metas = tif.shaped_metadata or ()
    position = 0
    for candidate in tif.series:
        if candidate.kind != "shaped" or candidate.keyframe.shaped_description is None:
            continue  # tif.shaped_metadata has entries only for these
        if candidate is series:
            meta = metas[position] if position < len(metas) else None
            return meta if isinstance(meta, dict) else None
        position += 1
    return None


#: Keys of a "shaped" description that hold the spacing, one value per stored axis in array order:
#: ours, and the variants other scripts write (the shipped hemibrain masks have ``spacing_zyx``).
SHAPED_SPACING_KEYS = ("spacing", "spacing_zyx", "spacing_yx", "voxel_size")


def shaped_spacing(tif: Any, series: Any) -> Spacing | None:
    """The ``spacing`` list of a tifffile "shaped" series (one value per
    axis of the stored array), or ``None`` if absent or not usable."""
    meta = shaped_metadata(tif, series)
    raw = None
    for key in SHAPED_SPACING_KEYS if meta is not None else ():
        raw = meta.get(key)
        if raw is not None:
            break
    if raw is None:
        return None
    try:
        return normalize_spacing(raw, len(series.shape))
    except InputError:
        return None


def shaped_unit(tif: Any, series: Any, shown: str) -> tuple[str | None, tuple[str, ...]]:
    """The ``unit`` of a tifffile "shaped" series (written by
    :func:`write_volume` next to ``spacing``), or ``None``; and notes.

    Other writers put free text there (``"um (mm for MRA)"`` in the shipped
    hemibrain masks): when the whole text is not a unit but its first word
    is, that word is used, with a note saying so."""
    meta = shaped_metadata(tif, series)
    text = meta.get("unit") if meta is not None else None
    try:
        return file_unit(text, shown), ()
    except InputError:
        words = str(text).split()
        try:
            unit = normalize_unit(words[0]) if words else None
        except InputError:
            unit = None
        if unit is None:
            raise
        return unit, (f"'{shown}' gives its unit as {str(text)!r}: read as {unit}",)
