"""Reading one 2D/3D image from a TIFF file, refusing anything ambiguous.

Order of work in :func:`read_tiff`:

1. open the file with tifffile's log captured (see :mod:`._tifflog`);
2. refuse damaged files (see :mod:`._tiff_check`);
3. pick the image series (``series=``; required when there are several);
4. refuse time series and other non-spatial axes, and require ``channel=``
   for RGB(A) / multi-sample pixels and for ImageJ/OME channel axes;
5. read the data, select the channel and work out the calibration of what
   is returned: OME-XML for OME series (checked against an ImageJ
   description in the same file), the ImageJ description and resolution
   tags for ImageJ series, the JSON ``spacing``/``unit`` of tifffile's
   "shaped" files, else the baseline resolution tags (inch / cm).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from ._errors import InputError, choose_channel, how_to_set, no_such_channel, one_line, plural
from ._spacing import Spacing
from ._tiff_check import check_log, check_metadata, check_page_chain, check_series_data
from ._ome_tiff import check_agreement, ome_calibration
from ._tiff_meta import (
    DTYPE_KEY,
    imagej_calibration,
    resolution_calibration,
    shaped_spacing,
    shaped_unit,
)
from ._tifflog import capture_tifffile_log
from ._types import Volume

# axes returned as they are: spatial axes, plus tifffile's "sequence of
# images" (I, plain multi-page files) and "other" (Q, tifffile's own files)
_PLAIN_AXES = frozenset("ZYXIQ")
_CHANNEL_AXES = "CS"
_MAX_LISTED = 4


def _corrupt(shown: str, problem: str) -> InputError:
    return InputError(f"cannot read '{shown}': truncated or corrupt TIFF: {problem}")


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)


def _choose_series(
    tif: Any, shown: str, series: int | None, option_names: Mapping[str, str] | None
) -> Any:
    all_series = list(tif.series)
    count = len(all_series)
    if count == 0:
        raise InputError(f"cannot read '{shown}': the TIFF file contains no image")
    if series is None:
        if count == 1:
            return all_series[0]
        listing = ", ".join(
            f"{i}: {_shape_text(s.shape)} {s.dtype}" for i, s in enumerate(all_series[:_MAX_LISTED])
        )
        if count > _MAX_LISTED:
            listing += ", ..."
        raise InputError(
            f"cannot read '{shown}': it holds {count} image series ({listing}); "
            f"choose one with {how_to_set('series', option_names)}",
            option="series",
        )
    if series >= count:
        valid = "0" if count == 1 else f"0 to {count - 1}"
        raise InputError(
            f"cannot read '{shown}': there is no image series {series}; "
            f"the file holds {plural(count, 'image series', 'image series')} (valid: {valid})",
            option="series",
        )
    return all_series[series]


def _axis_names() -> dict[str, str]:
    # TIFF.AXES_NAMES in current tifffile, TIFF.AXES in older releases
    return dict(getattr(tifffile.TIFF, "AXES_NAMES", None) or getattr(tifffile.TIFF, "AXES", {}))


def _describe_samples(series: Any, count: int) -> str:
    if series.keyframe.photometric == tifffile.PHOTOMETRIC.RGB and count in (3, 4):
        kind = "RGB" if count == 3 else "RGBA"
        return f"an {kind} image ({count} samples per pixel)"
    return f"an image with {count} samples per pixel"


def _channel_axis(
    series: Any,
    shown: str,
    channel: int | None,
    option_names: Mapping[str, str] | None,
) -> int | None:
    """Position of the axis to take ``channel`` from (``None``: nothing to
    select), after refusing axes that are not supported."""
    axes = str(series.axes)
    sizes = dict(zip(axes, series.shape))
    if sizes.get("T", 1) > 1:
        raise InputError(
            f"cannot read '{shown}': it is a time series ({sizes['T']} time points, "
            f"axes {axes}); time series are not supported, save one time point as a 2D/3D image"
        )
    for axis in axes:
        if axis not in _PLAIN_AXES and axis not in _CHANNEL_AXES and sizes[axis] > 1:
            name = _axis_names().get(axis, "unknown")
            raise InputError(
                f"cannot read '{shown}': it has a non-spatial '{name}' axis ({axis}) of length "
                f"{sizes[axis]} (axes {axes}); expected a 2D (YX) or 3D (ZYX) image"
            )
    found = [a for a in _CHANNEL_AXES if sizes.get(a, 1) > 1]
    if len(found) > 1:
        raise InputError(
            f"cannot read '{shown}': it has {sizes['C']} channels of {sizes['S']} samples per "
            f"pixel each (axes {axes}); only one channel axis is supported"
        )
    if not found:
        if channel not in (None, 0):
            raise InputError(
                f"cannot read '{shown}': there is no channel {channel}; "
                "the image has a single channel (valid: 0)",
                option="channel",
            )
        return None
    axis = found[0]
    count = sizes[axis]
    if channel is None:
        what = (
            _describe_samples(series, count)
            if axis == "S"
            else f"a {count}-channel image (axes {axes})"
        )
        raise choose_channel(shown, what, count, option_names)
    if channel >= count:
        raise no_such_channel(shown, channel, count)
    return axes.index(axis)


def _read_data(series: Any, shown: str) -> np.ndarray:
    try:
        return series.asarray()
    except zlib.error as exc:
        raise _corrupt(shown, f"the image data cannot be decompressed ({one_line(exc)})") from None
    except ValueError as exc:
        if "failed to read" in str(exc):
            raise _corrupt(shown, f"the image data are cut short ({one_line(exc)})") from None
        raise


def read_tiff(
    p: Path,
    shown: str,
    *,
    series: int | None = None,
    channel: int | None = None,
    option_names: Mapping[str, str] | None = None,
) -> Volume:
    with capture_tifffile_log() as records:
        try:
            tif = tifffile.TiffFile(p)
        except (tifffile.TiffFileError, struct.error) as exc:
            if "not a TIFF file" in str(exc):
                raise InputError(f"cannot read '{shown}': not a TIFF file") from None
            raise _corrupt(shown, _damaged(exc)) from None
        with tif:
            try:
                return _read_open(tif, shown, records, series, channel, option_names)
            except (tifffile.TiffFileError, struct.error) as exc:
                # raised where a page directory or tag is cut short
                raise _corrupt(shown, _damaged(exc)) from None


def _damaged(exc: Exception) -> str:
    return f"a page directory is cut off or damaged ({one_line(exc)})"


def _read_open(
    tif: Any,
    shown: str,
    records: list,
    series: int | None,
    channel: int | None,
    option_names: Mapping[str, str] | None,
) -> Volume:
    problem = check_metadata(tif) or check_page_chain(tif) or check_log(records)
    if problem:
        raise _corrupt(shown, problem)
    chosen = _choose_series(tif, shown, series, option_names)
    problem = check_series_data(chosen)
    if problem:
        raise _corrupt(shown, problem)
    axis = _channel_axis(chosen, shown, channel, option_names)
    array = _read_data(chosen, shown)
    problem = check_log(records)
    if problem:
        raise _corrupt(shown, problem)
    return _finish(tif, chosen, array, axis, channel, shown)


def _finish(
    tif: Any, series: Any, array: np.ndarray, axis: int | None, channel: int | None, shown: str
) -> Volume:
    """Select the channel, restore bool data and find the calibration."""
    axes = str(series.axes)
    kept = axes if axis is None else axes[:axis] + axes[axis + 1 :]
    spacing: Spacing | None = None
    unit: str | None = None
    notes: tuple[str, ...] = ()
    fmt = "tiff"
    imagej = tif.is_imagej and series.kind in ("imagej", "ome")
    if imagej:
        meta = tif.imagej_metadata or {}
        if series.kind == "imagej":
            fmt = "imagej-tiff"
            if str(meta.get(DTYPE_KEY, "")) == "bool" and array.dtype == np.uint8:
                array = array.astype(bool)
        spacing, unit = imagej_calibration(series.keyframe, meta, kept, shown)
    if series.kind == "ome":
        fmt = "ome-tiff"
        ome_sp, ome_unit, notes = ome_calibration(tif, series, kept, shown)
        if imagej and len(tif.series) == 1:
            check_agreement(shown, (spacing, unit), (ome_sp, ome_unit))
        if ome_sp is not None or not imagej:
            spacing, unit = ome_sp, ome_unit
        else:
            notes = ()
    elif series.kind == "shaped":
        spacing = shaped_spacing(tif, series)
        if spacing is not None:
            unit, notes = shaped_unit(tif, series, shown)
            if axis is not None:
                spacing = spacing[:axis] + spacing[axis + 1 :]
    if spacing is None and fmt == "tiff":
        spacing, unit, notes = resolution_calibration(series.keyframe, kept, shown)
    if axis is not None:
        array = np.take(array, channel, axis=axis)
    return Volume(array, spacing, unit=unit, format=fmt, notes=notes)
