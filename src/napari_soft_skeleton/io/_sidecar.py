"""The calibration sidecar of a ``.npy`` file: ``<stem>.json`` next to it,
``{"spacing": [z, y, x], "unit": "µm"}`` (either key optional).

A JSON file of that name that is not an object with a ``spacing`` or
``unit`` key is someone else's file: it is ignored (with a note) when
reading, and never overwritten or removed when writing.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from ._atomic import atomic_file
from ._calib import file_unit
from ._errors import InputError, display, one_line
from ._spacing import Spacing

KEYS = ("spacing", "unit")


def sidecar_path(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p.with_name(p.name[: -len(p.suffix)] + ".json") if p.suffix else p.with_name(p.name + ".json")


def _load(side: Path, shown_side: str, where: str) -> object:
    try:
        text = side.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read '{shown_side}'{where}: {one_line(exc)}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"cannot read '{shown_side}'{where}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def _is_sidecar(data: object) -> bool:
    return isinstance(data, dict) and any(k in data for k in KEYS)


def read_sidecar(
    path: Path, shown: str, ndim: int
) -> tuple[Spacing | None, str | None, tuple[str, ...]]:
    """Spacing, unit and notes from the sidecar of ``path`` (an array with
    ``ndim`` dimensions); ``(None, None, ())`` when there is none."""
    side = sidecar_path(path)
    if not side.is_file():
        return None, None, ()
    shown_side = display(side)
    where = f" (calibration of '{shown}')"
    data = _load(side, shown_side, where)
    if not _is_sidecar(data):
        return None, None, (f"'{shown_side}' holds no 'spacing' or 'unit': not used as calibration",)
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise InputError(
            f"cannot read '{shown_side}'{where}: unexpected key {unknown[0]!r}; expected 'spacing' and 'unit'"
        )
    unit = data.get("unit")
    if unit is not None and not isinstance(unit, str):
        raise InputError(f"cannot read '{shown_side}'{where}: 'unit' must be a string, got {unit!r}")
    unit = file_unit(unit, shown_side, where)
    raw = data.get("spacing")
    if raw is None:
        return None, unit, ()
    if not isinstance(raw, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw
    ):
        raise InputError(
            f"cannot read '{shown_side}'{where}: 'spacing' must be a list of numbers, got {one_line(json.dumps(raw))}"
        )
    if len(raw) != ndim:
        raise InputError(
            f"cannot read '{shown_side}'{where}: 'spacing' has {len(raw)} values but the array "
            f"has {ndim} dimensions"
        )
    values = tuple(float(v) for v in raw)
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise InputError(
            f"cannot read '{shown_side}'{where}: spacing values must be positive and finite, got {list(values)}"
        )
    return values, unit, ()


def check_sidecar_writable(path: str | os.PathLike) -> None:
    """Refuse to write ``path``'s sidecar over a JSON file that is not one."""
    side = sidecar_path(path)
    if side.is_dir():
        raise InputError(f"cannot write '{display(side)}' (calibration of '{display(path)}'): is a directory")
    if side.exists() and not _owned(side):
        raise InputError(
            f"cannot write '{display(side)}' (calibration of '{display(path)}'): "
            "the file exists and is not a calibration sidecar"
        )


def _owned(side: Path) -> bool:
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return _is_sidecar(data) and set(data) <= set(KEYS)


def write_sidecar(path: str | os.PathLike, spacing: Spacing, unit: str | None) -> None:
    data: dict[str, object] = {"spacing": list(spacing)}
    if unit is not None:
        data["unit"] = unit
    text = json.dumps(data, ensure_ascii=False) + "\n"
    with atomic_file(sidecar_path(path)) as fh:
        fh.write(text.encode("utf-8"))


def remove_stale_sidecar(path: str | os.PathLike) -> None:
    """Remove a sidecar left by an earlier write of ``path`` (an array
    written without calibration must not pick up the old one)."""
    side = sidecar_path(path)
    if side.is_file() and _owned(side):
        side.unlink()
