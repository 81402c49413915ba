"""What every widget needs: layers in and out, and background jobs.

* :func:`layer_array` turns the chosen layer into a NumPy array, or raises
  :class:`UserError` with one sentence for the user (no layer, RGB, wrong
  number of dimensions, empty).
* :func:`put_layer` adds a result layer placed exactly on its source layer
  (scale, translate, rotate, shear, affine), or updates the layer of that name
  that an earlier run made, instead of piling up copies.
* :class:`Job` runs a library call in a napari worker thread with a progress
  bar in the activity dock and a cancel that really stops it, and reports the
  outcome as a notification.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from napari.layers import Image, Labels, Layer
from napari.qt.threading import create_worker
from napari.utils import progress as napari_progress
from napari.utils.colormaps import DirectLabelColormap
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QObject, Signal

from ..skeletonize import _is_out_of_memory

#: Metadata key marking the layers this plugin made (value: the run's settings).
METADATA_KEY = "napari_soft_skeleton"


class UserError(ValueError):
    """A problem the user can fix; its message is shown as a notification."""


class Cancelled(Exception):
    """Raised inside a job's progress callback once the user pressed Cancel."""


def layer_array(layer: Layer | None, *, allow_4d: bool = True, allow_empty: bool = False) -> np.ndarray:
    """The data of an Image or Labels layer as an array, checked for skeletonizing.

    ``allow_empty=True`` skips the all-zero check (for callers that check
    emptiness themselves, after their own binarization).
    """
    if layer is None:
        raise UserError("Select an Image or Labels layer first.")
    if not isinstance(layer, (Image, Labels)):
        raise UserError(f"Layer '{layer.name}' is a {type(layer).__name__} layer; pick an Image or Labels layer.")
    if isinstance(layer, Image) and layer.rgb:
        raise UserError(f"Layer '{layer.name}' is an RGB(A) image; pick a single-channel layer.")
    data = layer.data[0] if layer.multiscale else layer.data
    ndim = len(data.shape)
    allowed = (2, 3, 4) if allow_4d else (2, 3)
    if ndim not in allowed:
        kinds = "2D, 3D or 4D (time, z, y, x)" if allow_4d else "2D or 3D"
        raise UserError(f"Layer '{layer.name}' is {ndim}D; expected a {kinds} layer.")
    array = np.asarray(data)
    if array.dtype.kind not in "biuf":
        raise UserError(f"Layer '{layer.name}' has data of type {array.dtype}; expected numbers.")
    if not allow_empty and not array.any():
        raise UserError(f"Layer '{layer.name}' is empty (all zero); there is nothing to skeletonize.")
    return array


def layer_spacing(layer: Layer, ndim: int) -> tuple[float, ...]:
    """The layer's scale along its last ``ndim`` axes (the voxel spacing)."""
    return tuple(float(s) for s in layer.scale[-ndim:])


def placement(layer: Layer) -> dict[str, Any]:
    """Keyword arguments that place a new layer exactly on ``layer``."""
    return {
        "scale": tuple(layer.scale),
        "translate": tuple(layer.translate),
        "rotate": np.asarray(layer.rotate),
        "shear": np.asarray(layer.shear),
        "affine": np.asarray(layer.affine.affine_matrix),
    }


def put_layer(viewer, data: np.ndarray, *, name: str, kind: str, source: Layer, settings: dict, **kwargs) -> Layer:
    """Add a result layer on top of ``source``, or update the one an earlier run made.

    ``kind`` is ``"image"`` or ``"labels"``.  A layer counts as "the one an
    earlier run made" when it has the same name and kind and carries this
    plugin's metadata; it then gets the new data and placement.
    """
    layer_type = Image if kind == "image" else Labels
    meta = {METADATA_KEY: dict(settings, source=source.name)}
    existing = viewer.layers[name] if name in viewer.layers else None
    if isinstance(existing, layer_type) and METADATA_KEY in existing.metadata:
        existing.data = data
        for key, value in placement(source).items():
            setattr(existing, key, value)
        existing.metadata = {**existing.metadata, **meta}
        if "colormap" in kwargs:
            existing.colormap = kwargs["colormap"]
        return existing
    if existing is not None:  # a user's layer of that name: never touch it
        name = f"{name} [{len(viewer.layers)}]"
    add = viewer.add_image if kind == "image" else viewer.add_labels
    return add(data, name=name, metadata=meta, **placement(source), **kwargs)


def single_colour(colour: str, label: int = 1):
    """A labels colormap drawing ``label`` in ``colour`` (for one-object skeletons)."""
    return DirectLabelColormap(color_dict={None: "transparent", 0: "transparent", int(label): colour})


def skeleton_colour(data: np.ndarray, colour: str) -> dict:
    """``colormap=`` for a skeleton Labels layer: one colour if it holds one id, else napari's default."""
    ids = np.unique(data[data != 0])
    return {"colormap": single_colour(colour, ids[0])} if ids.size == 1 else {}


def _warm_up() -> None:
    # napari JIT-compiles (numba) its direct label colormap on first use
    for dtype in (np.uint8, np.int32):
        layer = Labels(np.zeros((2, 2), dtype), colormap=single_colour("yellow"))
        layer._raw_to_displayed(layer.data)
    # first calls into torch and scikit-image's thinning import and set up a lot
    import torch

    importlib.import_module("skimage.morphology")  # imported on first use otherwise

    from ..soft import soft_skeleton

    soft_skeleton(torch.rand(1, 1, 6, 6, 6), 2)


def warm_up() -> None:
    """Do, in the background and once per process, the one-off work of a first run.

    napari's label colour lookup is compiled, and torch and scikit-image are
    imported and exercised: more than a second that would otherwise land on
    the user's first click.
    """
    global _WARMED
    if not _WARMED:
        _WARMED = True
        threading.Thread(target=_warm_up, name="soft-skeleton-warm-up", daemon=True).start()


_WARMED = False


class _ProgressBridge(QObject):
    """Carries progress from the worker thread to the GUI thread (queued signal)."""

    advanced = Signal(int, int)


class Job:
    """One background computation at a time, with progress and cancel.

    ``start(fn, ...)`` runs ``fn(progress)`` in a worker thread, where
    ``progress(done, total)`` is the callback the library functions accept;
    it raises :class:`Cancelled` once :meth:`cancel` was called, which stops
    the library at its next step.  ``on_done(result)`` runs in the GUI thread.
    Errors become one-sentence notifications.
    """

    def __init__(self) -> None:
        self.worker = None
        self._bar = None
        self._reported = False  # an error or "Cancelled" was already shown for this run
        self._bridge = _ProgressBridge()
        self._bridge.advanced.connect(self._advance)
        self.listeners: list[Callable[[str], None]] = []  # called with "started"/"finished"

    @property
    def running(self) -> bool:
        return self.worker is not None

    def start(self, fn: Callable, *, description: str, on_done: Callable[[Any], None]):
        if self.running:
            raise UserError("A computation is already running; wait for it or press Cancel.")
        self._bar = napari_progress(total=0, desc=description)
        self._reported = False
        bridge = self._bridge

        def guarded(done: int, total: int) -> None:
            if worker.abort_requested:
                raise Cancelled
            bridge.advanced.emit(int(done), int(total))

        def work():
            return fn(guarded)

        def deliver(result: Any) -> None:
            # A Cancel pressed after the last progress step (or while the
            # result was on its way to the GUI thread) still wins.
            if not worker.abort_requested:
                on_done(result)

        # _ignore_errors: no re-raise in the GUI thread, and no napari relay of
        # the raw exception (a Cancel is an exception too): _report says it once.
        worker = create_worker(work, _start_thread=False, _ignore_errors=True)
        relay = getattr(worker, "_relay_error", None)
        if relay is not None:
            try:
                worker.errored.disconnect(relay)
            except (TypeError, RuntimeError):
                pass
        worker.returned.connect(deliver)
        worker.errored.connect(self._report)
        worker.finished.connect(self._finish)
        self.worker = worker
        self._notify("started")
        worker.start()
        return worker

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.quit()

    def _advance(self, done: int, total: int) -> None:
        if self._bar is not None:
            if self._bar.total != total:
                self._bar.total = total
            self._bar.update(done - self._bar.n)

    def _report(self, err: BaseException) -> None:
        self._reported = True
        if isinstance(err, Cancelled):
            show_info("Cancelled; no layer was changed.")
        elif isinstance(err, (UserError, ValueError)):
            show_error(str(err))
        elif isinstance(err, MemoryError) or _is_out_of_memory(err):
            show_error("Out of memory; try a smaller volume, per-slice mode or the CPU.")
        else:
            show_error(f"Skeletonization failed: {type(err).__name__}: {err}")

    def _finish(self) -> None:
        if self.worker is not None and self.worker.abort_requested and not self._reported:
            # cancelled, but the function never called ``progress`` again
            show_info("Cancelled; no layer was changed.")
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self.worker = None
        self._notify("finished")

    def _notify(self, what: str) -> None:
        for listener in self.listeners:
            listener(what)
