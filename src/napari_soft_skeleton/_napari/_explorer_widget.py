"""Iteration explorer: a slider over the soft skeleton's iterations.

For each step ``k`` it shows the image eroded ``k`` times (grey) and the
skeleton accumulated so far (the soft skeleton's palette colour), with a
legend in the widget saying which is which.  All steps are computed once, in
a background :class:`~._common.Job` (:func:`~._explorer_steps.compute_steps`),
and any step is rebuilt from them quickly.
"""

from __future__ import annotations

from magicgui.widgets import ComboBox, Container, PushButton, Slider, SpinBox
from napari.utils.notifications import show_error, show_info
from psygnal import Signal

from ..palette import MASK_COLOUR, METHOD_COLOURS
from ._common import (
    METADATA_KEY,
    UserError,
    default_layer,
    fade_in,
    layer_choices,
    put_layer,
    shown,
    status_label,
    swatch,
)
from ._jobs import Job
from ._explorer_steps import (  # noqa: F401 - re-exported
    MAX_FLOAT_STORE_BYTES,
    ExplorerSteps,
    check_fits,
    compute_steps,
    explorer_input,
    float_store_bytes,
)

__all__ = [
    "MAX_FLOAT_STORE_BYTES",
    "ExplorerSteps",
    "IterationExplorer",
    "check_fits",
    "compute_steps",
    "explorer_input",
]

#: The colours of the explorer's two layers, as its legend names them.
ERODED_COLOUR = MASK_COLOUR  # grey, like the sample masks: the input
SKELETON_COLOUR = METHOD_COLOURS["soft"]

#: Marks the explorer's own output layers (in the metadata put_layer writes).
_WIDGET_TAG = "iteration explorer"

_INPUT_TOOLTIP = (
    "The 2D or 3D layer to explore; it is never modified.\n"
    "Labels: every label > 0 counts as foreground (one mask).\n"
    "Image: a boolean or two-valued image (e.g. 0/255) is a mask; a float image with\n"
    "values in [0, 1] is used as a probability map as it is; any other image is\n"
    "rescaled min-max to [0, 1]."
)
_IDLE = "Press Compute to walk through the iterations."


# --------------------------------------------------------------------------
# the widget
# --------------------------------------------------------------------------


