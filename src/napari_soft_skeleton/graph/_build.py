"""Building a :class:`SkeletonGraph`: skan's pixel graph, then our tables on top of it.

skan (:class:`skan.csr.Skeleton`) builds the pixel graph of the skeleton
and its paths between end points and junction voxels; :func:`skan.summarize`
gives their lengths.  Here we add what skan leaves to its users:

* **objects**: connected components of a binary skeleton (numbered 1, 2, ...
  in raster order of their first voxel), or the label ids of a label image.
  skan links any two touching non-zero voxels, so label skeletons that touch
  another label's are put in separate passes (a greedy colouring of the
  labels that touch), never merged;
* **junctions** as clusters: touching junction voxels form one junction,
  and the one-step paths skan draws between them are links inside it, not
  branches;
* radii (the mask's Euclidean distance transform, with the spacing, per label
  for label images: the ``edt`` package), intensities, and per-object counts.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

#: skan's ``branch_type`` codes → our ``kind``.
KINDS = {0: "end-end", 1: "end-junction", 2: "junction-junction", 3: "loop"}
AXES = {2: ("y", "x"), 3: ("z", "y", "x")}


@dataclass
class _Part:
    """One skan pass: the pixel graph of a set of labels that do not touch."""

    skan: object  # skan.csr.Skeleton
    coords: np.ndarray  # (n, ndim) int voxel coordinates of its pixels
    node: np.ndarray  # pixel -> graph node id (end point or junction cluster), -1 for others
    component: np.ndarray  # pixel -> global component id
    objects: np.ndarray | None = None  # pixel -> object id (label, or binary component number)


def check_skeleton(skeleton) -> np.ndarray:
    """A 2-D/3-D boolean or integer label skeleton, as an array (never copied if it need not be)."""
    arr = np.asarray(skeleton)
    if arr.ndim not in (2, 3):
        raise ValueError(f"expected a 2D or 3D skeleton; got {arr.ndim}D with shape {arr.shape}")
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind in "iu":
        if arr.dtype.kind == "i" and arr.size and arr.min() < 0:
            raise ValueError("label skeletons must be non-negative integers (0 is background)")
        return arr
    if arr.dtype.kind == "f" and np.all((arr == 0) | (arr == 1)):
        return arr.astype(bool)
    raise ValueError(
        "expected a binary skeleton (bool, or 0/1 values) or an integer label skeleton; "
        f"got dtype {arr.dtype}" + (" with values other than 0 and 1" if arr.dtype.kind == "f" else "")
    )


def check_spacing(spacing, ndim: int) -> tuple[float, ...]:
    """The spacing checked (one positive number per axis); all ones when None."""
    from .._spacing import check_spacing as check

    if spacing is not None and np.ndim(spacing) == 0:
        spacing = (spacing,) * ndim  # (one number for every axis, as skan takes it)
    return check(spacing, ndim) or (1.0,) * ndim


def _check_same_shape(name: str, array, shape) -> np.ndarray | None:
    if array is None:
        return None
    array = np.asarray(array)
    if array.shape != tuple(shape):
        raise ValueError(f"{name} must have the skeleton's shape {tuple(shape)}; got {array.shape}")
    return array


def radius_volume(mask: np.ndarray, spacing) -> np.ndarray:
    """Euclidean distance to the background, with the spacing; per label for label masks (float32)."""
    import edt

    if mask.dtype.kind == "f":
        mask = mask > 0.5
    if mask.dtype == bool:
        mask = mask.view(np.uint8)
    elif mask.dtype.kind == "i":
        mask = mask.astype(np.uint64) if mask.dtype.itemsize > 4 else mask.astype(np.uint32)
    return edt.edt(np.ascontiguousarray(mask), anisotropy=tuple(spacing), black_border=False, parallel=1)


class _NoPaths:
    """What skan's Skeleton would be for an image with no path (skan raises there): its voxels,
    all isolated."""

    def __init__(self, image: np.ndarray):
        self.coordinates = np.argwhere(image)
        n = self.coordinates.shape[0]
        self.graph = sparse.csr_matrix((n, n))
        self.degrees = np.zeros(n, np.int64)
        self.paths = sparse.csr_matrix((0, n))
        self.n_paths = 0

    def path(self, index: int) -> np.ndarray:
        raise IndexError(f"no path {index}: this skeleton has none")


def _label_skeleton(image: np.ndarray, spacing):
    """skan's Skeleton of a label skeleton whose pixels link only to pixels of the same label: skan's
    own pixel graph and junction clean-up, with an edge function that drops links between labels."""
    from skan import csr

    graph, nodes = csr.pixel_graph(image, mask=image != 0, connectivity=image.ndim, spacing=np.asarray(spacing),
                                   edge_function=lambda a, b, d: np.where(a == b, d, 0.0))
    graph.eliminate_zeros()
    graph = csr._mst_junctions(graph)
    coords = np.stack(np.unravel_index(nodes, image.shape), axis=1)
    path_graph = csr.PathGraph.from_graph(adj=graph, node_coordinates=coords, node_values=None,
                                          spacing=np.asarray(spacing))
    return csr.Skeleton.from_path_graph(path_graph)


def _skan(image: np.ndarray, spacing, offset=None) -> tuple:
    """skan's Skeleton and summary of one image (None when it has no path); ``offset`` (a crop's corner,
    :mod:`._build_lazy`) is added to its coordinates before skan measures anything with them."""
    from skan import Skeleton, summarize

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skan's numba/pandas chatter
        try:
            if image.dtype == bool:
                skel = Skeleton(image, spacing=spacing, keep_images=False)
            else:
                skel = _label_skeleton(image, spacing)
        except ValueError:  # skan fails on an image with no path (no voxel or only isolated ones)
            skel = _NoPaths(image)
            if skel.degrees.size and _any_neighbours(skel.coordinates, image.shape):
                raise
            if offset is not None:
                skel.coordinates = skel.coordinates + np.asarray(offset)
            return skel, None
        if offset is not None:
            skel.coordinates = skel.coordinates + np.asarray(offset)
        table = summarize(skel, separator="_") if skel.n_paths else None
    return skel, table


def _any_neighbours(coords: np.ndarray, shape) -> bool:
    """Does any of these voxels touch another (26-/8-neighbourhood)?"""
    flat = np.ravel_multi_index(tuple(coords.T), shape)
    for step in np.ndindex(*(3,) * len(shape)):
        moved = coords + (np.array(step) - 1)
        ok = np.all((moved >= 0) & (moved < shape), axis=1) & np.any(np.array(step) != 1)
        target = np.ravel_multi_index(tuple(moved[ok].T), shape)
        if np.isin(target, flat).any():
            return True
    return False


def _part(skel, component_offset: int) -> tuple[_Part, int]:
    """A pass's pixels: coordinates, graph nodes (end points, junction clusters), components."""
    coords = np.rint(skel.coordinates).astype(np.intp)
    n = coords.shape[0]
    n_comp, comp = csgraph.connected_components(skel.graph[:n, :n], directed=False)
    degrees = skel.degrees[:n]
    node = np.full(n, -1, np.int64)
    ends = np.flatnonzero(degrees == 1)
    junctions = np.flatnonzero(degrees > 2)
    node[ends] = np.arange(ends.size)
    if junctions.size:
        _, cluster = csgraph.connected_components(skel.graph[junctions][:, junctions], directed=False)
        node[junctions] = ends.size + cluster
    return _Part(skel, coords, node, comp + component_offset), n_comp


