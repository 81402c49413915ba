"""Tests for napari_soft_skeleton.io: round trips, ImageJ layout, atomic writes,
errors, truncated/corrupt TIFFs, series and channel selection."""

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
    write_volume(path, arr, spacing=(2.0, 1.0, 1.0))  # spacing goes to the sidecar vol.json
    back, sp = read_volume(path)
    assert back.dtype == arr.dtype
    np.testing.assert_array_equal(back, arr)
    assert sp == (2.0, 1.0, 1.0)
    write_volume(path, arr)  # without spacing: the sidecar is removed
    assert read_volume(path)[1] is None
    assert not (tmp_path / "vol.json").exists()


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
    assert _leftovers(tmp_path, keep=(path.name, "out.json")) == []  # .npy: its sidecar
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
        f"unsupported file type '.png' for '{path}'; expected .tif, .tiff, .ome.tif, .ome.tiff, "
        ".npy, .zarr, .ome.zarr, .nii, .nii.gz or .nrrd"
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


# ---------------------------------------------------------------------------
# truncated and corrupt TIFF files: an error, never a partial image (issue 8)
# ---------------------------------------------------------------------------


def _stack(shape=(20, 32, 32), dtype=np.uint8):
    return _volume(dtype, shape=shape, seed=3)


def _plain_pages(path, arr, **kwargs):
    """Plain multi-page TIFF without any metadata (one page per slice)."""
    with tifffile.TiffWriter(path) as tif:
        for page in arr:
            tif.write(page, metadata=None, **kwargs)


_LAYOUTS = {
    "imagej": lambda p, a: tifffile.imwrite(p, a, imagej=True, metadata={"axes": "ZYX"}),
    "imagej-zlib": lambda p, a: tifffile.imwrite(
        p, a, imagej=True, compression="zlib", metadata={"axes": "ZYX"}
    ),
    "shaped": lambda p, a: tifffile.imwrite(p, a, photometric="minisblack"),
    "shaped-zlib": lambda p, a: tifffile.imwrite(
        p, a, photometric="minisblack", compression="zlib"
    ),
    "plain": _plain_pages,
    "plain-zlib": lambda p, a: _plain_pages(p, a, compression="zlib"),
    "ome": lambda p, a: tifffile.imwrite(p, a, ome=True, metadata={"axes": "ZYX"}),
    "write_volume-uint8": lambda p, a: write_volume(p, a, spacing=(2.0, 0.5, 0.5)),
    "write_volume-int32": lambda p, a: write_volume(p, a.astype(np.int32), spacing=(2.0, 0.5, 0.5)),
}


