"""Words the skeleton widgets share (in memory and chunk by chunk): names and notes about the input."""

from __future__ import annotations


def values_text(plan) -> str:
    """Where the layer's values lie (for an empty result's explanation)."""
    lo, hi = plan["range"]
    text = f"the layer's values lie in [{lo:g}, {hi:g}]"
    return text + ", rescaled to [0, 1] before thresholding" if plan["kind"] == "rescaled" else text


def filled_suffix(fill_holes: bool) -> str:
    """' (holes filled)' in the name of a layer computed with 'fill holes' (kept beside the other)."""
    return " (holes filled)" if fill_holes else ""


def kind_note(kind: str) -> str:
    if kind == "rescaled":
        return "; intensities were rescaled to [0, 1]"
    if kind == "mask":
        return "; the image was taken as a mask (value > its minimum)"
    return ""
