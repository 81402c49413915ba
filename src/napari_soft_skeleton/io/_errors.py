"""The exceptions raised for bad input, and one-line message helpers."""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping


class InputError(ValueError):
    """A problem with a file or value supplied by the user.

    The message is a single line meant to be shown as is, e.g.
    ``cannot read 'x.tif': not a TIFF file``.

    ``option`` names the :func:`~napari_soft_skeleton.io.read_volume`
    keyword (``"series"`` or ``"channel"``) that the user has to set, or has
    set to a value that does not exist, to get past the error; it is
    ``None`` for every other error.  Front ends can use it to point at their
    own control; the message itself already names the option as passed in
    ``option_names`` (see :func:`~napari_soft_skeleton.io.read_volume`).
    """

    def __init__(self, *args: object, option: str | None = None) -> None:
        super().__init__(*args)
        self.option = option


class MissingInputError(InputError, FileNotFoundError):
    """The input file does not exist (both an :class:`InputError` and a
    :class:`FileNotFoundError`)."""

    def __str__(self) -> str:  # OSError.__str__ would add "[Errno 2] ..."
        return str(self.args[0]) if self.args else ""


def missing_input(shown: str) -> MissingInputError:
    err = MissingInputError(f"cannot read '{shown}': no such file")
    err.errno = errno.ENOENT
    err.strerror = "no such file"
    err.filename = shown
    return err


def display(path: str | os.PathLike) -> str:
    return os.fspath(path)


def one_line(text: object, limit: int = 200) -> str:
    """Collapse an arbitrary message to one short line."""
    line = " ".join(str(text).split())
    if len(line) > limit:
        line = line[: limit - 3] + "..."
    return line


def plural(count: int, word: str, words: str | None = None) -> str:
    """``"1 page"``, ``"3 pages"``."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def choose_channel(shown: str, what: str, count: int, option_names: Mapping[str, str] | None) -> InputError:
    """The error for an image with ``count`` channels (described as ``what``) read without ``channel``."""
    return InputError(
        f"cannot read '{shown}': it is {what}; choose a channel with "
        f"{how_to_set('channel', option_names)} (0 to {count - 1})",
        option="channel",
    )


def no_such_channel(shown: str, channel: int, count: int) -> InputError:
    """The error for a ``channel`` beyond the image's ``count`` channels."""
    return InputError(
        f"cannot read '{shown}': there is no channel {channel}; "
        f"the image has {count} channels (valid: 0 to {count - 1})",
        option="channel",
    )


def how_to_set(option: str, option_names: Mapping[str, str] | None) -> str:
    """How the user sets ``option``: ``series=N`` for the library keyword,
    ``--series N`` when ``option_names`` maps it to a command-line flag."""
    name = (option_names or {}).get(option, option)
    return f"{name}=N" if name.isidentifier() else f"{name} N"
