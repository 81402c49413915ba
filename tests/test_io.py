"""Tests for napari_soft_skeleton.io: round trips, ImageJ layout, atomic writes, errors."""

import os

import numpy as np
import pytest
import tifffile

from napari_soft_skeleton import io as sio
from napari_soft_skeleton.io import InputError, MissingInputError, read_volume, write_volume


def _volume(dtype, shape=(6, 7, 8), seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == np.bool_:
        return rng.random(shape) > 0.5
    if np.dtype(dtype).kind == "f":
        return (rng.random(shape) * 10 - 2).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -1000), min(info.max, 1000), size=shape, endpoint=True).astype(
        dtype
    )


def _leftovers(directory, keep):
    return sorted(p for p in os.listdir(directory) if p not in keep)


# ---------------------------------------------------------------------------
# round trips
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.uint16, np.float32, np.int32])
@pytest.mark.parametrize("ext", [".tif", ".tiff"])
def test_tiff_round_trip_3d_anisotropic(tmp_path, dtype, ext):
    arr = _volume(dtype)
    spacing = (2.5, 0.3, 0.123456789)
    path = tmp_path / f"vol{ext}"
    write_volume(path, arr, spacing=spacing)
    back, sp = read_volume(path)
    assert back.dtype == arr.dtype
    assert back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)
    assert sp == spacing


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.uint16, np.float32, np.int32, np.float64])
def test_tiff_round_trip_2d(tmp_path, dtype):
    arr = _volume(dtype, shape=(9, 13))
    path = tmp_path / "img.tif"
    write_volume(path, arr, spacing=(0.5, 0.25))
    back, sp = read_volume(path)
    assert back.dtype == arr.dtype and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)
    assert sp == (0.5, 0.25)


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.uint16, np.float32, np.int32, np.int64])
def test_npy_round_trip(tmp_path, dtype):
    arr = _volume(dtype)
    path = tmp_path / "vol.npy"
    write_volume(path, arr, spacing=(2.0, 1.0, 1.0))  # spacing is not stored in .npy
    back, sp = read_volume(path)
    assert back.dtype == arr.dtype
    np.testing.assert_array_equal(back, arr)
    assert sp is None


def test_no_spacing_reads_none(tmp_path):
    for dtype in (np.uint8, np.int32):
        path = tmp_path / f"v_{np.dtype(dtype).name}.tif"
        write_volume(path, _volume(dtype))
        assert read_volume(path)[1] is None


def test_unit_spacing_round_trips_exactly(tmp_path):
    path = tmp_path / "v.tif"
    write_volume(path, _volume(np.uint8), spacing=(1.0, 1.0, 1.0))
    assert read_volume(path)[1] == (1.0, 1.0, 1.0)
    write_volume(path, _volume(np.uint8, shape=(5, 6)), spacing=(1, 1))
    assert read_volume(path)[1] == (1.0, 1.0)


@pytest.mark.parametrize("shape", [(1, 7, 8), (1, 1, 8), (3, 1, 4), (7, 1), (2, 3, 4, 5)])
def test_singleton_and_other_shapes_are_kept(tmp_path, shape):
    arr = _volume(np.uint8, shape=shape)
    path = tmp_path / "v.tif"
    write_volume(path, arr, spacing=tuple(float(i + 1) for i in range(len(shape))))
    back, sp = read_volume(path)
    assert back.shape == shape
    np.testing.assert_array_equal(back, arr)
    assert sp == tuple(float(i + 1) for i in range(len(shape)))


def test_three_channel_like_shape_is_not_rgb(tmp_path):
    arr = _volume(np.uint8, shape=(5, 6, 3))
    path = tmp_path / "v.tif"
    write_volume(path, arr)
    np.testing.assert_array_equal(read_volume(path)[0], arr)


# ---------------------------------------------------------------------------
# ImageJ compatibility
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.uint16, np.float32])
def test_imagej_layout_for_supported_dtypes(tmp_path, dtype):
    path = tmp_path / "v.tif"
    write_volume(path, _volume(dtype), spacing=(2.0, 0.5, 0.25))
    with tifffile.TiffFile(path) as tif:
        assert tif.is_imagej
        assert tif.series[0].axes == "ZYX"
        assert tif.imagej_metadata["spacing"] == 2.0
        page = tif.pages[0]
        xnum, xden = page.tags["XResolution"].value
        ynum, yden = page.tags["YResolution"].value
        assert xnum / xden == pytest.approx(4.0)
        assert ynum / yden == pytest.approx(2.0)
        assert page.compression == tifffile.COMPRESSION.ADOBE_DEFLATE
        stored = tif.asarray()
    if dtype is bool:  # stored as uint8 0/1 for ImageJ
        assert stored.dtype == np.uint8 and set(np.unique(stored)) <= {0, 1}


