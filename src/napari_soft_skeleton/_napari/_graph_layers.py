"""The skeleton graph widget's layers: branches as Shapes paths, junctions and end points as Points.

Two halves, so that the heavy part runs in the worker thread:

* :func:`drawing` (no Qt, no layers; run in the worker): from a
  :class:`~napari_soft_skeleton.SkeletonGraph`, the branch paths
  simplified for drawing (Ramer–Douglas–Peucker within half a voxel: a
  straight run of voxels becomes one segment, and napari meshes each path
  vertex by vertex, so this halves the time to draw), a key per branch (its
  voxels, either direction) to tell which branches a prune changed, the
  branch table for ``features`` and the node coordinates;
* :class:`GraphLayers` (GUI thread): adds the three layers on the source
  layer (its scale, translate, rotation and units), or updates them in
  place — after a prune only the branches that changed are removed and
  added — and colours the branches by a column of their table.

Paths are added to a Shapes layer that is already in the viewer, so napari
meshes them once for the current display (3-D tubes or 2-D strips).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from napari.layers import Points, Shapes
from napari.utils.colormaps import Colormap, ensure_colormap
from numba import njit

from ..palette import OKABE_ITO
from ._common import METADATA_KEY, placement

#: ``kind`` in the plugin metadata of the graph layers.
GRAPH_KIND = "skeleton graph"

#: Layer name suffixes.
BRANCHES, JUNCTIONS, ENDS = "branches", "junctions", "end points"

#: Paths are simplified for drawing within this distance of their voxels (voxels).
SIMPLIFY_TOLERANCE = 0.5

#: Junctions white, end points black with a white rim: both read over any branch colormap, in any colour vision.
NODE_COLOURS = {"junction": "#FFFFFF", "end": OKABE_ITO["black"]}
NODE_BORDERS = {"junction": OKABE_ITO["black"], "end": "#FFFFFF"}
#: Point diameter, in line widths.
NODE_SIZES = {"junction": 2.2, "end": 1.8}

#: Colours of the branch kinds (categorical, fixed so that a prune never swaps them).
KIND_COLOURS = {
    "end-end": OKABE_ITO["sky blue"],
    "end-junction": OKABE_ITO["orange"],
    "junction-junction": OKABE_ITO["bluish green"],
    "loop": OKABE_ITO["reddish purple"],
}
#: Colours cycled over object labels.
LABEL_COLOURS = [OKABE_ITO[k] for k in ("orange", "sky blue", "bluish green", "yellow", "blue", "vermillion",
                                        "reddish purple")]
#: Branches without a value in the coloured column (a loop's tortuosity): neutral grey, never invisible.
NO_VALUE_COLOUR = "#808080"

#: Columns coloured by category rather than with a colormap.
CATEGORICAL = ("kind", "label")
#: The columns offered for colouring, in this order, when the table has them.
COLOUR_COLUMNS = ("radius_mean", "length", "tortuosity", "label", "kind", "intensity_mean", "euclidean",
                  "radius_min", "radius_max")
#: Colormaps offered (perceptually uniform; all but turbo readable in any colour vision).
COLORMAPS = ("viridis", "cividis", "plasma", "magma", "inferno", "turbo")


# --------------------------------------------------------------------------
# worker side: what the layers will show
# --------------------------------------------------------------------------


@dataclass
class Drawing:
    """A graph as the layers show it (made in the worker thread)."""

    ndim: int
    paths: list[np.ndarray]  # float32 voxel coordinates, simplified
    keys: list[bytes]  # one per branch: its voxels, either direction
    branches: pd.DataFrame  # g.table("branches"), row i = path i
    junctions: np.ndarray
    junction_table: pd.DataFrame
    ends: np.ndarray
    end_table: pd.DataFrame
    n_voxels: int = field(default=0)  # path vertices before simplifying

    @property
    def n_branches(self) -> int:
        return len(self.paths)


def branch_key(path: np.ndarray) -> bytes:
    """The same bytes for a branch's voxels whichever end it starts from."""
    p = np.ascontiguousarray(path, dtype=np.int64)
    forward, backward = p.tobytes(), np.ascontiguousarray(p[::-1]).tobytes()
    return min(forward, backward)


