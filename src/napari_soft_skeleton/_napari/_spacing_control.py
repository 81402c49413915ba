"""The "voxel spacing" readout and its switch, shared by the skeleton, graph and compare widgets.

:class:`SpacingControl` is a small magicgui :class:`~magicgui.widgets.Container`
(its ``.native`` goes into a Qt form): a check box "use voxel spacing" (on by
default) and a read-only readout of the chosen layer's voxel spacing and unit,
kept in step with the picker it follows and with that layer's ``scale`` and
``units``.  A second line says what the spacing does in that widget
(``effect(state)``; see :func:`method_effect`, :func:`graph_effect` and
:func:`compare_effect`).

Off, the widget computes on the voxel grid: :meth:`SpacingControl.spacing_for`
gives None and lengths, radii and tolerances are in voxels.

Units follow :mod:`._compare_layers`: the layer's unit ('µm'), else
:data:`~._compare_layers.UNKNOWN_UNIT` for a layer with a scale but no unit,
else 'voxels'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container

from ..metrics import default_tolerance
from ._common import layer_spacing, status_label
from ._compare_layers import UNKNOWN_UNIT, length_unit, spatial_ndim

#: The check box's text (messages name it).
CHECKBOX = "use voxel spacing"
#: The axes the spacing is given for, by number of spatial axes.
AXES = {2: "(y, x)", 3: "(z, y, x)"}
#: A spacing ratio from which the library warns that a grid method ignores it (as :func:`skeletonize`).
STRONG_ANISOTROPY = 3.0


@dataclass(frozen=True)
class SpacingState:
    """What the readout shows: the layer's spatial scale and unit, and whether the switch is on."""

    scale: tuple[float, ...] | None  # the layer's scale along its spatial axes; None without a layer
    unit: str | None  # the layer's unit as shown ('µm'); None when none is known
    used: bool  # the "use voxel spacing" switch

    @property
    def calibrated(self) -> bool:
        """The layer has a unit or a scale other than 1."""
        return self.scale is not None and (self.unit is not None or not np.allclose(self.scale, 1.0))

    @property
    def spacing(self) -> tuple[float, ...] | None:
        """The spacing a computation gets: the layer's scale when the switch is on, else None (voxels)."""
        return self.scale if self.used else None

    @property
    def length_unit(self) -> str:
        """The unit of lengths, radii and tolerances: 'µm', 'scale units' or 'voxels'."""
        if not (self.used and self.calibrated):
            return "voxels"
        return self.unit or UNKNOWN_UNIT

    @property
    def anisotropic(self) -> bool:
        """A 3-D scale whose largest step is at least 3× its smallest (the library then warns for grid methods)."""
        return self.scale is not None and len(self.scale) == 3 and \
            max(self.scale) >= STRONG_ANISOTROPY * min(self.scale)


def _steps(scale) -> str:
    return " × ".join(f"{s:g}" for s in scale)


def readout(state: SpacingState) -> str:
    """The readout's first line, e.g. 'voxel spacing: 5 × 1 × 1 µm (z, y, x), from the layer's scale'."""
    if state.scale is None:
        return "voxel spacing: – (pick a layer)"
    axes = AXES.get(len(state.scale), "")
    steps = _steps(state.scale)
    if not state.used:
        scale = f"{steps} {state.unit}" if state.unit else steps
        return f"voxel spacing: off, computing on the voxel grid (the layer's scale: {scale})"
    if state.unit is not None:
        return f"voxel spacing: {steps} {state.unit} {axes}, from the layer's scale"
    if state.calibrated:
        return f"voxel spacing: {steps} {UNKNOWN_UNIT} {axes}, from the layer's scale (it has no unit)"
    return f"voxel spacing: {steps} pixel {axes}: the layer has no scale"


_GRID_METHODS = {"lee": "Lee", "zhang": "Zhang", "soft": "the soft skeleton"}


def method_effect(method: str | None, state: SpacingState, *, per_slice: bool = False) -> str:
    """What the spacing does to a skeletonization ``method`` (one short sentence)."""
    if method == "topological":
        if not state.used:
            return "topological: thinning on the voxel grid"
        return "topological: thinning follows the spacing" + (" (in-plane, per slice)" if per_slice else "")
    if method in ("lee", "zhang"):
        return f"{_GRID_METHODS[method]} works on the voxel grid (scikit-image has no spacing)"
    if method == "soft":
        return "soft: the clDice formula runs on the voxel grid"
    return ""


def soft_effect(state: SpacingState, *, per_slice: bool = False) -> str:
    """The Soft skeleton widget's second line."""
    text = method_effect("soft", state)
    if state.used and state.anisotropic and not per_slice:
        text += " (strongly anisotropic: a warning says so)"
    return text


def graph_effect(method: str | None, state: SpacingState) -> str:
    """The Skeleton graph widget's second line: the skeletonization's, then the lengths' unit."""
    first = method_effect(method, state)
    units = f"lengths and radii in {state.length_unit}"
    return f"{first}; {units}" if first else units


def compare_effect(state: SpacingState) -> str:
    """The Compare widget's second line: the default tolerance in the unit."""
    if state.scale is None:
        return ""
    unit = state.length_unit
    if unit == "voxels":
        return "default tolerance 1.5 voxels; lengths in voxels"
    return f"default tolerance 1.5 × {max(state.scale):g} = {default_tolerance(state.scale):g} {unit}; lengths in {unit}"


_TIP = ("On: the layer's scale is the voxel spacing (lengths, radii and tolerances in its unit; the "
        "topological thinning follows it). Off: everything is computed on the voxel grid, in voxels.")


class SpacingControl(Container):
    """"use voxel spacing" and the readout of the layer chosen in ``picker``.

    ``effect(state)`` gives the readout's second line (what the spacing does
    in the widget); ``listeners`` are called with the new :class:`SpacingState`
    after the switch, the layer, or its scale or units changed.  For the
    widgets: :meth:`spacing_for` (None when off), :attr:`used`, :meth:`state`;
    for tests: :attr:`text`.
    """

    def __init__(self, viewer, picker: ComboBox, *,
                 effect: Callable[[SpacingState], str] | None = None, tooltip: str = ""):
        self.use = CheckBox(text=CHECKBOX, value=True, tooltip=_TIP)
        self.readout = status_label()
        super().__init__(widgets=[self.use, self.readout], labels=False)
        self.margins = (0, 0, 0, 0)
        self.viewer = viewer
        self.picker = picker
        self.effect = effect
        self.tip = tooltip
        self.listeners: list[Callable[[SpacingState], None]] = []
        self._watched = None
        self.use.changed.connect(self.refresh)
        # (Qt's signal: magicgui does not emit `changed` when a choice's data is None)
        picker.native.currentIndexChanged.connect(self.refresh)
        self.native.destroyed.connect(lambda *_: self._watch(None))
        self.refresh()

    # ----------------------------------------------------------------- state
    @property
    def used(self) -> bool:
        """The switch: compute with the layer's scale (True) or on the voxel grid."""
        return bool(self.use.value)

    def spacing_for(self, layer, ndim: int) -> tuple[float, ...] | None:
        """``layer``'s scale along its last ``ndim`` axes when the switch is on, else None (the voxel grid)."""
        return layer_spacing(layer, ndim) if self.used else None

    def state(self, layer=None) -> SpacingState:
        """The readout's state for ``layer`` (default: the picker's)."""
        layer = self.picker.value if layer is None else layer
        if layer is None or not hasattr(layer, "scale"):
            return SpacingState(None, None, self.used)
        return SpacingState(layer_spacing(layer, spatial_ndim(layer)), length_unit(layer, list(self.viewer.layers)),
                            self.used)

    @property
    def text(self) -> str:
        """What the readout says (both lines)."""
        return self.readout.value

    # ------------------------------------------------------------- following
    def _watch(self, layer) -> None:
        """Follow ``layer``'s scale and units (and stop following the previous one)."""
        if self._watched is not None and (layer is None or self._watched != layer):
            for name in ("scale", "units"):
                try:
                    getattr(self._watched.events, name).disconnect(self.refresh)
                except Exception:  # already gone with its layer
                    pass
            self._watched = None
        if layer is not None and self._watched is None and hasattr(layer, "events"):
            for name in ("scale", "units"):
                emitter = getattr(layer.events, name, None)
                if emitter is not None:
                    emitter.connect(self.refresh)
            self._watched = layer

    def refresh(self, *_) -> None:
        """Say the picker's layer's spacing again (and tell the listeners)."""
        try:
            layer = self.picker.value
        except RuntimeError:  # the widget is being deleted
            return
        self._watch(layer)
        state = self.state(layer)
        lines = [readout(state)]
        extra = self.effect(state) if self.effect is not None else ""
        if extra:
            lines.append(extra)
        self.readout.value = "\n".join(lines)
        self.readout.tooltip = " ".join(filter(None, [_TIP, self.tip]))
        for listener in list(self.listeners):
            listener(state)