def test_plain_tiff_for_other_dtypes(tmp_path):
    path = tmp_path / "v.tif"
    write_volume(path, _volume(np.int32), spacing=(2.0, 0.5, 0.25))
    with tifffile.TiffFile(path) as tif:
        assert not tif.is_imagej
        assert tif.shaped_metadata[0]["spacing"] == [2.0, 0.5, 0.25]
        assert tif.pages[0].compression == tifffile.COMPRESSION.ADOBE_DEFLATE


def test_reads_spacing_of_external_imagej_file(tmp_path):
    arr = _volume(np.uint16)
    path = tmp_path / "fiji.tif"
    tifffile.imwrite(
        path, arr, imagej=True, resolution=(1 / 0.5, 1 / 0.25),
        metadata={"spacing": 3.0, "unit": "um", "axes": "ZYX"},
    )
    back, sp = read_volume(path)
    np.testing.assert_array_equal(back, arr)
    assert sp == pytest.approx((3.0, 0.25, 0.5))


def test_uncalibrated_external_files_have_no_spacing(tmp_path):
    arr = _volume(np.uint8)
    p1 = tmp_path / "ij.tif"
    tifffile.imwrite(p1, arr, imagej=True, metadata={"axes": "ZYX"})
    p2 = tmp_path / "plain.tif"
    tifffile.imwrite(p2, arr, photometric="minisblack", metadata=None)
    for p in (p1, p2):
        back, sp = read_volume(p)
        np.testing.assert_array_equal(back, arr)
        assert sp is None


def test_does_not_modify_input(tmp_path):
    path = tmp_path / "v.tif"
    write_volume(path, _volume(np.uint8), spacing=(2.0, 1.0, 1.0))
    before = path.read_bytes()
    read_volume(path)
    assert path.read_bytes() == before


# ---------------------------------------------------------------------------
# atomic writes
# ---------------------------------------------------------------------------


def _partial_writer(exc):
    def fail(fh, *args, **kwargs):
        fh.write(b"II*\x00partial data")
        raise exc

    return fail


@pytest.mark.parametrize("ext", [".tif", ".npy"])
@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_failed_write_leaves_nothing(tmp_path, monkeypatch, ext, exc):
    target = "tifffile.imwrite" if ext == ".tif" else "numpy.save"
    module, name = target.split(".")
    monkeypatch.setattr(sio.tifffile if module == "tifffile" else sio.np, name, _partial_writer(exc))
    path = tmp_path / f"out{ext}"
    with pytest.raises(type(exc)):
        write_volume(path, _volume(np.uint8))
    assert not path.exists()
    assert _leftovers(tmp_path, keep=()) == []


@pytest.mark.parametrize("ext", [".tif", ".npy"])
def test_failed_write_keeps_existing_file(tmp_path, monkeypatch, ext):
    path = tmp_path / f"out{ext}"
    original = _volume(np.uint16)
    write_volume(path, original, spacing=(2.0, 1.0, 1.0))
    before = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    if ext == ".tif":
        monkeypatch.setattr(sio.tifffile, "imwrite", _partial_writer(OSError(5, "I/O error")))
    else:
        monkeypatch.setattr(sio.np, "save", _partial_writer(OSError(5, "I/O error")))
    with pytest.raises(OSError):
        write_volume(path, _volume(np.uint8, seed=1))
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == mtime
    assert _leftovers(tmp_path, keep=(path.name,)) == []
    monkeypatch.undo()
    np.testing.assert_array_equal(read_volume(path)[0], original)


def test_overwrite_and_no_overwrite(tmp_path):
    path = tmp_path / "out.npy"
    write_volume(path, np.zeros((3, 4)))
    write_volume(path, np.ones((3, 4)))  # overwrite=True is the default
    np.testing.assert_array_equal(read_volume(path)[0], np.ones((3, 4)))
    with pytest.raises(FileExistsError):
        write_volume(path, np.full((3, 4), 2.0), overwrite=False)
    np.testing.assert_array_equal(read_volume(path)[0], np.ones((3, 4)))
    new = tmp_path / "new.npy"
    write_volume(new, np.full((3, 4), 2.0), overwrite=False)
    assert new.exists()
    assert _leftovers(tmp_path, keep=("out.npy", "new.npy")) == []


