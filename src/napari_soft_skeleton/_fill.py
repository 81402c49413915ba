"""Filling the cavities of a mask, or of every label of a label image (``skeletonize(..., fill_holes=True)``).

A *cavity* (in 2-D a *hole*) of an object is what the object encloses: the
voxels not in it that are not connected to the outside of the image by a
path of face-adjacent voxels (6-connected in 3-D, 4-connected in 2-D) that
avoids the object — the background adjacency of the thinning's (26, 6) /
(8, 4) topology, so these are exactly the cavities the thinning would keep a
closed surface around.  Tunnels (the hole of a torus) are not cavities: the
outside reaches through them.

* A mask: :func:`fill_voids.fill`.
* A label image: each label's cavities as ``fill_voids.fill(labels == i)``
  finds them, without a pass per label (on a dense 512³ segmentation the
  labels' bounding boxes add up to 21 times the volume: 112 s that way).
  The image is cut into *regions* — the face-connected components of each
  value, the background's included (``cc3d``) — joined in a graph where
  they touch by a face, the image border standing for the outside.  Two
  voxels outside label ``i`` are connected avoiding ``i`` exactly when their
  regions are connected in that graph without ``i``'s regions; so the
  cavities of ``i`` are the regions that ``i``'s regions cut off from the
  border.  Each label's search starts from the regions it touches and stops
  as soon as it reaches one whose path to the border (in a fixed tree of
  shortest paths from the border) avoids ``i``: most labels cost only
  their neighbourhood.

  Labels are filled one after the other, the largest (most voxels, then the
  larger id) first, each in the graph as the previous ones left it: the
  regions in a cavity of the label take its id, background and other labels
  alike, so a label wholly inside another's cavity is *absorbed* (no voxel,
  hence no skeleton, left; as kimimaro's ``fill_holes``).  Labels that
  enclose no part of one another get exactly their own filled masks (their
  cavities are then background only, and disjoint); where labels enclose each other (nested cavities, labels
  interleaved through diagonal walls, a label with pieces inside and outside
  another's cavity) the order decides, and no label of the result has a
  cavity left.  (Both tested against this rule run label by label with
  fill_voids.)
"""

from __future__ import annotations

import warnings

import numpy as np
from numba import njit


def fill_holes(values: np.ndarray, *, per_slice: bool = False, threshold: float | None = None):
    """``values`` with every cavity filled; ``values`` itself (never modified) when none has one.

    ``values``: a boolean mask, a non-negative integer label image (each
    label filled on its own, see the module docstring) or, with
    ``threshold``, a float map whose cavities of ``values > threshold`` are
    set to 1.  ``per_slice``: each 2-D slice of a 3-D array on its own (its
    2-D holes).  Returns ``(filled, absorbed)``: ``absorbed`` lists the ids
    of the labels that lay wholly inside other labels' cavities (empty for
    masks and maps).
    """
    if per_slice and values.ndim == 3:
        parts = [fill_holes(s, threshold=threshold) for s in values]
        if all(p is s for (p, _), s in zip(parts, values)):
            return values, []
        absorbed = sorted({int(i) for _, a in parts for i in a})
        return np.stack([p for p, _ in parts]), absorbed  # (an id absorbed in one slice may live in another)
    if values.dtype.kind == "f":
        mask = values > threshold
        holes = _fill_mask(mask) & ~mask
        if not holes.any():
            return values, []
        out = values.copy()
        out[holes] = 1
        return out, []
    if values.dtype == bool:
        filled = _fill_mask(values)
        return (values, []) if np.array_equal(filled, values) else (filled, [])
    return _fill_labels(values)


def _fill_mask(mask: np.ndarray) -> np.ndarray:
    """``fill_voids.fill`` on a copy padded with background: unpadded, fill_voids 2.1 fills some
    background voxels on the edges of a 3-D image (~0.7 % of random 4³ masks), which are not holes."""
    import fill_voids

    padded = np.pad(mask.astype(bool, copy=False), 1)
    filled = fill_voids.fill(padded, in_place=True)
    return filled[(slice(1, -1),) * mask.ndim].astype(bool, copy=False)


def warn_absorbed(absorbed, stacklevel: int) -> None:
    """One warning naming the labels that ``fill_holes`` absorbed into the labels enclosing them."""
    if not absorbed:
        return
    from ._front_thin import _some

    n = len(absorbed)
    warnings.warn(
        f"fill_holes: {n} label{'s' if n > 1 else ''} lay wholly inside another label's cavities and "
        f"{'were' if n > 1 else 'was'} filled into it, leaving no skeleton of {'their' if n > 1 else 'its'} "
        f"own ({_some('ids', absorbed)})",
        UserWarning,
        stacklevel=stacklevel + 1,
    )


