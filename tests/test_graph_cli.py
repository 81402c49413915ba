"""``soft-skeleton graph`` and ``soft-skeleton compare`` with an SWC reference."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from napari_soft_skeleton import read_swc
from napari_soft_skeleton.cli import main
from napari_soft_skeleton.io import write_volume

SRC = str(Path(__file__).resolve().parents[1] / "src")
SPACING = (1.0, 0.5, 0.5)


def _mask() -> np.ndarray:
    """A T of radius-2 tubes: a bar along x and a stem along y, in a 16 x 30 x 40 volume."""
    z, y, x = np.mgrid[:16, :30, :40]
    bar = ((z - 8) ** 2 + (y - 8) ** 2 <= 4) & (x >= 4) & (x <= 35)
    stem = ((z - 8) ** 2 + (x - 20) ** 2 <= 4) & (y >= 8) & (y <= 25)
    return bar | stem


def _skeleton() -> np.ndarray:
    """A thin T with a 2-voxel spur on the bar."""
    s = np.zeros((16, 30, 40), bool)
    s[8, 8, 4:36] = True
    s[8, 8:26, 20] = True
    s[8, 6:8, 10] = True
    return s


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("graph_inputs")
    paths = {"mask": d / "mask.tif", "skel": d / "skel.tif", "labels": d / "labels.npy", "prob": d / "prob.npy"}
    write_volume(paths["mask"], _mask().astype(np.uint8), spacing=SPACING)
    write_volume(paths["skel"], _skeleton(), spacing=SPACING)
    labels = _mask().astype(np.uint16)
    labels[:, :, 21:] *= 3
    write_volume(paths["labels"], labels)
    write_volume(paths["prob"], _mask().astype(np.float32) * 0.7)
    return paths


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code, err):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("soft-skeleton: error: "), err
    return lines[0]


def test_graph_of_a_mask_writes_every_format(files, tmp_path, capsys):
    import networkx as nx

    out = {k: tmp_path / f"g.{k}" for k in ("csv", "swc", "graphml")}
    summary = tmp_path / "summary.csv"
    code, stdout, err = _run(["graph", files["mask"], "--csv", out["csv"], "--swc", out["swc"],
                              "--graphml", out["graphml"], "--summary-csv", summary], capsys)
    assert code == 0, err
    assert "skeletonized with --method topological" in stdout
    assert "cable length (spacing units)" in stdout and "mean radius (spacing units)" in stdout
    rows = dict(line.rsplit("  ", 1) for line in stdout.split("\n\n")[1].splitlines())
    rows = {k.strip(): v.strip() for k, v in rows.items()}
    assert rows["objects"] == "1" and rows["junctions"] == "1" and rows["end points"] == "3"
    branches = pd.read_csv(out["csv"])
    assert len(branches) == 3 and set(branches["kind"]) == {"end-junction"}
    assert branches["radius_mean"].between(0.5, 2.0).all()
    assert pd.read_csv(summary)["n_branches"].tolist() == [3]
    g = nx.read_graphml(out["graphml"])
    assert g.number_of_edges() == 3 and g.number_of_nodes() == 4
    swc = read_swc(out["swc"])
    assert (swc["parent"] == -1).sum() == 1
    # the cable length in the table is the branches' (plus the links inside junctions)
    assert float(rows["cable length (spacing units)"]) == pytest.approx(branches["length"].sum(), abs=1.5)


def test_graph_of_a_skeleton_uses_it_as_is(files, capsys):
    code, stdout, err = _run(["graph", files["skel"], "--json"], capsys)
    assert code == 0, err
    info = json.loads(stdout)
    assert info["method"] is None and info["spacing"] == list(SPACING)
    s = info["summary"]
    assert (s["objects"], s["branches"], s["junctions"], s["end_points"], s["loops"]) == (1, 5, 2, 4, 0)
    assert s["mean_radius"] is None
    assert s["cable_length"] == pytest.approx((31 + 17 + 2) * 0.5)
    assert info["per_object"][0]["n_branches"] == 5
    # --method on a skeleton: a warning, the skeleton is still used as is
    code, stdout, err = _run(["graph", files["skel"], "--method", "lee"], capsys)
    assert code == 0 and "already looks like a skeleton" in err and "used as a skeleton" in stdout


def test_prune_removes_the_spur(files, capsys):
    code, stdout, err = _run(["graph", files["skel"], "--prune", "1.5", "--json"], capsys)
    assert code == 0, err
    info = json.loads(stdout)
    assert info["pruned"]["branches_removed"] == 2  # the spur, and the bar is one branch again
    assert (info["summary"]["branches"], info["summary"]["end_points"]) == (3, 3)
    code, stdout, err = _run(["graph", files["mask"], "--prune-radius", "0.5", "--spacing", "1", "1", "1"], capsys)
    assert code == 0, err
    assert "pruned: terminal branches shorter than 0.5 x the radius at their junction" in stdout
    assert "spacing: 1, 1, 1 (z, y, x)" in stdout


def test_label_image_keeps_its_objects(files, capsys):
    code, stdout, err = _run(["graph", files["labels"], "--method", "lee", "--json", "-q"], capsys)
    assert code == 0, err
    info = json.loads(stdout)
    assert info["summary"]["objects"] == 2 and info["method"] == "lee"
    assert [row["label"] for row in info["per_object"]] == [1, 3]
    assert info["unit"] == "voxels" and info["spacing"] is None


def test_fill_holes_is_passed_on(files, capsys):
    import inspect

    from napari_soft_skeleton import skeletonize

    if "fill_holes" not in inspect.signature(skeletonize).parameters:
        pytest.skip("skeletonize(fill_holes=...) is not there yet")
    code, stdout, err = _run(["graph", files["mask"], "--fill-holes", "--json"], capsys)
    assert code == 0, err
    assert json.loads(stdout)["fill_holes"] is True


@pytest.mark.parametrize("extra, message", [
    (["--prune", "0"], "expected a number > 0"),
    (["--prune", "-2"], "expected a number > 0"),
    (["--prune-radius", "0"], "expected a number > 0"),
    (["--prune", "nan"], "finite"),
    (["--prune", "1", "--prune-radius", "1"], "not allowed with"),
    (["--spacing", "1", "1"], "one value per axis"),
    (["--csv", "{tmp}/missing/b.csv"], "does not exist"),
    (["--csv", "{tmp}/b.txt"], "unsupported file type"),
    (["--csv", "{tmp}/same.csv", "--summary-csv", "{tmp}/same.csv"], "same file"),
])
def test_bad_options_exit_2_with_one_line_and_write_nothing(files, tmp_path, capsys, extra, message):
    keep = tmp_path / "keep.swc"
    keep.write_text("old\n")
    argv = ["graph", files["mask"], "--swc", keep, *[a.replace("{tmp}", str(tmp_path)) for a in extra]]
    code, _, err = _run(argv, capsys)
    assert message in _one_line_error(code, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.swc"] and keep.read_text() == "old\n"


@pytest.mark.parametrize("name, extra, message", [
    ("missing", [], "no such file"),
    ("skel", ["--prune-radius", "1"], "needs radii"),
    ("prob", [], "other than 0 and 1"),
])
def test_bad_inputs_exit_2(files, tmp_path, capsys, name, extra, message):
    path = files.get(name, tmp_path / "missing.tif")
    code, _, err = _run(["graph", path, "--csv", tmp_path / "b.csv", *extra], capsys)
    assert message in _one_line_error(code, err).lower()
    assert not list(tmp_path.iterdir())


def test_a_failed_write_leaves_every_output_as_it_was(files, tmp_path, capsys, monkeypatch):
    from napari_soft_skeleton.io import _atomic

    csv, swc = tmp_path / "b.csv", tmp_path / "t.swc"
    csv.write_text("old\n")
    real = _atomic.atomic_file

    def failing(path, **kw):
        if Path(path) == swc:  # the real file, not the scratch copy the SWC is first rendered to
            raise PermissionError(13, "Permission denied")
        return real(path, **kw)

    monkeypatch.setattr(_atomic, "atomic_file", failing)
    code, _, err = _run(["graph", files["skel"], "--csv", csv, "--swc", swc], capsys)
    assert "cannot write" in _one_line_error(code, err) and "t.swc" in err
    assert csv.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["b.csv"]


def test_compare_with_an_swc_reference(files, tmp_path, capsys):
    swc = tmp_path / "t.swc"
    code, _, err = _run(["graph", files["skel"], "--swc", swc], capsys)
    assert code == 0, err
    out = tmp_path / "c.json"
    code, stdout, err = _run(["compare", swc, files["skel"], "--json", out], capsys)
    assert code == 0, err
    assert "(SWC tree)" in stdout and "tip error" in stdout and "branch points" in stdout
    data = json.loads(out.read_text())
    assert data["precision"] == 1.0 and data["recall"] == 1.0
    assert data["tree"]["tips_reference"] == data["tree"]["tips_candidate"] == 4
    assert data["tree"]["cable_length_error"] == pytest.approx(0, abs=1e-9)
    # the same tree in other units: --swc-scale / --swc-origin
    table = read_swc(swc)
    rows = [f"{int(r.id)} 0 {r.x * 125 + 10:g} {r.y * 125 + 20:g} {r.z * 125 + 30:g} 1 {int(r.parent)}"
            for r in table.itertuples()]
    nm = tmp_path / "nm.swc"
    nm.write_text("\n".join(rows) + "\n")
    code, stdout, err = _run(["compare", nm, files["skel"], "--swc-scale", "0.008",
                              "--swc-origin", "10", "20", "30"], capsys)
    assert code == 0, err
    assert [line.split()[-1] for line in stdout.splitlines() if line.startswith(("precision ", "recall "))] == [
        "1.0000", "1.0000"]
    # without them the tree is far outside the volume: clipped away
    code, stdout, err = _run(["compare", nm, files["skel"]], capsys)
    assert code == 0 and "clipped to the volume" in stdout


def test_compare_swc_errors(files, tmp_path, capsys):
    cyc = tmp_path / "cycle.swc"
    cyc.write_text("1 0 1 1 1 1 2\n2 0 2 1 1 1 1\n")
    code, _, err = _run(["compare", cyc, files["skel"]], capsys)
    assert "cycle" in _one_line_error(code, err)
    code, _, err = _run(["compare", files["skel"], files["skel"], "--swc-scale", "2"], capsys)
    assert "--swc-scale" in _one_line_error(code, err)
    code, _, err = _run(["compare", tmp_path / "none.swc", files["skel"]], capsys)
    assert "not found" in _one_line_error(code, err)
    code, _, err = _run(["compare", cyc, files["skel"], "--swc-scale", "0"], capsys)
    assert "> 0" in _one_line_error(code, err)


def test_graph_and_compare_help_do_not_import_heavy_modules():
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    code = (
        "import sys\n"
        "from napari_soft_skeleton.cli import main\n"
        "for argv in (['graph', '--help'], ['compare', '--help'], ['graph']):\n"
        "    main(argv)\n"
        "heavy = [m for m in ('torch', 'skimage', 'scipy', 'matplotlib', 'pandas', 'skan') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout
    assert "--prune LENGTH" in proc.stdout and "--swc-origin X Y Z" in proc.stdout
