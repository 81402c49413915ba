"""Background work for the widgets: one job at a time with progress and Cancel, and the warm-up.

* :class:`Job` runs a library call in a napari worker thread with a progress
  bar in the activity dock and a cancel that really stops it, and reports the
  outcome as a notification (and in :attr:`Job.outcome`, for the status line).
* :func:`warm_up` does, once per process and in the background, the one-off
  work that would otherwise land on the user's first click.
"""

from __future__ import annotations

import importlib
import threading
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from napari.layers import Labels
from napari.qt.threading import create_worker
from napari.utils import progress as napari_progress
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QObject, Signal

from ..skeletonize import _is_out_of_memory
from ._common import CANCELLED, Cancelled, UserError, shown, single_colour

# --------------------------------------------------------------------------
# warm-up
# --------------------------------------------------------------------------


def _warm_up(layers) -> None:
    # napari JIT-compiles (numba) its direct label colormap on first use
    for layer in layers:
        layer._raw_to_displayed(layer.data)
    # first calls into torch and scikit-image's thinning import and set up a lot
    import torch

    importlib.import_module("skimage.morphology")  # imported on first use otherwise

    from ..soft import soft_skeleton
    from ..topological import topological_skeleton_labels

    soft_skeleton(torch.rand(1, 1, 6, 6, 6), 2)
    # the topological thinning is compiled (numba, cached on disk) once per array type: masks, 32- and 64-bit ids
    for dtype in (bool, np.uint32, np.uint64):
        topological_skeleton_labels(np.ones((4, 4, 4), dtype))


def warm_up() -> None:
    """Do, in the background and once per process, the one-off work of a first run.

    napari's label colour lookup and our topological thinning are compiled
    (or loaded from numba's cache), and torch and scikit-image are imported
    and exercised: seconds that would otherwise land on the user's first
    click.
    """
    global _WARMED
    if not _WARMED:
        _WARMED = True
        # the layers are made here, in the GUI thread: napari's units (pint's registry) are set up on first
        # use and not thread-safe, so a layer made in the thread could race with one the user adds
        layers = [Labels(np.zeros((2, 2), dtype), colormap=single_colour("#E69F00")) for dtype in (np.uint8, np.int32)]
        threading.Thread(target=_warm_up, args=(layers,), name="soft-skeleton-warm-up", daemon=True).start()


_WARMED = False


# --------------------------------------------------------------------------
# background jobs
# --------------------------------------------------------------------------


class _ProgressBridge(QObject):
    """Carries progress from the worker thread to the GUI thread (queued signal)."""

    advanced = Signal(int, int)


class Job:
    """One background computation at a time, with progress and cancel.

    ``start(fn, ...)`` runs ``fn(progress)`` in a worker thread, where
    ``progress(done, total)`` is the callback the library functions accept;
    it raises :class:`Cancelled` once :meth:`cancel` was called, which stops
    the library at its next step.  ``on_done(result)`` runs in the GUI thread.
    Errors become one-sentence notifications, with the library's keyword names
    swapped for the widgets' controls (:func:`shown`); the same sentence (or
    :data:`CANCELLED`) is kept in :attr:`outcome` for the widget's status line
    — it is None after a run that returned — and ``listeners`` are called with
    ``"started"`` and ``"finished"`` (after ``on_done`` or the error).

    ``failure`` starts the message of an unexpected error ("… failed: …");
    ``out_of_memory`` is the sentence shown when memory runs out; :attr:`cancelled`
    the one shown after a Cancel (:data:`CANCELLED` unless a run changes it).
    """

    def __init__(self, *, failure: str = "Skeletonization",
                 out_of_memory: str = "Out of memory; try a smaller volume, per-slice mode or the CPU.") -> None:
        self.worker = None
        self.outcome: str | None = None
        self.failure = failure
        self.out_of_memory = out_of_memory
        self.cancelled = CANCELLED
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
        self.outcome = None
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
            self.outcome = self.cancelled
            show_info(self.cancelled)
            return
        if isinstance(err, (UserError, ValueError)):
            message = shown(str(err))
        elif isinstance(err, MemoryError) or _is_out_of_memory(err):
            message = self.out_of_memory
        else:
            message = shown(f"{self.failure} failed: {type(err).__name__}: {err}")
        self.outcome = message
        show_error(message)

    def _finish(self) -> None:
        if self.worker is not None and self.worker.abort_requested and not self._reported:
            # cancelled, but the function never called ``progress`` again
            self.outcome = self.cancelled
            show_info(self.cancelled)
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self.worker = None
        self._notify("finished")

    def _notify(self, what: str) -> None:
        for listener in self.listeners:
            listener(what)


def keeping_warnings(work):
    """``work`` that also returns the library's warnings (one line each, no repeats).

    They are shown, in the widgets' words, once the result is on screen: e.g.
    scikit-image dropping objects, or a strongly anisotropic volume.
    """
    def run(progress):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            warnings.simplefilter("always", RuntimeWarning)
            result = work(progress)
        messages = []
        for w in caught:
            text = shown(str(w.message))
            if issubclass(w.category, (UserWarning, RuntimeWarning)) and text not in messages:
                messages.append(text)
        return result, messages

    return run
