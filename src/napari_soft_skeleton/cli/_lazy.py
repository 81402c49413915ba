"""``graph`` and ``compare`` on a ``.zarr`` volume read lazily (chunk by chunk), bigger than memory.

``read_image(path, lazy=True)`` gives a dask array for a Zarr store (the
other formats are read into memory as before).  A lazy skeleton is used
through its voxel coordinates (:mod:`.._sparse`): ``compare`` gives the
in-memory numbers (:mod:`..metrics._compare_lazy`), ``graph`` the in-memory
tables (:mod:`..graph._build_lazy`).  What needs the whole volume in memory
is refused with one line: ``graph`` of a ``.zarr`` that is a mask (skeletonize
it first), ``--prune``/``--prune-radius`` on a lazy skeleton, and
``compare --figure`` of volumes above :data:`FIGURE_MAX_BYTES`.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._sparse import is_lazy, skeleton_coords
from ..io import InputError

#: A lazy ``.zarr`` read by ``graph`` may have at most this share of nonzero voxels (a skeleton has far
#: fewer; a mask far more, and its coordinates would not fit in memory).
MAX_SKELETON_FRACTION = 0.02

#: ``compare --figure`` reads lazy volumes into memory up to this many bytes in all (the figure draws them).
FIGURE_MAX_BYTES = 2 * 1024**3


def graph_input(data, path: str, args):
    """``(skeleton, coords)`` of a lazy input: the dask skeleton (boolean unless it holds several labels)
    and its ``skeleton_coords``; a mask, a float image that is not 0/1, negative labels or pruning:
    one line."""
    from ..metrics import THICK_FRACTION
    from .._sparse import interior_fraction

    if args.prune is not None or args.prune_radius is not None:
        flag = "--prune" if args.prune is not None else "--prune-radius"
        raise InputError(f"{flag} needs the skeleton in memory, but '{path}' is a Zarr volume read chunk by chunk; "
                         "prune a skeleton that fits (a .tif or .npy) instead")
    limit = max(int(MAX_SKELETON_FRACTION * int(np.prod(data.shape))), 1000)
    try:
        coords, values = skeleton_coords(data, name=f"'{path}'", max_voxels=limit)
    except ValueError as exc:
        if "sparse skeleton" in str(exc):
            raise InputError(_mask_message(path, f"more than {MAX_SKELETON_FRACTION:.0%} of its voxels are set")) \
                from None
        if "0 and 1" in str(exc):  # (as _graph._as_graph_input says it)
            raise InputError(
                f"'{path}' has floating-point values other than 0 and 1: graph needs a skeleton, a mask or a "
                "label image (binarize a probability map first, e.g. skeletonize --threshold 0.5)") from None
        raise InputError(str(exc)) from None
    if values is not None and np.unique(values).size <= 1:
        values = None  # one label: a binary skeleton, as in memory
    fraction = interior_fraction(coords, tuple(int(n) for n in data.shape))
    if fraction >= THICK_FRACTION:
        raise InputError(_mask_message(path, f"{fraction:.0%} of its voxels are interior"))
    if args.method is not None or args.fill_holes:
        flags = " and ".join(f for f, on in (("--method", args.method), ("--fill-holes", args.fill_holes)) if on)
        warnings.warn(f"'{path}' already looks like a skeleton (almost no interior voxels), so it is "
                      f"used as is and {flags} {'has' if ' and ' not in flags else 'have'} no effect", stacklevel=1)
    if coords.shape[0] == 0:
        warnings.warn(f"'{path}' has no foreground: the graph is empty", stacklevel=1)
    skeleton = data if values is not None else data != 0
    return skeleton, (coords, values)


def _mask_message(path: str, why: str) -> str:
    return (f"'{path}' looks like a mask, not a skeleton ({why}): graph reads a Zarr volume chunk by chunk only "
            f"as a skeleton; skeletonize it first (soft-skeleton skeletonize {path} -o skeleton.zarr)")


def lazy_graph(skeleton, coords, spacing, unit):
    from ..graph._build_lazy import lazy_graph as build

    return build(skeleton, spacing=spacing, unit=unit, coords=coords)


def for_figure(*arrays):
    """The arrays in memory for the figure (lazy ones read whole, if they fit in :data:`FIGURE_MAX_BYTES`)."""
    lazy = [a for a in arrays if a is not None and is_lazy(a)]
    need = sum(int(np.prod(a.shape)) * np.dtype(a.dtype).itemsize for a in lazy)
    if need > FIGURE_MAX_BYTES:
        raise InputError(f"--figure draws the volumes, which needs them in memory ({need / 1e9:.1f} GB of Zarr "
                         f"data, more than {FIGURE_MAX_BYTES / 1e9:.1f} GB); leave out --figure for volumes this big")
    return [None if a is None else (np.asarray(a) if is_lazy(a) else a) for a in arrays]
