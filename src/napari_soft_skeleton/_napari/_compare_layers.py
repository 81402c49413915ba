"""The compare widget's layers: which it offers and picks, their unit, the difference layers, slices.

No Qt here, only napari layers:

* :func:`is_input` — an Image or Labels layer that can hold a skeleton
  (not RGB, not one of the compare widget's own layers);
* :func:`skeleton_method` — the method a skeleton layer was made with
  ('lee', 'topological', 'soft', 'zhang'), from the metadata the plugin's
  skeleton widgets write, else from a name such as "cells lee skeleton";
  None for anything else (a mask, an image, a probability map);
* :func:`default_reference` and :func:`default_candidates` — A, B and C
  before the user picks by hand: Lee's skeleton as the reference, the soft
  and topological skeletons of the same image as candidates;
* :func:`length_unit` and :func:`spacing_and_unit` — the layer's unit as
  shown ('µm', 'nm', 'voxels'), from ``layer.units``, the sample metadata,
  or the layer the skeleton was made from;
* :func:`put_differences` — the difference layers, one per candidate,
  in the palette's three colours, only the newest shown;
* :func:`time_point`, :func:`slice_index` and :func:`go_to_slice` — where
  the viewer's sliders are in a layer's (t,) z axis, and moving them.
"""

from __future__ import annotations

import re

import numpy as np
from napari.layers import Image
from napari.utils.colormaps import DirectLabelColormap

from ..metrics import DIFFERENCE_CANDIDATE_ONLY, DIFFERENCE_MATCHED_CODES, DIFFERENCE_REFERENCE_ONLY, unit_name
from ..palette import DIFFERENCE_COLOURS
from ._common import METADATA_KEY, put_layer, skeletonizable

#: ``kind`` in the plugin metadata of the difference layers (never offered as inputs).
DIFFERENCE_KIND = "skeleton difference"
#: ``kind`` of the empty layers that carry the side-by-side titles.
TITLE_KIND = "side-by-side title"

#: Methods that make a reference skeleton, best first (A's default).
_REFERENCE_METHODS = ("lee", "zhang", "topological")
#: Candidates' default order (B, then C).
_CANDIDATE_METHODS = ("soft", "topological", "zhang", "lee")
_NAMED = re.compile(r"\b(lee|zhang|topological|soft)\b.*\bskeleton\b")

#: Colour of each difference code: matched (both, or within the tolerance), missed, extra.
CODE_COLOURS = {
    **{code: DIFFERENCE_COLOURS["matched"] for code in DIFFERENCE_MATCHED_CODES},
    DIFFERENCE_REFERENCE_ONLY: DIFFERENCE_COLOURS["reference only"],
    DIFFERENCE_CANDIDATE_ONLY: DIFFERENCE_COLOURS["candidate only"],
}

#: Shown when a layer's scale is not 1 and no unit is known.
UNKNOWN_UNIT = "scale units"


def plugin_metadata(layer) -> dict:
    """The settings this plugin stored in ``layer.metadata`` ({} for other layers)."""
    meta = layer.metadata.get(METADATA_KEY) if isinstance(layer.metadata, dict) else None
    return meta if isinstance(meta, dict) else {}


def is_input(layer) -> bool:
    """An Image or Labels layer that can hold a skeleton (not RGB, not our own output)."""
    return skeletonizable(layer) and plugin_metadata(layer).get("kind") not in (DIFFERENCE_KIND, TITLE_KIND)


def _float_image(layer) -> bool:
    return isinstance(layer, Image) and np.dtype(layer.dtype).kind == "f"


def skeleton_method(layer) -> str | None:
    """The method ``layer``'s skeleton was made with, or None when it is not a skeleton layer.

    The plugin's skeleton widgets write ``method`` into the layer metadata;
    other layers count when their name says "<method> ... skeleton".  Float
    images (the soft skeleton's probability map) are maps, not skeletons.
    """
    if not is_input(layer) or _float_image(layer):
        return None
    meta = plugin_metadata(layer)
    if meta:
        method = meta.get("method")
        return method if method in _CANDIDATE_METHODS else None
    found = _NAMED.search(layer.name.lower())
    return found.group(1) if found else None


def _shape(layer) -> tuple[int, ...]:
    data = layer.data[0] if layer.multiscale else layer.data
    return tuple(data.shape)


def default_reference(layers):
    """A's default: the top-most Lee skeleton, else Zhang's, else a topological one; None when there is none.

    ``layers``: top of the layer list first.  Masks, images and probability
    maps are never picked.
    """
    refs = [(ly, m) for ly, m in ((ly, skeleton_method(ly)) for ly in layers) if m in _REFERENCE_METHODS]
    return min(refs, key=lambda pair: _REFERENCE_METHODS.index(pair[1]))[0] if refs else None


def default_candidates(layers, reference=None, exclude=()) -> list:
    """B's and C's defaults, best first: the other skeletons of ``reference``'s shape.

    Those made from ``reference``'s source layer come first, then soft before
    topological (before Zhang's and Lee's); ``exclude`` (layers picked by
    hand elsewhere) and ``reference`` are left out.
    """
    source = plugin_metadata(reference).get("source") if reference is not None else None
    found = []
    for ly in layers:
        method = skeleton_method(ly)
        if method is None or _same(ly, reference) or any(_same(ly, other) for other in exclude):
            continue
        if reference is not None and _shape(ly) != _shape(reference):
            continue
        found.append((source is not None and plugin_metadata(ly).get("source") != source,
                      _CANDIDATE_METHODS.index(method), len(found), ly))
    return [ly for *_, ly in sorted(found, key=lambda item: item[:3])]


