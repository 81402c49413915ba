"""Calibration (spacing + unit) in every format of napari_soft_skeleton.io
(issue 10): round trips, calibration found in files written by other tools,
and bad input that must give one InputError line and write nothing."""

from __future__ import annotations

import json
import math
import os
import struct

import numpy as np
import pytest
import tifffile

from napari_soft_skeleton.io import (
    InputError,
    Volume,
    check_output_path,
    read_volume,
    write_volume,
)


def _array(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == np.bool_:
        return rng.random(shape) > 0.5
    if np.dtype(dtype).kind == "f":
        return (rng.random(shape) * 10 - 2).astype(dtype)
    return rng.integers(0, 200, size=shape).astype(dtype)


def _files(directory):
    return sorted(os.listdir(directory))


def _one_line(exc_info, path=None):
    msg = str(exc_info.value)
    assert "\n" not in msg and msg
    if path is not None:
        assert f"'{path}'" in msg
    return msg


# ---------------------------------------------------------------------------
# round trips
# ---------------------------------------------------------------------------

# (file name, write_volume format=, format read back for ImageJ-able / other arrays)
CONTAINERS = {
    "imagej": ("v.tif", None, "imagej-tiff"),
    "ome-tif": ("v.ome.tif", None, "ome-tiff"),
    "ome-tiff-by-format": ("v.tiff", "ome-tiff", "ome-tiff"),
    "npy": ("v.npy", None, "npy"),
    "zarr": ("v.zarr", None, "ome-zarr"),
    "ome-zarr": ("v.ome.zarr", None, "ome-zarr"),
    "nii": ("v.nii", None, "nifti"),
    "nii.gz": ("v.nii.gz", None, "nifti"),
    "nrrd": ("v.nrrd", None, "nrrd"),
}
DTYPES = [np.uint8, np.uint16, np.float32, bool, np.int32]


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("container", sorted(CONTAINERS))
def test_round_trip_spacing_unit_and_format(tmp_path, container, dtype, ndim):
    name, fmt, expected_format = CONTAINERS[container]
    arr = _array(dtype, (3, 5, 7)[-ndim:])
    spacing = (2.5, 0.5, 0.125)[-ndim:]
    unit = "mm" if name.startswith("v.nii") else "nm"  # NIfTI knows µm, mm and m only
    path = tmp_path / name
    write_volume(path, arr, spacing=spacing, unit=unit, format=fmt)
    volume = read_volume(path)
    assert isinstance(volume, Volume)
    assert volume.array.dtype == arr.dtype and volume.array.shape == arr.shape
    np.testing.assert_array_equal(volume.array, arr)
    assert volume.spacing == spacing
    assert volume.unit == unit
    if expected_format == "imagej-tiff" and np.dtype(dtype) == np.int32:
        expected_format = "tiff"  # tifffile's shaped layout: ImageJ has no int32
    assert volume.format == expected_format
    assert volume.notes == ()
    # written back in the format it was read from, it stays that format
    again = tmp_path / ("again" + name[1:])
    write_volume(again, volume.array, spacing=volume.spacing, unit=volume.unit, format=volume.format)
    assert read_volume(again).format == expected_format


@pytest.mark.parametrize("unit", ["pm", "Å", "nm", "µm", "mm", "cm", "m", "in"])
@pytest.mark.parametrize("name", ["v.tif", "i.tif", "v.ome.tif", "v.npy", "v.zarr", "v.nrrd"])
def test_every_unit_round_trips(tmp_path, name, unit):
    dtype = np.int32 if name == "i.tif" else np.uint8  # i.tif: tifffile's shaped layout
    arr = _array(dtype, (3, 4, 5))
    path = tmp_path / name
    write_volume(path, arr, spacing=(3.0, 0.75, 0.5), unit=unit)
    volume = read_volume(path)
    assert (volume.spacing, volume.unit) == ((3.0, 0.75, 0.5), unit)


@pytest.mark.parametrize("spelling", ["um", "micron", "micrometer", "µm", "\u03bcm"])
def test_unit_spellings_are_normalized(tmp_path, spelling):
    path = tmp_path / "v.ome.zarr"
    write_volume(path, np.zeros((3, 4), np.uint8), spacing=(1.0, 1.0), unit=spelling)
    assert read_volume(path).unit == "µm"


@pytest.mark.parametrize("unit,stored,factor", [("nm", "µm", 1e-3), ("cm", "mm", 10.0), ("m", "m", 1.0)])
def test_nifti_stores_other_units_converted(tmp_path, unit, stored, factor):
    path = tmp_path / "v.nii.gz"
    write_volume(path, np.zeros((3, 4, 5), np.uint8), spacing=(200.0, 100.0, 50.0), unit=unit)
    volume = read_volume(path)
    assert volume.unit == stored
    assert volume.spacing == pytest.approx(tuple(v * factor for v in (200.0, 100.0, 50.0)))


def test_nifti_float32_spacing_comes_back_as_written(tmp_path):
    path = tmp_path / "v.nii"
    write_volume(path, np.zeros((3, 4, 5), np.uint8), spacing=(0.3, 0.1, 0.1), unit="µm")
    assert read_volume(path).spacing == (0.3, 0.1, 0.1)


@pytest.mark.parametrize("name", ["v.tif", "i.tif", "v.ome.tif", "v.npy", "v.zarr", "v.nii", "v.nrrd"])
def test_uncalibrated_round_trip_has_a_note(tmp_path, name):
    dtype = np.int32 if name == "i.tif" else np.uint8
    path = tmp_path / name
    write_volume(path, _array(dtype, (3, 4, 5)), unit="µm")  # a unit alone is not stored
    volume = read_volume(path)
    assert volume.spacing is None and volume.unit is None
    assert volume.notes == (f"'{path}' has no calibration: isotropic voxels assumed",)
    assert not (tmp_path / "v.json").exists()


def test_spacing_without_unit(tmp_path):
    for name in ("v.tif", "v.ome.tif", "v.npy", "v.zarr", "v.nii", "v.nrrd"):
        path = tmp_path / name
        write_volume(path, np.zeros((3, 4, 5), np.uint8), spacing=(2.0, 1.0, 0.5))
        volume = read_volume(path)
        assert (volume.spacing, volume.unit) == ((2.0, 1.0, 0.5), None), name


def test_zarr_output_replaces_only_zarr_stores(tmp_path, monkeypatch):
    path = tmp_path / "v.ome.zarr"
    write_volume(path, np.ones((3, 4), np.uint8), spacing=(2.0, 1.0), unit="µm")
    write_volume(path, np.full((5, 6), 2, np.uint16), spacing=(3.0, 1.0), unit="nm")
    volume = read_volume(path)
    assert volume.array.shape == (5, 6) and (volume.spacing, volume.unit) == ((3.0, 1.0), "nm")
    with pytest.raises(FileExistsError):
        write_volume(path, np.ones((3, 4), np.uint8), overwrite=False)
    # a failed write leaves the old store as it was and no temporary directory
    from napari_soft_skeleton.io import _volume

    def boom(directory, *args, **kwargs):
        (directory / "partial").write_bytes(b"x")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_volume, "write_ome_zarr", boom)
    with pytest.raises(OSError):
        write_volume(path, np.ones((3, 4), np.uint8))
    monkeypatch.undo()
    assert read_volume(path).array.shape == (5, 6)
    assert _files(tmp_path) == ["v.ome.zarr"]
    other = tmp_path / "data.zarr"
    other.mkdir()
    (other / "precious.txt").write_text("keep me")
    with pytest.raises(InputError, match="exists and is not a Zarr store"):
        write_volume(other, np.ones((3, 4), np.uint8))
    assert (other / "precious.txt").read_text() == "keep me"
    check_output_path(path)  # an existing .zarr directory may be replaced


