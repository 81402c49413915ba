"""End-to-end tests of the ``soft-skeleton`` command line (in-process and as a subprocess)."""

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from napari_soft_skeleton import cli
from napari_soft_skeleton.cli import _common as cli_common
from napari_soft_skeleton.cli import main
from napari_soft_skeleton.io import read_volume, write_volume

SRC = str(Path(__file__).resolve().parents[1] / "src")
SPACING = (2.0, 0.5, 0.5)


def _tubes(n=24):
    """A bent tube (an L of two radius-3 tubes) in an n³ volume, uint8 0/1."""
    z, y, x = np.mgrid[:n, :n, :n]
    c = n // 2
    along_x = ((z - c) ** 2 + (y - c) ** 2 <= 9) & (x >= 3) & (x <= n - 4)
    along_z = ((y - c) ** 2 + (x - 5) ** 2 <= 9) & (z >= 3) & (z <= c)
    return (along_x | along_z).astype(np.uint8)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    vol = _tubes()
    paths = {
        "tif": d / "tube.tif",
        "npy": d / "tube.npy",
        "img2d": d / "img2d.tif",
    }
    write_volume(paths["tif"], vol, spacing=SPACING)
    write_volume(paths["npy"], vol)
    img2d = np.zeros((30, 40), np.uint8)
    img2d[12:18, 4:36] = 1
    img2d[4:26, 18:23] = 1
    write_volume(paths["img2d"], img2d, spacing=(0.5, 0.5))
    # a probability map (float input: the soft skeleton reports every iteration)
    from scipy import ndimage as ndi

    prob = ndi.uniform_filter(vol.astype(np.float32), 3)
    paths["prob"] = d / "prob.npy"
    write_volume(paths["prob"], np.clip(prob, 0, 1))
    labels = vol.astype(np.uint16)
    labels[:, :, 14:] *= 7  # two labels, 1 and 7
    paths["labels"] = d / "labels.tif"
    write_volume(paths["labels"], labels)
    # two binary skeleton-like volumes for compare
    ref = np.zeros((24, 24, 24), bool)
    ref[12, 12, 3:21] = True
    ref[3:13, 12, 5] = True
    cand = np.roll(ref, 1, axis=1)
    cand[12, 13, 15:21] = False
    paths["ref"] = d / "ref.tif"
    paths["cand"] = d / "cand.npy"
    write_volume(paths["ref"], ref, spacing=SPACING)
    write_volume(paths["cand"], cand)
    mask = np.zeros((24, 24, 24), np.uint8)
    mask[:, :, :18] = 1
    paths["mask"] = d / "mask.npy"
    write_volume(paths["mask"], mask)
    ref2 = np.zeros((20, 30), bool)
    ref2[10, 2:28] = True
    ref2[2:18, 6] = True
    paths["ref2d"] = d / "ref2d.npy"
    paths["cand2d"] = d / "cand2d.npy"
    write_volume(paths["ref2d"], ref2)
    write_volume(paths["cand2d"], np.roll(ref2, 1, axis=0))
    paths["soft_float"] = d / "soft.npy"
    write_volume(paths["soft_float"], np.full((24, 24, 24), 0.3, np.float32))
    paths["garbage"] = d / "garbage.tif"
    paths["garbage"].write_bytes(b"GIF89a definitely not a tiff" * 20)
    paths["one_d"] = d / "one_d.npy"
    np.save(paths["one_d"], np.arange(10))
    paths["four_d"] = d / "four_d.npy"
    np.save(paths["four_d"], np.zeros((2, 3, 4, 5), np.uint8))
    paths["small"] = d / "small.npy"
    np.save(paths["small"], np.zeros((24, 24, 20), np.uint8))
    return paths


