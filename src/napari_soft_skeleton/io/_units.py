"""Length units: one canonical spelling per unit, conversions, and the names
each file format wants.

The canonical names are the short symbols shown to users (``"nm"``,
``"µm"``, ``"mm"``, ...).  :func:`normalize_unit` accepts the spellings the
formats and tools use (``"um"``, ``"micron"``, ``"micrometer"``, ImageJ's
``"\\u00B5m"``, OME's ``"µm"`` with either mu, UDUNITS' ``"micrometer"`` of
OME-Zarr, NIfTI's unit codes, ...) and refuses anything else with one line.
"""

from __future__ import annotations

from ._errors import InputError

#: canonical symbol -> size in metres
_METRES = {
    "pm": 1e-12,
    "Å": 1e-10,
    "nm": 1e-9,
    "µm": 1e-6,
    "mm": 1e-3,
    "cm": 1e-2,
    "m": 1.0,
    "in": 0.0254,
}

_ALIASES = {
    "pm": "pm", "picometer": "pm", "picometre": "pm",
    "å": "Å", "a": "Å", "angstrom": "Å", "ångström": "Å", "\u212b": "Å",
    "nm": "nm", "nanometer": "nm", "nanometre": "nm", "nanometers": "nm",
    "um": "µm", "µm": "µm", "μm": "µm", "micron": "µm", "microns": "µm", "micrometer": "µm",
    "micrometre": "µm", "micrometers": "µm", "\\u00b5m": "µm", "u": "µm",
    "mm": "mm", "millimeter": "mm", "millimetre": "mm", "millimeters": "mm",
    "cm": "cm", "centimeter": "cm", "centimetre": "cm", "centimeters": "cm",
    "m": "m", "meter": "m", "metre": "m", "meters": "m",
    "in": "in", "inch": "in", "inches": "in",
}

#: spellings that mean "no physical unit" (pixels / voxels)
_NO_UNIT = frozenset({"", "pixel", "pixels", "px", "voxel", "voxels", "dimensionless", "none", "unknown"})

#: OME-Zarr (UDUNITS-2 names, as the NGFF spec lists them)
_NGFF = {
    "pm": "picometer", "Å": "angstrom", "nm": "nanometer", "µm": "micrometer",
    "mm": "millimeter", "cm": "centimeter", "m": "meter", "in": "inch",
}

KNOWN_UNITS = tuple(_METRES)


def normalize_unit(unit: object, *, what: str = "unit") -> str | None:
    """The canonical symbol of ``unit`` (``None`` for no unit: ``None``, ``''``,
    ``'pixel'``, ...); :class:`InputError` for a unit that is not a length."""
    if unit is None:
        return None
    text = str(unit).strip()
    if text.lower() in _NO_UNIT:
        return None
    found = _ALIASES.get(text.lower())
    if found is None:
        raise InputError(
            f"unknown {what} {text!r}; expected a length unit: " + ", ".join(KNOWN_UNITS)
        )
    return found


def unit_factor(source: str, target: str) -> float:
    """How many ``target`` units one ``source`` unit is (both canonical);
    rounded to 15 significant digits (1 µm is 1000.0 nm, not 999.9999999999999)."""
    return float(f"{_METRES[source] / _METRES[target]:.15g}")


def ngff_unit(unit: str | None) -> str | None:
    """The OME-Zarr (UDUNITS) name of a canonical unit."""
    return None if unit is None else _NGFF[unit]


def display_unit(unit: str | None) -> str:
    """How lengths are labelled: the symbol, or ``"voxels"`` without a unit."""
    return unit if unit is not None else "voxels"
