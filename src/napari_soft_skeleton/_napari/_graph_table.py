"""The skeleton graph widget's readouts: the selected branches' rows and the colour legend.

* :class:`BranchTable` — the rows of the branches selected in the Shapes
  layer, one column per branch (the first :data:`MAX_SHOWN`), one row per
  column of the branch table; lengths carry the unit;
* :class:`ColourLegend` — what the branch colours mean: a colormap bar with
  its range and unit, or the swatches of the branch kinds.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from napari.utils.colormaps import ensure_colormap
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ._common import swatch

#: Selected branches shown side by side at most.
MAX_SHOWN = 4

#: Columns measured in the graph's length unit.
LENGTH_COLUMNS = ("length", "euclidean", "radius_mean", "radius_min", "radius_max")

#: What each column means (the rows' tooltips).
COLUMN_TIPS = {
    "label": "The object (label, or connected component of a binary skeleton) the branch belongs to.",
    "branch": "The branch's number: its row in the branch table (and in the CSV export).",
    "kind": "end-end: a whole unbranched object; end-junction: a terminal branch; junction-junction: "
            "between two junctions; loop: a cycle back to the same junction (or a ring).",
    "length": "Length along the branch (physical units).",
    "euclidean": "Straight-line distance between its two ends.",
    "tortuosity": "length / euclidean (1 = straight; empty for loops).",
    "radius_mean": "Mean distance to the mask's boundary along the branch (needs a radius mask).",
    "radius_min": "Smallest radius along the branch.",
    "radius_max": "Largest radius along the branch.",
    "intensity_mean": "Mean intensity of the intensity image along the branch.",
    "src": "Its start node (row of the nodes table; -1 for a ring).",
    "dst": "Its end node (-1 for a ring).",
    "component": "Its connected component.",
}


def format_value(column: str, value, unit: str | None) -> str:
    """A cell as shown: floats with 4 significant digits, lengths with the unit, NaN as '–'."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        text = f"{float(value):.4g}"
        return f"{text} {unit}" if unit and column in LENGTH_COLUMNS else text
    return str(value)


class BranchTable(QTableWidget):
    """The selected branches: a column per branch, a row per column of the branch table."""

    def __init__(self, parent=None):
        super().__init__(0, 1, parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.rows: pd.DataFrame = pd.DataFrame()
        self.show_rows(pd.DataFrame(), None)

    def show_rows(self, rows: pd.DataFrame, unit: str | None) -> None:
        """Show ``rows`` (at most :data:`MAX_SHOWN`), or nothing."""
        self.rows = rows
        shown = rows.iloc[:MAX_SHOWN]
        columns = [c for c in rows.columns if not str(c).startswith("_")]
        self.clear()
        self.setColumnCount(max(len(shown), 1))
        self.setRowCount(len(columns) if len(shown) else 0)
        self.setVerticalHeaderLabels(columns if len(shown) else [])
        headers = [f"branch {int(b)}" if "branch" in rows.columns else str(i)
                   for i, b in zip(shown.index, shown["branch"] if "branch" in rows.columns else shown.index)]
        self.setHorizontalHeaderLabels(headers or ["selected branch"])
        for r, column in enumerate(columns if len(shown) else []):
            head = self.verticalHeaderItem(r)
            if head is not None and column in COLUMN_TIPS:
                head.setToolTip(COLUMN_TIPS[column])
            for c, (_, row) in enumerate(shown.iterrows()):
                value = row[column]
                item = QTableWidgetItem(format_value(column, value, unit))
                item.setData(Qt.ItemDataRole.UserRole, value.item() if hasattr(value, "item") else value)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(r, c, item)
        rows_h = sum(self.rowHeight(i) for i in range(self.rowCount()))
        chrome = self.horizontalHeader().sizeHint().height() + 2 * self.frameWidth() + 2
        self.setMinimumHeight(chrome + min(rows_h, 6 * (self.fontMetrics().height() + 6)))
        self.setMaximumHeight(max(chrome + rows_h, chrome + 20))

    def values(self, column: int = 0) -> dict:
        """{table column: raw value} of the ``column``-th shown branch ({} when none is selected)."""
        if self.columnCount() <= column or self.rowCount() == 0:
            return {}
        return {self.verticalHeaderItem(r).text(): self.item(r, column).data(Qt.ItemDataRole.UserRole)
                for r in range(self.rowCount())}


def _gradient(colormap: str) -> str:
    cmap = ensure_colormap(colormap)
    stops = []
    for x in np.linspace(0, 1, 9):
        r, g, b, _ = (np.asarray(cmap.map(np.array([x])))[0] * 255).astype(int)
        stops.append(f"stop:{x:.3f} rgb({r},{g},{b})")
    return "qlineargradient(x1:0, y1:0, x2:1, y2:0, " + ", ".join(stops) + ")"


class ColourLegend(QWidget):
    """The colour key of the branches: a colormap bar between its limits, or the swatches of categories."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        self.bar = QLabel()
        self.bar.setFixedHeight(12)
        self.bar.setMinimumWidth(60)
        ends = QHBoxLayout()
        ends.setContentsMargins(0, 0, 0, 0)
        self.low, self.high = QLabel(), QLabel()
        self.high.setAlignment(Qt.AlignmentFlag.AlignRight)
        ends.addWidget(self.low)
        ends.addStretch(1)
        ends.addWidget(self.high)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.bar)
        layout.addLayout(ends)
        layout.addWidget(self.text)
        self.show_nothing()

    def show_nothing(self) -> None:
        for w in (self.bar, self.low, self.high, self.text):
            w.setVisible(False)

    def show_colormap(self, column: str, colormap: str, limits, unit: str | None, note: str = "") -> None:
        self.bar.setStyleSheet(f"background: {_gradient(colormap)}; border: 1px solid #808080;")
        suffix = f" {unit}" if unit and column in LENGTH_COLUMNS else ""
        self.low.setText(f"{limits[0]:.3g}{suffix}")
        self.high.setText(f"{limits[1]:.3g}{suffix}")
        self.text.setText(note)
        for w in (self.bar, self.low, self.high):
            w.setVisible(True)
        self.text.setVisible(bool(note))

    def show_categories(self, colours: dict[str, str], note: str = "") -> None:
        self.text.setText("&nbsp; ".join(swatch(c, name) for name, c in colours.items()) + note)
        for w in (self.bar, self.low, self.high):
            w.setVisible(False)
        self.text.setVisible(True)


__all__ = ["BranchTable", "ColourLegend", "format_value"]
