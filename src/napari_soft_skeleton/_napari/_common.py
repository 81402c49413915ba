"""What every widget needs: layers in and out, messages, and background jobs.

* :func:`layer_array` turns the chosen layer into a NumPy array, or raises
  :class:`UserError` with one sentence for the user (no layer, RGB, wrong
  number of dimensions, empty); :func:`layer_data` does the checks that need
  no pixel, without loading (a dask or Zarr layer); :func:`image_input` says
  whether an Image layer is a mask, a probability map or an intensity image to
  rescale (on a dask array too, given a way to compute).
* :func:`skeletonizable` / :func:`layer_choices`: the layers a picker offers
  (Image and Labels, never RGB).
* :func:`put_layer` adds a result layer placed exactly on its source layer
  (scale, translate, rotate, shear, affine), or updates the layer of that name
  that an earlier run made, instead of piling up copies.
* :func:`status_label` is a word-wrapped label for a widget's status line;
  :func:`shown` rewrites a library message in the widgets' words.

Background work (:class:`~._jobs.Job`, :func:`~._jobs.warm_up`) is in :mod:`._jobs`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from magicgui.widgets import Label
from napari.layers import Image, Labels, Layer
from napari.utils.colormaps import Colormap, DirectLabelColormap
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QSizePolicy

from .._messages import NAPARI, rephrase
from ..palette import rgb

#: Metadata key marking the layers this plugin made (value: the run's settings).
METADATA_KEY = "napari_soft_skeleton"

#: What :class:`Job` says (notification and :attr:`Job.outcome`) after a Cancel.
CANCELLED = "Cancelled; no layer was changed."


class UserError(ValueError):
    """A problem the user can fix; its message is shown as a notification."""


class Cancelled(Exception):
    """Raised inside a job's progress callback once the user pressed Cancel."""


def shown(message: str) -> str:
    """A library message as the widgets show it: one sentence on one line, control names for keywords."""
    text = rephrase(" ".join(str(message).split()), NAPARI)
    if not text.startswith("scikit-image"):  # (a name that keeps its small letter)
        text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


# --------------------------------------------------------------------------
# layers in
# --------------------------------------------------------------------------


def skeletonizable(layer) -> bool:
    """True for the layers a picker offers: Labels, and single-channel (not RGB) Images."""
    return isinstance(layer, Labels) or (isinstance(layer, Image) and not layer.rgb)


def layer_choices(viewer, keep: Callable[[Layer], bool] | None = None) -> list[tuple[str, Layer]]:
    """``(name, layer)`` for a picker: the viewer's skeletonizable layers (and ``keep(layer)``)."""
    return [(layer.name, layer) for layer in viewer.layers
            if skeletonizable(layer) and (keep is None or keep(layer))]


def default_layer(viewer, offered: list[Layer]) -> Layer | None:
    """The layer a picker starts on: the selected one, visible ones first (a hidden layer is rarely meant)."""
    selected = [ly for ly in viewer.layers.selection if ly in offered]
    for candidates in ([ly for ly in selected if ly.visible], [ly for ly in offered if ly.visible], selected, offered):
        if candidates:
            return candidates[-1]
    return None


def layer_array(layer: Layer | None, *, allow_4d: bool = True, allow_empty: bool = False,
                control: str | None = None) -> np.ndarray:
    """The data of an Image or Labels layer as an array, checked for skeletonizing.

    ``allow_empty=True`` skips the all-zero check (for callers that check
    emptiness themselves, after their own binarization).  ``control`` is the
    label of the picker the layer came from, named when none is chosen.
    """
    array = np.asarray(layer_data(layer, allow_4d=allow_4d, control=control))
    if not allow_empty and not array.any():
        raise UserError(f"Layer '{layer.name}' is empty (all zero); there is nothing to skeletonize.")
    return array


def layer_data(layer: Layer | None, *, allow_4d: bool = True, control: str | None = None):
    """:func:`layer_array`'s checks that need no pixel (kind of layer, dimensions, type), on the layer's
    data as it is — for a multiscale layer its level 0 — without loading it (a dask or Zarr array stays one)."""
    if layer is None:
        where = f" in '{control}'" if control else ""
        raise UserError(f"Select an Image or Labels layer{where} first.")
    if not isinstance(layer, (Image, Labels)):
        raise UserError(f"Layer '{layer.name}' is a {type(layer).__name__} layer; pick an Image or Labels layer.")
    if isinstance(layer, Image) and layer.rgb:
        raise UserError(f"Layer '{layer.name}' is an RGB(A) image; pick a single-channel layer.")
    data = layer.data[0] if layer.multiscale else layer.data
    ndim = len(data.shape)
    allowed = (2, 3, 4) if allow_4d else (2, 3)
    if ndim not in allowed:
        kinds = "2D, 3D or 4D (time, z, y, x)" if allow_4d else "2D or 3D"
        raise UserError(f"Layer '{layer.name}' is {ndim}D; expected a {kinds} layer.")
    dtype = np.dtype(data.dtype) if hasattr(data, "dtype") else np.asarray(data).dtype
    if dtype.kind not in "biuf":
        raise UserError(f"Layer '{layer.name}' has data of type {dtype}; expected numbers.")
    return data


