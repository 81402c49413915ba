"""The fields of a :class:`~napari_soft_skeleton.SkeletonComparison` from the matched voxels.

Shared by :func:`~napari_soft_skeleton.compare` in memory (``_compare``) and
on dask/zarr skeletons (``_compare_lazy``): the totals and per-slice table
are computed here once, so both give the same numbers.
"""

from __future__ import annotations

import numpy as np

from ._checks import _harmonic, _ratio

#: Slices with fewer voxels than this (both skeletons together) are "sparse": see ``per_slice``.
SPARSE_SLICE_VOXELS = 5


def comparison_fields(*, shape, spacing, tolerance, unit, masked, ref, cand, matched_ref, matched_cand,
                      n_both, betti, lengths) -> dict:
    """Keyword arguments of :class:`SkeletonComparison` (all but ``tree``).

    ``ref``/``cand`` are the skeletons' (N, ndim) voxel coordinates,
    ``matched_*`` whether each is within the tolerance of the other skeleton,
    ``n_both`` the per-slice count of voxels in both, ``unit`` the shown
    name (:func:`unit_name`) or None, ``betti`` and ``lengths`` the
    (reference, candidate) pairs.
    """
    n_slices = shape[0]

    def per_slice_count(coords, weights=None):
        if coords.shape[0] == 0:
            return np.zeros(n_slices, dtype=np.int64)
        return np.bincount(coords[:, 0], weights=weights, minlength=n_slices).astype(np.int64)

    s_n_ref, s_n_cand = per_slice_count(ref), per_slice_count(cand)
    s_m_ref, s_m_cand = per_slice_count(ref, matched_ref), per_slice_count(cand, matched_cand)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_prec = np.where(s_n_cand > 0, s_m_cand / np.maximum(s_n_cand, 1), 1.0)
        s_rec = np.where(s_n_ref > 0, s_m_ref / np.maximum(s_n_ref, 1), 1.0)
        denom = s_prec + s_rec
        safe = np.where(denom > 0, denom, 1.0)
        s_f1 = np.where(denom > 0, 2 * s_prec * s_rec / safe, 0.0)
    agreement = np.where((s_n_ref + s_n_cand) > 0, s_f1, np.nan)

    n_ref, n_cand = int(ref.shape[0]), int(cand.shape[0])
    m_ref, m_cand = int(np.count_nonzero(matched_ref)), int(np.count_nonzero(matched_cand))
    precision, recall = _ratio(m_cand, n_cand), _ratio(m_ref, n_ref)
    return dict(
        shape=shape,
        spacing=spacing,
        tolerance=tolerance,
        units="voxels" if spacing is None else "physical",
        unit="voxels" if spacing is None else (unit or "spacing units"),
        masked=masked,
        betti_reference=betti[0],
        betti_candidate=betti[1],
        n_reference=n_ref,
        n_candidate=n_cand,
        n_both=int(n_both.sum()),
        matched_reference=m_ref,
        matched_candidate=m_cand,
        precision=float(precision),
        recall=float(recall),
        f1=float(_harmonic(precision, recall)),
        length_reference=lengths[0],
        length_candidate=lengths[1],
        per_slice={
            "n_reference": s_n_ref,
            "n_candidate": s_n_cand,
            "n_both": n_both,
            "matched_reference": s_m_ref,
            "matched_candidate": s_m_cand,
            "precision": s_prec.astype(float),
            "recall": s_rec.astype(float),
            "f1": s_f1.astype(float),
            "agreement": agreement.astype(float),
            "sparse": (s_n_ref + s_n_cand > 0) & (s_n_ref + s_n_cand < SPARSE_SLICE_VOXELS),
        },
    )
