"""Compare two skeleton layers: metrics table, difference layer, per-slice plot.

The numbers come from :func:`napari_soft_skeleton.metrics.compare` and the
overlay from :func:`~napari_soft_skeleton.metrics.difference_labels`, run in
a background :class:`~._common.Job`.  This module only moves layers in and
results out:

* the metrics go into a two-column table (and to CSV/JSON on request);
* the difference image becomes a Labels layer placed exactly on layer A,
  with one fixed colour per code and a legend in the widget;
* the per-slice agreement and voxel counts along axis 0 are drawn in a
  matplotlib canvas docked at the bottom of the window; clicking it moves
  the viewer to that slice, and a vertical line follows the current slice.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from magicgui.widgets import ComboBox, FloatSpinBox
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from napari.layers import Image, Labels
from napari.utils.colormaps import DirectLabelColormap
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..io import atomic_write
from ..metrics import (
    DIFFERENCE_BOTH,
    DIFFERENCE_CANDIDATE_ONLY,
    DIFFERENCE_REFERENCE_ONLY,
    SkeletonComparison,
    compare,
    difference_labels,
)
from ._common import METADATA_KEY, Cancelled, Job, UserError, layer_array, layer_spacing, put_layer

#: Name of the dock that holds the per-slice plot (one per window).
PLOT_DOCK_NAME = "per-slice agreement"

#: Colour of each difference code in the layer, the legend and the plot.
COLOURS = {
    DIFFERENCE_BOTH: "#d9d9d9",  # light grey: the skeletons agree
    DIFFERENCE_REFERENCE_ONLY: "#ff40ff",  # magenta: only in A
    DIFFERENCE_CANDIDATE_ONLY: "#30e030",  # green: only in B
}
_MARKER_COLOUR = "#ffc400"

#: Marks the difference layers this widget made (never offered as inputs).
_KIND = "skeleton difference"

_INPUT_TIP = (
    "An Image or Labels layer holding a skeleton (2D or 3D). Labels and integer or "
    "boolean images: every nonzero voxel is a skeleton voxel. Floating-point images "
    "(e.g. a soft skeleton) are binarized as value > 0.5."
)


def _binary(layer, data: np.ndarray) -> np.ndarray:
    """A layer's data as a skeleton mask: ``> 0.5`` for float images, else nonzero."""
    if isinstance(layer, Image) and data.dtype.kind == "f":
        return data > 0.5
    return data != 0


def length_unit(layer) -> str:
    """The unit of ``layer``'s scale, for lengths and the tolerance."""
    names = {f"{u:~}" for u in getattr(layer, "units", ())}
    if len(names) == 1 and names != {"pixel"}:
        return names.pop()
    unit = layer.metadata.get("unit") if isinstance(layer.metadata, dict) else None
    if isinstance(unit, str) and unit:
        return "µm" if unit == "um" else unit
    if np.allclose(layer.scale, 1.0):
        return "pixels" if layer.ndim == 2 else "voxels"
    return "scale units"


def _fmt_float(value: float, digits: int = 4) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _fmt_number(value: float) -> str:
    return f"{value:.6g}"


def _betti_text(betti: tuple[int, ...]) -> str:
    return ", ".join(f"b{i}={b}" for i, b in enumerate(betti))


