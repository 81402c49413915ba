"""Choosing the spatial axes of an image whose axes are named by its format
(OME-Zarr, NIfTI, NRRD): time series and other non-spatial axes are refused,
a channel axis needs ``channel=``, length-1 non-spatial axes are dropped.

The messages are those of the TIFF reader (:mod:`._tiff_read`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ._errors import InputError, choose_channel, no_such_channel

SPACE, TIME, CHANNEL, OTHER = "space", "time", "channel", "other"


def single_image(shown: str, series: int | None, what: str = "the file holds a single image") -> None:
    """Refuse ``series`` > 0 for a format that holds one image."""
    if series:
        raise InputError(
            f"cannot read '{shown}': there is no image series {series}; {what} (valid: 0)",
            option="series",
        )


def select_axes(
    shown: str,
    shape: Sequence[int],
    kinds: Sequence[str],
    labels: str,
    channel: int | None,
    option_names: Mapping[str, str] | None,
    names: Sequence[str] | None = None,
) -> tuple[tuple[object, ...], tuple[int, ...]]:
    """The index that takes the image out of an array of ``shape`` whose axes
    are of ``kinds`` (:data:`SPACE`, :data:`TIME`, :data:`CHANNEL` or
    :data:`OTHER`; ``labels`` names them for messages, e.g. ``"TCZYX"``),
    and the positions of the spatial axes it keeps."""
    sizes = list(shape)
    names = list(names) if names is not None else list(labels)
    for i, kind in enumerate(kinds):
        if kind == TIME and sizes[i] > 1:
            raise InputError(
                f"cannot read '{shown}': it is a time series ({sizes[i]} time points, "
                f"axes {labels}); time series are not supported, save one time point as a 2D/3D image"
            )
    for i, kind in enumerate(kinds):
        if kind == OTHER and sizes[i] > 1:
            raise InputError(
                f"cannot read '{shown}': it has a non-spatial '{names[i]}' axis of length "
                f"{sizes[i]} (axes {labels}); expected a 2D (YX) or 3D (ZYX) image"
            )
    channels = [i for i, kind in enumerate(kinds) if kind == CHANNEL and sizes[i] > 1]
    if len(channels) > 1:
        raise InputError(
            f"cannot read '{shown}': it has {len(channels)} channel axes (axes {labels}); "
            "only one channel axis is supported"
        )
    index: list[object] = [slice(None) if kind == SPACE else 0 for kind in kinds]
    if not channels:
        if channel not in (None, 0):
            raise InputError(
                f"cannot read '{shown}': there is no channel {channel}; "
                "the image has a single channel (valid: 0)",
                option="channel",
            )
    else:
        axis = channels[0]
        count = sizes[axis]
        if channel is None:
            raise choose_channel(shown, f"a {count}-channel image (axes {labels})", count, option_names)
        if channel >= count:
            raise no_such_channel(shown, channel, count)
        index[axis] = channel
    kept = tuple(i for i, kind in enumerate(kinds) if kind == SPACE)
    return tuple(index), kept


def axes_label(names: Sequence[str]) -> str:
    """``"TCZYX"`` for single-letter axis names, ``"time,ch,z,y,x"`` otherwise."""
    if all(len(n) == 1 for n in names):
        return "".join(n.upper() for n in names)
    return ",".join(names)
