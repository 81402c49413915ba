"""From the chosen layers to a comparison that runs in the background.

:func:`make_plan` checks the layers in the GUI thread (raising
:class:`~._common.UserError` with one sentence that names the widget's
controls) and returns a :class:`Plan` whose ``work(progress)`` calls the
library — :func:`~napari_soft_skeleton.metrics.compare` and
:func:`~napari_soft_skeleton.metrics.difference_labels` with the same
tolerance, so the overlay colours what precision and recall count — in a
worker thread.  What the library warns about (an input that is a mask
rather than a skeleton) comes back as sentences about A, B and C.

Time-lapse layers (t, z, y, x) are compared at one time point: the one the
viewer's time slider shows; the difference layer is 4D too, filled at that
time point only.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from napari.layers import Image

from .._messages import NAPARI, rephrase
from ..metrics import SkeletonComparison, compare, difference_labels
from ._common import Cancelled, UserError, layer_array
from ._compare_layers import DIFFERENCE_KIND, skeleton_method, spacing_and_unit, spatial_ndim

#: The letters of the candidates, in order.
LETTERS = ("B", "C")
#: What the user sees for each picker (the form's labels), for messages.
CONTROLS = {"A": "A (reference)", "B": "B (candidate)", "C": "C (candidate)", "mask": "mask"}


@dataclass
class Outcome:
    """What ``Plan.work`` returns: a result and a difference image per candidate, and the warnings."""

    results: list[SkeletonComparison]
    differences: list[np.ndarray]
    messages: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """A checked comparison: the layers, the settings and the work to run."""

    reference: Any
    candidates: list
    mask: Any
    time: int | None  # the compared time point of (t, z, y, x) layers
    n_times: int
    spacing: tuple[float, ...] | None
    unit: str
    tolerance: float
    work: Callable[[Callable[[int, int], None]], Outcome]

    @property
    def letters(self) -> tuple[str, ...]:
        return LETTERS[: len(self.candidates)]

    @property
    def layers(self) -> list:
        return [ly for ly in (self.reference, *self.candidates, self.mask) if ly is not None]

    def settings(self, candidate) -> dict:
        """The plugin metadata of ``candidate``'s difference layer."""
        return {
            "kind": DIFFERENCE_KIND,
            "reference": self.reference.name,
            "candidate": candidate.name,
            "candidate_method": skeleton_method(candidate),
            "mask": None if self.mask is None else self.mask.name,
            "tolerance": self.tolerance,
            "unit": self.unit,
            "time": self.time,
        }


def binary(layer, data: np.ndarray) -> np.ndarray:
    """A layer's data as a skeleton mask: ``> 0.5`` for float images, else nonzero."""
    if isinstance(layer, Image) and data.dtype.kind == "f":
        return data > 0.5
    return data != 0


def _array(layer, letter: str) -> np.ndarray:
    try:
        return layer_array(layer, allow_empty=True)
    except UserError as err:
        raise UserError(f"{CONTROLS[letter]}: {err}") from None