def simplify_paths(paths: list[np.ndarray], tolerance: float = SIMPLIFY_TOLERANCE) -> list[np.ndarray]:
    """Each path with only the vertices needed to stay within ``tolerance`` of all its points (float32)."""
    if not paths:
        return []
    coords = np.concatenate([np.asarray(p, np.float64) for p in paths])
    lengths = np.array([len(p) for p in paths], np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    keep = np.zeros(coords.shape[0], np.bool_)
    if tolerance > 0:
        _rdp(coords, indptr, float(tolerance) ** 2, keep)
    else:
        keep[:] = True
    out = []
    for i in range(len(paths)):
        a, b = indptr[i], indptr[i + 1]
        out.append(coords[a:b][keep[a:b]].astype(np.float32))
    return out


@njit(cache=True, nogil=True)
def _rdp(coords, indptr, tol2, keep):  # pragma: no cover - compiled
    ndim = coords.shape[1]
    stack = np.empty((coords.shape[0] + 2, 2), np.int64)
    for p in range(indptr.shape[0] - 1):
        first, last = indptr[p], indptr[p + 1] - 1
        if last < first:
            continue
        keep[first] = True
        keep[last] = True
        top = 0
        stack[0, 0], stack[0, 1] = first, last
        top = 1
        while top > 0:
            top -= 1
            a, b = stack[top, 0], stack[top, 1]
            if b - a < 2:
                continue
            n2 = 0.0
            for d in range(ndim):
                n2 += (coords[b, d] - coords[a, d]) ** 2
            best, where = -1.0, -1
            for i in range(a + 1, b):
                t = 0.0
                if n2 > 0:
                    for d in range(ndim):
                        t += (coords[i, d] - coords[a, d]) * (coords[b, d] - coords[a, d])
                    t = min(max(t / n2, 0.0), 1.0)
                dist2 = 0.0
                for d in range(ndim):
                    dist2 += (coords[i, d] - coords[a, d] - t * (coords[b, d] - coords[a, d])) ** 2
                if dist2 > best:
                    best, where = dist2, i
            if best > tol2:
                keep[where] = True
                stack[top, 0], stack[top, 1] = a, where
                stack[top + 1, 0], stack[top + 1, 1] = where, b
                top += 2


def drawing(graph, tolerance: float = SIMPLIFY_TOLERANCE) -> Drawing:
    """What the layers show of ``graph``: simplified paths, keys, the tables, the nodes."""
    raw = graph.paths()
    nodes = graph.table("nodes")
    axes = [c for c in ("z", "y", "x")[-graph.ndim:]]
    junction_table = nodes[nodes["kind"] == "junction"].reset_index(drop=True)
    end_table = nodes[nodes["kind"] == "end"].reset_index(drop=True)
    return Drawing(
        ndim=graph.ndim,
        paths=simplify_paths(raw, tolerance),
        keys=[branch_key(p) for p in raw],
        branches=graph.table("branches").reset_index(drop=True),
        junctions=junction_table[axes].to_numpy(np.float32).reshape(-1, graph.ndim),
        junction_table=junction_table,
        ends=end_table[axes].to_numpy(np.float32).reshape(-1, graph.ndim),
        end_table=end_table,
        n_voxels=int(sum(len(p) for p in raw)),
    )


# --------------------------------------------------------------------------
# colours
# --------------------------------------------------------------------------


@dataclass
class Style:
    """How the branches are drawn: the column they are coloured by, the colormap, the line width (voxels)."""

    column: str = "length"
    colormap: str = "viridis"
    width: float = 1.5
    limits: tuple[float, float] = (0.0, 1.0)  # of the unpruned graph: a prune never shifts the colours


def default_width(shape) -> float:
    """A line width (voxels) readable in 3-D: 1.5 voxels at 256, growing with the volume."""
    return float(round(max(1.0, max(shape) / 170.0), 1))


def colour_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in COLOUR_COLUMNS if c in table.columns]


def default_column(table: pd.DataFrame) -> str:
    return "radius_mean" if "radius_mean" in table.columns else "length"


#: Columns whose colour scale starts at 0 (lengths and radii: a thin branch is not "no radius").
FROM_ZERO = ("length", "euclidean", "radius_mean", "radius_min", "radius_max")


