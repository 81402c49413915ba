"""The soft skeleton behind :func:`~napari_soft_skeleton.skeletonize`: NumPy batches on a device, 'auto'.

``'auto'`` on a float map stops once the map thresholded at the caller's
threshold is final (:class:`~napari_soft_skeleton.soft.ThresholdStop`), or at
a cap with a warning; the intensity check warns when the input looks like raw
intensities rather than a probability map.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import scipy.ndimage as ndi
import torch

from ._devices import resolve_device, with_cpu_fallback
from ._progress import _Progress
from .soft import ThresholdStop, soft_skeleton_levels


def _auto_cap(shape) -> int:
    """An iteration count after which any image of ``shape`` is constant."""
    return int(sum(s - 1 for s in shape)) + 1


def _run_soft(batch: np.ndarray, iterations, device, progress: _Progress | None, stop=None):
    """Soft skeleton of a NumPy batch ``(B, *spatial)`` on ``device``; returns NumPy."""
    k = _auto_cap(batch.shape[1:]) if iterations == "auto" else int(iterations)
    dev = resolve_device(device)
    if not batch.flags.writeable:  # torch.from_numpy warns about read-only arrays
        batch = batch.copy()
    tensor = torch.from_numpy(np.ascontiguousarray(batch))[:, None]
    if tensor.dtype == torch.bool and dev.type == "cpu":
        from .soft import _binary_forward

        skel, used = _binary_forward(tensor[:, 0], k)
        return skel.numpy(), used
    if tensor.dtype == torch.bool:
        tensor = tensor.to(torch.float32)
    callback = None if progress is None else (lambda done, total: progress.step())
    out, used = with_cpu_fallback(
        dev, "soft skeleton",
        lambda: soft_skeleton_levels(tensor.to(dev), k, callback=callback, stop=stop),
        lambda: soft_skeleton_levels(tensor, k, callback=callback, stop=stop),
    )
    out = out[:, 0].cpu().numpy()
    return (out.astype(bool) if batch.dtype == bool else out), used


def _soft_map(image: np.ndarray, iterations, per_slice, device, progress, auto_threshold: float = 0.5):
    """The soft map of a float image; ``'auto'`` stops once ``map > auto_threshold`` is final.

    With ``'auto'`` the loop ends at the first of: the eroded image is
    constant (nothing more can change), :class:`ThresholdStop` (the map
    thresholded at ``auto_threshold`` cannot change any more), or the cap
    ``max(8, 2 (depth + 1))``, ``depth`` being the largest city-block
    distance of a voxel of ``image > auto_threshold`` to the rest: the
    thickest structure above the threshold is eroded away after ``depth``
    iterations (a mask needs ``depth - 1``), and as many again leave room for
    the soft ramp around it.  On probability maps the exact rule fires first
    (the depth is then never computed); reaching the cap means texture below
    the threshold (an intensity image) could still add voxels, and a warning
    says so.  Slice stacks (``per_slice``) share one count, the largest any
    slice needs.
    """
    batch = image if per_slice else image[None]
    stop = None
    if iterations == "auto":
        k = _auto_cap(batch.shape[1:])
        prog = _Progress(progress, min(k, _AutoStop.LAZY_FROM))
        stop = _AutoStop(auto_threshold, batch, prog)
    else:
        k = int(iterations)
        prog = _Progress(progress, k)
    out, used = _run_soft(batch, k, device, prog, stop)
    if stop is not None and stop.capped:
        warnings.warn(
            f"iterations='auto' stopped after {used} iterations, twice the thickness of the structures "
            f"above the threshold {auto_threshold:g}; more iterations could still add skeleton voxels from "
            "texture below it (is this a probability map?)",
            UserWarning,
            stacklevel=3,
        )
    if progress is not None:
        progress(prog.total, prog.total)
    return out.reshape(image.shape), used


class _AutoStop(ThresholdStop):
    """:class:`ThresholdStop`, plus the cap of :func:`_soft_map`, computed only when it may matter."""

    #: Iterations before the cap is worked out (and its smallest value).
    LAZY_FROM = 8

    def __init__(self, threshold: float, batch: np.ndarray, progress: _Progress):
        super().__init__(threshold)
        self.batch, self.progress = batch, progress
        self.calls, self.cap, self.capped = 0, None, False

    def __call__(self, skel, nxt) -> bool:
        self.calls += 1
        if super().__call__(skel, nxt):
            return True
        if self.cap is None and self.calls >= self.LAZY_FROM:
            self.cap = max(self.LAZY_FROM, 2 * (_depth(self.batch > self.threshold) + 1))
            self.progress.total = self.cap
        self.capped = self.cap is not None and self.calls >= self.cap
        return self.capped


def _depth(batch: np.ndarray) -> int:
    """Largest city-block distance of a voxel of the masks ``(B, *spatial)`` to their background.

    The volume's border is not background (the soft skeleton's erosion does
    not erode from it either); each mask of the batch on its own.
    """
    if not batch.any():
        return 0
    metric = np.zeros((3,) * batch.ndim, bool)  # the city-block cross, nothing along the batch axis
    metric[1] = ndi.generate_binary_structure(batch.ndim - 1, 1)
    box = tuple(slice(max(int(a.min()) - 1, 0), int(a.max()) + 2) for a in np.nonzero(batch))
    return int(ndi.distance_transform_cdt(batch[box], metric=metric).max())


#: A float map with more voxels than this between 0.1 and 0.9 looks like intensities.
_MID_FRACTION = 0.25
#: Voxels looked at for that (a regular sample of the image).
_SAMPLE = 1 << 20


#: ``QUIET.on`` in a thread: no :func:`_warn_if_intensity` there (the chunked paths skeletonize many blocks of
#: one image; ``warnings.catch_warnings`` is not thread-safe, so they switch it off this way).
QUIET = threading.local()


def _warn_if_intensity(original: np.ndarray, image: np.ndarray, normalize: bool) -> None:
    """Warn when the soft skeleton is asked of what looks like a raw intensity image."""
    if getattr(QUIET, "on", False):
        return
    flat = image.reshape(-1)
    sample = flat[:: max(1, flat.size // _SAMPLE)]  # (a heuristic: a regular sample is plenty)
    mid = float(np.count_nonzero((sample > 0.1) & (sample < 0.9))) / sample.size
    if mid <= _MID_FRACTION:  # a probability map is mostly near 0 or 1; intensities are not
        return
    lo, hi = float(original.min()), float(original.max())
    if np.all((original == lo) | (original == hi)):  # two values: a mask, whatever they are
        return
    why = f"{mid:.0%} of its voxels lie between 0.1 and 0.9"
    if normalize and (lo < 0 or hi > 1):
        why += f" after rescaling [{lo:g}, {hi:g}] to [0, 1]"
    warnings.warn(
        f"the input looks like a raw intensity image, not a probability map ({why}); the soft "
        "skeleton of intensities follows their texture and noise — threshold or segment it first "
        "(e.g. method='topological' with a threshold), or give a probability map",
        UserWarning,
        stacklevel=3,
    )