def test_check_output_path_double_suffixes(tmp_path):
    for name in ("a.ome.tif", "a.ome.tiff", "a.nii.gz", "a.nii", "a.nrrd", "a.zarr", "a.ome.zarr"):
        check_output_path(tmp_path / name)
    with pytest.raises(InputError, match=r"unsupported file type '\.gz'.*expected \.tif, .*\.nii\.gz or \.nrrd$"):
        check_output_path(tmp_path / "a.gz")
    with pytest.raises(InputError, match="unsupported file type '.gz'"):
        check_output_path(tmp_path / "a.tar.gz")


# ---------------------------------------------------------------------------
# bad input to write_volume: one line, nothing written
# ---------------------------------------------------------------------------

BAD_SPACINGS = {
    "zero": ((0.0, 1.0, 1.0), "positive"),
    "negative": ((1.0, -1.0, 1.0), "positive"),
    "nan": ((1.0, 1.0, float("nan")), "positive"),
    "wrong length": ((1.0, 1.0), "3 dimensions"),
}


@pytest.mark.parametrize("bad", sorted(BAD_SPACINGS))
@pytest.mark.parametrize("name", ["v.tif", "v.ome.tif", "v.npy", "v.zarr", "v.nii.gz", "v.nrrd"])
def test_bad_spacing_writes_nothing(tmp_path, name, bad):
    spacing, words = BAD_SPACINGS[bad]
    with pytest.raises(InputError, match=words) as info:
        write_volume(tmp_path / name, np.zeros((3, 4, 5), np.uint8), spacing=spacing, unit="µm")
    _one_line(info)
    assert _files(tmp_path) == []


