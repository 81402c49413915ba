"""The per-slice plot of a comparison: agreement and voxel counts along axis 0.

A matplotlib figure in a Qt canvas (docked at the bottom of the window by
the compare widget).  Each candidate's curve has the colour of its skeleton
layer (:func:`napari_soft_skeleton.palette.candidate_colour`), A's the
reference colour.  Slices with only a voxel or two (``per_slice['sparse']``)
would swing the agreement between 0 and 1: they are drawn as hollow markers
off the line instead of pulling it down.  A vertical line follows the
viewer's slice; a click calls ``on_click(index)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..figures import agreement_curve
from ..metrics import SPARSE_SLICE_VOXELS, SkeletonComparison
from ..palette import REFERENCE_COLOUR


def theme_colours(viewer) -> dict[str, str]:
    """Face, axes, text and grid colours of the viewer's theme (matplotlib's defaults if unknown)."""
    try:
        from napari.utils.theme import get_theme

        theme = get_theme(viewer.theme)
        return {"face": theme.background.as_hex(), "axes": theme.foreground.as_hex(),
                "text": theme.text.as_hex(), "grid": theme.highlight.as_hex()}
    except Exception:  # an unknown theme: matplotlib's defaults are fine
        return {"face": "white", "axes": "white", "text": "black", "grid": "#b0b0b0"}


class PerSlicePlot:
    """The figure, its canvas and the current-slice line.

    :meth:`draw` shows results; :meth:`set_marker` moves the line;
    ``on_click(index)`` is called with the slice a left click points at.
    """

    def __init__(self, on_click: Callable[[int], None]):
        self.figure = Figure(figsize=(8, 2.2), layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumHeight(180)
        self.canvas.mpl_connect("button_press_event", self._clicked)
        self.axes: tuple = ()
        self.markers: list = []
        self._on_click = on_click

    def draw(self, results: Sequence[SkeletonComparison], *, letters: Sequence[str], names: Sequence[str],
             reference: str, colours: Sequence[str], theme: dict[str, str], current: int) -> None:
        """Agreement (top) and skeleton voxels (bottom) per slice of each candidate against A."""
        several = len(results) > 1
        fig = self.figure
        fig.clear()
        fig.set_facecolor(theme["face"])
        top, bottom = fig.subplots(2, 1, sharex=True)
        n = len(results[0].per_slice["agreement"])
        x = np.arange(n)
        any_sparse = False
        for letter, colour, r in zip(letters, colours, results):
            any_sparse |= agreement_curve(top, r, colour, f"{letter} (F1 {r.f1:.3f})" if several
                                          else f"{letter} per slice", marker="o", markersize=2.5, lw=1.2)
            if not several:
                top.axhline(r.f1, color=colour, lw=1, ls="--", label=f"overall F1 {r.f1:.3f}")
        if any_sparse:
            top.plot([], [], ls="none", marker="o", markerfacecolor="none", markeredgecolor=theme["text"],
                     label=f"< {SPARSE_SLICE_VOXELS} voxels")
        top.set_ylim(-0.03, 1.05)
        top.set_ylabel("agreement\n(F1)")
        unit = "row" if len(results[0].shape) == 2 else "slice"
        who = " and ".join(f"{letter} '{name}'" for letter, name in zip(letters, names))
        top.set_title(f"{who} vs A '{reference}', per {unit} (click to go there)", fontsize=9)
        bottom.plot(x, results[0].per_slice["n_reference"], color=REFERENCE_COLOUR, lw=1.2, label="A",
                    drawstyle="steps-mid")
        for letter, colour, r in zip(letters, colours, results):
            bottom.plot(x, r.per_slice["n_candidate"], color=colour, lw=1.2, label=letter, drawstyle="steps-mid")
        bottom.set_ylabel("voxels")
        bottom.set_xlabel("row (axis 0)" if len(results[0].shape) == 2 else "z slice (axis 0)")
        bottom.set_xlim(-0.5, max(n - 0.5, 0.5))
        bottom.set_ylim(bottom=0)
        for ax in (top, bottom):
            _style(ax, theme)
        self.axes = (top, bottom)
        self.markers = [ax.axvline(current, color=theme["text"], lw=1.0, ls=":") for ax in self.axes]
        self.canvas.draw_idle()

    def set_marker(self, index: int) -> None:
        if not self.markers:
            return
        for line in self.markers:
            line.set_xdata([index, index])
        self.canvas.draw_idle()

    def marker_position(self) -> float | None:
        return float(self.markers[0].get_xdata()[0]) if self.markers else None

    def legend_texts(self, row: int = 0) -> list[str]:
        legend = self.axes[row].get_legend()
        return [t.get_text() for t in legend.get_texts()] if legend is not None else []

    def line_colours(self, row: int = 0) -> dict[str, str]:
        """{legend label: colour} of the curves of the top (0) or bottom (1) axes."""
        from matplotlib.colors import to_hex

        lines = [ln for ln in self.axes[row].get_lines() if isinstance(ln, Line2D) and not ln.get_label().startswith("_")]
        return {ln.get_label(): to_hex(ln.get_color()) for ln in lines}

    def _clicked(self, event) -> None:
        if not self.axes or event.inaxes not in self.axes or event.xdata is None:
            return
        if event.button not in (None, 1):  # left button only
            return
        self._on_click(round(event.xdata))


def _style(ax, theme: dict[str, str]) -> None:
    ax.set_facecolor(theme["axes"])
    ax.tick_params(colors=theme["text"], labelsize=8)
    for label in (ax.xaxis.label, ax.yaxis.label):
        label.set_color(theme["text"])
        label.set_fontsize(8)
    ax.title.set_color(theme["text"])
    ax.grid(True, color=theme["grid"], lw=0.4, alpha=0.6)
    for spine in ax.spines.values():
        spine.set_color(theme["grid"])
    legend = ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7, frameon=False, borderaxespad=0.0)
    for text in legend.get_texts():
        text.set_color(theme["text"])
