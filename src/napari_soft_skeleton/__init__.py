"""Soft (clDice) and reference skeletons of tubular structures, with metrics.

The core library (this package, outside ``_napari``) imports neither Qt nor
napari: arrays in, arrays out.

The public names below are imported on first use (PEP 562), so that
``soft-skeleton --help`` or ``import napari_soft_skeleton.io`` do not pay for
torch and scikit-image; ``from napari_soft_skeleton import skeletonize``
works as usual.
"""

from __future__ import annotations

import importlib
import sys
import types

__version__ = "0.1.0"

#: Public name → the submodule that defines it.
_EXPORTS = {
    "ClDiceScore": "metrics",
    "SkeletonComparison": "metrics",
    "betti_numbers": "metrics",
    "cldice": "metrics",
    "compare": "metrics",
    "default_tolerance": "metrics",
    "difference_labels": "metrics",
    "SkeletonGraph": "graph",
    "read_swc": "graph",
    "skeleton_graph": "graph",
    "Sample": "samples",
    "list_samples": "samples",
    "load_sample": "samples",
    "METHODS": "skeletonize",
    "available_devices": "skeletonize",
    "skeletonize": "skeletonize",
    "soft_skeleton": "soft",
    "topological_skeleton": "topological",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


class _Package(types.ModuleType):
    """Keeps a public function when its submodule of the same name is imported.

    Importing ``napari_soft_skeleton.skeletonize`` makes Python set the
    package's attribute ``skeletonize`` to that submodule; the package binds
    the function of that name instead, as an eager ``from .skeletonize import
    skeletonize`` would have left it.
    """

    def __setattr__(self, name: str, value) -> None:
        if (
            isinstance(value, types.ModuleType)
            and _EXPORTS.get(name) == name
            and value.__name__ == f"{self.__name__}.{name}"
        ):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
