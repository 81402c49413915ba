"""The graph of a lazy (dask or zarr) skeleton: skan per object on its bounding box, tables merged.

skan needs a dense image, so :func:`lazy_graph` reads the skeleton's voxel
coordinates chunk by chunk (:func:`.._sparse.skeleton_coords`), splits them
into objects — the 26-/8-connected components of a binary skeleton (a sparse
union-find), or the label ids of a label skeleton — and runs the in-memory
builder's skan pass on each object's bounding box, dense only for that
object.  The per-object tables are then merged as one pass over the whole
volume would have made them: coordinates in the whole volume (the crop's
corner is added before skan measures anything), end points numbered in
raster order then junction clusters by their first voxel, components by their
first voxel, branches by object then skan's path order (skan walks each
object the same way whatever else the image holds).  So ``skeleton_graph(lazy)``
equals ``skeleton_graph(np.asarray(lazy))`` table for table.

The limit: the largest object's bounding box must fit in memory — about
:data:`BYTES_PER_VOXEL` bytes per voxel of it (the crop, skan's pixel graph
and labels); beyond ``max_object_bytes`` (default :data:`MAX_OBJECT_BYTES`)
it is refused with the estimated size.  With ``mask=``, radii and volumes come
from crops of the mask around each object, grown until they are provably
exact: a crop's distance transform is the whole mask's wherever it is no
more than the distance to the crop's cut faces, and a mask component that
does not reach them is whole; a crop that would exceed the limit is refused.
``image=`` is sampled at the skeleton's voxels, chunk by chunk.
Not available on a lazy graph: :meth:`~SkeletonGraph.prune` (it edits the
skeleton in memory).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import _sparse
from . import _build

#: Estimated memory per voxel of an object's bounding box while skan builds its graph.
BYTES_PER_VOXEL = 9

#: Default ``max_object_bytes``: the largest dense crop (skeleton or mask) one object may need.
MAX_OBJECT_BYTES = 4 * 1024**3

#: Objects share one skan pass while their joint bounding box has at most this many voxels.
GROUP_VOXELS = 1 << 24

#: First margin (voxels) of a mask crop around an object; doubled until the crop is exact.
MASK_MARGIN = 8


class _Sampled:
    """Values at some voxels, indexed like the dense array they come from: ``radius[tuple(coords.T)]``."""

    def __init__(self, coords: np.ndarray, values: np.ndarray, shape):
        self.shape = tuple(shape)
        order = np.argsort(_sparse.keys(coords, shape), kind="stable")
        self._keys = _sparse.keys(coords, shape)[order]
        self._values = values[order]

    def __getitem__(self, index):
        coords = np.stack([np.asarray(i).reshape(-1) for i in index], axis=1)
        found, at = _sparse.member(self._keys, _sparse.keys(coords, self.shape))
        if not found.all():
            raise KeyError("no value at a voxel that is not in the skeleton")
        return self._values[at].reshape(np.shape(index[0]))


def _check_size(n_voxels: int, bytes_per_voxel: float, limit: float, what: str) -> None:
    need = n_voxels * bytes_per_voxel
    if need > limit:
        raise ValueError(f"{what} needs a dense crop of {n_voxels} voxels (about {need / 1e9:.2f} GB) to build its "
                         f"graph, more than max_object_bytes ({limit / 1e9:.2f} GB); raise max_object_bytes")


def _name(label, labelled: bool) -> str:
    return f"label {label}" if labelled else f"object {label} (a connected component)"


def _grow(mask, lo, hi, shape, limit, what, accept):
    """``accept(crop, start, stop)`` on crops of ``mask`` around ``[lo, hi)``, the margin doubled until it
    returns something other than None (it must when the crop is the whole volume)."""
    margin = MASK_MARGIN
    itemsize = np.dtype(mask.dtype).itemsize + 8  # the crop, its distance transform or labels
    shape = np.asarray(shape)
    while True:
        start, stop = np.maximum(lo - margin, 0), np.minimum(hi + margin, shape)
        _check_size(int(np.prod(stop - start)), itemsize, limit, what)
        crop = _sparse.read_block(mask, tuple(slice(int(a), int(b)) for a, b in zip(start, stop)))
        result = accept(crop, start, stop)
        if result is not None:
            return result
        margin *= 2


def _radii(mask, coords, lo, hi, shape, spacing, limit, what) -> np.ndarray:
    sp = np.asarray(spacing, float)

    def accept(crop, start, stop):
        values = _build.radius_volume(crop, spacing)[tuple((coords - start).T)]
        bound = np.full(coords.shape[0], np.inf)
        for a in range(coords.shape[1]):
            if start[a] > 0:
                bound = np.minimum(bound, (coords[:, a] - start[a] + 1) * sp[a])
            if stop[a] < shape[a]:
                bound = np.minimum(bound, (stop[a] - coords[:, a]) * sp[a])
        return values if np.all(values.astype(np.float64) * (1 + 1e-6) < bound) else None

    return _grow(mask, lo, hi, shape, limit, what, accept)


def _region_size(mask, first, lo, hi, shape, limit, what) -> float:
    """Voxels of the mask component (26-/8-connected) holding voxel ``first``; 0 outside the mask."""
    import cc3d

    def accept(crop, start, stop):
        labels = cc3d.connected_components((crop != 0).view(np.uint8), connectivity=26 if crop.ndim == 3 else 8)
        region = labels[tuple(first - start)]
        if region == 0:
            return 0.0
        for a in range(crop.ndim):
            if (start[a] > 0 and np.any(np.take(labels, 0, axis=a) == region)) or \
                    (stop[a] < shape[a] and np.any(np.take(labels, -1, axis=a) == region)):
                return None
        return float(np.count_nonzero(labels == region))

    return _grow(mask, lo, hi, shape, limit, what, accept)


def _label_sizes(mask) -> dict:
    import fastremap

    sizes: dict = {}
    bounds = _sparse.chunk_bounds(mask)
    for _, block in _sparse.iter_blocks(mask, bounds):
        values, counts = fastremap.unique(np.ascontiguousarray(block), return_counts=True)
        for v, c in zip(values.tolist(), counts.tolist()):
            sizes[v] = sizes.get(v, 0) + c
    return sizes


def _objects(coords, values, shape):
    """Per pixel, its object id (labels, or binary components numbered 1, 2, ... in raster order)."""
    if values is not None:
        return values
    _, comp = _sparse.components(coords, shape)
    return comp + 1


def build_lazy(array, spacing, mask, image, limit, coords=None):
    """``(branches, nodes, summary, parts, interior_fraction, radius)`` of a lazy skeleton (``coords``:
    its ``skeleton_coords`` if already read)."""
    shape = tuple(int(n) for n in array.shape)
    ndim = len(shape)
    axes = _build.AXES[ndim]
    coords, values = _sparse.skeleton_coords(array) if coords is None else coords
    labelled = values is not None
    if coords.shape[0] == 0:  # empty tables, as the in-memory builder makes them
        tiny = np.zeros((1,) * ndim, np.dtype(array.dtype) if labelled else bool)
        tiny_mask = None if mask is None else np.zeros(tiny.shape, np.dtype(mask.dtype))
        tiny_image = None if image is None else np.zeros(tiny.shape, np.dtype(image.dtype))
        radius = None if mask is None else np.zeros(tiny.shape, np.float32)
        branches, nodes, summary, parts, thick = _build.build(tiny, spacing, radius, tiny_image, tiny_mask, {})
        return branches, nodes, summary, parts, thick, (_Sampled(coords, np.zeros(0, np.float32), shape)
                                                        if mask is not None else None)
    thick = _build.interior_fraction(coords, shape)
    obj = _objects(coords, values, shape)
    order = np.argsort(obj, kind="stable")  # pixels by object, each in raster order
    ids, starts = np.unique(obj[order], return_index=True)
    stops = np.r_[starts[1:], order.size]
    sampled_image = _Sampled(coords, _sparse.sample_at(image, coords), shape) if image is not None else None
    radius_values = np.zeros(coords.shape[0], np.float32) if mask is not None else None
    boxes = []
    for label, a, b in zip(ids, starts, stops):
        c = coords[order[a:b]]
        lo, hi = c.min(axis=0), c.max(axis=0) + 1
        what = _name(label, labelled)
        _check_size(int(np.prod(hi - lo)), BYTES_PER_VOXEL, limit, what)
        boxes.append((lo, hi))
        if mask is not None:
            radius_values[order[a:b]] = _radii(mask, c, lo, hi, shape, spacing, limit, f"the mask around {what}")
    parts, skans = [], []
    for group in _groups(boxes, min(GROUP_VOXELS, limit / BYTES_PER_VOXEL)):
        pix = np.sort(np.concatenate([order[starts[i]:stops[i]] for i in group]))  # (raster order)
        c = coords[pix]
        lo = np.min([boxes[i][0] for i in group], axis=0)
        hi = np.max([boxes[i][1] for i in group], axis=0)
        crop = np.zeros(tuple(hi - lo), np.dtype(values.dtype) if labelled else bool)
        crop[tuple((c - lo).T)] = values[pix] if labelled else True
        skel, table = _build._skan(crop, spacing, offset=lo)
        part, _ = _build._part(skel, 0)
        part.objects = obj[pix]
        parts.append(part)
        skans.append((skel, table))
    radius = _Sampled(coords, radius_values, shape) if mask is not None else None
    node_rows = _renumber(parts, shape, axes)
    rows, links = [], []
    for index, (part, (skel, table)) in enumerate(zip(parts, skans)):
        if table is not None:
            rows_, links_ = _build._branch_rows(skel, table, part, part.objects, 0, axes, radius,
                                               sampled_image, spacing)
            rows_["_part"] = index
            rows.append(rows_)
            links.append(links_)
    branches = _build._finish_branches(rows, ndim, mask is not None, image is not None)
    nodes = pd.concat(node_rows, ignore_index=True).sort_values("node", ignore_index=True) if node_rows else \
        _build.build(np.zeros((1,) * ndim, bool), spacing, None, None, None, {})[1]
    links = pd.concat(links, ignore_index=True) if links else pd.DataFrame({"label": [], "length": []})
    pix_ids = np.concatenate([p.objects for p in parts])
    summary = _build._summary(pix_ids, parts, branches, nodes, links, spacing, None, labelled, {})
    if mask is not None:
        summary["volume"] = _volumes(summary["label"].to_numpy(), parts, mask, shape, labelled, limit) * \
            float(np.prod(spacing))
    return branches, nodes, summary, parts, thick, radius


def _groups(boxes, most: float) -> list[list[int]]:
    """Objects (in label order) that share one skan pass while their joint bounding box holds at most
    ``most`` voxels (skan walks each object alone whatever else the image holds: binary objects never
    touch, and links between labels are left out of the pixel graph)."""
    groups, lo, hi = [], None, None
    for i, (a, b) in enumerate(boxes):
        if groups:
            new_lo, new_hi = np.minimum(lo, a), np.maximum(hi, b)
            if np.prod(new_hi - new_lo, dtype=float) <= most:
                groups[-1].append(i)
                lo, hi = new_lo, new_hi
                continue
        groups.append([i])
        lo, hi = a, b
    return groups


def _renumber(parts, shape, axes) -> list[pd.DataFrame]:
    """Global node and component ids, as one skan pass over the volume numbers them; the node rows."""
    end_keys, cluster_keys, comp_keys = [], [], []
    for part in parts:
        k = np.ravel_multi_index(tuple(part.coords.T), shape)
        n_local = int(part.node.max()) + 1 if (part.node >= 0).any() else 0
        first = np.full(n_local, np.iinfo(np.int64).max)
        np.minimum.at(first, part.node[part.node >= 0], k[part.node >= 0])
        degrees = part.skan.degrees[:k.size]
        n_ends = int(np.count_nonzero(degrees == 1))
        end_keys.append(first[:n_ends])
        cluster_keys.append(first[n_ends:])
        n_comp = int(part.component.max()) + 1
        cfirst = np.full(n_comp, np.iinfo(np.int64).max)
        np.minimum.at(cfirst, part.component, k)
        comp_keys.append(cfirst)
    ends = np.sort(np.concatenate(end_keys))
    clusters = np.sort(np.concatenate(cluster_keys))
    comps = np.sort(np.concatenate(comp_keys))
    rows = []
    for part, e, j, ck in zip(parts, end_keys, cluster_keys, comp_keys):
        local_to_global = np.concatenate([np.searchsorted(ends, e), ends.size + np.searchsorted(clusters, j)])
        part.component = np.searchsorted(comps, ck)[part.component].astype(part.component.dtype)
        valid = part.node >= 0
        if valid.any():
            nid = part.node[valid]
            n_nodes = local_to_global.size
            counts = np.bincount(nid, minlength=n_nodes)
            first_pixel = np.full(n_nodes, -1, np.int64)
            first_pixel[nid[::-1]] = np.flatnonzero(valid)[::-1]
            frame = pd.DataFrame({"node": local_to_global.astype(np.int64), "label": part.objects[first_pixel],
                                  "kind": np.where(part.skan.degrees[first_pixel] == 1, "end", "junction"),
                                  "n_voxels": counts})
            for a in range(len(axes)):
                frame[axes[a]] = np.bincount(nid, part.coords[valid, a], n_nodes) / counts
            rows.append(frame)
        if valid.any():
            part.node = np.where(valid, local_to_global[np.maximum(part.node, 0)], -1)
    return rows


def _volumes(labels, parts, mask, shape, labelled, limit) -> np.ndarray:
    """``_build._volumes`` from crops of a lazy mask (label sizes counted chunk by chunk)."""
    if labelled and np.dtype(mask.dtype).kind in "iu":
        table = _label_sizes(mask)
        return np.array([float(table.get(int(v), 0)) for v in labels])
    out = np.zeros(len(labels))
    obj = np.concatenate([p.objects for p in parts])
    coords = np.concatenate([p.coords for p in parts])
    order = np.lexsort((np.ravel_multi_index(tuple(coords.T), shape), obj))  # by object, then raster
    starts = np.searchsorted(obj[order], labels)
    stops = np.r_[starts[1:], order.size]
    for i, (a, b) in enumerate(zip(starts, stops)):
        c = coords[order[a:b]]  # (its first row: the object's first voxel in raster order)
        out[i] = _region_size(mask, c[0], c.min(axis=0), c.max(axis=0) + 1, shape, limit,
                              f"the mask component of {_name(labels[i], labelled)}")
    return out


def lazy_graph(skeleton, *, spacing=None, mask=None, image=None, unit=None, max_object_bytes=None, coords=None):
    """:func:`skeleton_graph` of a dask/zarr skeleton (mask, image); see the module docstring.  ``coords``:
    ``skeleton_coords(skeleton)`` when the caller has read them already (values None: a binary skeleton)."""
    from ._graph import SkeletonGraph, _warn_if_thick

    shape = tuple(int(n) for n in skeleton.shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"expected a 2D or 3D skeleton; got {len(shape)}D with shape {shape}")
    dtype = np.dtype(skeleton.dtype)
    if dtype.kind not in "biuf":
        raise ValueError(f"expected a binary skeleton (bool, or 0/1 values) or an integer label skeleton; "
                         f"got dtype {dtype}")
    space = _build.check_spacing(spacing, len(shape))
    for name, other in (("mask", mask), ("image", image)):
        if other is not None and tuple(int(n) for n in other.shape) != shape:
            raise ValueError(f"{name} must have the skeleton's shape {shape}; got {tuple(other.shape)}")
    if image is not None and np.dtype(image.dtype).kind not in "biuf":
        raise ValueError(f"image must be numeric; got dtype {image.dtype}")
    limit = MAX_OBJECT_BYTES if max_object_bytes is None else float(max_object_bytes)
    if not limit > 0:
        raise ValueError(f"max_object_bytes must be a positive number of bytes; got {max_object_bytes!r}")
    branches, nodes, summary, parts, thick, radius = build_lazy(skeleton, space, mask, image, limit, coords)
    if _sparse.is_lazy(skeleton) and not type(skeleton).__module__.startswith("dask."):
        import dask.array as da

        skeleton = da.from_array(skeleton, chunks=tuple(max(int(c), 1) for c in skeleton.chunks))
    if dtype.kind == "f":
        skeleton = skeleton != 0  # (0/1 values: a binary skeleton, as check_skeleton makes it)
    graph = object.__new__(SkeletonGraph)
    graph._cache, graph._skeleton, graph._lazy = {}, skeleton, True
    graph.spacing, graph.unit = space, unit
    graph._mask, graph._image, graph._radius = mask, image, radius
    graph.branches, graph.nodes, graph.summary, graph._parts, graph._interior_fraction = (
        branches, nodes, summary, parts, thick)
    for table in (graph.branches, graph.nodes, graph.summary):
        table.attrs.update(spacing=space, unit=unit)
    _warn_if_thick(thick, int(summary["n_voxels"].sum()))
    return graph
