"""File-name checks shared by reading and writing.

Extensions are matched on the end of the lower-cased file name, so that the
double suffixes ``.ome.tif``, ``.ome.zarr`` and ``.nii.gz`` (which
:attr:`pathlib.Path.suffix` does not see) are recognised.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ._errors import InputError, display

SUPPORTED_EXTENSIONS = (
    ".tif", ".tiff", ".ome.tif", ".ome.tiff", ".npy", ".zarr", ".ome.zarr",
    ".nii", ".nii.gz", ".nrrd",
)
TIFF_EXTENSIONS = (".tif", ".tiff", ".ome.tif", ".ome.tiff")
OME_TIFF_EXTENSIONS = (".ome.tif", ".ome.tiff")
ZARR_EXTENSIONS = (".zarr", ".ome.zarr")
NIFTI_EXTENSIONS = (".nii", ".nii.gz")


def _name(path: str | os.PathLike) -> str:
    # "x.zarr/" names the directory x.zarr
    return Path(os.fspath(path).rstrip("/\\") or os.fspath(path)).name.lower()


def match_extension(path: str | os.PathLike, extensions: Sequence[str]) -> str | None:
    """The longest of ``extensions`` that ``path``'s name ends with (lower
    case), or ``None``."""
    name = _name(path)
    found = [e.lower() for e in extensions if name.endswith(e.lower()) and len(name) > len(e)]
    return max(found, key=len) if found else None


def _expected(extensions: Sequence[str]) -> str:
    allowed = list(extensions)
    if len(allowed) == 1:
        return allowed[0]
    return ", ".join(allowed[:-1]) + " or " + allowed[-1]


def _unsupported(path: str | os.PathLike, extensions: Sequence[str]) -> InputError:
    ext = Path(_name(path)).suffix
    shown_ext = f"'{ext}'" if ext else "(none)"
    return InputError(
        f"unsupported file type {shown_ext} for '{display(path)}'; expected {_expected(extensions)}"
    )


def check_extension(path: str | os.PathLike) -> str:
    """The supported extension ``path`` ends with (lower case, e.g.
    ``".nii.gz"``, ``".ome.tif"``), or raise :class:`InputError` listing the
    supported ones."""
    ext = match_extension(path, SUPPORTED_EXTENSIONS)
    if ext is None:
        raise _unsupported(path, SUPPORTED_EXTENSIONS)
    return ext


def check_output_path(path: str | os.PathLike, *, extensions: Sequence[str] | None = None) -> None:
    """Raise :class:`InputError` unless ``path`` can plausibly be written.

    Checks the extension (``extensions``, default the volume formats), that
    the parent directory exists and that ``path`` is not a directory (an
    existing ``.zarr`` directory is fine: :func:`write_volume` replaces
    it).  Meant to be called before a long computation.
    """
    shown = display(path)
    p = Path(path)
    allowed = tuple(e.lower() for e in (extensions or SUPPORTED_EXTENSIONS))
    ext = match_extension(path, allowed)
    if ext is None:
        raise _unsupported(path, allowed)
    if p.is_dir() and ext not in ZARR_EXTENSIONS:
        raise InputError(f"cannot write '{shown}': is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"cannot write '{shown}': directory '{display(parent)}' does not exist")
