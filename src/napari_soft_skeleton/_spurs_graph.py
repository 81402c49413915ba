"""The skeleton's voxel graph for the spur pruning (:mod:`._spurs`), kept sparse.

The pruning needs, for each skeleton voxel, its neighbours of the same value
(label) and the direction to each of them (the bit of the simple-point
test's neighbourhood code).  They are kept as neighbour lists over the sorted
flat indices ``skel`` of the skeleton's voxels (in a padded C-ordered array,
so that no neighbour step wraps around a line): ``indptr``, ``nbr`` (positions
in ``skel``), ``nbdir`` (index into the neighbour offsets), in the offsets'
order.  Deleting a voxel sets its value ``vals[s]`` to 0; a neighbour counts
while its value equals the voxel's.

Nothing here needs the dense volume, so the same kernels prune a skeleton
held in memory and one whose coordinates were gathered chunk by chunk from a
Zarr store (:mod:`._chunked_prune`), voxel for voxel alike.  The kernels
follow the ones they replace step for step (the same visiting orders), so
the result is the same.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._peel_numba import _simple


def neighbour_lists(skel: np.ndarray, vals: np.ndarray, offsets: np.ndarray, flat: np.ndarray | None = None):
    """``(indptr, nbr, nbdir)``: for each voxel ``skel[s]`` its neighbours ``skel[nbr[e]]`` of the same
    value, ``e`` in ``indptr[s]:indptr[s+1]``, in the order of ``offsets`` (``nbdir[e]`` the offset's index).

    ``flat``: the padded volume the indices point into, when it is in memory (a cheap first test);
    else every neighbour is looked up in ``skel`` (sorted) by binary search."""
    n = len(skel)
    src, dst, way = [], [], []
    for i, off in enumerate(offsets):
        needle = skel + off
        if flat is not None:
            cand = np.flatnonzero(flat[needle] == vals)
        else:
            cand = np.arange(n)
        if len(cand) == 0 or n == 0:
            continue
        q = np.searchsorted(skel, needle[cand])
        q = np.minimum(q, n - 1)
        hit = (skel[q] == needle[cand]) & (vals[q] == vals[cand])
        src.append(cand[hit])
        dst.append(q[hit])
        way.append(np.full(int(hit.sum()), i, np.uint8))
    if not src:
        return np.zeros(n + 1, np.int64), np.empty(0, np.int64), np.empty(0, np.uint8)
    src, dst, way = np.concatenate(src), np.concatenate(dst), np.concatenate(way)
    order = np.argsort(src, kind="stable")  # by voxel, then by offset (the concatenation's order)
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return indptr, dst[order].astype(np.int64), way[order]


@njit(cache=True, nogil=True)
def _degree(vals, indptr, nbr, s):
    """Number of the neighbours of voxel ``s`` that carry its value."""
    c, d = vals[s], 0
    for e in range(indptr[s], indptr[s + 1]):
        if vals[nbr[e]] == c:
            d += 1
    return d


@njit(cache=True, nogil=True)
def _code(vals, indptr, nbr, nbdir, s, c):
    """Bit-coded neighbourhood of voxel ``s``: bit i set when neighbour i carries ``c``."""
    code = 0
    for e in range(indptr[s], indptr[s + 1]):
        if vals[nbr[e]] == c:
            code |= 1 << nbdir[e]
    return code


@njit(cache=True, nogil=True)
def _junction(vals, indptr, nbr, s, degree, cluster, mark, branches, stack):
    """The id of the junction (a connected cluster of voxels with three neighbours or more, ``degree``)
    of voxel ``s``: the position of its first voxel met, written into ``cluster`` for all of them,
    once; ``branches[id]``: the voxels of its value next to it, not in it."""
    if cluster[s] >= 0:
        return cluster[s]
    c, count, top = vals[s], 0, 1
    cluster[s], stack[0] = s, s
    while top:
        top -= 1
        v = stack[top]
        for e in range(indptr[v], indptr[v + 1]):
            q = nbr[e]
            if vals[q] != c:
                continue
            if degree[q] >= 3:
                if cluster[q] < 0:
                    cluster[q] = s
                    stack[top] = q
                    top += 1
            elif mark[q] != s + 1:
                mark[q] = s + 1
                count += 1
    branches[s] = count
    return s


@njit(cache=True, nogil=True)
def branches(vals, indptr, nbr, nbdir, steplen, tips, juncs, lengths, clusters, degrees):
    """The terminal branches of the skeleton (voxels with ``vals`` 0 are gone).

    From each tip (one neighbour of its value), walk along two-neighbour voxels
    to the first voxel with three or more: it, the length (the sum of
    ``steplen``), its junction's id and branches (:func:`_junction`) go into
    ``tips``/``juncs`` (positions), ``lengths``, ``clusters``, ``degrees``; a
    walk that ends at a tip (a line, a whole object) is left out.  Returns how
    many were found.
    """
    n = vals.shape[0]
    degree = np.zeros(n, np.int64)
    for s in range(n):
        if vals[s] != 0:
            degree[s] = _degree(vals, indptr, nbr, s)
    cluster, mark = np.full(n, -1, np.int64), np.zeros(n, np.int64)
    nbranch, stack = np.zeros(n, np.int64), np.empty(n, np.int64)
    m = 0
    for s in range(n):
        if vals[s] == 0 or degree[s] != 1:
            continue
        c, prev, cur, length, d = vals[s], s, s, 0.0, 0
        for _ in range(n):  # (each voxel once at most)
            d, nxt, step = 0, -1, 0.0
            for e in range(indptr[cur], indptr[cur + 1]):
                u = nbr[e]
                if vals[u] == c:
                    d += 1
                    if u != prev:
                        nxt, step = u, steplen[nbdir[e]]
            if d != 2 and cur != s:
                break
            length += step
            prev, cur = cur, nxt
        if d < 3:
            continue
        tips[m], juncs[m], lengths[m] = s, cur, length
        clusters[m] = _junction(vals, indptr, nbr, cur, degree, cluster, mark, nbranch, stack)
        degrees[m] = nbranch[clusters[m]]
        m += 1
    return m


@njit(cache=True, nogil=True)
def cut(vals, indptr, nbr, nbdir, tips, juncs, ndim, memo):
    """Delete each branch from its tip up to (not including) its junction voxel, while each voxel has
    one neighbour of its value and is simple; then, from each junction voxel, the voxels left simple
    with two neighbours or more (the thinning left none such).  Returns the number deleted."""
    removed, stack = 0, np.empty(4096, np.int64)
    for b in range(tips.shape[0]):
        v, j, c = tips[b], juncs[b], vals[tips[b]]
        if c == 0:
            continue
        while v != j:
            d, nxt = 0, -1
            for e in range(indptr[v], indptr[v + 1]):
                if vals[nbr[e]] == c:
                    d += 1
                    nxt = nbr[e]
            if d != 1 or not _simple(_code(vals, indptr, nbr, nbdir, v, c), ndim, memo):
                break
            vals[v] = 0
            removed += 1
            v = nxt
    # tidy the junctions: what the cut branches leave simple there (two neighbours or more) goes
    for b in range(juncs.shape[0]):
        stack[0], top = juncs[b], 1
        while top:
            top -= 1
            v = stack[top]
            c = vals[v]
            if c == 0 or _degree(vals, indptr, nbr, v) < 2 or not _simple(_code(vals, indptr, nbr, nbdir, v, c),
                                                                           ndim, memo):
                continue
            vals[v] = 0
            removed += 1
            for e in range(indptr[v], indptr[v + 1]):
                if vals[nbr[e]] == c and top < stack.shape[0]:
                    stack[top] = nbr[e]
                    top += 1
    return removed