# --------------------------------------------------------------------------
# label images: regions, their graph, each label's cavities
# --------------------------------------------------------------------------


def _regions(vol: np.ndarray):
    """Face-connected components of each value of the 3-D ``vol``, the background's too: ``(regions,
    n_labelled, n)`` — ids 1..n_labelled for labelled voxels, then the background's."""
    import cc3d

    out_dtype = np.uint32 if vol.size < 2**32 - 1 else np.uint64
    regions, n_fg = cc3d.connected_components(vol, connectivity=6, return_N=True, out_dtype=out_dtype)
    regions = np.ascontiguousarray(regions)
    zero = vol == 0
    n_bg = 0
    if zero.any():
        bg, n_bg = cc3d.connected_components(zero, connectivity=6, return_N=True, out_dtype=out_dtype)
        regions[zero] = bg[zero] + out_dtype(n_fg)
    return regions, int(n_fg), int(n_fg) + int(n_bg)


@njit(cache=True, nogil=True)
def _pair(a, b, n, seen, codes, m):
    """Count (and store, if ``codes`` has room) the pair ``a != b`` unless ``seen`` (a direct-mapped
    cache of the pairs found lately) holds it; returns the new count."""
    code = min(a, b) * (n + 1) + max(a, b)
    slot = ((code * 0x9E3779B97F4A7C15) >> 40) & (seen.shape[0] - 1)
    if seen[slot] == code:
        return m
    seen[slot] = code
    if m < codes.shape[0]:
        codes[m] = code
    return m + 1


@njit(cache=True, nogil=True)
def _scan(regions, n, codes):
    """One pass over the C-ordered 3-D ``regions`` (ids 1..n): each region's size and first voxel,
    and the pairs ``a < b`` of regions that touch by a face, coded ``a * (n + 1) + b`` into ``codes``
    as far as it has room (most repeats dropped).
    Returns ``(size, first, number of pairs)``."""
    nz, ny, nx = regions.shape
    flat = regions.reshape(-1)
    size = np.zeros(n + 1, np.int64)
    first = np.full(n + 1, -1, np.int64)
    seen = np.full(1 << 16, -1, np.int64)
    m = 0
    for z in range(nz):
        for y in range(ny):
            base = (z * ny + y) * nx
            for x in range(nx):
                i = base + x
                a = np.int64(flat[i])
                size[a] += 1
                if first[a] < 0:
                    first[a] = i
                if x + 1 < nx:
                    b = np.int64(flat[i + 1])
                    if a != b:
                        m = _pair(a, b, n, seen, codes, m)
                if y + 1 < ny:
                    b = np.int64(flat[i + nx])
                    if a != b:
                        m = _pair(a, b, n, seen, codes, m)
                if z + 1 < nz:
                    b = np.int64(flat[i + nx * ny])
                    if a != b:
                        m = _pair(a, b, n, seen, codes, m)
    return size, first, m


def _border(regions: np.ndarray, spatial: bool, n: int) -> np.ndarray:
    """Which regions touch the image border (along axis 0 only when ``spatial``: a 2-D image is one slice)."""
    border = np.zeros(n + 1, bool)
    faces = [regions[:, 0], regions[:, -1], regions[:, :, 0], regions[:, :, -1]]
    if spatial:
        faces += [regions[0], regions[-1]]
    for face in faces:
        border[face.ravel()] = True
    return border


