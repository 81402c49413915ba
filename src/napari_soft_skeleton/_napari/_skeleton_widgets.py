"""Soft and reference skeleton widgets: pick a layer, click, look.

Both widgets only translate layers to arrays and back; the work is
:func:`napari_soft_skeleton.skeletonize`, run in a background :class:`Job`.
"""

from __future__ import annotations

import warnings

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSpinBox,
    Label,
    PushButton,
    SpinBox,
)
from napari.layers import Image, Labels
from napari.utils.notifications import show_error, show_info, show_warning

from ..skeletonize import available_devices, skeletonize
from ._common import Job, UserError, layer_array, layer_spacing, put_layer, skeleton_colour, warm_up

_MODES = {"3D": False, "per-slice 2D": True}
_COLOURS = {"lee": "cyan", "zhang": "cyan", "topological": "orange"}


class _SkeletonWidget(Container):
    """What both widgets share: the layer picker, mode, run/cancel and status."""

    def __init__(self, napari_viewer):
        super().__init__(labels=True)
        self.viewer = napari_viewer
        self.layer = ComboBox(label="input layer", choices=self._layer_choices, nullable=True,
                              tooltip="An Image (mask, probability or intensity) or Labels layer, "
                                      "2D, 3D or 4D (time, z, y, x; done per time point).")
        self.mode = ComboBox(label="mode", choices=list(_MODES), value="3D",
                             tooltip="3D, or each z-slice on its own in 2D.")
        self.run_button = PushButton(text="Run")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.status = Label(value="")
        self.job = Job()
        self.job.listeners.append(self._job_state)
        self.run_button.changed.connect(self.run)
        self.cancel_button.changed.connect(self.job.cancel)
        self.last_layers: list = []
        warm_up()
        for event in ("inserted", "removed", "moved", "reordered"):
            emitter = getattr(napari_viewer.layers.events, event, None)
            if emitter is not None:
                emitter.connect(self._refresh_layers)
        napari_viewer.layers.events.inserted.connect(lambda e: self._follow_name(e.value))
        for existing in napari_viewer.layers:
            self._follow_name(existing)

    # -- layer picker -------------------------------------------------------
    def _layer_choices(self, _widget=None):
        return [(layer.name, layer) for layer in self.viewer.layers if isinstance(layer, (Image, Labels))]

    def _follow_name(self, layer) -> None:
        """Keep the picker's entry for ``layer`` in step with its name."""
        layer.events.name.connect(self._refresh_layers)

    def _refresh_layers(self, event=None):
        current = self.layer.value
        self.layer.reset_choices()
        if current is None or current not in self.viewer.layers:
            selected = [ly for ly in self.viewer.layers.selection if isinstance(ly, (Image, Labels))]
            candidates = selected or [ly for _, ly in self._layer_choices()]
            if candidates:
                self.layer.value = candidates[-1]

    # -- running ------------------------------------------------------------
    def _job_state(self, what: str) -> None:
        running = what == "started"
        self.run_button.enabled = not running
        self.cancel_button.enabled = running
        if running:
            self.status.value = "running…"
        elif self.status.value == "running…":
            self.status.value = ""

    def run(self, *_):
        """Start the computation for the chosen layer; returns the worker (or None)."""
        try:
            layer = self.layer.value
            data = layer_array(layer)
            plan = self._plan(layer, data)
        except UserError as err:
            show_error(str(err))
            return None
        try:
            return self.job.start(_keeping_warnings(plan["work"]), description=plan["description"],
                                  on_done=lambda out: self._finish(layer, plan, *out))
        except UserError as err:
            show_error(str(err))
            return None

    def _inputs(self, layer, data: np.ndarray):
        """``(data, is_labels, rescaled, per_slice, spatial ndim)`` for a run on ``layer``."""
        is_labels = isinstance(layer, Labels)
        rescaled = False
        if not is_labels:
            data, rescaled = _image_input(layer, data)
        spatial = data.ndim if data.ndim < 4 else 3
        return data, is_labels, rescaled, _MODES[self.mode.value], spatial

    def _over_frames(self, data, compute, progress):
        """``compute(frame, sub_progress)`` per time point of a 4D layer, stacked back together."""
        frames = list(data) if data.ndim == 4 else [data]
        outputs, used = [], []
        for t, frame in enumerate(frames):
            def sub(done, total, t=t):
                progress(t * 1000 + int(1000 * done / max(total, 1)), 1000 * len(frames))

            out, k = compute(frame, sub)
            outputs.append(out)
            used.append(k)
        stacked = outputs[0] if data.ndim < 4 else np.stack(outputs)
        ks = [k for k in used if k is not None]
        return stacked, (max(ks) if ks else None)

    def _finish(self, layer, plan, result, messages) -> None:
        """Show the result, then what the library warned about (once each)."""
        self._show(layer, plan, result)
        for message in messages:
            show_warning(message)

    def _show(self, layer, plan, result):
        raise NotImplementedError

    def _done(self, title: str, note: str) -> None:
        self.status.value = note
        show_info(f"{title}: {note}.")