def value_limits(values, column: str = "") -> tuple[float, float]:
    """Contrast limits for a numeric column: its range (from 0 for lengths and radii), ignoring NaN."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (0.0, 1.0)
    lo, hi = float(v.min()), float(v.max())
    if column in FROM_ZERO and lo >= 0:
        lo = 0.0
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def branch_colormap(name: str) -> Colormap:
    """napari's colormap ``name`` with missing values (NaN) in :data:`NO_VALUE_COLOUR` instead of transparent."""
    base = ensure_colormap(name)
    return Colormap(colors=base.colors, controls=base.controls, interpolation=base.interpolation,
                    name=f"{base.name} (graph)", nan_color=NO_VALUE_COLOUR)


def _rgba(colour: str) -> np.ndarray:
    text = colour.lstrip("#")
    return np.array([int(text[i:i + 2], 16) / 255.0 for i in (0, 2, 4)] + [1.0], np.float32)


def apply_colours(layer: Shapes, style: Style, *, remap: bool = True) -> None:
    """Colour ``layer``'s branches by ``style.column`` of its features (napari's own colour mapping)."""
    if layer.nshapes == 0 or style.column not in layer.features.columns:
        return
    column = style.column
    if column in CATEGORICAL:
        if column == "label":
            layer.edge_color_cycle = LABEL_COLOURS
        layer.edge_color = column
        layer.edge_color_mode = "cycle"
        if column == "kind":
            layer.edge_color_cycle_map = {k: _rgba(c) for k, c in KIND_COLOURS.items()}
            layer.refresh_colors(update_color_mapping=False)
        elif remap:
            layer.refresh_colors(update_color_mapping=True)
        else:
            layer.refresh_colors(update_color_mapping=False)
        return
    layer.edge_colormap = branch_colormap(style.colormap)
    layer.edge_color = column
    layer.edge_color_mode = "colormap"
    layer.edge_contrast_limits = style.limits
    layer.refresh_colors(update_color_mapping=False)


# --------------------------------------------------------------------------
# GUI side: the layers
# --------------------------------------------------------------------------


def _ours(layer, cls) -> bool:
    meta = layer.metadata.get(METADATA_KEY) if isinstance(layer.metadata, dict) else None
    return isinstance(layer, cls) and isinstance(meta, dict) and meta.get("kind") == GRAPH_KIND


def is_graph_layer(layer) -> bool:
    return _ours(layer, (Shapes, Points))


