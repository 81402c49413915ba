"""Where a chunk-by-chunk result lives: a Zarr array in a temporary directory, and lazy views of it.

A :class:`ResultStore` is a directory made by :func:`tempfile.mkdtemp`
holding one Zarr array (compressed, chunked like the result's chunks, so that
no two chunks share a stored chunk).  It is *held* by whoever still needs it
— the run that writes it and every layer that shows it — and the directory is
deleted when the last holder lets go: the run when it ends, a layer when it
is removed from the viewer (:func:`follow_layers`, which also covers
``viewer.close()``, which removes every layer) or when its data is replaced.
Whatever is left at interpreter exit (a window closed without removing its
layers) is deleted then (:mod:`atexit`).

:func:`levels` gives the lazy views a layer shows: the store as a dask array,
and for a multiscale input, coarser levels of the input's shapes made by a
maximum over each block of voxels (so a one-voxel-thin skeleton stays visible
when zoomed out), computed only where napari looks.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
import threading
import weakref
from typing import Any

import numpy as np

#: Prefix of the temporary directories (one per run).
PREFIX = "napari-soft-skeleton-"

_LIVE: set[ResultStore] = set()
_LOCK = threading.Lock()


class ResultStore:
    """A Zarr array in a new temporary directory, deleted when its last holder releases it."""

    def __init__(self, shape: tuple[int, ...], dtype: Any, chunks: tuple[int, ...]) -> None:
        import numcodecs
        import zarr

        self.path = tempfile.mkdtemp(prefix=PREFIX)
        self._holders: set[int] = set()
        with _LOCK:
            _LIVE.add(self)
        self.array = zarr.create_array(
            store=os.path.join(self.path, "result.zarr"), shape=tuple(shape), chunks=tuple(chunks),
            dtype=np.dtype(dtype), fill_value=0, zarr_format=2,
            compressors=numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.BITSHUFFLE))

    @property
    def removed(self) -> bool:
        return not os.path.isdir(self.path)

    def hold(self, key: int) -> None:
        """Keep the store until :meth:`release` with the same ``key`` (the holder's ``id``)."""
        with _LOCK:
            self._holders.add(key)

    def release(self, key: int) -> None:
        """The holder ``key`` no longer needs the store; the directory goes with the last holder."""
        with _LOCK:
            if key not in self._holders:
                return
            self._holders.discard(key)
            last = not self._holders
            if last:
                _LIVE.discard(self)
        if last:
            self.remove()

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


@atexit.register
def _remove_all() -> None:
    with _LOCK:
        stores = list(_LIVE)
        _LIVE.clear()
    for store in stores:
        store.remove()


# --------------------------------------------------------------------------
# layers that show a store
# --------------------------------------------------------------------------

# the layers that show a store (napari hands plugins proxies of its objects: these are the objects themselves)
_SHOWN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # layer -> (store, its level-0 array, hold key)
_FOLLOWED: weakref.WeakSet = weakref.WeakSet()  # viewers whose layer removals release stores
_KEYS = itertools.count(1)


def _unwrapped(obj):
    return getattr(obj, "__wrapped__", obj)


def _level0(data: Any) -> Any:
    try:
        return data[0] if isinstance(data, (list, tuple)) or type(data).__name__ == "MultiScaleData" else data
    except Exception:  # (an empty list: not ours anyway)
        return None


def attach(layer, store: ResultStore) -> None:
    """``layer`` shows ``store``: it holds it until removed from the viewer or given other data."""
    layer = _unwrapped(layer)
    key = -next(_KEYS)  # (negative: never the id of an object)
    store.hold(key)
    _SHOWN[layer] = (store, _level0(layer.data), key)
    weakref.finalize(layer, store.release, key)  # (a layer dropped without a removal event)

    def data_changed(event=None, layer=weakref.ref(layer)):
        obj = layer()
        shown = _SHOWN.get(obj) if obj is not None else None
        if shown is not None and _level0(obj.data) is not shown[1]:
            detach(obj)

    layer.events.data.connect(data_changed)


def detach(layer) -> None:
    """``layer`` no longer shows its store (removed, or given other data)."""
    shown = _SHOWN.pop(_unwrapped(layer), None)
    if shown is not None:
        shown[0].release(shown[2])


def store_of(layer) -> ResultStore | None:
    shown = _SHOWN.get(_unwrapped(layer))
    return None if shown is None else shown[0]


def follow_layers(viewer) -> None:
    """Release a layer's store when the layer leaves ``viewer`` (once per viewer)."""
    viewer = _unwrapped(viewer)
    if viewer not in _FOLLOWED:
        _FOLLOWED.add(viewer)
        viewer.layers.events.removed.connect(lambda event: detach(event.value))


# --------------------------------------------------------------------------
# lazy views
# --------------------------------------------------------------------------


def _coarse(level0, shape: tuple[int, ...]):
    """``level0`` reduced by a maximum over blocks of voxels to ``shape`` (a level of the input's pyramid)."""
    import dask.array as da

    factors = {axis: max(1, round(n0 / n)) for axis, (n0, n) in enumerate(zip(level0.shape, shape))}
    padded = level0
    pad = [(0, -n0 % f) for n0, f in zip(level0.shape, factors.values())]
    if any(p for _, p in pad):
        padded = da.pad(level0, pad, mode="constant")
    coarse = da.coarsen(np.max, padded, factors, trim_excess=True)
    return coarse[tuple(slice(0, n) for n in shape)]


def levels(store: ResultStore, shapes: list[tuple[int, ...]] | None):
    """The store as napari's data: a dask array, or (``shapes`` of a multiscale input) a list of levels."""
    import dask.array as da

    level0 = da.from_zarr(store.array)
    if not shapes:
        return level0
    return [level0] + [_coarse(level0, tuple(shape)) for shape in shapes[1:]]
