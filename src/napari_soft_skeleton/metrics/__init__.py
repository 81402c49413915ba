"""Metrics for comparing skeletons and tubular segmentations.

This module measures how well two skeletons (centrelines) of the same 2D or
3D image agree, how their topology compares, and how well two binary
segmentations of tubular structures agree topologically (clDice).

Public functions
----------------
betti_numbers
    Betti numbers of a binary 2D or 3D array (digital topology).
compare
    Tolerance-based precision / recall / F1, lengths, Betti numbers and
    per-slice statistics of two skeletons, returned as a
    :class:`SkeletonComparison`.
cldice
    The clDice score of Shit et al. (CVPR 2021) for two binary
    segmentations, returned as a :class:`ClDiceScore`.
difference_labels
    A ``uint8`` label image coding where two skeletons agree or differ, for
    overlays. The codes are the module constants ``DIFFERENCE_NONE``,
    ``DIFFERENCE_BOTH``, ``DIFFERENCE_REFERENCE_ONLY`` and
    ``DIFFERENCE_CANDIDATE_ONLY``, and with a tolerance also
    ``DIFFERENCE_REFERENCE_MATCHED`` and ``DIFFERENCE_CANDIDATE_MATCHED``.
default_tolerance
    The default matching distance: 1.5 × the largest spacing (1.5 voxels).

Accepted inputs
---------------
All array arguments are 2D or 3D arrays of booleans, integers (for example
0/1 masks or label images) or floating-point numbers that are exactly 0 or 1.
Nonzero means foreground. Soft (probabilistic) skeletons must be thresholded
by the caller; floating-point arrays with other values are rejected with a
``ValueError`` rather than silently treated as "nonzero". Inputs are never
modified.
"""


from ._cldice import ClDiceScore, cldice
from ._compare import (
    DEFAULT_TOLERANCE_VOXELS,
    SPARSE_SLICE_VOXELS,
    THICK_FRACTION,
    SkeletonComparison,
    compare,
    default_tolerance,
    interior_fraction,
    unit_name,
)
from ._difference import (
    DIFFERENCE_BOTH,
    DIFFERENCE_CANDIDATE_MATCHED,
    DIFFERENCE_CANDIDATE_ONLY,
    DIFFERENCE_MATCHED_CODES,
    DIFFERENCE_NAMES,
    DIFFERENCE_NONE,
    DIFFERENCE_REFERENCE_MATCHED,
    DIFFERENCE_REFERENCE_ONLY,
    difference_labels,
)
from ._topology import betti_numbers


__all__ = [
    "DIFFERENCE_NONE",
    "DIFFERENCE_BOTH",
    "DIFFERENCE_REFERENCE_ONLY",
    "DIFFERENCE_CANDIDATE_ONLY",
    "DIFFERENCE_REFERENCE_MATCHED",
    "DIFFERENCE_CANDIDATE_MATCHED",
    "DIFFERENCE_MATCHED_CODES",
    "DEFAULT_TOLERANCE_VOXELS",
    "SPARSE_SLICE_VOXELS",
    "default_tolerance",
    "interior_fraction",
    "THICK_FRACTION",
    "unit_name",
    "DIFFERENCE_NAMES",
    "SkeletonComparison",
    "ClDiceScore",
    "betti_numbers",
    "compare",
    "cldice",
    "difference_labels",
]
