"""Library messages in the words of the interface the user is looking at.

The library's errors and warnings name its keyword arguments
(``per_slice=True``, ``normalize=True``, ...), which is right for a Python
user.  The command line and the napari widgets show the same messages, but
their users never typed a keyword: they see flags (``--per-slice``) or
widget controls (mode "per-slice 2D").  :func:`rephrase` swaps one for the
other; each phrase below appears verbatim in some library message.
"""

from __future__ import annotations

__all__ = ["rephrase", "CLI", "NAPARI"]

#: Keyword phrases of library messages → the command line's flags.
CLI = {
    "per_slice=True": "--per-slice",
    "normalize=True": "--normalize",
    "threshold=None": "--no-threshold",
    "iterations='auto'": "--iterations auto",
    "method='topological'": "--method topological",
    "method='zhang'": "--method zhang",
    "method='lee'": "--method lee",
}

#: Keyword phrases of library messages → the napari widgets' controls.
NAPARI = {
    # (longer phrases first: they contain shorter ones)
    "method='topological' with a threshold": "the Reference skeleton widget's method 'topological' with a threshold",
    "per_slice=True": "mode 'per-slice 2D'",
    "normalize=True": "a rescaled image (the widgets rescale intensities themselves)",
    "threshold=None": "no threshold",
    "iterations='auto'": "'auto' iterations",
    "method='topological'": "method 'topological'",
    "method='zhang'": "method 'zhang'",
    "method='lee'": "method 'lee'",
}


def rephrase(message: str, names: dict[str, str]) -> str:
    """``message`` with every library keyword phrase replaced by the interface's name for it."""
    for phrase, shown in names.items():
        message = message.replace(phrase, shown)
    return message