def _snapshot(paths):
    return {k: (p.read_bytes(), p.stat().st_mtime_ns) for k, p in paths.items() if p.is_file()}


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------
# skeletonize
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["soft", "lee"])
@pytest.mark.parametrize("kind", ["tif", "npy"])
def test_skeletonize_round_trip(files, tmp_path, capsys, method, kind):
    before = _snapshot(files)
    out = tmp_path / f"skel.{kind}"
    code, stdout, stderr = _run(
        ["skeletonize", files[kind], "-o", out, "--method", method, "--quiet"], capsys
    )
    assert code == 0, stderr
    skel, spacing = read_volume(out)
    vol, in_spacing = read_volume(files[kind])
    assert skel.shape == vol.shape
    assert spacing == in_spacing == (SPACING if kind == "tif" else None)
    n = int(np.count_nonzero(skel))
    assert 0 < n < np.count_nonzero(vol) // 3
    assert not np.any(skel[vol == 0])  # the skeleton lies inside the object
    lines = stdout.strip().splitlines()
    assert len(lines) == 1
    assert str(out) in lines[0] and "24x24x24" in lines[0] and str(n) in lines[0]
    assert _snapshot(files) == before  # inputs untouched


def test_anisotropy_warning_is_one_line(files, tmp_path, capsys):
    # SPACING is (2.0, 0.5, 0.5): the library warns, the CLI shows it on one line
    code, _, stderr = _run(
        ["skeletonize", files["tif"], "-o", tmp_path / "w.tif", "--quiet"], capsys
    )
    assert code == 0
    assert stderr.startswith("soft-skeleton: warning: ")
    assert stderr.count("\n") == 1 and "anisotropic" in stderr


def test_skeletonize_label_image(files, tmp_path, capsys):
    out = tmp_path / "labels_skel.tif"
    code, _, stderr = _run(["skeletonize", files["labels"], "-o", out, "-q"], capsys)
    assert code == 0, stderr
    skel = read_volume(out)[0]
    assert skel.dtype == np.uint16
    assert set(np.unique(skel).tolist()) == {0, 1, 7}
    assert stderr.startswith("soft-skeleton: warning: ") and "label image with 2 labels" in stderr
    code, _, stderr = _run(
        ["skeletonize", files["labels"], "-o", out.with_name("x.tif"), "--no-threshold"], capsys
    )
    assert code == 2 and "label image with 2 labels" in stderr
    assert not out.with_name("x.tif").exists()


def test_skeletonize_probability_map(files, tmp_path, capsys):
    out = tmp_path / "pm.npy"
    code, _, stderr = _run(
        ["skeletonize", files["prob"], "-o", out, "--no-threshold", "-q"], capsys
    )
    assert code == 0, stderr
    soft = np.load(out)
    assert soft.dtype == np.float32 and 0 < soft.max() <= 1
    assert np.unique(soft).size > 2  # real soft values
    code, _, stderr = _run(
        ["skeletonize", files["prob"], "-o", out, "--method", "lee", "--threshold", "0.5", "-q"],
        capsys,
    )
    assert code == 0, stderr
    assert np.load(out).dtype == bool


def test_skeletonize_normalize_integer_intensities(files, tmp_path, capsys):
    prob = np.load(files["prob"])
    as_uint8 = files["prob"].with_name("prob_uint8.npy")
    np.save(as_uint8, np.round(prob * 255).astype(np.uint8))
    out = tmp_path / "n.npy"
    code, _, stderr = _run(["skeletonize", as_uint8, "-o", out, "--normalize", "-q"], capsys)
    # (a .npy file has no calibration: said once, nothing else)
    assert code == 0 and stderr.count("\n") == 1 and stderr.startswith("soft-skeleton: note: ")
    skel = np.load(out)
    assert skel.dtype == bool and skel.any()
    ref = tmp_path / "ref.npy"
    assert main(["skeletonize", str(files["prob"]), "-o", str(ref), "-q", "--normalize"]) == 0
    assert (skel != np.load(ref)).mean() < 0.01