class IterationExplorer(Container):
    """Walk through the soft skeleton's iterations with a slider.

    Emits ``iterations_chosen(int)`` when "Use this count" is pressed (and
    stores the value in ``chosen_iterations``), so another widget can take
    the count without this one knowing about it.
    """

    iterations_chosen = Signal(int)

    def __init__(self, napari_viewer):
        super().__init__(labels=False)  # texts span the dock; the controls are a labelled form
        self.viewer = napari_viewer
        self.job = Job(failure="Computing the steps",
                       out_of_memory="Out of memory; lower 'max iterations' or crop the layer.")
        self.steps: ExplorerSteps | None = None
        self.source = None  # the layer the stored steps belong to
        self.chosen_iterations: int | None = None
        self.eroded_layer = None
        self.skeleton_layer = None
        self._removed_note: str | None = None

        self.layer = ComboBox(label="input layer", choices=self._layer_choices, nullable=True,
                              tooltip=_INPUT_TOOLTIP)
        self.max_iterations = SpinBox(label="max iterations", value=20, min=1, max=200,
                                      tooltip="The largest iteration count to look at (0 to this).")
        self.compute_button = PushButton(text="Compute",
                                         tooltip="Compute every step up to the maximum in the background.")
        self.cancel_button = PushButton(text="Cancel", enabled=False, tooltip="Stop the computation.")
        buttons = Container(widgets=[self.compute_button, self.cancel_button], layout="horizontal",
                            labels=False, label="")
        buttons.margins = (0, 0, 0, 0)
        self.slider = Slider(label="step", value=0, min=0, max=self.max_iterations.value, enabled=False,
                             tooltip="The iteration to show; press Compute first.")
        self.status = status_label(value=_IDLE)
        self.hint = status_label(value="")
        self.legend = status_label(value="<br>".join([
            swatch(ERODED_COLOUR, "grey: the input eroded <i>step</i> times (layer '… eroded')"),
            swatch(SKELETON_COLOUR, "purple: the soft skeleton after <i>step</i> iterations "
                                    "(layer '… skeleton so far')"),
        ]))
        self.use_button = PushButton(text="Use this count", enabled=False,
                                     tooltip="Take the step shown as the iteration count of the Soft skeleton widget.")
        form = Container(widgets=[self.layer, self.max_iterations, buttons, self.slider], labels=True)
        form.margins = (0, 0, 0, 0)
        self.extend([form, self.status, self.hint, self.legend, self.use_button])

        self.compute_button.changed.connect(self._on_compute)
        self.cancel_button.changed.connect(self.job.cancel)
        self.slider.changed.connect(self.show_step)
        self.use_button.changed.connect(self._use_count)
        self.job.listeners.append(self._on_job)
        events = self.viewer.layers.events
        events.inserted.connect(self._refresh_choices)
        events.removed.connect(self._on_removed)
        events.reordered.connect(self._refresh_choices)
        self._refresh_choices()

    # ---- layer choices ----------------------------------------------------

    def _layer_choices(self, _widget=None):
        return layer_choices(self.viewer,
                             lambda layer: layer.metadata.get(METADATA_KEY, {}).get("widget") != _WIDGET_TAG)

    def _refresh_choices(self, _event=None) -> None:
        current = self.layer.value
        self.layer.reset_choices()
        if current is None or current not in self.viewer.layers:
            start = default_layer(self.viewer, [layer for _, layer in self._layer_choices()])
            if start is not None:
                self.layer.value = start

    def _on_removed(self, event) -> None:
        self._refresh_choices()
        # (== rather than `is`: napari hands plugins proxies of its layers)
        removed = getattr(event, "value", None)
        if removed is None:
            return
        if self.source is not None and removed == self.source:
            self._forget()
        if self.eroded_layer is not None and removed == self.eroded_layer:
            self.eroded_layer = None
        if self.skeleton_layer is not None and removed == self.skeleton_layer:
            self.skeleton_layer = None

    def _forget(self) -> None:
        self.steps = None
        self.source = None
        self.slider.enabled = False
        self.use_button.enabled = False
        self.status.value = _IDLE
        self.hint.value = ""

    # ---- computing --------------------------------------------------------

    def _on_compute(self, _=None) -> None:
        self.compute()

    def _error(self, message: str) -> None:
        self.status.value = message
        show_error(message)

    def compute(self):
        """Start computing every step for the chosen layer; returns the worker (None on error)."""
        if self.job.running:
            show_error("A computation is already running; wait for it or press Cancel.")
            return None
        try:
            source = self.layer.value
            image = explorer_input(source)
            iterations = int(self.max_iterations.value)
            check_fits(image, iterations, source.name)
            worker = self.job.start(
                lambda progress: compute_steps(image, iterations, progress),
                description=f"Soft skeleton steps of '{source.name}'",
                on_done=lambda steps: self._on_done(source, steps),
            )
        except UserError as err:
            self._error(shown(str(err)))
            return None
        self.status.value = f"Computing steps 0 to {iterations}…"
        return worker

    def _on_job(self, what: str) -> None:
        running = what == "started"
        self.compute_button.enabled = not running
        self.cancel_button.enabled = running
        if running:
            return
        # done, failed or cancelled: the status says so, then describes what is shown
        lines = [] if self.job.outcome is None else [self.job.outcome]
        if self.steps is not None:
            lines.append(self._step_text(int(self.slider.value)))
        elif not lines:
            lines.append(_IDLE)
        if self._removed_note:  # the result came for a layer that is gone
            lines, self._removed_note = [self._removed_note], None
        self.status.value = "\n".join(lines)

    def _on_done(self, source, steps: ExplorerSteps) -> None:
        if source not in self.viewer.layers:
            self._removed_note = f"Layer '{source.name}' was removed while computing; nothing to show."
            show_error(self._removed_note)
            return
        self.steps, self.source = steps, source
        self.slider.max = steps.iterations
        self.slider.enabled = True
        self.use_button.enabled = True
        if steps.settled is None:
            self.hint.value = (f"Still changing at step {steps.iterations}; "
                               "a larger 'max iterations' may add more.")
        else:
            self.hint.value = (f"Stops changing after step {steps.settled}: "
                               "more iterations give the same skeleton.")
        self.show_step(self.slider.value)

    # ---- showing ----------------------------------------------------------

    def show_step(self, k: int | None = None) -> None:
        """Show step ``k`` (default: the slider's) in the two output layers."""
        if self.steps is None or self.source is None:
            return
        k = int(self.slider.value if k is None else k)
        k = min(max(k, 0), self.steps.iterations)
        if self.slider.value != k:
            self.slider.value = k  # comes back here through the slider's signal
            return
        source, steps = self.source, self.steps
        settings = {"widget": _WIDGET_TAG, "step": k, "max_iterations": steps.iterations}
        try:
            self.eroded_layer = put_layer(
                self.viewer, steps.eroded_at(k), name=f"{source.name} eroded", kind="image",
                source=source, settings=settings, colormap="gray", blending="translucent",
                contrast_limits=[0, 1], opacity=0.8,  # mostly covers the input, a faint ghost remains
            )
            self.skeleton_layer = put_layer(
                self.viewer, steps.skeleton_at(k), name=f"{source.name} skeleton so far", kind="image",
                source=source, settings=settings, colormap=fade_in(SKELETON_COLOUR, "soft skeleton so far"),
                blending="translucent_no_depth", contrast_limits=[0, 1],  # over the grey, also in 3D
            )
        except UserError as err:
            self._error(str(err))
            return
        self.status.value = self._step_text(k)

    def _step_text(self, k: int) -> str:
        steps = self.steps
        voxels, gone = steps.stats_at(k)
        what = "mask" if steps.binary else "intensity"
        return (f"step {k} of {steps.iterations}: {voxels} skeleton voxels > 0.5, "
                f"{100 * gone:.1f}% of the {what} eroded away")

    def _use_count(self, _=None) -> None:
        """Emit the step shown as the chosen count, and hand it to open Soft skeleton widgets.

        Any docked widget with a ``set_iterations(k)`` method takes it (duck
        typing: this module imports no other widget).
        """
        k = int(self.slider.value)
        self.chosen_iterations = k
        self.iterations_chosen.emit(k)
        docks = getattr(getattr(self.viewer, "window", None), "dock_widgets", None) or {}
        taken = 0
        for widget in list(docks.values()):
            setter = getattr(widget, "set_iterations", None)
            if widget is not self and callable(setter):
                setter(k)
                taken += 1
        if taken:
            show_info(f"The Soft skeleton widget now uses {k} iterations.")
        else:
            show_info(f"Chose {k} iterations; open the Soft skeleton widget to use them.")
