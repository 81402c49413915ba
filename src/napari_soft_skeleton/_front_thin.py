"""The thinning methods behind :func:`~napari_soft_skeleton.skeletonize`: scikit-image's and ours.

scikit-image's Lee and Zhang on one mask (with one warning per call for the
objects they drop), and our topological thinning of masks, label images and
slice stacks: on a GPU in one batch (falling back to the CPU when it runs out
of memory), on the CPU with progress after every sweep or slice chunk.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ._devices import resolve_device, with_cpu_fallback
from ._progress import _Progress
from .topological import _thin_torch, topological_skeleton_labels, topological_skeleton_slices


def _some(what: str, items, shown: int = 8) -> str:
    """'slices 1, 4, 9' or 'ids 3, 5, ... and 120 more'."""
    head = ", ".join(str(i) for i in items[:shown])
    return f"{what} {head}" + (f" and {len(items) - shown} more" if len(items) > shown else "")


def _warn_dropped(method: str, detail: str) -> None:
    """One warning per call, however many objects scikit-image dropped."""
    warnings.warn(
        f"scikit-image's {method!r} thinning removed a non-empty object entirely {detail}; "
        "method='topological' keeps every object",
        UserWarning,
        stacklevel=4,
    )


def _thin_on_device(batch: np.ndarray, dev: torch.device, labels: bool = False, progress=None,
                    spacing=None) -> np.ndarray:
    """Topological thinning of a batch ``(B, *spatial)`` of masks (or int32 label images) on a GPU.

    NumPy in and out; the same result as :func:`topological_skeleton_mask`
    (:func:`topological_skeleton_labels`) per image with ``spurs="keep"``
    (:func:`_topological` prunes after, on the CPU).  If the device runs out
    of memory the work is redone on the CPU with a warning.
    """
    return with_cpu_fallback(
        dev, "topological skeleton",
        lambda: _thin_torch(torch.from_numpy(np.ascontiguousarray(batch)).to(dev), labels=labels, spacing=spacing,
                            progress=progress).cpu().numpy(),
        # (masks too; unpruned, as on the device)
        lambda: np.stack([topological_skeleton_labels(m, progress=progress, spurs="keep", spacing=spacing)
                          for m in batch]),
    )


def _thin(mask: np.ndarray, method: str) -> np.ndarray:
    """A scikit-image thinning method on one 2-D/3-D mask."""
    if not mask.any():
        return np.zeros(mask.shape, bool)
    from skimage.morphology import skeletonize as sk_skeletonize

    if not mask.flags.writeable:  # scikit-image's Zhang thinning needs a writable buffer
        mask = mask.copy()
    return sk_skeletonize(mask, method=method).astype(bool, copy=False)


def _topological(values: np.ndarray, per_slice, device, progress, spurs: str = "prune", spacing=None) -> np.ndarray:
    """Our thinning of a mask, or of every label of a label image at once (ids as they are).

    On a GPU the whole batch (the volume, or all its slices) in one call, ids
    of 2**31 and more renumbered for it (int32 tensors) and mapped back; on
    the CPU slice stacks in chunks and volumes with progress after each sweep.
    ``spurs="prune"``: the spurs pruned by the CPU pass of :mod:`._spurs` on
    every device (the same skeleton everywhere); ``spacing``: of all of
    ``values``' axes (checked), for the pruning (in-plane only with ``per_slice``).
    """
    from .topological import _compact_ids, _thin_values

    labels = values.dtype != bool
    if spacing is not None and per_slice:
        spacing = tuple(spacing)[1:]
    if (dev := resolve_device(device)).type == "cpu":  # (an empty image is no special case here)
        if per_slice:
            return _slices_in_chunks(values, progress, spurs, spacing)
        # (a boolean mask is thinned as a mask; labels were checked non-negative by skeletonize)
        out = _thin_values(values, batch=False, progress=progress, checked=True, spurs=spurs, spacing=spacing)
    elif not values.any():
        out = np.zeros_like(values)
    else:
        batch = values if per_slice else values[None]
        ids = None
        if labels:
            batch, ids = _compact_ids(batch, np.iinfo(np.int32).max)
            batch = batch.astype(np.int32, copy=False)
        out = _thin_on_device(batch, dev, labels=labels, progress=progress, spacing=spacing)
        if spurs == "prune":
            from ._spurs import prune_spurs

            out = prune_spurs(out, batch, spacing=spacing, batch=True)
        out = out.reshape(values.shape)
        if ids is None:
            out = out.astype(values.dtype, copy=False)
        else:  # back to the caller's ids, on the (few) skeleton voxels only
            where = np.flatnonzero(out)
            compact, out = out, np.zeros(values.shape, values.dtype)
            out.flat[where] = ids[compact.flat[where]]
    if progress is not None:
        progress(1, 1)
    return out


#: Voxels per pass when the topological thinning runs slice by slice (progress and Cancel between passes).
_SLICE_CHUNK_VOXELS = 1 << 22


def _slices_in_chunks(stack: np.ndarray, progress, spurs: str = "prune", spacing=None) -> np.ndarray:
    """:func:`topological_skeleton_slices` on groups of slices, reporting progress after each."""
    per = max(1, _SLICE_CHUNK_VOXELS // max(1, stack[0].size))
    starts = range(0, stack.shape[0], per)
    prog = _Progress(progress, len(starts))
    out = np.empty_like(stack)
    for start in starts:
        out[start : start + per] = topological_skeleton_slices(stack[start : start + per], spurs=spurs, spacing=spacing)
        prog.step()
    return out
