"""Validation of physical pixel spacing."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ._errors import InputError

Spacing = tuple[float, ...]


def normalize_spacing(spacing: Sequence[float] | None, ndim: int) -> Spacing | None:
    """Return ``spacing`` as a tuple of ``ndim`` positive finite floats
    (``None`` stays ``None``), or raise :class:`InputError`."""
    if spacing is None:
        return None
    try:
        values = tuple(float(s) for s in spacing)
    except (TypeError, ValueError):
        raise InputError(f"spacing must be a sequence of numbers, got {spacing!r}") from None
    if len(values) != ndim:
        raise InputError(
            f"spacing {values} has {len(values)} values but the array has {ndim} dimensions"
        )
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise InputError(f"spacing values must be positive and finite, got {values}")
    return values
