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
from .samples import Sample, list_samples, load_sample
from .skeletonize import METHODS, available_devices, skeletonize
from .soft import soft_skeleton
from .topological import topological_skeleton

__version__ = "0.1.0"
__all__ = [
    "METHODS",
    "ClDiceScore",
    "Sample",
    "SkeletonComparison",
    "__version__",
    "available_devices",
    "betti_numbers",
    "cldice",
    "compare",
    "difference_labels",
    "list_samples",
    "load_sample",
    "skeletonize",
    "soft_skeleton",
    "topological_skeleton",
]
