"""File-name checks shared by reading and writing."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ._errors import InputError, display

SUPPORTED_EXTENSIONS = (".tif", ".tiff", ".npy")
TIFF_EXTENSIONS = (".tif", ".tiff")


def check_extension(path: str | os.PathLike) -> str:
    """Return the lower-case extension of ``path`` or raise :class:`InputError`."""
    ext = Path(path).suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        shown = f"'{ext}'" if ext else "(none)"
        raise InputError(
            f"unsupported file type {shown} for '{display(path)}'; "
            "expected .tif, .tiff or .npy"
        )
    return ext


def check_output_path(path: str | os.PathLike, *, extensions: Sequence[str] | None = None) -> None:
    """Raise :class:`InputError` unless ``path`` can plausibly be written.

    Checks the extension (``extensions``, default the volume formats), that
    the parent directory exists and that ``path`` is not a directory.  Meant
    to be called before a long computation.
    """
    shown = display(path)
    p = Path(path)
    allowed = tuple(e.lower() for e in (extensions or SUPPORTED_EXTENSIONS))
    ext = p.suffix.lower()
    if ext not in allowed:
        shown_ext = f"'{ext}'" if ext else "(none)"
        expected = ", ".join(allowed[:-1]) + (" or " if len(allowed) > 1 else "") + allowed[-1]
        raise InputError(f"unsupported file type {shown_ext} for '{shown}'; expected {expected}")
    if p.is_dir():
        raise InputError(f"cannot write '{shown}': is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"cannot write '{shown}': directory '{display(parent)}' does not exist")
