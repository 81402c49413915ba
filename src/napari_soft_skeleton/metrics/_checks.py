"""Input checks and small helpers shared by the metrics."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

def _as_mask(array, name: str) -> np.ndarray:
    """Return a boolean 2D/3D view or copy of ``array`` (nonzero = True).

    Raises ``ValueError`` for non-numeric input, wrong dimensionality, or
    floating-point input with values other than 0 and 1. Never modifies
    ``array``.
    """
    try:
        arr = np.asarray(array)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{name} must be a 2D or 3D numeric array; could not convert it "
            f"to an array ({exc})"
        ) from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} must be a boolean, integer or 0/1 floating-point array; "
            f"got dtype {arr.dtype}"
        )
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"{name} must be a 2D or 3D array; got {arr.ndim}D array of "
            f"shape {arr.shape}"
        )
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind == "f":
        binary = (arr == 0) | (arr == 1)
        if not binary.all():
            bad = arr[~binary].flat[0]
            raise ValueError(
                f"{name} must be binary: floating-point input may only "
                f"contain 0 and 1 (threshold soft skeletons first); got "
                f"value {bad!r}"
            )
    return arr != 0


def _check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str):
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape; got "
            f"{a.shape} and {b.shape}"
        )


def _check_spacing(spacing, ndim: int) -> tuple[float, ...] | None:
    if spacing is None:
        return None
    if isinstance(spacing, numbers.Real) and not isinstance(spacing, bool):
        values = (float(spacing),) * ndim
    else:
        try:
            values = tuple(float(s) for s in np.asarray(spacing, dtype=float).ravel())
            shape = np.shape(spacing)
        except (TypeError, ValueError):
            raise ValueError(
                f"spacing must be None, a positive number or a sequence of "
                f"{ndim} positive numbers; got {spacing!r}"
            ) from None
        if len(shape) != 1 or len(values) != ndim:
            raise ValueError(
                f"spacing must have one value per axis ({ndim}); got "
                f"{spacing!r}"
            )
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(
            f"spacing values must be finite and positive; got {spacing!r}"
        )
    return values


def _check_tolerance(tolerance) -> float:
    if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real):
        raise ValueError(
            f"tolerance must be a non-negative real number; got {tolerance!r}"
        )
    value = float(tolerance)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(
            f"tolerance must be finite and non-negative; got {tolerance!r}"
        )
    return value


def _bounding_box(mask: np.ndarray) -> tuple[slice, ...] | None:
    """Tight bounding box of the True voxels, or None if there are none."""
    box = []
    for axis in range(mask.ndim):
        others = tuple(a for a in range(mask.ndim) if a != axis)
        present = np.flatnonzero(mask.any(axis=others))
        if present.size == 0:
            return None
        box.append(slice(int(present[0]), int(present[-1]) + 1))
    return tuple(box)


def _ratio(numerator: int, denominator: int) -> float:
    """``numerator / denominator`` with the vacuous convention 0/0 = 1."""
    return 1.0 if denominator == 0 else numerator / denominator


def _harmonic(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2.0 * p * r / (p + r)


def _to_builtin(value: Any) -> Any:
    """Convert numpy containers/scalars to JSON-friendly Python objects.

    Non-finite floats (NaN, inf) become ``None`` so that the result is
    strict JSON.
    """
    if isinstance(value, dict):
        return {str(k): _to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_builtin(v) for v in value]
    if isinstance(value, np.ndarray):
        return _to_builtin(value.tolist())
    if isinstance(value, np.generic):
        return _to_builtin(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value



class _JSONFields:
    """``to_dict()`` for the result dataclasses below."""

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-serialisable Python objects.

        Tuples and arrays become lists, numpy scalars become Python numbers
        and NaN becomes ``None``, so ``json.dumps(result.to_dict(),
        allow_nan=False)`` works.
        """
        return {name: _to_builtin(getattr(self, name)) for name in self.__dataclass_fields__}


