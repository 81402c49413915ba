"""Issue 11, formats: OME-Zarr output on Zarr v2 (NGFF 0.4) and v3 (NGFF 0.5), the chunk rule, the
multiscale pyramid of io/_pyramid.add_levels, and damaged chunks read with io/_zarr.read_region."""

from __future__ import annotations

import json
import os

import dask.array as da
import numpy as np
import pytest
import zarr
from skimage.measure import block_reduce

from napari_soft_skeleton.io import InputError, read_volume, write_volume
from napari_soft_skeleton.io import _pyramid
from napari_soft_skeleton.io._pyramid import add_levels, downsample, level_factors
from napari_soft_skeleton.io._zarr import _chunks, read_region


def _one_line(info, path=None) -> str:
    msg = str(info.value)
    assert msg and "\n" not in msg
    if path is not None:
        assert f"'{path}'" in msg
    return msg


def _ome(path) -> dict:
    """The OME-Zarr metadata of the store (0.4: the attributes; 0.5: the "ome" attribute)."""
    attrs = dict(zarr.open_group(str(path), mode="r").attrs)
    return attrs.get("ome", attrs)


def _mask(shape, seed=0, density=0.03):
    return np.random.default_rng(seed).random(shape) < density


# ---------------------------------------------------------------------------
# Zarr v2 / v3 output
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [2, 3])
def test_round_trip_keeps_spacing_unit_and_format(tmp_path, fmt):
    arr = np.random.default_rng(1).integers(0, 60000, (5, 7, 9)).astype(np.uint16)
    path = tmp_path / "v.ome.zarr"
    write_volume(path, arr, spacing=(2.0, 0.25, 0.5), unit="micron", zarr_format=fmt)
    volume = read_volume(path)
    np.testing.assert_array_equal(volume.array, arr)
    assert (volume.spacing, volume.unit, volume.format) == ((2.0, 0.25, 0.5), "µm", "ome-zarr")
    root = zarr.open_group(str(path), mode="r")
    assert root.metadata.zarr_format == fmt
    data = root["0"]
    if fmt == 2:
        assert root.attrs["multiscales"][0]["version"] == "0.4" and "ome" not in root.attrs
        assert (path / "0" / ".zarray").is_file()
        codec = data.compressors[0].get_config()
        assert (codec["id"], codec["cname"]) == ("blosc", "zstd")
    else:
        ome = root.attrs["ome"]
        assert ome["version"] == "0.5" and "multiscales" not in root.attrs
        assert "version" not in ome["multiscales"][0]  # (0.5: the version is the "ome" key's)
        assert data.metadata.dimension_names == ("z", "y", "x")
        codec = data.compressors[0].to_dict()
        assert (codec["name"], codec["configuration"]["cname"]) == ("blosc", "zstd")
    assert [a["unit"] for a in _ome(path)["multiscales"][0]["axes"]] == ["micrometer"] * 3
    write_volume(path, arr[0] > 30000, zarr_format=fmt)  # uncalibrated 2D bool, replacing the store
    volume = read_volume(path)
    assert (volume.spacing, volume.array.dtype, volume.array.shape) == (None, np.bool_, (7, 9))