class CompareWidget(QWidget):
    """Compare a candidate skeleton (B) with a reference skeleton (A).

    Pick two skeleton layers and, optionally, a mask; press Compare.  The
    comparison runs in the background (Cancel stops it before anything is
    changed) and then fills the metrics table, adds or updates the layer
    ``difference A vs B`` and the per-slice plot.

    For scripts and tests: :meth:`run` starts a comparison and returns the
    worker; :attr:`result` is the last :class:`SkeletonComparison`;
    :meth:`go_to_slice`, :meth:`current_slice`, :meth:`export_metrics` and
    :meth:`save_plot` are what the plot and the buttons call.
    """

    def __init__(self, napari_viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.job = Job()
        self.result: SkeletonComparison | None = None
        self.difference_layer: Labels | None = None
        self._source = None  # layer A of the shown result: its grid is the plot's x axis
        self._names: dict[str, Any] = {}  # layer names of the shown result
        self._unit = "voxels"
        self._worker = None
        self._applied = False
        self._connections: list[tuple[Any, Any]] = []

        # -- inputs ---------------------------------------------------------
        self.reference = ComboBox(choices=self._layer_choices, nullable=True, tooltip=_INPUT_TIP)
        self.candidate = ComboBox(choices=self._layer_choices, nullable=True, tooltip=_INPUT_TIP)
        self.mask = ComboBox(
            choices=self._mask_choices,
            tooltip="Optional region of interest: both skeletons are restricted to its nonzero "
            "voxels (float images: > 0.5) before anything is counted.",
        )
        self.tolerance = FloatSpinBox(
            value=1.5, min=0.0, max=1e6, step=0.5,
            tooltip="A voxel counts as matched when the other skeleton has a voxel within this "
            "distance, in the units of layer A's scale (voxels when the scale is 1).",
        )
        self.tolerance.native.setDecimals(3)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("A (reference)", self.reference.native)
        form.addRow("B (candidate)", self.candidate.native)
        form.addRow("mask", self.mask.native)
        form.addRow("tolerance", self.tolerance.native)

        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Compare B with A in the background.")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.compare_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.job.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.compare_button)
        buttons.addWidget(self.cancel_button)

        self.status = QLabel("Pick two skeleton layers and press Compare.")
        self.status.setWordWrap(True)

        # -- results ----------------------------------------------------------
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["metric", "value"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        self.legend = QGroupBox("difference layer")
        grid = QGridLayout(self.legend)
        grid.setColumnStretch(1, 1)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setVerticalSpacing(2)
        self._legend_text: dict[int, QLabel] = {}
        self._legend_count: dict[int, QLabel] = {}
        for row, code in enumerate((DIFFERENCE_BOTH, DIFFERENCE_REFERENCE_ONLY, DIFFERENCE_CANDIDATE_ONLY)):
            swatch = QLabel()
            swatch.setFixedSize(14, 14)
            swatch.setStyleSheet(f"background-color: {COLOURS[code]}; border: 1px solid #808080;")
            text, count = QLabel(), QLabel("–")
            count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(swatch, row, 0)
            grid.addWidget(text, row, 1)
            grid.addWidget(count, row, 2)
            self._legend_text[code], self._legend_count[code] = text, count
        self._set_legend_names("A", "B")

        self.export_button = QPushButton("Export metrics…")
        self.export_button.setToolTip("Save the metrics and the per-slice table as CSV or JSON.")
        self.save_plot_button = QPushButton("Save plot…")
        self.save_plot_button.setToolTip("Save the per-slice plot as PNG (or SVG/PDF).")
        self.export_button.clicked.connect(self._export_dialog)
        self.save_plot_button.clicked.connect(self._save_plot_dialog)
        exports = QHBoxLayout()
        exports.addWidget(self.export_button)
        exports.addWidget(self.save_plot_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)  # the rest of the height, up to every row
        layout.addWidget(self.legend)
        layout.addLayout(exports)
        layout.addStretch(0)
        self._set_has_result(False)

        # -- per-slice plot (docked on the first result) ----------------------
        self.figure = Figure(figsize=(8, 2.2), layout="constrained")
        self.plot_canvas = FigureCanvasQTAgg(self.figure)
        self.plot_canvas.setMinimumHeight(180)
        self.plot_canvas.mpl_connect("button_press_event", self._on_click)
        self._axes: tuple = ()
        self._markers: list = []

        # -- keep the pickers and the marker in step with the viewer ---------
        events = napari_viewer.layers.events
        for name in ("inserted", "removed", "moved", "reordered"):
            emitter = getattr(events, name, None)
            if emitter is not None:
                self._connect(emitter, self._on_layers_changed)
        self._connect(napari_viewer.dims.events.current_step, self._update_marker)
        self._connect(napari_viewer.events.theme, self._on_theme)
        for layer in napari_viewer.layers:
            self._connect(layer.events.name, self._refresh_pickers)
        self.reference.changed.connect(self._update_unit)
        connections = self._connections
        self.destroyed.connect(lambda *_: _disconnect(connections))
        self._refresh_pickers()
        self.job.listeners.append(self._job_state)

    # ------------------------------------------------------------------ layers
    def _connect(self, emitter, callback) -> None:
        emitter.connect(callback)
        self._connections.append((emitter, callback))

    def _inputs(self) -> list:
        """Image and Labels layers, top of the layer list first, without our own output."""
        found = []
        for layer in reversed(self.viewer.layers):
            if not isinstance(layer, (Image, Labels)):
                continue
            meta = layer.metadata.get(METADATA_KEY) if isinstance(layer.metadata, dict) else None
            if isinstance(meta, dict) and meta.get("kind") == _KIND:
                continue
            found.append(layer)
        return found

    def _layer_choices(self, _widget=None):
        return [(layer.name, layer) for layer in self._inputs()]

    def _mask_choices(self, _widget=None):
        return [("none", None), *self._layer_choices()]

    def _on_layers_changed(self, event=None) -> None:
        if event is not None and getattr(event, "type", "") == "inserted":
            self._connect(event.value.events.name, self._refresh_pickers)
        if event is not None and getattr(event, "type", "") == "removed":
            layer = event.value
            # (== rather than `is`: plugins get the viewer behind napari's public-only proxy)
            _disconnect([c for c in self._connections if c[0] == layer.events.name])
            self._connections[:] = [c for c in self._connections if c[0] != layer.events.name]
        self._refresh_pickers()

    def _refresh_pickers(self, event=None) -> None:
        """New choices; keep what was picked, fill A and B with two different layers."""
        for picker in (self.reference, self.candidate, self.mask):
            picker.reset_choices()
        layers = self._inputs()
        skeleton_like = [ly for ly in layers if "skeleton" in ly.name.lower() or METADATA_KEY in ly.metadata]
        ordered = skeleton_like + [ly for ly in layers if ly not in skeleton_like]
        if self.reference.value is None and ordered:
            self.reference.value = ordered[0]
        if (self.candidate.value is None or self.candidate.value == self.reference.value) and len(ordered) > 1:
            self.candidate.value = next(ly for ly in ordered if ly != self.reference.value)
        self._update_unit()

    def _update_unit(self, *_):
        layer = self.reference.value
        unit = length_unit(layer) if layer is not None else "voxels"
        self.tolerance.native.setSuffix(f" {unit}")

    # ----------------------------------------------------------------- running
    def _plan(self) -> dict:
        """Check the inputs (GUI thread) and describe the work; raises UserError."""
        a, b, m = self.reference.value, self.candidate.value, self.mask.value
        if a is None:
            raise UserError("Select the reference skeleton layer (A) first.")
        if b is None:
            raise UserError("Select the candidate skeleton layer (B) first.")
        data_a = layer_array(a, allow_4d=False, allow_empty=True)
        data_b = layer_array(b, allow_4d=False, allow_empty=True)
        if data_a.shape != data_b.shape:
            raise UserError(
                f"Layers '{a.name}' {data_a.shape} and '{b.name}' {data_b.shape} have different shapes; "
                "pick two skeletons of the same image."
            )
        data_m = None
        if m is not None:
            data_m = layer_array(m, allow_4d=False, allow_empty=True)
            if data_m.shape != data_a.shape:
                raise UserError(
                    f"Mask '{m.name}' {data_m.shape} does not have the shape of '{a.name}' {data_a.shape}; "
                    "pick a mask of the same image or none."
                )
        bin_a, bin_b = _binary(a, data_a), _binary(b, data_b)
        bin_m = None if m is None else _binary(m, data_m)
        for layer, binary, role in ((a, bin_a, "skeleton"), (b, bin_b, "skeleton"), (m, bin_m, "mask")):
            if binary is not None and not binary.any():
                hint = " (float images count as value > 0.5)" if layer.data.dtype.kind == "f" else ""
                raise UserError(f"Layer '{layer.name}' is empty{hint}; there is no {role} to compare.")
        if not (np.allclose(a.scale, b.scale) and np.allclose(a.translate, b.translate)):
            show_warning(
                f"Layers '{a.name}' and '{b.name}' are placed differently; they are compared voxel by "
                f"voxel on the grid of '{a.name}'."
            )
        spacing = layer_spacing(a, bin_a.ndim)
        tolerance = float(self.tolerance.value)

        def work(progress):
            try:
                progress(0, 2)
                result = compare(bin_a, bin_b, mask=bin_m, spacing=spacing, tolerance=tolerance)
                progress(1, 2)
                if bin_m is None:
                    difference = difference_labels(bin_a, bin_b)
                else:  # the overlay shows what was compared
                    difference = difference_labels(bin_a & bin_m, bin_b & bin_m)
                progress(2, 2)
                return result, difference
            except (Cancelled, UserError, ValueError, MemoryError):
                raise
            except Exception as err:  # one sentence instead of "Skeletonization failed"
                raise UserError(f"Comparison failed: {type(err).__name__}: {err}") from err

        return {
            "work": work,
            "reference": a,
            "candidate": b,
            "mask": m,
            "unit": length_unit(a),
            "settings": {
                "kind": _KIND,
                "reference": a.name,
                "candidate": b.name,
                "mask": None if m is None else m.name,
                "tolerance": tolerance,
            },
        }

    def run(self, *_):
        """Start comparing B with A in the background; returns the worker (None on a user error)."""
        try:
            plan = self._plan()
            a, b = plan["reference"], plan["candidate"]
            worker = self.job.start(
                plan["work"],
                description=f"comparing {b.name} with {a.name}",
                on_done=lambda out: self._apply(plan, out),
            )
        except UserError as err:
            show_error(str(err))
            return None
        return worker

    def cancel(self) -> None:
        """Stop the running comparison; nothing is changed."""
        self.job.cancel()

    def _job_state(self, what: str) -> None:
        running = what == "started"
        self.compare_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if running:
            self._worker = self.job.worker
            self._applied = False
            self.status.setText("Comparing…")
        else:
            if not self._applied:
                cancelled = self._worker is not None and self._worker.abort_requested
                self.status.setText("Cancelled; nothing was changed." if cancelled
                                    else "The comparison failed; see the notification.")
            self._worker = None  # (it holds the input arrays)

    def _apply(self, plan: dict, out) -> None:
        """Show a finished comparison (GUI thread)."""
        result, difference = out
        a, b, m = plan["reference"], plan["candidate"], plan["mask"]
        name = f"difference {a.name} vs {b.name}"
        colormap = DirectLabelColormap(
            color_dict={None: "transparent", 0: "transparent", **COLOURS}
        )
        layer = put_layer(self.viewer, difference, name=name, kind="labels", source=a,
                          settings=plan["settings"], colormap=colormap, opacity=1.0)
        layer.colormap = colormap  # also when an earlier run's layer was reused
        self.difference_layer = layer
        self.result = result
        self._source = a
        self._unit = plan["unit"]
        self._names = {"reference": a.name, "candidate": b.name, "mask": None if m is None else m.name}
        self._applied = True
        self._fill_table(result)
        self._fill_legend(result)
        self._draw_plot()
        self._show_plot_dock()
        self._set_has_result(True)
        summary = (f"F1 {result.f1:.3f} (precision {result.precision:.3f}, recall {result.recall:.3f}) "
                   f"at tolerance {result.tolerance:g} {self._unit}")
        within = "" if m is None else f" within '{m.name}'"
        self.status.setText(f"Done: F1 {result.f1:.3f}{within}.")
        self.status.setToolTip(f"'{b.name}' vs '{a.name}'{within}: {summary}.")
        show_info(f"Compared '{b.name}' with '{a.name}'{within}: {summary}.")

    # ---------------------------------------------------------------- results
    def table_rows(self, result: SkeletonComparison | None = None) -> list[tuple[str, str, Any, str]]:
        """(metric, shown value, raw value, tooltip) for each table row."""
        r = self.result if result is None else result
        unit = self._unit
        names = self._names
        return [
            ("precision", _fmt_float(r.precision), r.precision,
             "Fraction of B's voxels within the tolerance of A."),
            ("recall", _fmt_float(r.recall), r.recall, "Fraction of A's voxels within the tolerance of B."),
            ("F1", _fmt_float(r.f1), r.f1, "Harmonic mean of precision and recall."),
            ("voxels A", str(r.n_reference), r.n_reference, f"Skeleton voxels in '{names['reference']}'."),
            ("voxels B", str(r.n_candidate), r.n_candidate, f"Skeleton voxels in '{names['candidate']}'."),
            ("voxels in both", str(r.n_both), r.n_both, "Voxels set in both skeletons (exact overlap)."),
            ("matched A", str(r.matched_reference), r.matched_reference,
             "Voxels of A within the tolerance of B."),
            ("matched B", str(r.matched_candidate), r.matched_candidate,
             "Voxels of B within the tolerance of A."),
            ("Betti numbers A", _betti_text(r.betti_reference), tuple(r.betti_reference),
             "b0 components, b1 loops/holes, b2 cavities (3D)."),
            ("Betti numbers B", _betti_text(r.betti_candidate), tuple(r.betti_candidate),
             "b0 components, b1 loops/holes, b2 cavities (3D)."),
            ("length A", f"{_fmt_number(r.length_reference)} {unit}", r.length_reference,
             "Length of A's skeleton, in the units of A's scale."),
            ("length B", f"{_fmt_number(r.length_candidate)} {unit}", r.length_candidate,
             "Length of B's skeleton, in the units of A's scale."),
            ("tolerance", f"{r.tolerance:g} {unit}", r.tolerance, "Matching distance."),
        ]

    def _fill_table(self, result: SkeletonComparison) -> None:
        rows = self.table_rows(result)
        self.table.setRowCount(len(rows))
        for i, (metric, shown, raw, tip) in enumerate(rows):
            key = QTableWidgetItem(metric)
            value = QTableWidgetItem(shown)
            value.setData(Qt.ItemDataRole.UserRole, raw)
            for item in (key, value):
                item.setToolTip(tip)
            self.table.setItem(i, 0, key)
            self.table.setItem(i, 1, value)
        self._fit_table()

    def _fit_table(self) -> None:
        """Every row visible when there is room; scrolling (not overlapping) when there is not."""
        self.table.resizeColumnToContents(0)
        rows = [self.table.rowHeight(i) for i in range(self.table.rowCount())]
        chrome = self.table.horizontalHeader().sizeHint().height() + 2 * self.table.frameWidth() + 2
        self.table.setMaximumHeight(chrome + sum(rows))
        self.table.setMinimumHeight(chrome + sum(rows[:5]))

    def table_values(self) -> dict[str, Any]:
        """The table as {metric: raw value} (what the cells show, unrounded)."""
        out = {}
        for i in range(self.table.rowCount()):
            out[self.table.item(i, 0).text()] = self.table.item(i, 1).data(Qt.ItemDataRole.UserRole)
        return out

    def _set_legend_names(self, a: str, b: str) -> None:
        self._legend_text[DIFFERENCE_BOTH].setText("in both")
        self._legend_text[DIFFERENCE_REFERENCE_ONLY].setText(f"only in A ({a})")
        self._legend_text[DIFFERENCE_CANDIDATE_ONLY].setText(f"only in B ({b})")
        for label in self._legend_text.values():
            label.setToolTip(label.text())

    def _fill_legend(self, r: SkeletonComparison) -> None:
        self._set_legend_names(self._names["reference"], self._names["candidate"])
        counts = {
            DIFFERENCE_BOTH: r.n_both,
            DIFFERENCE_REFERENCE_ONLY: r.n_reference - r.n_both,
            DIFFERENCE_CANDIDATE_ONLY: r.n_candidate - r.n_both,
        }
        for code, n in counts.items():
            self._legend_count[code].setText(f"{n} voxels")
        self.legend.setToolTip(f"Colours of the layer '{self.difference_layer.name}'.")

    def _set_has_result(self, has: bool) -> None:
        self.export_button.setEnabled(has)
        self.save_plot_button.setEnabled(has)
        self.legend.setVisible(has)
        self.table.setVisible(has)

    # ------------------------------------------------------------------- plot
    def _axis_label(self) -> str:
        return "row (axis 0)" if len(self.result.shape) == 2 else "z slice (axis 0)"

    def _theme(self) -> dict[str, str]:
        try:
            from napari.utils.theme import get_theme

            theme = get_theme(self.viewer.theme)
            return {"face": theme.background.as_hex(), "axes": theme.foreground.as_hex(),
                    "text": theme.text.as_hex(), "grid": theme.highlight.as_hex()}
        except Exception:  # an unknown theme: matplotlib's defaults are fine
            return {"face": "white", "axes": "white", "text": "black", "grid": "#b0b0b0"}

    def _draw_plot(self) -> None:
        r = self.result
        ps = r.per_slice
        colours = self._theme()
        fig = self.figure
        fig.clear()
        fig.set_facecolor(colours["face"])
        top, bottom = fig.subplots(2, 1, sharex=True)
        x = np.arange(len(ps["agreement"]))
        agreement = np.asarray(ps["agreement"], dtype=float)
        top.plot(x, agreement, color=COLOURS[DIFFERENCE_BOTH], marker="o", markersize=2.5, lw=1.2,
                 label="per slice")
        top.axhline(r.f1, color="#5fa8ff", lw=1, ls="--", label=f"overall F1 {r.f1:.3f}")
        top.set_ylim(-0.03, 1.05)
        top.set_ylabel("agreement\n(F1)")
        top.set_title(f"B '{self._names['candidate']}' vs A '{self._names['reference']}', per "
                      f"{'row' if len(r.shape) == 2 else 'slice'} (click to go there)", fontsize=9)
        for key, code, label in (("n_reference", DIFFERENCE_REFERENCE_ONLY, "A"),
                                 ("n_candidate", DIFFERENCE_CANDIDATE_ONLY, "B"),
                                 ("n_both", DIFFERENCE_BOTH, "both")):
            bottom.plot(x, ps[key], color=COLOURS[code], lw=1.2, label=label, drawstyle="steps-mid")
        bottom.set_ylabel("voxels")
        bottom.set_xlabel(self._axis_label())
        bottom.set_xlim(-0.5, max(len(x) - 0.5, 0.5))
        bottom.set_ylim(bottom=0)
        for ax in (top, bottom):
            ax.set_facecolor(colours["axes"])
            ax.tick_params(colors=colours["text"], labelsize=8)
            ax.xaxis.label.set_color(colours["text"])
            ax.yaxis.label.set_color(colours["text"])
            ax.yaxis.label.set_fontsize(8)
            ax.xaxis.label.set_fontsize(8)
            ax.title.set_color(colours["text"])
            ax.grid(True, color=colours["grid"], lw=0.4, alpha=0.6)
            for spine in ax.spines.values():
                spine.set_color(colours["grid"])
            legend = ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7, frameon=False,
                               borderaxespad=0.0)
            for text in legend.get_texts():
                text.set_color(colours["text"])
        self._axes = (top, bottom)
        current = self.current_slice()
        self._markers = [ax.axvline(current, color=_MARKER_COLOUR, lw=1.3) for ax in self._axes]
        self.plot_canvas.draw_idle()

    def _show_plot_dock(self) -> None:
        window = self.viewer.window
        docked = window.dock_widgets.get(PLOT_DOCK_NAME)
        if docked == self.plot_canvas:
            dock = self.plot_canvas.parent()
            if dock is not None:
                dock.show()
            return
        name = PLOT_DOCK_NAME if docked is None else f"{PLOT_DOCK_NAME} ({self._names['reference']})"
        window.add_dock_widget(self.plot_canvas, name=name, area="bottom")

    def _on_theme(self, event=None) -> None:
        if self.result is not None:
            self._draw_plot()

    def _on_click(self, event) -> None:
        if self.result is None or event.inaxes not in self._axes or event.xdata is None:
            return
        if event.button not in (None, 1):  # left button only
            return
        self.go_to_slice(int(round(event.xdata)))

    # ---------------------------------------------------------------- slices
    def _slice_layer(self):
        return self._source if self._source is not None else self.reference.value

    def _slice_axis(self, layer) -> int:
        """The viewer's dims axis that is the layer's axis 0."""
        return self.viewer.dims.ndim - layer.ndim

    def go_to_slice(self, index: int) -> None:
        """Move the viewer to slice ``index`` along axis 0 of layer A."""
        layer = self._slice_layer()
        if layer is None:
            return
        n = layer.data.shape[0] if not layer.multiscale else layer.data[0].shape[0]
        index = int(np.clip(int(index), 0, n - 1))
        world = float(layer.translate[0]) + index * float(layer.scale[0])
        self.viewer.dims.set_point(self._slice_axis(layer), world)

    def current_slice(self) -> int:
        """The viewer's current slice along axis 0 of layer A (as an index)."""
        layer = self._slice_layer()
        if layer is None:
            return 0
        axis = self._slice_axis(layer)
        if axis < 0:
            return 0
        point = float(self.viewer.dims.point[axis])
        n = layer.data.shape[0] if not layer.multiscale else layer.data[0].shape[0]
        index = round((point - float(layer.translate[0])) / float(layer.scale[0]))
        return int(np.clip(index, 0, max(n - 1, 0)))

    def _update_marker(self, event=None) -> None:
        if not self._markers:
            return
        index = self.current_slice()
        for line in self._markers:
            line.set_xdata([index, index])
        self.plot_canvas.draw_idle()

    def marker_position(self) -> float | None:
        """Where the current-slice line is drawn (None before the first result)."""
        if not self._markers:
            return None
        return float(self._markers[0].get_xdata()[0])

    # ----------------------------------------------------------------- export
    def export_metrics(self, path) -> bool:
        """Write the metrics to ``path`` (.json: ``to_dict()``; .csv: summary, then one row per slice)."""
        if self.result is None:
            show_error("Run a comparison first; there are no metrics to export.")
            return False
        suffix = Path(path).suffix.lower()
        if suffix == ".json":
            payload = {
                "reference_layer": self._names["reference"],
                "candidate_layer": self._names["candidate"],
                "mask_layer": self._names["mask"],
                "length_unit": self._unit,
                **self.result.to_dict(),
            }
            text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
        elif suffix == ".csv":
            text = self._csv_text()
        else:
            show_error(f"Metrics are saved as .csv or .json, not as '{suffix or 'a file without extension'}'.")
            return False
        return self._write(path, text, "the metrics")

    def _csv_text(self) -> str:
        r = self.result
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["metric", "value"])
        writer.writerow(["reference_layer", self._names["reference"]])
        writer.writerow(["candidate_layer", self._names["candidate"]])
        writer.writerow(["mask_layer", self._names["mask"] or ""])
        writer.writerow(["length_unit", self._unit])
        for key, value in r.to_dict().items():
            if key == "per_slice":
                continue
            if isinstance(value, list):
                value = json.dumps(value)
            writer.writerow([key, "" if value is None else value])
        writer.writerow([])
        keys = list(r.per_slice)
        writer.writerow(["slice", *keys])
        columns = [np.asarray(r.per_slice[k]) for k in keys]
        for i in range(len(columns[0]) if columns else 0):
            row = [i]
            for column in columns:
                v = column[i].item()
                row.append("" if isinstance(v, float) and not math.isfinite(v) else v)
            writer.writerow(row)
        return buffer.getvalue()

    def save_plot(self, path) -> bool:
        """Save the per-slice plot to ``path`` (.png; .svg and .pdf work too)."""
        if self.result is None:
            show_error("Run a comparison first; there is no plot to save.")
            return False
        suffix = Path(path).suffix.lower()
        if suffix not in (".png", ".svg", ".pdf"):
            show_error(f"The plot is saved as .png, .svg or .pdf, not as '{suffix or 'a file without extension'}'.")
            return False
        fig = self.figure

        def write(fh):
            fig.savefig(fh, format=suffix[1:], dpi=150, facecolor=fig.get_facecolor())

        return self._write(path, write, "the plot")

    def _write(self, path, data, what: str) -> bool:
        try:
            atomic_write(path, data)
        except ValueError as err:  # io.InputError: names the path and the reason
            show_error(f"Could not save {what}: {str(err).rstrip('.')}.")
            return False
        except OSError as err:
            show_error(f"Could not save {what} to '{path}': {err.strerror or err}.")
            return False
        show_info(f"Saved {what} to '{path}'.")
        return True

    def _export_dialog(self, *_):
        default = f"compare {self._names.get('candidate', 'B')} vs {self._names.get('reference', 'A')}.csv"
        path, chosen = QFileDialog.getSaveFileName(self, "Export metrics", default,
                                                   "CSV table (*.csv);;JSON (*.json)")
        if path:
            if not Path(path).suffix:
                path += ".json" if "json" in chosen.lower() else ".csv"
            self.export_metrics(path)

    def _save_plot_dialog(self, *_):
        default = f"per-slice {self._names.get('candidate', 'B')} vs {self._names.get('reference', 'A')}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Save plot", default, "PNG image (*.png);;SVG (*.svg);;PDF (*.pdf)")
        if path:
            if not Path(path).suffix:
                path += ".png"
            self.save_plot(path)


def _disconnect(connections) -> None:
    for emitter, callback in connections:
        try:
            emitter.disconnect(callback)
        except Exception:  # already gone with its layer or viewer
            pass
