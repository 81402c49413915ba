"""A :class:`SkeletonGraph` as networkx, GraphML and CSV (files written whole or not at all)."""

from __future__ import annotations

import math

import numpy as np

from ..io._atomic import atomic_write


def _plain(value):
    """numpy scalars as Python ones (GraphML and networkx users expect int/float/str)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def to_networkx(graph):
    import networkx as nx

    g = nx.MultiGraph(spacing=list(graph.spacing), unit=graph.unit or "")
    nodes = graph.table("nodes")
    for row in nodes.itertuples(index=False):
        attrs = {k: _plain(v) for k, v in row._asdict().items() if k != "node"}
        g.add_node(int(row.node), **attrs)
    branches = graph.table("branches")
    next_node = int(nodes["node"].max()) + 1 if len(nodes) else 0
    axes = ("z", "y", "x")[-graph.ndim:]
    for row in branches.itertuples(index=False):
        attrs = {k: _plain(v) for k, v in row._asdict().items() if k not in ("src", "dst")}
        src, dst = int(row.src), int(row.dst)
        if src < 0:  # a ring with no junction: one node of its own
            start = {a: float(getattr(row, f"start_{a}")) for a in axes}
            g.add_node(next_node, label=_plain(row.label), kind="ring", n_voxels=1, **start)
            src = dst = next_node
            next_node += 1
        g.add_edge(src, dst, key=int(row.branch), **attrs)
    return g


def to_graphml(graph, path) -> None:
    import networkx as nx

    g = to_networkx(graph)
    g.graph["spacing"] = ",".join(str(s) for s in graph.spacing)
    for _, _, data in g.edges(data=True):
        for key, value in list(data.items()):
            if isinstance(value, float) and math.isnan(value):
                data[key] = float("nan")

    def write(fh) -> None:
        nx.write_graphml(g, fh)

    atomic_write(path, write)


def length_unit(graph) -> str:
    """The unit of the graph's lengths, radii and volumes, as labelled: its ``unit`` (``"µm"`` for
    ``"um"``), ``"voxels"`` for a spacing of ones without a unit, else ``"spacing units"``."""
    if graph.unit:
        from ..io import InputError, normalize_unit

        try:
            return normalize_unit(graph.unit) or "voxels"
        except InputError:
            return str(graph.unit)
    return "voxels" if all(float(s) == 1.0 for s in graph.spacing) else "spacing units"


def csv_text(graph, table: str = "branches") -> str:
    """A table as CSV; ``branches`` and ``summary`` (lengths, radii, volumes) end with a ``unit`` column."""
    if table not in ("branches", "nodes", "summary"):
        raise ValueError(f"table must be 'branches', 'nodes' or 'summary'; got {table!r}")
    frame = graph.table(table)
    if table != "nodes":  # (nodes: voxel coordinates only)
        frame = frame.assign(unit=length_unit(graph))
    return frame.to_csv(index=False)


def to_csv(graph, path, table: str = "branches") -> None:
    atomic_write(path, csv_text(graph, table))
