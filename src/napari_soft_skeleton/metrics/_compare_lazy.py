""":func:`compare` and :func:`cldice` on lazy (dask or zarr) inputs, from the skeletons' coordinates.

:func:`~napari_soft_skeleton.compare` hands its work here when a skeleton
or the mask is a dask or zarr array (:func:`.._sparse.is_lazy`).  The
skeletons are read chunk by chunk into their voxel coordinates
(:func:`.._sparse.skeleton_coords`); a mask is only sampled at them, chunk
by chunk.  Nothing dense bigger than one chunk (or one block of the
background labelling of :mod:`._sparse_betti`) is ever in memory.

Every number equals the in-memory call's on data that fits: counts, Betti
numbers (exact integers), lengths (the same edges summed in the same order),
per-slice tables; matching uses the k-d tree of the in-memory call, which
there switches to a distance transform for dense point sets — the same
Euclidean distances, so the same matches unless a distance lies within the
1e-9 relative slack of the tolerance.  Not available lazily: an SWC or
graph reference (its tree measures need the candidate's graph in memory).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .._sparse import chunk_bounds, is_lazy, key_offset, keys, member, sample_at, skeleton_coords
from .._sparse import interior_fraction as _interior
from ._checks import _check_spacing, _check_tolerance, _harmonic, _ratio
from ._comparison_fields import comparison_fields
from ._distance import _TOLERANCE_RTOL, _edge_length
from ._sparse_betti import betti_from_coords
from ._thinness import _warn_thick_fraction


def _shape_of(array, name: str) -> tuple[int, ...]:
    if not is_lazy(array):
        array = np.asarray(array)
    shape = tuple(int(n) for n in array.shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"{name} must be a 2D or 3D array; got {len(shape)}D array of shape {shape}")
    return shape


def _same_shape(a, b, name_a: str, name_b: str) -> None:
    if a != b:
        raise ValueError(f"{name_a} and {name_b} must have the same shape; got {a} and {b}")


def _inside_mask(mask, coords: np.ndarray, name: str = "mask") -> np.ndarray:
    """Which coordinates lie in the mask's nonzero voxels (the mask read only where they are)."""
    values = sample_at(mask, coords)
    if values.dtype.kind == "f" and not np.isin(values, (0, 1)).all():
        bad = values[~np.isin(values, (0, 1))][0]
        raise ValueError(f"{name} must be binary: floating-point input may only contain 0 and 1; got value {bad!r}")
    if values.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a boolean, integer or 0/1 floating-point array; got dtype {values.dtype}")
    return values != 0


def length_from_coords(coords: np.ndarray, shape, spacing) -> float:
    """``_skeleton_length`` of the array with these voxels: the same edges, summed in the same order."""
    ndim = len(shape)
    if coords.shape[0] < 2:
        return 0.0
    k = keys(coords, shape)
    return _edge_length(k, ndim, spacing, lambda o: key_offset(o, shape), lambda q: member(k, q)[0])


def _matched(query: np.ndarray, target: np.ndarray, spacing, tolerance: float) -> np.ndarray:
    if query.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    if target.shape[0] == 0:
        return np.zeros(query.shape[0], dtype=bool)
    sp = np.ones(query.shape[1]) if spacing is None else np.asarray(spacing, dtype=float)
    limit = tolerance * (1.0 + _TOLERANCE_RTOL)
    tree = cKDTree(target * sp)
    d, _ = tree.query(query * sp, k=1, distance_upper_bound=np.nextafter(limit, np.inf))
    return d <= limit


def _bounds(*arrays):
    for a in arrays:
        if is_lazy(a):
            return chunk_bounds(a)
    return None


