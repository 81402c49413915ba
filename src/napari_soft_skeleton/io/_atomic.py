"""Atomic file replacement: a file is written whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from ._errors import InputError, display


def _default_mode() -> int:
    return 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[IO[bytes]]:
    """Yield a binary file handle whose contents replace ``path`` atomically
    when the ``with`` block succeeds; on any error (including
    ``KeyboardInterrupt``) the temporary file is removed and ``path`` is left
    as it was."""
    p = Path(path)
    shown = display(path)
    if p.is_dir():
        raise InputError(f"cannot write '{shown}': is a directory")
    if not overwrite and p.exists():
        raise FileExistsError(errno.EEXIST, f"cannot write '{shown}': file exists", shown)
    directory = p.parent if str(p.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=directory)
    except FileNotFoundError:
        raise InputError(
            f"cannot write '{shown}': directory '{display(directory)}' does not exist"
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
    to a binary file handle) to ``path`` atomically.

    The data go to a temporary file in the destination directory that is
    then renamed into place, so ``path`` is either the complete new file or
    left as it was.  With ``overwrite=False`` an existing ``path`` raises
    :class:`FileExistsError`.
    """
    with atomic_file(path, overwrite=overwrite) as fh:
        if callable(data):
            data(fh)
        elif isinstance(data, str):
            fh.write(data.encode("utf-8"))
        else:
            fh.write(data)


#: files that mark a directory as a Zarr store (v2 group/array, v3 node)
_ZARR_MARKERS = (".zgroup", ".zarray", "zarr.json")


def _is_zarr_store(p: Path) -> bool:
    return any((p / marker).is_file() for marker in _ZARR_MARKERS)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a new temporary directory next to ``path`` (a ``.zarr``
    output); when the ``with`` block succeeds it is renamed to ``path``.

    An existing ``path`` is replaced only with ``overwrite=True``, only if it
    is a Zarr store (never an unrelated directory or a file), and only after
    the new one is complete: it is first renamed aside, then removed.  On
    any error the temporary directory is removed and ``path`` is left as it
    was.
    """
    p = Path(path)
    shown = display(path)
    check_replaceable(p, overwrite=overwrite)
    directory = p.parent if str(p.parent) else Path(".")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{p.name}.", suffix=".tmp", dir=directory))
    except FileNotFoundError:
        raise InputError(
            f"cannot write '{shown}': directory '{display(directory)}' does not exist"
        ) from None
    except PermissionError:
        raise InputError(f"cannot write '{shown}': permission denied") from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        replace_directory(tmp, p)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_replaceable(p: Path, *, overwrite: bool = True) -> None:
    """Raise unless the directory output ``p`` is new, or (with ``overwrite``) an existing Zarr store:
    never an unrelated directory or a file."""
    shown = display(p)
    if p.exists() or p.is_symlink():
        if not overwrite:
            raise FileExistsError(errno.EEXIST, f"cannot write '{shown}': file exists", shown)
        if not p.is_dir() or p.is_symlink() or not _is_zarr_store(p):
            raise InputError(f"cannot write '{shown}': it exists and is not a Zarr store")


def replace_directory(new: Path, p: Path) -> None:
    """Rename the complete directory ``new`` to ``p``.  An existing ``p`` (see :func:`check_replaceable`)
    is first renamed aside, then removed; if the rename fails, it is put back."""
    directory = p.parent if str(p.parent) else Path(".")
    old: Path | None = None
    try:
        if p.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{p.name}.", suffix=".old", dir=directory))
            os.replace(p, old / "store")
        os.rename(new, p)
    except BaseException:
        if old is not None:
            if (old / "store").exists() and not p.exists():
                with contextlib.suppress(OSError):
                    os.replace(old / "store", p)  # put the old one back
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask
