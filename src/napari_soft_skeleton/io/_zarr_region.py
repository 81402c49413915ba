"""Reading a region of a Zarr array with one-line errors for damaged chunks.

zarr and numcodecs report a truncated or corrupt chunk file as, e.g.,
``RuntimeError: error during blosc decompression: -1``, without saying
which chunk.  :func:`read_region` reads the region; when that fails it reads
the chunks the region touches one by one to find the first that cannot be
read, and raises an :class:`InputError` naming the store, the array's path
in it, the chunk index and its file.  (A *missing* chunk is not an error:
zarr does not store chunks that hold only the fill value.)
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ._errors import InputError, one_line


def chunk_regions(shape, chunks) -> list[tuple[slice, ...]]:
    """Every region of a regular grid of ``chunks`` over ``shape`` (the last along an axis clipped), in C order
    of the grid: the chunks of a Zarr array, or any tiling of a volume into tasks."""
    grid = [range(0, n, c) for n, c in zip(shape, chunks)]
    return [tuple(slice(s, min(s + c, n)) for s, c, n in zip(start, chunks, shape))
            for start in itertools.product(*grid)]


def _slices(region: Any, shape: tuple[int, ...]) -> tuple[slice, ...]:
    if region is Ellipsis:
        region = ()
    if not isinstance(region, tuple):
        region = (region,)
    if len(region) > len(shape) or not all(isinstance(r, slice) for r in region):
        raise TypeError(f"read_region needs a tuple of slices for shape {shape}, got {region!r}")
    region = region + (slice(None),) * (len(shape) - len(region))
    return tuple(slice(*r.indices(n)[:2]) for r, n in zip(region, shape))


def read_region(array: Any, region: Any, shown: str) -> np.ndarray:
    """``array[region]`` (``region``: a tuple of slices) read from its store as an ndarray.

    A chunk that cannot be read or decoded (a truncated or corrupt file, a
    directory where the file should be, no permission...) raises
    :class:`InputError`: ``cannot read '<shown>': chunk (1, 0, 2) of array
    '0' (file '0/1/0/2') is damaged or unreadable: <zarr's reason>``.
    ``shown`` is the store as the user named it."""
    try:
        return np.asarray(array[region])
    except MemoryError:
        raise
    except Exception as exc:
        raise _damaged(array, _slices(region, tuple(array.shape)), shown, exc) from exc


def _damaged(array: Any, region: tuple[slice, ...], shown: str, exc: Exception) -> InputError:
    """The error naming the first chunk of ``region`` that cannot be read (``exc``: the region's error)."""
    grid = getattr(array, "shards", None) or array.chunks  # (a sharded array: a file per shard)
    ranges = [range(r.start // c, max(r.start, r.stop - 1) // c + 1) for r, c in zip(region, grid)]
    name = array.path or "/"
    for index in itertools.product(*ranges):
        box = tuple(slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(index, grid, array.shape))
        try:
            array[box]
        except MemoryError:
            raise
        except Exception as inner:
            key = array.metadata.encode_chunk_key(index)
            file = f"{array.path}/{key}" if array.path else key
            return InputError(f"cannot read '{shown}': chunk {index} of array '{name}' (file '{file}') "
                              f"is damaged or unreadable: {one_line(inner) or type(inner).__name__}")
    where = ", ".join(f"{r.start}:{r.stop}" for r in region)
    return InputError(f"cannot read '{shown}': array '{name}' [{where}]: {one_line(exc) or type(exc).__name__}")