@pytest.mark.parametrize("fmt", [2, 3])
def test_dask_array_is_streamed_into_either_format(tmp_path, fmt):
    arr = _mask((40, 50, 30), seed=2, density=0.5)
    calls = []
    path = tmp_path / "d.zarr"
    write_volume(path, da.from_array(arr, chunks=(13, 17, 30)), spacing=(1.0, 1.0, 1.0), unit="nm",
                 zarr_format=fmt, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (1, 1)  # one 128³ chunk holds the volume
    volume = read_volume(path, lazy=True)
    assert isinstance(volume.array, da.Array) and volume.unit == "nm"
    np.testing.assert_array_equal(volume.array.compute(), arr)


def test_bad_zarr_format_writes_nothing(tmp_path):
    with pytest.raises(InputError) as info:
        write_volume(tmp_path / "v.zarr", np.zeros((2, 3), np.uint8), zarr_format=4)
    assert _one_line(info) == "zarr_format must be 2 (OME-Zarr 0.4) or 3 (OME-Zarr 0.5), got 4"
    assert os.listdir(tmp_path) == []


def test_chunk_rule():
    assert _chunks((1000, 2000, 3000), np.uint8) == (128, 128, 128)
    assert _chunks((1000, 2000, 3000), bool) == (128, 128, 128)
    assert _chunks((1000, 2000, 3000), np.uint16) == (128, 128, 128)
    assert _chunks((1000, 2000, 3000), np.float32) == (64, 64, 64)
    assert _chunks((3000, 3000), np.uint8) == (1024, 1024)
    assert _chunks((100, 100, 100), np.uint8) == (100, 100, 100)
    # a short axis is taken whole, the others grow to keep about as many voxels per chunk
    assert _chunks((5, 2000, 2000), np.uint8) == (5, 512, 512)
    assert _chunks((5, 2000, 90), np.uint64) == (5, 512, 90)
    assert _chunks((3000, 300), np.float64) == (512, 300)
    for dtype in (np.uint8, np.uint16, np.float32, np.float64):  # 1 to 4 MiB before compression
        assert 2**20 <= np.prod(_chunks((4096,) * 3, dtype)) * np.dtype(dtype).itemsize <= 4 * 2**20
        assert 2**20 <= np.prod(_chunks((4096,) * 2, dtype)) * np.dtype(dtype).itemsize <= 4 * 2**20
        # (a thin stack: at least half of that, the other axes being powers of 2)
        assert 2**19 <= np.prod(_chunks((7, 4096, 4096), dtype)) * np.dtype(dtype).itemsize <= 4 * 2**20


# ---------------------------------------------------------------------------
# the pyramid
# ---------------------------------------------------------------------------


def test_level_factors_rule():
    assert level_factors((1024, 1024, 1024), None) == [(2, 2, 2)] * 2
    assert level_factors((1024, 1024, 1024), (1.0, 1.0, 1.0), levels=3) == [(2, 2, 2)] * 3
    # z 4x coarser: y/x catch up first, then all three
    assert level_factors((300, 4000, 4000), (4.0, 1.0, 1.0)) == [(1, 2, 2), (1, 2, 2), (2, 2, 2), (2, 2, 2)]
    # z 1.5x: within √2 after the first y/x step
    assert level_factors((400, 600, 600), (1.5, 1.0, 1.0)) == [(1, 2, 2), (2, 2, 2)]
    # z finer than y/x: z first
    assert level_factors((2000, 300, 300), (0.25, 1.0, 1.0)) == [(2, 1, 1), (2, 1, 1), (2, 2, 2)]
    assert level_factors((3, 700), None) == [(2, 2), (2, 2)]  # down to one voxel in y, then x alone
    assert level_factors((1, 9), None, levels=5) == [(1, 2)] * 4  # stops when nothing is left to halve
    assert level_factors((200, 200, 200), None) == []
    assert len(level_factors((10**7, 2, 2), None)) == _pyramid.MAX_LEVELS


@pytest.mark.parametrize("dtype", [bool, np.uint32, np.float32])
def test_downsample_max_is_the_max_of_each_block(dtype):
    rng = np.random.default_rng(3)
    block = (rng.random((7, 10, 5)) * 50).astype(dtype)
    for factors in [(2, 2, 2), (1, 2, 2), (2, 1, 1)]:
        got = downsample(block, factors, "max")
        assert got.dtype == block.dtype
        np.testing.assert_array_equal(got, block_reduce(block, factors, np.max))  # (pads with 0: values >= 0)


def test_downsample_mean_and_nearest():
    block = np.random.default_rng(4).integers(0, 1000, (5, 3, 4)).astype(np.uint16)
    got = downsample(block, (2, 2, 2), "mean")
    want = np.zeros((3, 2, 2))
    for z, y, x in np.ndindex(want.shape):
        want[z, y, x] = block[2 * z:2 * z + 2, 2 * y:2 * y + 2, 2 * x:2 * x + 2].mean()  # (short edge blocks)
    np.testing.assert_array_equal(got, np.rint(want).astype(np.uint16))
    np.testing.assert_array_equal(downsample(block, (2, 1, 2), "nearest"), block[::2, :, ::2])


def _check_pyramid(path, arr, factors, spacing):
    """Each level is the max of the level above's 2x blocks; scales and translations as NGFF wants."""
    root = zarr.open_group(str(path), mode="r")
    datasets = _ome(path)["multiscales"][0]["datasets"]
    assert [d["path"] for d in datasets] == [str(k) for k in range(len(factors) + 1)]
    above, cumulative = arr, np.ones(arr.ndim)
    for k, step in enumerate(factors, 1):
        level = root[str(k)][...]
        np.testing.assert_array_equal(level, block_reduce(above, step, np.max))
        assert level.dtype == arr.dtype
        cumulative = cumulative * step
        scale, translation = datasets[k]["coordinateTransformations"]
        np.testing.assert_allclose(scale["scale"], np.array(spacing) * cumulative)
        np.testing.assert_allclose(translation["translation"], np.array(spacing) * (cumulative - 1) / 2)
        assert root[str(k)].chunks == tuple(min(c, n) for c, n in zip(root["0"].chunks, level.shape))
        above = level
    return root


@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize("dtype", [bool, np.uint32, np.float32])
def test_add_levels_max_pyramid(tmp_path, fmt, dtype):
    rng = np.random.default_rng(5)
    arr = (rng.random((6, 300, 530)) * (rng.random((6, 300, 530)) < 0.02) * 9).astype(dtype)
    path = tmp_path / "skel.ome.zarr"
    spacing = (4.0, 1.0, 1.0)
    write_volume(path, arr, spacing=spacing, unit="µm", zarr_format=fmt)
    calls = []
    added = add_levels(path, progress=lambda done, total: calls.append((done, total)))
    assert added == 2  # (6, 150, 265), then (6, 75, 133): z stays, y/x catch up with it
    root = _check_pyramid(path, arr, [(1, 2, 2), (1, 2, 2)], spacing)
    chunks = root["1"].nchunks + root["2"].nchunks  # (uint8/bool: 2x3 + 1x2 chunks of 128; 4-byte: of 64)
    assert calls[0] == (0, chunks) and calls[-1] == (chunks, chunks) and len(calls) == chunks + 1
    multiscale = _ome(path)["multiscales"][0]
    assert multiscale["type"] == "max"
    volume = read_volume(path)  # level 0, calibrated as before
    np.testing.assert_array_equal(volume.array, arr)
    assert (volume.spacing, volume.unit) == (spacing, "µm")
    with pytest.raises(InputError) as info:  # (once only)
        add_levels(path)
    assert _one_line(info, path).endswith("it has 3 resolution levels already")


@pytest.mark.parametrize("fmt", [2, 3])
def test_pyramid_opens_in_napari_and_ome_zarr_and_is_valid_ngff(tmp_path, fmt):
    from napari_builtins.io._read import read_zarr_dataset
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader
    from ome_zarr_models import v04, v05

    arr = _mask((20, 300, 300), seed=6)
    path = tmp_path / "p.zarr"
    write_volume(path, arr, spacing=(0.5, 0.5, 0.5), unit="nm", zarr_format=fmt)
    assert add_levels(path) == 1
    shapes = [(20, 300, 300), (10, 150, 150)]
    layers, _ = read_zarr_dataset(str(path))  # napari's built-in reader: a multiscale list
    assert [layer.shape for layer in layers] == shapes
    node = list(Reader(parse_url(str(path)))())[0]
    assert [d.shape for d in node.data] == shapes
    np.testing.assert_array_equal(np.asarray(node.data[1]), block_reduce(arr, 2, np.max))
    model = (v04 if fmt == 2 else v05).Image.from_zarr(zarr.open_group(str(path), mode="r"))
    assert len(model.ome_attributes.multiscales[0].datasets if fmt == 3
               else model.attributes.multiscales[0].datasets) == 2


def test_add_levels_methods_and_bad_input(tmp_path):
    labels = np.random.default_rng(7).integers(0, 5, (3, 40, 33)).astype(np.uint16)
    path = tmp_path / "l.zarr"
    write_volume(path, labels)
    assert add_levels(path, levels=2, method="nearest") == 2
    root = zarr.open_group(str(path), mode="r")
    np.testing.assert_array_equal(root["2"][...], labels[::4, ::4, ::4])
    assert root["2"].shape == (1, 10, 9)
    assert _ome(path)["multiscales"][0]["datasets"][2]["coordinateTransformations"][0]["scale"] == [4.0, 4.0, 4.0]
    write_volume(path, labels, zarr_format=3)
    assert add_levels(path, levels=1, method="mean") == 1
    np.testing.assert_array_equal(zarr.open_group(str(path), mode="r")["1"][...], downsample(labels, (2, 2, 2), "mean"))
    write_volume(path, labels)
    assert add_levels(path, levels=0) == 0 and len(_ome(path)["multiscales"][0]["datasets"]) == 1
    bad = [
        ({"levels": 10}, "levels must be a whole number from 0 to 9 (or None: automatic), got 10"),
        ({"levels": -1}, "levels must be a whole number from 0 to 9"),
        ({"method": "mode"}, "unknown downsampling method 'mode'; expected one of: max, mean, nearest"),
    ]
    for kwargs, message in bad:
        with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
            add_levels(path, **kwargs)
        _one_line(info)
    write_volume(path, labels > 2)
    with pytest.raises(InputError, match="method 'mean' needs numeric data") as info:
        add_levels(path, method="mean")
    _one_line(info, path)
    plain = tmp_path / "plain.zarr"
    zarr.create_array(store=str(plain), shape=(4, 4), dtype=np.uint8)
    with pytest.raises(InputError, match="not an OME-Zarr image") as info:
        add_levels(plain)
    _one_line(info, plain)
    channels = tmp_path / "c.zarr"
    root = zarr.open_group(str(channels), mode="w", zarr_format=2)
    root.create_array("0", shape=(2, 4, 4), dtype=np.uint8)
    root.attrs["multiscales"] = [{"version": "0.4", "axes": [{"name": "c", "type": "channel"},
                                                             {"name": "y", "type": "space"},
                                                             {"name": "x", "type": "space"}],
                                  "datasets": [{"path": "0"}]}]
    with pytest.raises(InputError, match="only single images with 2 or 3 space axes") as info:
        add_levels(channels)
    _one_line(info, channels)
    assert len(_ome(path)["multiscales"][0]["datasets"]) == 1  # nothing changed


@pytest.mark.parametrize("fmt", [2, 3])
def test_interrupted_add_levels_leaves_the_old_image(tmp_path, monkeypatch, fmt):
    arr = _mask((4, 600, 520), seed=8)
    path = tmp_path / "k.zarr"
    write_volume(path, arr, spacing=(8.0, 1.0, 1.0), unit="µm", zarr_format=fmt)
    before = _ome(path)
    real = _pyramid.compute_tasks
    calls = []

    def killed(tasks, *args):  # the second level is interrupted, after the first was written
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(tasks, *args)

    monkeypatch.setattr(_pyramid, "compute_tasks", killed)
    with pytest.raises(KeyboardInterrupt):
        add_levels(path)
    assert _ome(path) == before and (path / "1").is_dir()  # level 1 stored, but not listed
    volume = read_volume(path)
    np.testing.assert_array_equal(volume.array, arr)
    monkeypatch.setattr(_pyramid, "compute_tasks", real)
    assert add_levels(path) == 2  # a rerun replaces the stray level
    _check_pyramid(path, arr, [(1, 2, 2), (1, 2, 2)], (8.0, 1.0, 1.0))


# ---------------------------------------------------------------------------
# damaged chunks and stores that are not images
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [2, 3])
def test_damaged_chunk_is_one_line_naming_the_chunk(tmp_path, fmt):
    arr = np.arange(6 * 8 * 10, dtype=np.uint16).reshape(6, 8, 10)
    path = tmp_path / "in.zarr"
    write_volume(path, arr, zarr_format=fmt)
    root = zarr.open_group(str(path), mode="r+")
    data = root.create_array("0", shape=arr.shape, chunks=(3, 4, 5), dtype=arr.dtype, overwrite=True,
                             **({"chunk_key_encoding": {"name": "v2", "separator": "/"}} if fmt == 2 else {}))
    data[...] = arr
    key = "1/0/1" if fmt == 2 else "c/1/0/1"
    chunk = path / "0" / key
    chunk.write_bytes(chunk.read_bytes()[:7])  # truncated
    shown = str(path)
    np.testing.assert_array_equal(read_region(data, (slice(0, 3), slice(0, 8)), shown), arr[:3])
    with pytest.raises(InputError) as info:
        read_region(data, (slice(2, 6), slice(1, 5), slice(3, 9)), shown)
    msg = _one_line(info, path)
    assert msg.startswith(f"cannot read '{path}': chunk (1, 0, 1) of array '0' (file '0/{key}') "
                          "is damaged or unreadable: ")
    with pytest.raises(InputError, match=r"chunk \(1, 0, 1\) of array '0'") as info:
        add_levels(path, levels=1)
    assert len(_ome(path)["multiscales"][0]["datasets"]) == 1
    with pytest.raises(InputError) as info:  # the whole image, read at once
        read_volume(path)
    _one_line(info, path)


