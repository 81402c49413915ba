"""File ▸ Open Sample: the vessel and neuron volumes, scaled by their voxel spacing.

The mask is drawn in a neutral grey and the true centerline in white, so
that neither is mistaken for a skeleton: skeletons have their method's
colour from :mod:`napari_soft_skeleton.palette` (napari's default colour for
label 1 is a dark orange, close to the topological skeleton's).
"""

from __future__ import annotations

from functools import partial

from ..palette import MASK_COLOUR
from ..samples import load_sample

#: The true centerline's colour (hidden at first).
CENTERLINE_COLOUR = "#FFFFFF"


def _one_colour(colour: str) -> dict:
    return {None: "transparent", 0: "transparent", 1: colour}


def _layers(name: str) -> list[tuple]:
    """The sample as layer data: the image (if any), the mask and the true centerline."""
    sample = load_sample(name)
    common = {"scale": sample.spacing, "units": (sample.unit,) * len(sample.spacing),
              "metadata": {"sample": name, "unit": sample.unit, "attribution": sample.attribution}}
    layers = []
    if sample.image is not None:
        layers.append((sample.image, {"name": f"{name} image", "colormap": "gray", **common}, "image"))
    layers.append((sample.mask.astype("uint8"), {"name": f"{name} mask", "opacity": 0.4,
                                                 "colormap": _one_colour(MASK_COLOUR), **common}, "labels"))
    if sample.centerline is not None:
        layers.append((sample.centerline.astype("uint8"),
                       {"name": f"{name} true centerline", "visible": False,
                        "colormap": _one_colour(CENTERLINE_COLOUR), **common}, "labels"))
    return layers


# one command per sample in napari.yaml
vessel_256 = partial(_layers, "vessel_256")
vessel_128 = partial(_layers, "vessel_128")
vessel_64 = partial(_layers, "vessel_64")
vessel_2d = partial(_layers, "vessel_2d")
neuron_lm = partial(_layers, "neuron_lm")
neuron_hemibrain_pn = partial(_layers, "neuron_hemibrain_pn")
neuron_hemibrain_glomerulus = partial(_layers, "neuron_hemibrain_glomerulus")