def make_plan(a, candidates: list, m, *, tolerance: float, time: int, layers=(), use_spacing: bool = True) -> Plan:
    """Check the chosen layers and describe the work (GUI thread); raises :class:`UserError`.

    ``time`` is the time point compared when A is (t, z, y, x); ``layers``
    are the viewer's layers (to find the unit of a skeleton made from another
    layer); ``use_spacing=False`` compares on the voxel grid (A's scale ignored).
    """
    if a is None:
        raise UserError(f"Pick a skeleton layer for '{CONTROLS['A']}' first.")
    if not candidates or candidates[0] is None:
        raise UserError(f"Pick a skeleton layer for '{CONTROLS['B']}' first.")
    if len(candidates) > 1 and candidates[1] == candidates[0]:
        raise UserError(f"B and C are the same layer '{candidates[0].name}'; pick another layer for C or none.")
    data_a = _array(a, "A")
    four_d = data_a.ndim == 4
    datas = []
    for letter, layer in zip(LETTERS, candidates):
        data = _array(layer, letter)
        if data.shape != data_a.shape:
            raise UserError(
                f"Layers '{a.name}' {data_a.shape} (A) and '{layer.name}' {data.shape} ({letter}) have "
                "different shapes; pick skeletons of the same image."
            )
        datas.append(data)
    data_m = None
    if m is not None:
        data_m = _array(m, "mask")
        if data_m.shape not in (data_a.shape, data_a.shape[-3:] if four_d else data_a.shape):
            raise UserError(
                f"Mask '{m.name}' {data_m.shape} does not have the shape of '{a.name}' {data_a.shape}; "
                "pick a mask of the same image or none."
            )
    if four_d:
        data_a, datas = data_a[time], [d[time] for d in datas]
        if data_m is not None and data_m.ndim == 4:
            data_m = data_m[time]
    bin_a = binary(a, data_a)
    bins = [binary(layer, data) for layer, data in zip(candidates, datas)]
    bin_m = None if m is None else binary(m, data_m)
    at = f" at time point {time}" if four_d else ""
    for layer, mask, what in [(a, bin_a, "skeleton"), *((ly, bn, "skeleton") for ly, bn in zip(candidates, bins)),
                              (m, bin_m, "mask")]:
        if mask is not None and not mask.any():
            hint = " (float images count as value > 0.5)" if np.dtype(layer.dtype).kind == "f" else ""
            raise UserError(f"Layer '{layer.name}' is empty{at}{hint}; there is no {what} to compare.")
    spacing, unit = spacing_and_unit(a, spatial_ndim(a), layers) if use_spacing else (None, "voxels")
    n_times = _n_times(a) if four_d else 1
    tolerance = float(tolerance)

    def work(progress) -> Outcome:
        try:
            steps = 2 * len(bins)
            progress(0, steps)
            results, differences, messages = [], [], []
            shown_a = bin_a if bin_m is None else bin_a & bin_m  # the overlay shows what was compared
            for i, (layer, bin_b) in enumerate(zip(candidates, bins)):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", UserWarning)
                    results.append(compare(bin_a, bin_b, mask=bin_m, spacing=spacing, tolerance=tolerance,
                                           unit=unit if spacing is not None else None))
                names = {"reference": f"A ('{a.name}')", "candidate": f"{LETTERS[i]} ('{layer.name}')"}
                for w in caught:
                    text = _about_layers(str(w.message), names)
                    if issubclass(w.category, UserWarning) and text not in messages:
                        messages.append(text)
                progress(2 * i + 1, steps)
                shown_b = bin_b if bin_m is None else bin_b & bin_m
                diff = difference_labels(shown_a, shown_b, tolerance=tolerance, spacing=spacing)
                if four_d:
                    full = np.zeros((n_times, *diff.shape), dtype=diff.dtype)
                    full[time] = diff
                    diff = full
                differences.append(diff)
                progress(2 * i + 2, steps)
            return Outcome(results, differences, messages)
        except (Cancelled, UserError, MemoryError):
            raise
        except ValueError as err:
            raise UserError(say(str(err))) from err
        except Exception as err:  # one sentence instead of "Skeletonization failed"
            raise UserError(f"Comparison failed: {type(err).__name__}: {err}") from err

    return Plan(reference=a, candidates=list(candidates), mask=m, time=time if four_d else None,
                n_times=n_times, spacing=spacing, unit=unit, tolerance=tolerance,
                work=work)


def _n_times(layer) -> int:
    return int((layer.data[0] if layer.multiscale else layer.data).shape[0])


def say(message: str) -> str:
    """A library message as one sentence in the widget's words."""
    text = " ".join(rephrase(message, NAPARI).split())
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def _about_layers(message: str, names: dict[str, str]) -> str:
    """A library warning about "the reference"/"the candidate" told about layers A, B and C."""
    text = " ".join(message.split())
    for role, shown in names.items():
        text = text.replace(f"the {role} does", f"{shown} does")
    text = text.replace("skeletonize it first", "skeletonize it first (Reference skeleton widget)")
    return say(text)
