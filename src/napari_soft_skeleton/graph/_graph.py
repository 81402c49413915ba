""":func:`skeleton_graph` and :class:`SkeletonGraph`: branches, junctions, end points, per-object summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._sparse import is_lazy
from . import _build


def skeleton_graph(skeleton, *, spacing=None, mask=None, image=None, unit: str | None = None,
                   max_object_bytes: float | None = None) -> "SkeletonGraph":
    """The graph of a skeleton — branches, junctions and end points — with its measurements.

    Built on skan's pixel graph (:class:`skan.csr.Skeleton`): the same paths
    and lengths as :func:`skan.summarize`, per object, with radii,
    intensities, per-object summaries, topology-preserving pruning and export.

    Parameters
    ----------
    skeleton : (M, N) or (P, M, N) array_like
        A one-voxel-thin skeleton: boolean (or 0/1) — each 26-connected (8 in
        2-D) component is an object, numbered 1, 2, ... in raster order of
        its first voxel — or an integer label skeleton (0 is background), as
        :func:`~napari_soft_skeleton.skeletonize` returns for a label image:
        each label is an object, and labels that touch are never joined.
    spacing : sequence of float, optional
        Voxel size per axis (z, y, x); lengths and radii are in its unit.
        Default: 1 (voxels).
    mask : array_like, optional
        The segmentation the skeleton came from (boolean, or labels): radii
        are its Euclidean distance transform with the spacing (per label for a
        label mask), sampled on the skeleton; ``volume`` in the summary.
    image : array_like, optional
        An intensity image: the mean intensity along each branch.
    unit : str, optional
        The unit of ``spacing`` (e.g. ``"um"``): kept in ``unit``, exports and
        table attributes.
    max_object_bytes : float, optional
        Only for a dask or zarr ``skeleton`` (a volume bigger than memory,
        read chunk by chunk: see :mod:`._build_lazy`): the most memory one
        object's dense bounding box (about 9 bytes per voxel) or mask crop
        may take; default 4 GiB.  The tables equal the in-memory call's.

    Returns
    -------
    SkeletonGraph

    Raises
    ------
    ValueError
        For a skeleton that is not 2-D/3-D binary or integer labels, a
        ``spacing`` of the wrong length or not positive, or a ``mask`` /
        ``image`` of another shape.

    Notes
    -----
    An empty skeleton gives empty tables.  A skeleton that is not thin (a
    mask passed by mistake) gives a warning: branches would be meaningless.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_soft_skeleton import skeleton_graph
    >>> skel = np.zeros((7, 9), bool)
    >>> skel[3, 1:8] = True; skel[1:3, 4] = True
    >>> g = skeleton_graph(skel)
    >>> g.branches[["label", "kind", "length"]].to_numpy().tolist()
    [[1, 'end-junction', 2.0], [1, 'end-junction', 3.0], [1, 'end-junction', 3.0]]
    >>> g.summary[["label", "n_branches", "n_junctions", "n_endpoints", "n_loops"]].to_numpy().tolist()
    [[1, 3, 1, 3, 0]]
    """
    if any(is_lazy(x) for x in (skeleton, mask, image)):  # dask/zarr: per object (_build_lazy)
        from ._build_lazy import lazy_graph

        return lazy_graph(skeleton, spacing=spacing, mask=mask, image=image, unit=unit,
                          max_object_bytes=max_object_bytes)
    skel = _build.check_skeleton(skeleton)
    space = _build.check_spacing(spacing, skel.ndim)
    mask = _build._check_same_shape("mask", mask, skel.shape)
    image = _build._check_same_shape("image", image, skel.shape)
    if image is not None and image.dtype.kind not in "biuf":
        raise ValueError(f"image must be numeric; got dtype {image.dtype}")
    radius = _build.radius_volume(mask, space) if mask is not None else None
    graph = SkeletonGraph._from(skel, space, unit, mask, image, radius)
    _warn_if_thick(graph._interior_fraction, int(graph.summary["n_voxels"].sum()))
    return graph


#: Above this share of interior voxels (all face neighbours in the skeleton), the input looks like a
#: mask: about 0 for thinned skeletons, 0.03-0.04 at the crossings of a lattice of lines, 0.05 for the
#: thinnest mask we have (the hemibrain neuron, radius >= 1 voxel), 0.2-0.4 for vessel masks.
THICK_FRACTION = 0.05


def _warn_if_thick(fraction: float, n_voxels: int) -> None:
    import warnings

    if fraction > THICK_FRACTION and fraction * n_voxels >= 10:  # (a few in a tiny object: not a mask)
        warnings.warn(
            f"this does not look like a skeleton: {fraction:.0%} of its voxels are interior (a skeleton has "
            "almost none), so its branches mean little; skeletonize the mask first",
            UserWarning,
            stacklevel=3,
        )


class SkeletonGraph:
    """A skeleton's branches, junctions and end points, per object, in physical units.

    Made by :func:`skeleton_graph`; do not construct directly.

    Attributes
    ----------
    branches : pandas.DataFrame
        One row per branch (a path between end points / junctions, or a
        loop): ``label`` (object id), ``branch`` (0, 1, ...), ``kind``
        (``"end-end"``: a whole unbranched object; ``"end-junction"``;
        ``"junction-junction"``; ``"loop"``: a cycle back to the same
        junction, or a ring with no junction), ``length`` (along the path,
        physical), ``euclidean`` (between its ends), ``tortuosity``
        (length / euclidean; NaN for loops), ``radius_mean`` /
        ``radius_min`` / ``radius_max`` (with ``mask``), ``intensity_mean``
        (with ``image``), ``start_z`` ... ``end_x`` (voxel indices of its
        ends), ``src`` / ``dst`` (its end nodes in ``nodes``; -1 for a ring),
        ``component`` (its connected component).
    nodes : pandas.DataFrame
        End points and junctions: ``node``, ``label``, ``kind`` (``"end"`` or
        ``"junction"``), ``n_voxels`` (touching junction voxels form one
        junction), ``z``, ``y``, ``x`` (voxel coordinates; a junction's centre).
    summary : pandas.DataFrame
        One row per object: ``label``, ``length`` (all its cable, including
        the one-voxel links inside junctions), ``n_branches``,
        ``n_junctions``, ``n_endpoints``, ``n_loops`` (independent loops of
        the branch graph, touching junction voxels merged into one junction:
        the skeleton's β1 where it is thin; loops that fit inside a cluster of
        junction voxels, which noisy thinning makes, are not counted), ``n_components``, ``n_voxels`` and, with
        ``mask``, ``volume`` (of the mask object it lies in, physical).
    spacing : tuple of float
    unit : str or None
    """

    def __init__(self):  # pragma: no cover - use skeleton_graph
        raise TypeError("use skeleton_graph(skeleton, ...) to make a SkeletonGraph")

    @classmethod
    def _from(cls, skel, spacing, unit, mask, image, radius, cache=None) -> SkeletonGraph:
        self = object.__new__(cls)
        self._cache = {} if cache is None else cache  # what depends on the mask only (shared when pruning)
        self._skeleton = skel
        self.spacing = spacing
        self.unit = unit
        self._mask, self._image, self._radius = mask, image, radius
        (self.branches, self.nodes, self.summary, self._parts,
         self._interior_fraction) = _build.build(skel, spacing, radius, image, mask, self._cache)
        for table in (self.branches, self.nodes, self.summary):
            table.attrs.update(spacing=spacing, unit=unit)
        return self

    # ---- what it is -----------------------------------------------------------------------------

    @property
    def ndim(self) -> int:
        return self._skeleton.ndim

    @property
    def shape(self) -> tuple[int, ...]:
        return self._skeleton.shape

    @property
    def has_radius(self) -> bool:
        return self._radius is not None

    @property
    def endpoints(self) -> np.ndarray:
        """``(n, ndim)`` voxel coordinates of the end points."""
        return self._node_coords("end")

    @property
    def junctions(self) -> np.ndarray:
        """``(n, ndim)`` voxel coordinates of the junctions (the centre of touching junction voxels)."""
        return self._node_coords("junction")

    def _node_coords(self, kind: str) -> np.ndarray:
        rows = self.nodes[self.nodes["kind"] == kind]
        return rows[list(_build.AXES[self.ndim])].to_numpy(float).reshape(-1, self.ndim)

    def path(self, branch: int) -> np.ndarray:
        """``(n, ndim)`` integer voxel coordinates along a branch, from its start to its end."""
        row = self.branches.iloc[int(branch)]
        part = self._parts[int(row["_part"])]
        return part.coords[part.skan.path(int(row["_path"]))]

    def _path_pixels(self, branch: int):
        """The skan pass of a branch and its pixel indices in that pass, start to end."""
        row = self.branches.iloc[branch]
        part = self._parts[int(row["_part"])]
        return part, part.skan.path(int(row["_path"]))

    def paths(self) -> list[np.ndarray]:
        """The voxel coordinates of every branch, in ``branches`` order."""
        result = []
        for part_index, p in zip(self.branches["_part"].to_numpy(), self.branches["_path"].to_numpy()):
            part = self._parts[int(part_index)]
            indptr, indices = part.skan.paths.indptr, part.skan.paths.indices
            result.append(part.coords[indices[indptr[p]:indptr[p + 1]]])
        return result

    def to_mask(self) -> np.ndarray:
        """The skeleton this graph describes (after pruning, the pruned one): a copy, its dtype."""
        return self._skeleton.copy()

    def table(self, name: str = "branches") -> pd.DataFrame:
        """``branches``, ``nodes`` or ``summary`` without the internal columns."""
        frame = {"branches": self.branches, "nodes": self.nodes, "summary": self.summary}[name]
        return frame.drop(columns=[c for c in frame.columns if c.startswith("_")])

    def __repr__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return (f"SkeletonGraph({len(self.summary)} objects, {len(self.branches)} branches, "
                f"{int((self.nodes['kind'] == 'junction').sum())} junctions, "
                f"{int((self.nodes['kind'] == 'end').sum())} end points, "
                f"length {self.summary['length'].sum():.4g}{unit}; shape {self.shape}, spacing {self.spacing})")

    # ---- pruning and export (in their own modules) ----------------------------------------------

    def prune(self, min_length: float | None = None, *, radius_factor: float | None = None) -> "SkeletonGraph":
        """Remove short terminal branches, as a new graph; loops, components and objects all stay.

        A terminal (end-junction) branch goes when it is shorter than
        ``min_length`` (physical units) or than ``radius_factor`` times the
        radius at its junction (needs ``mask``), repeated until nothing more
        goes.  Its voxels are removed from the tip towards the junction,
        each checked to be a simple point, so the pruned skeleton has the
        same Betti numbers as this one; the junction voxels themselves stay.
        Where every branch at a junction is such a spur, the longest is kept,
        so no object ever disappears; ``end-end`` branches (whole unbranched
        objects) and loops are never pruned.

        Parameters
        ----------
        min_length : float > 0, optional
        radius_factor : float > 0, optional
            At least one of the two; with both, a branch goes if either holds.

        Returns
        -------
        SkeletonGraph
            Use ``.to_mask()`` for the pruned skeleton.
        """
        from ._prune import prune

        if getattr(self, "_lazy", False):
            raise ValueError("prune needs the skeleton in memory: this graph is of a dask/zarr skeleton "
                             "(build it from np.asarray(skeleton) if it fits)")
        return prune(self, min_length, radius_factor)

    def to_networkx(self):
        """A :class:`networkx.MultiGraph`: nodes are end points and junctions (``nodes``' columns as
        attributes), edges the branches (``branches``' columns); rings get a node of kind ``"ring"``."""
        from ._export import to_networkx

        return to_networkx(self)

    def to_csv(self, path, table: str = "branches") -> None:
        """Write ``branches`` (or ``nodes`` / ``summary``) as CSV, atomically.

        ``branches`` and ``summary`` end with a ``unit`` column: the unit of
        their lengths and radii (``"µm"``, ...; volumes are in its cube),
        ``"voxels"`` without spacing, ``"spacing units"`` for a spacing
        without a unit."""
        from ._export import to_csv

        to_csv(self, path, table)

    def to_graphml(self, path) -> None:
        """Write :meth:`to_networkx` as GraphML, atomically."""
        from ._export import to_graphml

        to_graphml(self, path)

    def to_swc(self, path) -> None:
        """Write one SWC tree per object (see :func:`napari_soft_skeleton.graph.write_swc`)."""
        from ._swc import write_swc

        write_swc(self, path)
