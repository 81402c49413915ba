"""Soft skeleton of binary masks, on the foreground voxels only.

For a 0/1 image the soft skeleton has a closed form.  Let ``D`` be the
city-block distance from each voxel to the nearest in-volume zero (``D = 0`` on
the background).  Iterated cross erosion gives ``img_k = {D > k}``, and
``delta_k = img_k & ~dilate(img_{k+1})`` holds a voxel iff ``D > k`` while no
voxel of its 3×3(×3) box has ``D > k + 1``.  The union over ``k = 0..K`` is::

    skeleton = {p : 1 <= D(p) <= K + 1  and  D(p) = max of D over the box of p}

This module evaluates that with index arithmetic on the foreground voxels of a
padded volume, so its cost grows with the number of foreground voxels, not with
the volume: the right tool for sparse vessels and neurons.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["sparse_binary_soft_skeleton"]


def _offsets(padded_shape: tuple[int, ...], ndim: int, box: bool) -> np.ndarray:
    strides = np.cumprod((1,) + padded_shape[::-1][:-1])[::-1][-ndim:]
    if box:
        steps = [s for s in itertools.product((-1, 0, 1), repeat=ndim) if any(s)]
    else:
        steps = [tuple(sign if i == d else 0 for i in range(ndim)) for d in range(ndim) for sign in (-1, 1)]
    return np.array([int(np.dot(s, strides)) for s in steps], dtype=np.intp)


def sparse_binary_soft_skeleton(mask: np.ndarray, iterations: int) -> tuple[np.ndarray, int]:
    """Soft skeleton of a boolean array ``(B, *spatial)`` (2 or 3 spatial axes).

    Returns the boolean skeleton (same shape) and the number of iterations that
    mattered (``min(max(D) - 1, iterations)``; 0 for an empty or full mask).
    """
    ndim = mask.ndim - 1
    cap = iterations + 2  # distances are only needed up to K + 2
    dtype = np.uint8 if cap < 255 else np.uint32
    deep = np.iinfo(dtype).max  # out-of-volume voxels never erode anything
    pad = [(0, 0)] + [(1, 1)] * ndim
    dist = np.pad(mask.astype(dtype, copy=False), pad, constant_values=deep)
    fg = np.flatnonzero(dist == 1)
    if fg.size == 0 or fg.size == mask.size:
        return np.zeros(mask.shape, bool), 0
    flat = dist.reshape(-1)
    face = _offsets(dist.shape, ndim, box=False)
    level = fg
    depth = 1
    # Peel: a voxel of level k reaches level k+1 iff all its face neighbours
    # are in level k (out-of-volume neighbours count as deep).
    while depth < cap:
        keep = np.ones(level.size, bool)
        for off in face:
            keep &= flat[level + off] >= depth
        level = level[keep]
        if level.size == 0:
            break
        depth += 1
        flat[level] = depth
    # Out-of-volume neighbours are ignored by the box maximum: make them 0.
    for d in range(1, ndim + 1):
        idx = [slice(None)] * dist.ndim
        for end in (0, -1):
            idx[d] = end
            dist[tuple(idx)] = 0
    values = flat[fg]
    cand = fg[values <= iterations + 1]
    cand_values = flat[cand]
    is_max = np.ones(cand.size, bool)
    for off in _offsets(dist.shape, ndim, box=True):
        is_max &= flat[cand + off] <= cand_values
    skel_padded = np.zeros(dist.shape, bool)
    skel_padded.reshape(-1)[cand[is_max]] = True
    inner = (slice(None),) + (slice(1, -1),) * ndim
    used = min(int(values.max()) - 1, iterations)
    return np.ascontiguousarray(skel_padded[inner]), max(used, 0)
