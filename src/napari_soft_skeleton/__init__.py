"""Soft (clDice) and reference skeletons of tubular structures, with metrics.

The core library (this package, outside ``_napari``) imports neither Qt nor
napari: arrays in, arrays out.
"""

from .metrics import (
    ClDiceScore,
    SkeletonComparison,
    betti_numbers,
    cldice,
    compare,
    difference_labels,
)
# samples: added once samples.py lands
from .skeletonize import METHODS, available_devices, skeletonize
from .soft import soft_skeleton

__version__ = "0.1.0"
__all__ = [
    "METHODS",
    "ClDiceScore",
    "SkeletonComparison",
    "__version__",
    "available_devices",
    "betti_numbers",
    "cldice",
    "compare",
    "difference_labels",
    "skeletonize",
    "soft_skeleton",
]
