"""Reading and writing 2D/3D volumes (TIFF and NumPy ``.npy``).

No Qt or napari imports here: this package is shared by the command-line
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
  read back with the same shape.)  The one axis :func:`read_volume` removes
  is the channel axis a ``channel=`` picks from.
* Reading never returns a silently wrong image: a TIFF whose pages or data
  do not match its header (cut short, broken page chain), a file with
  several image series, RGB(A)/multi-sample pixels, a channel axis, a time
  axis or another non-spatial axis is an :class:`InputError` unless the
  caller chose a ``series``/``channel`` (time and other axes are not
  supported).  Every error is one line that names the file.
* tifffile's log messages never reach the terminal during a read; damage
  they report becomes the error message instead.
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

Modules
-------
``_volume`` (:func:`read_volume`, :func:`write_volume`), ``_tiff_read``
(series/channel selection), ``_tiff_check`` (truncation and corruption
checks), ``_tifflog`` (silencing tifffile's log), ``_tiff_meta``
(calibration metadata), ``_tiff_write``, ``_npy``, ``_atomic``
(:func:`atomic_write`), ``_paths`` (:func:`check_output_path`),
``_spacing`` and ``_errors`` (:class:`InputError`).
"""

from __future__ import annotations

# numpy and tifffile stay attributes of this package, as they were of the
# former io.py module, for tests that patch ``io.np.save`` / ``io.tifffile.imwrite``
import numpy as np  # noqa: F401
import tifffile  # noqa: F401

from ._atomic import atomic_write
from ._errors import InputError, MissingInputError
from ._paths import SUPPORTED_EXTENSIONS, check_output_path
from ._spacing import Spacing
from ._volume import read_volume, write_volume

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "InputError",
    "MissingInputError",
    "Spacing",
    "atomic_write",
    "check_output_path",
    "read_volume",
    "write_volume",
]
