"""File ▸ Open Sample: the vessel and neuron volumes, scaled by their voxel spacing."""

from __future__ import annotations

from ..samples import load_sample


def _layers(name: str) -> list[tuple]:
    """The sample as layer data: the image (if any), the mask and the true centerline."""
    sample = load_sample(name)
    common = {"scale": sample.spacing, "metadata": {"sample": name, "unit": sample.unit,
                                                    "attribution": sample.attribution}}
    layers = []
    if sample.image is not None:
        layers.append((sample.image, {"name": f"{name} image", "colormap": "gray", **common}, "image"))
    layers.append((sample.mask.astype("uint8"), {"name": f"{name} mask", "opacity": 0.4, **common}, "labels"))
    if sample.centerline is not None:
        layers.append((sample.centerline.astype("uint8"),
                       {"name": f"{name} true centerline", "visible": False, **common}, "labels"))
    return layers


def vessel_256():
    return _layers("vessel_256")


def vessel_128():
    return _layers("vessel_128")


def vessel_64():
    return _layers("vessel_64")


def vessel_2d():
    return _layers("vessel_2d")


def neuron_lm():
    return _layers("neuron_lm")


def neuron_hemibrain_pn():
    return _layers("neuron_hemibrain_pn")


def neuron_hemibrain_glomerulus():
    return _layers("neuron_hemibrain_glomerulus")