class GraphLayers:
    """The three layers of one graph: ``branches`` (Shapes), ``junctions`` and ``ends`` (Points).

    ``keys`` are the keys of the paths in ``branches``, in its order;
    ``rows[i]`` is the branch (row of the graph's table) of shape ``i``.
    """

    def __init__(self, viewer):
        self.viewer = viewer
        self.branches: Shapes | None = None
        self.junctions: Points | None = None
        self.ends: Points | None = None
        self.keys: list[bytes] = []
        self.style = Style()
        self.source_name: str | None = None

    @property
    def layers(self) -> list:
        return [ly for ly in (self.branches, self.junctions, self.ends) if ly is not None]

    def present(self) -> bool:
        """All three layers are still in the viewer."""
        return all(ly is not None and ly in self.viewer.layers for ly in (self.branches, self.junctions, self.ends))

    # ---------------------------------------------------------------- creating
    def show(self, source, drawn: Drawing, style: Style, settings: dict) -> list:
        """Add (or update in place, when an earlier run made them) the three layers on ``source``; returns the new ones."""
        self.style = style
        self.source_name = source.name
        meta = {METADATA_KEY: dict(settings, kind=GRAPH_KIND, source=source.name)}
        where = placement(source)
        new = []
        self.branches, fresh = self._get(Shapes, f"{source.name} {BRANCHES}", meta, where,
                                         lambda **kw: self.viewer.add_shapes(
                                             None, ndim=drawn.ndim, shape_type="path", edge_width=style.width,
                                             face_color="transparent", opacity=1.0, **kw))
        new += [self.branches] if fresh else []
        for kind, attr, name in (("junction", "junctions", JUNCTIONS), ("end", "ends", ENDS)):
            layer, fresh = self._get(Points, f"{source.name} {name}", meta, where,
                                     lambda kind=kind, **kw: self.viewer.add_points(
                                         None, ndim=drawn.ndim, size=NODE_SIZES[kind] * style.width,
                                         face_color=NODE_COLOURS[kind], border_color=NODE_BORDERS[kind],
                                         border_width=0.15, shading="spherical", **kw))
            setattr(self, attr, layer)
            new += [layer] if fresh else []
        self._replace_branches(drawn)
        self._set_nodes(drawn)
        return new

    def _get(self, cls, name, meta, where, add):
        """The layer of that name this plugin made (updated: metadata, placement), else a new one."""
        existing = self.viewer.layers[name] if name in self.viewer.layers else None
        if existing is not None and _ours(existing, cls) and existing.ndim == len(where["scale"]):
            existing.metadata = {**existing.metadata, **meta}
            for key, value in where.items():
                setattr(existing, key, value)
            return existing, False
        if existing is not None:  # a user's layer of that name: never touch it
            name = f"{name} [{len(self.viewer.layers)}]"
        return add(name=name, metadata=meta, **where), True

    # ---------------------------------------------------------------- updating
    def _replace_branches(self, drawn: Drawing) -> None:
        layer = self.branches
        layer.selected_data = set()
        if layer.nshapes:
            layer.data = []
        if drawn.paths:
            layer.add_paths(drawn.paths, edge_width=self.style.width)
        layer.features = drawn.branches
        self.keys = list(drawn.keys)
        apply_colours(layer, self.style, remap=True)

    def _set_nodes(self, drawn: Drawing) -> None:
        for layer, coords, table, kind in ((self.junctions, drawn.junctions, drawn.junction_table, "junction"),
                                           (self.ends, drawn.ends, drawn.end_table, "end")):
            layer.data = coords
            layer.features = table
            layer.size = NODE_SIZES[kind] * self.style.width
            layer.face_color = NODE_COLOURS[kind]
            layer.border_color = NODE_BORDERS[kind]

    def update(self, drawn: Drawing, *, max_changed: float = 0.5) -> dict:
        """Show another version of the graph (a prune) in the same layers.

        Branches whose voxels did not change stay as they are; the others are
        removed and the new ones added (all are replaced when more than
        ``max_changed`` of them changed, or when the layer was edited).  The
        features are the new table, in the layer's order.  The selection is
        kept for the branches that stayed.  Returns ``{"removed", "added"}``.
        """
        layer = self.branches
        selected = {self.keys[i] for i in layer.selected_data if i < len(self.keys)}
        new_index = {k: i for i, k in enumerate(drawn.keys)}
        edited = layer.nshapes != len(self.keys) or len(new_index) != len(drawn.keys)
        gone = [i for i, k in enumerate(self.keys) if k not in new_index]
        shown = set(self.keys)
        added = [j for j, k in enumerate(drawn.keys) if k not in shown]
        if edited or len(gone) + len(added) > max_changed * max(len(drawn.keys), 1):
            self._replace_branches(drawn)
            changes = {"removed": len(self.keys) if edited else len(gone), "added": len(drawn.keys), "full": True}
        else:
            layer.selected_data = set()
            if gone:
                layer.remove(gone)
            if added:
                layer.add_paths([drawn.paths[j] for j in added], edge_width=self.style.width)
            gone_set = set(gone)
            order = [new_index[k] for i, k in enumerate(self.keys) if i not in gone_set] + added
            self.keys = [drawn.keys[j] for j in order]
            layer.features = drawn.branches.iloc[order].reset_index(drop=True)
            apply_colours(layer, self.style, remap=False)
            changes = {"removed": len(gone), "added": len(added), "full": False}
        self._set_nodes(drawn)
        keep = [i for i, k in enumerate(self.keys) if k in selected]
        if keep:
            layer.selected_data = set(keep)
        return changes

    def restyle(self, style: Style) -> None:
        """Colour and line width of ``style`` (points sized to match)."""
        width_changed = style.width != self.style.width
        self.style = style
        if self.branches is None:
            return
        if width_changed and self.branches.nshapes:
            self.branches.edge_width = [float(style.width)] * self.branches.nshapes
        apply_colours(self.branches, style, remap=True)
        for layer, kind in ((self.junctions, "junction"), (self.ends, "end")):
            if layer is not None:
                layer.size = NODE_SIZES[kind] * style.width
                layer.current_size = NODE_SIZES[kind] * style.width

    def clear(self) -> None:
        """Empty the layers (an empty graph)."""
        if self.branches is not None and self.branches in self.viewer.layers:
            self.branches.selected_data = set()
            if self.branches.nshapes:
                self.branches.data = []
        for layer in (self.junctions, self.ends):
            if layer is not None and layer in self.viewer.layers:
                layer.data = np.empty((0, layer.ndim))
        self.keys = []
