"""Voxel spacing and units on the command line: --spacing/--unit, notes, and the unit in every output."""

import json

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_soft_skeleton.cli import main
from napari_soft_skeleton.io import read_volume, write_volume

SPACING = (2.0, 0.5, 0.5)


def _tube(n=20) -> np.ndarray:
    """A radius-3 tube along x, uint8 0/1."""
    z, y, x = np.mgrid[:n, :n, :n]
    c = n // 2
    return (((z - c) ** 2 + (y - c) ** 2 <= 9) & (x >= 3) & (x <= n - 4)).astype(np.uint8)


def _tee() -> np.ndarray:
    """A thin T: a bar along x, a stem along y (one z slice)."""
    s = np.zeros((12, 24, 30), bool)
    s[6, 6, 3:27] = True
    s[6, 6:20, 15] = True
    return s


def _imagej(path, array, spacing=SPACING, unit="um"):
    """An ImageJ TIFF with a z step and x/y resolution, written by tifffile itself."""
    sz, sy, sx = spacing
    tifffile.imwrite(path, array, imagej=True, resolution=(1 / sx, 1 / sy),
                     metadata={"spacing": sz, "unit": unit, "axes": "ZYX"})
    return path


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code, err, *needles):
    assert code in (1, 2), err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("soft-skeleton: error: "), err
    for needle in needles:
        assert needle in lines[0], err
    return lines[0]


def _notes(err):
    return [line for line in err.splitlines() if line.startswith("soft-skeleton: note: ")]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("units")
    paths = {
        "tube_ij": _imagej(d / "tube_ij.tif", _tube()),
        "tube_npy": d / "tube.npy",
        "tube_plain": d / "tube_plain.tif",
        "tee_ij": _imagej(d / "tee_ij.tif", _tee().astype(np.uint8)),
        "tee_nm": _imagej(d / "tee_nm.tif", _tee().astype(np.uint8), spacing=tuple(1000 * s for s in SPACING),
                          unit="nm"),
        "tee_npy": d / "tee.npy",
        "tee_npy2": d / "tee2.npy",
        "tee_mask": d / "tee_mask.tif",
    }
    np.save(paths["tube_npy"], _tube())
    write_volume(paths["tube_plain"], _tube(), spacing=SPACING)  # a spacing without a unit
    np.save(paths["tee_npy"], _tee())
    np.save(paths["tee_npy2"], _tee())
    from scipy import ndimage as ndi

    mask = ndi.binary_dilation(_tee(), iterations=2)  # a thick T, for graph radii
    write_volume(paths["tee_mask"], mask.astype(np.uint8))
    return paths


# ---------------------------------------------------------------------------
# skeletonize: the output keeps the calibration
# ---------------------------------------------------------------------------


def test_imagej_in_imagej_out_with_its_unit(files, tmp_path, capsys):
    src = read_volume(files["tube_ij"])
    assert src.spacing == pytest.approx(SPACING) and src.unit == "µm"
    out = tmp_path / "skel.tif"
    code, stdout, err = _run(["skeletonize", files["tube_ij"], "-o", out, "--method", "lee", "-q"], capsys)
    assert code == 0, err
    skel = read_volume(out)
    assert skel.spacing == pytest.approx(SPACING) and skel.unit == "µm"
    assert skel.format == src.format
    assert "spacing 2, 0.5, 0.5 µm (z, y, x)" in stdout
    assert not _notes(err)  # calibrated: nothing to say


def test_ome_tiff_in_ome_tiff_out(files, tmp_path, capsys):
    src = tmp_path / "tube.ome.tif"
    write_volume(src, _tube(), spacing=SPACING, unit="µm")
    assert read_volume(src).format == "ome-tiff"
    out = tmp_path / "skel.tif"  # a plain .tif name: the input's format decides
    code, _, err = _run(["skeletonize", src, "-o", out, "--method", "lee", "-q"], capsys)
    assert code == 0, err
    skel = read_volume(out)
    assert skel.format == "ome-tiff"
    assert skel.spacing == pytest.approx(SPACING) and skel.unit == "µm"


@pytest.mark.parametrize("suffix", [".tif", ".npy"])
def test_npy_with_spacing_and_unit(files, tmp_path, capsys, suffix):
    out = tmp_path / f"skel{suffix}"
    code, stdout, err = _run(["skeletonize", files["tube_npy"], "-o", out, "--method", "lee", "-q",
                              "--spacing", *SPACING, "--unit", "um"], capsys)
    assert code == 0, err
    assert not _notes(err)  # --spacing: the file's lack of calibration does not matter
    skel = read_volume(out)
    assert skel.spacing == pytest.approx(SPACING) and skel.unit == "µm"
    assert "µm" in stdout


