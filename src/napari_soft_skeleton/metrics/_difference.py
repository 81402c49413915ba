"""Voxel-wise difference image of two skeletons, for overlays."""

from __future__ import annotations

import numpy as np

from ._checks import _as_mask, _check_same_shape, _check_spacing, _check_tolerance
from ._distance import _matched

#: Code in :func:`difference_labels` output: voxel in neither skeleton.
DIFFERENCE_NONE = 0
#: Code in :func:`difference_labels` output: voxel in both skeletons.
DIFFERENCE_BOTH = 1
#: Code in :func:`difference_labels` output: voxel only in the reference
#: (with a tolerance: and no candidate voxel within it — missed).
DIFFERENCE_REFERENCE_ONLY = 2
#: Code in :func:`difference_labels` output: voxel only in the candidate
#: (with a tolerance: and no reference voxel within it — extra).
DIFFERENCE_CANDIDATE_ONLY = 3
#: Code with a tolerance: a reference voxel not in the candidate, but within the tolerance of one.
DIFFERENCE_REFERENCE_MATCHED = 4
#: Code with a tolerance: a candidate voxel not in the reference, but within the tolerance of one.
DIFFERENCE_CANDIDATE_MATCHED = 5
#: Human-readable name of each :func:`difference_labels` code.
DIFFERENCE_NAMES = {
    DIFFERENCE_NONE: "neither",
    DIFFERENCE_BOTH: "both",
    DIFFERENCE_REFERENCE_ONLY: "reference only",
    DIFFERENCE_CANDIDATE_ONLY: "candidate only",
    DIFFERENCE_REFERENCE_MATCHED: "reference, matched within tolerance",
    DIFFERENCE_CANDIDATE_MATCHED: "candidate, matched within tolerance",
}
#: The codes that count as agreement once a tolerance is applied.
DIFFERENCE_MATCHED_CODES = (DIFFERENCE_BOTH, DIFFERENCE_REFERENCE_MATCHED, DIFFERENCE_CANDIDATE_MATCHED)

_DIFFERENCE_LUT = np.array(
    [
        DIFFERENCE_NONE,  # ref 0, cand 0
        DIFFERENCE_CANDIDATE_ONLY,  # ref 0, cand 1
        DIFFERENCE_REFERENCE_ONLY,  # ref 1, cand 0
        DIFFERENCE_BOTH,  # ref 1, cand 1
    ],
    dtype=np.uint8,
)


def difference_labels(reference, candidate, *, tolerance=None, spacing=None) -> np.ndarray:
    """Label image of where two skeletons agree and differ.

    Parameters
    ----------
    reference : (M, N) or (P, M, N) array_like
        Reference skeleton (nonzero = skeleton).
    candidate : array_like
        Candidate skeleton, same shape.
    tolerance : float, optional
        Without it the codes are exact voxel overlaps.  With it, a voxel set
        in only one skeleton is *matched* when the other skeleton has a voxel
        within ``tolerance`` (the rule :func:`compare` uses for precision and
        recall), and gets its own code, so that an overlay can colour what
        the numbers count.
    spacing : float or sequence of float, optional
        Voxel size per axis for the distances (``tolerance`` is then in the
        same units), as in :func:`compare`.

    Returns
    -------
    labels : ndarray of uint8
        Same shape as the inputs, with ``DIFFERENCE_NONE`` (0) where neither
        skeleton is set, ``DIFFERENCE_BOTH`` (1) where both are,
        ``DIFFERENCE_REFERENCE_ONLY`` (2) where only the reference is and
        ``DIFFERENCE_CANDIDATE_ONLY`` (3) where only the candidate is.  With
        a tolerance, 2 and 3 are the unmatched voxels, and the matched ones
        are ``DIFFERENCE_REFERENCE_MATCHED`` (4) and
        ``DIFFERENCE_CANDIDATE_MATCHED`` (5).

    Raises
    ------
    ValueError
        If the inputs are not 2D/3D binary numeric arrays of one shape, or
        ``tolerance`` / ``spacing`` are invalid.

    See Also
    --------
    compare : Tolerance-based agreement statistics.

    Examples
    --------
    >>> import numpy as np
    >>> difference_labels(np.array([[1, 1, 0, 0]]), np.array([[1, 0, 1, 0]]))
    array([[1, 2, 3, 0]], dtype=uint8)
    >>> difference_labels(np.array([[1, 1, 0, 0]]), np.array([[1, 0, 1, 0]]), tolerance=1)
    array([[1, 4, 5, 0]], dtype=uint8)
    """
    ref = _as_mask(reference, "reference")
    cand = _as_mask(candidate, "candidate")
    _check_same_shape(ref, cand, "reference", "candidate")
    spacing_t = _check_spacing(spacing, ref.ndim)
    code = ref.astype(np.uint8) * 2
    code += cand
    out = _DIFFERENCE_LUT[code]
    if tolerance is None:
        return out
    tol = _check_tolerance(tolerance)
    for only, other, matched_code in (
        (ref & ~cand, cand, DIFFERENCE_REFERENCE_MATCHED),
        (cand & ~ref, ref, DIFFERENCE_CANDIDATE_MATCHED),
    ):
        coords = np.argwhere(only)
        hit = _matched(coords, np.argwhere(other), other, spacing_t, tol)
        out[tuple(coords[hit].T)] = matched_code
    return out