@njit(cache=True, nogil=True)
def _fill_graph(indptr, indices, border, owner, order, k_indptr, k_nodes):
    """Fill the labels' cavities in the region graph (CSR ``indptr``/``indices`` over regions 0..n,
    0 unused), label after label in ``order``, in place on ``owner`` (each region's label index, -1
    for the background): ``border[r]``: region ``r`` touches the image border; ``k_nodes[k_indptr[k]:
    k_indptr[k + 1]]``: label ``k``'s regions at the start.  Each label's cavities are found in the
    graph as the previous labels left it and their regions given to it.  Returns how many regions
    changed hands."""
    n = indptr.shape[0] - 1
    # a tree of shortest paths from the border: parent[r] (-1 for the regions on the border)
    parent = np.full(n, -2, np.int64)
    queue = np.empty(n, np.int64)
    head = tail = 0
    for r in range(1, n):
        if border[r]:
            parent[r] = -1
            queue[tail] = r
            tail += 1
    while head < tail:
        r = queue[head]
        head += 1
        for j in range(indptr[r], indptr[r + 1]):
            s = indices[j]
            if parent[s] == -2:
                parent[s] = r
                queue[tail] = s
                tail += 1
    blocked = np.full(n, -1, np.int64)  # == k: a region of label k
    seen = np.full(n, -1, np.int64)  # == k: reached in label k's search
    free = np.full(n, -1, np.int64)  # == k: known to reach the border avoiding label k
    changed = 0
    for k in order:
        for j in range(k_indptr[k], k_indptr[k + 1]):
            if owner[k_nodes[j]] == k:  # (not taken by an earlier label)
                blocked[k_nodes[j]] = k
        for j in range(k_indptr[k], k_indptr[k + 1]):
            r0 = k_nodes[j]
            if blocked[r0] != k:
                continue
            for e in range(indptr[r0], indptr[r0 + 1]):
                start = indices[e]
                if blocked[start] == k or seen[start] == k:
                    continue
                # the part of the graph without label k that holds `start`, until it reaches the border
                seen[start] = k
                queue[0] = start
                head, tail = 0, 1
                escaped = False
                while head < tail and not escaped:
                    r = queue[head]
                    head += 1
                    s = r
                    while s >= 0 and blocked[s] != k and free[s] != k:
                        s = parent[s]
                    if s == -1 or (s >= 0 and free[s] == k):
                        escaped = True
                        break
                    for q in range(indptr[r], indptr[r + 1]):
                        s = indices[q]
                        if blocked[s] == k:
                            continue
                        if free[s] == k:  # (reached by an earlier search that escaped)
                            escaped = True
                            break
                        if seen[s] != k:
                            seen[s] = k
                            queue[tail] = s
                            tail += 1
                if escaped:
                    for q in range(tail):
                        free[queue[q]] = k
                else:  # a cavity of label k: it takes it
                    for q in range(tail):
                        owner[queue[q]] = k
                    changed += tail
    return changed


def _fill_labels(labels: np.ndarray):
    """:func:`fill_holes` of an integer label image (2-D or 3-D)."""
    vol = np.ascontiguousarray(labels if labels.ndim == 3 else labels[None])
    if not vol.any():
        return labels, []
    regions, n_fg, n = _regions(vol)
    border = _border(regions, labels.ndim == 3, n)
    codes = np.empty(max(1 << 16, vol.size // 32), np.uint64)
    size, first, m = _scan(regions, n, codes)
    if m > len(codes):  # (rare: redo with room for them all)
        codes = np.empty(m, np.uint64)
        _scan(regions, n, codes)
    codes = np.unique(codes[:m])
    a = (codes // np.uint64(n + 1)).astype(np.int64)
    b = (codes % np.uint64(n + 1)).astype(np.int64)
    del codes
    # the region graph, both ways (CSR)
    src, dst = np.concatenate([a, b]), np.concatenate([b, a])
    indices = dst[np.argsort(src, kind="stable")]
    indptr = np.zeros(n + 2, np.int64)
    np.cumsum(np.bincount(src, minlength=n + 1), out=indptr[1:])
    # the labels: their ids, each region's label index, each label's regions
    value = vol.reshape(-1)[first[1 : n_fg + 1]]
    ids, k_of = np.unique(value, return_inverse=True)
    k_nodes = np.argsort(k_of, kind="stable") + 1
    k_indptr = np.zeros(len(ids) + 1, np.int64)
    np.cumsum(np.bincount(k_of, minlength=len(ids)), out=k_indptr[1:])
    owner = np.full(n + 1, -1, np.int64)
    owner[1 : n_fg + 1] = k_of
    # largest label first (then the larger id)
    order = np.lexsort((-np.arange(len(ids)), -np.bincount(k_of, weights=size[1 : n_fg + 1])))
    if not _fill_graph(indptr, indices, border, owner, order, k_indptr, k_nodes):
        return labels, []
    changed = owner != np.concatenate([[-1], k_of, np.full(n - n_fg, -1)])
    new = np.zeros(n + 1, labels.dtype)
    new[changed] = ids[owner[changed]]
    out = vol.copy()
    where = changed[regions]
    out[where] = new[regions[where]]
    del where, regions
    kept = np.zeros(len(ids), bool)
    kept[k_of[~changed[1 : n_fg + 1]]] = True
    absorbed = [int(i) for i in ids[~kept]]
    return out.reshape(labels.shape), absorbed