def test_skeletonize_iterations(files, tmp_path, capsys):
    auto = tmp_path / "auto.npy"
    code, stdout, stderr = _run(
        ["skeletonize", files["npy"], "-o", auto, "--iterations", "auto", "-q"], capsys
    )
    assert code == 0, stderr
    fixed = tmp_path / "fixed.npy"
    code, stdout2, stderr = _run(
        ["skeletonize", files["npy"], "-o", fixed, "--iterations", "2", "-q"], capsys
    )
    assert code == 0, stderr
    assert " 2 iterations" in stdout2
    assert np.count_nonzero(read_volume(auto)[0]) > 0
    assert np.count_nonzero(read_volume(fixed)[0]) > 0


def test_skeletonize_per_slice(files, tmp_path, capsys):
    out = tmp_path / "ps.tif"
    code, stdout, stderr = _run(
        ["skeletonize", files["tif"], "-o", out, "--per-slice", "--quiet"], capsys
    )
    assert code == 0, stderr
    skel, spacing = read_volume(out)
    assert skel.shape == (24, 24, 24) and spacing == SPACING
    vol = read_volume(files["tif"])[0]
    # every slice that contains the object gets a skeleton of its own
    for z in range(24):
        if vol[z].sum() > 0:
            assert np.count_nonzero(skel[z]) > 0


def test_skeletonize_no_threshold_gives_float(files, tmp_path, capsys):
    # a mask gives a float32 0/1 map (the soft skeleton of a binary mask is binary)
    out = tmp_path / "soft.tif"
    code, stdout, stderr = _run(
        ["skeletonize", files["tif"], "-o", out, "--no-threshold", "--quiet"], capsys
    )
    assert code == 0, stderr
    skel, spacing = read_volume(out)
    assert skel.dtype.kind == "f"
    assert spacing == SPACING
    assert 0 <= skel.min() and skel.max() <= 1 and skel.max() > 0


def test_skeletonize_threshold_gives_binary(files, tmp_path, capsys):
    out = tmp_path / "bin.npy"
    code, _, stderr = _run(
        ["skeletonize", files["npy"], "-o", out, "--threshold", "0.5", "--quiet"], capsys
    )
    assert code == 0, stderr
    skel = read_volume(out)[0]
    assert set(np.unique(skel).tolist()) <= {0, 1}


@pytest.mark.parametrize("method", ["soft", "lee"])
def test_skeletonize_2d(files, tmp_path, capsys, method):
    out = tmp_path / "skel2d.tif"
    code, stdout, stderr = _run(
        ["skeletonize", files["img2d"], "-o", out, "--method", method, "-q"], capsys
    )
    assert code == 0, stderr
    skel, spacing = read_volume(out)
    assert skel.shape == (30, 40) and spacing == (0.5, 0.5)
    assert np.count_nonzero(skel) > 0
    # --per-slice has no effect on a 2D image
    out2 = tmp_path / "skel2d_ps.tif"
    assert main(["skeletonize", str(files["img2d"]), "-o", str(out2),
                 "--method", method, "--per-slice", "-q"]) == 0
    np.testing.assert_array_equal(read_volume(out2)[0], skel)


class _FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_is_shown_on_a_tty(files, tmp_path, monkeypatch, capsys):
    fake = _FakeTTY()
    monkeypatch.setattr(sys, "stderr", fake)
    out = tmp_path / "p.npy"
    code = main(["skeletonize", str(files["prob"]), "-o", str(out), "--iterations", "5"])
    stdout = capsys.readouterr().out
    assert code == 0, fake.getvalue()
    shown = fake.getvalue()
    assert "soft" in shown and "%" in shown  # tqdm bar with its description
    assert "5/5" in shown and "\r" in shown
    assert str(out) in stdout

    fake2 = _FakeTTY()
    monkeypatch.setattr(sys, "stderr", fake2)
    assert main(["skeletonize", str(files["npy"]), "-o", str(out), "--quiet"]) == 0
    # --quiet: no bar, only the note that a .npy file has no calibration
    assert "\r" not in fake2.getvalue() and fake2.getvalue().startswith("soft-skeleton: note: ")
    assert fake2.getvalue().count("\n") == 1


