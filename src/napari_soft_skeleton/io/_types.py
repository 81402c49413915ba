"""What :func:`~napari_soft_skeleton.io.read_volume` returns."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._spacing import Spacing

#: The ``format`` names of :class:`Volume` (what was read; writers take the same names).
FORMATS = ("imagej-tiff", "ome-tiff", "tiff", "npy", "ome-zarr", "zarr", "nifti", "nrrd")


class Volume(tuple):
    """An image read from a file, with its calibration.

    Unpacks as ``array, spacing = read_volume(path)`` (the two values it has
    always returned); the rest are attributes:

    ``array``
        The image (``ndarray``).
    ``spacing``
        One physical step per axis of ``array`` (``(z, y, x)`` / ``(y, x)``),
        or ``None`` when the file has no calibration (treat as isotropic
        voxels).
    ``unit``
        The length unit of ``spacing`` as a canonical symbol (``"nm"``,
        ``"µm"``, ``"mm"``, ...; see :mod:`._units`), or ``None`` when the
        file names none.
    ``format``
        What the file was (one of :data:`FORMATS`), so that an output can be
        written the same way.
    ``notes``
        One-line remarks about the calibration for the user (e.g. that the
        file has none, or that its z step was not recorded and what was
        assumed); empty when there is nothing to say.
    """

    def __new__(
        cls,
        array: np.ndarray,
        spacing: Spacing | None,
        *,
        unit: str | None = None,
        format: str = "npy",
        notes: Sequence[str] = (),
    ) -> Volume:
        self = super().__new__(cls, (array, spacing))
        self.unit = unit
        self.format = format
        self.notes = tuple(notes)
        return self

    @property
    def array(self) -> np.ndarray:
        return self[0]

    @property
    def spacing(self) -> Spacing | None:
        return self[1]

    def __repr__(self) -> str:
        return (
            f"Volume(shape={self.array.shape}, dtype={self.array.dtype}, spacing={self.spacing}, "
            f"unit={self.unit!r}, format={self.format!r})"
        )

    def __reduce__(self):
        return (_rebuild, (self.array, self.spacing, self.unit, self.format, self.notes))


def _rebuild(array, spacing, unit, format, notes) -> Volume:
    return Volume(array, spacing, unit=unit, format=format, notes=notes)
