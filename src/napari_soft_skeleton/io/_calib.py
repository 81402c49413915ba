"""Helpers for the calibration (spacing + unit) that readers find in files."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._errors import InputError
from ._spacing import Spacing
from ._units import normalize_unit, unit_factor


def file_unit(text: object, shown: str, where: str = "") -> str | None:
    """:func:`normalize_unit` for a unit found in a file: an unknown unit is
    an :class:`InputError` that names the file (``where`` adds e.g.
    ``" (calibration of 'x.npy')"``)."""
    try:
        return normalize_unit(text)
    except InputError as exc:
        raise InputError(f"cannot read '{shown}'{where}: {exc}") from None


def to_common_unit(
    values: Sequence[float], units: Sequence[str | None], shown: str, target: str | None
) -> Spacing:
    """``values`` (each in its own unit of ``units``) converted to ``target``.

    A mix of physical units and none (pixels) is an :class:`InputError`."""
    out = []
    for value, unit in zip(values, units):
        if unit == target:
            out.append(float(value))
        elif unit is None or target is None:
            raise InputError(
                f"cannot read '{shown}': its axes mix physical and pixel units "
                f"({', '.join(u or 'pixel' for u in units)})"
            )
        else:
            out.append(converted(float(value), unit, target))
    return tuple(out)


def converted(value: float, unit: str, target: str) -> float:
    """``value`` in ``unit`` expressed in ``target``, rounded to 15 significant
    digits so that exact conversions stay exact (0.3 µm -> 300.0 nm)."""
    return float(f"{value * unit_factor(unit, target):.15g}")


def from_float32(value: float) -> float:
    """A float32 header value as the shortest decimal it stands for (a pixel
    size of 0.1 stored as float32 comes back as 0.1, not 0.10000000149)."""
    return float(str(np.float32(value)))


def describe(spacing: Sequence[float], unit: str | None) -> str:
    """``"5 x 1 x 1 µm"`` (``"voxels"`` without a unit)."""
    return " x ".join(f"{v:g}" for v in spacing) + " " + (unit or "voxels")


def no_calibration_note(shown: str) -> str:
    return f"'{shown}' has no calibration: isotropic voxels assumed"


def z_not_recorded_note(shown: str, x: float, unit: str | None, where: str = "") -> str:
    return (
        f"'{shown}' does not record its z step{where}: "
        f"assumed equal to the x spacing ({x:g} {unit or 'voxels'})"
    )
