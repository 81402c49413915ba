"""The Skeleton graph widget's inputs: which layers it offers and what a run is asked to do (a mixin of
:class:`._graph_widget.GraphWidget`)."""

from __future__ import annotations

import inspect

import numpy as np
from napari.layers import Image, Labels

from ..graph import skeleton_graph
from ..metrics import THICK_FRACTION, interior_fraction
from ..skeletonize import skeletonize
from . import _graph_layers as gl
from ._common import (
    UserError,
    default_layer,
    image_input,
    layer_array,
    skeletonizable,
)
from ._compare_layers import plugin_metadata, skeleton_method

#: "skeletonize" choices: (shown, value); "none" = the layer already is a skeleton.
METHODS = [("topological", "topological"), ("Lee", "lee"), ("soft (auto)", "soft"),
           ("none: it is a skeleton", "none")]
#: Control labels, as messages name them.
CONTROLS = {"layer": "input layer", "method": "skeletonize", "fill": "fill holes", "mask": "radius mask",
            "image": "intensity image", "min_length": "prune shorter than", "radius_factor": "prune < radius ×"}
#: Milliseconds the prune controls must rest before the prune runs.
DEBOUNCE_MS = 250
_NONE = "none"


def _has_fill_holes() -> bool:
    return "fill_holes" in inspect.signature(skeletonize).parameters


