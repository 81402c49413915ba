"""The compare widget's readouts: the metrics table and the difference legend.

* :func:`table_rows` — (metric, shown value, raw value, tooltip) of one
  comparison; lengths and the tolerance carry the result's unit;
* :class:`MetricsTable` — a column per candidate (B, C), raw values kept in
  the cells' user data;
* :class:`DifferenceLegend` — the difference layers' three colours
  (:data:`napari_soft_skeleton.palette.DIFFERENCE_COLOURS`), what each means
  and how many voxels each has.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
)

from ..metrics import SkeletonComparison
from ..palette import DIFFERENCE_COLOURS, DIFFERENCE_LABELS

_KINDS = ("matched", "reference only", "candidate only")


def difference_counts(r: SkeletonComparison) -> dict[str, int]:
    """Voxels of each legend colour in the difference layer of ``r``."""
    return {
        "matched": r.matched_reference + r.matched_candidate - r.n_both,
        "reference only": r.n_reference - r.matched_reference,
        "candidate only": r.n_candidate - r.matched_candidate,
    }


def _fmt_float(value: float, digits: int = 4) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _betti_text(betti: tuple[int, ...]) -> str:
    return ", ".join(f"b{i}={b}" for i, b in enumerate(betti))


def table_rows(r: SkeletonComparison, candidate: str = "B", reference_name: str = "A"
               ) -> list[tuple[str, str, Any, str]]:
    """(metric, shown value, raw value, tooltip) for each row; ``candidate`` names B in the labels."""
    cand, unit = candidate, r.unit
    return [
        ("precision", _fmt_float(r.precision), r.precision, f"Fraction of {cand}'s voxels within the tolerance of A."),
        ("recall", _fmt_float(r.recall), r.recall, f"Fraction of A's voxels within the tolerance of {cand}."),
        ("F1", _fmt_float(r.f1), r.f1, "Harmonic mean of precision and recall."),
        ("voxels A", str(r.n_reference), r.n_reference, f"Skeleton voxels in '{reference_name}'."),
        (f"voxels {cand}", str(r.n_candidate), r.n_candidate, f"Skeleton voxels in the candidate {cand}."),
        ("voxels in both", str(r.n_both), r.n_both, "Voxels set in both skeletons (exact overlap)."),
        ("matched A", str(r.matched_reference), r.matched_reference, f"Voxels of A within the tolerance of {cand}."),
        (f"matched {cand}", str(r.matched_candidate), r.matched_candidate,
         f"Voxels of {cand} within the tolerance of A."),
        ("Betti numbers A", _betti_text(r.betti_reference), tuple(r.betti_reference),
         "b0 components, b1 loops/holes, b2 cavities (3D)."),
        (f"Betti numbers {cand}", _betti_text(r.betti_candidate), tuple(r.betti_candidate),
         "b0 components, b1 loops/holes, b2 cavities (3D)."),
        ("length A", f"{r.length_reference:.6g} {unit}", r.length_reference, f"Length of A's skeleton, in {unit}."),
        (f"length {cand}", f"{r.length_candidate:.6g} {unit}", r.length_candidate,
         f"Length of {cand}'s skeleton, in {unit}."),
        ("tolerance", f"{r.tolerance:g} {unit}", r.tolerance, "Matching distance."),
    ]


class MetricsTable(QTableWidget):
    """The metrics, a value column per candidate ('value' for B alone, 'B' and 'C' for two)."""

    def __init__(self, parent=None):
        super().__init__(0, 2, parent)
        self.setHorizontalHeaderLabels(["metric", "value"])
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def fill(self, results: Sequence[SkeletonComparison], letters: Sequence[str], names: Sequence[str],
             reference_name: str) -> None:
        several = len(results) > 1
        columns = [table_rows(r, "candidate" if several else "B", reference_name) for r in results]
        self.setColumnCount(1 + len(results))
        self.setHorizontalHeaderLabels(["metric", *(letters if several else ["value"])])
        for i, (letter, name) in enumerate(zip(letters, names)):
            self.horizontalHeaderItem(i + 1).setToolTip(f"{letter}: '{name}'")
        header = self.horizontalHeader()
        for i in range(1, 1 + len(results)):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.Stretch)
        self.setRowCount(len(columns[0]))
        for i, (metric, *_rest) in enumerate(columns[0]):
            key = QTableWidgetItem(metric)
            key.setToolTip(columns[0][i][3])
            self.setItem(i, 0, key)
            for j, rows in enumerate(columns):
                _, shown, raw, tip = rows[i]
                value = QTableWidgetItem(shown)
                value.setData(Qt.ItemDataRole.UserRole, raw)
                value.setToolTip(tip.replace("candidate", f"candidate {letters[j]}") if several else tip)
                self.setItem(i, j + 1, value)
        self._fit()

    def _fit(self) -> None:
        """Every row visible when there is room; scrolling (not overlapping) when there is not."""
        self.resizeColumnToContents(0)
        rows = [self.rowHeight(i) for i in range(self.rowCount())]
        chrome = self.horizontalHeader().sizeHint().height() + 2 * self.frameWidth() + 2
        self.setMaximumHeight(chrome + sum(rows))
        self.setMinimumHeight(chrome + sum(rows[:5]))

    def values(self, column: int = 1) -> dict[str, Any]:
        """{metric: raw value} of a column (1 is B, 2 is C)."""
        return {self.item(i, 0).text(): self.item(i, column).data(Qt.ItemDataRole.UserRole)
                for i in range(self.rowCount())}

    def shown(self, column: int = 1) -> dict[str, str]:
        """{metric: the text shown} of a column."""
        return {self.item(i, 0).text(): self.item(i, column).text() for i in range(self.rowCount())}


class DifferenceLegend(QGroupBox):
    """Swatch, meaning and voxel count of each colour of the difference layers."""

    def __init__(self, parent=None):
        super().__init__("difference layer", parent)
        grid = QGridLayout(self)
        grid.setColumnStretch(1, 1)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setVerticalSpacing(2)
        self.texts: dict[str, QLabel] = {}
        self.counts: dict[str, QLabel] = {}
        for row, kind in enumerate(_KINDS):
            swatch = QLabel()
            swatch.setFixedSize(14, 14)
            swatch.setStyleSheet(f"background-color: {DIFFERENCE_COLOURS[kind]}; border: 1px solid #808080;")
            text, count = QLabel(), QLabel("–")
            text.setWordWrap(True)
            count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(swatch, row, 0)
            grid.addWidget(text, row, 1)
            grid.addWidget(count, row, 2)
            self.texts[kind], self.counts[kind] = text, count
        self.note = QLabel()
        self.note.setWordWrap(True)
        grid.addWidget(self.note, len(_KINDS), 0, 1, 3)

    def fill(self, results: Sequence[SkeletonComparison], letters: Sequence[str], layer_names: Sequence[str]) -> None:
        b = "/".join(letters)
        for kind in _KINDS:
            self.texts[kind].setText(DIFFERENCE_LABELS[kind].format(a="A", b=b))
        counts = [difference_counts(r) for r in results]
        for kind in _KINDS:
            ns = [c[kind] for c in counts]
            self.counts[kind].setText(" / ".join(str(n) for n in ns) + " voxels")
            self.counts[kind].setToolTip(", ".join(f"{letter}: {n}" for letter, n in zip(letters, ns)))
        r = results[0]
        self.setTitle("difference layer" + ("s" if len(results) > 1 else "")
                      + (f" (counts {' / '.join(letters)})" if len(results) > 1 else ""))
        self.note.setText(f"Matched within {r.tolerance:g} {r.unit}, as precision and recall count: "
                          + ", ".join(f"'{name}'" for name in layer_names) + ".")


__all__ = ["DifferenceLegend", "MetricsTable", "difference_counts", "table_rows"]
