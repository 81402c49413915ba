"""SWC in and out: skeletons as trees of nodes with radii (the neuron-tracing format).

An SWC file is a table of nodes — ``id type x y z radius parent`` — where
``parent`` is -1 for a root.  :func:`write_swc` writes one tree per connected
component of a skeleton, every skeleton voxel a node; :func:`read_swc` reads
and checks one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from ..io._atomic import atomic_write

COLUMNS = ["id", "type", "x", "y", "z", "radius", "parent"]


def write_swc(graph, path) -> None:
    """Write a :class:`SkeletonGraph` as SWC: one tree per connected component, in physical units.

    Every skeleton voxel is a node, at ``x, y, z`` = its index times the
    spacing (``z = 0`` in 2-D), with its radius (the mask's distance
    transform; half the smallest voxel size when the graph has no mask) and
    type 0 (undefined).  The root of each tree is its voxel of largest
    radius (a neuron's soma) when radii are known, else its first end point
    in raster order, else its first voxel; ties go to the first in raster
    order.  Skeletons may have loops, SWC trees may not: the tree is the
    breadth-first search tree from the root (neighbours in raster order), so
    each loop is cut at the one edge where the search closes it, the farthest
    from the root.  A comment line before each tree gives its object label.
    The header records the unit and spacing.  The file is written whole or
    not at all.
    """
    from .. import __version__

    ndim, spacing = graph.ndim, np.asarray(graph.spacing, float)
    lines = [
        f"# SWC written by napari-soft-skeleton {__version__}",
        f"# units: {_unit_line(graph)}",
        f"# spacing (z, y, x): {', '.join(f'{s:g}' for s in graph.spacing)}",
        "# one tree per connected component, every skeleton voxel a node; loops are cut where the "
        "breadth-first search from the root closes them",
        "# " + " ".join(COLUMNS),
    ]
    blocks = []
    next_id = 1
    for part in graph._parts:
        coords = part.coords
        if coords.shape[0] == 0:
            continue
        n = coords.shape[0]
        adjacency = part.skan.graph[:n, :n]
        raster = np.ravel_multi_index(tuple(coords.T), graph.shape)
        radius = (graph._radius[tuple(coords.T)].astype(float) if graph.has_radius
                  else np.full(n, 0.5 * float(spacing.min())))
        comp = part.component
        # root per component: largest radius (if known), else first end point, else first voxel
        degrees = part.skan.degrees[:n]
        key = pd.DataFrame({"comp": comp, "raster": raster, "i": np.arange(n),
                            "r": -radius if graph.has_radius else np.where(degrees == 1, 0, 1)})
        roots = key.sort_values(["comp", "r", "raster"]).drop_duplicates("comp")["i"].to_numpy()
        # one breadth-first search from a virtual node joined to every root
        extra = sparse.csr_matrix((np.ones(roots.size), (np.full(roots.size, n), roots)), shape=(n + 1, n + 1))
        full = sparse.bmat([[adjacency, None], [None, sparse.csr_matrix((1, 1))]], format="csr") + extra
        full = ((full + full.T) > 0).astype(np.int8).tocsr()
        order, pred = csgraph.breadth_first_order(full, n, directed=False, return_predecessors=True)
        order = order[1:]  # drop the virtual node
        position = np.empty(n, np.int64)
        position[order] = np.arange(n)
        tree_order = order[np.lexsort((position[order], comp[order]))]
        ids = np.empty(n, np.int64)
        ids[tree_order] = next_id + np.arange(n)
        next_id += n
        parent = np.where(pred[tree_order] == n, -1, ids[np.minimum(pred[tree_order], n - 1)])
        xyz = (coords[tree_order] * spacing)[:, ::-1]
        if ndim == 2:
            xyz = np.column_stack([xyz, np.zeros(n)])
        labels = part.objects[tree_order]
        rows = np.column_stack([ids[tree_order], np.zeros(n), xyz, radius[tree_order], parent])
        starts = np.flatnonzero(parent == -1)
        for k, s in enumerate(starts):
            e = starts[k + 1] if k + 1 < starts.size else n
            blocks.append((int(ids[tree_order][s]), f"# tree: label {labels[s]}", rows[s:e]))
    blocks.sort(key=lambda b: b[0])
    out = lines[:]
    for _, comment, rows in blocks:
        out.append(comment)
        out.extend(f"{int(r[0])} {int(r[1])} {r[2]:.6g} {r[3]:.6g} {r[4]:.6g} {r[5]:.6g} {int(r[6])}" for r in rows)
    atomic_write(path, "\n".join(out) + "\n")


def _unit_line(graph) -> str:
    if graph.unit:
        return f"{graph.unit} (x, y, z, radius)"
    if all(s == 1 for s in graph.spacing):
        return "voxels (x, y, z, radius)"
    return "unknown (x, y, z, radius are voxel index x spacing, in the spacing's unit)"


def read_swc(path, *, scale: float | None = None, origin=None) -> pd.DataFrame:
    """Read an SWC file into a table, checked.

    Parameters
    ----------
    path : str or Path
    scale : float, optional
        Multiply coordinates and radii by this (e.g. ``0.008`` for 8 nm
        hemibrain voxels to µm), after subtracting ``origin``.
    origin : (x, y, z), optional
        SWC coordinates of the image's voxel (0, 0, 0), subtracted first.

    Returns
    -------
    pandas.DataFrame
        Columns ``id, type, x, y, z, radius, parent`` (``parent`` -1 for a
        root); ``attrs["unit"]`` from a ``# units:`` header line if any.

    Raises
    ------
    ValueError
        One line naming the file, for: rows that are not 7 numbers, repeated
        ids, a parent id that is not in the file, a cycle of parents, a
        negative radius.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SWC file not found: {path}")
    unit = None
    rows = []
    for number, raw in enumerate(path.read_text(errors="replace").splitlines(), 1):
        line = raw.strip()
        if line.startswith("#"):
            if line[1:].strip().lower().startswith("units:"):
                words = line.split(":", 1)[1].split()
                unit = words[0] if words and words[0] != "unknown" else None
            continue
        if not line:
            continue
        fields = line.split()
        if len(fields) < 7:
            raise ValueError(f"{path}: line {number} has {len(fields)} fields; an SWC row is "
                             "'id type x y z radius parent'")
        try:
            rows.append([float(f) for f in fields[:7]])
        except ValueError:
            raise ValueError(f"{path}: line {number} is not numbers: {line[:60]!r}") from None
    table = pd.DataFrame(np.array(rows, float).reshape(-1, 7), columns=COLUMNS)
    for column in ("id", "type", "parent"):
        table[column] = table[column].astype(np.int64)
    _check(table, path)
    if origin is not None:
        table[["x", "y", "z"]] -= np.asarray(origin, float).reshape(1, 3)
    if scale is not None:
        table[["x", "y", "z", "radius"]] *= float(scale)
    table.attrs["unit"] = None if scale is not None else unit
    return table


def _check(table: pd.DataFrame, path) -> None:
    ids, parents = table["id"].to_numpy(), table["parent"].to_numpy()
    if ids.size == 0:
        return
    if np.unique(ids).size != ids.size:
        dup = pd.Series(ids).value_counts()
        raise ValueError(f"{path}: node id {int(dup.index[0])} appears {int(dup.iloc[0])} times")
    if (table["radius"] < 0).any():
        bad = int(ids[np.argmax(table["radius"].to_numpy() < 0)])
        raise ValueError(f"{path}: node {bad} has a negative radius")
    index = pd.Series(np.arange(ids.size), index=ids)
    has_parent = parents >= 0
    missing = has_parent & ~np.isin(parents, ids)
    if missing.any():
        k = int(np.argmax(missing))
        raise ValueError(f"{path}: node {int(ids[k])} has parent {int(parents[k])}, which is not in the file")
    # every node must reach a root: search from the roots along parent -> child links
    n = ids.size
    child = np.flatnonzero(has_parent)
    par = index[parents[child]].to_numpy()
    roots = np.flatnonzero(~has_parent)
    edges = sparse.csr_matrix((np.ones(child.size + roots.size),
                               (np.concatenate([par, np.full(roots.size, n)]), np.concatenate([child, roots]))),
                              shape=(n + 1, n + 1))
    reached = csgraph.breadth_first_order(edges, n, directed=True, return_predecessors=False)
    if reached.size - 1 < n:
        lost = np.setdiff1d(np.arange(n), reached)
        raise ValueError(f"{path}: the parents of node {int(ids[lost[0]])} form a cycle (it never reaches a root)")
