"""The "Skeleton graph" widget: branches, junctions and end points of a skeleton, measured, pruned, exported.

Pick a skeleton layer (or a mask, skeletonized first with the chosen
method), optionally a mask for the radii and an image for intensities, and
press Build: in the background the skeleton is made (if needed) and
:func:`~napari_soft_skeleton.skeleton_graph` builds its graph with the
layer's scale as spacing and its unit (on the voxel grid, in voxels, when
"use voxel spacing" is off; see :mod:`._spacing_control`).  Three layers appear on the input
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

from magicgui.widgets import CheckBox, ComboBox, FloatSlider, FloatSpinBox
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import QSize, QTimer
from qtpy.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from . import _graph_layers as gl
from ._common import (
    CANCELLED,
    UserError,
    shown,
    status_label,
)
from ._graph_actions import _blocked, _click_to_select, _GraphActions, _nice_step  # noqa: F401
from ._graph_inputs import (  # noqa: F401
    _NONE,
    CONTROLS,
    DEBOUNCE_MS,
    METHODS,
    _GraphInputs,
    _has_fill_holes,
)
from ._graph_table import BranchTable, ColourLegend
from ._jobs import Job, warm_up
from ._skeleton_widgets import _keeping_warnings
from ._spacing_control import SpacingControl, graph_effect


class GraphWidget(_GraphInputs, _GraphActions, QWidget):
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
        self.voxel_spacing = SpacingControl(
            napari_viewer, self.layer, effect=lambda state: graph_effect(self.method.value, state),
            tooltip="Radii and the prune length are measured in the same unit.")
        self.method.changed.connect(self.voxel_spacing.refresh)
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
        layout.addWidget(self.voxel_spacing.native)  # (full width: the readout wraps)
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
        self.unit = plan["unit"]  # as shown: 'µm', 'scale units' (a scale without a unit), None: voxels
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
