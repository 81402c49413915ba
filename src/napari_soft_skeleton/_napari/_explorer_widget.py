"""Iteration explorer: a slider over the soft skeleton's iterations.

For each step ``k`` it shows the image eroded ``k`` times and the skeleton
accumulated so far, so the iteration count can be chosen by looking.  All
steps are computed once, in a background :class:`~._common.Job`, and kept in
a form from which any step is rebuilt quickly:

* a mask (0/1 input) erodes monotonically and its skeleton only grows, so two
  small integer maps are exact: ``depth`` (the eroded image at step ``k`` is
  ``depth > k``) and ``joined`` (the skeleton so far is ``joined <= k``);
* a float map keeps every step's eroded image and skeleton as float32, which
  is refused when it would take more than :data:`MAX_FLOAT_STORE_BYTES`.

Once the eroded image is constant nothing changes any more, so the walk stops
there and later steps show the last one computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from magicgui.widgets import ComboBox, Container, Label, PushButton, Slider, SpinBox
from napari.layers import Image, Labels
from napari.utils.notifications import show_error, show_info
from psygnal import Signal
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QSizePolicy

from ..skeletonize import _as_probability
from ..soft import soft_skeleton_steps
from ._common import METADATA_KEY, Job, UserError, layer_array, put_layer

__all__ = ["IterationExplorer", "ExplorerSteps", "explorer_input", "compute_steps", "MAX_FLOAT_STORE_BYTES"]

#: A float map stores (max + 1) × 2 float32 volumes; above this many bytes it is refused.
MAX_FLOAT_STORE_BYTES = int(1.5e9)

#: Marks the explorer's own output layers (in the metadata put_layer writes).
_WIDGET_TAG = "iteration explorer"

_INPUT_TOOLTIP = (
    "The 2D or 3D layer to explore; it is never modified.\n"
    "Labels: every label > 0 counts as foreground (one mask).\n"
    "Image: a boolean image is a mask; a float image with values in [0, 1] is used\n"
    "as a probability map as it is; any other image is rescaled min-max to [0, 1]."
)


# --------------------------------------------------------------------------
# the computation (no Qt; tested directly)
# --------------------------------------------------------------------------


def explorer_input(layer) -> np.ndarray:
    """The layer as the soft skeleton sees it: a bool mask or a float32 map in [0, 1].

    Raises :class:`UserError` with one sentence for input the explorer cannot use.
    """
    data = layer_array(layer, allow_4d=False)
    if isinstance(layer, Labels):
        return data > 0
    if data.dtype == bool:
        return data
    if data.dtype.kind == "f" and not np.all(np.isfinite(data)):
        raise UserError(f"Layer '{layer.name}' contains NaN or infinite values; replace them first.")
    lo, hi = float(data.min()), float(data.max())
    as_is = data.dtype.kind == "f" and lo >= 0 and hi <= 1
    if not as_is and hi == lo:
        raise UserError(f"Layer '{layer.name}' is constant ({lo:g} everywhere); there is nothing to skeletonize.")
    image = _as_probability(data, normalize=not as_is).astype(np.float32, copy=False)
    if np.all((image == 0) | (image == 1)):
        return image == 1  # a mask stored as numbers: take the exact compact path
    return image


@dataclass
class ExplorerSteps:
    """Every step of :func:`soft_skeleton_steps` on one image, stored compactly.

    Steps after ``last`` equal step ``last`` (the eroded image had become
    constant there, so nothing changes any more).
    """

    iterations: int  # the maximum asked for (K)
    last: int  # the last step computed
    settled: int | None  # the skeleton is the same for every count >= settled; None: still changing at K
    binary: bool
    shape: tuple[int, ...]
    depth: np.ndarray | None = None  # mask: eroded image at step k is depth > k
    joined: np.ndarray | None = None  # mask: skeleton so far at step k is joined <= k
    eroded: list[np.ndarray] = field(default_factory=list)  # float map: one per step
    skeletons: list[np.ndarray] = field(default_factory=list)
    skeleton_voxels: list[int] = field(default_factory=list)  # voxels > 0.5 per step
    eroded_fraction: list[float] = field(default_factory=list)  # share of the input's mass gone per step

    def _step(self, k: int) -> int:
        if not 0 <= k <= self.iterations:
            raise ValueError(f"step must be between 0 and {self.iterations}; got {k}")
        return min(int(k), self.last)

    def eroded_at(self, k: int) -> np.ndarray:
        """The image eroded ``k`` times (float32)."""
        k = self._step(k)
        if self.binary:
            return (self.depth > k).astype(np.float32)
        return self.eroded[k]

    def skeleton_at(self, k: int) -> np.ndarray:
        """The soft skeleton accumulated after step ``k`` (float32)."""
        k = self._step(k)
        if self.binary:
            return (self.joined <= k).astype(np.float32)
        return self.skeletons[k]

    def stats_at(self, k: int) -> tuple[int, float]:
        """(skeleton voxels > 0.5, fraction of the input eroded away) at step ``k``."""
        k = self._step(k)
        return self.skeleton_voxels[k], self.eroded_fraction[k]


def float_store_bytes(shape, iterations: int) -> int:
    """Bytes the explorer keeps for a float map: (iterations + 1) × 2 float32 volumes."""
    return (int(iterations) + 1) * 2 * int(np.prod(shape, dtype=np.int64)) * 4


def compute_steps(image: np.ndarray, iterations: int, progress=None) -> ExplorerSteps:
    """Run :func:`soft_skeleton_steps` on a 2D/3D bool mask or float map and keep every step.

    ``progress(done, total)`` is called after each step; an exception raised
    in it stops the walk.
    """
    iterations = int(iterations)
    binary = image.dtype == bool
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]
    total_mass = float(x.sum(dtype=torch.float64))
    steps = ExplorerSteps(iterations=iterations, last=iterations, settled=None, binary=binary,
                          shape=tuple(image.shape))
    if binary:
        count_dtype = np.min_scalar_type(iterations + 1)
        steps.depth = np.zeros(image.shape, count_dtype)
        steps.joined = np.full(image.shape, iterations + 1, count_dtype)
    if progress is not None:
        progress(0, iterations + 1)
    for k, level, skel in soft_skeleton_steps(x, iterations):
        lv, sk = level[0, 0].numpy(), skel[0, 0].numpy()
        on = sk > 0.5
        if binary:
            steps.depth += lv > 0.5
            steps.joined[on & (steps.joined > k)] = k
        else:  # step 0's level is the input itself: copy it
            steps.eroded.append(lv.copy() if k == 0 else lv)
            steps.skeletons.append(sk.copy() if k == 0 else sk)
        steps.skeleton_voxels.append(int(np.count_nonzero(on)))
        mass = float(level.sum(dtype=torch.float64))
        steps.eroded_fraction.append(1.0 - mass / total_mass if total_mass > 0 else 0.0)
        if progress is not None:
            progress(k + 1, iterations + 1)
        # img_k constant: every later delta is 0, so the skeleton is final since step k - 1
        if bool(level.amin() == level.amax()):
            steps.last = k
            steps.settled = max(k - 1, 0)
            break
    if progress is not None:
        progress(iterations + 1, iterations + 1)
    return steps


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
        super().__init__(labels=True)
        self.viewer = napari_viewer
        self.job = Job()
        self.steps: ExplorerSteps | None = None
        self.source = None  # the layer the stored steps belong to
        self.chosen_iterations: int | None = None
        self.eroded_layer = None
        self.skeleton_layer = None

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
        self.status = Label(label="", value="Press Compute to walk through the iterations.")
        self.hint = Label(label="", value="")
        self.use_button = PushButton(text="Use this count", enabled=False,
                                     tooltip="Take the step shown as the iteration count of the Soft skeleton widget.")
        for text in (self.status, self.hint):
            text.native.setWordWrap(True)
            text.native.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            text.native.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.extend([self.layer, self.max_iterations, buttons, self.slider, self.status, self.hint,
                     self.use_button])

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
        return [(layer.name, layer) for layer in self.viewer.layers
                if isinstance(layer, (Image, Labels))
                and layer.metadata.get(METADATA_KEY, {}).get("widget") != _WIDGET_TAG]

    def _refresh_choices(self, _event=None) -> None:
        current = self.layer.value
        self.layer.reset_choices()
        if current is None or current not in self.viewer.layers:
            choices = [layer for _, layer in self._layer_choices()]
            selected = [layer for layer in self.viewer.layers.selection if layer in choices]
            candidates = selected or choices
            if candidates:
                self.layer.value = candidates[-1]

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
        self.status.value = "Press Compute to walk through the iterations."
        self.hint.value = ""

    # ---- computing --------------------------------------------------------

    def _on_compute(self, _=None) -> None:
        self.compute()

    def compute(self):
        """Start computing every step for the chosen layer; returns the worker (None on error)."""
        try:
            source = self.layer.value
            image = explorer_input(source)
            iterations = int(self.max_iterations.value)
            if image.dtype != bool and float_store_bytes(image.shape, iterations) > MAX_FLOAT_STORE_BYTES:
                raise UserError(
                    f"Layer '{source.name}' is too large for the explorer at {iterations} iterations; "
                    "crop the layer or lower the maximum."
                )
            worker = self.job.start(
                lambda progress: compute_steps(image, iterations, progress),
                description=f"Soft skeleton steps of '{source.name}'",
                on_done=lambda steps: self._on_done(source, steps),
            )
        except UserError as err:
            show_error(str(err))
            return None
        self.status.value = f"Computing steps 0 to {iterations}…"
        return worker

    def _on_job(self, what: str) -> None:
        running = what == "started"
        self.compute_button.enabled = not running
        self.cancel_button.enabled = running
        if not running:  # done, failed or cancelled: the status describes what is shown
            if self.steps is None:
                self.status.value = "Press Compute to walk through the iterations."
            else:
                self.status.value = self._step_text(int(self.slider.value))

    def _on_done(self, source, steps: ExplorerSteps) -> None:
        if source not in self.viewer.layers:
            show_error(f"Layer '{source.name}' was removed while computing; nothing to show.")
            return
        self.steps, self.source = steps, source
        self.slider.max = steps.iterations
        self.slider.enabled = True
        self.use_button.enabled = True
        if steps.settled is None:
            self.hint.value = (f"Still changing at step {steps.iterations}; "
                               "a larger maximum may add more.")
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
                source=source, settings=settings, colormap="magenta", blending="additive",
                contrast_limits=[0, 1],
            )
        except UserError as err:
            show_error(str(err))
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