def image_input(layer: Layer, data: np.ndarray, compute: Callable | None = None
                ) -> tuple[np.ndarray, str, tuple[float, float]]:
    """An Image layer's data as the library takes it: ``(array, kind, (min, max))``.

    ``kind`` is ``"mask"`` (a boolean array: a boolean image, or any image with
    exactly two values, e.g. 0/255, taken as value > min), ``"map"`` (a float
    image in [0, 1], used as it is, float32) or ``"rescaled"`` (any other
    image: float32 values that the library is to rescale min→0, max→1 with
    ``normalize=True``).  The layer's data is never modified.

    ``compute(*values)`` turns the reductions into numbers: for a dask array
    (lazy reductions, and lazy outputs); by default they already are numbers.
    """
    now = compute if compute is not None else (lambda *values: values)
    lo, hi = now(data.min(), data.max())
    if data.dtype == bool:
        return data, "mask", (float(lo), float(hi))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise UserError(f"Layer '{layer.name}' contains NaN or infinite values; replace them first.")
    values_range = (float(lo), float(hi))
    if lo == hi:
        raise UserError(f"Layer '{layer.name}' is constant ({float(lo):g} everywhere); "
                        "there is nothing to skeletonize.")
    (two_valued,) = now(np.all((data == lo) | (data == hi)))
    if two_valued:
        return data > lo, "mask", values_range
    values = data.astype(np.float32, copy=False)
    if data.dtype.kind == "f" and 0 <= lo and hi <= 1:
        return values, "map", values_range
    return values, "rescaled", values_range


def layer_spacing(layer: Layer, ndim: int) -> tuple[float, ...]:
    """The layer's scale along its last ``ndim`` axes (the voxel spacing; a flipped axis counts as its size)."""
    return tuple(abs(float(s)) for s in layer.scale[-ndim:])


# --------------------------------------------------------------------------
# layers out
# --------------------------------------------------------------------------


def placement(layer: Layer) -> dict[str, Any]:
    """Keyword arguments that place a new layer exactly on ``layer``."""
    return {
        "scale": tuple(layer.scale),
        "translate": tuple(layer.translate),
        "rotate": np.asarray(layer.rotate),
        "shear": np.asarray(layer.shear),
        "affine": np.asarray(layer.affine.affine_matrix),
        "units": tuple(layer.units),  # (µm, nm, ...: lengths and tolerances are shown in them)
    }


def put_layer(viewer, data: np.ndarray, *, name: str, kind: str, source: Layer, settings: dict, **kwargs) -> Layer:
    """Add a result layer on top of ``source``, or update the one an earlier run made.

    ``kind`` is ``"image"`` or ``"labels"``.  A layer counts as "the one an
    earlier run made" when it has the same name and kind and carries this
    plugin's metadata; it then gets the new data and placement (and the
    colormap, if given; its opacity, blending and place in the list are the
    user's to change and are kept).
    """
    layer_type = Image if kind == "image" else Labels
    meta = {METADATA_KEY: dict(settings, source=source.name)}
    existing = viewer.layers[name] if name in viewer.layers else None
    if isinstance(existing, layer_type) and METADATA_KEY in existing.metadata:
        existing.data = data
        for key, value in placement(source).items():
            setattr(existing, key, value)
        existing.metadata = {**existing.metadata, **meta}
        if "colormap" in kwargs:
            existing.colormap = kwargs["colormap"]
        return existing
    if existing is not None:  # a user's layer of that name: never touch it
        name = f"{name} [{len(viewer.layers)}]"
    add = viewer.add_image if kind == "image" else viewer.add_labels
    return add(data, name=name, metadata=meta, **placement(source), **kwargs)


def move_below(viewer, layers, above: Callable[[Layer], bool]) -> None:
    """Move ``layers`` (in their order) just below the lowest layer for which ``above(layer)`` holds.

    napari draws later layers over earlier ones: e.g. thin skeletons stay
    readable over a thick soft skeleton.  Nothing moves when no layer qualifies.
    """
    names = [layer.name for layer in layers]
    for name in names:
        targets = [i for i, ly in enumerate(viewer.layers) if ly.name not in names and above(ly)]
        index = viewer.layers.index(viewer.layers[name])
        if targets and index > targets[0]:
            viewer.layers.move(index, targets[0])


def single_colour(colour: str, label: int = 1):
    """A labels colormap drawing ``label`` in ``colour`` (for one-object skeletons)."""
    return DirectLabelColormap(color_dict={None: "transparent", 0: "transparent", int(label): colour})


def skeleton_colour(data: np.ndarray, colour: str) -> dict:
    """``colormap=`` for a skeleton Labels layer: one colour if it holds one id, else napari's default."""
    ids = np.unique(data[data != 0])
    return {"colormap": single_colour(colour, ids[0] if ids.size else 1)} if ids.size <= 1 else {}


def ramp(colour: str, name: str) -> Colormap:
    """An Image colormap from black (0) to ``colour`` ('#RRGGBB'; 1): for additive layers."""
    return Colormap([[0.0, 0.0, 0.0, 1.0], [*rgb(colour), 1.0]], name=name)


def fade_in(colour: str, name: str) -> Colormap:
    """An Image colormap from transparent (0) to opaque ``colour`` (1): draws over other layers."""
    r, g, b = rgb(colour)
    return Colormap([[r, g, b, 0.0], [r, g, b, 1.0]], name=name)


def swatch(colour: str, text: str) -> str:
    """Rich text for a legend line: a square in ``colour``, then ``text``."""
    return f'<span style="color:{colour}">&#9632;</span>&nbsp;{text}'


def status_label(value: str = "", **kwargs) -> Label:
    """A magicgui Label for a status line: wraps long sentences instead of cutting them."""
    label = Label(value=value, **kwargs)
    native = label.native
    native.setWordWrap(True)
    native.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    native.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    native.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    native.setMinimumWidth(50)  # let the dock, not the sentence, decide the width
    return label