def test_unit_alone_names_the_unit_of_a_unitless_spacing(files, tmp_path, capsys):
    assert read_volume(files["tube_plain"]).unit is None
    out = tmp_path / "skel.tif"
    code, _, err = _run(["skeletonize", files["tube_plain"], "-o", out, "--method", "lee", "-q",
                         "--unit", "micrometer"], capsys)
    assert code == 0, err
    skel = read_volume(out)
    assert skel.spacing == pytest.approx(SPACING) and skel.unit == "µm"


def test_spacing_without_unit_keeps_the_files_unit(files, tmp_path, capsys):
    out = tmp_path / "skel.tif"
    code, _, err = _run(["skeletonize", files["tube_ij"], "-o", out, "--method", "lee", "-q",
                         "--spacing", "1", "1", "1"], capsys)
    assert code == 0, err
    skel = read_volume(out)
    assert skel.spacing == pytest.approx((1, 1, 1)) and skel.unit == "µm"


# ---------------------------------------------------------------------------
# bad --spacing / --unit: one line, exit 2, nothing written
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("argv, needles", [
    (["--spacing", "0", "1", "1"], ["--spacing", "expected a number > 0"]),
    (["--spacing", "-1", "1", "1"], ["--spacing"]),
    (["--spacing", "nan", "1", "1"], ["--spacing", "finite"]),
    (["--spacing", "1", "1"], ["--spacing takes one value per axis", "Z Y X", "got 2"]),
    (["--spacing", "1", "1", "1", "--unit", "furlong"], ["--unit", "unknown unit 'furlong'", "µm"]),
    (["--unit", "um"], ["--unit needs --spacing", "no voxel spacing"]),
])
def test_bad_spacing_or_unit(files, tmp_path, capsys, argv, needles):
    out = tmp_path / "o.tif"
    code, stdout, err = _run(["skeletonize", files["tube_npy"], "-o", out, "--method", "lee", *argv], capsys)
    _one_line_error(code, err, *needles)
    assert code == 2 and stdout == "" and not out.exists()


def test_unit_that_contradicts_the_file_needs_spacing(files, tmp_path, capsys):
    out = tmp_path / "o.tif"
    code, _, err = _run(["skeletonize", files["tube_ij"], "-o", out, "--unit", "nm"], capsys)
    _one_line_error(code, err, "--unit needs --spacing", "µm")
    assert not out.exists()
    for command in (["graph", files["tee_npy"], "--json"], ["compare", files["tee_npy"], files["tee_npy2"]]):
        code, stdout, err = _run([*command, "--spacing", "1", "0", "1"], capsys)
        _one_line_error(code, err, "--spacing")
        assert stdout == ""


# ---------------------------------------------------------------------------
# the no-calibration note: once per file
# ---------------------------------------------------------------------------


def test_no_calibration_note_once_per_file(files, tmp_path, capsys):
    code, _, err = _run(["skeletonize", files["tube_npy"], "-o", tmp_path / "a.npy", "--method", "lee", "-q"],
                        capsys)
    assert code == 0, err
    notes = _notes(err)
    assert len(notes) == 1 and "has no calibration" in notes[0] and "--spacing Z Y X" in notes[0]
    # the same file as A and B (and C): said once
    code, _, err = _run(["compare", files["tee_npy"], files["tee_npy"], files["tee_npy"]], capsys)
    assert code == 0, err
    assert len(_notes(err)) == 1 and err.count("has no calibration") == 1
    # two uncalibrated files: once each
    code, _, err = _run(["compare", files["tee_npy"], files["tee_npy2"]], capsys)
    assert code == 0, err
    notes = _notes(err)
    assert len(notes) == 2 and sum(str(files["tee_npy"]) in n for n in notes) == 1
    # an error: only the error line
    code, _, err = _run(["compare", files["tee_npy"], files["tube_npy"]], capsys)
    _one_line_error(code, err, "shape mismatch")


def test_uncalibrated_candidate_uses_the_reference_spacing(files, capsys):
    code, out, err = _run(["compare", files["tee_ij"], files["tee_npy"]], capsys)
    assert code == 0, err
    notes = _notes(err)
    assert len(notes) == 1 and "B '" in notes[0] and "using A's spacing, 2, 0.5, 0.5 µm" in notes[0]
    assert "tolerance: 3.000 µm" in out
    # the same file as B and C: said once
    code, out, err = _run(["compare", files["tee_ij"], files["tee_npy"], files["tee_npy"]], capsys)
    assert code == 0, err
    assert len(_notes(err)) == 1 and err.count("has no calibration") == 1


# ---------------------------------------------------------------------------
# compare: the unit in the table, the JSON and the figure
# ---------------------------------------------------------------------------