def test_progress_callback_survives_odd_calls(monkeypatch):
    fake = _FakeTTY()
    monkeypatch.setattr(sys, "stderr", fake)
    bar = cli.ProgressBar(enabled=True, desc="x")
    bar(0, 10)
    bar(5, 10)
    bar(2, 20)  # total changes, count goes back
    bar(20, 20)
    bar("bad", None)  # never raises
    bar.close()
    assert "x" in fake.getvalue()


# ---------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------


def test_compare_json_and_figure(files, tmp_path, capsys):
    from matplotlib.image import imread

    before = _snapshot(files)
    js = tmp_path / "cmp.json"
    fig = tmp_path / "cmp.png"
    code, stdout, stderr = _run(
        ["compare", files["ref"], files["cand"], "--json", js, "--figure", fig], capsys
    )
    assert code == 0, stderr
    data = json.loads(js.read_text())
    for key in ("precision", "recall", "f1", "betti_reference", "betti_candidate",
                "n_reference", "n_candidate", "per_slice"):
        assert key in data
    assert 0 <= data["precision"] <= 1 and 0 <= data["recall"] <= 1
    assert data["spacing"] == list(SPACING)  # spacing of A
    assert len(data["per_slice"]["agreement"]) == 24
    img = imread(fig)
    assert img.ndim == 3 and img.shape[0] >= 400 and img.shape[1] >= 800
    assert img[..., :3].std() > 0.05  # not blank
    assert "precision" in stdout and "recall" in stdout and "F1" in stdout
    assert _snapshot(files) == before


def test_compare_2d_with_mask_and_tolerance(files, tmp_path, capsys):
    from matplotlib.image import imread

    fig = tmp_path / "cmp2d.png"
    code, stdout, stderr = _run(
        ["compare", files["ref2d"], files["cand2d"], "--tolerance", "0.5", "--figure", fig], capsys
    )
    assert code == 0, stderr
    assert imread(fig).shape[0] >= 400
    assert "tolerance: 0.500 voxels" in stdout  # A (.npy) has no spacing
    # the horizontal branch is shifted by one row: unmatched at tolerance 0.5
    assert re.search(r"^F1\s+0\.3659$", stdout, re.M), stdout

    js = tmp_path / "masked.json"
    code, _, stderr = _run(
        ["compare", files["ref"], files["cand"], "--mask", files["mask"], "--json", js], capsys
    )
    assert code == 0, stderr
    data = json.loads(js.read_text())
    assert data["masked"] is True
    assert data["n_reference"] < int(np.count_nonzero(read_volume(files["ref"])[0]))


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


