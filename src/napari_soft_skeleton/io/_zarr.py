"""OME-Zarr images (NGFF 0.4 on Zarr v2, 0.5 on Zarr v3) and plain Zarr arrays.

Reading takes the first multiscale image at full resolution (``datasets[0]``):
the spacing of its space axes is the dataset's ``scale`` transform times the
multiscale-level ``scale`` transform, if any, and the unit comes from
``axes[].unit`` (the space axes are converted to the x unit).  A ``channel``
axis needs ``channel=``, a ``time`` axis longer than 1 is refused, other
length-1 axes are dropped.  A bioformats2raw layout (images ``0``, ``1``...
under one root) is read like a multi-series TIFF (``series=``).  A plain
Zarr array is read as it is, uncalibrated.

Writing makes a one-level image, NGFF 0.4 on Zarr v2 (the default: what
every OME-Zarr reader opens; ``/``-separated chunk keys) or NGFF 0.5 on Zarr
v3 (metadata under the ``"ome"`` attribute, ``dimension_names`` on the
array), with space axes, their units and a ``scale`` transform; chunks are
compressed with Blosc-zstd (bit-shuffled); bool data stay bool.  An image
without calibration gets scale 1 and no units, which reads back as
uncalibrated.  :mod:`._pyramid` adds the lower resolution levels.

Chunks (:func:`_chunks`): cubes of 128 voxels a side for 1- and 2-byte data
(2-4 MiB before compression), 64 for wider types (1-2 MiB); 2D images
1024² / 512²; an axis shorter than that (a thin stack) is taken whole and
the other axes grow (by powers of 2) to keep about as many voxels per
chunk.  Big enough that a chunk's task, file and halo cost little
beside its work, small enough that a task (its chunk, the halo, the soft
skeleton's float32 copies) stays within tens of MB per thread; cubes keep
the halo's share (surface / volume) smallest, and a pyramid level reads
the 2×2×2 chunks below each of its own.  Chunks that hold only zeros are
not stored (zarr's default); they read back as zeros.

:func:`read_region` (in :mod:`._zarr_region`) reads a region of a store's
array and turns a damaged chunk into a one-line :class:`InputError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._axes import CHANNEL, OTHER, SPACE, TIME, axes_label, select_axes, single_image
from ._calib import file_unit, to_common_unit
from ._errors import InputError, how_to_set, plural
from ._spacing import Spacing
from ._types import Volume
from ._units import ngff_unit
from ._zarr_region import read_region  # noqa: F401  (the streaming code's reader)

_KINDS = {"space": SPACE, "time": TIME, "channel": CHANNEL}
_DEFAULT_NAMES = "tczyx"


def _open(p: Path, shown: str) -> Any:
    import zarr

    try:
        return zarr.open(store=str(p), mode="r")
    except FileNotFoundError:  # zarr's NodeNotFoundError is one too
        raise InputError(
            f"cannot read '{shown}': not a Zarr store (no .zgroup, .zarray or zarr.json)"
        ) from None


def _attributes(node: Any) -> dict:
    attrs = dict(node.attrs)
    ome = attrs.get("ome")
    return ome if isinstance(ome, dict) else attrs  # NGFF 0.5 nests everything under "ome"


def read_zarr(
    p: Path,
    shown: str,
    *,
    series: int | None,
    channel: int | None,
    option_names: Mapping[str, str] | None,
    lazy: bool = False,
) -> Volume:
    """The image of a Zarr store; ``lazy=True``: its data as a dask array over the store's chunks."""
    import zarr

    node = _open(p, shown)
    if isinstance(node, zarr.Array):
        single_image(shown, series, "a Zarr array holds a single image")
        if channel:
            raise InputError(
                f"cannot read '{shown}': there is no channel {channel}; "
                "Zarr arrays are read as single-channel images (valid: 0)",
                option="channel",
            )
        return Volume(_load(node, ..., lazy), None, format="zarr")
    attrs = _attributes(node)
    if "multiscales" not in attrs and "bioformats2raw.layout" in attrs:
        node, attrs = _bioformats2raw_image(node, shown, series, option_names)
    elif "multiscales" not in attrs:
        raise InputError(f"cannot read '{shown}': not an OME-Zarr image (no 'multiscales' metadata)")
    else:
        single_image(shown, series, "the OME-Zarr image holds a single image")
    return _read_image(node, attrs, shown, channel, option_names, lazy)