def _cut_points(path):
    """Byte counts to keep: fractions of the file, inside the first page's
    data, inside the first, a middle and the last page directory (IFD)."""
    size = path.stat().st_size
    with tifffile.TiffFile(path) as tif:
        offsets = [page.offset for page in tif.pages]
        first = tif.pages[0]
        data_start, data_len = first.dataoffsets[0], first.databytecounts[0]
    return {
        "20%": size * 20 // 100,
        "60%": size * 60 // 100,
        "95%": size * 95 // 100,
        "first page data": data_start + data_len // 2,
        "first IFD": offsets[0] + 5,
        "middle IFD": offsets[len(offsets) // 2] + 5,
        "last IFD": offsets[-1] + 5,
        "last byte": size - 1,
    }


def _no_tifffile_output(capfd, caplog):
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert [r for r in caplog.records if r.name.startswith("tifffile")] == []


def test_truncated_imagej_stack_is_an_error_not_one_slice(tmp_path, capfd, caplog):
    arr = _stack((58, 64, 64))
    full = tmp_path / "full.tif"
    tifffile.imwrite(full, arr, imagej=True, metadata={"axes": "ZYX"})
    data = full.read_bytes()
    path = tmp_path / "x.tif"
    path.write_bytes(data[: len(data) * 60 // 100])
    with pytest.raises(InputError) as info:
        read_volume(path)
    assert str(info.value) == (
        f"cannot read '{path}': truncated or corrupt TIFF: "
        "the ImageJ header describes 58 images but only 1 page is readable"
    )
    _no_tifffile_output(capfd, caplog)


def test_truncated_compressed_imagej_counts_readable_pages(tmp_path, capfd, caplog):
    arr = _stack((58, 64, 64))
    path = tmp_path / "x.tif"
    write_volume(path, arr, spacing=(2.0, 1.0, 1.0))
    with tifffile.TiffFile(path) as tif:
        offsets = [page.offset for page in tif.pages]
    path.write_bytes(path.read_bytes()[: offsets[34]])  # pages 1..34 intact
    with pytest.raises(InputError) as info:
        read_volume(path)
    assert str(info.value) == (
        f"cannot read '{path}': truncated or corrupt TIFF: "
        "the ImageJ header describes 58 images but only 34 pages are readable"
    )
    _no_tifffile_output(capfd, caplog)


@pytest.mark.parametrize(
    "cut",
    ["20%", "60%", "95%", "first page data", "first IFD", "middle IFD", "last IFD", "last byte"],
)
@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
def test_truncated_tiff_is_an_error_or_complete(tmp_path, capfd, caplog, layout, cut):
    arr = _stack()
    full = tmp_path / "full.tif"
    _LAYOUTS[layout](full, arr)
    expected, expected_spacing = read_volume(full)
    assert expected.shape == arr.shape
    keep = _cut_points(full)[cut]
    path = tmp_path / "cut.tif"
    path.write_bytes(full.read_bytes()[:keep])
    try:
        back, spacing = read_volume(path)
    except InputError as exc:
        msg = str(exc)
        assert msg.startswith(f"cannot read '{path}': ") and "\n" not in msg
        assert "truncated or corrupt TIFF" in msg or "not a TIFF file" in msg
    else:  # only acceptable if nothing that matters was lost
        assert back.shape == expected.shape
        np.testing.assert_array_equal(back, expected)
        assert spacing == expected_spacing
    _no_tifffile_output(capfd, caplog)


def _ifd_next_pointer_position(data, ifd_offset):
    count = int.from_bytes(data[ifd_offset : ifd_offset + 2], "little")
    return ifd_offset + 2 + 12 * count


@pytest.mark.parametrize("target", ["past the end", "back to page 1"])
def test_broken_page_chain_is_an_error(tmp_path, capfd, caplog, target):
    arr = _stack((20, 16, 16), np.uint16)
    path = tmp_path / "x.tif"
    _plain_pages(path, arr)
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        offsets = [page.offset for page in tif.pages]
    pos = _ifd_next_pointer_position(data, offsets[9])
    value = len(data) + 1000 if target == "past the end" else offsets[0]
    data[pos : pos + 4] = value.to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as info:
        read_volume(path)
    assert str(info.value).startswith(
        f"cannot read '{path}': truncated or corrupt TIFF: "
        "the list of pages is broken after page 10"
    )
    _no_tifffile_output(capfd, caplog)


def test_imagej_stack_with_a_single_page_directory_still_reads(tmp_path):
    # ImageJ writes stacks over 4 GB with one IFD and contiguous data; that
    # layout is valid and must not be mistaken for a truncated file
    arr = _stack((12, 16, 16), np.uint16)
    path = tmp_path / "x.tif"
    tifffile.imwrite(
        path, arr, imagej=True, resolution=(2.0, 2.0), metadata={"axes": "ZYX", "spacing": 3.0}
    )
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        first = tif.pages[0].offset
        data_end = tif.pages[0].dataoffsets[0] + arr.nbytes
    pos = _ifd_next_pointer_position(data, first)
    data[pos : pos + 4] = bytes(4)  # the first page is now the only one
    path.write_bytes(bytes(data))
    with tifffile.TiffFile(path) as tif:
        assert len(tif.pages) == 1
    back, spacing = read_volume(path)
    np.testing.assert_array_equal(back, arr)
    assert spacing == (3.0, 0.5, 0.5)
    path.write_bytes(bytes(data[: data_end - 10]))
    with pytest.raises(InputError, match="corrupt TIFF: the ImageJ header describes 12 images"):
        read_volume(path)


def test_ome_metadata_cut_off_is_an_error(tmp_path, capfd, caplog):
    # tifffile writes the OME-XML after the image data: cutting it off
    # leaves all pages but loses the axes (here: channels)
    arr = _stack((2, 5, 16, 16))
    path = tmp_path / "x.ome.tif"
    tifffile.imwrite(path, arr, ome=True, metadata={"axes": "CZYX"})
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(InputError, match="corrupt TIFF: some metadata lie past the end"):
        read_volume(path, channel=0)
    _no_tifffile_output(capfd, caplog)


def test_tifffile_log_is_silenced_without_logging_setup(tmp_path, monkeypatch):
    """Without any logging configuration (as in the CLI), tifffile's errors
    would go to stderr through logging's last-resort handler."""
    import io
    import logging

    arr = _stack((30, 32, 32))
    path = tmp_path / "x.tif"
    tifffile.imwrite(path, arr, imagej=True, metadata={"axes": "ZYX"})
    path.write_bytes(path.read_bytes()[:20000])
    stream = io.StringIO()
    monkeypatch.setattr(logging.root, "handlers", [])  # pytest's own capture
    monkeypatch.setattr(logging, "lastResort", logging.StreamHandler(stream))
    with pytest.raises(InputError, match="truncated or corrupt TIFF"):
        read_volume(path)
    assert stream.getvalue() == ""
    logging.getLogger("tifffile").error("after the read")  # the set-up does print
    assert stream.getvalue() == "after the read\n"


def test_tifffile_log_passes_outside_reads(tmp_path, caplog):
    path = tmp_path / "x.tif"
    write_volume(path, _stack())
    read_volume(path)
    import logging

    logging.getLogger("tifffile").error("outside a read")
    assert [r.getMessage() for r in caplog.records if r.name == "tifffile"] == ["outside a read"]


def test_benign_tifffile_error_record_is_not_fatal(tmp_path, monkeypatch):
    # only records describing structural damage turn into an error
    arr = _stack()
    path = tmp_path / "x.tif"
    write_volume(path, arr)
    import logging

    real = sio._tiff_read.check_metadata

    def noisy(tif):
        logging.getLogger("tifffile").error("<tifffile.TiffPage 0> incorrect StripByteCounts count")
        return real(tif)

    monkeypatch.setattr(sio._tiff_read, "check_metadata", noisy)
    np.testing.assert_array_equal(read_volume(path)[0], arr)


def test_shaped_metadata_not_matching_the_pages_is_an_error(tmp_path):
    # a 3-slice shaped image followed by two pages without metadata: tifffile
    # gives up on the metadata and would return all 5 pages as one stack
    path = tmp_path / "x.tif"
    with tifffile.TiffWriter(path) as tif:
        tif.write(np.zeros((3, 8, 8), np.uint8), photometric="minisblack")
        tif.write(np.ones((8, 8), np.uint8), metadata=None)
        tif.write(np.ones((8, 8), np.uint8), metadata=None)
    with pytest.raises(InputError) as info:
        read_volume(path)
    assert str(info.value) == (
        f"cannot read '{path}': truncated or corrupt TIFF: "
        "the shape metadata do not match the image data"
    )


def test_concurrent_reads_of_damaged_files(tmp_path, capfd, caplog):
    from concurrent.futures import ThreadPoolExecutor

    good = tmp_path / "good.tif"
    write_volume(good, _stack(), spacing=(2.0, 1.0, 1.0))
    bad = tmp_path / "bad.tif"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])

    def read(path):
        try:
            return read_volume(path)[0].shape
        except InputError as exc:
            return str(exc)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(read, [good, bad] * 8))
    assert results[0::2] == [(20, 32, 32)] * 8
    prefix = f"cannot read '{bad}': truncated or corrupt TIFF"
    assert all(r.startswith(prefix) for r in results[1::2])
    _no_tifffile_output(capfd, caplog)