@pytest.mark.parametrize("fmt", [2, 3])
def test_group_without_image_and_not_a_store_are_one_line(tmp_path, fmt):
    path = tmp_path / "g.zarr"
    zarr.open_group(str(path), mode="w", zarr_format=fmt).attrs["something"] = 1
    with pytest.raises(InputError) as info:
        read_volume(path)
    assert _one_line(info) == f"cannot read '{path}': not an OME-Zarr image (no 'multiscales' metadata)"
    with pytest.raises(InputError) as info:
        add_levels(path)
    assert _one_line(info) == f"cannot read '{path}': not an OME-Zarr image (no 'multiscales' metadata)"
    other = tmp_path / f"n{fmt}.zarr"
    other.mkdir()
    (other / "data.bin").write_bytes(b"\0" * 8)
    for call in (read_volume, add_levels):
        with pytest.raises(InputError) as info:
            call(other)
        assert _one_line(info) == f"cannot read '{other}': not a Zarr store (no .zgroup, .zarray or zarr.json)"
    broken = tmp_path / f"b{fmt}.zarr"
    broken.mkdir()
    (broken / (".zgroup" if fmt == 2 else "zarr.json")).write_text("{not json")
    with pytest.raises(InputError) as info:
        read_volume(broken)
    _one_line(info, broken)
    assert json.loads(json.dumps(_ome(path))) == {"something": 1}
