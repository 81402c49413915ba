"""Is it a skeleton?  The share of interior voxels, which tells a mask from a skeleton."""

from __future__ import annotations

import warnings

import numpy as np

from ._checks import _as_mask, _bounding_box

#: Above this :func:`interior_fraction`, :func:`compare` warns that an input is not a skeleton.
THICK_FRACTION = 0.02


def interior_fraction(mask) -> float:
    """Share of the foreground voxels whose 4 (2D) or 6 (3D) face neighbours are all foreground.

    About 0 for a skeleton (Lee, topological or a converged soft skeleton of
    the samples: 0.0000), and large for a segmentation (0.05 for the thin
    hemibrain neuron, 0.2–0.4 for the vessel masks): what tells a mask or a
    thresholded probability map apart from a skeleton.
    """
    image = _as_mask(mask, "mask")
    box = _bounding_box(image)
    if box is None:
        return 0.0
    # the face neighbours of the foreground voxels only (a skeleton is sparse), in a padded crop
    padded = np.pad(image[box], 1)
    flat = padded.reshape(-1)
    where = np.flatnonzero(flat)
    inner = np.ones(where.size, bool)
    for stride in np.array(padded.strides) // padded.itemsize:
        inner &= flat[where + stride] & flat[where - stride]
    return int(np.count_nonzero(inner)) / where.size


def _warn_if_thick(skel: np.ndarray, name: str) -> None:
    _warn_thick_fraction(interior_fraction(skel), name, stacklevel=4)


def _warn_thick_fraction(fraction: float, name: str, stacklevel: int) -> None:
    """Warn when ``fraction`` (:func:`interior_fraction`) says the input ``name`` is not a skeleton."""
    if fraction > THICK_FRACTION:
        warnings.warn(
            f"the {name} does not look like a skeleton: {fraction:.0%} of its voxels are interior "
            "(a skeleton has almost none); it looks like a mask or a thresholded probability map, "
            "so precision, recall and lengths mean little — skeletonize it first",
            UserWarning,
            stacklevel=stacklevel,
        )