# ---------------------------------------------------------------------------
# several image series (issue 8)
# ---------------------------------------------------------------------------


def _two_series(path):
    with tifffile.TiffWriter(path) as tif:
        tif.write(np.full((32, 32), 7, np.uint8), metadata=None)
        tif.write(np.arange(2 * 16 * 16, dtype=np.uint8).reshape(2, 16, 16)[0], metadata=None)
        tif.write(np.arange(2 * 16 * 16, dtype=np.uint8).reshape(2, 16, 16)[1], metadata=None)


def test_several_series_need_a_choice(tmp_path):
    path = tmp_path / "x.tif"
    _two_series(path)
    with pytest.raises(InputError) as info:
        read_volume(path)
    assert str(info.value) == (
        f"cannot read '{path}': it holds 2 image series (0: 32x32 uint8, 1: 2x16x16 uint8); "
        "choose one with series=N"
    )
    assert info.value.option == "series"
    with pytest.raises(InputError, match=r"choose one with --series N$"):
        read_volume(path, option_names={"series": "--series"})
    first, _ = read_volume(path, series=0)
    np.testing.assert_array_equal(first, np.full((32, 32), 7, np.uint8))
    second, _ = read_volume(path, series=1)
    np.testing.assert_array_equal(second, np.arange(512, dtype=np.uint8).reshape(2, 16, 16))
    with pytest.raises(InputError) as info:
        read_volume(path, series=2)
    assert str(info.value) == (
        f"cannot read '{path}': there is no image series 2; "
        "the file holds 2 image series (valid: 0 to 1)"
    )
    assert info.value.option == "series"


