"""The physical-distance gate of the topological thinning on anisotropic voxels.

On the voxel grid, one sweep of the peeling removes one layer of voxels from
every side, so with 5 × 1 × 1 µm voxels it eats 5 µm per sweep from the top
and bottom of a tube but 1 µm from its sides: the skeleton is centred in
voxels, not in micrometres, and a tube that is round in space but flat in
voxels thins like a ribbon.  With a spacing, the thinning is ordered by
physical distance instead (distance-ordered thinning, as Pudney 1998 and
kimimaro's TEASAR order their work by a Euclidean distance transform): each
voxel's *depth* is its Euclidean distance, in physical units, to the nearest
voxel of another value (the background, or another label; the padding counts
as background); sweep ``t`` may delete only voxels whose depth is at most
``t × h``, ``h`` the smallest spacing.  Its *gate* is that first sweep,
``ceil(depth / h)``, stored as ``uint16`` (clamped): the engines (NumPy,
numba, torch) compare integers, so they agree exactly.  Everything else —
sides, subfields, the end-point and simple-point tests — is unchanged, so
topology is kept exactly as before, and the gate holds voxels back only
where the grid would peel faster than physical distance.  Sweeps go on while
the gate holds any candidate back.  On isotropic voxels there is no gate:
the skeleton is the grid's, bit for bit.

The depths come from the ``edt`` package's anisotropic transform, or, for
sparse volumes, from the same exact transform run over the foreground only
(:mod:`._depth_sparse`): a vessel tree fills ~0.5 % of its box, and a dense
transform then costs more than the thinning itself.
"""

from __future__ import annotations

import numpy as np

#: The foreground's share of the volume below which :mod:`._depth_sparse` (which costs the foreground)
#: replaces ``edt`` (which costs the volume), from this many voxels (below, edt takes milliseconds and
#: loading numba would cost more).  Both give the same depths to float rounding (tested).
SPARSE_BELOW, SPARSE_FROM = 1 / 16, 1 << 21
#: Relative slack on a depth of exactly ``t × h`` (float rounding must not push it to sweep ``t + 1``).
_SLACK = 1e-6
_MAX_GATE = np.iinfo(np.uint16).max


def is_anisotropic(spacing) -> bool:
    return spacing is not None and max(spacing) > min(spacing) * (1 + 1e-9)


def _sparse_pays(padded: np.ndarray) -> bool:
    return padded.size >= SPARSE_FROM and np.count_nonzero(padded) < padded.size * SPARSE_BELOW


def _to_gate(depth: np.ndarray, step: float) -> np.ndarray:
    sweeps = np.ceil(depth / (step * (1 + _SLACK)))
    return np.minimum(sweeps, _MAX_GATE).astype(np.uint16)


def physical_gate(padded: np.ndarray, spacing, batch: bool = False) -> np.ndarray | None:
    """The gate (uint16, flat, ``padded``'s size; 0 on the background) for the padded array of
    :func:`.topological._thin_numpy` (``batch``: axis 0 stacks 2-D images, ``spacing`` then has one
    value per image axis); ``None`` for isotropic or no spacing."""
    if not is_anisotropic(spacing):
        return None
    spacing = tuple(float(s) for s in spacing)
    step = min(spacing)
    if _sparse_pays(padded):
        try:
            from ._depth_sparse import sparse_depth
        except ImportError:  # (no numba)
            pass
        else:
            idx, depth = sparse_depth(padded, spacing, batch)
            gate = np.zeros(padded.size, np.uint16)
            gate[idx] = _to_gate(depth, step)
            return gate
    import edt

    # (edt treats every distinct value as its own region: masks and label images alike)
    if batch:
        depth = np.stack([edt.edt(image, anisotropy=spacing, black_border=True) for image in padded])
    else:
        depth = edt.edt(padded, anisotropy=spacing, black_border=True)
    return _to_gate(depth, step).reshape(-1)