def _bioformats2raw_image(
    root: Any, shown: str, series: int | None, option_names: Mapping[str, str] | None
) -> tuple[Any, dict]:
    count = 0
    while str(count) in root:
        count += 1
    if count == 0:
        raise InputError(f"cannot read '{shown}': the bioformats2raw container holds no image")
    if series is None:
        if count > 1:
            raise InputError(
                f"cannot read '{shown}': it holds {count} images (bioformats2raw layout); "
                f"choose one with {how_to_set('series', option_names)}",
                option="series",
            )
        series = 0
    if series >= count:
        raise InputError(
            f"cannot read '{shown}': there is no image series {series}; the file holds "
            f"{plural(count, 'image series', 'image series')} (valid: {'0' if count == 1 else f'0 to {count - 1}'})",
            option="series",
        )
    image = root[str(series)]
    attrs = _attributes(image)
    if "multiscales" not in attrs:
        raise InputError(
            f"cannot read '{shown}': image {series} is not an OME-Zarr image (no 'multiscales' metadata)"
        )
    return image, attrs


def _bad(shown: str, what: str) -> InputError:
    return InputError(f"cannot read '{shown}': invalid OME-Zarr metadata: {what}")


def _axes(multiscale: dict, ndim: int, shown: str) -> list[dict]:
    raw = multiscale.get("axes")
    if raw is None:  # NGFF 0.1-0.2: always t, c, z, y, x
        if ndim > 5:
            raise _bad(shown, f"{ndim} dimensions and no 'axes'")
        raw = list(_DEFAULT_NAMES[-ndim:])
    if not isinstance(raw, list) or len(raw) != ndim:
        raise _bad(shown, f"'axes' does not list the {ndim} axes of the array")
    axes = []
    for axis in raw:
        if isinstance(axis, str):  # NGFF 0.3: names only
            axis = {"name": axis, "type": {"t": "time", "c": "channel"}.get(axis, "space")}
        if not isinstance(axis, dict) or not isinstance(axis.get("name"), str):
            raise _bad(shown, f"axis {axis!r}")
        axes.append(axis)
    return axes


def _scale(transforms: object, ndim: int, shown: str) -> list[float]:
    scale = [1.0] * ndim
    if transforms is None:
        return scale
    if not isinstance(transforms, list):
        raise _bad(shown, "'coordinateTransformations' is not a list")
    for transform in transforms:
        if not isinstance(transform, dict) or transform.get("type") != "scale":
            continue  # translations do not change the spacing
        values = transform.get("scale")
        if not isinstance(values, list) or len(values) != ndim:
            raise _bad(shown, f"scale {values!r} for {ndim} axes")
        try:
            scale = [s * float(v) for s, v in zip(scale, values)]
        except (TypeError, ValueError):
            raise _bad(shown, f"scale {values!r}") from None
    return scale


def _load(array: Any, index: Any, lazy: bool):
    """``array[index]`` read now (an ndarray), or lazily (a dask array over the store's chunks)."""
    if not lazy:
        return np.asarray(array[index])
    import dask.array as da

    return da.from_zarr(array)[index]


def _read_image(
    group: Any, attrs: dict, shown: str, channel: int | None, option_names: Mapping[str, str] | None,
    lazy: bool = False,
) -> Volume:
    multiscales = attrs["multiscales"]
    if not isinstance(multiscales, list) or not multiscales or not isinstance(multiscales[0], dict):
        raise _bad(shown, "'multiscales' is empty")
    multiscale = multiscales[0]
    datasets = multiscale.get("datasets")
    if not isinstance(datasets, list) or not datasets or not isinstance(datasets[0], dict):
        raise _bad(shown, "no 'datasets'")
    path = str(datasets[0].get("path", ""))
    try:
        array = group[path]
    except KeyError:
        raise InputError(f"cannot read '{shown}': the image data '{path}' are missing") from None
    ndim = len(array.shape)
    axes = _axes(multiscale, ndim, shown)
    names = [a["name"] for a in axes]
    kinds = [_KINDS.get(str(a.get("type", "")).lower(), OTHER) for a in axes]
    index, kept = select_axes(
        shown, array.shape, kinds, axes_label(names), channel, option_names, names=names
    )
    data = _load(array, index, lazy)
    scale = _scale(datasets[0].get("coordinateTransformations"), ndim, shown)
    top = _scale(multiscale.get("coordinateTransformations"), ndim, shown)
    values = [scale[i] * top[i] for i in kept]
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise _bad(shown, f"scale {values} of the space axes is not positive")
    units = [file_unit(axes[i].get("unit"), shown) for i in kept]
    if all(u is None for u in units) and all(v == 1.0 for v in values):
        return Volume(data, None, format="ome-zarr")  # the NGFF way of saying "not calibrated"
    target = units[-1]
    spacing = to_common_unit(values, units, shown, target)
    return Volume(data, spacing, unit=target, format="ome-zarr")


