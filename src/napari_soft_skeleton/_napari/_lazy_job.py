"""A skeleton widget's run on a dask- or Zarr-backed layer: chunk by chunk, in bounded memory, shown as it fills in.

When the chosen layer is backed by a dask or Zarr array (a multiscale layer:
its level 0), the widget never loads it (``np.asarray`` would).  Instead a
:class:`LazyRun`, in the widget's background :class:`~._jobs.Job`:

1. looks at the data in dask passes (is it empty? a mask, a map, intensities?
   as the in-memory path decides: :mod:`._lazy_compute`);
2. asks the library for the lazy skeleton, ``skeletonize(level0, method, …)``
   — its one-line ``ValueError`` when it refuses (e.g. Lee, which cannot be
   chunked exactly) is the widget's message, and no layer is added;
3. makes a Zarr store in a temporary directory (:mod:`._lazy_store`) and adds
   the result layer(s) at once, lazily backed by it (a multiscale input gives
   a multiscale result: level 0 and coarser levels of the input's shapes, a
   maximum over each block so that a thin skeleton stays visible), named
   "… (computing)";
4. computes the skeleton's chunks a few at a time (dask threads) and writes
   each into the store; the progress bar counts chunks and the layers are
   refreshed as chunks land, at most every :data:`REFRESH_S` seconds (or five times as long as a
   refresh takes, so that drawing does not slow the run down).

When it finishes, the layers take their plain names.  **Cancel** stops the
run between chunks and keeps the layers with the chunks done so far, named
"… (incomplete)" (what was computed is correct, and a user who cancels a long
run usually wants to look at it); an error after the layers were added does
the same.  Removing every result layer while it runs cancels the run.  The
store is deleted when its last layer is removed (or at exit).
"""

from __future__ import annotations

import time

import numpy as np
from napari.utils.notifications import show_info, show_warning
from qtpy.QtCore import QObject, QTimer, Signal

from ..palette import METHOD_COLOURS
from ._common import CANCELLED, METADATA_KEY, Cancelled, layer_data, move_below, placement, ramp, single_colour
from ._jobs import keeping_warnings
from ._lazy_compute import analyse, block_count, lazy_source, regular, stored_dtype, write_blocks
from ._lazy_store import ResultStore, attach, follow_layers, levels
from ._skeleton_text import kind_note, values_text

__all__ = ["LazyRun", "lazy_source"]

#: Seconds between two refreshes of the result layers while chunks come in (at least; more when a refresh is slow:
#: napari reslices in the GUI thread, and a refresh takes at most a fifth of the time).
REFRESH_S = 0.5
#: Seconds between two steps of the progress bar (it counts chunks).
BAR_S = 0.25
COMPUTING = " (computing)"
INCOMPLETE = " (incomplete)"
_THIN = ("lee", "zhang", "topological")


class _Bridge(QObject):
    """Carries the worker's news to the GUI thread (queued signals)."""

    ready = Signal(object)  # the store: add the layers
    chunk = Signal(int, int)  # (chunks written, chunks in all)


