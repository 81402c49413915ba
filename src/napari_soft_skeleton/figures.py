"""Comparison figures, shared by the command line and the napari widgets.

:func:`render_comparison_figure` (one candidate) and
:func:`render_side_by_side_figure` (several) draw, with matplotlib's Agg
canvas (no pyplot, no display):

* the reference A in its colour, then each candidate coloured by how it
  compares with A **at the tolerance the numbers use** — matched (in both,
  or within the tolerance), only in A (missed) or only in the candidate
  (extra) — as maximum projections along axis 0 for volumes;
* the skeleton voxels per slice (per row in 2D);
* the per-slice agreement (F1) of each candidate with A.  Slices with only a
  voxel or two (``per_slice["sparse"]``), where one unmatched voxel means an
  F1 of 0, are drawn as hollow markers and not joined by the line.

Positions are labelled with their unit: with a voxel spacing the projections
are drawn in physical coordinates (``x (µm)``, ``y (µm)``; ``spacing units``
for a spacing without a unit, ``voxels`` without one) and the per-slice
panels get a second x axis on top, the position along axis 0 (``z (µm)``),
above the slice index that links to napari's slider.

:func:`draw_per_slice` draws the two curve panels on given axes, so that the
widget's docked plot reads the same as the saved figures.  Every colour comes
from :mod:`napari_soft_skeleton.palette`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import palette
from .metrics import DIFFERENCE_CANDIDATE_ONLY, DIFFERENCE_REFERENCE_ONLY, difference_labels

__all__ = ["render_comparison_figure", "render_side_by_side_figure", "draw_per_slice", "agreement_curve",
           "difference_rgb"]

_MISSED = palette.rgb(palette.DIFFERENCE_COLOURS["reference only"])
_EXTRA = palette.rgb(palette.DIFFERENCE_COLOURS["candidate only"])
_MATCHED = palette.rgb(palette.DIFFERENCE_COLOURS["matched"])
_BACKGROUND = (0.08, 0.08, 0.08)


def _fmt(value: Any, digits: int = 3) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    return "n/a" if not math.isfinite(value) else f"{value:.{digits}f}"


def _betti(betti: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(v)) for v in betti) + ")"


def _shorten(name: str, limit: int = 40) -> str:
    return name if len(name) <= limit else name[: limit // 2 - 1] + "…" + name[-(limit // 2) :]


def _projection(skel: np.ndarray) -> np.ndarray:
    return skel.any(axis=0) if skel.ndim == 3 else skel


def _tolerance_text(result: Any) -> str:
    return f"tolerance {_fmt(result.tolerance, 2)} {getattr(result, 'unit', 'voxels')}"


def _length_unit(result: Any, spacing: Sequence[float] | None = None) -> str | None:
    """The unit positions are shown in: ``result.unit`` when it has a spacing (``"spacing units"`` without a
    named unit), ``"spacing units"`` for a ``spacing`` given only to the figure, None for voxels."""
    if getattr(result, "spacing", None) is not None:
        return getattr(result, "unit", None) or "spacing units"
    return "spacing units" if spacing is not None else None


def _solid(projection: np.ndarray, colour: str) -> np.ndarray:
    rgb = np.empty(projection.shape + (3,))
    rgb[...] = _BACKGROUND
    rgb[projection] = palette.rgb(colour)
    return rgb


def difference_rgb(reference: np.ndarray, candidate: np.ndarray, result: Any) -> np.ndarray:
    """RGB image of the candidate's agreement with A at ``result``'s tolerance (projected along axis 0).

    A pixel is vermillion if any voxel along its column is in A and unmatched
    (missed), else bluish green if one is in the candidate and unmatched
    (extra), else yellow if the skeletons have a voxel there (matched).
    """
    codes = difference_labels(reference, candidate, tolerance=result.tolerance, spacing=result.spacing)
    missed = _projection(codes == DIFFERENCE_REFERENCE_ONLY)
    extra = _projection(codes == DIFFERENCE_CANDIDATE_ONLY)
    present = _projection(codes != 0)
    rgb = np.empty(present.shape + (3,))
    rgb[...] = _BACKGROUND
    rgb[present] = _MATCHED
    rgb[extra] = _EXTRA
    rgb[missed] = _MISSED
    return rgb


def _difference_legend(ax, letter: str) -> None:
    from matplotlib.patches import Patch

    labels = palette.DIFFERENCE_LABELS
    ax.legend(
        handles=[
            Patch(facecolor=_MATCHED, edgecolor="0.3", label=labels["matched"].replace(", or ", ",\nor ")),
            Patch(facecolor=_MISSED, edgecolor="0.3", label=labels["reference only"].format(a="A", b=letter)),
            Patch(facecolor=_EXTRA, edgecolor="0.3", label=labels["candidate only"].format(a="A", b=letter)),
        ],
        loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=9, frameon=False, handlelength=1.2,
    )


def agreement_curve(ax, result: Any, colour: str, label: str, **line) -> bool:
    """One candidate's per-slice agreement on ``ax``; True if it has sparse slices.

    Sparse slices (``per_slice["sparse"]``: a voxel or two) are left out of the
    line and drawn as hollow markers, so one unmatched voxel does not pull the
    line down to 0.  ``line``: keyword arguments of the line (marker, widths).
    """
    agreement = np.asarray(result.per_slice["agreement"], dtype=float)
    sparse = np.asarray(result.per_slice.get("sparse", np.zeros(agreement.shape, bool)), dtype=bool)
    x = np.arange(agreement.size)
    ax.plot(x, np.where(sparse, np.nan, agreement), color=colour, label=label, **line)
    if sparse.any():
        ax.plot(x[sparse], agreement[sparse], ls="none", marker="o", ms=4, mfc="none", mec=colour, alpha=0.8)
    return bool(sparse.any())


def draw_per_slice(ax_counts, ax_agreement, results: Sequence[Any], letters: Sequence[str],
                   colours: Sequence[str], *, is3d: bool = True, legend: bool = True) -> None:
    """Voxels per slice (A and each candidate) and per-slice agreement, on two given axes.

    ``results`` are :class:`~napari_soft_skeleton.metrics.SkeletonComparison`
    objects of the candidates against the same A, ``letters`` and ``colours``
    theirs.  Sparse slices are hollow markers, not joined to their
    neighbours, so a slice with one unmatched voxel does not pull the line
    down to 0.
    """
    first = results[0]
    n = len(first.per_slice["n_reference"])
    x = np.arange(n)
    unit = "slice" if is3d else "row"
    marker = "o" if n <= 40 else None
    ax_counts.plot(x, first.per_slice["n_reference"], color=palette.REFERENCE_COLOUR, marker=marker, ms=3,
                   lw=1.6, label="A")
    for letter, colour, r in zip(letters, colours, results):
        ax_counts.plot(x, r.per_slice["n_candidate"], color=colour, marker=marker, ms=3, lw=1.2, ls="--",
                       label=letter)
    ax_counts.set_ylabel(f"voxels per {unit}", fontsize=9)
    ax_counts.set_ylim(bottom=0)
    from matplotlib.ticker import MaxNLocator

    ax_counts.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax_counts.grid(True, alpha=0.3)
    ax_counts.tick_params(labelsize=8, labelbottom=False)

    any_sparse = False
    for letter, colour, r in zip(letters, colours, results):
        any_sparse |= agreement_curve(ax_agreement, r, colour, f"{letter} (F1 {_fmt(r.f1)})",
                                      marker=marker, ms=3, lw=1.3)
    if len(results) == 1 and math.isfinite(float(first.f1)):
        ax_agreement.axhline(float(first.f1), color="0.4", ls=":", lw=1.0)
    if any_sparse:
        ax_agreement.plot([], [], ls="none", marker="o", ms=4, mfc="none", mec="0.4",
                          label=f"{unit}s with < 5 voxels")
    ax_agreement.set_ylim(-0.03, 1.05)
    ax_agreement.set_ylabel(f"agreement with A\n(F1 per {unit})", fontsize=9)
    ax_agreement.set_xlabel(f"{unit} index (axis 0)", fontsize=9)
    ax_agreement.set_xlim(-0.5, n - 0.5)
    _position_axis(ax_counts, first, is3d)
    ax_agreement.grid(True, alpha=0.3)
    ax_agreement.tick_params(labelsize=8)
    if legend:
        for ax in (ax_counts, ax_agreement):
            ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=9, frameon=False)


def _position_axis(ax, result: Any, is3d: bool) -> None:
    """A second x axis on top of ``ax``: the position along axis 0 in ``result``'s unit (with a spacing)."""
    spacing = getattr(result, "spacing", None)
    if spacing is None:
        return
    step = float(spacing[0])
    top = ax.secondary_xaxis("top", functions=(lambda i: np.asarray(i) * step, lambda z: np.asarray(z) / step))
    top.set_xlabel(f"{'z' if is3d else 'y'} ({_length_unit(result)})", fontsize=9)
    top.tick_params(labelsize=8)


