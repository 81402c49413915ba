"""The shared palette and the comparison figures (what the CLI writes and the widgets draw)."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from napari_soft_skeleton import compare, palette
from napari_soft_skeleton.figures import (
    difference_rgb,
    draw_per_slice,
    render_comparison_figure,
    render_side_by_side_figure,
)


def _line(shape=(6, 20, 20), row=10):
    skel = np.zeros(shape, bool)
    skel[:, row, 2:18] = True
    return skel


def _colours_in(rgb):
    return {tuple(np.round(c, 3)) for c in rgb.reshape(-1, 3)}


def _rgb(name):
    return tuple(np.round(palette.rgb(palette.DIFFERENCE_COLOURS[name]), 3))


def test_palette_colours_are_distinct_and_method_colours_differ_from_differences():
    methods = list(palette.METHOD_COLOURS.values())
    differences = list(palette.DIFFERENCE_COLOURS.values())
    assert len(set(methods)) == len(methods) and len(set(differences)) == len(differences)
    assert set(palette.OKABE_ITO.values()) >= set(methods) | set(differences)
    # the two look-alikes of the issue: soft and topological are far apart now
    soft, topo = (np.array(palette.rgb(palette.METHOD_COLOURS[m])) for m in ("soft", "topological"))
    assert np.abs(soft - topo).sum() > 0.5


def test_guess_method_from_names():
    assert palette.guess_method("vessel_256_soft.tif") == "soft"
    assert palette.guess_method("vessel lee skeleton") == "lee"
    assert palette.guess_method("softness.tif") is None
    assert palette.guess_method("lee_vs_soft.tif") is None
    assert palette.candidate_colour(0, "soft") == palette.METHOD_COLOURS["soft"]
    assert palette.candidate_colour(1) == palette.CANDIDATE_COLOURS[1]


def test_difference_panel_colours_what_the_tolerance_counts():
    ref = _line()
    cand = np.roll(ref, 1, axis=1)  # one voxel off everywhere: F1 1.0 at 1.5 voxels
    loose = compare(ref, cand)
    assert loose.f1 == 1.0
    colours = _colours_in(difference_rgb(ref, cand, loose))
    assert _rgb("matched") in colours
    assert _rgb("reference only") not in colours and _rgb("candidate only") not in colours
    strict = compare(ref, cand, tolerance=0.5)
    colours = _colours_in(difference_rgb(ref, cand, strict))
    assert _rgb("reference only") in colours and _rgb("candidate only") in colours


def test_sparse_slices_are_marked_not_joined():
    ref = _line()
    cand = ref.copy()
    ref[2] = False
    ref[2, 3, 3] = True  # a slice with a voxel in each skeleton, both unmatched
    cand[2] = False
    cand[2, 16, 16] = True
    result = compare(ref, cand)
    assert result.per_slice["sparse"][2] and result.per_slice["agreement"][2] < 1
    fig = Figure()
    ax1, ax2 = fig.subplots(2)
    draw_per_slice(ax1, ax2, [result], ["B"], [palette.METHOD_COLOURS["soft"]])
    line = ax2.get_lines()[0]
    y = np.asarray(line.get_ydata(), float)
    assert np.isnan(y[2]) and np.isfinite(y[[0, 1, 3]]).all()
    hollow = [ln for ln in ax2.get_lines() if ln.get_linestyle() == "None" and len(ln.get_xdata())]
    assert hollow and 2 in list(hollow[0].get_xdata())
    assert line.get_color().lower() == palette.METHOD_COLOURS["soft"].lower()


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_figures_render(fmt):
    ref = _line()
    cands = [np.roll(ref, 1, axis=1), np.roll(ref, 3, axis=2)]
    results = [compare(ref, c, spacing=(2.0, 0.5, 0.5), unit="µm") for c in cands]
    one = render_comparison_figure(ref, cands[0], results[0], names=("lee.tif", "soft.tif"), fmt=fmt)
    many = render_side_by_side_figure(ref, cands, results, names=["lee", "soft", "topological"], fmt=fmt)
    assert len(one) > 1000 and len(many) > 1000
    if fmt == "svg":
        text = many.decode()
        assert "µm" in text and "tolerance 3.00" in text