class _GraphInputs:
    """Input pickers, their defaults, and the plan of a run."""

    def _inputs(self) -> list:
        return [ly for ly in reversed(self.viewer.layers) if skeletonizable(ly)]

    def _input_choices(self, _widget=None):
        return [(ly.name, ly) for ly in self._inputs()]

    def _mask_choices(self, _widget=None):
        return [(_NONE, None), *((ly.name, ly) for ly in self._inputs())]

    def _image_choices(self, _widget=None):
        return [(_NONE, None), *((ly.name, ly) for ly in self._inputs() if isinstance(ly, Image))]

    def _layers_changed(self, event=None) -> None:
        if getattr(event, "type", "") == "inserted":
            self._connect(event.value.events.name, self._layers_changed)
        before = {w: w.value for w in (self.layer, self.mask, self.image)}
        self._defaults = True
        try:
            for widget, value in before.items():
                widget.reset_choices()
                if value is not None and any(value == ly for ly in self.viewer.layers):
                    widget.value = value
        finally:
            self._defaults = False
        if self.layer.value is None or not any(self.layer.value == ly for ly in self.viewer.layers):
            self.layer.value = self._default_input()
        self._input_changed()

    def _default_input(self):
        """The top-most skeleton layer (plugin-made or named so), else the selected / a visible layer."""
        offered = self._inputs()
        skeletons = [ly for ly in offered if skeleton_method(ly) in ("lee", "topological", "zhang")]
        if skeletons:
            return skeletons[0]
        return default_layer(self.viewer, offered[::-1])

    def _input_changed(self) -> None:
        """A new input layer: 'skeletonize' and 'radius mask' follow it (its defaults)."""
        layer = self.layer.value
        if layer is None or self._defaults_for is not None and layer == self._defaults_for:
            return
        self._defaults_for = layer
        self._mask_by_hand = False
        self._defaults = True
        try:
            self.method.value = "none" if self._is_skeleton(layer) else "topological"
            self.mask.value = self._default_mask()
        finally:
            self._defaults = False

    @staticmethod
    def _is_skeleton(layer) -> bool:
        return skeleton_method(layer) in ("lee", "topological", "zhang")

    def _default_mask(self):
        """The input when it is skeletonized here, else the layer a plugin skeleton was made from (or none)."""
        layer = self.layer.value
        if layer is None:
            return None
        if self.method.value != "none":
            return layer
        source = plugin_metadata(layer).get("source")
        for other in self.viewer.layers:
            if source is not None and other.name == source and skeletonizable(other) and other != layer:
                return other if tuple(other.data.shape) == tuple(layer.data.shape) else None
        return None

    def _mask_changed(self, *_):
        if not self._defaults:
            self._mask_by_hand = True

    def _method_changed(self, *_):
        self.fill_holes.enabled = self.method.value != "none" and _has_fill_holes()
        if not self._mask_by_hand:  # the radius mask follows: the input when it is a mask
            self._defaults = True
            try:
                self.mask.value = self._default_mask()
            finally:
                self._defaults = False

    def _plan(self) -> dict:
        layer = self.layer.value
        data = layer_array(layer, allow_4d=False, allow_empty=True, control=CONTROLS["layer"])
        method = self.method.value
        fill = bool(self.fill_holes.value) and method != "none"
        if fill and not _has_fill_holes():
            raise UserError("This version of the library cannot fill holes; untick 'fill holes'.")
        ndim = data.ndim
        spacing = self.voxel_spacing.spacing_for(layer, ndim)  # None when switched off: voxels
        state = self.voxel_spacing.state(layer)
        unit = state.unit if spacing is not None else None  # the graph's (exports say "spacing units" without)
        shown = None if state.length_unit == "voxels" else state.length_unit
        skel_input = self._as_binary(layer, data, CONTROLS["layer"])
        mask = self._extra(self.mask.value, data.shape, CONTROLS["mask"], binary=True)
        image = self._extra(self.image.value, data.shape, CONTROLS["image"], binary=False)
        name = layer.name

        def work(progress):
            def sub(done, total):
                progress(int(700 * done / max(total, 1)), 1000)

            if method == "none":
                skeleton = skel_input
                progress(0, 1000)
                if skeleton.any():
                    fraction = interior_fraction(skeleton != 0)
                    if fraction > THICK_FRACTION:
                        raise UserError(
                            f"Layer '{name}' does not look like a skeleton: {fraction:.0%} of its voxels are "
                            "interior (a skeleton has almost none); pick a method in 'skeletonize'.")
            else:
                kwargs = {"fill_holes": True} if fill else {}
                if method == "soft":
                    kwargs["iterations"] = "auto"
                if method == "topological":  # (scikit-image's and the soft skeleton work on the voxel grid)
                    kwargs["spacing"] = spacing
                skeleton = skeletonize(skel_input, method, progress=sub, **kwargs) if skel_input.any() \
                    else np.zeros(skel_input.shape, skel_input.dtype)
            progress(700, 1000)
            graph = skeleton_graph(skeleton, spacing=spacing, mask=mask, image=image, unit=unit)
            progress(950, 1000)
            return graph, gl.drawing(graph)

        what = "skeleton graph" if method == "none" else f"{method} skeleton graph"
        return {"work": work, "description": f"{what} of '{name}'", "layer": layer, "method": method,
                "fill_holes": fill, "mask": self.mask.value, "image": self.image.value, "unit": shown,
                "spacing": spacing, "shape": data.shape}

    @staticmethod
    def _as_binary(layer, data: np.ndarray, control: str) -> np.ndarray:
        """A mask or label image from ``layer`` (a copy: the layer is never touched)."""
        if isinstance(layer, Labels):
            if data.size and data.min() < 0:
                raise UserError(f"Layer '{layer.name}' has negative labels; labels must be 0 or positive.")
            return data.astype(bool) if data.size == 0 or data.max() <= 1 else np.array(data, copy=True)
        if not data.any():
            return np.zeros(data.shape, bool)
        values, kind, _ = image_input(layer, data)
        if kind == "mask":
            return np.array(values, dtype=bool, copy=True)
        if kind == "map":
            return values > 0.5
        raise UserError(f"Layer '{layer.name}' in '{control}' is an intensity image, not a mask or skeleton; "
                        "pick a mask, a Labels layer or a probability map.")

    def _extra(self, layer, shape, control: str, *, binary: bool):
        if layer is None:
            return None
        data = layer_array(layer, allow_4d=False, allow_empty=True, control=control)
        if tuple(data.shape) != tuple(shape):
            raise UserError(f"Layer '{layer.name}' in '{control}' has shape {tuple(data.shape)}, the input "
                            f"{tuple(shape)}; pick a layer of the same shape (or none).")
        if not binary:
            return data
        return self._as_binary(layer, data, control)

    # ------------------------------------------------------------- showing it
