"""Tests of the sample volumes and their loader (napari_soft_skeleton.samples)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from scipy import ndimage as ndi
from skimage.measure import euler_number

from napari_soft_skeleton import samples as samples_mod
from napari_soft_skeleton.samples import Sample, list_samples, load_sample, rasterize_swc

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "sample_volumes" / "make_samples.py"

# name -> (shape, spacing, unit, has image, has centerline, license)
EXPECTED = {
    "vessel_64": ((64, 64, 64), (1.0, 1.0, 1.0), "um", True, True, "BSD-3-Clause"),
    "vessel_128": ((128, 128, 128), (1.0, 0.5, 0.5), "um", True, True, "BSD-3-Clause"),
    "vessel_256": ((256, 256, 256), (1.0, 1.0, 1.0), "um", True, True, "BSD-3-Clause"),
    "vessel_2d": ((256, 256), (1.0, 1.0), "um", True, True, "BSD-3-Clause"),
    "neuron_lm": ((96, 302, 296), (1.0, 1.0, 1.0), "pixel", True, False, "BSD-3-Clause"),
    "neuron_hemibrain_pn": ((295, 425, 311), (0.5, 0.5, 0.5), "um", False, True, "CC-BY-4.0"),
    "neuron_hemibrain_glomerulus": (
        (113, 174, 147), (0.25, 0.25, 0.25), "um", False, True, "CC-BY-4.0"
    ),
}
VESSELS = [n for n in EXPECTED if n.startswith("vessel_")]


@pytest.fixture(scope="module")
def loaded() -> dict[str, Sample]:
    return {name: load_sample(name) for name in list_samples()}


def _full(ndim: int) -> np.ndarray:
    return np.ones((3,) * ndim, dtype=bool)


def test_list_samples():
    assert list_samples() == list(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_sample_fields(loaded, name):
    s = loaded[name]
    shape, spacing, unit, has_image, has_centerline, lic = EXPECTED[name]
    assert isinstance(s, Sample)
    assert s.name == name
    assert s.mask.shape == shape and s.mask.dtype == bool
    assert s.mask.any()
    assert s.spacing == spacing
    assert all(isinstance(v, float) for v in s.spacing)
    assert s.unit == unit
    assert s.license == lic
    assert s.description and s.attribution and "\n" not in s.attribution
    if has_image:
        assert s.image is not None
        assert s.image.shape == shape and s.image.dtype == np.float32
        assert 0.0 <= float(s.image.min()) and float(s.image.max()) <= 1.0
        assert float(s.image.max()) > 0.5
    else:
        assert s.image is None
    if has_centerline:
        assert s.centerline is not None
        assert s.centerline.shape == shape and s.centerline.dtype == bool
        assert s.centerline.any()
    else:
        assert s.centerline is None


@pytest.mark.parametrize("name", VESSELS)
def test_vessel_topology(loaded, name):
    s = loaded[name]
    _, n = ndi.label(s.mask, structure=_full(s.ndim))
    assert n == 1, "vessel mask must be exactly one 26- (8-) connected component"
    # a tree of tubes: no tunnels, no cavities (holes in 2D)
    assert euler_number(s.mask, connectivity=s.ndim) == 1
    # the mask keeps off the volume border
    border = np.ones(s.shape, bool)
    border[(slice(1, -1),) * s.ndim] = False
    assert not (s.mask & border).any()


@pytest.mark.parametrize("name", VESSELS)
def test_vessel_centerline_inside_and_connected(loaded, name):
    s = loaded[name]
    assert not (s.centerline & ~s.mask).any(), "generating centerline must lie inside the mask"
    _, n = ndi.label(s.centerline, structure=_full(s.ndim))
    assert n == 1
    assert euler_number(s.centerline, connectivity=s.ndim) == 1  # a digital tree
    # thin compared with the mask
    assert s.centerline.sum() < 0.5 * s.mask.sum()


@pytest.mark.parametrize("name", VESSELS)
def test_vessel_probability_matches_mask(loaded, name):
    s = loaded[name]
    t = s.image > 0.5
    dice = 2 * np.count_nonzero(t & s.mask) / (np.count_nonzero(t) + np.count_nonzero(s.mask))
    assert dice > 0.95


@pytest.mark.parametrize("name", ["vessel_64", "vessel_128", "vessel_2d"])  # 256^3: same code, slow EDT
def test_vessel_probability_zero_far_away(loaded, name):
    # background farther than 4 µm from the vessels is exactly 0 (small files)
    s = loaded[name]
    dist = ndi.distance_transform_edt(~s.mask, sampling=s.spacing)
    assert not s.image[dist > 4.5].any()
    assert s.image[s.mask].min() > 0.2


@pytest.mark.parametrize("name", ["neuron_hemibrain_pn", "neuron_hemibrain_glomerulus"])
def test_hemibrain_centerline_inside(loaded, name):
    # The masks were rendered from the same SWC (cones, radius >= 1 voxel), so the
    # rasterised skeleton lies inside them; in practice 100 %, but allow 1 % for
    # rounding at the rim (line_nd rounding vs. the renderer's voxelisation).
    s = loaded[name]
    cl = s.centerline
    frac = np.count_nonzero(cl & s.mask) / np.count_nonzero(cl)
    assert frac >= 0.99
    assert cl.sum() > 1000


def test_neuron_lm(loaded):
    s = loaded["neuron_lm"]
    np.testing.assert_array_equal(s.mask, s.image > 0)
    _, n = ndi.label(s.mask, structure=_full(3))
    assert n == 8  # beaded neurites, as documented


def test_rasterize_swc_clips_and_connects():
    # a small Y-shaped tree, partly outside a 10^3 volume
    nodes = np.array(
        [
            [1, 1, 5.0, 5.0, 1.0, 1.0, -1],
            [2, 0, 5.0, 5.0, 5.0, 1.0, 1],
            [3, 0, 8.0, 2.0, 8.0, 1.0, 2],
            [4, 0, 5.0, 5.0, 20.0, 1.0, 2],  # leaves the volume through z
        ]
    )
    out = rasterize_swc(nodes, (10, 10, 10), origin=(0.0, 0.0, 0.0), pitch=1.0)
    assert out.dtype == bool and out.shape == (10, 10, 10)
    assert out[1, 5, 5] and out[5, 5, 5] and out[8, 2, 8] and out[9, 5, 5]
    _, n = ndi.label(out, structure=_full(3))
    assert n == 1
    # origin and pitch: the same tree at twice the pitch, shifted by one voxel
    nodes2 = nodes.copy()
    nodes2[:, 2:5] = (nodes[:, 2:5] + 1.0) * 2.0
    out2 = rasterize_swc(nodes2, (10, 10, 10), origin=(2.0, 2.0, 2.0), pitch=2.0)
    np.testing.assert_array_equal(out, out2)


def test_unknown_name():
    with pytest.raises(ValueError, match="vessel_64"):
        load_sample("no_such_sample")


def test_arrays_are_fresh():
    a = load_sample("vessel_2d")
    a.mask[:] = False
    b = load_sample("vessel_2d")
    assert b.mask.any()


def test_missing_folder(monkeypatch, tmp_path):
    fake = tmp_path / "src" / "napari_soft_skeleton" / "samples.py"
    fake.parent.mkdir(parents=True)
    monkeypatch.setattr(samples_mod, "__file__", str(fake))
    with pytest.raises(FileNotFoundError, match="sample_volumes"):
        load_sample("vessel_64")


def test_package_folder_preferred(monkeypatch, tmp_path):
    # in a wheel, sample_volumes/ sits inside the package
    pkg = tmp_path / "napari_soft_skeleton"
    (pkg / "sample_volumes").mkdir(parents=True)
    monkeypatch.setattr(samples_mod, "__file__", str(pkg / "samples.py"))
    assert samples_mod.samples_dir() == (pkg / "sample_volumes").resolve()


@pytest.mark.parametrize("name", VESSELS)
def test_spacing_recorded_in_files(name):
    shape, spacing, *_ = EXPECTED[name]
    for kind in ("mask", "centerline", "prob"):
        path = REPO / "sample_volumes" / f"{name}_{kind}.tif"
        with tifffile.TiffFile(path) as tif:
            assert tif.pages[0].compression == 8  # zlib / deflate
            ij = tif.imagej_metadata
            assert ij["unit"] == "um"
            xn, xd = tif.pages[0].tags["XResolution"].value
            assert xd / xn == pytest.approx(spacing[-1])
            if len(shape) == 3:
                assert ij["spacing"] == pytest.approx(spacing[0])


def _import_script():
    spec = importlib.util.spec_from_file_location("_make_samples_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


@pytest.mark.skipif(not SCRIPT.is_file(), reason="make_samples.py not available")
def test_regenerate_matches_shipped(tmp_path):
    make_samples = _import_script()
    assert make_samples.main([str(tmp_path), "--sizes", "64", "--quiet"]) == 0
    for kind in ("mask", "centerline", "prob"):
        new = tifffile.imread(tmp_path / f"vessel_64_{kind}.tif")
        old = tifffile.imread(REPO / "sample_volumes" / f"vessel_64_{kind}.tif")
        assert new.dtype == old.dtype and new.shape == old.shape
        np.testing.assert_array_equal(new, old, err_msg=f"vessel_64_{kind}")


def test_loader_does_not_import_napari_or_qt():
    import ast

    tree = ast.parse(Path(samples_mod.__file__).read_text())
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    assert not modules & {"napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "magicgui"}
