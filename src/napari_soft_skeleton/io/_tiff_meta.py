"""Calibration (pixel spacing) stored in TIFF metadata, and the private
ImageJ description keys this package writes."""

from __future__ import annotations

import math
from typing import Any

from ._errors import InputError
from ._spacing import Spacing, normalize_spacing

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


def shaped_spacing(tif: Any, series: Any) -> Spacing | None:
    """The ``spacing`` list of a tifffile "shaped" series (one value per
    axis of the stored array), or ``None`` if absent or not usable."""
    meta = shaped_metadata(tif, series)
    raw = meta.get("spacing") if meta is not None else None
    if raw is None:
        return None
    try:
        return normalize_spacing(raw, len(series.shape))
    except InputError:
        return None