def test_many_series_are_listed_briefly(tmp_path):
    path = tmp_path / "x.tif"
    with tifffile.TiffWriter(path) as tif:
        for size in range(4, 10):
            tif.write(np.zeros((size, size), np.uint16), metadata=None)
    with pytest.raises(InputError) as info:
        read_volume(path)
    assert "holds 6 image series (0: 4x4 uint16, 1: 5x5 uint16, 2: 6x6 uint16, " in str(info.value)
    assert "3: 7x7 uint16, ...); choose one" in str(info.value)
    assert "8x8" not in str(info.value)
    assert read_volume(path, series=5)[0].shape == (9, 9)


def test_series_of_shaped_file_keeps_its_own_spacing(tmp_path):
    path = tmp_path / "x.tif"
    a, b = _volume(np.int32, (3, 8, 8)), _volume(np.int32, (4, 6, 6), seed=1)
    with tifffile.TiffWriter(path) as tif:
        tif.write(a, photometric="minisblack", metadata={"spacing": [1.0, 2.0, 3.0]})
        tif.write(b, photometric="minisblack", metadata={"spacing": [4.0, 5.0, 6.0]})
    with pytest.raises(InputError, match="holds 2 image series"):
        read_volume(path)
    back, spacing = read_volume(path, series=1)
    np.testing.assert_array_equal(back, b)
    assert spacing == (4.0, 5.0, 6.0)
    assert read_volume(path, series=0)[1] == (1.0, 2.0, 3.0)


def test_ome_file_with_two_images(tmp_path):
    path = tmp_path / "x.ome.tif"
    a, b = _volume(np.uint8, (5, 8, 8)), _volume(np.uint16, (6, 7), seed=1)
    with tifffile.TiffWriter(path, ome=True) as tif:
        tif.write(a, metadata={"axes": "ZYX"})
        tif.write(b, metadata={"axes": "YX"})
    with pytest.raises(InputError, match=r"2 image series \(0: 5x8x8 uint8, 1: 6x7 uint16\)"):
        read_volume(path)
    np.testing.assert_array_equal(read_volume(path, series=1)[0], b)


def test_single_series_and_npy_accept_index_zero_only(tmp_path):
    arr = _volume(np.uint8)
    for name in ("x.tif", "x.npy"):
        path = tmp_path / name
        write_volume(path, arr, spacing=(2.0, 1.0, 1.0))
        np.testing.assert_array_equal(read_volume(path, series=0, channel=0)[0], arr)
        with pytest.raises(InputError, match="there is no image series 1") as info:
            read_volume(path, series=1)
        assert info.value.option == "series"
        with pytest.raises(InputError, match="there is no channel 1") as info:
            read_volume(path, channel=1)
        assert info.value.option == "channel"


@pytest.mark.parametrize("bad", [-1, True, 1.0, "1"])
def test_bad_series_and_channel_values(tmp_path, bad):
    path = tmp_path / "x.npy"
    write_volume(path, np.zeros((3, 3)))
    with pytest.raises(InputError, match=r"^--series must be a non-negative integer") as info:
        read_volume(path, series=bad, option_names={"series": "--series"})
    assert info.value.option == "series"
    with pytest.raises(InputError, match=r"^channel must be a non-negative integer"):
        read_volume(path, channel=bad)


# ---------------------------------------------------------------------------
# RGB(A), channels and time (issue 8)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("samples,kind", [(3, "RGB"), (4, "RGBA")])
def test_rgb_needs_a_channel(tmp_path, samples, kind):
    arr = _volume(np.uint8, (64, 64, samples))
    path = tmp_path / "x.tif"
    tifffile.imwrite(path, arr, photometric="rgb")
    with pytest.raises(InputError) as info:
        read_volume(path)
    assert str(info.value) == (
        f"cannot read '{path}': it is an {kind} image ({samples} samples per pixel); "
        f"choose a channel with channel=N (0 to {samples - 1})"
    )
    assert info.value.option == "channel"
    with pytest.raises(InputError, match=r"choose a channel with --channel N \("):
        read_volume(path, option_names={"channel": "--channel"})
    for i in range(samples):
        back, _ = read_volume(path, channel=i)
        np.testing.assert_array_equal(back, arr[..., i])
    with pytest.raises(InputError) as info:
        read_volume(path, channel=samples)
    assert str(info.value) == (
        f"cannot read '{path}': there is no channel {samples}; "
        f"the image has {samples} channels (valid: 0 to {samples - 1})"
    )