def _same(one, other) -> bool:
    # (== rather than `is`: plugins see the layers through napari's public-only proxy)
    return one is not None and other is not None and one == other


def _named_unit(layer) -> str | None:
    spatial = tuple(getattr(layer, "units", ()))[-spatial_ndim(layer):]  # (a time axis has its own unit)
    names = {unit_name(f"{u:~}") or unit_name(str(u)) for u in spatial}
    names.discard(None)
    if len(names) == 1:
        return names.pop()
    meta = layer.metadata.get("unit") if isinstance(layer.metadata, dict) else None
    return unit_name(meta) if isinstance(meta, str) else None


def length_unit(layer, layers=()) -> str | None:
    """The unit of ``layer``'s scale as shown ('µm', 'nm', ...), or None when none is known.

    Read from ``layer.units`` (napari's pint units), else the ``unit`` of the
    sample metadata, else — for a layer this plugin made — from the layer it
    was made from, when that is still among ``layers``.
    """
    unit = _named_unit(layer)
    source = plugin_metadata(layer).get("source")
    for other in layers:
        if unit is not None or source is None:
            break
        if other.name == source and not _same(other, layer):
            unit = _named_unit(other)
    return unit


def spacing_and_unit(layer, ndim: int, layers=()) -> tuple[tuple[float, ...] | None, str]:
    """``(spacing, unit)`` for comparing ``layer``'s last ``ndim`` axes.

    ``(None, 'voxels')`` when the scale is 1 and no unit is known: distances
    are then in voxels.  Otherwise the scale, in the layer's unit (or
    :data:`UNKNOWN_UNIT`).
    """
    spacing = tuple(float(s) for s in layer.scale[-ndim:])
    unit = length_unit(layer, layers)
    if unit is None and np.allclose(spacing, 1.0):
        return None, "voxels"
    return spacing, unit or UNKNOWN_UNIT


def spatial_ndim(layer) -> int:
    """The number of spatial axes: 2 or 3 (a 4D layer is (t, z, y, x))."""
    return 3 if layer.ndim >= 4 else layer.ndim


# --------------------------------------------------------------------------
# difference layers
# --------------------------------------------------------------------------


def difference_name(letter: str, candidate) -> str:
    """A short name that napari's layer list (eliding in the middle) keeps readable: 'diff B (soft)'."""
    return f"diff {letter} ({skeleton_method(candidate) or candidate.name})"


def put_differences(viewer, plan, differences) -> list:
    """Add or update a difference layer per candidate, placed on A; returns them, B's first.

    B's is added last, so it is the newest (on top when new): it alone is
    shown, and every other difference layer — C's, earlier runs' — is hidden.
    """
    colormap = DirectLabelColormap(color_dict={None: "transparent", 0: "transparent", **CODE_COLOURS})
    layers = {}
    a = plan.reference
    for letter, candidate, data in reversed(list(zip(plan.letters, plan.candidates, differences))):
        layer = put_layer(viewer, data, name=difference_name(letter, candidate), kind="labels", source=a,
                          settings=plan.settings(candidate), colormap=colormap, opacity=1.0)
        layer.colormap = colormap  # also when an earlier run's layer was reused
        if len(a.units) == layer.ndim:
            layer.units = a.units
        layers[letter] = layer
    shown = layers[plan.letters[0]]
    for layer in viewer.layers:
        if plugin_metadata(layer).get("kind") == DIFFERENCE_KIND:
            layer.visible = layer == shown
    return [layers[letter] for letter in plan.letters]


# --------------------------------------------------------------------------
# slices
# --------------------------------------------------------------------------


def _world_axis(viewer, layer, axis: int) -> int:
    return viewer.dims.ndim - layer.ndim + axis


def _index(viewer, layer, axis: int) -> int:
    world = _world_axis(viewer, layer, axis)
    if world < 0:
        return 0
    n = _shape(layer)[axis]
    index = round((float(viewer.dims.point[world]) - float(layer.translate[axis])) / float(layer.scale[axis]))
    return int(np.clip(index, 0, max(n - 1, 0)))


def time_point(viewer, layer) -> int:
    """The index along axis 0 of a (t, z, y, x) ``layer`` that the viewer's slider shows."""
    return _index(viewer, layer, 0)


def slice_index(viewer, layer) -> int:
    """The viewer's slice along ``layer``'s z axis (rows in 2D), as an index."""
    return _index(viewer, layer, layer.ndim - spatial_ndim(layer))


def go_to_slice(viewer, layer, index: int, time: int | None = None) -> None:
    """Move the viewer to slice ``index`` of ``layer``'s z axis (clipped), and to ``time`` for a 4D layer."""
    z = layer.ndim - spatial_ndim(layer)
    index = int(np.clip(int(index), 0, _shape(layer)[z] - 1))
    if z == 1 and time is not None:
        viewer.dims.set_point(_world_axis(viewer, layer, 0), float(layer.translate[0]) + time * float(layer.scale[0]))
    viewer.dims.set_point(_world_axis(viewer, layer, z), float(layer.translate[z]) + index * float(layer.scale[z]))
