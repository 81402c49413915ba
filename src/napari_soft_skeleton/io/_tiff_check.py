"""Integrity checks for TIFF files: never return part of an image as if it
were the whole.

tifffile is forgiving: when a file is cut short or its page chain is broken
it logs an error and returns what it could read, e.g. a single 2D page of a
58-slice ImageJ stack.  The checks here compare what the file promises with
what can actually be read and return a description of the first mismatch
(``None`` when the file is consistent):

* the chain of image file directories (IFDs) must end properly: the last
  page tifffile found must not point to a further page it could not read;
* tifffile's log must not report structural damage (offsets past the end of
  the file, corrupted tag lists, ...), see :data:`_FATAL_LOG`;
* ImageJ, OME and "shaped" (tifffile JSON) metadata must have produced a
  series of that kind, with the number of pages and the shape they describe;
* every byte of image data a series refers to must lie inside the file.
"""

from __future__ import annotations

import logging
import math
import struct
from typing import Any

from ._errors import plural
from ._tiff_meta import shaped_metadata
from ._tifflog import message_text

# series kinds tifffile uses when no format-specific metadata could be used
_FALLBACK_KINDS = ("generic", "uniform")
_KIND_HEADER = {
    "imagej": "the ImageJ header",
    "ome": "the OME-XML metadata",
    "shaped": "the shape metadata",
}


def _are(count: int, what: str = "page") -> str:
    return f"{plural(count, what)} {'is' if count == 1 else 'are'}"


def _next_ifd_offset(tif: Any, offset: int) -> int | None:
    """The next-IFD pointer stored after the IFD at ``offset`` (``None`` if
    it cannot be read)."""
    fmt = tif.tiff
    fh = tif.filehandle
    try:
        fh.seek(offset)
        (tagno,) = struct.unpack(fmt.tagnoformat, fh.read(fmt.tagnosize))
        fh.seek(offset + fmt.tagnosize + tagno * fmt.tagsize)
        (nxt,) = struct.unpack(fmt.offsetformat, fh.read(fmt.offsetsize))
    except (struct.error, OSError, ValueError):
        return None
    return int(nxt)


def check_page_chain(tif: Any) -> str | None:
    npages = len(tif.pages)
    if npages == 0:
        return None  # reported by the caller as "contains no image"
    last = tif.pages[npages - 1]
    nxt = _next_ifd_offset(tif, last.offset)
    if nxt is None:
        return f"the directory of page {npages} is cut off"
    if nxt != 0:
        size = tif.filehandle.size
        if nxt >= size:
            return (
                f"the list of pages is broken after page {npages}: the next page would start "
                f"at byte {nxt} but the file has only {size} bytes"
            )
        return (
            f"the list of pages is broken after page {npages}: the next entry is not a valid page"
        )
    return None


# tifffile ERROR records that mean the file structure is damaged: tifffile's
# wording -> what it means for the user (None: quote tifffile).  Other ERROR
# records (e.g. "incorrect StripByteCounts count", which tifffile repairs)
# are not fatal by themselves.
_FATAL_LOG = (
    ("invalid value offset", "some metadata lie past the end of the file"),
    ("invalid page offset", "the list of pages points past the end of the file"),
    ("invalid offset to page", "the list of pages is cut off"),
    ("invalid next page", "the list of pages points past the end of the file"),
    ("corrupted tag list", "the directory of a page is damaged"),
    ("circular reference", "the list of pages loops back on itself"),
    ("corrupted file", None),
    ("missing data offset", None),
)


def check_log(records: list[logging.LogRecord]) -> str | None:
    """Structural damage reported in tifffile's ERROR records."""
    for record in records:
        if record.levelno < logging.ERROR:
            continue
        text = message_text(record)
        lowered = text.lower()
        for pattern, meaning in _FATAL_LOG:
            if pattern in lowered:
                return meaning or f"tifffile reports: {text}"
    return None


def _series_pages(series: Any) -> list[Any]:
    """The pages of ``series`` (a sequence of pages in tifffile), ``None``
    where a page is missing from the file."""
    pages = []
    for index in range(len(series)):
        try:
            pages.append(series[index])
        except IndexError:
            pages.append(None)
    return pages


def _missing_pages(series: Any) -> str | None:
    """Fewer pages than the shape of ``series`` needs.  (A "truncated"
    series, an ImageJ stack whose data follow the first page contiguously,
    has one page by design: :func:`check_series_data` checks its data.)"""
    if series.is_truncated:
        return None
    present = sum(page is not None for page in _series_pages(series))
    needed = series.size // max(series.keyframe.size, 1)
    if present < needed:
        header = _KIND_HEADER.get(series.kind, "the header")
        return f"{header} describes {needed} images but only {_are(present)} readable"
    return None


def _images_described(tif: Any) -> int | None:
    meta = tif.imagej_metadata or {}
    try:
        counts = [int(meta.get(k, 1)) for k in ("frames", "slices", "channels")]
        images = int(meta.get("images", 0))
    except (TypeError, ValueError):
        return None
    return max(images, math.prod(counts))


def check_metadata(tif: Any) -> str | None:
    """Compare ImageJ / OME / shaped metadata with the series tifffile built.

    tifffile tries the formats a file claims in a fixed order and falls back
    to a "generic" series (pages grouped by shape) when the metadata do not
    fit the pages; a fallback in a file that claims one of these formats
    means that the file does not hold what its header describes."""
    npages = len(tif.pages)
    all_series = list(tif.series)
    if all_series and all_series[0].kind in _FALLBACK_KINDS:
        if tif.is_imagej:
            images = _images_described(tif)
            if images is not None and npages < images:
                return (
                    f"the ImageJ header describes {images} images but only {_are(npages)} readable"
                )
            return "the ImageJ header does not match the image data"
        if tif.is_ome:
            return "the OME-XML metadata do not match the image data"
        if tif.is_shaped:
            return "the shape metadata do not match the image data"
    for series in all_series:
        problem = _missing_pages(series)
        if problem:
            return problem
        meta = shaped_metadata(tif, series) if series.kind == "shaped" else None
        if meta is None:
            continue
        try:
            described = tuple(int(n) for n in meta["shape"])
        except (KeyError, TypeError, ValueError):
            continue
        if math.prod(described) != series.size:
            pages_needed = math.prod(described) // max(series.keyframe.size, 1)
            if len(all_series) == 1 and npages < pages_needed:
                return (
                    f"the shape metadata describes a {described} array in {pages_needed} pages "
                    f"but only {_are(npages)} readable"
                )
            return (
                f"the shape metadata describes a {described} array "
                f"but the pages hold {series.shape}"
            )
    return None


def check_series_data(series: Any) -> str | None:
    """Check that the pages of ``series`` exist and their data lie inside the file."""
    problem = _missing_pages(series)
    if problem:
        return problem
    if series.dataoffset is not None:
        # contiguous data (ImageJ stacks with one page directory included)
        size = series.keyframe.parent.filehandle.size
        end = series.dataoffset + series.nbytes
        if end > size:
            return f"the image data should end at byte {end} but the file has only {size} bytes"
        return None
    pages = _series_pages(series)
    for index, page in enumerate(pages):
        size = page.parent.filehandle.size
        for start, count in zip(page.dataoffsets, page.databytecounts):
            if count and start + count > size:
                return (
                    f"the data of page {index + 1} of {len(pages)} end at byte {start + count} "
                    f"but the file has only {size} bytes"
                )
    return None
