"""Atomic file replacement: a file is written whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from ._errors import InputError, display


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


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
