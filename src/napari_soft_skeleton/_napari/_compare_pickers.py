"""The compare widget's inputs: A, B, C, mask and tolerance, kept in step with the viewer.

* The pickers list the layers that can hold a skeleton (top of the layer
  list first) and follow renames, additions and removals.
* Until the user picks by hand, A, B and C follow the defaults of
  :mod:`._compare_layers` (Lee's skeleton against the soft and topological
  ones) as skeleton layers appear; a picker set by hand keeps its layer (or
  "none") until that layer is removed.  A script setting ``.value`` counts as
  a pick by hand.
* The tolerance field shows A's unit and, until the user edits it, the
  library's default for A's voxel size (1.5 × the largest).
* "use voxel spacing" (:mod:`._spacing_control`) reads out A's voxel spacing;
  off, the comparison runs on the voxel grid (tolerance and lengths in voxels).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

from magicgui.widgets import ComboBox, FloatSpinBox
from qtpy.QtWidgets import QFormLayout

from ..metrics import default_tolerance
from ._compare_layers import default_candidates, default_reference, is_input, spacing_and_unit, spatial_ndim
from ._compare_plan import CONTROLS
from ._spacing_control import SpacingControl, compare_effect

_INPUT_TIP = (
    "A skeleton layer (Image or Labels; 2D, 3D, or 4D (t, z, y, x): the time point the slider shows). "
    "Labels and integer or boolean images: every nonzero voxel is a skeleton voxel; float images are "
    "binarized as value > 0.5. Picked for you from the plugin's skeleton layers until you pick by hand."
)


class LayerPickers:
    """The form of the compare widget; ``on_change()`` is called after the picks changed."""

    def __init__(self, viewer, on_change: Callable[[], None]):
        self.viewer = viewer
        self.on_change = on_change
        self.reference = ComboBox(choices=self._choices, tooltip=_INPUT_TIP)
        self.candidate = ComboBox(choices=self._choices, tooltip=_INPUT_TIP)
        self.second = ComboBox(choices=self._choices, tooltip="Optional second candidate, compared with A "
                               "like B and shown beside it. " + _INPUT_TIP)
        self.mask = ComboBox(choices=self._choices, tooltip="Optional region of interest: both skeletons are "
                             "restricted to its nonzero voxels (float images: > 0.5) before anything is counted.")
        self.tolerance = FloatSpinBox(value=1.5, min=0.0, max=1e6, step=0.5)
        self.tolerance.native.setDecimals(3)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for key, picker in self.pickers.items():
            self.form.addRow(CONTROLS[key], picker.native)
            # (Qt's signal: magicgui does not emit `changed` when a choice's data is None)
            picker.native.currentIndexChanged.connect(lambda *_, key=key: self._picked(key))
        self.voxel_spacing = SpacingControl(viewer, self.reference, effect=compare_effect,
                                            tooltip="The spacing is A's (B and C lie on the same grid); the default tolerance "
                                                    "is 1.5 × its largest step.")
        self.voxel_spacing.use.changed.connect(lambda *_: self._update_tolerance())
        self.form.addRow("tolerance", self.tolerance.native)
        self.tolerance.changed.connect(self._tolerance_changed)
        self.hand_picked: set[str] = set()  # "A", "B", "C", "mask"
        self.tolerance_edited = False
        self._paused = False
        self._connections: list[tuple] = []  # (layer or None, emitter, callback)
        for name in ("inserted", "removed", "moved", "reordered"):
            emitter = getattr(viewer.layers.events, name, None)
            if emitter is not None:
                self._connect(None, emitter, self._on_layers_changed)
        for layer in viewer.layers:
            self._follow(layer)

    @property
    def pickers(self) -> dict[str, ComboBox]:
        return {"A": self.reference, "B": self.candidate, "C": self.second, "mask": self.mask}

    def candidates(self) -> list:
        """The chosen candidate layers: B, then C when one is picked."""
        return [ly for ly in (self.candidate.value, self.second.value) if ly is not None]

    @contextmanager
    def paused(self):
        """Layer-list changes inside are not followed (e.g. the side-by-side titles); choices renewed after."""
        self._paused = True
        try:
            yield
        finally:
            self._paused = False
            self.refresh(notify=False)

    def disconnect(self) -> None:
        disconnect_all(self._connections)
        self._connections.clear()

    # ------------------------------------------------------------------ layers
    def _connect(self, layer, emitter, callback) -> None:
        emitter.connect(callback)
        self._connections.append((layer, emitter, callback))

    def _follow(self, layer) -> None:
        """Renew the choices when ``layer`` is renamed, the tolerance when it is rescaled."""
        self._connect(layer, layer.events.name, self.refresh)
        for name in ("scale", "units"):
            emitter = getattr(layer.events, name, None)
            if emitter is not None:
                self._connect(layer, emitter, self._on_rescaled)

    def _inputs(self) -> list:
        return [layer for layer in reversed(self.viewer.layers) if is_input(layer)]

    def _choices(self, _widget=None):
        return [("none", None), *((layer.name, layer) for layer in self._inputs())]

    def _on_layers_changed(self, event=None) -> None:
        kind = getattr(event, "type", "")
        if kind == "inserted":
            self._follow(event.value)
        elif kind == "removed":
            # (== rather than `is`: plugins see the layers through napari's public-only proxy)
            gone = [c for c in self._connections if c[0] is not None and c[0] == event.value]
            disconnect_all(gone)
            self._connections[:] = [c for c in self._connections if c not in gone]
        if not self._paused:
            self.refresh()

    def refresh(self, event=None, *, notify: bool = True) -> None:
        """New choices; the picks by hand stay, A, B and C follow the defaults otherwise.

        A: :func:`default_reference`; B and C: :func:`default_candidates` of
        A, leaving out the layers picked by hand.
        """
        layers = self._inputs()
        pickers = self.pickers
        before = {key: p.value for key, p in pickers.items()}
        paused, self._paused = self._paused, True
        try:
            for key, picker in pickers.items():
                picker.reset_choices()
                kept = before[key] is None or any(before[key] == ly for ly in layers)
                if not kept:
                    self.hand_picked.discard(key)  # its layer was removed
                picker.value = before[key] if kept else None  # ("none" picked by hand stays)
            if "A" not in self.hand_picked:
                self.reference.value = default_reference(layers)
            taken = [pickers[key].value for key in ("B", "C") if key in self.hand_picked]
            free = [*default_candidates(layers, self.reference.value, exclude=taken), None, None]
            for key in ("B", "C"):
                if key not in self.hand_picked:
                    pickers[key].value = free.pop(0)
        finally:
            self._paused = paused
        self._update_tolerance()
        if notify:
            self.on_change()

    def _picked(self, key: str) -> None:
        if self._paused:
            return
        self.hand_picked.add(key)
        self.refresh()  # B and C follow a new A; so does the tolerance

    # --------------------------------------------------------------- tolerance
    def _tolerance_changed(self, *_):
        if not self._paused:
            self.tolerance_edited = True

    def _on_rescaled(self, event=None) -> None:
        a = self.reference.value
        if event is not None and a is not None and event.source == a:
            self._update_tolerance()

    def spacing_and_unit(self, a) -> tuple[tuple[float, ...] | None, str]:
        """A's ``(spacing, unit)`` for the comparison: ``(None, 'voxels')`` without A or with the spacing off."""
        if a is None or not self.voxel_spacing.used:
            return None, "voxels"
        return spacing_and_unit(a, spatial_ndim(a), self.viewer.layers)

    def _update_tolerance(self) -> None:
        """A's unit in the tolerance field, and the default for A's voxel size unless edited."""
        a = self.reference.value
        spacing, unit = self.spacing_and_unit(a)
        paused, self._paused = self._paused, True
        try:
            self.tolerance.native.setSuffix(f" {unit}")
            if not self.tolerance_edited:
                self.tolerance.value = default_tolerance(spacing)
        finally:
            self._paused = paused
        self.tolerance.tooltip = (
            f"A voxel counts as matched when the other skeleton has a voxel within this distance, in {unit} "
            + ("(A's scale). " if spacing is not None else "('use voxel spacing' is off or A has no scale). ")
            + f"Default: 1.5 × A's largest voxel size ({default_tolerance(spacing):g} {unit})"
            + ("; set by hand." if self.tolerance_edited else ".")
        )


def disconnect_all(connections) -> None:
    """Disconnect each ``(owner, emitter, callback)``; those already gone with their layer are skipped."""
    for _, emitter, callback in connections:
        try:
            emitter.disconnect(callback)
        except Exception:  # already gone with its layer or viewer
            pass