def test_new_file_gets_normal_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = tmp_path / "out.tif"
        write_volume(path, _volume(np.uint8))
        assert path.stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(umask)


def test_atomic_write_text_and_callable(tmp_path):
    path = tmp_path / "x.json"
    sio.atomic_write(path, '{"a": 1}\n')
    assert path.read_text() == '{"a": 1}\n'
    sio.atomic_write(path, lambda fh: fh.write(b"[]"))
    assert path.read_bytes() == b"[]"
    with pytest.raises(RuntimeError):
        sio.atomic_write(path, lambda fh: (fh.write(b"half"), (_ for _ in ()).throw(RuntimeError("x"))))
    assert path.read_bytes() == b"[]"
    assert _leftovers(tmp_path, keep=("x.json",)) == []


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        read_volume(tmp_path / "nope.tif")
    assert isinstance(info.value, MissingInputError)
    assert isinstance(info.value, InputError)
    assert str(info.value) == f"cannot read '{tmp_path / 'nope.tif'}': no such file"


def test_garbage_tiff(tmp_path):
    path = tmp_path / "x.tif"
    path.write_bytes(b"this is not an image at all\n" * 10)
    with pytest.raises(InputError) as info:
        read_volume(path)
    assert str(info.value) == f"cannot read '{path}': not a TIFF file"


def test_truncated_tiff(tmp_path):
    path = tmp_path / "x.tif"
    write_volume(path, _volume(np.float32, shape=(20, 30, 30)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError) as info:
        read_volume(path)
    msg = str(info.value)
    assert msg.startswith(f"cannot read '{path}': ") and "\n" not in msg


def test_garbage_npy(tmp_path):
    path = tmp_path / "x.npy"
    path.write_bytes(b"\x00\x01garbage")
    with pytest.raises(InputError, match=r"not a NumPy \.npy file"):
        read_volume(path)


def test_truncated_npy(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(1000.0))
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(InputError, match=r"^cannot read '.*x\.npy': "):
        read_volume(path)


def test_object_npy_is_refused(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="Python objects"):
        read_volume(path)


def test_unsupported_extension(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"\x89PNG")
    with pytest.raises(InputError) as info:
        read_volume(path)
    assert str(info.value) == (
        f"unsupported file type '.png' for '{path}'; expected .tif, .tiff or .npy"
    )
    with pytest.raises(InputError, match="unsupported file type '.png'"):
        write_volume(path, np.zeros((3, 3)))
    with pytest.raises(InputError, match=r"unsupported file type \(none\)"):
        read_volume(tmp_path / "noext")


def test_directory_and_missing_directory(tmp_path):
    d = tmp_path / "dir.tif"
    d.mkdir()
    with pytest.raises(InputError, match="is a directory"):
        read_volume(d)
    with pytest.raises(InputError, match="is a directory"):
        write_volume(d, np.zeros((3, 3), np.uint8))
    with pytest.raises(InputError, match="does not exist"):
        write_volume(tmp_path / "missing" / "x.tif", np.zeros((3, 3), np.uint8))


def test_bad_spacing_and_arrays(tmp_path):
    path = tmp_path / "x.tif"
    with pytest.raises(InputError, match="3 dimensions"):
        write_volume(path, np.zeros((3, 3, 3), np.uint8), spacing=(1.0, 1.0))
    with pytest.raises(InputError, match="positive"):
        write_volume(path, np.zeros((3, 3), np.uint8), spacing=(1.0, -1.0))
    with pytest.raises(InputError, match="at least 2 dimensions"):
        write_volume(path, np.zeros(5, np.uint8))
    with pytest.raises(InputError, match="unsupported data type"):
        write_volume(path, np.array([["a", "b"]]))
    assert not path.exists()
    assert _leftovers(tmp_path, keep=()) == []


def test_check_output_path(tmp_path):
    sio.check_output_path(tmp_path / "ok.tif")
    with pytest.raises(InputError, match="expected .json"):
        sio.check_output_path(tmp_path / "x.txt", extensions=(".json",))
    with pytest.raises(InputError, match="does not exist"):
        sio.check_output_path(tmp_path / "no" / "x.npy")
