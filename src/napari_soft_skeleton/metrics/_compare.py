"""Tolerance-based comparison of two skeletons."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from ._checks import _as_mask, _check_same_shape, _check_spacing, _check_tolerance, _JSONFields
from ._comparison_fields import SPARSE_SLICE_VOXELS, comparison_fields  # noqa: F401 (SPARSE_SLICE_VOXELS: API)
from ._distance import _matched, _skeleton_length
from ._thinness import THICK_FRACTION, _warn_if_thick, interior_fraction  # noqa: F401
from ._topology import _betti
from .._sparse import is_lazy as _lazy
from ._compare_lazy import compare_lazy as _compare_lazy


@dataclass(eq=False)
class SkeletonComparison(_JSONFields):
    """Result of :func:`compare`: agreement between two skeletons.

    Attributes
    ----------
    shape : tuple of int
        Shape of the compared arrays.
    spacing : tuple of float or None
        Voxel size per axis, or None if distances are in voxels.
    tolerance : float
        Matching distance, in :attr:`unit`.
    units : str
        ``"physical"`` when ``spacing`` was given, else ``"voxels"``.
        Applies to ``tolerance`` and to the lengths.
    unit : str
        The name of the length unit of ``tolerance`` and the lengths, for
        display: the ``unit`` passed to :func:`compare` (e.g. ``"µm"``) when
        ``spacing`` was given, ``"voxels"`` without spacing, and
        ``"spacing units"`` for a spacing of unknown unit.
    masked : bool
        Whether both skeletons were restricted to a mask first.
    betti_reference, betti_candidate : tuple of int
        :func:`betti_numbers` of each skeleton.
    n_reference, n_candidate : int
        Number of skeleton voxels.
    n_both : int
        Number of voxels set in both skeletons (exact overlap).
    matched_reference : int
        Reference voxels within ``tolerance`` of a candidate voxel.
    matched_candidate : int
        Candidate voxels within ``tolerance`` of a reference voxel.
    precision : float
        ``matched_candidate / n_candidate`` (1.0 if the candidate is empty).
    recall : float
        ``matched_reference / n_reference`` (1.0 if the reference is empty).
    f1 : float
        Harmonic mean of precision and recall (0.0 if both are 0).
    length_reference, length_candidate : float
        Skeleton length in ``units``.
    per_slice : dict of str to ndarray
        One value per index along axis 0 (z-slices of a 3D array, rows of a
        2D array). Keys: ``n_reference``, ``n_candidate``, ``n_both``,
        ``matched_reference``, ``matched_candidate`` (int arrays, which sum
        to the totals above), ``precision``, ``recall``, ``f1`` (float
        arrays, same conventions as the totals, so 1.0 on slices where both
        skeletons are empty), ``agreement`` (``f1``, but NaN on slices
        where both skeletons are empty) and ``sparse`` (bool: slices with
        fewer than :data:`SPARSE_SLICE_VOXELS` voxels in the two skeletons
        together, whose agreement swings between 0 and 1 on one voxel; plots
        mark them instead of joining them, and :meth:`worst_slices` skips
        them unless asked).
    tree : dict or None
        Only with an SWC or :class:`~napari_soft_skeleton.SkeletonGraph`
        reference: ``reference_kind`` (``"swc"``/``"graph"``), ``unit``,
        ``cable_length_*``, ``tips_*``, ``branch_points_*``, ``branches_*``
        (``_reference``, ``_candidate``) and their relative errors
        ``cable_length_error``, ``tip_error``, ``branch_point_error``,
        ``branch_error`` = (candidate - reference) / reference; for SWC also
        ``clipped`` and ``cable_length_outside`` (the part of the tree
        outside the volume, left out).  See ``metrics._swc_compare``.
    """

    shape: tuple[int, ...]
    spacing: tuple[float, ...] | None
    tolerance: float
    units: str
    unit: str
    masked: bool
    betti_reference: tuple[int, ...]
    betti_candidate: tuple[int, ...]
    n_reference: int
    n_candidate: int
    n_both: int
    matched_reference: int
    matched_candidate: int
    precision: float
    recall: float
    f1: float
    length_reference: float
    length_candidate: float
    per_slice: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    tree: dict | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """The fields as JSON-serialisable Python objects (``tree`` only when there is one)."""
        out = super().to_dict()
        if out.get("tree") is None:
            out.pop("tree", None)
        return out

    def worst_slices(self, k: int = 5) -> np.ndarray:
        """Indices of the slices where the skeletons agree least.

        Parameters
        ----------
        k : int, optional
            Maximum number of slice indices to return.

        Returns
        -------
        indices : ndarray of int
            Up to ``k`` indices along axis 0, among slices where at least
            one skeleton has a voxel, sorted by increasing
            ``per_slice["agreement"]``; ties are broken by the larger number
            of unmatched voxels, then by the lower index.  Sparse slices
            (``per_slice["sparse"]``: a voxel or two, where one unmatched
            voxel means an agreement of 0) come after all the others.

        Examples
        --------
        >>> import numpy as np
        >>> ref = np.zeros((3, 8, 8), dtype=bool)
        >>> ref[:, 4, 1:7] = True
        >>> cand = ref.copy()
        >>> cand[1, 4, 1:7] = False
        >>> cand[1, 0, 1:7] = True
        >>> compare(ref, cand).worst_slices(k=1)
        array([1])
        """
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0:
            raise ValueError(f"k must be a non-negative integer; got {k!r}")
        ps = self.per_slice
        agreement = np.asarray(ps["agreement"], dtype=float)
        valid = np.flatnonzero(~np.isnan(agreement))
        unmatched = (
            np.asarray(ps["n_reference"]) - np.asarray(ps["matched_reference"])
        ) + (np.asarray(ps["n_candidate"]) - np.asarray(ps["matched_candidate"]))
        sparse = np.asarray(ps.get("sparse", np.zeros(agreement.shape, bool)), dtype=bool)
        order = np.lexsort((valid, -unmatched[valid], agreement[valid], sparse[valid]))
        return valid[order][: int(k)].astype(np.intp)



#: Default matching distance, in voxels (or in multiples of the largest spacing).
DEFAULT_TOLERANCE_VOXELS = 1.5


def default_tolerance(spacing=None, ndim: int | None = None) -> float:
    """The default matching distance of :func:`compare`: 1.5 × the largest spacing (1.5 voxels without one).

    On isotropic data this accepts face- and edge-adjacent offsets; on
    anisotropic data it accepts one step along the coarsest axis, which 1.5
    "units" would not (with 5 µm slices, two one-voxel-thin skeletons of the
    same mask would mismatch wherever they sit on neighbouring slices).
    """
    if spacing is None:
        return DEFAULT_TOLERANCE_VOXELS
    values = _check_spacing(spacing, ndim if ndim is not None else len(np.atleast_1d(spacing)))
    return DEFAULT_TOLERANCE_VOXELS * max(values)


def unit_name(unit) -> str | None:
    """A unit as it is shown: ``'um'``/``'micrometer'`` → ``'µm'``, ``'nanometer'`` → ``'nm'``, ...

    ``None``, ``''``, ``'pixel'`` and napari's dimensionless units give None.
    """
    if unit is None:
        return None
    text = str(unit).strip()
    return _UNIT_NAMES.get(text.lower(), text) or None


_UNIT_NAMES = {
    "": "", "pixel": "", "pixels": "", "px": "", "dimensionless": "", "none": "",
    "um": "µm", "micron": "µm", "microns": "µm", "micrometer": "µm", "micrometre": "µm", "μm": "µm",
    "nm": "nm", "nanometer": "nm", "nanometre": "nm", "mm": "mm", "millimeter": "mm", "millimetre": "mm",
    "cm": "cm", "centimeter": "cm", "m": "m", "meter": "m", "metre": "m", "angstrom": "Å", "å": "Å",
}


def compare(
    reference,
    candidate,
    *,
    mask=None,
    spacing=None,
    tolerance: float | None = None,
    unit: str | None = None,
    swc_scale: float | None = None,
    swc_origin=None,
) -> SkeletonComparison:
    """Compare a candidate skeleton with a reference skeleton.

    Parameters
    ----------
    reference : (M, N) or (P, M, N) array_like, SWC table, path or SkeletonGraph
        Reference skeleton. Booleans, 0/1 values or an integer label
        skeleton; every nonzero voxel is a skeleton voxel.  Or a traced
        tree: an SWC table (:func:`~napari_soft_skeleton.read_swc`) or a
        path to a ``.swc`` file, whose ``x, y, z`` are physical positions
        in the candidate's frame (voxel index ``(z, y, x)`` × ``spacing``),
        compared as a polyline clipped to the volume — precision is the
        share of candidate voxels within ``tolerance`` of it, recall the
        share of its cable length within ``tolerance`` of the candidate —
        or a :class:`~napari_soft_skeleton.SkeletonGraph` (its
        ``to_mask()``, and its spacing and unit by default).  Both add tree
        measures (cable length, tips, branch points, branches and their
        errors) in :attr:`SkeletonComparison.tree`, and report cable
        lengths (the candidate's from :func:`skeleton_graph`) as
        ``length_reference`` / ``length_candidate``; with ``mask``, only
        the matching is restricted.
    candidate : array_like
        Candidate skeleton, same shape and conventions as ``reference``.
        Either (and ``mask``) may be a dask or zarr array bigger than memory:
        read chunk by chunk, with the same result (``metrics._compare_lazy``).
    mask : array_like, optional
        Region of interest of the same shape. If given, both skeletons are
        restricted to its nonzero voxels before anything (matching, counts,
        lengths, Betti numbers, per-slice statistics) is computed.
    spacing : float or sequence of float, optional
        Voxel size along each axis. If given, distances, ``tolerance`` and
        lengths are in these physical units; otherwise in voxels.
    tolerance : float, optional
        A voxel is *matched* if the Euclidean distance to the nearest voxel
        of the other skeleton is at most ``tolerance``. The default,
        :func:`default_tolerance`, is 1.5 voxels (face-, edge- and in 2D
        corner-adjacent offsets), or 1.5 times the largest spacing with
        ``spacing``: on anisotropic data (say 5 × 1 × 1 µm) one step along
        the coarse axis is then within the tolerance, as it is in voxels.
    unit : str, optional
        Name of the unit of ``spacing`` (e.g. ``"µm"``), carried into the
        result (:attr:`SkeletonComparison.unit`) for display.
    swc_scale : float, optional
        For an SWC file or table: multiply its coordinates by this after
        subtracting ``swc_origin`` (e.g. 0.008 for 8 nm voxels to µm).
    swc_origin : (x, y, z), optional
        For an SWC file or table: the SWC coordinates of voxel (0, 0, 0).

    Returns
    -------
    result : SkeletonComparison
        Totals, Betti numbers, lengths and per-slice arrays; see
        :class:`SkeletonComparison`.

    Raises
    ------
    ValueError
        If the inputs are not 2D/3D binary numeric arrays of one shape, or
        if ``spacing`` or ``tolerance`` are invalid.

    See Also
    --------
    betti_numbers : Topology of each skeleton.
    difference_labels : Voxelwise agreement image for overlays.
    cldice : Topological agreement of two segmentations.

    Notes
    -----
    Edge cases follow the vacuous-truth convention: a ratio with an empty
    denominator is 1.0. Hence two empty skeletons give precision = recall =
    F1 = 1.0; an empty candidate against a non-empty reference gives
    precision 1.0, recall 0.0 and F1 0.0; a non-empty candidate against an
    empty reference gives precision 0.0, recall 1.0 and F1 0.0. The same
    rules apply per slice, where ``agreement`` is NaN instead for slices
    with no voxel in either skeleton. Matching uses 3D distances, and the
    matched voxels are then counted in the slice they belong to.

    Distances are exact Euclidean distances (scaled by ``spacing``): a k-d
    tree (:class:`scipy.spatial.cKDTree`) for sparse skeletons, or
    :func:`scipy.ndimage.distance_transform_edt` when the voxels fill more
    than a few percent of their bounding box. A relative slack of 1e-9 is
    allowed in ``distance <= tolerance`` for floating-point rounding.

    Lengths are the sum of the lengths of the edges between 8-adjacent (2D)
    or 26-adjacent (3D) skeleton voxels, scaled by ``spacing``, leaving out
    any edge that is the strictly longest side of a triangle of mutually
    adjacent voxels (which would count a corner twice). A straight line of
    ``n`` voxels has length ``n - 1`` voxel steps, a single voxel or an
    empty skeleton has length 0. The estimate is meant for one-voxel-thin
    skeletons.

    References
    ----------
    .. [1] C. Wiedemann, C. Heipke, H. Mayer and O. Jamet, "Empirical
           evaluation of automatically extracted road axes", in Empirical
           Evaluation Techniques in Computer Vision, IEEE, 172-187, 1998.

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.zeros((5, 20), dtype=bool)
    >>> ref[2, 2:18] = True
    >>> cand = np.roll(ref, 1, axis=0)
    >>> result = compare(ref, cand, tolerance=1.5)
    >>> result.precision, result.recall
    (1.0, 1.0)
    >>> compare(ref, cand, tolerance=0.5).f1
    0.0
    >>> compare(ref, cand, spacing=(0.5, 1.0), tolerance=0.6).f1
    1.0
    """
    from ._swc_compare import compare_tree, is_tree_reference

    if any(_lazy(x) for x in (reference, candidate, mask)):  # dask/zarr: from coordinates (_compare_lazy)
        return _compare_lazy(reference, candidate, mask=mask, spacing=spacing, tolerance=tolerance, unit=unit,
                             swc_scale=swc_scale, swc_origin=swc_origin)
    if is_tree_reference(reference):
        return compare_tree(reference, candidate, mask=mask, spacing=spacing, tolerance=tolerance, unit=unit,
                            swc_scale=swc_scale, swc_origin=swc_origin)
    if swc_scale is not None or swc_origin is not None:
        raise ValueError("swc_scale and swc_origin apply only to an SWC reference (a table or a .swc file)")
    ref = _as_mask(reference, "reference")
    cand = _as_mask(candidate, "candidate")
    _check_same_shape(ref, cand, "reference", "candidate")
    if mask is not None:
        roi = _as_mask(mask, "mask")
        _check_same_shape(ref, roi, "reference", "mask")
        ref = ref & roi
        cand = cand & roi
    for name, skel in (("reference", ref), ("candidate", cand)):
        _warn_if_thick(skel, name)
    ndim = ref.ndim
    spacing_t = _check_spacing(spacing, ndim)
    tol = default_tolerance(spacing_t, ndim) if tolerance is None else _check_tolerance(tolerance)
    if unit is not None and not isinstance(unit, str):
        raise ValueError(f"unit must be a string such as 'µm' or None; got {unit!r}")

    ref_coords = np.argwhere(ref)
    cand_coords = np.argwhere(cand)
    matched_ref = _matched(ref_coords, cand_coords, cand, spacing_t, tol)
    matched_cand = _matched(cand_coords, ref_coords, ref, spacing_t, tol)

    n_both = (ref & cand).reshape(ref.shape[0], -1).sum(axis=1, dtype=np.int64)
    return SkeletonComparison(**comparison_fields(
        shape=tuple(int(s) for s in ref.shape), spacing=spacing_t, tolerance=tol, unit=unit_name(unit),
        masked=mask is not None, ref=ref_coords, cand=cand_coords, matched_ref=matched_ref,
        matched_cand=matched_cand, n_both=n_both, betti=(_betti(ref), _betti(cand)),
        lengths=(_skeleton_length(ref, spacing_t), _skeleton_length(cand, spacing_t))))
