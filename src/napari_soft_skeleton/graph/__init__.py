"""Skeleton graphs: branches, junctions, end points and their measurements, pruning, SWC / CSV / GraphML.

:func:`skeleton_graph` builds a :class:`SkeletonGraph` on skan's pixel graph
from any skeleton this package makes (soft, topological, Lee) or any other
one-voxel-thin skeleton; :func:`read_swc` reads traced neurons (SWC) for
comparison.  No Qt or napari here.

Modules: ``_build`` (skan → tables), ``_graph`` (the class), ``_prune``
(topology-preserving pruning), ``_export`` (networkx, GraphML, CSV) and
``_swc`` (SWC in and out).
"""

from __future__ import annotations

from ._graph import SkeletonGraph, skeleton_graph
from ._swc import read_swc, write_swc

__all__ = ["SkeletonGraph", "skeleton_graph", "read_swc", "write_swc"]