def test_compare_table_and_json_carry_the_unit(files, tmp_path, capsys):
    js, fig = tmp_path / "c.json", tmp_path / "c.svg"
    code, out, err = _run(["compare", files["tee_ij"], files["tee_ij"], "--json", js, "--figure", fig], capsys)
    assert code == 0, err
    assert "spacing: 2, 0.5, 0.5 µm (z, y, x)" in out
    assert "tolerance: 3.000 µm (default: 1.5 × the largest voxel spacing)" in out
    assert "length (µm)" in out
    data = json.loads(js.read_text())
    assert data["unit"] == "µm" and data["spacing"] == list(SPACING) and data["tolerance"] == 3.0
    assert data["length_reference"] == pytest.approx(23 * 0.5 + 13 * 0.5)  # the bar, then the stem
    text = fig.read_text()
    assert "z (µm)" in text and "x (µm)" in text and "tolerance 3.00 µm" in text
    # several candidates: unit and spacing at the top of the JSON too
    code, out, err = _run(["compare", files["tee_ij"], files["tee_ij"], files["tee_ij"], "--json", js], capsys)
    assert code == 0, err
    data = json.loads(js.read_text())
    assert data["unit"] == "µm" and data["spacing"] == list(SPACING) and data["tolerance"] == 3.0
    assert [c["unit"] for c in data["candidates"]] == ["µm", "µm"]


def test_compare_in_voxels_and_in_spacing_units(files, capsys, tmp_path):
    js = tmp_path / "v.json"
    code, out, err = _run(["compare", files["tee_npy"], files["tee_npy2"], "--json", js], capsys)
    assert code == 0, err
    assert "spacing: none (lengths in voxels)" in out and "tolerance: 1.500 voxels" in out
    data = json.loads(js.read_text())
    assert data["unit"] == "voxels" and data["spacing"] is None
    code, out, err = _run(["compare", files["tee_npy"], files["tee_npy2"], "--spacing", "1", "2", "2"], capsys)
    assert code == 0, err
    assert "tolerance: 3.000 spacing units" in out and "spacing: 1, 2, 2 (z, y, x)" in out


def test_compare_converts_another_unit(files, capsys, tmp_path):
    js = tmp_path / "nm.json"
    code, out, err = _run(["compare", files["tee_ij"], files["tee_nm"], "--json", js], capsys)
    assert code == 0, err
    notes = _notes(err)
    assert len(notes) == 1 and "has its spacing in nm: converted to A's unit" in notes[0]
    assert "different voxel spacings" not in err  # the same spacing once converted
    data = json.loads(js.read_text())
    assert data["unit"] == "µm" and data["spacing"] == list(SPACING) and data["f1"] == 1.0
    # the other way round: A in nm, so everything in nm
    code, out, err = _run(["compare", files["tee_nm"], files["tee_ij"]], capsys)
    assert code == 0, err
    assert "tolerance: 3000.000 nm" in out and "converted to A's unit" in err


def test_figure_positions_in_the_unit():
    from napari_soft_skeleton import compare
    from napari_soft_skeleton.figures import render_comparison_figure

    tee = _tee()
    voxels = render_comparison_figure(tee, tee, compare(tee, tee), fmt="svg").decode()
    assert "slice index (axis 0)" in voxels and "x (voxels)" in voxels and "z (" not in voxels
    result = compare(tee, tee, spacing=SPACING, unit="nm")
    physical = render_comparison_figure(tee, tee, result, spacing=SPACING, fmt="svg").decode()
    assert "z (nm)" in physical and "y (nm)" in physical and "slice index (axis 0)" in physical


# ---------------------------------------------------------------------------
# graph: lengths in the unit (table, JSON, CSV)
# ---------------------------------------------------------------------------


def test_graph_lengths_in_the_unit(files, tmp_path, capsys):
    csv, summary = tmp_path / "b.csv", tmp_path / "s.csv"
    code, out, err = _run(["graph", files["tee_ij"], "--csv", csv, "--summary-csv", summary], capsys)
    assert code == 0, err
    assert "cable length (µm)" in out and "spacing: 2, 0.5, 0.5 µm (z, y, x)" in out
    branches = pd.read_csv(csv)
    assert set(branches["unit"]) == {"µm"}
    assert set(pd.read_csv(summary)["unit"]) == {"µm"}
    code, out, err = _run(["graph", files["tee_ij"], "--json"], capsys)
    info = json.loads(out)
    assert info["unit"] == "µm" and info["spacing"] == list(SPACING)
    assert info["summary"]["cable_length"] == pytest.approx(branches["length"].sum(), abs=1.0)
    # a mask with --spacing and --unit: radii in nm
    code, out, err = _run(["graph", files["tee_mask"], "--spacing", "40", "16", "16", "--unit", "nm", "--json",
                           "-q"], capsys)
    assert code == 0, err
    info = json.loads(out)
    assert info["unit"] == "nm" and info["summary"]["mean_radius"] > 0
    assert not _notes(err)
    # no spacing: voxels, and the note
    code, out, err = _run(["graph", files["tee_npy"], "--csv", csv], capsys)
    assert code == 0, err
    assert "cable length (voxels)" in out and len(_notes(err)) == 1
    assert set(pd.read_csv(csv)["unit"]) == {"voxels"}