@pytest.mark.parametrize("name", ["v.tif", "v.npy", "v.zarr", "v.nii", "v.nrrd"])
def test_bad_unit_and_format_write_nothing(tmp_path, name):
    arr = np.zeros((3, 4, 5), np.uint8)
    with pytest.raises(InputError, match="unknown unit 'furlong'; expected a length unit") as info:
        write_volume(tmp_path / name, arr, spacing=(1.0, 1.0, 1.0), unit="furlong")
    _one_line(info)
    with pytest.raises(InputError, match="unknown format 'png'") as info:
        write_volume(tmp_path / name, arr, format="png")
    _one_line(info)
    assert _files(tmp_path) == []


@pytest.mark.parametrize(
    "name,arr,words",
    [
        ("v.ome.tif", np.zeros((2, 3, 4, 5), np.uint8), "OME-TIFF output needs a 2D or 3D array"),
        ("v.ome.tif", np.zeros((3, 4), np.int64), "OME-TIFF cannot hold int64 data"),
        ("v.zarr", np.zeros((2, 3, 4, 5), np.uint8), "OME-Zarr output needs a 2D or 3D array"),
        ("v.nii", np.zeros(5, np.uint8), "NIfTI output needs a 2D or 3D array"),
        ("v.nii", np.zeros((3, 4), np.float16), "NIfTI cannot hold float16 data"),
        ("v.nrrd", np.zeros((3, 4), np.float16), "NRRD cannot hold float16"),
    ],
)
def test_arrays_a_format_cannot_hold(tmp_path, name, arr, words):
    with pytest.raises(InputError, match=words) as info:
        write_volume(tmp_path / name, arr)
    _one_line(info, tmp_path / name)
    assert _files(tmp_path) == []


# ---------------------------------------------------------------------------
# TIFF written by other tools
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written,unit",
    [("micron", "µm"), ("\\u00B5m", "µm"), ("um", "µm"), ("nm", "nm"), ("pixel", None)],
)
def test_imagej_units(tmp_path, written, unit):
    path = tmp_path / "fiji.tif"
    tifffile.imwrite(
        path, np.zeros((3, 4, 5), np.uint8), imagej=True, resolution=(2.0, 4.0),
        metadata={"axes": "ZYX", "spacing": 3.0, "unit": written},
    )
    volume = read_volume(path)
    assert volume.format == "imagej-tiff"
    assert volume.spacing == pytest.approx((3.0, 0.25, 0.5))
    assert volume.unit == unit


def test_imagej_without_unit_and_with_other_axis_units(tmp_path):
    path = tmp_path / "fiji.tif"
    tifffile.imwrite(path, np.zeros((3, 4, 5), np.uint8), imagej=True, resolution=(2.0, 2.0),
                     metadata={"axes": "ZYX", "spacing": 3.0})
    assert (read_volume(path).spacing, read_volume(path).unit) == ((3.0, 0.5, 0.5), None)
    tifffile.imwrite(path, np.zeros((3, 4, 5), np.uint8), imagej=True, resolution=(2.0, 2.0),
                     metadata={"axes": "ZYX", "spacing": 3.0, "unit": "nm", "zunit": "micron"})
    assert read_volume(path).spacing == pytest.approx((3000.0, 0.5, 0.5))


