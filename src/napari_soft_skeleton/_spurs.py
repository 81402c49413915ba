"""Pruning the spurs that surface bumps grow on the topological skeleton (``spurs="prune"``).

The thinning of :mod:`.topological` keeps every end point it meets, so a bump
on an object's surface leaves a short terminal branch, a *spur*, from the
centreline into the bump.  This pass deletes the spurs, keeps real branches
and keeps the skeleton's topology.

A *terminal branch* runs from a tip ``t`` (one neighbour) along voxels with
two neighbours to its junction ``j``, the first voxel with three or more.
With ``L`` its length (the sum of its neighbour steps) and ``R_t``, ``R_j``
the Euclidean distances of ``t`` and ``j`` to the nearest voxel outside their
object (the radii of their maximal balls; the image's outside is background,
as in the thinning), in physical units when a ``spacing`` is given, its
*protrusion* ``p = L - (R_j - R_t)`` is how far the tip's ball reaches beyond
the junction's ball along the branch (``p >= 0``).  Into a bump of height
``h`` on a tube of radius ``R``, ``p`` is about ``h`` (the ball shrinks as
fast as the branch leaves the centreline); a side branch reaching ``l``
beyond the tube's surface has ``p`` about ``l``.  The rule::

    the branch is a spur  <=>  p < SPUR_RATIO * R_j,   SPUR_RATIO = 1

i.e. ``L + R_t < 2 R_j``: it protrudes less than the local radius beyond the
surface.  It is scale free (no constant in voxels or units): one-voxel-thick
objects (``R_j`` one voxel) lose no branch.  Ties, frequent on the grid, stay.

* A junction keeps two branches at least: when more of its terminal branches
  are spurs, those with the largest ``L + R_t`` stay.  A junction is a
  connected cluster of voxels with three neighbours or more.  A star of short
  arms becomes a line, never a point; a line (tip to tip, a whole object) is
  never touched.
* A branch whose tip's ball touches the image's border (the object leaves the
  image there) is never a spur: what lies beyond is unknown.  So is one whose
  ball, grown by one voxel, reaches the border where the object itself
  reaches it (straight across from the tip): a tube cut by the border ends its
  skeleton about one radius inside, where physical-space thinning stops it,
  and the tip's ball then just misses the border.
* A spur is deleted from its tip, voxel by voxel, each one checked with the
  thinning's simple-point test (a voxel with one neighbour is simple), so
  components, loops and cavities are kept; then the voxels of the junction
  left simple with two neighbours or more go too (its corners no branch needs
  any more).  Up to ``ROUNDS`` rounds: a junction that lost branches may join
  two chains, and a branch through it is judged again, whole.
* Where it does not hold: a real branch shorter than the local radius (a
  stubby spine, the stub of a tube ending less than ``2 R`` beyond its last
  junction) goes too; noise that makes bumps longer than the radius stays.

Label images: neighbours and distances count only within a label, so each
label is pruned as if alone.  The work follows the skeleton: no distance
transform of the volume, the distances are found by searching the voxels
around each tip and junction by increasing distance (to ``RADIUS_CAP`` voxels
of the finest axis; a branch whose radii lie beyond is kept).  The kernels are
compiled with numba, cached on disk like :mod:`._peel_numba`'s.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from ._depth_sparse import nonzero
from ._simple_points import _steps
from ._spurs_graph import branches, cut, neighbour_lists

#: A terminal branch is a spur when its protrusion ``L - (R_j - R_t)`` is below this times ``R_j``.
SPUR_RATIO = 1.0
#: Rounds of pruning at most (each judges the terminal branches of what the last one left).
ROUNDS = 3
#: Largest distance searched around a tip or junction, in voxels of the finest axis.
RADIUS_CAP = 64
#: What :func:`_depth` found: another value (background, another label), the image's outside,
#: nothing within the bound, nothing within the table.
OTHER, OUTSIDE, BEYOND, UNKNOWN = 0, 1, 2, 3


@njit(cache=True, nogil=True)
def _depth(values, vshape, points, pshape, batch, tpos, tflat, tlen, bounds, dist, kind):
    """Distance of each of ``points`` (flat indices into the padded shape ``pshape``, its first
    ``batch`` axes unpadded) to the nearest voxel of another value in ``values`` (flat, unpadded,
    shape ``vshape``), searched up to ``bounds`` with the offsets ``tpos`` (per axis), ``tflat``
    (flat) by increasing length ``tlen``.  Writes ``dist`` and ``kind``: ``OTHER`` or ``OUTSIDE``
    (found at ``dist``), ``BEYOND`` (nothing up to the bound), ``UNKNOWN`` (the table ran out)."""
    nd = tpos.shape[1]
    na = pshape.shape[0]
    full = np.empty(na, np.int64)
    for p in range(points.shape[0]):
        rem = points[p]
        for a in range(na - 1, -1, -1):
            full[a] = rem % pshape[a] - (1 if a >= batch else 0)
            rem //= pshape[a]
        i0 = 0
        for a in range(na):
            i0 = i0 * vshape[a] + full[a]
        c = values[i0]
        dist[p] = np.inf
        kind[p] = UNKNOWN
        for k in range(tlen.shape[0]):
            if tlen[k] > bounds[p]:
                kind[p] = BEYOND
                break
            inside = True
            for a in range(nd):
                x = full[batch + a] + tpos[k, a]
                if x < 0 or x >= vshape[batch + a]:
                    inside = False
                    break
            if not inside or values[i0 + tflat[k]] != c:
                dist[p] = tlen[k]
                kind[p] = OTHER if inside else OUTSIDE
                break


@lru_cache(maxsize=16)
def _offsets_by_length(spacing: tuple, radius: float):
    """The integer offsets of physical length in ``(0, radius]``, by increasing length: (offsets, lengths)."""
    sp = np.array(spacing)
    axes = [np.arange(-int(radius // s), int(radius // s) + 1) for s in spacing]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(spacing))
    length = np.sqrt(((grid * sp) ** 2).sum(1))
    keep = (length > 0) & (length <= radius)
    grid, length = grid[keep], length[keep]
    order = np.argsort(length, kind="stable")
    return np.ascontiguousarray(grid[order]), np.ascontiguousarray(length[order])


def _c_strides(shape) -> np.ndarray:
    return np.array([int(np.prod(shape[a + 1:], dtype=np.int64)) for a in range(len(shape))], np.int64)


class _Distances:
    """Distances of skeleton voxels to the nearest voxel of another value (:func:`_depth`), each
    voxel searched once (exact answers kept for the next rounds), in memory order, with tables of
    offsets that grow (to ``RADIUS_CAP`` voxels of the finest axis) only for the deep ones."""

    def __init__(self, values, pshape, batch: int, spacing):
        vals = np.ascontiguousarray(values)
        self.vshape = np.array(vals.shape, np.int64)
        self.values = vals.reshape(-1).view(np.dtype(f"u{vals.dtype.itemsize}"))
        self._setup(pshape, batch, spacing)

    def _setup(self, pshape, batch: int, spacing) -> None:
        self.pshape, self.batch = np.asarray(pshape, np.int64), batch
        self.spacing = tuple(float(s) for s in spacing)
        # (no distance exceeds half the image's extent: the outside counts as background)
        top = min(RADIUS_CAP * min(spacing), min((n + 1) // 2 * s for n, s in zip(self.vshape[batch:], spacing)))
        self.radii = [r for r in (8 * min(spacing), 24 * min(spacing)) if r < top] + [float(top)]
        self.known, self.dist, self.kind = np.empty(0, np.int64), np.empty(0), np.empty(0, np.uint8)

    def _search(self, points, reach, tpos, tlen):
        """:func:`_depth` of ``points`` (flat padded indices) searched up to ``reach`` with the table
        ``tpos``, ``tlen``: ``(dist, kind)``."""
        dl, kl = np.empty(len(points)), np.empty(len(points), np.uint8)
        strides = _c_strides(self.vshape)[self.batch:]
        _depth(self.values, self.vshape, points, self.pshape, self.batch, tpos, tpos @ strides, tlen, reach, dl, kl)
        return dl, kl

    def __call__(self, points, bounds):
        """``(dist, kind)`` of each of ``points`` searched up to its bound (see :func:`_depth`)."""
        where = np.clip(np.searchsorted(self.known, points), 0, max(len(self.known) - 1, 0))
        cached = (self.known[where] == points) if len(self.known) else np.zeros(len(points), bool)
        dist, kind = np.full(len(points), np.inf), np.full(len(points), UNKNOWN, np.uint8)
        dist[cached], kind[cached] = self.dist[where[cached]], self.kind[where[cached]]
        todo, inverse = np.unique(points[~cached], return_inverse=True)
        if len(todo):
            reach = np.full(len(todo), -np.inf)
            np.maximum.at(reach, inverse, bounds[~cached])
            d, k = np.full(len(todo), np.inf), np.full(len(todo), UNKNOWN, np.uint8)
            for radius in self.radii:
                left = np.flatnonzero(k == UNKNOWN)
                if len(left) == 0:
                    break
                tpos, tlen = _offsets_by_length(self.spacing, radius)
                d[left], k[left] = self._search(todo[left], reach[left], tpos, tlen)
            dist[~cached], kind[~cached] = d[inverse], k[inverse]
            exact = (k == OTHER) | (k == OUTSIDE)
            known = np.concatenate([self.known, todo[exact]])
            order = np.argsort(known, kind="stable")
            self.known = known[order]
            self.dist = np.concatenate([self.dist, d[exact]])[order]
            self.kind = np.concatenate([self.kind, k[exact]])[order]
        beyond = (kind == OTHER) | (kind == OUTSIDE)
        beyond &= dist > bounds
        kind[beyond] = BEYOND
        return dist, kind


def _near_the_border(points, radius, lookup, vshape, pshape, batch: int, spacing) -> np.ndarray:
    """Do the tips ``points`` (flat indices into the padded shape ``pshape``) lie within their ball's
    ``radius`` plus one voxel of the image's border, with their object reaching the border there (the
    voxel of the border straight across, on the nearest side, carries the tip's value)?  ``lookup``:
    the values (what was thinned, shape ``vshape``) at a tuple of coordinate arrays."""
    coords = [c.copy() for c in np.unravel_index(points, tuple(pshape))]
    for a in range(batch, len(coords)):
        coords[a] -= 1  # unpadded
    dist = np.full(len(points), np.inf)
    across = [c.copy() for c in coords]
    for a, s in zip(range(batch, len(coords)), spacing):
        n = vshape[a]
        for side, d in ((0, coords[a] + 1), (n - 1, n - coords[a])):
            closer = d * s < dist
            dist = np.where(closer, d * s, dist)
            for b in range(batch, len(coords)):
                across[b] = np.where(closer, side if b == a else coords[b], across[b])
    if len(points) == 0:
        return np.zeros(0, bool)
    same = lookup(tuple(across)) == lookup(tuple(coords))
    return same & (dist <= radius + max(spacing) * (1 + 1e-9))


def prune_sparse(skel, vals, pshape, ndim: int, batch: int, spacing, distances, lookup, vshape, flat=None) -> int:
    """Prune the spurs of the skeleton whose voxels are ``skel`` (sorted flat indices into the padded
    shape ``pshape``, as in :func:`prune_padded`) with values ``vals`` (mask 1, or label ids): the
    deleted voxels' ``vals`` are set to 0 in place; returns how many.

    ``distances``: a :class:`_Distances` (or one over a store) of what was thinned; ``lookup`` its
    values at a tuple of coordinate arrays, ``vshape`` its shape; ``flat``: the padded skeleton when
    it is in memory (speeds up finding the neighbours)."""
    pshape = np.asarray(pshape, np.int64)
    sp = np.ones(ndim) if spacing is None else np.asarray(spacing, float)
    steps = np.array(_steps(ndim), np.int64)
    offsets = steps @ _c_strides(pshape)[batch:]
    steplen = np.sqrt(((steps * sp) ** 2).sum(1))
    indptr, nbr, nbdir = neighbour_lists(skel, vals, offsets, flat)
    memo = np.zeros(1 << 12, np.int64)
    n = len(skel)
    removed = 0
    for _ in range(ROUNDS):
        tips, juncs, lengths = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n)
        clusters, degrees = np.empty(n, np.int64), np.empty(n, np.int64)
        m = branches(vals, indptr, nbr, nbdir, steplen, tips, juncs, lengths, clusters, degrees)
        if m == 0:
            break
        tips, juncs, lengths, clusters, degrees = tips[:m], juncs[:m], lengths[:m], clusters[:m], degrees[:m]
        r_tip, k_tip = distances(skel[tips], np.full(m, np.inf))
        # p < SPUR_RATIO R_j  <=>  R_j > (L + R_t) / (1 + SPUR_RATIO): search the junction's
        # surroundings only that far (a little further, so that ties are found and kept)
        judged = k_tip == OTHER
        if judged.any():
            judged[judged] = ~_near_the_border(skel[tips[judged]], r_tip[judged], lookup, vshape, pshape, batch, sp)
        bound = np.where(judged, (lengths + np.where(judged, r_tip, 0)) / (1 + SPUR_RATIO), -1.0)
        bound += 1e-9 * (1 + np.abs(bound))
        _, k_j = distances(skel[juncs], bound)
        spur = np.flatnonzero(judged & (k_j == BEYOND))
        if len(spur) == 0:
            break
        # each junction keeps two branches at least: its spurs by increasing L + R_t, as many
        # as it has branches beyond two
        spur = spur[np.lexsort((lengths[spur] + r_tip[spur], clusters[spur]))]
        j = clusters[spur]
        first = np.flatnonzero(np.r_[True, j[1:] != j[:-1]])
        rank = np.arange(len(spur)) - np.repeat(first, np.diff(np.r_[first, len(spur)]))
        spur = spur[rank < degrees[spur] - 2]
        gone = cut(vals, indptr, nbr, nbdir, tips[spur], juncs[spur], ndim, memo)
        removed += gone
        if gone == 0:
            break
    return removed


def prune_padded(flat, pshape, values, ndim: int, batch: int = 0, spacing=None) -> int:
    """Prune the spurs of the skeleton ``flat`` in place; returns the number of voxels deleted.

    Parameters
    ----------
    flat : ndarray
        The skeleton as the flat view of a C-ordered padded array of shape
        ``pshape`` (uint8 mask or uint32/uint64 label ids; 0 is background),
        as the thinning leaves it: its last ``ndim`` axes padded by one
        voxel, the first ``batch`` axes (0 or 1: a stack of independent
        images) not.
    values : ndarray
        What was thinned, unpadded (shape ``pshape`` less the padding): the
        mask or label image whose distances measure the branches.
    ndim : int
        2 or 3, the spatial axes.
    batch : int
        1 when axis 0 stacks independent images, else 0.
    spacing : sequence of float, optional
        The spatial axes' voxel size: lengths and distances in these units.
    """
    sp = np.ones(ndim) if spacing is None else np.asarray(spacing, float)
    skel = nonzero(flat)
    vals = flat[skel]
    distances = _Distances(values, pshape, batch, sp)
    removed = prune_sparse(skel, vals, pshape, ndim, batch, sp, distances, values.__getitem__, values.shape, flat)
    flat[skel[vals == 0]] = 0
    return removed


def prune_spurs(skeleton, values, *, spacing=None, batch: bool = False) -> np.ndarray:
    """The skeleton ``skeleton`` of ``values`` with its spurs pruned (see the module's docstring).

    ``skeleton``: a topological skeleton (boolean, or label ids as in
    ``values``); ``values``: the mask or label image it was thinned from,
    same shape.  ``batch=True``: axis 0 stacks independent 2-D images.
    ``spacing``: the voxel size of the spatial axes.  Returns a new array of
    ``skeleton``'s dtype.
    """
    skeleton = np.asarray(skeleton)
    values = np.asarray(values)
    if skeleton.shape != values.shape:
        raise ValueError(f"skeleton and values differ in shape: {skeleton.shape} vs {values.shape}")
    batch = int(bool(batch))
    ndim = skeleton.ndim - batch
    work = np.uint8 if skeleton.dtype == bool else np.uint32 if skeleton.dtype.itemsize <= 4 else np.uint64
    padded = np.zeros(skeleton.shape[:batch] + tuple(n + 2 for n in skeleton.shape[batch:]), work)
    inner = (slice(None),) * batch + (slice(1, -1),) * ndim
    padded[inner] = skeleton
    if skeleton.size:
        prune_padded(padded.reshape(-1), padded.shape, values, ndim, batch, spacing)
    return padded[inner].astype(skeleton.dtype)