def _keeping_warnings(work):
    """``work`` that also returns the library's warnings (one line each, no repeats).

    They are shown as notifications once the result is on screen: e.g.
    scikit-image dropping objects, or a strongly anisotropic volume.
    """
    def run(progress):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            warnings.simplefilter("always", RuntimeWarning)
            result = work(progress)
        messages = []
        for w in caught:
            text = " ".join(str(w.message).split())
            if issubclass(w.category, (UserWarning, RuntimeWarning)) and text not in messages:
                messages.append(text)
        return result, messages

    return run


def _image_input(layer, data: np.ndarray) -> tuple[np.ndarray, bool]:
    """An Image layer's data as a mask or a [0, 1] map; True when it was rescaled."""
    if data.dtype == bool:
        return data, False
    values = data.astype(np.float32, copy=False)
    lo, hi = float(values.min()), float(values.max())
    if data.dtype.kind == "f" and 0 <= lo and hi <= 1:
        return values, False
    if not np.isfinite(lo) or not np.isfinite(hi):
        raise UserError(f"Layer '{layer.name}' contains NaN or infinite values.")
    return values, True


class SoftSkeletonWidget(_SkeletonWidget):
    """The clDice soft skeleton of an Image or Labels layer.

    Adds the soft map as an Image layer (additive, magenta) and its
    binarization as a Labels layer, both placed exactly on the input.
    """

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.iterations = SpinBox(label="iterations", value=10, min=0, max=1000,
                                  tooltip="Erosion steps of the soft skeleton.")
        self.auto = CheckBox(text="auto (until it stops changing)", value=False)
        self.threshold = FloatSpinBox(label="threshold", value=0.5, min=0.0, max=0.99, step=0.05,
                                      tooltip="The skeleton layer is the soft map > threshold.")
        self.device = ComboBox(label="device", choices=["auto", *available_devices()], value="auto")
        self.auto.changed.connect(lambda v: setattr(self.iterations, "enabled", not v))
        self.extend([self.layer, self.iterations, self.auto, self.threshold, self.mode,
                     self.device, self.run_button, self.cancel_button, self.status])
        self._refresh_layers()

    def set_iterations(self, k: int) -> None:
        """Use ``k`` iterations (e.g. as chosen in the iteration explorer)."""
        self.auto.value = False
        self.iterations.value = int(k)

    def _plan(self, layer, data):
        iterations = "auto" if self.auto.value else int(self.iterations.value)
        device = None if self.device.value == "auto" else self.device.value
        data, is_labels, rescaled, per_slice, spatial = self._inputs(layer, data)
        spacing = layer_spacing(layer, spatial)

        def compute(frame, progress):
            kwargs = dict(iterations=iterations, per_slice=per_slice, device=device, spacing=spacing,
                          return_iterations=True, progress=progress)
            if is_labels:
                return skeletonize(frame, "soft", **kwargs)
            return skeletonize(frame, "soft", threshold=None, normalize=rescaled, **kwargs)

        return {
            "work": lambda progress: self._over_frames(data, compute, progress),
            "description": f"soft skeleton of {layer.name}",
            "labels": is_labels,
            "rescaled": rescaled,
            "settings": {"method": "soft", "iterations": iterations, "per_slice": per_slice},
            "threshold": float(self.threshold.value),
        }

    def _show(self, layer, plan, result):
        out, used = result
        k = plan["settings"]["iterations"]
        base = f"{layer.name} soft skeleton (k={k})"
        settings = dict(plan["settings"], iterations_used=used)
        if plan["labels"]:
            skel = put_layer(self.viewer, out, name=base, kind="labels", source=layer, settings=settings,
                             **skeleton_colour(out, "yellow"))
            self.last_layers = [skel]
        else:
            soft_map = put_layer(self.viewer, out, name=f"{base} map", kind="image", source=layer,
                                 settings=settings, colormap="magenta", blending="additive",
                                 contrast_limits=(0.0, 1.0))
            binary = (out > plan["threshold"]).astype(np.uint8)
            skel = put_layer(self.viewer, binary, name=base, kind="labels", source=layer,
                             settings=dict(settings, threshold=plan["threshold"]),
                             **skeleton_colour(binary, "yellow"))
            self.last_layers = [soft_map, skel]
        note = f"{int(np.count_nonzero(skel.data))} skeleton voxels"
        if k == "auto":
            note = f"auto picked {used} iterations; " + note
            self.iterations.value = int(used)
        if plan["rescaled"]:
            note += "; intensities were rescaled to [0, 1]"
        self._done(f"Soft skeleton of '{layer.name}'", note)