def _error_cases(files, out):
    return {
        "missing input": ["skeletonize", files["tif"].with_name("missing.tif"), "-o", out],
        "garbage tif": ["skeletonize", files["garbage"], "-o", out],
        "1D": ["skeletonize", files["one_d"], "-o", out],
        "4D": ["skeletonize", files["four_d"], "-o", out],
        "iterations abc": ["skeletonize", files["npy"], "-o", out, "--iterations", "abc"],
        "iterations -1": ["skeletonize", files["npy"], "-o", out, "--iterations", "-1"],
        "bad method": ["skeletonize", files["npy"], "-o", out, "--method", "magic"],
        "bad device": ["skeletonize", files["npy"], "-o", out, "--device", "tpu"],
        "bad threshold": ["skeletonize", files["npy"], "-o", out, "--threshold", "nan"],
        "both thresholds": ["skeletonize", files["npy"], "-o", out, "--threshold", "0.5",
                            "--no-threshold"],
        "output ext": ["skeletonize", files["npy"], "-o", out.with_suffix(".png")],
        "output dir missing": ["skeletonize", files["npy"], "-o", out.parent / "nope" / out.name],
        "output is input": ["skeletonize", files["npy"], "-o", files["npy"]],
        "missing -o": ["skeletonize", files["npy"]],
        "no command": [],
        "unknown command": ["frobnicate"],
        "compare shape mismatch": ["compare", files["npy"], files["small"], "--json", out],
        "compare mask mismatch": ["compare", files["ref"], files["cand"], "--mask", files["small"],
                                  "--json", out],
        "compare missing B": ["compare", files["ref"], files["ref"].with_name("gone.npy"),
                              "--json", out],
        "compare garbage": ["compare", files["garbage"], files["ref"], "--figure", out],
        "compare 4D": ["compare", files["four_d"], files["four_d"], "--json", out],
        "compare non-binary": ["compare", files["soft_float"], files["ref"], "--json", out],
        "compare bad tolerance": ["compare", files["ref"], files["cand"], "--tolerance", "-1",
                                  "--json", out],
        "compare json ext": ["compare", files["ref"], files["cand"], "--json",
                             out.with_suffix(".txt")],
        "compare second candidate mismatch": ["compare", files["ref"], files["cand"], files["small"],
                                              "--json", out],
        "compare too many candidates": ["compare", files["ref"], *[files["cand"]] * 7, "--json", out],
    }


ERROR_CASES = list(_error_cases({k: Path(k) for k in [
    "tif", "npy", "garbage", "one_d", "four_d", "img2d", "small", "ref", "cand", "soft_float",
]}, Path("o.tif")))


@pytest.mark.parametrize("case", ERROR_CASES)
def test_errors_are_one_line_exit_2_and_leave_no_output(files, tmp_path, capsys, case):
    before = _snapshot(files)
    out = tmp_path / ("out.json" if case.startswith("compare") else "out.tif")
    argv = _error_cases(files, out)[case]
    code, stdout, stderr = _run(argv, capsys)
    assert code == 2, (case, stderr)
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("soft-skeleton: error: "), lines[0]
    assert len(lines[0]) > len("soft-skeleton: error: ") + 5
    assert "Traceback" not in stderr
    assert stdout == ""
    assert not out.exists()
    assert not out.with_suffix(".png").exists() and not out.with_suffix(".txt").exists()
    assert sorted(os.listdir(tmp_path)) == []  # no temporary files either
    assert _snapshot(files) == before


def test_compare_several_candidates_side_by_side(files, tmp_path, capsys):
    from matplotlib.image import imread

    from napari_soft_skeleton import compare

    before = _snapshot(files)
    js, fig, fig1 = tmp_path / "three.json", tmp_path / "three.png", tmp_path / "one.png"
    # B = the candidate, C = the reference itself (a perfect candidate)
    code, stdout, stderr = _run(
        ["compare", files["ref"], files["cand"], files["ref"], "--json", js, "--figure", fig], capsys
    )
    assert code == 0, stderr
    data = json.loads(js.read_text())
    assert data["reference"] == str(files["ref"]) and data["mask"] is None
    assert [c["letter"] for c in data["candidates"]] == ["B", "C"]
    assert [c["candidate"] for c in data["candidates"]] == [str(files["cand"]), str(files["ref"])]
    ref, cand = read_volume(files["ref"])[0], read_volume(files["cand"])[0]
    expected = compare(ref, cand, spacing=SPACING)
    b, c = data["candidates"]
    assert b["precision"] == pytest.approx(expected.precision) and b["recall"] == pytest.approx(expected.recall)
    assert b["recall"] < 1 and c["precision"] == c["recall"] == c["f1"] == 1.0
    assert c["betti_candidate"] == c["betti_reference"]
    # the table: a column per skeleton, one row per metric
    lines = stdout.splitlines()
    assert lines[:3] == [f"A (reference): {files['ref']}", f"B (candidate): {files['cand']}",
                         f"C (candidate): {files['ref']}"]
    header = next(line for line in lines if line.split() == ["A", "B", "C"])
    assert header
    f1_row = next(line for line in lines if line.startswith("F1"))
    assert f1_row.split()[1:] == [f"{expected.f1:.4f}", "1.0000"]
    # the figure: wider than the two-skeleton one, not blank
    _run(["compare", files["ref"], files["cand"], "--figure", fig1], capsys)
    img, img1 = imread(fig), imread(fig1)
    assert img.shape[1] > img1.shape[1] * 0.9 and img.shape[0] >= 400
    assert img[..., :3].std() > 0.05
    assert _snapshot(files) == before