def test_rgb_imagej_stack_channel_keeps_spacing(tmp_path):
    arr = _volume(np.uint8, (5, 16, 16, 3))
    path = tmp_path / "x.tif"
    tifffile.imwrite(
        path, arr, imagej=True, resolution=(4.0, 2.0), metadata={"axes": "ZYXS", "spacing": 3.0}
    )
    with pytest.raises(InputError, match=r"it is an RGB image \(3 samples per pixel\)"):
        read_volume(path)
    back, spacing = read_volume(path, channel=2)
    np.testing.assert_array_equal(back, arr[..., 2])
    assert spacing == pytest.approx((3.0, 0.5, 0.25))


def test_shaped_rgb_spacing_drops_the_sample_axis(tmp_path):
    arr = _volume(np.uint16, (4, 10, 12, 3))
    path = tmp_path / "x.tif"
    tifffile.imwrite(path, arr, photometric="rgb", metadata={"spacing": [2.0, 0.5, 0.25, 1.0]})
    back, spacing = read_volume(path, channel=1)
    np.testing.assert_array_equal(back, arr[..., 1])
    assert spacing == (2.0, 0.5, 0.25)


def test_extra_samples_need_a_channel(tmp_path):
    arr = _volume(np.uint8, (16, 16, 2))
    path = tmp_path / "x.tif"
    tifffile.imwrite(path, arr, photometric="minisblack", planarconfig="contig", extrasamples=[0])
    with pytest.raises(InputError, match=r"it is an image with 2 samples per pixel; choose a chan"):
        read_volume(path)
    np.testing.assert_array_equal(read_volume(path, channel=1)[0], arr[..., 1])


def test_imagej_hyperstack_channels(tmp_path):
    arr = _volume(np.uint16, (5, 2, 16, 16))  # ZCYX, ImageJ's order
    path = tmp_path / "x.tif"
    tifffile.imwrite(
        path, arr, imagej=True, resolution=(2.0, 2.0), metadata={"axes": "ZCYX", "spacing": 3.0}
    )
    with pytest.raises(InputError) as info:
        read_volume(path)
    assert str(info.value) == (
        f"cannot read '{path}': it is a 2-channel image (axes ZCYX); "
        "choose a channel with channel=N (0 to 1)"
    )
    assert info.value.option == "channel"
    back, spacing = read_volume(path, channel=1)
    np.testing.assert_array_equal(back, arr[:, 1])
    assert spacing == (3.0, 0.5, 0.5)


def test_ome_channels(tmp_path):
    arr = _volume(np.uint8, (3, 4, 8, 8))
    path = tmp_path / "x.ome.tif"
    tifffile.imwrite(path, arr, ome=True, metadata={"axes": "CZYX"})
    with pytest.raises(InputError, match=r"it is a 3-channel image \(axes CZYX\)"):
        read_volume(path)
    np.testing.assert_array_equal(read_volume(path, channel=2)[0], arr[2])


def test_time_series_are_refused(tmp_path):
    path = tmp_path / "x.tif"
    tifffile.imwrite(path, _volume(np.uint8, (3, 4, 8, 8)), imagej=True, metadata={"axes": "TZYX"})
    with pytest.raises(InputError) as info:
        read_volume(path, channel=0)
    assert str(info.value) == (
        f"cannot read '{path}': it is a time series (3 time points, axes TZYX); "
        "time series are not supported, save one time point as a 2D/3D image"
    )
    assert info.value.option is None


def test_other_non_spatial_axes_are_refused(tmp_path):
    path = tmp_path / "x.ome.tif"
    tifffile.imwrite(path, _volume(np.uint8, (3, 8, 8)), ome=True, metadata={"axes": "AYX"})
    with pytest.raises(InputError, match=r"non-spatial 'angle' axis \(A\) of length 3"):
        read_volume(path)
