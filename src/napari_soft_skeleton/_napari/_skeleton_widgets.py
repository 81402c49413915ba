"""Soft and reference skeleton widgets: pick a layer, click, look.

Both widgets only translate layers to arrays and back; the work is
:func:`napari_soft_skeleton.skeletonize`, run in a background :class:`Job`.
Every outcome — the result, an empty result, the library's warnings, an
error, a Cancel — is said in the widget's status line as well as in a
notification (whose toast napari cuts short).
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSpinBox,
    PushButton,
    SpinBox,
)
from napari.layers import Labels
from napari.utils.notifications import show_error, show_info, show_warning

from ..palette import METHOD_COLOURS
from ..skeletonize import available_devices, skeletonize
from ._common import (
    METADATA_KEY,
    UserError,
    default_layer,
    image_input,
    layer_array,
    layer_choices,
    move_below,
    put_layer,
    ramp,
    shown,
    skeleton_colour,
    status_label,
)
from ._jobs import Job, warm_up
from ._jobs import keeping_warnings as _keeping_warnings
from ._lazy_job import LazyRun, lazy_source
from ._skeleton_text import filled_suffix as _filled_suffix
from ._skeleton_text import kind_note as _kind_note
from ._skeleton_text import values_text as _values
from ._spacing_control import SpacingControl, method_effect, soft_effect

_MODES = {"3D": False, "per-slice 2D": True}
#: Methods whose skeletons are one voxel thin: drawn over the thick soft skeleton.
_THIN = ("lee", "zhang", "topological")
_RUNNING = "Computing…"  # (then "Computing the … of '…'…")


def _is_thin_skeleton(layer) -> bool:
    return layer.metadata.get(METADATA_KEY, {}).get("method") in _THIN


class _SkeletonWidget(Container):
    """What both widgets share: the layer picker, mode, run/cancel and status."""

    _out_of_memory = "Out of memory; try mode 'per-slice 2D' or a smaller layer."

    def __init__(self, napari_viewer):
        super().__init__(labels=False)  # the status line spans the dock; the controls are a form
        self.form = Container(labels=True)
        self.form.margins = (0, 0, 0, 0)
        self.viewer = napari_viewer
        self.layer = ComboBox(label="input layer", choices=self._layer_choices, nullable=True,
                              tooltip="An Image (mask, probability or intensity) or Labels layer, "
                                      "2D, 3D or 4D (time, z, y, x; done per time point).")
        self.mode = ComboBox(label="mode", choices=list(_MODES), value="3D",
                             tooltip="3D, or each z-slice on its own in 2D.")
        self.fill_holes = CheckBox(text="fill holes", value=False, tooltip=(
            "Fill every object's cavities first (each label's; each slice's holes per-slice): a hollow object "
            "gives a tree, not a closed surface; tunnels stay loops. A label wholly inside another joins it."))
        self.run_button = PushButton(text="Run")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.voxel_spacing = SpacingControl(napari_viewer, self.layer, effect=lambda state: self._spacing_effect(state))
        self.status = status_label()
        self.job = Job(out_of_memory=self._out_of_memory)
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

    def _lay_out(self, controls: list) -> None:
        """The controls as a labelled form, the voxel spacing, Run / Cancel, then the status line at full width."""
        self.form.extend([*controls, self.run_button, self.cancel_button])
        self.extend([self.form, self.voxel_spacing, self.status])
        self.mode.changed.connect(self.voxel_spacing.refresh)
        self.voxel_spacing.refresh()

    def _spacing_effect(self, state) -> str:
        """What the spacing does here (the readout's second line)."""
        raise NotImplementedError

    # -- layer picker -------------------------------------------------------
    def _layer_choices(self, _widget=None):
        return layer_choices(self.viewer)

    def _follow_name(self, layer) -> None:
        """Keep the picker's entry for ``layer`` in step with its name."""
        layer.events.name.connect(self._refresh_layers)

    def _refresh_layers(self, event=None):
        current = self.layer.value
        self.layer.reset_choices()
        if current is None or current not in self.viewer.layers:
            start = default_layer(self.viewer, [ly for _, ly in self._layer_choices()])
            if start is not None:
                self.layer.value = start

    # -- running ------------------------------------------------------------
    def _job_state(self, what: str) -> None:
        running = what == "started"
        self.run_button.enabled = not running
        self.cancel_button.enabled = running
        if running:
            self.status.value = _RUNNING
        elif self.job.outcome is not None:  # an error or a Cancel: say it here too
            self.status.value = self.job.outcome
        elif self.status.value.startswith(_RUNNING[:-1]):  # (no result was shown)
            self.status.value = ""

    def _error(self, message: str) -> None:
        self.status.value = message
        show_error(message)

    def run(self, *_):
        """Start the computation for the chosen layer; returns the worker (or None)."""
        if self.job.running:  # the status line keeps describing the run under way
            show_error("A computation is already running; wait for it or press Cancel.")
            return None
        try:
            layer = self.layer.value
            if lazy_source(layer) is not None:  # dask or Zarr: chunk by chunk, never loaded whole (_lazy_job.py)
                return LazyRun(self, layer, *lazy_source(layer)).start()
            data = layer_array(layer, control=self.layer.label)
            plan = self._plan(layer, data)
            worker = self.job.start(_keeping_warnings(plan["work"]), description=plan["description"],
                                    on_done=lambda out: self._finish(layer, plan, *out))
            self.status.value = f"Computing the {plan['description']}…"
            return worker
        except UserError as err:
            self._error(shown(str(err)))
            return None

    def _inputs(self, layer, data: np.ndarray, pending: bool = False):
        """``(data, kind, value range, per_slice, spatial ndim)`` for a run on ``layer``.

        ``kind`` is ``"labels"`` or what :func:`image_input` says; with ``pending`` (a lazy layer) the
        kind and range of an Image are None, found later by the run (which sets ``plan["kind"]``).
        """
        if isinstance(layer, Labels):
            kind, values = "labels", (0.0, 0.0)
        elif pending:
            kind, values = None, None
        else:
            data, kind, values = image_input(layer, data)
        spatial = data.ndim if data.ndim < 4 else 3
        return data, kind, values, _MODES[self.mode.value], spatial

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
        """Show the result (unless its input is gone), then what the library warned about."""
        if layer not in self.viewer.layers:
            note = f"Layer '{layer.name}' was removed while computing; no layer was added."
            self.status.value = note
            show_warning(note)
            return
        title, note, empty = self._show(layer, plan, result)
        if empty == "" and not messages:  # nothing more specific to say (e.g. no library warning)
            empty = f"The {title[:1].lower()}{title[1:]} is empty."
        lines = [note + "."]
        show_info(f"{title}: {note}.")
        for message in ([empty] if empty else []) + messages:
            lines.append(message)
            show_warning(message)
        self.status.value = "\n".join(lines)

    def _show(self, layer, plan, result) -> tuple[str, str, str | None]:
        """Put the result in layers; returns (title, note, empty).

        ``empty`` is None for a non-empty result, else a sentence saying why
        it is empty, or "" when there is nothing specific to say.
        """
        raise NotImplementedError

    def _add(self, layers_to_add) -> list:
        """``put_layer`` each ``(data, kwargs)``; returns the layers and which are new."""
        added, new = [], []
        for data, kwargs in layers_to_add:
            fresh = kwargs["name"] not in self.viewer.layers
            layer = put_layer(self.viewer, data, **kwargs)
            added.append(layer)
            if fresh:
                new.append(layer)
        return added, new


class SoftSkeletonWidget(_SkeletonWidget):
    """The clDice soft skeleton of an Image or Labels layer.

    A probability or intensity image gives the soft map (an Image layer,
    additive and dim) and its binarization (a Labels layer); a mask or a
    Labels layer gives the skeleton only.  Both are drawn in the soft
    skeleton's palette colour, translucent, and placed below any thin
    (Lee, Zhang, topological) skeleton so that those stay readable over it.
    """

    _out_of_memory = "Out of memory; try mode 'per-slice 2D', device 'cpu' or a smaller layer."

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.iterations = SpinBox(label="iterations", value=10, min=0, max=1000,
                                  tooltip="Erosion steps of the soft skeleton.")
        self.auto = CheckBox(text="auto (until it stops changing)", value=False,
                             tooltip="Iterate until the skeleton above the threshold cannot change any more.")
        self.threshold = FloatSpinBox(label="threshold", value=0.5, min=0.0, max=0.99, step=0.05,
                                      tooltip="The skeleton layer is the soft map > threshold (probability and "
                                              "intensity images; masks and Labels need none).")
        self.device = ComboBox(label="device", choices=["auto", *available_devices()], value="auto")
        self.auto.changed.connect(lambda v: setattr(self.iterations, "enabled", not v))
        self._lay_out([self.layer, self.iterations, self.auto, self.threshold, self.mode, self.fill_holes, self.device])
        self._refresh_layers()

    def _spacing_effect(self, state) -> str:
        return soft_effect(state, per_slice=_MODES[self.mode.value])

    def set_iterations(self, k: int) -> None:
        """Use ``k`` iterations (e.g. as chosen in the iteration explorer)."""
        self.auto.value = False
        self.iterations.value = int(k)

    def _plan(self, layer, data, pending: bool = False):
        iterations = "auto" if self.auto.value else int(self.iterations.value)
        device = None if self.device.value == "auto" else self.device.value
        threshold = float(self.threshold.value)
        fill_holes = bool(self.fill_holes.value)
        data, kind, values, per_slice, spatial = self._inputs(layer, data, pending)
        spacing = self.voxel_spacing.spacing_for(layer, spatial)  # (None: the voxel grid)

        def compute(frame, progress):
            kwargs = dict(iterations=iterations, per_slice=per_slice, device=device, spacing=spacing,
                          return_iterations=True, progress=progress, fill_holes=fill_holes)
            if iterations == "auto" or fill_holes:  # stop once map > threshold is final; fill its cavities
                kwargs["auto_threshold"] = threshold
            if plan["kind"] in ("labels", "mask"):
                return skeletonize(frame, "soft", **kwargs)
            return skeletonize(frame, "soft", threshold=None, normalize=plan["kind"] == "rescaled", **kwargs)

        plan = {
            "work": lambda progress: self._over_frames(data, compute, progress),
            "compute": compute,
            "name": f"{layer.name} soft skeleton (k={iterations})" + _filled_suffix(fill_holes),
            "description": f"soft skeleton of '{layer.name}'",
            "kind": kind,
            "range": values,
            "settings": {"method": "soft", "iterations": iterations, "per_slice": per_slice, "fill_holes": fill_holes,
                         "spacing": spacing},
            "threshold": threshold,
        }
        return plan

    def _show(self, layer, plan, result):
        out, used = result
        k = plan["settings"]["iterations"]
        base = plan["name"]
        settings = dict(plan["settings"], iterations_used=used)
        colour = METHOD_COLOURS["soft"]
        common = {"kind": "labels", "source": layer, "opacity": 0.5}
        empty = None
        if plan["kind"] in ("labels", "mask"):
            skel = out if plan["kind"] == "labels" else out.astype(np.uint8)
            todo = [(skel, dict(common, name=base, settings=settings, **skeleton_colour(skel, colour)))]
            if not skel.any():
                empty = ""
        else:
            threshold = plan["threshold"]
            skel = (out > threshold).astype(np.uint8)
            todo = [(out, {"name": f"{base} map", "kind": "image", "source": layer, "settings": settings,
                           "colormap": ramp(colour, "soft skeleton"), "blending": "additive",
                           "opacity": 0.6, "contrast_limits": (0.0, 1.0)}),
                    (skel, dict(common, name=base, settings=dict(settings, threshold=threshold),
                                **skeleton_colour(skel, colour)))]
            if not skel.any():
                empty = (f"The soft skeleton of '{layer.name}' is empty: its map peaks at {float(out.max()):.3g}, "
                         f"not above 'threshold' {threshold:g} ({_values(plan)}); lower 'threshold'.")
        self.last_layers, new = self._add(todo)
        move_below(self.viewer, new, _is_thin_skeleton)  # thin skeletons stay on top
        note = f"{int(np.count_nonzero(skel))} skeleton voxels"
        if k == "auto":
            note = f"auto picked {used} iterations; " + note
            self.iterations.value = int(used)
        return f"Soft skeleton of '{layer.name}'", note + _kind_note(plan["kind"]), empty


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
                                              "(intensities are first rescaled to [0, 1]; masks and Labels "
                                              "need none).")
        self.method.changed.connect(self.voxel_spacing.refresh)
        self._lay_out([self.layer, self.method, self.threshold, self.mode, self.fill_holes])
        self._refresh_layers()

    def _spacing_effect(self, state) -> str:
        method = getattr(self, "method", None)  # (None while the base class is being built)
        return method_effect(None if method is None else method.value, state, per_slice=_MODES[self.mode.value])

    def _plan(self, layer, data, pending: bool = False):
        method = self.method.value
        data, kind, values, per_slice, spatial = self._inputs(layer, data, pending)
        if method == "zhang" and spatial == 3 and not per_slice:
            raise UserError("Method 'zhang' is 2D only; set 'mode' to 'per-slice 2D' for a volume.")
        threshold = float(self.threshold.value)
        fill_holes = bool(self.fill_holes.value)
        # only our thinning follows the spacing (scikit-image's work on the voxel grid); None when switched off
        spacing = self.voxel_spacing.spacing_for(layer, spatial) if method == "topological" else None

        def compute(frame, progress):
            common = dict(per_slice=per_slice, return_iterations=True, progress=progress, fill_holes=fill_holes,
                          spacing=spacing)
            if plan["kind"] in ("labels", "mask"):
                return skeletonize(frame, method, **common)
            return skeletonize(frame, method, threshold=threshold, normalize=plan["kind"] == "rescaled", **common)

        plan = {
            "work": lambda progress: self._over_frames(data, compute, progress),
            "compute": compute,
            "name": f"{layer.name} {method} skeleton" + _filled_suffix(fill_holes),
            "description": f"{method} skeleton of '{layer.name}'",
            "kind": kind,
            "range": values,
            "settings": {"method": method, "per_slice": per_slice, "threshold": threshold, "fill_holes": fill_holes,
                         "spacing": spacing},
        }
        return plan

    def _show(self, layer, plan, result):
        out, _ = result
        method = plan["settings"]["method"]
        data = out if plan["kind"] == "labels" else out.astype(np.uint8)
        colour = METHOD_COLOURS.get(method, METHOD_COLOURS["lee"])
        name = plan["name"]
        (skel,), _ = self._add([(data, {"name": name, "kind": "labels",
                                        "source": layer, "settings": plan["settings"],
                                        "blending": "translucent_no_depth", "opacity": 0.9,
                                        **skeleton_colour(data, colour)})])
        self.last_layers = [skel]
        empty = None
        if not data.any():
            threshold = plan["settings"]["threshold"]
            if plan["kind"] == "map" and plan["range"][1] <= threshold:
                empty = (f"The {method} skeleton of '{layer.name}' is empty: no value is above 'threshold' "
                         f"{threshold:g} ({_values(plan)}); lower 'threshold'.")
            else:
                empty = ""
        note = f"{int(np.count_nonzero(data))} skeleton voxels" + _kind_note(plan["kind"])
        return f"{method.capitalize()} skeleton of '{layer.name}'", note, empty
