"""One colour-blind-safe palette for every layer, plot, legend and figure.

The colours are Okabe and Ito's eight (*Color Universal Design*, 2008), which
stay distinct under the common colour-vision deficiencies.  Each colour has
one meaning everywhere — the napari layers, the per-slice plot, the widget
legends and the figures the command line writes — so a user who learned it
once can read any view:

* a skeleton is drawn in its **method's** colour (:data:`METHOD_COLOURS`):
  Lee (the reference) sky blue, topological orange, soft reddish purple,
  Zhang blue;
* in a comparison the reference is **A** and the candidates **B, C, …**;
  curves and titles of A use :data:`REFERENCE_COLOUR`, those of the
  candidates their method's colour when known, else
  :data:`CANDIDATE_COLOURS` in order;
* a difference image has three colours (:data:`DIFFERENCE_COLOURS`):
  **matched** (yellow: in both, or within the tolerance of the other),
  **only in A** (vermillion: the candidate missed it) and **only in the
  candidate** (bluish green: extra).

No Qt or napari imports here: the command line and the widgets share it.
"""

from __future__ import annotations

import re

__all__ = [
    "OKABE_ITO",
    "METHOD_COLOURS",
    "REFERENCE_COLOUR",
    "MASK_COLOUR",
    "CANDIDATE_COLOURS",
    "DIFFERENCE_COLOURS",
    "DIFFERENCE_LABELS",
    "method_colour",
    "candidate_colour",
    "guess_method",
    "rgb",
]

#: Okabe & Ito's colour-blind-safe colours, by name.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}

#: The colour of each skeletonization method's layers and curves.
METHOD_COLOURS = {
    "lee": OKABE_ITO["sky blue"],
    "topological": OKABE_ITO["orange"],
    "soft": OKABE_ITO["reddish purple"],
    "zhang": OKABE_ITO["blue"],
}

#: The reference skeleton A (Lee's colour: Lee is the default reference).
REFERENCE_COLOUR = METHOD_COLOURS["lee"]

#: Masks (the samples', and the explorer's eroded input): a neutral grey that no method or difference uses.
MASK_COLOUR = "#BBBBBB"

#: Candidates B, C, ... whose method is unknown, in order.
CANDIDATE_COLOURS = (
    OKABE_ITO["orange"],
    OKABE_ITO["reddish purple"],
    OKABE_ITO["blue"],
    OKABE_ITO["bluish green"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["yellow"],
)

#: Difference image colours: voxels that match, only in A (missed), only in the candidate (extra).
DIFFERENCE_COLOURS = {
    "matched": OKABE_ITO["yellow"],
    "reference only": OKABE_ITO["vermillion"],
    "candidate only": OKABE_ITO["bluish green"],
}

#: What a user reads in a legend for each difference colour (``{a}``/``{b}``: the letters).
DIFFERENCE_LABELS = {
    "matched": "matched (in both, or within the tolerance)",
    "reference only": "only in {a} (missed by {b})",
    "candidate only": "only in {b} (extra)",
}


def method_colour(method: str | None, default: str | None = None) -> str | None:
    """The colour of ``method`` ('lee', 'soft', ...), or ``default`` for anything else."""
    return METHOD_COLOURS.get(str(method).lower(), default) if method is not None else default


def candidate_colour(index: int, method: str | None = None) -> str:
    """Colour of candidate number ``index`` (0 for B): its method's, else the next free one."""
    return method_colour(method) or CANDIDATE_COLOURS[index % len(CANDIDATE_COLOURS)]


def guess_method(name: str | None) -> str | None:
    """The method a file or layer name mentions ('vessel_soft.tif' → 'soft'), or None.

    Only a whole word counts (separated by ``_``, ``-``, ``.``, spaces), and
    only one method may be named.
    """
    if not name:
        return None
    words = set(re.split(r"[\W_]+", str(name).lower()))
    found = [m for m in METHOD_COLOURS if m in words]
    return found[0] if len(found) == 1 else None


def rgb(colour: str) -> tuple[float, float, float]:
    """``'#RRGGBB'`` as an ``(r, g, b)`` tuple of floats in [0, 1]."""
    text = colour.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"expected a colour like '#RRGGBB'; got {colour!r}")
    return tuple(int(text[i : i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]
