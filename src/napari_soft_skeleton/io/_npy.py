"""NumPy ``.npy`` files (no pickled objects, no metadata)."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import numpy as np

from ._errors import InputError, one_line


def read_npy(p: Path, shown: str) -> np.ndarray:
    with open(p, "rb") as fh:
        magic = fh.read(6)
    if magic != b"\x93NUMPY":
        raise InputError(f"cannot read '{shown}': not a NumPy .npy file")
    try:
        array = np.load(p, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise InputError(
                f"cannot read '{shown}': contains Python objects, which are not loaded "
                "(allow_pickle=False)"
            ) from None
        raise InputError(f"cannot read '{shown}': corrupt .npy file ({one_line(exc)})") from None
    except EOFError:
        raise InputError(f"cannot read '{shown}': truncated .npy file") from None
    if not isinstance(array, np.ndarray):  # pragma: no cover - np.load of .npy gives arrays
        raise InputError(f"cannot read '{shown}': not a single array")
    return array


def write_npy(fh: IO[bytes], array: np.ndarray) -> None:
    np.save(fh, array, allow_pickle=False)