def interior_fraction(coords: np.ndarray, shape) -> float:
    """Share of the voxels whose face neighbours are all in the set (sparse: O(n log n))."""
    if coords.shape[0] == 0:
        return 0.0
    flat = np.ravel_multi_index(tuple(coords.T), shape)  # (raster order: sorted)
    inner = np.ones(flat.size, bool)
    strides = np.cumprod((1,) + tuple(shape[::-1]))[:-1][::-1]
    for axis, stride in enumerate(strides):
        for sign in (-1, 1):
            moved = coords[:, axis] + sign
            ok = (moved >= 0) & (moved < shape[axis])
            target = flat + sign * stride
            at = np.minimum(np.searchsorted(flat, target), flat.size - 1)
            inner &= ok & (flat[at] == target)
    return float(np.count_nonzero(inner)) / flat.size


def build(skeleton: np.ndarray, spacing, radius: np.ndarray | None, image: np.ndarray | None,
          mask: np.ndarray | None, cache: dict):
    """Tables of a skeleton: ``(branches, nodes, summary, parts, interior_fraction)``.

    One skan pass over the skeleton (for label skeletons, with links between
    different labels left out of its pixel graph)."""
    ndim = skeleton.ndim
    axes = AXES[ndim]
    labelled = skeleton.dtype != bool
    skel, table = _skan(skeleton, spacing)
    first, n_comp = _part(skel, 0)
    thick = interior_fraction(first.coords, skeleton.shape)
    if labelled:
        first_ids = skeleton[tuple(first.coords.T)]
    else:  # objects: the components, numbered 1, 2, ... by their first voxel in raster order
        order = np.unique(first.component, return_index=True)[1]
        rank = np.empty(n_comp, np.int64)
        rank[np.argsort(order, kind="stable")] = np.arange(1, n_comp + 1)
        first_ids = rank[first.component]
    passes = [(skel, table, first, first_ids)]
    rows, node_rows, parts, links, pix_ids = [], [], [], [], []
    node_offset = 0
    for skel, table, part, pix_obj in passes:
        pix_ids.append(pix_obj)
        part.objects = pix_obj
        valid = part.node >= 0
        n_nodes = int(part.node.max()) + 1 if valid.any() else 0
        if n_nodes:  # end points and junction clusters
            nid = part.node[valid]
            counts = np.bincount(nid, minlength=n_nodes)
            first_pixel = np.full(n_nodes, -1, np.int64)
            first_pixel[nid[::-1]] = np.flatnonzero(valid)[::-1]
            frame = pd.DataFrame({"node": np.arange(n_nodes) + node_offset, "label": pix_obj[first_pixel],
                                  "kind": np.where(skel.degrees[first_pixel] == 1, "end", "junction"),
                                  "n_voxels": counts})
            for a in range(ndim):
                frame[axes[a]] = np.bincount(nid, part.coords[valid, a], n_nodes) / counts
            node_rows.append(frame)
        if table is not None:
            rows_, links_ = _branch_rows(skel, table, part, pix_obj, node_offset, axes, radius, image, spacing)
            rows_["_part"] = len(parts)
            rows.append(rows_)
            links.append(links_)
        parts.append(part)
        node_offset += n_nodes

    branches = _finish_branches(rows, ndim, radius is not None, image is not None)
    nodes = pd.concat(node_rows, ignore_index=True) if node_rows else pd.DataFrame(
        {"node": pd.Series(dtype=np.int64), "label": pd.Series(dtype=np.int64), "kind": pd.Series(dtype=object),
         "n_voxels": pd.Series(dtype=np.int64), **{a: pd.Series(dtype=float) for a in axes}})
    links = pd.concat(links, ignore_index=True) if links else pd.DataFrame({"label": [], "length": []})
    pix_ids = np.concatenate(pix_ids)
    summary = _summary(pix_ids, parts, branches, nodes, links, spacing, mask, labelled, cache)
    return branches, nodes, summary, parts, thick


