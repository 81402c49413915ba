"""Reading and writing 2D/3D volumes (TIFF and NumPy ``.npy``).

No Qt or napari imports here: this module is shared by the command-line
interface and the plugin.

Conventions
-----------
* Supported extensions (case-insensitive): ``.tif``, ``.tiff`` and ``.npy``.
* Spacing is a tuple with one physical step per array axis, in array order
  (``(z, y, x)`` for 3D, ``(y, x)`` for 2D), or ``None`` when the file does
  not carry any.
* Nothing is squeezed: the array comes back with the shape stored in the
  file, leading length-1 axes included; the caller decides what to do with
  them.  (ImageJ hyperstacks themselves do not record length-1 axes, so an
  ImageJ file written elsewhere comes back with only the axes it describes;
  :func:`write_volume` never writes such a file for an array it could not
  read back with the same shape.)
* Outputs are written atomically: to a temporary file in the destination
  directory that is then renamed into place, so a file is either written
  whole or not at all, and an existing file is left untouched on failure.

TIFF layout written by :func:`write_volume`
-------------------------------------------
* ``uint8``, ``uint16``, ``float32`` and ``bool`` arrays with 2 dimensions,
  or 3 dimensions with more than one slice, are written as zlib-compressed
  ImageJ hyperstacks (axes ``YX`` / ``ZYX``) that Fiji/ImageJ opens with the
  right calibration: x/y spacing in the XResolution/YResolution tags (pixels
  per unit) and z spacing as ``spacing=`` in the ImageJ description.
  ``bool`` arrays are stored as ``uint8`` 0/1 (ImageJ has no boolean type)
  with the extra description entry ``soft_skeleton_dtype=bool``, so that
  :func:`read_volume` returns a ``bool`` array again; other readers see a
  0/1 ``uint8`` image.
* Every other array (other dtypes, other numbers of dimensions, a 3D array
  with a single slice) is written as a zlib-compressed plain multi-page TIFF
  (tifffile's "shaped" layout: the shape and the spacing are stored as JSON
  in the ImageDescription), which tifffile reads back exactly.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import tifffile

__all__ = [
    "InputError",
    "MissingInputError",
    "SUPPORTED_EXTENSIONS",
    "read_volume",
    "write_volume",
    "atomic_write",
    "check_output_path",
]

SUPPORTED_EXTENSIONS = (".tif", ".tiff", ".npy")
_TIFF_EXTENSIONS = (".tif", ".tiff")
# dtypes ImageJ can hold natively (bool is stored as uint8 0/1, see above)
_IMAGEJ_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32))
_DTYPE_KEY = "soft_skeleton_dtype"
# exact x/y spacing ("y,x" as repr floats); the resolution tags are rationals
# and do not round-trip every float exactly
_YX_SPACING_KEY = "soft_skeleton_yx_spacing"

Spacing = tuple[float, ...]


class InputError(ValueError):
    """A problem with a file or value supplied by the user.

    The message is a single line meant to be shown as is, e.g.
    ``cannot read 'x.tif': not a TIFF file``.
    """


class MissingInputError(InputError, FileNotFoundError):
    """The input file does not exist (both an :class:`InputError` and a
    :class:`FileNotFoundError`)."""

    def __str__(self) -> str:  # OSError.__str__ would add "[Errno 2] ..."
        return str(self.args[0]) if self.args else ""


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _display(path: str | os.PathLike) -> str:
    return os.fspath(path)


def _one_line(text: object, limit: int = 200) -> str:
    """Collapse an arbitrary message to one short line."""
    line = " ".join(str(text).split())
    if len(line) > limit:
        line = line[: limit - 3] + "..."
    return line


def _extension(path: str | os.PathLike) -> str:
    return Path(path).suffix.lower()


def _check_extension(path: str | os.PathLike) -> str:
    ext = _extension(path)
    if ext not in SUPPORTED_EXTENSIONS:
        shown = f"'{ext}'" if ext else "(none)"
        raise InputError(
            f"unsupported file type {shown} for '{_display(path)}'; "
            "expected .tif, .tiff or .npy"
        )
    return ext


def _normalize_spacing(spacing: Sequence[float] | None, ndim: int) -> Spacing | None:
    if spacing is None:
        return None
    try:
        values = tuple(float(s) for s in spacing)
    except (TypeError, ValueError):
        raise InputError(f"spacing must be a sequence of numbers, got {spacing!r}") from None
    if len(values) != ndim:
        raise InputError(
            f"spacing {values} has {len(values)} values but the array has {ndim} dimensions"
        )
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise InputError(f"spacing values must be positive and finite, got {values}")
    return values


# ---------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------


def read_volume(path: str | os.PathLike) -> tuple[np.ndarray, Spacing | None]:
    """Read a ``.tif``/``.tiff`` or ``.npy`` file.

    Returns ``(array, spacing)``.  ``spacing`` has one value per axis in
    array order (``(z, y, x)`` / ``(y, x)``) or is ``None`` when the file
    has no calibration:

    * ImageJ TIFF with axes ``YX`` or ``ZYX``: x/y from the XResolution and
      YResolution tags (spacing = 1 / resolution), z from ``spacing=`` in
      the ImageJ description (1.0 if absent).  ``None`` when the file has
      neither a ``spacing``/``unit`` entry nor resolution tags other than 1.
      ImageJ files with other axes (time, channels) give ``None``.
    * Plain TIFF written by :func:`write_volume` (tifffile "shaped" JSON
      metadata with a ``spacing`` list of the right length): that spacing.
    * Any other TIFF, and ``.npy``: ``None``.

    Only the first image series of a TIFF is read.  ``.npy`` files are
    loaded with ``allow_pickle=False``.

    Raises :class:`MissingInputError` (a ``FileNotFoundError``) when the file
    does not exist, and :class:`InputError` with a one-line message for an
    unsupported extension or a file that cannot be read.
    """
    shown = _display(path)
    ext = _check_extension(path)
    p = Path(path)
    if not p.exists():
        err = MissingInputError(f"cannot read '{shown}': no such file")
        err.errno = errno.ENOENT
        err.strerror = "no such file"
        err.filename = shown
        raise err
    if p.is_dir():
        raise InputError(f"cannot read '{shown}': is a directory")
    try:
        if ext == ".npy":
            array, spacing = _read_npy(p, shown)
        else:
            array, spacing = _read_tiff(p, shown)
    except InputError:
        raise
    except PermissionError:
        raise InputError(f"cannot read '{shown}': permission denied") from None
    except MemoryError:
        raise InputError(f"cannot read '{shown}': not enough memory") from None
    except Exception as exc:  # corrupt/truncated files raise all sorts of things
        raise InputError(f"cannot read '{shown}': {_one_line(exc) or type(exc).__name__}") from exc
    if array.dtype.kind not in "biufc":
        raise InputError(
            f"cannot read '{shown}': unsupported data type {array.dtype} "
            "(expected boolean or numeric data)"
        )
    return array, spacing


def _read_npy(p: Path, shown: str) -> tuple[np.ndarray, None]:
    with open(p, "rb") as fh:
        magic = fh.read(6)
    if magic != b"\x93NUMPY":
        raise InputError(f"cannot read '{shown}': not a NumPy .npy file")
    try:
        array = np.load(p, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise InputError(
                f"cannot read '{shown}': contains Python objects, which are not loaded "
                "(allow_pickle=False)"
            ) from None
        raise InputError(f"cannot read '{shown}': corrupt .npy file ({_one_line(exc)})") from None
    except EOFError:
        raise InputError(f"cannot read '{shown}': truncated .npy file") from None
    if not isinstance(array, np.ndarray):  # pragma: no cover - np.load of .npy gives arrays
        raise InputError(f"cannot read '{shown}': not a single array")
    return array, None


def _resolution_to_spacing(tag: Any) -> float | None:
    if tag is None:
        return None
    value = tag.value
    try:
        if isinstance(value, tuple):
            num, den = value
            res = float(num) / float(den)
        else:
            res = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not math.isfinite(res) or res <= 0:
        return None
    return 1.0 / res


def _read_tiff(p: Path, shown: str) -> tuple[np.ndarray, Spacing | None]:
    try:
        tif = tifffile.TiffFile(p)
    except tifffile.TiffFileError as exc:
        msg = str(exc)
        if "not a TIFF file" in msg:
            raise InputError(f"cannot read '{shown}': not a TIFF file") from None
        raise InputError(f"cannot read '{shown}': {_one_line(msg)}") from None
    with tif:
        if not tif.series:
            raise InputError(f"cannot read '{shown}': the TIFF file contains no image")
        series = tif.series[0]
        array = series.asarray()
        spacing: Spacing | None = None
        if tif.is_imagej:
            meta = tif.imagej_metadata or {}
            if str(meta.get(_DTYPE_KEY, "")) == "bool" and array.dtype == np.uint8:
                array = array.astype(bool)
            spacing = _imagej_spacing(series, meta, array.ndim)
        elif tif.is_shaped:
            spacing = _shaped_spacing(tif, array.ndim)
    return array, spacing


def _imagej_spacing(series: Any, meta: dict, ndim: int) -> Spacing | None:
    axes = str(series.axes).upper()
    if axes not in ("YX", "ZYX", "IYX", "QYX"):
        return None
    page = series.pages[0] if series.pages else None
    tags = page.tags if page is not None else {}
    sx = _resolution_to_spacing(tags.get("XResolution"))
    sy = _resolution_to_spacing(tags.get("YResolution"))
    z = meta.get("spacing")
    try:
        sz = float(z) if z is not None else None
    except (TypeError, ValueError):
        sz = None
    if sz is not None and not (math.isfinite(sz) and sz > 0):
        sz = None
    calibrated = (
        "spacing" in meta
        or "unit" in meta
        or (sx is not None and sx != 1.0)
        or (sy is not None and sy != 1.0)
    )
    if not calibrated:
        return None
    yx = (sy if sy is not None else 1.0, sx if sx is not None else 1.0)
    exact = _exact_yx(meta.get(_YX_SPACING_KEY))
    if exact is not None and all(math.isclose(e, v, rel_tol=1e-6) for e, v in zip(exact, yx)):
        yx = exact  # consistent with the tags: use the exact values written
    if ndim == 2:
        return yx
    if ndim == 3:
        return (sz if sz is not None else 1.0, *yx)
    return None


def _exact_yx(raw: Any) -> tuple[float, float] | None:
    if raw is None:
        return None
    try:
        values = tuple(float(v) for v in str(raw).split(","))
    except ValueError:
        return None
    if len(values) != 2 or not all(math.isfinite(v) and v > 0 for v in values):
        return None
    return values  # type: ignore[return-value]


def _shaped_spacing(tif: Any, ndim: int) -> Spacing | None:
    metas = tif.shaped_metadata or ()
    if not metas:
        return None
    raw = metas[0].get("spacing") if isinstance(metas[0], dict) else None
    if raw is None:
        return None
    try:
        return _normalize_spacing(raw, ndim)
    except InputError:
        return None


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------


def check_output_path(path: str | os.PathLike, *, extensions: Sequence[str] | None = None) -> None:
    """Raise :class:`InputError` unless ``path`` can plausibly be written.

    Checks the extension (``extensions``, default the volume formats), that
    the parent directory exists and that ``path`` is not a directory.  Meant
    to be called before a long computation.
    """
    shown = _display(path)
    p = Path(path)
    allowed = tuple(e.lower() for e in (extensions or SUPPORTED_EXTENSIONS))
    ext = p.suffix.lower()
    if ext not in allowed:
        shown_ext = f"'{ext}'" if ext else "(none)"
        expected = ", ".join(allowed[:-1]) + (" or " if len(allowed) > 1 else "") + allowed[-1]
        raise InputError(f"unsupported file type {shown_ext} for '{shown}'; expected {expected}")
    if p.is_dir():
        raise InputError(f"cannot write '{shown}': is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"cannot write '{shown}': directory '{_display(parent)}' does not exist")


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def _atomic_file(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[IO[bytes]]:
    """Yield a binary file handle whose contents replace ``path`` atomically
    when the ``with`` block succeeds; on any error (including
    ``KeyboardInterrupt``) the temporary file is removed and ``path`` is left
    as it was."""
    p = Path(path)
    shown = _display(path)
    if p.is_dir():
        raise InputError(f"cannot write '{shown}': is a directory")
    if not overwrite and p.exists():
        raise FileExistsError(errno.EEXIST, f"cannot write '{shown}': file exists", shown)
    directory = p.parent if str(p.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=directory)
    except FileNotFoundError:
        raise InputError(
            f"cannot write '{shown}': directory '{_display(directory)}' does not exist"
        ) from None
    except PermissionError:
        raise InputError(f"cannot write '{shown}': permission denied") from None
    os.close(fd)
    try:
        # reopened by name: tifffile wants a file object with a real name
        with open(tmp, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if p.exists():
            mode = p.stat().st_mode & 0o7777
        else:
            mode = _default_mode()
        os.chmod(tmp, mode)
        if overwrite:
            os.replace(tmp, p)
        else:
            try:
                os.link(tmp, p)  # fails if p appeared meanwhile
            except FileExistsError:
                raise FileExistsError(
                    errno.EEXIST, f"cannot write '{shown}': file exists", shown
                ) from None
            except OSError:  # file system without hard links
                if p.exists():
                    raise FileExistsError(
                        errno.EEXIST, f"cannot write '{shown}': file exists", shown
                    ) from None
                os.replace(tmp, p)
            else:
                os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write(
    path: str | os.PathLike,
    data: bytes | str | Callable[[IO[bytes]], None],
    *,
    overwrite: bool = True,
) -> None:
    """Write ``data`` (bytes, text encoded as UTF-8, or a callable that writes
    to a binary file handle) to ``path`` atomically."""
    with _atomic_file(path, overwrite=overwrite) as fh:
        if callable(data):
            data(fh)
        elif isinstance(data, str):
            fh.write(data.encode("utf-8"))
        else:
            fh.write(data)


def _imagej_compatible(array: np.ndarray) -> bool:
    if array.dtype != np.bool_ and array.dtype not in _IMAGEJ_DTYPES:
        return False
    if array.ndim == 2:
        return True
    return array.ndim == 3 and array.shape[0] > 1


def _write_tiff(fh: IO[bytes], array: np.ndarray, spacing: Spacing | None) -> None:
    if _imagej_compatible(array):
        metadata: dict[str, Any] = {"axes": "ZYX" if array.ndim == 3 else "YX"}
        kwargs: dict[str, Any] = {}
        data = array
        if array.dtype == np.bool_:
            data = array.astype(np.uint8)
            metadata[_DTYPE_KEY] = "bool"
        if spacing is not None:
            sy, sx = spacing[-2], spacing[-1]
            kwargs["resolution"] = (1.0 / sx, 1.0 / sy)
            # for 2D images ``spacing`` only marks the file as calibrated
            metadata["spacing"] = spacing[0] if array.ndim == 3 else 1.0
            metadata[_YX_SPACING_KEY] = f"{sy!r},{sx!r}"
        tifffile.imwrite(
            fh,
            data,
            imagej=True,
            photometric="minisblack",
            compression="zlib",
            metadata=metadata,
            **kwargs,
        )
    else:
        metadata = {}
        kwargs = {}
        if spacing is not None:
            metadata["spacing"] = list(spacing)
            if array.ndim >= 2:
                kwargs["resolution"] = (1.0 / spacing[-1], 1.0 / spacing[-2])
        tifffile.imwrite(
            fh,
            array,
            photometric="minisblack",
            compression="zlib",
            metadata=metadata,
            **kwargs,
        )


def _write_npy(fh: IO[bytes], array: np.ndarray) -> None:
    np.save(fh, array, allow_pickle=False)


def write_volume(
    path: str | os.PathLike,
    array: np.ndarray,
    *,
    spacing: Sequence[float] | None = None,
    overwrite: bool = True,
) -> None:
    """Write ``array`` to ``path`` (``.tif``, ``.tiff`` or ``.npy``), atomically.

    ``spacing`` (one positive value per axis, array order) is stored in TIFF
    files (see the module docstring for the layout) and ignored for ``.npy``,
    which has no place for it.  With ``overwrite=False`` an existing file
    raises :class:`FileExistsError`.  The file is written to a temporary
    file in the same directory and renamed into place, so ``path`` is either
    the complete new file or untouched.
    """
    shown = _display(path)
    ext = _check_extension(path)
    array = np.asarray(array)
    if array.dtype.kind not in "biufc":
        raise InputError(f"cannot write '{shown}': unsupported data type {array.dtype}")
    spacing_t = _normalize_spacing(spacing, array.ndim)
    if ext in _TIFF_EXTENSIONS:
        if array.ndim < 2:
            raise InputError(
                f"cannot write '{shown}': TIFF needs at least 2 dimensions, got shape {array.shape}"
            )
        if array.size == 0:
            raise InputError(f"cannot write '{shown}': the array is empty (shape {array.shape})")
        with _atomic_file(path, overwrite=overwrite) as fh:
            _write_tiff(fh, array, spacing_t)
    else:
        with _atomic_file(path, overwrite=overwrite) as fh:
            _write_npy(fh, array)
