"""Betti numbers of binary 2D/3D arrays (digital topology)."""

from __future__ import annotations

import itertools

import numpy as np
from scipy import ndimage as ndi

from ._checks import _as_mask, _bounding_box


def betti_numbers(mask) -> tuple[int, ...]:
    """Betti numbers of a binary 2D or 3D array.

    The foreground uses the largest connectivity (8 in 2D, 26 in 3D) and the
    background the smallest (4 in 2D, 6 in 3D), the standard pair of
    digital-topology adjacencies for which the counts below are consistent.

    Parameters
    ----------
    mask : (M, N) or (P, M, N) array_like
        Binary image. Booleans, integers (nonzero = foreground) or
        floating-point values that are exactly 0 or 1.

    Returns
    -------
    betti : tuple of int
        In 2D, ``(b0, b1)``: ``b0`` is the number of 8-connected foreground
        components and ``b1`` the number of holes, i.e. 4-connected
        background components that do not touch the image border (the image
        is treated as surrounded by background).
        In 3D, ``(b0, b1, b2)``: ``b0`` is the number of 26-connected
        foreground components, ``b2`` the number of cavities (6-connected
        background components enclosed by the foreground) and
        ``b1 = b0 + b2 - chi`` the number of independent tunnels / loops,
        where ``chi`` is the Euler characteristic of the foreground with
        26-connectivity.

    Raises
    ------
    ValueError
        If ``mask`` is not a 2D or 3D binary numeric array.

    See Also
    --------
    skimage.measure.euler_number : Same Euler characteristic (see Notes).
    scipy.ndimage.label : Connected-component labelling used for ``b0`` and
        for the background components.

    Notes
    -----
    The array is cropped to the bounding box of its foreground and padded
    with one layer of background before labelling, so the cost depends on
    the extent of the foreground, not on the full array. Components are
    counted with :func:`scipy.ndimage.label`. The 3D Euler characteristic
    is that of the union of the closed foreground cubes, counted cell by
    cell; it equals ``skimage.measure.euler_number(mask, connectivity=3)``
    (26-connected foreground: a solid cube gives 1, a one-voxel-thick ring
    0, a hollow shell 2) and is several times faster on large volumes.

    References
    ----------
    .. [1] T. Y. Kong and A. Rosenfeld, "Digital topology: Introduction and
           survey", Computer Vision, Graphics, and Image Processing 48(3),
           357-393, 1989. :DOI:`10.1016/0734-189X(89)90147-3`

    Examples
    --------
    >>> import numpy as np
    >>> ring = np.zeros((5, 5), dtype=bool)
    >>> ring[1:4, 1:4] = True
    >>> ring[2, 2] = False
    >>> betti_numbers(ring)
    (1, 1)
    >>> ball = np.zeros((5, 5, 5), dtype=bool)
    >>> ball[1:4, 1:4, 1:4] = True
    >>> betti_numbers(ball)
    (1, 0, 0)
    """
    image = _as_mask(mask, "mask")
    return _betti(image)


def _pad_false(image: np.ndarray) -> np.ndarray:
    """Copy of a boolean array with one layer of False around it."""
    padded = np.zeros(tuple(n + 2 for n in image.shape), dtype=bool)
    padded[(slice(1, -1),) * image.ndim] = image
    return padded


def _euler_characteristic(padded: np.ndarray) -> int:
    """Euler characteristic of the 8-/26-connected foreground.

    The foreground is the union of closed unit squares / cubes, and
    ``chi = sum_k (-1)**k * (number of k-dimensional cells)``. A cell that
    spans the axes ``S`` is shared by the voxels of a window of size 2 along
    every other axis, and it belongs to the complex if any of them is set,
    so the cells are counted with shifted ORs. ``padded`` must have a
    background border. Gives the same value as
    ``skimage.measure.euler_number(image, connectivity=image.ndim)`` (which
    is slower because it convolves an int64 copy of the array).
    """
    ndim = padded.ndim
    chi = 0
    cache = {(): padded}
    for r in range(1, ndim + 1):
        for axes in itertools.combinations(range(ndim), r):
            prev = cache[axes[:-1]]
            a = axes[-1]
            lo = [slice(None)] * ndim
            hi = [slice(None)] * ndim
            lo[a] = slice(None, -1)
            hi[a] = slice(1, None)
            cache[axes] = prev[tuple(lo)] | prev[tuple(hi)]
    for axes, ored in cache.items():
        k = ndim - len(axes)  # dimension of the cells counted by this window
        chi += (-1) ** k * int(np.count_nonzero(ored))
    return chi


def _betti(image: np.ndarray) -> tuple[int, ...]:
    ndim = image.ndim
    box = _bounding_box(image)
    if box is None:
        return (0,) * ndim
    padded = _pad_false(image[box])
    full = np.ones((3,) * ndim, dtype=bool)
    face = ndi.generate_binary_structure(ndim, 1)
    _, b0 = ndi.label(padded, structure=full)
    _, n_background = ndi.label(~padded, structure=face)
    enclosed = int(n_background) - 1  # the padding joins all outside voxels
    if ndim == 2:
        return (int(b0), enclosed)
    chi = _euler_characteristic(padded)
    b1 = int(b0) + enclosed - chi
    return (int(b0), b1, enclosed)