class LazyRun:
    """One chunk-by-chunk run of ``widget`` (a soft or reference skeleton widget) on the lazy ``layer``."""

    def __init__(self, widget, layer, level0, shapes) -> None:
        self.widget, self.viewer, self.layer = widget, widget.viewer, layer
        self.level0, self.shapes = level0, shapes
        self.store: ResultStore | None = None
        self.layers: list = []
        self.names: list[str] = []
        self.done = self.total = 0
        self.bridge = _Bridge()
        self.bridge.ready.connect(self._add_layers)
        self.bridge.chunk.connect(self._advance)
        self._last_refresh = 0.0
        self._interval = REFRESH_S
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._refresh)

    # -- GUI thread ---------------------------------------------------------
    def start(self):
        """Start the run in the widget's job; returns its worker."""
        data = layer_data(self.layer, control=self.widget.layer.label)
        self.plan = plan = self.widget._plan(self.layer, data, pending=True)  # (the kind is found in the worker)
        follow_layers(self.viewer)
        job = self.widget.job
        worker = job.start(keeping_warnings(self._work), description=plan["description"],
                           on_done=lambda out: self._finish(*out))
        job.listeners.append(self._job_state)
        self.widget.lazy_run = self  # (the last chunk-by-chunk run: its layers, chunks done and total)
        self.widget.status.value = f"Computing the {plan['description']} chunk by chunk…"
        return worker

    def _add_layers(self, store: ResultStore) -> None:
        """The store exists: show it (layers named '… (computing)'), before any chunk is done."""
        plan, settings = self.plan, dict(self.plan["settings"], chunked=True)
        method = settings["method"]
        colour = METHOD_COLOURS.get(method, METHOD_COLOURS["lee"])
        data = levels(store, self.shapes)
        common = {"kind": "labels", "opacity": 0.5} if method == "soft" else {
            "kind": "labels", "opacity": 0.9, "blending": "translucent_no_depth"}
        if plan["kind"] != "labels":
            common["colormap"] = single_colour(colour, 1)
        todo = [(data, dict(common, name=plan["name"], settings=settings))]
        if method == "soft" and plan["kind"] in ("map", "rescaled"):
            threshold = plan["threshold"]
            mask = [(level > threshold).astype(np.uint8) for level in data] if self.shapes else \
                (data > threshold).astype(np.uint8)
            todo = [(data, {"name": plan["name"] + " map", "kind": "image", "settings": settings,
                            "colormap": ramp(colour, "soft skeleton"), "blending": "additive", "opacity": 0.6,
                            "contrast_limits": (0.0, 1.0)}),
                    (mask, dict(common, name=plan["name"], settings=dict(settings, threshold=threshold)))]
        for arrays, kwargs in todo:
            layer, name = self._put(store, arrays, **kwargs)
            self.layers.append(layer)
            self.names.append(name)
        if method == "soft":  # thin skeletons stay drawn over the thick soft one
            move_below(self.viewer, self.layers, lambda ly: ly.metadata.get(METADATA_KEY, {}).get("method") in _THIN)
        self.widget.last_layers = list(self.layers)
        self.widget.job.cancelled = f"Cancelled; {self._kept()}"  # (kept up to date as chunks come in)

    def _put(self, store, data, *, name: str, kind: str, settings: dict, **kwargs):
        """Add a layer showing ``store`` on the input layer, in place of the one an earlier run made."""
        meta = {METADATA_KEY: dict(settings, source=self.layer.name, complete=False)}
        index = None
        if name in self.viewer.layers and METADATA_KEY in self.viewer.layers[name].metadata:
            index = self.viewer.layers.index(self.viewer.layers[name])
            self.viewer.layers.pop(index)  # (its own store, if any, goes with it)
        elif name in self.viewer.layers:  # a user's layer of that name: never touch it
            name = f"{name} [{len(self.viewer.layers)}]"
        add = self.viewer.add_image if kind == "image" else self.viewer.add_labels
        layer = add(data, name=name + COMPUTING, metadata=meta, multiscale=bool(self.shapes), cache=False,
                    **placement(self.layer), **kwargs)
        attach(layer, store)
        if index is not None:
            self.viewer.layers.move(self.viewer.layers.index(layer), index)
        return layer, name

    def _kept(self) -> str:
        shown = [ly for ly in self.layers if ly in self.viewer.layers]
        if not shown:
            return "no layer was kept."
        names = " and ".join(f"'{name}{INCOMPLETE}'" for name in self.names[:len(shown)])
        return f"{names} {'keeps' if len(shown) == 1 else 'keep'} the {self.done} of {self.total} chunks done."

    def _advance(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        if self.layers and not any(layer in self.viewer.layers for layer in self.layers):
            self.widget.job.cancel()  # (every result layer was removed: nobody is waiting for the rest)
        self.widget.job.cancelled = f"Cancelled; {self._kept()}"
        wait = self._interval - (time.monotonic() - self._last_refresh)
        if wait <= 0:
            self._refresh()
        elif not self._timer.isActive():
            self._timer.start(int(wait * 1000) + 1)

    def _refresh(self) -> None:
        start = time.monotonic()
        for layer in self.layers:
            if layer in self.viewer.layers:
                layer.refresh()
        self._last_refresh = time.monotonic()
        self._interval = max(REFRESH_S, 4 * (self._last_refresh - start))

    def _finish(self, summary: dict, messages: list[str]) -> None:
        """Every chunk is written: plain names, the count, and what the library warned about."""
        self._timer.stop()
        self._refresh()
        for layer, name in zip(self.layers, self.names):
            layer.name = name
            layer.metadata = {**layer.metadata, METADATA_KEY: dict(layer.metadata[METADATA_KEY], complete=True,
                                                                   iterations_used=summary["used"])}
        ids = summary["ids"]
        if self.plan["kind"] == "labels" and len(ids) <= 1 and self.layers:
            self.layers[-1].colormap = single_colour(METHOD_COLOURS.get(self.plan["settings"]["method"],
                                                                        METHOD_COLOURS["lee"]), ids[0] if ids else 1)
        what = self.plan["description"]
        chunks = f"{self.total} chunk" + ("s" if self.total != 1 else "")
        note = (f"{summary['voxels']} skeleton voxels, computed chunk by chunk ({chunks}) into a "
                "temporary store, deleted with the layer" + kind_note(self.plan["kind"]))
        if self.plan["settings"].get("iterations") == "auto" and summary["used"] is not None:
            note = f"auto picked {summary['used']} iterations; " + note
            self.widget.iterations.value = int(summary["used"])
        lines = [note + "."]
        show_info(f"{what[:1].upper()}{what[1:]}: {note}.")
        if summary["voxels"] == 0:
            empty = f"The {what} is empty."
            if self.plan["kind"] in ("map", "rescaled"):
                empty = (f"The {what} is empty: its map peaks at {summary['peak']:.3g}, not above 'threshold' "
                         f"{self.plan['threshold']:g} ({values_text(self.plan)}); lower 'threshold'.")
            messages = [empty, *messages]
        for message in messages:
            lines.append(message)
            show_warning(message)
        self.widget.status.value = "\n".join(lines)

    def _job_state(self, what: str) -> None:
        if what != "finished":
            return
        job = self.widget.job
        job.listeners.remove(self._job_state)
        cancelled, job.cancelled = job.cancelled, CANCELLED
        self._timer.stop()
        if job.outcome is not None and self.layers:  # cancelled, or failed after the layers were added
            self._refresh()
            complete = self.done == self.total  # (a Cancel after the last chunk)
            for layer, name in zip(self.layers, self.names):
                if layer in self.viewer.layers:
                    layer.name = name if complete else name + INCOMPLETE
            if complete:
                self.widget.status.value = f"{job.outcome.split(';')[0]} after the last chunk; the result is complete."
            elif job.outcome != cancelled:  # (an error: say what was kept)
                self.widget.status.value = f"{job.outcome}\n{self._kept()}"
        if self.store is not None:
            self.store.release(id(self))

    # -- worker thread ------------------------------------------------------
    def _work(self, progress):
        worker = self.widget.job.worker

        def aborted() -> bool:
            return worker is not None and worker.abort_requested

        plan = self.plan
        data, plan["kind"], plan["range"] = analyse(self.layer, self.level0, aborted)
        frames = [data[t] for t in range(data.shape[0])] if data.ndim == 4 else [data]
        out, used = plan["compute"](frames[0], progress)  # a refusal is raised here: no layer yet
        first = out = regular(out)
        self.total = total = block_count(out) * len(frames)
        chunks = ((1,) if data.ndim == 4 else ()) + tuple(out.chunksize)
        self.store = store = ResultStore(data.shape, stored_dtype(out.dtype), chunks)
        store.hold(id(self))
        self.bridge.ready.emit(store)
        progress(0, total)
        done, shown = [0], [time.monotonic()]

        def chunk_done() -> None:
            done[0] += 1
            self.bridge.chunk.emit(done[0], total)
            if done[0] < total and time.monotonic() - shown[0] < BAR_S:
                return  # (napari's progress bar redraws the window at every step: not for every chunk)
            shown[0] = time.monotonic()
            try:
                progress(done[0], total)
            except Cancelled:  # (looked at between batches, so that no write is left running)
                pass

        labels = plan["kind"] == "labels"
        threshold = plan.get("threshold") if plan["settings"]["method"] == "soft" and not labels \
            and plan["kind"] != "mask" else None
        summaries = []
        def check(*_) -> None:
            if aborted():
                raise Cancelled

        for t, frame in enumerate(frames):
            if t:  # (each time point as in memory; written in the first one's chunks, the store's)
                out, k = plan["compute"](frame, check)
                out = out.rechunk(first.chunks) if out.chunks != first.chunks else out
                used = max(used, k) if used is not None and k is not None else used
            summaries += write_blocks(out, store.array, (t,) if data.ndim == 4 else (), threshold=threshold,
                                      labels=labels, aborted=aborted, on_chunk=chunk_done)
        ids = sorted({i for _, found, _ in summaries for i in found})[:2]
        return {"voxels": sum(s[0] for s in summaries), "ids": ids, "used": used,
                "peak": max((s[2] for s in summaries), default=0.0)}