class ReferenceSkeletonWidget(_SkeletonWidget):
    """Hard skeletons, per label, as a Labels layer: scikit-image's (Lee in 3D; Lee or
    Zhang in 2D) and our topology-preserving thinning."""

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.method = ComboBox(label="method", choices=["lee", "zhang", "topological"], value="lee",
                               tooltip="Lee (scikit-image): 2D and 3D. Zhang (scikit-image): 2D only "
                                       "(per-slice for volumes). Topological (ours): keeps every object, "
                                       "loop and cavity, one voxel thin.")
        self.threshold = FloatSpinBox(label="threshold", value=0.5, min=0.0, max=0.99, step=0.05,
                                      tooltip="Probability/intensity images are binarized as value > threshold "
                                              "(intensities are first rescaled to [0, 1]).")
        self.extend([self.layer, self.method, self.threshold, self.mode,
                     self.run_button, self.cancel_button, self.status])
        self._refresh_layers()

    def _plan(self, layer, data):
        method = self.method.value
        data, is_labels, rescaled, per_slice, spatial = self._inputs(layer, data)
        if method == "zhang" and spatial == 3 and not per_slice:
            raise UserError("Zhang's method is 2D only; choose per-slice 2D mode for a volume.")
        threshold = float(self.threshold.value)

        def compute(frame, progress):
            if is_labels:
                return skeletonize(frame, method, per_slice=per_slice, return_iterations=True,
                                   progress=progress)
            return skeletonize(frame, method, per_slice=per_slice, threshold=threshold,
                               normalize=rescaled, return_iterations=True, progress=progress)

        return {
            "work": lambda progress: self._over_frames(data, compute, progress),
            "description": f"{method} skeleton of {layer.name}",
            "labels": is_labels,
            "rescaled": rescaled,
            "settings": {"method": method, "per_slice": per_slice, "threshold": threshold},
        }

    def _show(self, layer, plan, result):
        out, _ = result
        method = plan["settings"]["method"]
        data = out if plan["labels"] else out.astype(np.uint8)
        skel = put_layer(self.viewer, data, name=f"{layer.name} {method} skeleton", kind="labels",
                         source=layer, settings=plan["settings"],
                         **skeleton_colour(data, _COLOURS.get(method, "cyan")))
        self.last_layers = [skel]
        self._done(f"{method.capitalize()} skeleton of '{layer.name}'", f"{int(np.count_nonzero(data))} skeleton voxels")
