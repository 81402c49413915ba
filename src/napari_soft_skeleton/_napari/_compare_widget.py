"""Compare skeleton layers: metrics table, difference layers, per-slice plot, side by side.

The numbers come from :func:`napari_soft_skeleton.metrics.compare` and the
overlay from :func:`~napari_soft_skeleton.metrics.difference_labels`, run in
a background :class:`~._common.Job`.  This module only moves layers in and
results out:

* one or two candidates (B, and optionally C — say the soft and the
  topological skeleton against Lee's as A) are each compared with A;
* the metrics go into a table with a column per candidate (and to CSV/JSON
  on request);
* each difference image becomes a Labels layer placed exactly on layer A,
  with one fixed colour per code and a legend in the widget;
* the per-slice agreement and voxel counts along axis 0 are drawn in a
  matplotlib canvas docked at the bottom of the window; clicking it moves
  the viewer to that slice, and a vertical line follows the current slice;
* "Side by side" shows A, B and C each in its own view of napari's grid
  (cameras and slice linked), hiding the other layers until it is turned off.
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
    QCheckBox,
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
#: Plot colours of the candidates B and C (B keeps the difference layer's colours).
_CANDIDATE_COLOURS = (COLOURS[DIFFERENCE_CANDIDATE_ONLY], "#ff9f1a")
_LETTERS = ("B", "C")

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
    """Compare a candidate skeleton (B), and optionally a second one (C), with a reference (A).

    Pick the skeleton layers and, optionally, a mask; press Compare.  The
    comparison runs in the background (Cancel stops it before anything is
    changed) and then fills the metrics table (a column per candidate), adds
    or updates the layers ``difference A vs B`` (and ``... vs C``) and the
    per-slice plot.  "Side by side" puts A, B and C in napari's grid.

    For scripts and tests: :meth:`run` starts a comparison and returns the
    worker; :attr:`results` are the last :class:`SkeletonComparison` objects
    (B's first; :attr:`result` is B's); :meth:`go_to_slice`,
    :meth:`current_slice`, :meth:`export_metrics`, :meth:`save_plot` and
    :meth:`show_side_by_side` are what the plot and the buttons call.
    """

    def __init__(self, napari_viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.job = Job()
        self.result: SkeletonComparison | None = None
        self.results: list[SkeletonComparison] = []
        self.difference_layer: Labels | None = None
        self.difference_layers: list[Labels] = []
        self._grid_state: dict | None = None  # what side by side changed, to put back
        self._source = None  # layer A of the shown result: its grid is the plot's x axis
        self._names: dict[str, Any] = {}  # layer names of the shown result
        self._unit = "voxels"
        self._worker = None
        self._applied = False
        self._connections: list[tuple[Any, Any]] = []

        # -- inputs ---------------------------------------------------------
        self.reference = ComboBox(choices=self._layer_choices, nullable=True, tooltip=_INPUT_TIP)
        self.candidate = ComboBox(choices=self._layer_choices, nullable=True, tooltip=_INPUT_TIP)
        self.second = ComboBox(
            choices=self._optional_choices,
            tooltip="Optional second candidate, compared with A like B and shown beside it "
            "(e.g. B the soft skeleton, C the topological one, A Lee's). " + _INPUT_TIP,
        )
        self.mask = ComboBox(
            choices=self._optional_choices,
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
        form.addRow("C (candidate)", self.second.native)
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
        self.side_by_side = QCheckBox("Side by side")
        self.side_by_side.setToolTip(
            "Show A, B and C each in its own view (napari's grid mode: zoom, rotation and slice "
            "are linked). The other layers are hidden until this is turned off."
        )
        self.side_by_side.toggled.connect(self.show_side_by_side)
        buttons.addWidget(self.side_by_side)

        self.status = QLabel("Pick two (or three) skeleton layers and press Compare.")
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
        for picker in (self.reference, self.candidate, self.second):
            # (Qt's signal: magicgui does not emit `changed` when a choice's data is None)
            picker.native.currentIndexChanged.connect(self._pickers_changed)
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

    def _optional_choices(self, _widget=None):
        """The layers, after "none" (for the optional C and mask pickers)."""
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
        for picker in (self.reference, self.candidate, self.second, self.mask):
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
    def _candidates(self) -> list:
        """The chosen candidate layers: B, then C when one is picked."""
        return [ly for ly in (self.candidate.value, self.second.value) if ly is not None]

    def _plan(self) -> dict:
        """Check the inputs (GUI thread) and describe the work; raises UserError."""
        a, b, c, m = self.reference.value, self.candidate.value, self.second.value, self.mask.value
        if a is None:
            raise UserError("Select the reference skeleton layer (A) first.")
        if b is None:
            raise UserError("Select the candidate skeleton layer (B) first.")
        if c is not None and c == b:
            raise UserError(f"B and C are the same layer '{b.name}'; pick another layer for C or none.")
        candidates = self._candidates()
        data_a = layer_array(a, allow_4d=False, allow_empty=True)
        datas = []
        for letter, layer in zip(_LETTERS, candidates):
            data = layer_array(layer, allow_4d=False, allow_empty=True)
            if data.shape != data_a.shape:
                raise UserError(
                    f"Layers '{a.name}' {data_a.shape} and '{layer.name}' {data.shape} ({letter}) have "
                    "different shapes; pick skeletons of the same image."
                )
            datas.append(data)
        data_m = None
        if m is not None:
            data_m = layer_array(m, allow_4d=False, allow_empty=True)
            if data_m.shape != data_a.shape:
                raise UserError(
                    f"Mask '{m.name}' {data_m.shape} does not have the shape of '{a.name}' {data_a.shape}; "
                    "pick a mask of the same image or none."
                )
        bin_a = _binary(a, data_a)
        bins = [_binary(layer, data) for layer, data in zip(candidates, datas)]
        bin_m = None if m is None else _binary(m, data_m)
        checks = [(a, bin_a, "skeleton"), *((ly, bn, "skeleton") for ly, bn in zip(candidates, bins)),
                  (m, bin_m, "mask")]
        for layer, binary, role in checks:
            if binary is not None and not binary.any():
                hint = " (float images count as value > 0.5)" if layer.data.dtype.kind == "f" else ""
                raise UserError(f"Layer '{layer.name}' is empty{hint}; there is no {role} to compare.")
        for layer in candidates:
            if not (np.allclose(a.scale, layer.scale) and np.allclose(a.translate, layer.translate)):
                show_warning(
                    f"Layers '{a.name}' and '{layer.name}' are placed differently; they are compared voxel "
                    f"by voxel on the grid of '{a.name}'."
                )
        spacing = layer_spacing(a, bin_a.ndim)
        tolerance = float(self.tolerance.value)

        def work(progress):
            try:
                steps = 2 * len(bins)
                progress(0, steps)
                results, differences = [], []
                shown_a = bin_a if bin_m is None else bin_a & bin_m  # the overlay shows what was compared
                for i, bin_b in enumerate(bins):
                    results.append(compare(bin_a, bin_b, mask=bin_m, spacing=spacing, tolerance=tolerance))
                    progress(2 * i + 1, steps)
                    differences.append(difference_labels(shown_a, bin_b if bin_m is None else bin_b & bin_m))
                    progress(2 * i + 2, steps)
                return results, differences
            except (Cancelled, UserError, ValueError, MemoryError):
                raise
            except Exception as err:  # one sentence instead of "Skeletonization failed"
                raise UserError(f"Comparison failed: {type(err).__name__}: {err}") from err

        return {
            "work": work,
            "reference": a,
            "candidates": candidates,
            "mask": m,
            "unit": length_unit(a),
            "settings": [
                {
                    "kind": _KIND,
                    "reference": a.name,
                    "candidate": layer.name,
                    "mask": None if m is None else m.name,
                    "tolerance": tolerance,
                }
                for layer in candidates
            ],
        }

    def run(self, *_):
        """Start comparing B (and C) with A in the background; returns the worker (None on a user error)."""
        try:
            plan = self._plan()
            a, names = plan["reference"], " and ".join(ly.name for ly in plan["candidates"])
            worker = self.job.start(
                plan["work"],
                description=f"comparing {names} with {a.name}",
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
        results, differences = out
        a, candidates, m = plan["reference"], plan["candidates"], plan["mask"]
        colormap = DirectLabelColormap(
            color_dict={None: "transparent", 0: "transparent", **COLOURS}
        )
        layers = []
        for layer_b, difference, settings in zip(candidates, differences, plan["settings"]):
            layer = put_layer(self.viewer, difference, name=f"difference {a.name} vs {layer_b.name}",
                              kind="labels", source=a, settings=settings, colormap=colormap, opacity=1.0)
            layer.colormap = colormap  # also when an earlier run's layer was reused
            layers.append(layer)
        self.difference_layers = layers
        self.difference_layer = layers[0]
        self.results = list(results)
        self.result = results[0]
        self._source = a
        self._unit = plan["unit"]
        self._names = {"reference": a.name, "candidate": candidates[0].name,
                       "candidates": [ly.name for ly in candidates], "mask": None if m is None else m.name}
        self._applied = True
        self._fill_table()
        self._fill_legend()
        self._draw_plot()
        self._show_plot_dock()
        self._set_has_result(True)
        if self.side_by_side.isChecked():
            self._apply_grid()  # the new difference layers stay out of the grid
        within = "" if m is None else f" within '{m.name}'"
        summaries = [f"'{ly.name}': F1 {r.f1:.3f} (precision {r.precision:.3f}, recall {r.recall:.3f})"
                     for ly, r in zip(candidates, results)]
        tolerance = f"at tolerance {results[0].tolerance:g} {self._unit}"
        self.status.setText("Done: " + ", ".join(f"{letter} F1 {r.f1:.3f}" for letter, r in zip(_LETTERS, results))
                            + f"{within}.")
        self.status.setToolTip(f"vs '{a.name}'{within} {tolerance}: " + "; ".join(summaries) + ".")
        show_info(f"Compared with '{a.name}'{within} {tolerance}: " + "; ".join(summaries) + ".")

    # ---------------------------------------------------------------- results
    def table_rows(self, result: SkeletonComparison | None = None, candidate: str = "B"
                   ) -> list[tuple[str, str, Any, str]]:
        """(metric, shown value, raw value, tooltip) for each table row; ``candidate`` names B in the labels."""
        r = self.result if result is None else result
        unit = self._unit
        names = self._names
        cand = candidate
        return [
            ("precision", _fmt_float(r.precision), r.precision,
             f"Fraction of {cand}'s voxels within the tolerance of A."),
            ("recall", _fmt_float(r.recall), r.recall, f"Fraction of A's voxels within the tolerance of {cand}."),
            ("F1", _fmt_float(r.f1), r.f1, "Harmonic mean of precision and recall."),
            ("voxels A", str(r.n_reference), r.n_reference, f"Skeleton voxels in '{names['reference']}'."),
            (f"voxels {cand}", str(r.n_candidate), r.n_candidate, f"Skeleton voxels in the candidate {cand}."),
            ("voxels in both", str(r.n_both), r.n_both, "Voxels set in both skeletons (exact overlap)."),
            ("matched A", str(r.matched_reference), r.matched_reference,
             f"Voxels of A within the tolerance of {cand}."),
            (f"matched {cand}", str(r.matched_candidate), r.matched_candidate,
             f"Voxels of {cand} within the tolerance of A."),
            ("Betti numbers A", _betti_text(r.betti_reference), tuple(r.betti_reference),
             "b0 components, b1 loops/holes, b2 cavities (3D)."),
            (f"Betti numbers {cand}", _betti_text(r.betti_candidate), tuple(r.betti_candidate),
             "b0 components, b1 loops/holes, b2 cavities (3D)."),
            ("length A", f"{_fmt_number(r.length_reference)} {unit}", r.length_reference,
             "Length of A's skeleton, in the units of A's scale."),
            (f"length {cand}", f"{_fmt_number(r.length_candidate)} {unit}", r.length_candidate,
             f"Length of {cand}'s skeleton, in the units of A's scale."),
            ("tolerance", f"{r.tolerance:g} {unit}", r.tolerance, "Matching distance."),
        ]

    def _fill_table(self) -> None:
        """One value column per candidate: 'value' for B alone, 'B' and 'C' for two."""
        results = self.results
        several = len(results) > 1
        columns = [self.table_rows(r, "candidate" if several else "B") for r in results]
        self.table.setColumnCount(1 + len(results))
        heads = ["metric", *(_LETTERS[: len(results)] if several else ["value"])]
        self.table.setHorizontalHeaderLabels(heads)
        for i, name in enumerate(self._names["candidates"] if several else []):
            self.table.horizontalHeaderItem(i + 1).setToolTip(f"{_LETTERS[i]}: '{name}'")
        header = self.table.horizontalHeader()
        for i in range(1, 1 + len(results)):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.Stretch)
        self.table.setRowCount(len(columns[0]))
        for i, (metric, *_rest) in enumerate(columns[0]):
            key = QTableWidgetItem(metric)
            key.setToolTip(columns[0][i][3])
            self.table.setItem(i, 0, key)
            for j, rows in enumerate(columns):
                _, shown, raw, tip = rows[i]
                value = QTableWidgetItem(shown)
                value.setData(Qt.ItemDataRole.UserRole, raw)
                value.setToolTip(tip.replace("candidate", f"candidate {_LETTERS[j]}") if several else tip)
                self.table.setItem(i, j + 1, value)
        self._fit_table()

    def _fit_table(self) -> None:
        """Every row visible when there is room; scrolling (not overlapping) when there is not."""
        self.table.resizeColumnToContents(0)
        rows = [self.table.rowHeight(i) for i in range(self.table.rowCount())]
        chrome = self.table.horizontalHeader().sizeHint().height() + 2 * self.table.frameWidth() + 2
        self.table.setMaximumHeight(chrome + sum(rows))
        self.table.setMinimumHeight(chrome + sum(rows[:5]))

    def table_values(self, column: int = 1) -> dict[str, Any]:
        """The table as {metric: raw value} (what the cells show, unrounded); column 1 is B, 2 is C."""
        out = {}
        for i in range(self.table.rowCount()):
            out[self.table.item(i, 0).text()] = self.table.item(i, column).data(Qt.ItemDataRole.UserRole)
        return out

    def _set_legend_names(self, a: str, b: str) -> None:
        self._legend_text[DIFFERENCE_BOTH].setText("in both")
        self._legend_text[DIFFERENCE_REFERENCE_ONLY].setText(f"only in A ({a})")
        self._legend_text[DIFFERENCE_CANDIDATE_ONLY].setText(f"only in {b}")
        for label in self._legend_text.values():
            label.setToolTip(label.text())

    def _fill_legend(self) -> None:
        results, names = self.results, self._names["candidates"]
        self.legend.setTitle("difference layer" if len(results) == 1 else "difference layers (B / C)")
        if len(results) == 1:
            self._set_legend_names(self._names["reference"], f"B ({names[0]})")
        else:
            self._set_legend_names(self._names["reference"], "the candidate (B or C)")
        counts = {
            DIFFERENCE_BOTH: [r.n_both for r in results],
            DIFFERENCE_REFERENCE_ONLY: [r.n_reference - r.n_both for r in results],
            DIFFERENCE_CANDIDATE_ONLY: [r.n_candidate - r.n_both for r in results],
        }
        for code, ns in counts.items():
            self._legend_count[code].setText(" / ".join(str(n) for n in ns) + " voxels")
            if len(ns) > 1:
                self._legend_count[code].setToolTip(", ".join(f"{letter}: {n}" for letter, n in zip(_LETTERS, ns)))
        layers = " and ".join(f"'{layer.name}'" for layer in self.difference_layers)
        self.legend.setToolTip(f"Colours of the layer{'s' if len(self.difference_layers) > 1 else ''} {layers}"
                               + (" (counts: B / C)." if len(results) > 1 else "."))

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
        results = self.results
        several = len(results) > 1
        r = results[0]
        colours = self._theme()
        fig = self.figure
        fig.clear()
        fig.set_facecolor(colours["face"])
        top, bottom = fig.subplots(2, 1, sharex=True)
        x = np.arange(len(r.per_slice["agreement"]))
        for i, result in enumerate(results):
            line = COLOURS[DIFFERENCE_BOTH] if not several else _CANDIDATE_COLOURS[i]
            label = "per slice" if not several else f"{_LETTERS[i]} (F1 {result.f1:.3f})"
            top.plot(x, np.asarray(result.per_slice["agreement"], dtype=float), color=line, marker="o",
                     markersize=2.5, lw=1.2, label=label)
        if not several:
            top.axhline(r.f1, color="#5fa8ff", lw=1, ls="--", label=f"overall F1 {r.f1:.3f}")
        top.set_ylim(-0.03, 1.05)
        top.set_ylabel("agreement\n(F1)")
        unit = "row" if len(r.shape) == 2 else "slice"
        names = self._names["candidates"]
        who = f"B '{names[0]}'" if not several else f"B '{names[0]}' and C '{names[1]}'"
        top.set_title(f"{who} vs A '{self._names['reference']}', per {unit} (click to go there)", fontsize=9)
        bottom.plot(x, r.per_slice["n_reference"], color=COLOURS[DIFFERENCE_REFERENCE_ONLY], lw=1.2, label="A",
                    drawstyle="steps-mid")
        if not several:
            bottom.plot(x, r.per_slice["n_candidate"], color=COLOURS[DIFFERENCE_CANDIDATE_ONLY], lw=1.2,
                        label="B", drawstyle="steps-mid")
            bottom.plot(x, r.per_slice["n_both"], color=COLOURS[DIFFERENCE_BOTH], lw=1.2, label="both",
                        drawstyle="steps-mid")
        else:
            for i, result in enumerate(results):
                bottom.plot(x, result.per_slice["n_candidate"], color=_CANDIDATE_COLOURS[i], lw=1.2,
                            label=_LETTERS[i], drawstyle="steps-mid")
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

    # ----------------------------------------------------------- side by side
    def _pickers_changed(self, *_):
        if self.side_by_side.isChecked():
            self._apply_grid()

    def show_side_by_side(self, on: bool) -> None:
        """Show A, B and C each in its own linked view of napari's grid (``on``), or put everything back.

        Turning it on remembers which layers were visible, their order and
        how the grid was set, hides every layer but the chosen skeletons,
        moves them to the top of the layer list (A, B, C) and enables the grid
        (one row for up to three views, A first).  Turning it off puts back the
        visibility and order of the layers that still exist and the grid, and
        shows the layers added in the meantime.
        """
        if bool(on) != self.side_by_side.isChecked():
            self.side_by_side.setChecked(bool(on))  # comes back here through `toggled`
            return
        viewer = self.viewer
        if on:
            chosen = self._grid_layers()
            if len(chosen) < 2:
                show_error("Pick A and B (and optionally C) to show them side by side.")
                self.side_by_side.setChecked(False)
                return
            if self._grid_state is None:
                grid = viewer.canvas.grid
                self._grid_state = {
                    "visible": [(layer, layer.visible) for layer in viewer.layers],
                    "order": list(viewer.layers),
                    "grid": (grid.enabled, grid.stride, tuple(grid.shape)),
                }
            self._apply_grid()
            return
        state, self._grid_state = self._grid_state, None
        if state is None:
            return
        before = [layer for layer, _ in state["visible"]]
        for layer in viewer.layers:  # layers added since were hidden by the grid: show them
            if layer not in before:
                layer.visible = True
        for layer, visible in state["visible"]:
            if layer in viewer.layers:
                layer.visible = visible
        # the layer order as it was; layers added since stay on top, in their order
        target = [ly for ly in state["order"] if ly in viewer.layers]
        target += [ly for ly in viewer.layers if ly not in target]
        for i, layer in enumerate(target):
            _move(viewer.layers, layer, i)
        enabled, stride, shape = state["grid"]
        viewer.canvas.grid.stride, viewer.canvas.grid.shape, viewer.canvas.grid.enabled = stride, shape, enabled

    def _grid_layers(self) -> list:
        chosen = [self.reference.value, *self._candidates()]
        return [ly for i, ly in enumerate(chosen) if ly is not None and ly not in chosen[:i]]

    def _apply_grid(self) -> None:
        """Only the chosen skeletons visible, one view each, A in the first."""
        viewer = self.viewer
        chosen = self._grid_layers()
        if len(chosen) < 2:
            self.show_side_by_side(False)
            return
        for layer in viewer.layers:
            layer.visible = layer in chosen
        # A, B, C on top of the layer list in that order (put back when side by side
        # ends); the grid fills from the top with a negative stride
        for layer in reversed(chosen):
            _move(viewer.layers, layer, len(viewer.layers) - 1)
        viewer.canvas.grid.stride = -1
        viewer.canvas.grid.shape = (1, len(chosen)) if len(chosen) <= 3 else (-1, -1)
        viewer.canvas.grid.enabled = True

    # ----------------------------------------------------------------- export
    def export_metrics(self, path) -> bool:
        """Write the metrics to ``path`` (.json: ``to_dict()``; .csv: summary, then one row per slice)."""
        if self.result is None:
            show_error("Run a comparison first; there are no metrics to export.")
            return False
        suffix = Path(path).suffix.lower()
        if suffix == ".json":
            common = {"reference_layer": self._names["reference"], "mask_layer": self._names["mask"],
                      "length_unit": self._unit}
            if len(self.results) == 1:
                payload = {**common, "candidate_layer": self._names["candidate"], **self.result.to_dict()}
            else:
                payload = {**common, "candidates": [
                    {"letter": letter, "candidate_layer": name, **r.to_dict()}
                    for letter, name, r in zip(_LETTERS, self._names["candidates"], self.results)
                ]}
            text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
        elif suffix == ".csv":
            text = self._csv_text()
        else:
            show_error(f"Metrics are saved as .csv or .json, not as '{suffix or 'a file without extension'}'.")
            return False
        return self._write(path, text, "the metrics")

    def _csv_text(self) -> str:
        """Summary rows (metric, then a value column per candidate), a blank row, then one row per slice."""
        results = self.results
        several = len(results) > 1
        letters = _LETTERS[: len(results)]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["metric", *(letters if several else ["value"])])
        writer.writerow(["reference_layer", *[self._names["reference"]] * len(results)])
        writer.writerow(["candidate_layer", *self._names["candidates"]])
        writer.writerow(["mask_layer", *[self._names["mask"] or ""] * len(results)])
        writer.writerow(["length_unit", *[self._unit] * len(results)])
        dicts = [r.to_dict() for r in results]
        for key in dicts[0]:
            if key == "per_slice":
                continue
            values = []
            for d in dicts:
                value = d[key]
                values.append(json.dumps(value) if isinstance(value, list) else "" if value is None else value)
            writer.writerow([key, *values])
        writer.writerow([])
        keys = list(results[0].per_slice)
        names = [f"{k} {letter}" for letter in letters for k in keys] if several else keys
        writer.writerow(["slice", *names])
        columns = [np.asarray(r.per_slice[k]) for r in results for k in keys]
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

    def _default_stem(self) -> str:
        names = " and ".join(self._names.get("candidates", [])) or "B"
        return f"{names} vs {self._names.get('reference', 'A')}"

    def _export_dialog(self, *_):
        default = f"compare {self._default_stem()}.csv"
        path, chosen = QFileDialog.getSaveFileName(self, "Export metrics", default,
                                                   "CSV table (*.csv);;JSON (*.json)")
        if path:
            if not Path(path).suffix:
                path += ".json" if "json" in chosen.lower() else ".csv"
            self.export_metrics(path)

    def _save_plot_dialog(self, *_):
        default = f"per-slice {self._default_stem()}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Save plot", default, "PNG image (*.png);;SVG (*.svg);;PDF (*.pdf)")
        if path:
            if not Path(path).suffix:
                path += ".png"
            self.save_plot(path)


def _move(layers, layer, index: int) -> None:
    """Move ``layer`` to position ``index`` of the layer list (0 is the bottom)."""
    # (== rather than `is`: plugins get the viewer behind napari's public-only proxy)
    current = next(i for i, ly in enumerate(layers) if ly == layer)
    if current != index:
        layers.move(current, index if index < current else index + 1)


def _disconnect(connections) -> None:
    for emitter, callback in connections:
        try:
            emitter.disconnect(callback)
        except Exception:  # already gone with its layer or viewer
            pass