def test_error_messages_are_clear(files, tmp_path, capsys):
    out = tmp_path / "o.tif"
    _, _, err = _run(["skeletonize", files["garbage"], "-o", out], capsys)
    assert err.strip() == f"soft-skeleton: error: cannot read '{files['garbage']}': not a TIFF file"
    _, _, err = _run(["skeletonize", files["four_d"], "-o", out], capsys)
    assert "4 dimensions" in err and "only 2D and 3D" in err
    _, _, err = _run(["skeletonize", files["npy"], "-o", out, "--iterations", "abc"], capsys)
    assert "--iterations" in err and "'abc'" in err
    _, _, err = _run(["skeletonize", files["npy"], "-o", out, "--method", "magic"], capsys)
    assert "--method" in err and "soft" in err and "lee" in err
    _, _, err = _run(["compare", files["npy"], files["small"]], capsys)
    assert "shape mismatch" in err and "(24, 24, 24)" in err and "(24, 24, 20)" in err
    _, _, err = _run(["compare", files["npy"], files["npy"], files["small"]], capsys)
    assert f"but C '{files['small']}' has shape (24, 24, 20)" in err
    _, _, err = _run(["compare", files["npy"], *[files["npy"]] * 7], capsys)
    assert "at most 6 candidate skeletons; got 7" in err


def test_failed_write_keeps_existing_output(files, tmp_path, monkeypatch, capsys):
    out = tmp_path / "existing.tif"
    out.write_bytes(b"old content")
    import napari_soft_skeleton.io as sio

    def boom(fh, *args, **kwargs):
        fh.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sio.tifffile, "imwrite", boom)
    code, stdout, stderr = _run(["skeletonize", files["npy"], "-o", out, "--method", "lee"], capsys)
    assert code == 2
    # the output is named (not the temporary file the library wrote to)
    assert stderr.strip() == f"soft-skeleton: error: cannot write '{out}': No space left on device"
    assert out.read_bytes() == b"old content"
    assert sorted(os.listdir(tmp_path)) == ["existing.tif"]


def test_keyboard_interrupt(files, tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_common, "read_volume", interrupted)
    code, _, stderr = _run(["skeletonize", files["npy"], "-o", tmp_path / "o.npy"], capsys)
    assert code == 130
    assert stderr == "soft-skeleton: error: interrupted\n"
    assert not (tmp_path / "o.npy").exists()