def check_zarr_array(shown: str, array: np.ndarray) -> None:
    if array.ndim not in (2, 3):
        raise InputError(
            f"cannot write '{shown}': OME-Zarr output needs a 2D or 3D array, got shape {array.shape}"
        )
    if array.dtype.kind == "c":
        raise InputError(f"cannot write '{shown}': OME-Zarr output cannot hold {array.dtype} data")


def _chunks(shape: tuple[int, ...], dtype: Any = np.uint8) -> tuple[int, ...]:
    """The chunks of an image we write (module docstring): 128³ / 64³ cubes, 1024² / 512² squares; an
    axis shorter than that is taken whole and its share of the voxels goes to the other axes (powers of 2)."""
    wide = np.dtype(dtype).itemsize > 2
    budget = float(((64 if wide else 128) if len(shape) == 3 else (512 if wide else 1024)) ** len(shape))
    chunks = [1] * len(shape)
    left = len(shape)
    for axis in sorted(range(len(shape)), key=lambda i: shape[i]):  # the short axes first
        side = 2 ** int(math.log2(max(budget, 1.0) ** (1 / left)) + 1e-9)
        chunks[axis] = max(1, min(int(shape[axis]), side))
        budget /= chunks[axis]
        left -= 1
    return tuple(chunks)


def check_zarr_format(zarr_format: object) -> int:
    """``zarr_format`` (2 or 3), or a one-line :class:`InputError`."""
    if isinstance(zarr_format, bool) or zarr_format not in (2, 3):
        raise InputError(f"zarr_format must be 2 (OME-Zarr 0.4) or 3 (OME-Zarr 0.5), got {zarr_format!r}")
    return int(zarr_format)


def create_level(root: Any, path: str, shape: tuple[int, ...], dtype: Any, chunks: tuple[int, ...]) -> Any:
    """A new, empty array ``path`` of the OME-Zarr group ``root`` (replacing any array there), compressed
    with Blosc-zstd: ``/``-separated chunk keys on Zarr v2, ``dimension_names`` (NGFF 0.5) on v3."""
    if root.metadata.zarr_format == 2:
        import numcodecs

        compressor = numcodecs.Blosc(cname="zstd", clevel=5, shuffle=numcodecs.Blosc.BITSHUFFLE)
        extra: dict = {"chunk_key_encoding": {"name": "v2", "separator": "/"}}
    else:
        from zarr.codecs import BloscCodec

        compressor = BloscCodec(cname="zstd", clevel=5, shuffle="bitshuffle")
        extra = {"dimension_names": tuple("zyx"[-len(shape):])}
    return root.create_array(path, shape=tuple(shape), chunks=tuple(chunks), dtype=dtype, compressors=compressor,
                             overwrite=True, **extra)


def put_multiscale(root: Any, multiscale: dict) -> None:
    """Store ``multiscale`` as the first (only) multiscale image of ``root``, keeping its other attributes:
    ``multiscales`` with ``version`` 0.4 on Zarr v2, ``ome`` / ``version`` 0.5 on v3.  zarr replaces the
    attributes file in one rename: a crash leaves the old metadata or the new, never a mix."""
    multiscale = {k: v for k, v in multiscale.items() if k != "version"}
    if root.metadata.zarr_format == 2:
        root.attrs["multiscales"] = [{"version": "0.4", **multiscale}]
    else:
        ome = dict(root.attrs.get("ome") or {})
        ome.update(version="0.5", multiscales=[multiscale])
        root.attrs["ome"] = ome


