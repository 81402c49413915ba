"""The Skeleton graph widget's display, prune, selection and export controls (a mixin of
:class:`._graph_widget.GraphWidget`)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from napari.utils.notifications import show_info
from qtpy.QtWidgets import (
    QFileDialog,
)

from . import _graph_layers as gl
from ._graph_inputs import _NONE, CONTROLS, DEBOUNCE_MS  # noqa: F401


class _GraphActions:
    """Colouring, live pruning, branch selection and export of the graph shown."""

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

