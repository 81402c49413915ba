"""The "Compare skeletons" widget: pick A, B (and C), compare, look.

The widget wires together pieces that live in their own modules:

* :mod:`._compare_pickers` — the A, B, C, mask and tolerance controls,
  following the layer list (A = Lee's skeleton, B/C = the soft and
  topological ones until picked by hand; the tolerance in A's unit);
* :mod:`._compare_layers` — which layers are skeletons, their unit, the
  difference layers, slices and time points;
* :mod:`._compare_plan` — the checks and the background work
  (:func:`~napari_soft_skeleton.metrics.compare` and
  :func:`~napari_soft_skeleton.metrics.difference_labels` at one tolerance);
* :mod:`._compare_table` and :mod:`._compare_export` — the metrics table,
  the difference legend, CSV/JSON and the saved plot;
* :mod:`._compare_plot` — the per-slice plot docked at the bottom;
* :mod:`._compare_grid` — "Side by side": A, B and C in titled grid views.

Time-lapse layers (t, z, y, x) are compared at the time point the viewer's
slider shows; the status line says which.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import QSize
from qtpy.QtWidgets import QCheckBox, QFileDialog, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from ..metrics import SkeletonComparison
from ..palette import METHOD_COLOURS, REFERENCE_COLOUR, candidate_colour
from . import _compare_export as export
from ._common import CANCELLED, UserError, status_label
from ._jobs import Job
from ._compare_grid import SideBySide, view_titles
from ._compare_layers import go_to_slice, put_differences, skeleton_method, slice_index, time_point
from ._compare_pickers import LayerPickers, disconnect_all
from ._compare_plan import CONTROLS, LETTERS, Outcome, Plan, make_plan
from ._compare_plot import PerSlicePlot, theme_colours
from ._compare_table import DifferenceLegend, MetricsTable

#: Name of the dock that holds the per-slice plot (one per window).
PLOT_DOCK_NAME = "per-slice agreement"


class CompareWidget(QWidget):
    """Compare a candidate skeleton B, and optionally C, with a reference skeleton A.

    A defaults to Lee's skeleton and B, C to the soft and topological
    skeletons the plugin made (following new skeleton layers until you pick
    by hand); the tolerance defaults to 1.5 × the largest voxel size of A, in
    A's unit.  Compare runs in the background (Cancel changes nothing), then
    fills the table (a column per candidate), adds or updates the layers
    ``diff B (...)`` and ``diff C (...)`` (matched yellow, missed vermillion,
    extra bluish green; only B's is shown) and the per-slice plot.  For
    (t, z, y, x) layers the time point on the viewer's slider is compared.

    For scripts and tests: :meth:`run` returns the worker; :attr:`results`
    (B's first; :attr:`result` is B's), :attr:`difference_layers`,
    :meth:`go_to_slice`, :meth:`current_slice`, :meth:`export_metrics`,
    :meth:`save_plot` and :meth:`show_side_by_side`.
    """

    def __init__(self, napari_viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.job = Job(failure="Comparison", out_of_memory="Out of memory; compare a smaller volume or crop the layers.")
        self.results: list[SkeletonComparison] = []
        self.difference_layers: list = []
        self.plan: Plan | None = None  # of the shown results
        self.side = SideBySide(napari_viewer)
        self._outcome: str | None = None  # of the running job, once shown: "done" or "removed"

        self.pickers = LayerPickers(napari_viewer, on_change=self._pickers_changed)
        p = self.pickers
        self.reference, self.candidate, self.second, self.mask, self.tolerance, self.voxel_spacing = (
            p.reference, p.candidate, p.second, p.mask, p.tolerance, p.voxel_spacing)
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Compare B (and C) with A in the background.")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.compare_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.job.cancel)
        self.side_by_side = QCheckBox("Side by side")
        self.side_by_side.setToolTip("Show A, B and C each in its own titled view (napari's grid: zoom, rotation "
                                     "and slice linked); the other layers are hidden until this is turned off.")
        self.side_by_side.toggled.connect(self.show_side_by_side)
        buttons = QHBoxLayout()
        for w in (self.compare_button, self.cancel_button, self.side_by_side):
            buttons.addWidget(w)
        self.status = status_label("Pick two (or three) skeleton layers and press Compare.").native

        self.table = MetricsTable()
        self.legend = DifferenceLegend()
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
        layout.addLayout(p.form)
        layout.addWidget(self.voxel_spacing.native)  # A's voxel spacing, full width (the readout wraps)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.legend)
        layout.addLayout(exports)
        layout.addStretch(0)
        self._set_has_result(False)
        self.plot = PerSlicePlot(on_click=self.go_to_slice)
        self.plot_canvas = self.plot.canvas

        events = [(None, napari_viewer.dims.events.current_step, self._update_marker),
                  (None, napari_viewer.events.theme, self._on_theme)]
        for _, emitter, callback in events:
            emitter.connect(callback)
        pickers = self.pickers
        self.destroyed.connect(lambda *_: (disconnect_all(events), pickers.disconnect()))
        self.job.listeners.append(self._job_state)
        self.pickers.refresh()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        # wide enough for layer names such as "vessel_256 mask soft skeleton (k=10)" and two value columns
        hint = super().sizeHint()
        return QSize(max(hint.width(), 440), hint.height())

    @property
    def result(self) -> SkeletonComparison | None:
        return self.results[0] if self.results else None

    @property
    def difference_layer(self):
        return self.difference_layers[0] if self.difference_layers else None

    # ----------------------------------------------------------------- running
    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)

    def run(self, *_):
        """Start comparing B (and C) with A in the background; returns the worker (None on a user error)."""
        try:
            a, c = self.reference.value, self.second.value
            plan = make_plan(a, [self.candidate.value, *([c] if c is not None else [])], self.mask.value,
                             tolerance=self.tolerance.value,
                             time=time_point(self.viewer, a) if a is not None and a.ndim == 4 else 0,
                             layers=list(self.viewer.layers), use_spacing=self.voxel_spacing.used)
            names = " and ".join(ly.name for ly in plan.candidates)
            worker = self.job.start(plan.work, description=f"comparing {names} with {a.name}",
                                    on_done=lambda out: self._apply(plan, out))
        except UserError as err:
            show_error(str(err))
            self._say(str(err))
            return None
        if plan.time is not None:
            self._say(f"Comparing time point {plan.time} (the time slider's)…")
        return worker

    def cancel(self) -> None:
        """Stop the running comparison; nothing is changed."""
        self.job.cancel()

    def _job_state(self, what: str) -> None:
        running = what == "started"
        self.compare_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if running:
            self._outcome = None
            self._say("Comparing…")
        elif self._outcome is None:  # an error or a Cancel: the Job's sentence
            self._say(self.job.outcome or CANCELLED)

    def _apply(self, plan: Plan, out: Outcome) -> None:
        """Show a finished comparison (GUI thread), unless an input layer was removed meanwhile."""
        gone = [ly.name for ly in plan.layers if ly not in self.viewer.layers]
        if gone:
            self._outcome = "removed"
            text = f"Layer '{gone[0]}' was removed during the comparison; no result was added (press Compare again)."
            show_warning(text)
            self._say(text)
            return
        self.difference_layers = put_differences(self.viewer, plan, out.differences)
        self.results, self.plan, self._outcome = list(out.results), plan, "done"
        names = [ly.name for ly in plan.candidates]
        self.table.fill(self.results, plan.letters, names, plan.reference.name)
        self.legend.fill(self.results, plan.letters, [ly.name for ly in self.difference_layers])
        self._draw_plot()
        self._show_plot_dock()
        self._set_has_result(True)
        if self.side.active:
            self._apply_grid()  # the new difference layers stay out of the grid
        within = "" if plan.mask is None else f" within '{plan.mask.name}'"
        at = "" if plan.time is None else f" at time point {plan.time} (the time slider's; move it and Compare again)"
        unit = self.result.unit
        scores = ", ".join(f"{letter} F1 {r.f1:.3f}" for letter, r in zip(plan.letters, self.results))
        self._say(f"Done{at}: {scores}{within}, tolerance {plan.tolerance:g} {unit}."
                  + "".join(f" {m}" for m in out.messages))
        summaries = [f"'{name}': F1 {r.f1:.3f} (precision {r.precision:.3f}, recall {r.recall:.3f})"
                     for name, r in zip(names, self.results)]
        show_info(f"Compared with '{plan.reference.name}'{within} at tolerance {plan.tolerance:g} {unit}: "
                  + "; ".join(summaries) + ".")
        for message in out.messages:
            show_warning(message)

    def _set_has_result(self, has: bool) -> None:
        self.export_button.setEnabled(has)
        self.save_plot_button.setEnabled(has)
        self.legend.setVisible(has)
        self.table.setVisible(has)

    def table_values(self, column: int = 1) -> dict[str, Any]:
        """The table as {metric: raw value} (what the cells show, unrounded); column 1 is B, 2 is C."""
        return self.table.values(column)

    def colours(self) -> list[str]:
        """The colour of each candidate of the shown results (their layers' and curves')."""
        return [candidate_colour(i, skeleton_method(ly)) for i, ly in enumerate(self.plan.candidates)]

    # ------------------------------------------------------------ plot, slices
    def _draw_plot(self) -> None:
        plan = self.plan
        self.plot.draw(self.results, letters=plan.letters, names=[ly.name for ly in plan.candidates],
                       reference=plan.reference.name, colours=self.colours(), theme=theme_colours(self.viewer),
                       current=self.current_slice())

    def _show_plot_dock(self) -> None:
        window = self.viewer.window
        docked = window.dock_widgets.get(PLOT_DOCK_NAME)
        if docked == self.plot_canvas:
            if self.plot_canvas.parent() is not None:
                self.plot_canvas.parent().show()
            return
        name = PLOT_DOCK_NAME if docked is None else f"{PLOT_DOCK_NAME} ({self.plan.reference.name})"
        window.add_dock_widget(self.plot_canvas, name=name, area="bottom")

    def _on_theme(self, event=None) -> None:
        if self.results:
            self._draw_plot()

    def _slice_layer(self):
        return self.plan.reference if self.plan is not None else self.reference.value

    def go_to_slice(self, index: int) -> None:
        """Move the viewer to slice ``index`` of A's z axis (rows in 2D; at the compared time point in 4D)."""
        layer = self._slice_layer()
        if layer is not None:
            go_to_slice(self.viewer, layer, index, None if self.plan is None else self.plan.time)

    def current_slice(self) -> int:
        """The viewer's current slice along A's z axis (as an index)."""
        layer = self._slice_layer()
        return 0 if layer is None else slice_index(self.viewer, layer)

    def _update_marker(self, event=None) -> None:
        self.plot.set_marker(self.current_slice())

    def marker_position(self) -> float | None:
        """Where the current-slice line is drawn (None before the first result)."""
        return self.plot.marker_position()

    # ----------------------------------------------------------- side by side
    def _views(self) -> list[tuple]:
        """(layer, title, colour) of A, B and C, each layer once."""
        a = self.reference.value
        views = [] if a is None else [(a, "A", METHOD_COLOURS.get(skeleton_method(a) or "", REFERENCE_COLOUR))]
        for i, (letter, layer) in enumerate(zip(LETTERS, self.pickers.candidates())):
            if not any(layer == v[0] for v in views):
                views.append((layer, letter, candidate_colour(i, skeleton_method(layer))))
        titles = view_titles([role for _, role, _ in views], [layer.name for layer, _, _ in views])
        return [(layer, title, colour) for (layer, _, colour), title in zip(views, titles)]

    def _pickers_changed(self) -> None:
        if self.side.active:
            self._apply_grid()

    def show_side_by_side(self, on: bool) -> None:
        """Show A, B and C each in its own titled view of napari's grid (``on``), or put everything back."""
        if bool(on) != self.side_by_side.isChecked():
            self.side_by_side.setChecked(bool(on))  # comes back here through `toggled`
            return
        if on and len(self._views()) < 2:
            text = f"Pick layers for '{CONTROLS['A']}' and '{CONTROLS['B']}' to show them side by side."
            show_error(text)
            self._say(text)
            self.side_by_side.setChecked(False)
        elif on:
            self._apply_grid()
        else:
            with self.pickers.paused():
                self.side.end()

    def _apply_grid(self) -> None:
        views = self._views()
        if len(views) < 2:
            self.show_side_by_side(False)
            return
        with self.pickers.paused():
            self.side.show(views)

    # ----------------------------------------------------------------- export
    def _names(self) -> dict:
        plan = self.plan
        if plan is None:
            return {}
        return {"reference": plan.reference.name, "candidates": [ly.name for ly in plan.candidates],
                "letters": list(plan.letters), "mask": None if plan.mask is None else plan.mask.name,
                "time": plan.time}

    def export_metrics(self, path) -> bool:
        """Write the metrics to ``path`` (.json: ``to_dict()``; .csv: summary, then one row per slice)."""
        return export.export_metrics(path, self.results, self._names())

    def save_plot(self, path) -> bool:
        """Save the per-slice plot to ``path`` (.png; .svg and .pdf work too)."""
        return export.save_plot(path, self.plot.figure, bool(self.results))

    def _default_stem(self) -> str:
        names = self._names()
        return f"{' and '.join(names.get('candidates', [])) or 'B'} vs {names.get('reference', 'A')}"

    def _export_dialog(self, *_):
        path, chosen = QFileDialog.getSaveFileName(self, "Export metrics", f"compare {self._default_stem()}.csv",
                                                   "CSV table (*.csv);;JSON (*.json)")
        if path:
            self.export_metrics(path if Path(path).suffix else path + (".json" if "json" in chosen.lower() else ".csv"))

    def _save_plot_dialog(self, *_):
        path, _ = QFileDialog.getSaveFileName(self, "Save plot", f"per-slice {self._default_stem()}.png",
                                              "PNG image (*.png);;SVG (*.svg);;PDF (*.pdf)")
        if path:
            self.save_plot(path if Path(path).suffix else path + ".png")