def create_ome_zarr(
    directory: Path, shape: tuple[int, ...], dtype: Any, spacing: Spacing | None, unit: str | None, name: str,
    chunks: tuple[int, ...] | None = None, zarr_format: int = 2,
) -> Any:
    """A one-level image in the (new) ``directory``, NGFF 0.4 on Zarr v2 or 0.5 on Zarr v3 (``zarr_format``),
    its data array ``"0"`` created empty (Blosc-zstd; ``chunks`` default :func:`_chunks`); returns that array."""
    import zarr

    zarr_format = check_zarr_format(zarr_format)
    ndim = len(shape)
    axes = []
    for axis in "zyx"[-ndim:]:
        entry = {"name": axis, "type": "space"}
        if spacing is not None and unit is not None:
            entry["unit"] = ngff_unit(unit)
        axes.append(entry)
    scale = [float(v) for v in spacing] if spacing is not None else [1.0] * ndim
    root = zarr.open_group(store=str(directory), mode="w", zarr_format=zarr_format)
    chunks = tuple(chunks) if chunks is not None else _chunks(tuple(shape), dtype)
    data = create_level(root, "0", tuple(shape), dtype, chunks)
    dataset = {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": scale}]}
    put_multiscale(root, {"name": name, "axes": axes, "datasets": [dataset]})
    return data


def write_ome_zarr(
    directory: Path, array: Any, spacing: Spacing | None, unit: str | None, name: str, progress=None,
    *, zarr_format: int = 2, chunks: tuple[int, ...] | None = None,
) -> None:
    """Write ``array`` as a one-level image (NGFF 0.4 on Zarr v2 or 0.5 on v3, ``zarr_format``) into the
    (empty) ``directory``; a dask array is stored chunk by chunk (aligned to the store's chunks, so that
    no two tasks write one chunk), with ``progress(done, total)`` after each."""
    data = create_ome_zarr(directory, array.shape, array.dtype, spacing, unit, name, chunks, zarr_format)
    if hasattr(array, "dask"):  # (a dask array: streamed, never whole)
        _store(array.rechunk(data.chunks), data, progress)
    else:
        data[...] = array


def _write_block(block: np.ndarray, target: Any, region: tuple) -> int:
    target[region] = block
    return 1


def _store(array: Any, target: Any, progress=None) -> None:
    """Compute the dask ``array`` into the zarr array ``target`` chunk by chunk (its chunks are the
    store's: no two tasks write one chunk), with ``progress(done, total)`` after each chunk stored."""
    import itertools

    import dask

    starts = [np.cumsum((0,) + c[:-1]) for c in array.chunks]
    blocks = array.to_delayed()
    tasks = []
    for index in itertools.product(*(range(len(c)) for c in array.chunks)):
        region = tuple(slice(int(st[i]), int(st[i]) + int(c[i])) for st, c, i in zip(starts, array.chunks, index))
        tasks.append(dask.delayed(_write_block)(blocks[index], target, region))
    compute_tasks(tasks, progress)


def compute_tasks(tasks: list, progress=None, done: int = 0, total: int | None = None) -> None:
    """Compute the dask ``tasks`` (delayed calls, one per chunk), with ``progress(done, total)`` as each
    finishes (counting from ``done``; ``total`` defaults to ``done + len(tasks)``).

    On a dask.distributed client when one is active (``--scheduler`` / ``--workers``), else on dask's
    local threads."""
    import dask

    total = done + len(tasks) if total is None else total
    client = _client()
    if client is not None:
        from distributed import as_completed

        for count, _ in enumerate(as_completed(client.compute(tasks)), done + 1):
            if progress is not None:
                progress(count, total)
        return
    if progress is None:
        dask.compute(*tasks)
        return
    from dask.callbacks import Callback

    names = {task.key[0] if isinstance(task.key, tuple) else task.key for task in tasks}
    count = [done]

    class _Progress(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):
            if (key[0] if isinstance(key, tuple) else key) in names:
                count[0] += 1
                progress(count[0], total)

    with _Progress():
        dask.compute(*tasks)


def _client():
    """The active dask.distributed client, or None (no distributed, or none started)."""
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:
        return None
