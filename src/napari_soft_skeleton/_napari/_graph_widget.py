"""The "Skeleton graph" widget: branches, junctions and end points of a skeleton, measured, pruned, exported.

Pick a skeleton layer (or a mask, skeletonized first with the chosen
method), optionally a mask for the radii and an image for intensities, and
press Build: in the background the skeleton is made (if needed) and
:func:`~napari_soft_skeleton.skeleton_graph` builds its graph with the
layer's scale as spacing and its unit.  Three layers appear on the input
layer (see :mod:`._graph_layers`): the branches as Shapes paths with the
branch table as ``features`` (so napari's features table works on it), coloured by
a column, and the junctions and end points as Points.

The prune controls (a length, and a multiple of the radius at the
junction) update the same layers live: the change is debounced, the prune
runs in the background, and only the branches it changed are redrawn.
Clicking a branch (in 3-D too) selects it, and its row appears in the
widget's table; CSV and SWC export write the graph as shown (pruned).
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, FloatSlider, FloatSpinBox
from napari.layers import Image, Labels
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import QSize, QTimer
from qtpy.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..graph import skeleton_graph
from ..metrics import THICK_FRACTION, interior_fraction
from ..skeletonize import skeletonize
from . import _graph_layers as gl
from ._common import (
    CANCELLED,
    UserError,
    default_layer,
    image_input,
    layer_array,
    layer_spacing,
    shown,
    skeletonizable,
    status_label,
)
from ._compare_layers import length_unit, plugin_metadata, skeleton_method
from ._graph_table import BranchTable, ColourLegend
from ._jobs import Job, warm_up
from ._skeleton_widgets import _keeping_warnings

#: "skeletonize" choices: (shown, value); "none" = the layer already is a skeleton.
METHODS = [("topological", "topological"), ("Lee", "lee"), ("soft (auto)", "soft"),
           ("none: it is a skeleton", "none")]
#: Control labels, as messages name them.
CONTROLS = {"layer": "input layer", "method": "skeletonize", "fill": "fill holes", "mask": "radius mask",
            "image": "intensity image", "min_length": "prune shorter than", "radius_factor": "prune < radius ×"}
#: Milliseconds the prune controls must rest before the prune runs.
DEBOUNCE_MS = 250
_NONE = "none"


def _has_fill_holes() -> bool:
    return "fill_holes" in inspect.signature(skeletonize).parameters


class GraphWidget(QWidget):
    """The skeleton graph of a layer: measured branches, junctions and end points, live pruning, export.

    For scripts and tests: :meth:`run` returns the worker of a build;
    :attr:`graph` is the graph shown (pruned), :attr:`full_graph` the
    unpruned one; :attr:`layers` the branches, junctions and end points
    layers; :meth:`set_prune` sets the prune controls (the prune runs once
    they rest, see :attr:`busy`); :meth:`export_csv` / :meth:`export_swc`
    write files.
    """

    def __init__(self, napari_viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.job = Job(failure="Building the graph",
                       out_of_memory="Out of memory; crop the layer or use a smaller one.")
        self.job.listeners.append(self._job_state)
        self.full_graph = None
        self.graph = None
        self.drawn: gl.Drawing | None = None  # what the layers show
        self.drawn_full: gl.Drawing | None = None  # the unpruned graph's
        self._colour_by_hand = False
        self._width_by_hand = False
        self.out = gl.GraphLayers(napari_viewer)
        self.unit: str | None = None
        self._source = None
        self._settings: dict = {}
        self._prune_pending = False
        self._prune_shown = (0.0, 0.0)
        self._defaults_for = None  # the input layer the method/mask defaults were set for
        self._watched = None  # the branches layer whose selection is followed
        self._mask_by_hand = False  # the radius mask was picked by hand (for this input)
        self._defaults = False  # setting defaults, not a pick by hand

        # ---- inputs
        self.layer = ComboBox(choices=self._input_choices, nullable=True,
                              tooltip="A skeleton (Labels or mask Image: every nonzero voxel is a skeleton voxel; "
                                      "labels stay separate objects) or a mask to skeletonize first. 2D or 3D.")
        self.method = ComboBox(choices=METHODS, value="topological",
                               tooltip="Skeletonize the layer first with this method, or 'none' when it already "
                                       "is a skeleton (one voxel thin). Set to 'none' for the plugin's skeleton "
                                       "layers.")
        self.fill_holes = CheckBox(text="fill holes", value=False,
                                   tooltip="Fill every cavity of the mask before skeletonizing, so a hollow object "
                                           "gives a tree (curves), not a surface around each cavity.")
        self.mask = ComboBox(choices=self._mask_choices,
                             tooltip="The segmentation the skeleton lies in: branch radii (distance to its "
                                     "boundary, with the layer's scale) and radius pruning. Default: the input "
                                     "when it is a mask, else the layer a plugin skeleton was made from.")
        self.image = ComboBox(choices=self._image_choices,
                              tooltip="An intensity image: the mean intensity along each branch.")
        self.build_button = QPushButton("Build graph")
        self.build_button.setToolTip("Skeletonize (if asked) and build the graph in the background.")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.build_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.status = status_label("Pick a skeleton or mask layer and press Build graph.").native

        # ---- display
        self.colour_by = ComboBox(choices=list(gl.COLOUR_COLUMNS[:5]), value="length",
                                  tooltip="The branch table column the branches are coloured by.")
        self.colormap = ComboBox(choices=list(gl.COLORMAPS), value="viridis",
                                 tooltip="Colormap for numeric columns (kind and label have fixed colours).")
        self.width = FloatSpinBox(value=1.5, min=0.1, max=100.0, step=0.5,
                                  tooltip="Line width of the branches (tube diameter in 3D), in voxels; points "
                                          "are sized to match.")
        self.legend = ColourLegend()
        self.colour_by.changed.connect(self._colour_by_changed)
        self.colormap.changed.connect(self._restyle)
        self.width.changed.connect(self._width_changed)

        # ---- pruning
        self.min_length = FloatSlider(value=0.0, min=0.0, max=10.0, step=0.1,
                                      tooltip="Remove terminal branches shorter than this (physical length), "
                                              "repeatedly; loops, components and objects stay. 0: off.")
        self.radius_factor = FloatSpinBox(value=0.0, min=0.0, max=100.0, step=0.5,
                                          tooltip="Also remove terminal branches shorter than this many times the "
                                                  "radius at their junction (needs a radius mask). 0: off.")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._prune_now)
        self.min_length.changed.connect(self._prune_later)
        self.radius_factor.changed.connect(self._prune_later)

        # ---- selection and export
        self.table = BranchTable()
        self.csv_button = QPushButton("Save CSV…")
        self.csv_button.setToolTip("Save the branch (or node, or per-object summary) table of the graph as shown.")
        self.swc_button = QPushButton("Save SWC…")
        self.swc_button.setToolTip("Save the graph as shown as SWC: one tree per connected component, "
                                   "every skeleton voxel a node, in physical units, with radii.")
        self.csv_button.clicked.connect(self._csv_dialog)
        self.swc_button.clicked.connect(self._swc_dialog)

        self._lay_out()
        self._connections: list[tuple] = []
        for name in ("inserted", "removed", "moved", "reordered"):
            emitter = getattr(napari_viewer.layers.events, name, None)
            if emitter is not None:
                self._connect(emitter, self._layers_changed)
        for existing in napari_viewer.layers:
            self._connect(existing.events.name, self._layers_changed)
        self.layer.native.currentIndexChanged.connect(lambda *_: self._input_changed())
        self.method.changed.connect(self._method_changed)
        self.mask.native.currentIndexChanged.connect(self._mask_changed)
        self.destroyed.connect(lambda *_: self._disconnect())
        warm_up()
        self._layers_changed()
        self._set_has_graph(False)

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(CONTROLS["layer"], self.layer.native)
        form.addRow(CONTROLS["method"], self.method.native)
        form.addRow("", self.fill_holes.native)
        form.addRow(CONTROLS["mask"], self.mask.native)
        form.addRow(CONTROLS["image"], self.image.native)
        buttons = QHBoxLayout()
        buttons.addWidget(self.build_button)
        buttons.addWidget(self.cancel_button)

        self.display_box = QGroupBox("branches")
        display = QFormLayout(self.display_box)
        display.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        display.addRow("colour by", self.colour_by.native)
        display.addRow("colormap", self.colormap.native)
        display.addRow("", self.legend)
        display.addRow("line width", self.width.native)
        self.min_length_label = QLabel(CONTROLS["min_length"])
        display.addRow(self.min_length_label, self.min_length.native)
        display.addRow(CONTROLS["radius_factor"], self.radius_factor.native)

        self.table_box = QGroupBox("selected branch (click a branch)")
        inner = QVBoxLayout(self.table_box)
        inner.setContentsMargins(4, 4, 4, 4)
        inner.addWidget(self.table)
        exports = QHBoxLayout()
        exports.addWidget(self.csv_button)
        exports.addWidget(self.swc_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.display_box)
        layout.addWidget(self.table_box, 1)
        layout.addLayout(exports)
        layout.addStretch(0)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        hint = super().sizeHint()
        return QSize(max(hint.width(), 380), hint.height())

    # ------------------------------------------------------------------ layers
    def _connect(self, emitter, callback) -> None:
        emitter.connect(callback)
        self._connections.append((emitter, callback))

    def _disconnect(self) -> None:
        for emitter, callback in self._connections:
            try:
                emitter.disconnect(callback)
            except Exception:  # already gone with its layer or viewer
                pass
        self._connections.clear()

    def _inputs(self) -> list:
        return [ly for ly in reversed(self.viewer.layers) if skeletonizable(ly)]

    def _input_choices(self, _widget=None):
        return [(ly.name, ly) for ly in self._inputs()]

    def _mask_choices(self, _widget=None):
        return [(_NONE, None), *((ly.name, ly) for ly in self._inputs())]

    def _image_choices(self, _widget=None):
        return [(_NONE, None), *((ly.name, ly) for ly in self._inputs() if isinstance(ly, Image))]

    def _layers_changed(self, event=None) -> None:
        if getattr(event, "type", "") == "inserted":
            self._connect(event.value.events.name, self._layers_changed)
        before = {w: w.value for w in (self.layer, self.mask, self.image)}
        self._defaults = True
        try:
            for widget, value in before.items():
                widget.reset_choices()
                if value is not None and any(value == ly for ly in self.viewer.layers):
                    widget.value = value
        finally:
            self._defaults = False
        if self.layer.value is None or not any(self.layer.value == ly for ly in self.viewer.layers):
            self.layer.value = self._default_input()
        self._input_changed()

    def _default_input(self):
        """The top-most skeleton layer (plugin-made or named so), else the selected / a visible layer."""
        offered = self._inputs()
        skeletons = [ly for ly in offered if skeleton_method(ly) in ("lee", "topological", "zhang")]
        if skeletons:
            return skeletons[0]
        return default_layer(self.viewer, offered[::-1])

    def _input_changed(self) -> None:
        """A new input layer: 'skeletonize' and 'radius mask' follow it (its defaults)."""
        layer = self.layer.value
        if layer is None or self._defaults_for is not None and layer == self._defaults_for:
            return
        self._defaults_for = layer
        self._mask_by_hand = False
        self._defaults = True
        try:
            self.method.value = "none" if self._is_skeleton(layer) else "topological"
            self.mask.value = self._default_mask()
        finally:
            self._defaults = False

    @staticmethod
    def _is_skeleton(layer) -> bool:
        return skeleton_method(layer) in ("lee", "topological", "zhang")

    def _default_mask(self):
        """The input when it is skeletonized here, else the layer a plugin skeleton was made from (or none)."""
        layer = self.layer.value
        if layer is None:
            return None
        if self.method.value != "none":
            return layer
        source = plugin_metadata(layer).get("source")
        for other in self.viewer.layers:
            if source is not None and other.name == source and skeletonizable(other) and other != layer:
                return other if tuple(other.data.shape) == tuple(layer.data.shape) else None
        return None

    def _mask_changed(self, *_):
        if not self._defaults:
            self._mask_by_hand = True

    def _method_changed(self, *_):
        self.fill_holes.enabled = self.method.value != "none" and _has_fill_holes()
        if not self._mask_by_hand:  # the radius mask follows: the input when it is a mask
            self._defaults = True
            try:
                self.mask.value = self._default_mask()
            finally:
                self._defaults = False

    @property
    def layers(self) -> list:
        """The branches (Shapes), junctions and end points (Points) layers of the graph shown."""
        return self.out.layers

    # ----------------------------------------------------------------- running
    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)

    def _error(self, text: str) -> None:
        show_error(text)
        self._say(text)

    @property
    def busy(self) -> bool:
        """A build or prune is running or about to (the prune controls have not rested yet)."""
        return self.job.running or self._timer.isActive() or self._prune_pending

    def cancel(self) -> None:
        """Stop the running build or prune; nothing is changed."""
        self._prune_pending = False
        self._timer.stop()
        self.job.cancel()

    def _job_state(self, what: str) -> None:
        running = what == "started"
        self.build_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if not running:
            if self.job.outcome is not None:  # an error or a Cancel: the Job's sentence
                self._say(self.job.outcome)
                if self.job.outcome == CANCELLED:
                    self._restore_prune_controls()
            if self._prune_pending:
                self._prune_pending = False
                self._timer.start()

    def run(self, *_):
        """Start building the graph of the chosen layer; returns the worker (None on a user error)."""
        if self.job.running:
            self._error("A computation is already running; wait for it or press Cancel.")
            return None
        try:
            plan = self._plan()
        except UserError as err:
            self._error(shown(str(err)))
            return None
        worker = self.job.start(_keeping_warnings(plan["work"]), description=plan["description"],
                                on_done=lambda out: self._built(plan, *out))
        self._say(f"Building the {plan['description']}…")
        return worker

    def _plan(self) -> dict:
        layer = self.layer.value
        data = layer_array(layer, allow_4d=False, allow_empty=True, control=CONTROLS["layer"])
        method = self.method.value
        fill = bool(self.fill_holes.value) and method != "none"
        if fill and not _has_fill_holes():
            raise UserError("This version of the library cannot fill holes; untick 'fill holes'.")
        ndim = data.ndim
        spacing = layer_spacing(layer, ndim)
        unit = length_unit(layer, list(self.viewer.layers))
        skel_input = self._as_binary(layer, data, CONTROLS["layer"])
        mask = self._extra(self.mask.value, data.shape, CONTROLS["mask"], binary=True)
        image = self._extra(self.image.value, data.shape, CONTROLS["image"], binary=False)
        name = layer.name

        def work(progress):
            def sub(done, total):
                progress(int(700 * done / max(total, 1)), 1000)

            if method == "none":
                skeleton = skel_input
                progress(0, 1000)
                if skeleton.any():
                    fraction = interior_fraction(skeleton != 0)
                    if fraction > THICK_FRACTION:
                        raise UserError(
                            f"Layer '{name}' does not look like a skeleton: {fraction:.0%} of its voxels are "
                            "interior (a skeleton has almost none); pick a method in 'skeletonize'.")
            else:
                kwargs = {"fill_holes": True} if fill else {}
                if method == "soft":
                    kwargs["iterations"] = "auto"
                skeleton = skeletonize(skel_input, method, progress=sub, **kwargs) if skel_input.any() \
                    else np.zeros(skel_input.shape, skel_input.dtype)
            progress(700, 1000)
            graph = skeleton_graph(skeleton, spacing=spacing, mask=mask, image=image, unit=unit)
            progress(950, 1000)
            return graph, gl.drawing(graph)

        what = "skeleton graph" if method == "none" else f"{method} skeleton graph"
        return {"work": work, "description": f"{what} of '{name}'", "layer": layer, "method": method,
                "fill_holes": fill, "mask": self.mask.value, "image": self.image.value, "unit": unit,
                "spacing": spacing, "shape": data.shape}

    @staticmethod
    def _as_binary(layer, data: np.ndarray, control: str) -> np.ndarray:
        """A mask or label image from ``layer`` (a copy: the layer is never touched)."""
        if isinstance(layer, Labels):
            if data.size and data.min() < 0:
                raise UserError(f"Layer '{layer.name}' has negative labels; labels must be 0 or positive.")
            return data.astype(bool) if data.size == 0 or data.max() <= 1 else np.array(data, copy=True)
        if not data.any():
            return np.zeros(data.shape, bool)
        values, kind, _ = image_input(layer, data)
        if kind == "mask":
            return np.array(values, dtype=bool, copy=True)
        if kind == "map":
            return values > 0.5
        raise UserError(f"Layer '{layer.name}' in '{control}' is an intensity image, not a mask or skeleton; "
                        "pick a mask, a Labels layer or a probability map.")

    def _extra(self, layer, shape, control: str, *, binary: bool):
        if layer is None:
            return None
        data = layer_array(layer, allow_4d=False, allow_empty=True, control=control)
        if tuple(data.shape) != tuple(shape):
            raise UserError(f"Layer '{layer.name}' in '{control}' has shape {tuple(data.shape)}, the input "
                            f"{tuple(shape)}; pick a layer of the same shape (or none).")
        if not binary:
            return data
        return self._as_binary(layer, data, control)

    # ------------------------------------------------------------- showing it
    def _built(self, plan: dict, result, messages: list[str]) -> None:
        layer = plan["layer"]
        if layer not in self.viewer.layers:
            text = f"Layer '{layer.name}' was removed while building the graph; no layer was added."
            show_warning(text)
            self._say(text)
            return
        graph, drawn = result
        self.full_graph = self.graph = graph
        self.drawn = self.drawn_full = drawn
        self.unit = graph.unit
        self._source = layer
        self._settings = {"method": plan["method"], "fill_holes": plan["fill_holes"],
                          "mask": None if plan["mask"] is None else plan["mask"].name,
                          "image": None if plan["image"] is None else plan["image"].name}
        self._setup_controls(graph)
        if drawn.n_branches == 0:
            self.out.clear()
            self._set_has_graph(False)
            reason = "the skeleton is empty" if not len(graph.summary) else \
                "the skeleton has only isolated voxels"
            text = f"No branches: {reason} ('{layer.name}')."
            show_warning(text)
            self._say(" ".join([text, *messages]))
            return
        new = self.out.show(layer, drawn, self._style(), self._settings)
        self._follow_selection()
        self.viewer.layers.selection.active = self.out.branches
        self._set_has_graph(True)
        self._show_legend()
        self.table.show_rows(self.out.branches.features.iloc[[]], self.unit)
        text = self._summary(graph)
        show_info(f"Skeleton graph of '{layer.name}': {text}")
        for message in messages:
            show_warning(message)
        added = "" if new else " (layers updated)"
        self._say(" ".join([text + added, *messages]))

    def _summary(self, graph) -> str:
        junctions = int((graph.nodes["kind"] == "junction").sum())
        ends = int((graph.nodes["kind"] == "end").sum())
        loops = int(graph.summary["n_loops"].sum()) if len(graph.summary) else 0
        unit = self._unit_text()
        length = float(graph.summary["length"].sum()) if len(graph.summary) else 0.0
        objects = len(graph.summary)
        return (f"{len(graph.branches)} branches, {junctions} junctions, {ends} end points"
                + (f", {loops} loops" if loops else "")
                + f"; {objects} object{'s' if objects != 1 else ''}, length {length:.4g} {unit}.")

    def _unit_text(self) -> str:
        return self.unit or "voxels"

    def _setup_controls(self, graph) -> None:
        """Colour-by choices from the table; prune ranges from the lengths and radii; prune reset to off."""
        table = graph.table("branches")
        columns = gl.colour_columns(table)
        current = self.colour_by.value
        with self.colour_by.changed.blocked():
            self.colour_by.choices = columns
            self.colour_by.value = current if self._colour_by_hand and current in columns \
                else gl.default_column(table)
        lengths = table["length"].to_numpy(float)
        top = float(np.nanmax(lengths)) if lengths.size else 10.0
        top = max(top, min(graph.spacing) * 2)
        step = _nice_step(top / 200)
        with _blocked(self.min_length, self.radius_factor):
            self.min_length.max = math.ceil(top / step) * step
            self.min_length.step = step
            self.min_length.value = 0.0
            self.radius_factor.value = 0.0
        self.min_length_label.setText(f"{CONTROLS['min_length']} ({self._unit_text()})")
        self.min_length.native.setToolTip(
            f"Remove terminal branches shorter than this, in {self._unit_text()}, repeatedly (loops, components "
            "and objects stay). 0: off.")
        self.radius_factor.enabled = graph.has_radius
        if not self._width_by_hand:
            with self.width.changed.blocked():
                self.width.value = gl.default_width(graph.shape)
        self._prune_shown = (0.0, 0.0)

    def _style(self) -> gl.Style:
        column = self.colour_by.value
        table = self.full_graph.branches if self.full_graph is not None else None
        limits = gl.value_limits(table[column], column) if table is not None and column in table.columns \
            and column not in gl.CATEGORICAL else (0.0, 1.0)
        return gl.Style(column=column, colormap=self.colormap.value, width=float(self.width.value), limits=limits)

    def _colour_by_changed(self, *_):
        self._colour_by_hand = True
        self._restyle()

    def _width_changed(self, *_):
        self._width_by_hand = True
        self._restyle()

    def _restyle(self, *_):
        self.colormap.enabled = self.colour_by.value not in gl.CATEGORICAL
        if self.out.branches is None or self.full_graph is None:
            return
        self.out.restyle(self._style())
        self._show_legend()

    def _show_legend(self) -> None:
        style = self.out.style
        note = ""
        if style.column == "tortuosity":
            note = "grey: loops (no tortuosity)"
        if style.column == "kind":
            self.legend.show_categories(gl.KIND_COLOURS)
        elif style.column == "label":
            n = len(self.full_graph.summary) if self.full_graph is not None else 0
            self.legend.show_categories({}, note=f"one colour per object ({n}), cycling over "
                                                 f"{len(gl.LABEL_COLOURS)} colours")
        else:
            self.legend.show_colormap(style.column, style.colormap, style.limits, self.unit, note)

    def _set_has_graph(self, has: bool) -> None:
        for w in (self.csv_button, self.swc_button):
            w.setEnabled(has)
        for w in (self.min_length, self.radius_factor, self.colour_by, self.colormap, self.width):
            w.enabled = has
        if has:
            self.radius_factor.enabled = self.full_graph is not None and self.full_graph.has_radius
            self.colormap.enabled = self.colour_by.value not in gl.CATEGORICAL
        else:
            self.legend.show_nothing()
            self.table.show_rows(self.table.rows.iloc[[]], self.unit)

    # ------------------------------------------------------------------ pruning
    def set_prune(self, min_length: float | None = None, radius_factor: float | None = None) -> None:
        """Set the prune controls (0 or None: off); the prune runs once they rest (see :attr:`busy`)."""
        if min_length is not None:
            self.min_length.value = float(min_length)
        if radius_factor is not None:
            self.radius_factor.value = float(radius_factor)

    def _prune_later(self, *_):
        if self.full_graph is not None:
            self._timer.start()  # (restarts: the prune waits until the controls rest)

    def _prune_values(self) -> tuple[float, float]:
        return float(self.min_length.value), float(self.radius_factor.value) if self.full_graph.has_radius else 0.0

    def _prune_now(self) -> None:
        if self.full_graph is None:
            return
        if self.job.running:
            self._prune_pending = True  # run again with the newest values once this one is done
            return
        values = self._prune_values()
        if values == self._prune_shown:
            return
        full = self.full_graph
        min_length, factor = values
        if min_length <= 0 and factor <= 0:
            self._show_pruned(values, full, self.drawn_full)
            return

        def work(progress):
            progress(0, 2)
            pruned = full.prune(min_length if min_length > 0 else None,
                                radius_factor=factor if factor > 0 else None)
            progress(1, 2)
            return pruned, gl.drawing(pruned)

        self.job.start(work, description="pruning the skeleton graph",
                       on_done=lambda out: self._show_pruned(values, *out))
        self._say(f"Pruning ({self._prune_text(values)})…")

    def _prune_text(self, values) -> str:
        min_length, factor = values
        parts = []
        if min_length > 0:
            parts.append(f"shorter than {min_length:g} {self._unit_text()}")
        if factor > 0:
            parts.append(f"shorter than {factor:g} × the radius at the junction")
        return " or ".join(parts) or "off"

    def _show_pruned(self, values, graph, drawn) -> None:
        if self._source is None or self._source not in self.viewer.layers:
            self._say("The input layer was removed; press Build graph again.")
            return
        if not self.out.present():
            self.out.show(self._source, drawn, self._style(), self._settings)
            self._follow_selection()
        else:
            self.out.update(drawn)
        self.graph = graph
        self.drawn = drawn
        self._prune_shown = values
        self._show_selection()
        n, total = len(graph.branches), len(self.full_graph.branches)
        pruned = total - n
        if values == (0.0, 0.0):
            self._say(f"{n} branches, 0 pruned (pruning off).")
        else:
            self._say(f"{n} branches, {pruned} pruned (terminal branches {self._prune_text(values)}; "
                      "branches left with one neighbour are merged).")

    def _restore_prune_controls(self) -> None:
        """After a cancelled prune, the controls show the prune the layers show."""
        with _blocked(self.min_length, self.radius_factor):
            self.min_length.value, self.radius_factor.value = self._prune_shown

    # ---------------------------------------------------------------- selection
    def _follow_selection(self) -> None:
        layer = self.out.branches
        if layer is None or layer is self._watched:
            return
        layer.selected_data.events.items_changed.connect(self._show_selection)
        self._connections.append((layer.selected_data.events.items_changed, self._show_selection))
        if _click_to_select not in layer.mouse_drag_callbacks:
            layer.mouse_drag_callbacks.append(_click_to_select)
        self._watched = layer

    def _show_selection(self, *_):
        layer = self.out.branches
        if layer is None:
            return
        indices = sorted(i for i in layer.selected_data if i < len(layer.features))
        self.table.show_rows(layer.features.iloc[indices], self.unit)
        if indices:
            more = f" (showing {min(len(indices), 4)} of {len(indices)})" if len(indices) > 4 else ""
            self.table_box.setTitle(f"selected branch{'es' if len(indices) > 1 else ''}{more}")
        else:
            self.table_box.setTitle("selected branch (click a branch)")

    def select_branch(self, branch: int) -> None:
        """Select the branch with this ``branch`` number (its row in the graph's table) in the Shapes layer."""
        layer = self.out.branches
        where = np.flatnonzero(layer.features["branch"].to_numpy() == int(branch))
        layer.selected_data = set(where.tolist())

    # ------------------------------------------------------------------- export
    def export_csv(self, path, table: str = "branches") -> bool:
        """Write a table (``branches``, ``nodes``, ``summary``) of the graph shown (pruned) as CSV."""
        return self._write(path, lambda g: g.to_csv(path, table=table), f"the {table} table")

    def export_swc(self, path) -> bool:
        """Write the graph shown (pruned) as SWC."""
        return self._write(path, lambda g: g.to_swc(path), "the SWC file")

    def _write(self, path, write, what: str) -> bool:
        if self.graph is None or not len(self.graph.branches):
            self._error("Build a graph first; there is nothing to save.")
            return False
        try:
            write(self.graph)
        except ValueError as err:
            self._error(f"Could not save {what}: {str(err).rstrip('.')}.")
            return False
        except OSError as err:
            self._error(f"Could not save {what} to '{path}': {err.strerror or err}.")
            return False
        text = f"Saved {what} to '{path}'."
        show_info(text)
        self._say(text)
        return True

    def _stem(self) -> str:
        name = self._source.name if self._source is not None else "skeleton"
        pruned = self._prune_shown != (0.0, 0.0)
        return f"{name} graph" + (" pruned" if pruned else "")

    def _csv_dialog(self, *_):
        filters = {"branches table (*.csv)": "branches", "nodes table (*.csv)": "nodes",
                   "per-object summary (*.csv)": "summary"}
        path, chosen = QFileDialog.getSaveFileName(self, "Save graph table", f"{self._stem()} branches.csv",
                                                   ";;".join(filters))
        if path:
            table = filters.get(chosen, "branches")
            self.export_csv(path if Path(path).suffix else path + ".csv", table)

    def _swc_dialog(self, *_):
        path, _ = QFileDialog.getSaveFileName(self, "Save SWC", f"{self._stem()}.swc", "SWC (*.swc)")
        if path:
            self.export_swc(path if Path(path).suffix else path + ".swc")


def _click_to_select(layer, event):
    """A click (not a drag) on a branch selects it, in 3-D too (napari selects shapes only in 2-D, in its
    select mode, where this leaves the click to napari)."""
    if event.button != 1 or str(layer.mode) != "pan_zoom":
        return
    start = np.asarray(event.pos, float)
    yield
    while event.type == "mouse_move":
        yield
    if np.hypot(*(np.asarray(event.pos, float) - start)) > 4:  # a drag: the camera moved
        return
    value = layer.get_value(event.position, view_direction=event.view_direction,
                            dims_displayed=list(event.dims_displayed), world=True)
    index = value[0] if isinstance(value, tuple) else value
    layer.selected_data = set() if index is None else {int(index)}


def _nice_step(x: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``x``."""
    if x <= 0:
        return 0.1
    power = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * power >= x:
            return m * power
    return 10 * power


class _blocked:
    """Changes of these magicgui widgets emit nothing inside the block."""

    def __init__(self, *widgets):
        self.widgets = widgets

    def __enter__(self):
        self._blocks = [w.changed.blocked() for w in self.widgets]
        for block in self._blocks:
            block.__enter__()
        return self

    def __exit__(self, *exc):
        for block in reversed(self._blocks):
            block.__exit__(*exc)
        return False
