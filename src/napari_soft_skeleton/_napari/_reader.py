"""File ▸ Open with the plugin's reader: every format of
:func:`napari_soft_skeleton.io.read_volume` (ImageJ / OME / plain TIFF,
``.npy`` with its sidecar, OME-Zarr directories, NIfTI, NRRD), with the
calibration as the layer's ``scale`` and ``units``.

Layer type: ``labels`` for masks and label images, ``image`` otherwise.  A
mask or label image is a ``bool`` array, an integer array of more than 16
bits (``int32``, ``uint32``, ``int64``, ``uint64``: label images), or a
8/16-bit integer array holding only 0 and 1 (a binary mask saved as
``uint8``/``uint16``).  Everything else (intensities: 8/16-bit images with
other values, floats) is an ``image``.  ``bool`` masks are given to napari
as ``uint8`` 0/1.

Errors (a file that cannot be read, a multi-channel image without a channel
choice...) are raised as the one-line
:class:`~napari_soft_skeleton.io.InputError`, which napari shows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..io import SUPPORTED_EXTENSIONS, read_volume
from ..io._paths import ZARR_EXTENSIONS, match_extension
from ..io._units import ngff_unit

LayerData = tuple[Any, dict, str]


def _handles(path: str | os.PathLike) -> bool:
    ext = match_extension(path, SUPPORTED_EXTENSIONS)
    if ext is None:
        return False
    is_dir = os.path.isdir(path)
    return is_dir if ext in ZARR_EXTENSIONS else not is_dir


def get_reader(path: str | os.PathLike | Sequence[str | os.PathLike]) -> Callable | None:
    """napari's reader hook: a function that reads ``path`` (one path or a
    list of them), or ``None`` for paths this plugin does not read."""
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    if not paths or not all(_handles(p) for p in paths):
        return None
    return read_layers


def layer_type(array: np.ndarray) -> str:
    """``"labels"`` for masks and label images, ``"image"`` otherwise (see
    the module docstring)."""
    if array.dtype == np.bool_:
        return "labels"
    if array.dtype.kind not in "iu":
        return "image"
    if array.dtype.itemsize > 2:
        return "labels"
    if array.size == 0:
        return "image"
    return "labels" if array.min() >= 0 and array.max() <= 1 else "image"


def _name(path: str | os.PathLike) -> str:
    name = Path(os.fspath(path)).name
    ext = match_extension(path, SUPPORTED_EXTENSIONS) or ""
    return name[: len(name) - len(ext)] or name


def read_layers(path: str | os.PathLike | Sequence[str | os.PathLike]) -> list[LayerData]:
    """One layer per file: data, ``scale``/``units`` from the file's
    calibration (1 and ``pixel`` without one), ``name`` the file name
    without its extension, ``metadata`` with the format, unit, spacing and
    calibration notes."""
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    layers = []
    for p in paths:
        volume = read_volume(p)
        array = volume.array
        kind = layer_type(array)
        if array.dtype == np.bool_:
            array = array.astype(np.uint8)
        ndim = array.ndim
        spacing = volume.spacing
        scale = tuple(spacing) if spacing is not None else (1.0,) * ndim
        unit = ngff_unit(volume.unit) if spacing is not None and volume.unit is not None else "pixel"
        meta = {
            "format": volume.format,
            "unit": volume.unit,
            "spacing": spacing,
            "notes": volume.notes,
            "path": os.fspath(p),
        }
        kwargs = {"scale": scale, "units": (unit,) * ndim, "name": _name(p), "metadata": meta}
        layers.append((array, kwargs, kind))
    return layers