def compare_lazy(reference, candidate, *, mask=None, spacing=None, tolerance=None, unit=None,
                 swc_scale=None, swc_origin=None):
    """:func:`compare` for dask/zarr skeletons (and mask); the same result, from the coordinates."""
    from ._compare import SkeletonComparison, default_tolerance, unit_name
    from ._swc_compare import is_tree_reference

    if is_tree_reference(reference):
        raise ValueError("an SWC or SkeletonGraph reference needs the candidate in memory: a lazy (dask/zarr) "
                         "candidate can only be compared with a skeleton array")
    if swc_scale is not None or swc_origin is not None:
        raise ValueError("swc_scale and swc_origin apply only to an SWC reference (a table or a .swc file)")
    shape = _shape_of(reference, "reference")
    _same_shape(shape, _shape_of(candidate, "candidate"), "reference", "candidate")
    if mask is not None:
        _same_shape(shape, _shape_of(mask, "mask"), "reference", "mask")
    ndim = len(shape)
    spacing_t = _check_spacing(spacing, ndim)
    tol = default_tolerance(spacing_t, ndim) if tolerance is None else _check_tolerance(tolerance)
    if unit is not None and not isinstance(unit, str):
        raise ValueError(f"unit must be a string such as 'µm' or None; got {unit!r}")

    ref, _ = skeleton_coords(reference, name="reference")
    cand, _ = skeleton_coords(candidate, name="candidate")
    if mask is not None:
        ref = ref[_inside_mask(mask, ref)]
        cand = cand[_inside_mask(mask, cand)]
    for name, coords in (("reference", ref), ("candidate", cand)):
        _warn_thick_fraction(_interior(coords, shape), name, stacklevel=4)

    matched_ref = _matched(ref, cand, spacing_t, tol)
    matched_cand = _matched(cand, ref, spacing_t, tol)
    both = np.intersect1d(keys(ref, shape), keys(cand, shape), assume_unique=True)
    n_both = (np.bincount(np.unravel_index(both, tuple(n + 2 for n in shape))[0] - 1, minlength=shape[0])
              .astype(np.int64) if both.size else np.zeros(shape[0], np.int64))
    bounds = _bounds(reference, candidate, mask)
    return SkeletonComparison(**comparison_fields(
        shape=shape, spacing=spacing_t, tolerance=tol, unit=unit_name(unit), masked=mask is not None,
        ref=ref, cand=cand, matched_ref=matched_ref, matched_cand=matched_cand, n_both=n_both,
        betti=(betti_from_coords(ref, shape, bounds), betti_from_coords(cand, shape, bounds)),
        lengths=(length_from_coords(ref, shape, spacing_t), length_from_coords(cand, shape, spacing_t))))


def cldice_lazy(prediction, target, *, prediction_skeleton=None, target_skeleton=None):
    """:func:`cldice` for dask/zarr inputs: each skeleton's voxels, the other mask sampled at them."""
    from ._cldice import ClDiceScore

    if prediction_skeleton is None or target_skeleton is None:
        raise ValueError("cldice of lazy (dask/zarr) segmentations needs prediction_skeleton and "
                         "target_skeleton: the default skeletons (scikit-image) need the whole volume in memory")
    shape = _shape_of(prediction, "prediction")
    _same_shape(shape, _shape_of(target, "target"), "prediction", "target")
    _same_shape(shape, _shape_of(prediction_skeleton, "prediction_skeleton"), "prediction", "prediction_skeleton")
    _same_shape(shape, _shape_of(target_skeleton, "target_skeleton"), "target", "target_skeleton")
    for name, array in (("prediction", prediction), ("target", target)):
        if np.dtype(array.dtype).kind not in "biuf":
            raise ValueError(f"{name} must be a boolean, integer or 0/1 floating-point array; "
                             f"got dtype {array.dtype}")
    s_pred, _ = skeleton_coords(prediction_skeleton, name="prediction_skeleton")
    s_targ, _ = skeleton_coords(target_skeleton, name="target_skeleton")
    n_sp, n_st = int(s_pred.shape[0]), int(s_targ.shape[0])
    tprec = _ratio(int(np.count_nonzero(_inside_mask(target, s_pred, "target"))), n_sp)
    tsens = _ratio(int(np.count_nonzero(_inside_mask(prediction, s_targ, "prediction"))), n_st)
    return ClDiceScore(topology_precision=float(tprec), topology_sensitivity=float(tsens),
                       cldice=float(_harmonic(tprec, tsens)), n_prediction_skeleton=n_sp, n_target_skeleton=n_st)