def _branch_rows(skel, table, part, pix_obj, node_offset, axes, radius, image, spacing):
    """One pass's branches (the links inside junction clusters apart: their labels and lengths)."""
    from ._length import half_windows, smoothed_lengths

    indptr, indices = skel.paths.indptr, skel.paths.indices
    start, stop = indices[indptr[:-1]], indices[indptr[1:] - 1]
    src, dst = part.node[start], part.node[stop]
    sizes = np.diff(indptr)
    kind = table["branch_type"].to_numpy()
    link = (sizes == 2) & (src >= 0) & (src == dst) & (kind == 2)
    links = pd.DataFrame({"label": pix_obj[start[link]], "length": table["branch_distance"].to_numpy()[link]})
    frame = pd.DataFrame({
        "label": pix_obj[start],
        "kind": pd.Series(kind).map(KINDS).to_numpy(),
        # (skan's branch_distance on isotropic voxels; the coarse-axis staircase smoothed otherwise)
        "length": (smoothed_lengths(part.coords, indptr, indices, spacing) if half_windows(spacing).any()
                   else table["branch_distance"].to_numpy()),
        "euclidean": table["euclidean_distance"].to_numpy(),
    })
    euclid = frame["euclidean"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["tortuosity"] = np.where(euclid > 0, frame["length"].to_numpy() / euclid, np.nan)
    if radius is not None:
        along = radius[tuple(part.coords.T)].astype(np.float64)[indices]
        frame["radius_mean"] = np.add.reduceat(along, indptr[:-1]) / sizes
        frame["radius_min"] = np.minimum.reduceat(along, indptr[:-1])
        frame["radius_max"] = np.maximum.reduceat(along, indptr[:-1])
    if image is not None:
        along = image[tuple(part.coords.T)].astype(np.float64)[indices]
        frame["intensity_mean"] = np.add.reduceat(along, indptr[:-1]) / sizes
    for a, name in enumerate(axes):
        frame[f"start_{name}"] = part.coords[start, a]
    for a, name in enumerate(axes):
        frame[f"end_{name}"] = part.coords[stop, a]
    frame["src"] = np.where(src >= 0, src + node_offset, -1)
    frame["dst"] = np.where(dst >= 0, dst + node_offset, -1)
    frame["component"] = part.component[start]
    frame["_path"] = np.arange(len(frame))
    return frame[~link], links


def _finish_branches(rows, ndim: int, with_radius: bool, with_image: bool) -> pd.DataFrame:
    axes = AXES[ndim]
    columns = ["label", "branch", "kind", "length", "euclidean", "tortuosity"]
    if with_radius:
        columns += ["radius_mean", "radius_min", "radius_max"]
    if with_image:
        columns += ["intensity_mean"]
    columns += [f"start_{a}" for a in axes] + [f"end_{a}" for a in axes] + ["src", "dst", "component",
                                                                           "_part", "_path"]
    if not rows:
        floats = {"length", "euclidean", "tortuosity", "radius_mean", "radius_min", "radius_max", "intensity_mean"}
        return pd.DataFrame({c: pd.Series(dtype=object if c == "kind" else float if c in floats else np.int64)
                             for c in columns})
    frame = pd.concat(rows, ignore_index=True)
    frame = frame.sort_values(["label", "_part", "_path"], kind="stable", ignore_index=True)
    frame["branch"] = np.arange(len(frame))
    return frame[columns]


def _summary(pix_ids, parts, branches, nodes, links, spacing, mask, labelled, cache) -> pd.DataFrame:
    """One row per object: length, counts, loops (cyclomatic number of the branch graph), volume."""
    labels, pix_obj, n_voxels = np.unique(pix_ids, return_inverse=True, return_counts=True)
    n = labels.size

    def index(values) -> np.ndarray:
        return np.searchsorted(labels, np.asarray(values))

    b_obj = index(branches["label"].to_numpy()) if len(branches) else np.zeros(0, np.intp)
    length = np.bincount(b_obj, branches["length"].to_numpy(float), n)
    if len(links):
        length += np.bincount(index(links["label"].to_numpy()), links["length"].to_numpy(float), n)
    frame = pd.DataFrame({"label": labels, "length": length, "n_branches": np.bincount(b_obj, minlength=n)})
    kinds = nodes["kind"].to_numpy()
    n_obj = index(nodes["label"].to_numpy()) if len(nodes) else np.zeros(0, np.intp)
    frame["n_junctions"] = np.bincount(n_obj[kinds == "junction"], minlength=n)
    frame["n_endpoints"] = np.bincount(n_obj[kinds == "end"], minlength=n)
    # loops: E - V + C on the graph whose vertices are the end points, the junction clusters and
    # one vertex per ring (a loop through no junction); its components are the skeleton's
    comps = np.concatenate([p.component for p in parts])
    comp_obj = np.zeros(int(comps.max()) + 1 if comps.size else 0, np.intp)
    comp_obj[comps] = pix_obj
    used = np.zeros(comp_obj.size, bool)
    used[branches["component"].to_numpy(np.int64)] = True
    edges = np.bincount(b_obj, minlength=n)
    vertices = np.bincount(n_obj, minlength=n) + np.bincount(b_obj[branches["src"].to_numpy() < 0], minlength=n)
    with_paths = np.bincount(comp_obj[used], minlength=n)
    frame["n_loops"] = edges - vertices + with_paths
    frame["n_components"] = np.bincount(comp_obj, minlength=n)
    frame["n_voxels"] = n_voxels
    if mask is not None:
        coords = np.concatenate([p.coords for p in parts])
        frame["volume"] = _volumes(labels, mask, coords, pix_ids, labelled, cache) * float(np.prod(spacing))
    return frame


def _volumes(labels: np.ndarray, mask: np.ndarray, coords: np.ndarray, ids: np.ndarray,
             labelled: bool, cache: dict) -> np.ndarray:
    """Voxels of the mask object each skeleton object lies in: for a label skeleton with a label mask
    the label's voxels, else the mask component (26-/8-connected) of the object's first voxel.
    ``cache`` keeps what depends on the mask only, for the graphs pruning derives from this one."""
    if labelled and mask.dtype.kind in "iu":
        if "label_sizes" not in cache:
            import fastremap

            values, counts = fastremap.unique(np.ascontiguousarray(mask), return_counts=True)
            cache["label_sizes"] = dict(zip(values.tolist(), counts.tolist()))
        table = cache["label_sizes"]
        return np.array([float(table.get(int(v), 0)) for v in labels])
    if "regions" not in cache:
        import cc3d

        # (as uint8: cc3d 4.1 mislabels some 2-D boolean images with connectivity 8)
        regions = cc3d.connected_components((mask != 0).view(np.uint8), connectivity=26 if mask.ndim == 3 else 8)
        cache["regions"] = regions, np.bincount(regions.ravel())
    regions, sizes = cache["regions"]
    region = regions[tuple(coords.T)]
    first = np.unique(ids, return_index=True)[1]  # (labels are sorted as np.unique sorts them)
    return sizes[region[first]].astype(float) * (region[first] > 0)