def test_imagej_unknown_unit(tmp_path):
    path = tmp_path / "fiji.tif"
    tifffile.imwrite(path, np.zeros((3, 4, 5), np.uint8), imagej=True, resolution=(2.0, 2.0),
                     metadata={"axes": "ZYX", "spacing": 3.0, "unit": "furlong"})
    with pytest.raises(InputError) as info:
        read_volume(path)
    assert _one_line(info) == (
        f"cannot read '{path}': unknown unit 'furlong'; expected a length unit: "
        "pm, Å, nm, µm, mm, cm, m, in"
    )


def test_ome_calibration_with_units(tmp_path):
    path = tmp_path / "x.ome.tif"
    tifffile.imwrite(path, np.zeros((3, 4, 5), np.uint16), ome=True, metadata={
        "axes": "ZYX", "PhysicalSizeX": 200.0, "PhysicalSizeXUnit": "nm",
        "PhysicalSizeY": 0.25, "PhysicalSizeYUnit": "µm", "PhysicalSizeZ": 2.0,  # µm by default
    })
    volume = read_volume(path)
    assert (volume.spacing, volume.unit, volume.format) == ((2000.0, 250.0, 200.0), "nm", "ome-tiff")
    assert volume.notes == ()


def test_ome_without_z_step_and_units(tmp_path):
    path = tmp_path / "x.ome.tif"
    tifffile.imwrite(path, np.zeros((3, 4, 5), np.uint8), ome=True,
                     metadata={"axes": "ZYX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5})
    volume = read_volume(path)
    assert (volume.spacing, volume.unit) == ((0.5, 0.5, 0.5), "µm")
    assert volume.notes == (
        f"'{path}' does not record its z step (no OME PhysicalSizeZ): "
        "assumed equal to the x spacing (0.5 µm)",
    )
    tifffile.imwrite(path, np.zeros((3, 4, 5), np.uint8), ome=True, metadata={"axes": "ZYX"})
    assert read_volume(path).spacing is None


def test_ome_channel_selection_drops_the_channel_axis(tmp_path):
    arr = _array(np.uint8, (2, 3, 4, 5))
    path = tmp_path / "x.ome.tif"
    tifffile.imwrite(path, arr, ome=True, metadata={
        "axes": "CZYX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5, "PhysicalSizeZ": 2.0,
        "PhysicalSizeXUnit": "µm", "PhysicalSizeYUnit": "µm", "PhysicalSizeZUnit": "µm",
    })
    volume = read_volume(path, channel=1)
    np.testing.assert_array_equal(volume.array, arr[1])
    assert (volume.spacing, volume.unit) == ((2.0, 0.5, 0.5), "µm")


def test_ome_unknown_unit(tmp_path):
    path = tmp_path / "x.ome.tif"
    tifffile.imwrite(path, np.zeros((4, 5), np.uint8), ome=True,
                     metadata={"axes": "YX", "PhysicalSizeX": 1, "PhysicalSizeXUnit": "parsec"})
    with pytest.raises(InputError, match=r"cannot read '.*x\.ome\.tif': unknown unit 'parsec'") as info:
        read_volume(path)
    _one_line(info)


def _imagej_and_ome(path, ome_z, ij_z, ij_unit="micron", ij_xy=1.0):
    """A TIFF with both an OME-XML and an ImageJ description (as some
    exporters write): the ImageJ one is a second ImageDescription tag."""
    arr = np.zeros((3, 4, 5), np.uint8)
    ome = path.with_name("ome.ome.tif")
    tifffile.imwrite(ome, arr, ome=True, metadata={
        "axes": "ZYX", "PhysicalSizeX": 1.0, "PhysicalSizeY": 1.0, "PhysicalSizeZ": ome_z,
        "PhysicalSizeXUnit": "µm", "PhysicalSizeYUnit": "µm", "PhysicalSizeZUnit": "µm",
    })
    with tifffile.TiffFile(ome) as tif:
        xml = tif.ome_metadata
    ome.unlink()
    ij = tifffile.imagej_description(arr.shape, axes="ZYX", spacing=ij_z, unit=ij_unit)
    tifffile.imwrite(path, arr, description=xml.encode(), photometric="minisblack", metadata=None,
                     resolution=(1 / ij_xy, 1 / ij_xy), extratags=[(65000, "s", 0, ij, True)])
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages[0].offset
    for i in range(struct.unpack_from("<H", data, offset)[0]):
        entry = offset + 2 + 12 * i
        if struct.unpack_from("<H", data, entry)[0] == 65000:
            struct.pack_into("<H", data, entry, 270)  # a second ImageDescription
    path.write_bytes(bytes(data))
    with tifffile.TiffFile(path) as tif:
        assert tif.is_ome and tif.is_imagej


def test_contradictory_imagej_and_ome_calibration(tmp_path):
    path = tmp_path / "x.tif"
    _imagej_and_ome(path, ome_z=4.0, ij_z=5.0)
    with pytest.raises(InputError) as info:
        read_volume(path)
    assert _one_line(info) == (
        f"cannot read '{path}': contradictory calibration: "
        "ImageJ says 5 x 1 x 1 µm, OME says 4 x 1 x 1 µm"
    )
    _imagej_and_ome(path, ome_z=4.0, ij_z=4000.0, ij_unit="nm", ij_xy=1000.0)  # the same, in nm
    volume = read_volume(path)
    assert (volume.spacing, volume.unit, volume.format) == ((4.0, 1.0, 1.0), "µm", "ome-tiff")


def test_baseline_resolution_tags(tmp_path):
    path = tmp_path / "scan.tif"
    tifffile.imwrite(path, np.zeros((4, 5), np.uint8), photometric="minisblack", metadata=None,
                     resolution=(20000, 10000), resolutionunit="CENTIMETER")
    volume = read_volume(path)
    assert (volume.spacing, volume.unit, volume.format) == ((1.0, 0.5), "µm", "tiff")
    tifffile.imwrite(path, np.zeros((3, 4, 5), np.uint8), photometric="minisblack", metadata=None,
                     resolution=(254, 254), resolutionunit="INCH")
    volume = read_volume(path)
    assert volume.spacing == pytest.approx((100.0, 100.0, 100.0)) and volume.unit == "µm"
    assert "does not record its z step" in volume.notes[0]
    for unit, res in (("NONE", (2, 2)), ("INCH", (1, 1))):
        tifffile.imwrite(path, np.zeros((4, 5), np.uint8), photometric="minisblack", metadata=None,
                         resolution=res, resolutionunit=unit)
        volume = read_volume(path)
        assert volume.spacing is None and volume.unit is None
        assert volume.notes == (f"'{path}' has no calibration: isotropic voxels assumed",)


def test_shaped_tiff_unit(tmp_path):
    path = tmp_path / "x.tif"
    arr = _array(np.int32, (3, 4, 5))
    write_volume(path, arr, spacing=(2.0, 0.5, 0.5), unit="nm")
    with tifffile.TiffFile(path) as tif:
        assert tif.shaped_metadata[0]["unit"] == "nm"
        page = tif.pages[0]
        assert page.tags["ResolutionUnit"].value == tifffile.RESUNIT.CENTIMETER
    volume = read_volume(path)
    assert (volume.spacing, volume.unit, volume.format) == ((2.0, 0.5, 0.5), "nm", "tiff")
    tifffile.imwrite(path, arr, photometric="minisblack", metadata={"spacing": [1, 1, 1], "unit": "ell"})
    with pytest.raises(InputError, match="unknown unit 'ell'"):
        read_volume(path)


def test_imagej_output_names_micron(tmp_path):
    path = tmp_path / "x.tif"
    write_volume(path, np.zeros((3, 4, 5), np.uint8), spacing=(2.0, 0.5, 0.5), unit="µm")
    with tifffile.TiffFile(path) as tif:
        assert tif.imagej_metadata["unit"] == "micron"


def test_ome_output_metadata(tmp_path):
    path = tmp_path / "x.ome.tif"
    write_volume(path, np.zeros((3, 4, 5), bool), spacing=(2.0, 0.5, 0.25), unit="µm")
    with tifffile.TiffFile(path) as tif:
        xml = tif.ome_metadata
    assert 'PhysicalSizeZ="2.0"' in xml and 'PhysicalSizeXUnit="µm"' in xml and 'Type="bit"' in xml


# ---------------------------------------------------------------------------
# .npy sidecar
# ---------------------------------------------------------------------------


def test_npy_sidecar_written_and_read(tmp_path):
    path = tmp_path / "v.npy"
    write_volume(path, np.zeros((3, 4, 5), np.uint8), spacing=(2.0, 0.5, 0.5), unit="um")
    assert json.loads((tmp_path / "v.json").read_text(encoding="utf-8")) == {
        "spacing": [2.0, 0.5, 0.5], "unit": "µm"
    }
    (tmp_path / "v.json").write_text('{"unit": "nm"}')  # a unit only: one unit per voxel
    volume = read_volume(path)
    assert (volume.spacing, volume.unit) == ((1.0, 1.0, 1.0), "nm")
    (tmp_path / "v.json").write_text('{"spacing": [3, 2, 1]}')
    assert (read_volume(path).spacing, read_volume(path).unit) == ((3.0, 2.0, 1.0), None)


BAD_SIDECARS = {
    "bad json": ('{"spacing": [1, 1, ', "not valid JSON"),
    "wrong length": ('{"spacing": [1, 1]}', "'spacing' has 2 values but the array has 3 dimensions"),
    "zero": ('{"spacing": [0, 1, 1]}', "spacing values must be positive and finite"),
    "negative": ('{"spacing": [1, -1, 1]}', "spacing values must be positive and finite"),
    "nan": ('{"spacing": [1, NaN, 1]}', "spacing values must be positive and finite"),
    "not numbers": ('{"spacing": "1,1,1"}', "'spacing' must be a list of numbers"),
    "unknown unit": ('{"spacing": [1, 1, 1], "unit": "furlong"}', "unknown unit 'furlong'"),
    "unknown key": ('{"spacing": [1, 1, 1], "units": "nm"}', "unexpected key 'units'"),
}


@pytest.mark.parametrize("bad", sorted(BAD_SIDECARS))
def test_bad_sidecar_is_one_line_naming_it(tmp_path, bad):
    text, words = BAD_SIDECARS[bad]
    path = tmp_path / "v.npy"
    np.save(path, np.zeros((3, 4, 5), np.uint8))
    side = tmp_path / "v.json"
    side.write_text(text)
    with pytest.raises(InputError) as info:
        read_volume(path)
    msg = _one_line(info)
    assert msg.startswith(f"cannot read '{side}' (calibration of '{path}'): ")
    assert words in msg


def test_foreign_json_is_neither_read_nor_overwritten(tmp_path):
    path = tmp_path / "results.npy"
    np.save(path, np.zeros((3, 4), np.uint8))
    side = tmp_path / "results.json"
    side.write_text('{"metrics": [1, 2]}')
    volume = read_volume(path)
    assert volume.spacing is None
    assert volume.notes[0] == f"'{side}' holds no 'spacing' or 'unit': not used as calibration"
    with pytest.raises(InputError, match="exists and is not a calibration sidecar") as info:
        write_volume(path, np.ones((3, 4), np.uint8), spacing=(1.0, 1.0))
    _one_line(info)
    write_volume(path, np.ones((3, 4), np.uint8))  # no spacing: the JSON file is left alone
    assert side.read_text() == '{"metrics": [1, 2]}'
    assert _files(tmp_path) == ["results.json", "results.npy"]


# ---------------------------------------------------------------------------
# OME-Zarr written by other tools (zarr directly: NGFF 0.4 / Zarr v2 and 0.5 / v3)
# ---------------------------------------------------------------------------


def _ome_zarr(path, arr, axes, scale, version="0.4", top_scale=None, attrs=None):
    import zarr

    fmt = 2 if version == "0.4" else 3
    root = zarr.open_group(store=str(path), mode="w", zarr_format=fmt)
    data = root.create_array("s0", shape=arr.shape, dtype=arr.dtype, chunks=arr.shape)
    data[...] = arr
    multiscale = {
        "version": version,
        "axes": axes,
        "datasets": [{"path": "s0", "coordinateTransformations": [{"type": "scale", "scale": scale}]}],
    }
    if top_scale is not None:
        multiscale["coordinateTransformations"] = [{"type": "scale", "scale": top_scale}]
    if fmt == 2:
        root.attrs["multiscales"] = [multiscale]
    else:
        del multiscale["version"]
        root.attrs["ome"] = {"version": version, "multiscales": [multiscale]}
    if attrs:
        root.attrs.update(attrs)


def _axis(name, kind, unit=None):
    axis = {"name": name, "type": kind}
    if unit is not None:
        axis["unit"] = unit
    return axis


ZYX_UNITS = [_axis("z", "space", "micrometer"), _axis("y", "space", "nanometer"),
             _axis("x", "space", "nanometer")]


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_spacing_is_dataset_times_multiscale_scale(tmp_path, version):
    arr = _array(np.uint16, (3, 4, 5))
    path = tmp_path / "x.ome.zarr"
    _ome_zarr(path, arr, ZYX_UNITS, [2.0, 100.0, 100.0], version, top_scale=[1.0, 2.0, 2.0])
    volume = read_volume(path)
    np.testing.assert_array_equal(volume.array, arr)
    assert (volume.spacing, volume.unit, volume.format) == ((2000.0, 200.0, 200.0), "nm", "ome-zarr")


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_channel_axis(tmp_path, version):
    arr = _array(np.uint8, (1, 2, 3, 4, 5))
    axes = [_axis("t", "time", "second"), _axis("c", "channel"), *ZYX_UNITS]
    path = tmp_path / "x.zarr"
    _ome_zarr(path, arr, axes, [1.0, 1.0, 2.0, 100.0, 100.0], version)
    with pytest.raises(InputError) as info:
        read_volume(path)
    assert _one_line(info) == (
        f"cannot read '{path}': it is a 2-channel image (axes TCZYX); "
        "choose a channel with channel=N (0 to 1)"
    )
    assert info.value.option == "channel"
    with pytest.raises(InputError, match=r"choose a channel with --channel N"):
        read_volume(path, option_names={"channel": "--channel"})
    volume = read_volume(path, channel=1)
    np.testing.assert_array_equal(volume.array, arr[0, 1])
    assert (volume.spacing, volume.unit) == ((2000.0, 100.0, 100.0), "nm")
    with pytest.raises(InputError, match="there is no channel 2; the image has 2 channels") as info:
        read_volume(path, channel=2)
    assert info.value.option == "channel"


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_time_series_is_refused(tmp_path, version):
    arr = np.zeros((3, 4, 5), np.uint8)
    axes = [_axis("t", "time", "second"), _axis("y", "space", "micrometer"), _axis("x", "space", "micrometer")]
    path = tmp_path / "x.zarr"
    _ome_zarr(path, arr, axes, [1.0, 0.5, 0.5], version)
    with pytest.raises(InputError) as info:
        read_volume(path, channel=0)
    assert _one_line(info) == (
        f"cannot read '{path}': it is a time series (3 time points, axes TYX); "
        "time series are not supported, save one time point as a 2D/3D image"
    )


def test_ome_zarr_without_multiscales(tmp_path):
    import zarr

    path = tmp_path / "x.zarr"
    zarr.open_group(store=str(path), mode="w", zarr_format=2).attrs["something"] = 1
    with pytest.raises(InputError) as info:
        read_volume(path)
    assert _one_line(info) == f"cannot read '{path}': not an OME-Zarr image (no 'multiscales' metadata)"


def test_plain_zarr_array_is_read_uncalibrated(tmp_path):
    import zarr

    path = tmp_path / "x.zarr"
    arr = _array(np.float32, (3, 4, 5))
    zarr.create_array(store=str(path), shape=arr.shape, dtype=arr.dtype)[...] = arr
    volume = read_volume(path)
    np.testing.assert_array_equal(volume.array, arr)
    assert (volume.spacing, volume.format) == (None, "zarr")


def test_ome_zarr_unknown_unit_and_garbage(tmp_path):
    path = tmp_path / "x.zarr"
    _ome_zarr(path, np.zeros((4, 5), np.uint8),
              [_axis("y", "space", "furlong"), _axis("x", "space", "furlong")], [1.0, 1.0])
    with pytest.raises(InputError, match=r"cannot read '.*x\.zarr': unknown unit 'furlong'") as info:
        read_volume(path)
    _one_line(info)
    garbage = tmp_path / "garbage.zarr"
    garbage.mkdir()
    (garbage / "notes.txt").write_text("hello")
    with pytest.raises(InputError) as info:
        read_volume(garbage)
    assert _one_line(info) == f"cannot read '{garbage}': not a Zarr store (no .zgroup, .zarray or zarr.json)"
    with pytest.raises(FileNotFoundError):
        read_volume(tmp_path / "missing.zarr")
    broken = tmp_path / "broken.zarr"
    broken.mkdir()
    (broken / ".zgroup").write_text("{not json")
    with pytest.raises(InputError) as info:
        read_volume(broken)
    _one_line(info, broken)


def test_bioformats2raw_layout_needs_a_series(tmp_path):
    import zarr

    path = tmp_path / "x.ome.zarr"
    root = zarr.open_group(store=str(path), mode="w", zarr_format=2)
    root.attrs["bioformats2raw.layout"] = 3
    for i, shape in enumerate([(4, 5), (6, 7)]):
        _ome_zarr(path / str(i), np.full(shape, i, np.uint8),
                  [_axis("y", "space", "micrometer"), _axis("x", "space", "micrometer")], [0.5, 0.5])
    with pytest.raises(InputError, match="holds 2 images .*choose one with series=N") as info:
        read_volume(path)
    assert info.value.option == "series"
    volume = read_volume(path, series=1)
    assert volume.array.shape == (6, 7) and volume.spacing == (0.5, 0.5)


# ---------------------------------------------------------------------------
# NIfTI and NRRD written by other tools
# ---------------------------------------------------------------------------


def test_nifti_axes_and_time(tmp_path):
    import nibabel as nib

    xyz = _array(np.int16, (5, 4, 3))  # x, y, z
    img = nib.Nifti1Image(xyz, np.diag([0.5, 0.25, 2.0, 1.0]))
    img.header.set_xyzt_units("mm")
    path = tmp_path / "brain.nii.gz"
    nib.save(img, path)
    volume = read_volume(path)
    np.testing.assert_array_equal(volume.array, xyz.transpose())
    assert (volume.spacing, volume.unit) == ((2.0, 0.25, 0.5), "mm")
    nib.save(nib.Nifti1Image(np.zeros((5, 4, 3, 2), np.uint8), np.eye(4)), path)
    with pytest.raises(InputError, match=r"it is a time series \(2 time points, axes XYZT\)") as info:
        read_volume(path)
    _one_line(info)
    nib.save(nib.Nifti1Image(np.zeros((5, 4, 3, 1), np.uint8), np.eye(4)), path)
    volume = read_volume(path)
    assert volume.array.shape == (3, 4, 5) and volume.spacing is None  # unit unknown, voxels of 1


def test_nrrd_from_other_tools(tmp_path):
    import nrrd

    path = tmp_path / "x.nrrd"
    arr = _array(np.uint8, (3, 4, 5))
    # header fields list the axes in file order: x, y, z
    nrrd.write(str(path), arr, {"spacings": [0.5, 0.25, 2.0], "units": ["nm", "nm", "microns"]},
               index_order="C")
    volume = read_volume(path)
    np.testing.assert_array_equal(volume.array, arr)
    assert (volume.spacing, volume.unit, volume.format) == ((2000.0, 0.25, 0.5), "nm", "nrrd")
    vec = _array(np.uint8, (3, 4, 5, 2))  # a 2-vector per voxel: the fastest axis in the file
    directions = np.array([[np.nan] * 3, [0.5, 0, 0], [0, 0.25, 0], [0, 0, 2.0]])
    nrrd.write(str(path), vec, {"kinds": ["vector", "domain", "domain", "domain"],
                                "space dimension": 3, "space directions": directions,
                                "space units": ["mm", "mm", "mm"]}, index_order="C")
    with pytest.raises(InputError, match=r"it is a 2-channel image") as info:
        read_volume(path)
    assert info.value.option == "channel"
    volume = read_volume(path, channel=1)
    np.testing.assert_array_equal(volume.array, vec[..., 1])
    assert (volume.spacing, volume.unit) == ((2.0, 0.25, 0.5), "mm")


def test_nrrd_time_axis_is_refused(tmp_path):
    import nrrd

    path = tmp_path / "x.nrrd"
    nrrd.write(str(path), np.zeros((3, 4, 5), np.uint8), {"kinds": ["domain", "domain", "time"]},
               index_order="F")
    with pytest.raises(InputError, match=r"it is a time series \(5 time points") as info:
        read_volume(path)
    _one_line(info)
    path.write_bytes(b"not an nrrd")
    with pytest.raises(InputError, match="not an NRRD file"):
        read_volume(path)


def test_unit_conversion_is_exact_for_decimal_factors():
    from napari_soft_skeleton.io._units import unit_factor

    assert unit_factor("µm", "nm") == 1000.0
    assert unit_factor("in", "µm") == 25400.0
    assert math.isclose(unit_factor("nm", "µm"), 1e-3)
