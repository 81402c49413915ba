"""The plugin's napari reader: every io format opens with its calibration as
the layer's scale and units."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
npe2 = pytest.importorskip("npe2")

from napari_soft_skeleton._napari._reader import get_reader, layer_type  # noqa: E402
from napari_soft_skeleton.io import InputError, write_volume  # noqa: E402

PLUGIN = "napari-soft-skeleton"
NAMES = ["v.tif", "v.ome.tif", "v.npy", "v.ome.zarr", "v.zarr", "v.nii", "v.nii.gz", "v.nrrd"]


def _mask(shape=(4, 6, 8)):
    return (np.arange(np.prod(shape)).reshape(shape) % 3) == 0


@pytest.mark.parametrize("name", NAMES)
def test_reader_gives_scale_and_units(tmp_path, name):
    path = tmp_path / name
    intensities = (np.arange(4 * 6 * 8).reshape(4, 6, 8) % 200).astype(np.uint8)
    write_volume(path, intensities, spacing=(2.0, 0.5, 0.25), unit="µm")
    reader = get_reader(str(path))
    assert reader is not None
    [(data, kwargs, kind)] = reader(str(path))
    np.testing.assert_array_equal(data, intensities)
    assert kind == "image"
    assert kwargs["scale"] == (2.0, 0.5, 0.25)
    assert kwargs["units"] == ("micrometer",) * 3
    assert kwargs["name"] == "v"
    assert kwargs["metadata"]["unit"] == "µm"
    assert kwargs["metadata"]["format"] in ("imagej-tiff", "ome-tiff", "npy", "ome-zarr", "nifti", "nrrd")


def test_reader_uncalibrated_and_masks(tmp_path):
    path = tmp_path / "m.nrrd"
    write_volume(path, _mask())
    [(data, kwargs, kind)] = get_reader(str(path))(str(path))
    assert kind == "labels" and data.dtype == np.uint8
    assert kwargs["scale"] == (1.0, 1.0, 1.0)
    assert kwargs["units"] == ("pixel",) * 3
    assert "has no calibration" in kwargs["metadata"]["notes"][0]


def test_layer_type():
    assert layer_type(np.zeros((3, 3), bool)) == "labels"
    assert layer_type(np.array([[0, 1], [1, 0]], np.uint8)) == "labels"
    assert layer_type(np.array([[0, 7], [1, 0]], np.uint8)) == "image"
    assert layer_type(np.array([[0, 7], [1, 0]], np.uint16)) == "image"
    assert layer_type(np.array([[0, 7], [1, 0]], np.int32)) == "labels"
    assert layer_type(np.zeros((3, 3), np.float32)) == "image"


def test_reader_declines_other_paths(tmp_path):
    assert get_reader(str(tmp_path / "x.png")) is None
    plain = tmp_path / "folder"
    plain.mkdir()
    assert get_reader(str(plain)) is None  # a directory that is not a .zarr
    not_dir = tmp_path / "file.zarr"
    not_dir.write_bytes(b"")
    assert get_reader(str(not_dir)) is None
    tif_dir = tmp_path / "dir.tif"
    tif_dir.mkdir()
    assert get_reader(str(tif_dir)) is None


def test_reader_errors_are_one_line(tmp_path):
    path = tmp_path / "x.zarr"
    path.mkdir()
    (path / ".zgroup").write_text('{"zarr_format": 2}')
    reader = get_reader(str(path))
    assert reader is not None
    with pytest.raises(InputError, match=r"^cannot read '.*x\.zarr': not an OME-Zarr image"):
        reader(str(path))


def test_manifest_registers_the_reader():
    pm = npe2.PluginManager.instance()
    pm.discover()
    readers = pm.get_manifest(PLUGIN).contributions.readers
    assert readers and readers[0].accepts_directories
    assert "*.ome.zarr" in readers[0].filename_patterns and "*.nii.gz" in readers[0].filename_patterns


@pytest.mark.parametrize(
    "name,unit,expected",
    [("v.ome.zarr", "nm", "nanometer"), ("v.nii.gz", "mm", "millimeter"), ("v.tif", "µm", "micrometer")],
)
def test_viewer_open_with_the_plugin(make_napari_viewer, tmp_path, name, unit, expected):
    path = tmp_path / name
    write_volume(path, _mask(), spacing=(3.0, 1.0, 0.5), unit=unit)
    viewer = make_napari_viewer()
    layers = viewer.open(str(path), plugin=PLUGIN)
    assert len(layers) == 1
    layer = layers[0]
    assert layer.__class__.__name__ == "Labels"
    assert tuple(layer.scale) == (3.0, 1.0, 0.5)
    assert [str(u) for u in layer.units] == [expected] * 3
    assert layer.name == "v"