def _figure(panels: int, rows: int, cols: int, aspect: float, dpi: int, extra_width: float = 0.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panel_w = 4.0 if panels <= 3 else 3.6
    img_h = float(np.clip(panel_w * rows * aspect / cols, 1.6, 6.0))
    curve_h = 2.3
    fig = Figure(figsize=(panels * panel_w + extra_width, img_h + 1.9 + 2 * curve_h), dpi=dpi,
                 layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(3, panels, height_ratios=[img_h + 0.9, curve_h, curve_h])
    return fig, grid


def _encode(fig, fmt: str, dpi: int) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    return buf.getvalue()


def _prepare(a, candidates, mask, spacing):
    roi = None if mask is None else mask != 0
    sa = a != 0 if roi is None else (a != 0) & roi
    sbs = [b != 0 if roi is None else (b != 0) & roi for b in candidates]
    aspect = float(spacing[-2]) / float(spacing[-1]) if spacing is not None and len(spacing) == sa.ndim else 1.0
    return sa, sbs, aspect


def _image_kw(shape, spacing, aspect: float) -> dict:
    """imshow's arguments: physical coordinates (an extent, equal aspect) with a spacing, else voxel indices."""
    kw: dict[str, Any] = dict(interpolation="nearest", origin="upper")
    if spacing is None or len(spacing) < 2:
        return {**kw, "aspect": aspect}
    sy, sx = float(spacing[-2]), float(spacing[-1])
    ny, nx = shape[-2], shape[-1]
    return {**kw, "aspect": "equal", "extent": (-0.5 * sx, (nx - 0.5) * sx, (ny - 0.5) * sy, -0.5 * sy)}


def _image_axes(fig, grid, sa, sbs, results, letters, colours, aspect, with_plain_b: bool, spacing=None):
    """The top row: A, (B itself,) and each candidate's difference with A."""
    is3d = sa.ndim == 3
    suffix = "\nmaximum projection along z" if is3d else ""
    word = "voxels" if is3d else "pixels"
    if spacing is not None and len(spacing) != sa.ndim:
        spacing = None
    if spacing is None and results[0].spacing is not None and len(results[0].spacing) == sa.ndim:
        spacing = results[0].spacing
    kw = _image_kw(sa.shape, spacing, aspect)
    where = _length_unit(results[0], spacing) if spacing is not None else None
    first = results[0]
    ax_a = fig.add_subplot(grid[0, 0])
    ax_a.imshow(_solid(_projection(sa), palette.REFERENCE_COLOUR), **kw)
    ax_a.set_title(f"A ({first.n_reference} {word})\nBetti {_betti(first.betti_reference)}{suffix}",
                   fontsize=9, color="black")
    axes = [ax_a]
    column = 1
    if with_plain_b:
        ax_b = fig.add_subplot(grid[0, 1], sharex=ax_a, sharey=ax_a)
        ax_b.imshow(_solid(_projection(sbs[0]), colours[0]), **kw)
        ax_b.set_title(f"B ({first.n_candidate} {word})\nBetti {_betti(first.betti_candidate)}{suffix}",
                       fontsize=9)
        axes.append(ax_b)
        column = 2
    for i, (letter, sb, r) in enumerate(zip(letters, sbs, results)):
        ax = fig.add_subplot(grid[0, column + i], sharex=ax_a, sharey=ax_a)
        ax.imshow(difference_rgb(sa, sb, r), **kw)
        head = f"{letter} vs A" if not with_plain_b else "difference"
        ax.set_title(f"{head}: P {_fmt(r.precision)}  R {_fmt(r.recall)}  F1 {_fmt(r.f1)}\n"
                     f"{letter}: {r.n_candidate} {word}, Betti {_betti(r.betti_candidate)}{suffix}",
                     fontsize=9, color=colours[i] if not with_plain_b else "black")
        axes.append(ax)
    for ax in axes:
        ax.set_xlabel(f"x ({where or word})", fontsize=9)
        ax.tick_params(labelsize=8)
    ax_a.set_ylabel(f"y ({where or word})", fontsize=9)
    _difference_legend(axes[-1], letters[0] if len(letters) == 1 else "the candidate")


def render_comparison_figure(
    a: np.ndarray,
    b: np.ndarray,
    result: Any,
    *,
    mask: np.ndarray | None = None,
    spacing: Sequence[float] | None = None,
    names: tuple[str, str] = ("A", "B"),
    colours: Sequence[str] | None = None,
    fmt: str = "png",
    dpi: int = 120,
) -> bytes:
    """One candidate B against A: A, B, their difference at the tolerance, per-slice curves.

    Returns the encoded file (``fmt``: png, pdf or svg).  ``colours``: B's
    colour (default: the method guessed from its name, else the first
    candidate colour).
    """
    sa, sbs, aspect = _prepare(a, [b], mask, spacing)
    colours = list(colours or [palette.candidate_colour(0, palette.guess_method(names[1]))])
    fig, grid = _figure(3, *_projection(sa).shape, aspect, dpi)
    fig.suptitle(
        f"A: {_shorten(names[0])}   vs   B: {_shorten(names[1])}\n"
        f"precision {_fmt(result.precision)}   recall {_fmt(result.recall)}   F1 {_fmt(result.f1)}"
        f"   ({_tolerance_text(result)})" + ("   (masked)" if mask is not None else ""),
        fontsize=11,
    )
    _image_axes(fig, grid, sa, sbs, [result], ["B"], colours, aspect, with_plain_b=True, spacing=spacing)
    ax_c = fig.add_subplot(grid[1, :])
    ax_g = fig.add_subplot(grid[2, :], sharex=ax_c)
    draw_per_slice(ax_c, ax_g, [result], ["B"], colours, is3d=sa.ndim == 3)
    return _encode(fig, fmt, dpi)


def render_side_by_side_figure(
    a: np.ndarray,
    candidates: Sequence[np.ndarray],
    results: Sequence[Any],
    *,
    mask: np.ndarray | None = None,
    spacing: Sequence[float] | None = None,
    names: Sequence[str] = (),
    colours: Sequence[str] | None = None,
    fmt: str = "png",
    dpi: int = 110,
) -> bytes:
    """Several candidates against one reference A, side by side; returns the encoded file.

    Top row: A, then each candidate coloured by its difference with A at the
    tolerance.  Below, shared by all: voxels per slice and the per-slice
    agreement of each candidate with A, each in the candidate's colour
    (``colours``; default: the method guessed from each name, else the
    candidate colours in order).
    """
    letters = [chr(ord("B") + i) for i in range(len(candidates))]
    names = list(names) or ["A", *letters]
    sa, sbs, aspect = _prepare(a, candidates, mask, spacing)
    colours = list(colours or [palette.candidate_colour(i, palette.guess_method(n))
                               for i, n in enumerate(names[1:])])
    fig, grid = _figure(len(candidates) + 1, *_projection(sa).shape, aspect, dpi, extra_width=1.6)
    fig.suptitle(f"A: {_shorten(names[0])} (reference) vs "
                 + ", ".join(f"{letter}: {_shorten(n, 28)}" for letter, n in zip(letters, names[1:]))
                 + f"\n{_tolerance_text(results[0])}" + ("   (masked)" if mask is not None else ""),
                 fontsize=11)
    _image_axes(fig, grid, sa, sbs, results, letters, colours, aspect, with_plain_b=False, spacing=spacing)
    ax_c = fig.add_subplot(grid[1, :])
    ax_g = fig.add_subplot(grid[2, :], sharex=ax_c)
    draw_per_slice(ax_c, ax_g, results, letters, colours, is3d=sa.ndim == 3)
    return _encode(fig, fmt, dpi)
