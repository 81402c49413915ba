"""Reading and writing 2D/3D volumes with their calibration (spacing + unit):
TIFF (ImageJ, OME and plain), NumPy ``.npy``, OME-Zarr, NIfTI and NRRD.

No Qt or napari imports here: this package is shared by the command-line
interface and the plugin.  zarr, nibabel and pynrrd are imported only when
such a file is read or written.

Conventions
-----------
* Supported extensions (case-insensitive, double suffixes included):
  ``.tif``, ``.tiff``, ``.ome.tif``, ``.ome.tiff``, ``.npy``, ``.zarr``,
  ``.ome.zarr`` (directories), ``.nii``, ``.nii.gz`` and ``.nrrd``.
* Arrays are in ``(z, y, x)`` / ``(y, x)`` order everywhere; NIfTI and NRRD
  store x first and are transposed on the way in and out.
* :func:`read_volume` returns a :class:`Volume`, which unpacks as
  ``array, spacing``: ``spacing`` is a tuple with one physical step per
  array axis, or ``None`` when the file does not carry any (``notes`` then
  says "isotropic voxels assumed"); ``unit`` is a canonical length unit
  (``"nm"``, ``"µm"``, ``"mm"``, ... see :func:`normalize_unit`) or
  ``None``; ``format`` says what the file was (``"imagej-tiff"``,
  ``"ome-tiff"``, ``"tiff"``, ``"npy"``, ``"ome-zarr"``, ``"zarr"``,
  ``"nifti"``, ``"nrrd"``) so that an output can be written the same way.
* Nothing is squeezed: the array comes back with the shape stored in the
  file, leading length-1 axes included; the caller decides what to do with
  them.  (ImageJ hyperstacks and OME-TIFF do not record length-1 axes, so
  such a file comes back with only the axes it describes; an OME-TIFF
  written from a one-slice 3D array reads back as 2D.  :func:`write_volume`
  writes ``.tif`` files it could not read back with the same shape in
  tifffile's shaped layout instead of ImageJ's.)  The axes
  :func:`read_volume` removes are the channel axis a ``channel=`` picks from
  and length-1 non-spatial axes (time, channel) of OME-Zarr, NIfTI and NRRD.
* Reading never returns a silently wrong image: a TIFF whose pages or data
  do not match its header (cut short, broken page chain), a file with
  several image series, RGB(A)/multi-sample pixels, a channel axis, a time
  axis or another non-spatial axis is an :class:`InputError` unless the
  caller chose a ``series``/``channel`` (time and other axes are not
  supported).  So is calibration that cannot be trusted: an unknown unit,
  or ImageJ and OME metadata in one file that disagree.  Every error is one
  line that names the file.
* tifffile's log messages never reach the terminal during a read; damage
  they report becomes the error message instead.
* Outputs are written atomically: to a temporary file (a temporary sibling
  directory for ``.zarr``) in the destination directory that is then renamed
  into place, so an output is either written whole or not at all, and an
  existing one is left untouched on failure.  An existing ``.zarr`` output
  is replaced only if it is a Zarr store, and only once the new one is
  complete.

Where the calibration is found, and how it is written
-----------------------------------------------------
* **ImageJ TIFF** (``.tif``/``.tiff``; written for ``uint8``, ``uint16``,
  ``float32`` and ``bool`` arrays with 2 dimensions, or 3 with more than one
  slice): zlib-compressed hyperstacks (axes ``YX`` / ``ZYX``) that
  Fiji/ImageJ opens with the right calibration: x/y spacing in the
  XResolution/YResolution tags (pixels per unit, plus the exact values in a
  private description entry), z spacing as ``spacing=`` and the unit as
  ``unit=`` in the ImageJ description (``micron`` for µm, which ImageJ
  recognises; read: ``micron``, ``\\u00B5m``, ``um``, ``nm``, ...;
  ``pixel``/absent: no unit; ``yunit=``/``zunit=`` are converted to it).
  ``bool`` arrays are stored as ``uint8`` 0/1 with the description entry
  ``soft_skeleton_dtype=bool`` so that they come back as ``bool``.
* **tifffile "shaped" TIFF** (``.tif`` for every other array): the shape,
  ``spacing`` and ``unit`` as JSON in the ImageDescription (plus resolution
  tags in pixels per cm for other readers); read back exactly.
* **OME-TIFF** (``.ome.tif``/``.ome.tiff``, or ``.tif`` with
  ``format="ome-tiff"``; 2D/3D arrays of OME's pixel types, ``bool`` as
  OME's ``bit``): ``PhysicalSizeX/Y/Z`` and ``PhysicalSize*Unit`` of the
  series' ``Image/Pixels`` (OME's default unit µm; ``pixel`` without a
  unit), all converted to the x unit; a 3D image without ``PhysicalSizeZ``
  gets z = x, with a note.
* **Other TIFF**: XResolution/YResolution with ResolutionUnit inch or cm,
  converted to µm (3D: z = x, with a note); ResolutionUnit none or 1/1:
  uncalibrated.
* **.npy**: a sidecar ``<stem>.json`` next to it, ``{"spacing": [z, y, x],
  "unit": "µm"}`` (either key optional; a unit alone means one unit per
  voxel), validated on reading.  Written when there is a spacing; writing
  without one removes a sidecar left by an earlier write.  A JSON file of
  that name that is not a sidecar is ignored and never overwritten.
* **OME-Zarr** (``.zarr``/``.ome.zarr`` directories; read: NGFF 0.4 on Zarr
  v2 and 0.5 on Zarr v3, plain Zarr arrays uncalibrated; written: one-level
  NGFF 0.4, Blosc-zstd chunks, ``bool`` kept): level 0 of the first
  multiscale image, spacing = dataset ``scale`` x multiscale ``scale`` of
  the space axes, unit from ``axes[].unit`` (UDUNITS names such as
  ``micrometer``).  Scale 1 without units means uncalibrated.
* **NIfTI** (``.nii``/``.nii.gz``, through nibabel): the voxel sizes
  (``pixdim``) and the spatial unit of the header (``mm``, ``micron``,
  ``meter``; other units are written converted: nm as µm, cm as mm);
  ``bool`` as ``uint8`` with a header description marker.
* **NRRD** (``.nrrd``, through pynrrd): ``space directions`` (written) or
  ``spacings``, and ``space units`` or ``units``; ``bool`` as ``uint8`` with
  a ``soft_skeleton_dtype:=bool`` field.

Modules
-------
``_volume`` (:func:`read_volume`, :func:`write_volume`), ``_types``
(:class:`Volume`), ``_tiff_read`` (series/channel selection),
``_tiff_check`` (truncation and corruption checks), ``_tifflog``
(silencing tifffile's log), ``_tiff_meta`` (ImageJ, shaped and baseline
calibration), ``_ome_tiff`` (OME-XML calibration, OME-TIFF output),
``_tiff_write``, ``_npy`` and ``_sidecar`` (``.npy`` and its calibration),
``_zarr`` (OME-Zarr), ``_nifti``, ``_nrrd``, ``_axes`` (named axes:
time/channel/other), ``_calib`` (calibration helpers, notes), ``_units``
(unit names and conversions), ``_atomic`` (:func:`atomic_write`, atomic
directories), ``_paths`` (extensions, :func:`check_output_path`),
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
from ._types import Volume
from ._units import normalize_unit
from ._volume import read_volume, write_volume

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "InputError",
    "MissingInputError",
    "Spacing",
    "Volume",
    "atomic_write",
    "check_output_path",
    "normalize_unit",
    "read_volume",
    "write_volume",
]
