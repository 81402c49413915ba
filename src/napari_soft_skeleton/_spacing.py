"""The one check of a voxel spacing argument, shared by the front ends."""

from __future__ import annotations

import numpy as np


def check_spacing(spacing, ndim: int) -> tuple[float, ...] | None:
    """``spacing`` as a tuple of ``ndim`` positive finite floats (None stays None); else a one-line ValueError."""
    if spacing is None:
        return None
    try:
        values = tuple(float(s) for s in spacing)
    except (TypeError, ValueError):
        raise ValueError(f"spacing must be {ndim} positive numbers, one per axis; got {spacing!r}") from None
    if len(values) != ndim or not all(np.isfinite(s) and s > 0 for s in values):
        raise ValueError(f"spacing must be {ndim} positive numbers, one per axis; got {spacing!r}")
    return values