def test_unexpected_error_one_line_unless_debug(files, tmp_path, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr(cli_common, "read_volume", broken)
    code, _, stderr = _run(["skeletonize", files["npy"], "-o", tmp_path / "o.npy"], capsys)
    assert code == 1
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert stderr.startswith("soft-skeleton: error: unexpected RuntimeError: something broke")
    code, _, stderr = _run(
        ["skeletonize", files["npy"], "-o", tmp_path / "o.npy", "--debug"], capsys
    )
    assert code == 1
    assert "Traceback" in stderr


def test_help_and_version(capsys):
    from napari_soft_skeleton import __version__

    code, out, _ = _run(["--version"], capsys)
    assert code == 0 and out.strip() == f"soft-skeleton {__version__}"
    code, out, _ = _run(["skeletonize", "--help"], capsys)
    assert code == 0 and "--iterations" in out and "--no-threshold" in out
    code, out, _ = _run(["compare", "--help"], capsys)
    assert code == 0 and "--tolerance" in out and "--figure" in out


# ---------------------------------------------------------------------------
# as a subprocess
# ---------------------------------------------------------------------------


def _subprocess(args, tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "napari_soft_skeleton", *map(str, args)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )


def test_subprocess_error(files, tmp_path):
    out = tmp_path / "out.tif"
    proc = _subprocess(["skeletonize", files["garbage"], "-o", out], tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("soft-skeleton: error: cannot read ")
    assert not out.exists()


def test_subprocess_skeletonize(files, tmp_path):
    out = tmp_path / "out.npy"
    proc = _subprocess(["skeletonize", files["npy"], "-o", out, "--method", "lee"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    # not a TTY: no progress bar; only the note that a .npy file has no calibration
    assert proc.stderr.count("\n") == 1 and "has no calibration" in proc.stderr
    assert proc.stdout.count("\n") == 1 and str(out) in proc.stdout
    assert np.count_nonzero(np.load(out)) > 0


def test_demo_without_display_runs_the_cli_on_the_sample(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    out = tmp_path / "results"
    code = main(["demo", "--sample", "vessel_64", "--out", str(out), "-q"])
    stdout = capsys.readouterr().out
    assert code == 0
    assert "no display" in stdout and str(out.resolve()) in stdout
    for name in ("soft.tif", "lee.tif", "topological.tif", "compare.json", "compare.png"):
        assert (out / f"vessel_64_{name}").stat().st_size > 0
    result = json.loads((out / "vessel_64_compare.json").read_text())
    assert result["reference"].endswith("vessel_64_lee.tif")
    soft, topo = result["candidates"]
    assert soft["candidate"].endswith("vessel_64_soft.tif") and topo["candidate"].endswith("vessel_64_topological.tif")
    assert soft["betti_reference"][0] >= 1 and 0 < soft["recall"] <= 1
    assert topo["betti_candidate"] == topo["betti_reference"] == [1, 0, 0]


def test_demo_rejects_an_unknown_sample(tmp_path, capsys):
    code = main(["demo", "--sample", "nope", "--out", str(tmp_path / "o"), "--no-gui"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "unknown sample 'nope'" in err
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------------
# issue 8: a first hour on real data
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-1", "2", "1.5", "-0.01"])
def test_threshold_outside_unit_interval_exits_2(files, tmp_path, capsys, value):
    out = tmp_path / "t.npy"
    code, _, err = _run(["skeletonize", files["prob"], "-o", out, "--threshold", value], capsys)
    assert code == 2 and "expected a number in [0, 1]" in err and err.count("\n") == 1
    assert not out.exists()


def test_threshold_help_names_every_method(capsys):
    code, out, _ = _run(["skeletonize", "--help"], capsys)
    flat = " ".join(out.split())
    assert code == 0 and "[0, 1]" in flat
    text = flat[flat.index("--threshold T a number"):]
    text = text[: text.index("--no-threshold")]
    assert all(m in text for m in ("topological", "lee", "zhang")), text


def test_demo_help_lists_the_samples(capsys):
    from napari_soft_skeleton import list_samples

    code, out, _ = _run(["demo", "--help"], capsys)
    assert code == 0
    assert all(name in out for name in list_samples())


def test_help_and_version_do_not_import_torch(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    code = (
        "import sys\n"
        "from napari_soft_skeleton.cli import main\n"
        "for argv in (['--help'], ['--version'], ['skeletonize', '--help'], ['demo', '--help']):\n"
        "    main(argv)\n"
        "heavy = [m for m in ('torch', 'skimage', 'scipy', 'matplotlib') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout


def test_write_error_names_the_output_not_the_temporary_file(files, tmp_path, monkeypatch, capsys):
    import napari_soft_skeleton.io as sio

    out = tmp_path / "skel.tif"

    def full_disk(fh, *args, **kwargs):
        raise OSError(28, "No space left on device", getattr(fh, "name", "tmp"))

    tiff_module = getattr(sio, "_tiff", sio)
    monkeypatch.setattr(tiff_module.tifffile, "imwrite", full_disk)
    code, _, err = _run(["skeletonize", files["npy"], "-o", out, "--method", "lee"], capsys)
    assert code == 2
    assert err.strip() == f"soft-skeleton: error: cannot write '{out}': No space left on device"
    assert ".tmp" not in err and not out.exists()
    assert sorted(os.listdir(tmp_path)) == []


def test_messages_name_the_flags(files, tmp_path, capsys):
    code, _, err = _run(["skeletonize", files["tif"], "-o", tmp_path / "z.tif", "--method", "zhang"], capsys)
    assert code == 2 and "--per-slice" in err and "per_slice" not in err


def test_empty_skeleton_says_so(files, tmp_path, capsys):
    out = tmp_path / "empty.npy"
    code, _, err = _run(["skeletonize", files["prob"], "-o", out, "--method", "topological",
                         "--threshold", "1"], capsys)
    assert code == 0 and "the skeleton is empty" in err and "--threshold 1" in err
    assert out.exists() and not np.load(out).any()


def test_compare_says_when_an_input_is_a_mask_not_a_skeleton(files, tmp_path, capsys):
    code, out, err = _run(["compare", files["tif"], files["ref"]], capsys)
    assert code == 0 and "does not look like a skeleton" in err and "skeletonize it first" in err
    assert f"A '{files['tif']}' does not look like a skeleton" in err
    code, out, err = _run(["compare", files["ref"], files["ref"], files["tif"]], capsys)
    assert f"C '{files['tif']}' does not look like a skeleton" in err and err.count("does not look") == 1


def test_compare_default_tolerance_is_physical_on_anisotropic_data(files, capsys):
    # ref.tif has spacing (2, 0.5, 0.5): the default is 1.5 × 2 = 3, not 1.5 "units"
    code, out, _ = _run(["compare", files["ref"], files["ref"]], capsys)
    assert code == 0 and "tolerance: 3.000 " in out and "default" in out


def test_multi_series_tiff_needs_series_flag(tmp_path, capsys):
    import tifffile

    path = tmp_path / "two.tif"
    vol = _tubes(16)
    with tifffile.TiffWriter(path) as tif:
        tif.write(np.zeros((8, 8), np.uint8))
        tif.write(vol)
    out = tmp_path / "s.npy"
    code, _, err = _run(["skeletonize", path, "-o", out, "--method", "lee"], capsys)
    assert code == 2 and "--series N" in err and "series=" not in err and not out.exists()
    code, _, err = _run(["skeletonize", path, "-o", out, "--method", "lee", "--series", "1"], capsys)
    assert code == 0, err
    skel = np.load(out)
    assert skel.shape == vol.shape and skel.any() and not (skel & (vol == 0)).any()


def test_rgb_tiff_needs_channel_flag(tmp_path, capsys):
    import tifffile

    rgb = np.zeros((40, 40, 3), np.uint8)
    rgb[18:23, 4:36, 1] = 255  # a bar in the green channel only
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, rgb, photometric="rgb")
    out = tmp_path / "g.npy"
    code, _, err = _run(["skeletonize", path, "-o", out, "--method", "lee"], capsys)
    assert code == 2 and "RGB" in err and "--channel N" in err and not out.exists()
    code, _, err = _run(["skeletonize", path, "-o", out, "--method", "lee", "--channel", "1"], capsys)
    assert code == 0, err
    skel = np.load(out)
    assert skel.shape == (40, 40) and skel[18:23, 8:32].any()
    code, _, err = _run(["skeletonize", path, "-o", out, "--channel", "-1"], capsys)
    assert code == 2 and "--channel" in err
