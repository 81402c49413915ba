"""Keep tifffile's log messages off the user's terminal while reading.

tifffile reports damaged files through the ``logging`` module (logger
``"tifffile"``) and then carries on with whatever it could read.  With no
logging configured, Python prints such records to stderr, so a command-line
user would see raw tifffile lines next to (or instead of) a proper error.

:func:`capture_tifffile_log` installs, once, a filter on the ``"tifffile"``
logger.  While any capture is active, the filter drops every tifffile
record; records emitted by the capturing thread are handed to that capture,
so the reader can turn them into a proper error.  Records from other threads
(tifffile's own decoding workers, or unrelated code) are dropped but not
collected, so one read never fails because of another.  Outside a capture
the filter lets everything through.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

_LOGGER_NAME = "tifffile"
_lock = threading.Lock()
_captures: dict[int, list[logging.LogRecord]] = {}


class _CaptureFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        with _lock:
            if not _captures:
                return True
            records = _captures.get(threading.get_ident())
        if records is not None:
            records.append(record)
        return False


_filter = _CaptureFilter()


@contextlib.contextmanager
def capture_tifffile_log() -> Iterator[list[logging.LogRecord]]:
    """Collect (and silence) the ``"tifffile"`` log records of this thread
    for the duration of the ``with`` block; yields the list they go to.
    Nested captures in one thread share the outer list."""
    logger = logging.getLogger(_LOGGER_NAME)
    key = threading.get_ident()
    with _lock:
        if _filter not in logger.filters:
            logger.addFilter(_filter)
        outer = _captures.get(key)
        records = outer if outer is not None else []
        _captures[key] = records
    try:
        yield records
    finally:
        with _lock:
            if outer is None:
                del _captures[key]


def message_text(record: logging.LogRecord) -> str:
    """The message of a tifffile record without its ``<tifffile.TiffFile
    'name'>`` prefix."""
    text = record.getMessage()
    if text.startswith("<") and "> " in text:
        text = text.split("> ", 1)[1]
    return text
