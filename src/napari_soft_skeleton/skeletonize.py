"""NumPy front end: soft and reference skeletons of masks, maps and label images."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from numbers import Integral, Real

import numpy as np
import scipy.ndimage as ndi
import torch

from .soft import soft_skeleton_levels
from .topological import _thin_torch, topological_skeleton_labels, topological_skeleton_slices

__all__ = ["skeletonize", "METHODS", "resolve_device", "available_devices"]

#: Methods accepted by :func:`skeletonize`.
METHODS = ("soft", "topological", "lee", "zhang")

ProgressCallback = Callable[[int, int], None]


class _Progress:
    """Counts units of work and reports them to an optional callback."""

    def __init__(self, callback: ProgressCallback | None, total: int):
        self.callback = callback
        self.total = max(int(total), 1)
        self.done = 0

    def step(self, n: int = 1) -> None:
        self.done = min(self.done + n, self.total)
        if self.callback is not None:
            self.callback(self.done, self.total)


# --------------------------------------------------------------------------
# devices
# --------------------------------------------------------------------------


def available_devices() -> list[str]:
    """Torch devices usable on this machine, best first (always ends with ``"cpu"``)."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    found.append("cpu")
    return found


def resolve_device(device) -> torch.device:
    """``None``/``"auto"`` → the best available device; otherwise check it exists."""
    if device is None or device == "auto":
        return torch.device(available_devices()[0])
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda' or 'mps'; got {device!r}"
        ) from err
    if dev.type not in available_devices():
        raise ValueError(
            f"device {str(dev)!r} is not available on this machine; "
            f"available: {', '.join(available_devices())}"
        )
    return dev


def _is_out_of_memory(err: BaseException) -> bool:
    oom = getattr(torch.cuda, "OutOfMemoryError", ())
    if oom and isinstance(err, oom):
        return True
    return isinstance(err, RuntimeError) and "out of memory" in str(err).lower()


# --------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------


def _check_array(data) -> np.ndarray:
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu().numpy()
    arr = np.asarray(data)
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"expected a 2D (Y, X) or 3D (Z, Y, X) array; got {arr.ndim}D with shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"expected a non-empty array; got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            "expected a boolean mask, an integer label image or a float probability map; "
            f"got dtype {arr.dtype}"
        )
    return arr


def _check_options(method, iterations, threshold, spacing, ndim):
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    if not (iterations == "auto" or (isinstance(iterations, Integral) and not isinstance(iterations, bool) and iterations >= 0)):
        raise ValueError(f"iterations must be a non-negative integer or 'auto'; got {iterations!r}")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, Real) or not np.isfinite(threshold)
    ):
        raise ValueError(f"threshold must be a finite number or None; got {threshold!r}")
    if spacing is not None:
        try:
            spacing = tuple(float(s) for s in spacing)
        except TypeError as err:
            raise ValueError(f"spacing must be a sequence of {ndim} positive numbers; got {spacing!r}") from err
        if len(spacing) != ndim or not all(np.isfinite(s) and s > 0 for s in spacing):
            raise ValueError(f"spacing must be {ndim} positive numbers, one per axis; got {spacing!r}")
    return spacing


def _as_probability(arr: np.ndarray, normalize: bool) -> np.ndarray:
    """Float input as a map in [0, 1] (float32 unless it is float64)."""
    dtype = np.float64 if arr.dtype == np.float64 else np.float32
    values = arr.astype(dtype, copy=False)
    if not np.all(np.isfinite(values)):
        raise ValueError("expected finite values; the image contains NaN or infinity")
    lo, hi = float(values.min()), float(values.max())
    if normalize:
        if hi > lo:
            return (values - lo) / (hi - lo)
        return np.zeros_like(values)
    if lo < 0 or hi > 1:
        raise ValueError(
            f"float input must be a probability map with values in [0, 1]; got values in "
            f"[{lo:g}, {hi:g}] (pass normalize=True to rescale an intensity image)"
        )
    return values


# --------------------------------------------------------------------------
# the public function
# --------------------------------------------------------------------------


def skeletonize(
    data,
    method: str = "soft",
    *,
    iterations: int | str = 10,
    threshold: float | None = 0.5,
    per_slice: bool = False,
    spacing=None,
    device=None,
    normalize: bool = False,
    return_iterations: bool = False,
    progress: ProgressCallback | None = None,
):
    """Skeletonize a 2-D or 3-D mask, probability map or label image.

    Parameters
    ----------
    data : array_like
        2-D ``(Y, X)`` or 3-D ``(Z, Y, X)`` array, never modified:

        * boolean mask;
        * integer label image (0 is background): each label is skeletonized
          on its own, so touching objects never merge, and the output carries
          each voxel's label id — exactly the skeleton of ``data == i``
          computed alone;
        * float probability map with values in ``[0, 1]`` (or any float image
          with ``normalize=True``).
    method : {'soft', 'topological', 'lee', 'zhang'}, optional
        ``'soft'``: the clDice soft skeleton (:func:`soft_skeleton`).
        ``'topological'``: our topology-preserving thinning
        (:func:`napari_soft_skeleton.topological.topological_skeleton_mask`):
        same components, loops and cavities as the mask, one voxel thin, small
        objects kept.
        ``'lee'``: scikit-image's topology-preserving thinning (Lee et al.,
        2-D and 3-D).  ``'zhang'``: scikit-image's 2-D thinning (3-D input
        needs ``per_slice=True``).
    iterations : int or 'auto', optional
        Erosion steps of the soft skeleton.  ``'auto'`` runs until the result
        stops changing (the eroded image has become constant; for masks,
        ``max(D) - 1`` with ``D`` the city-block distance to the background).
        Ignored by the reference methods.
    threshold : float or None, optional
        The soft map is binarized as ``map > threshold``; ``None`` returns the
        soft map itself (soft method, non-label input).  For the reference
        methods a float map is binarized the same way before thinning.
    per_slice : bool, optional
        Skeletonize each z-slice of a 3-D array in 2-D (batched).  No effect
        on 2-D input.
    spacing : sequence of float, optional
        Voxel spacing (z, y, x).  The skeletons are computed on the voxel grid;
        the spacing is checked, and strongly anisotropic volumes (ratio ≥ 3)
        processed in 3-D get a warning suggesting ``per_slice=True``.
    device : str or torch.device, optional
        Torch device for the soft and topological skeletons: ``None``/``'auto'``
        picks CUDA, then MPS, then CPU (the result is the same on every
        device).  If the GPU runs out of memory the work is redone on the CPU
        with a warning.  The scikit-image methods always run on the CPU.
    normalize : bool, optional
        Rescale a float image linearly to ``[0, 1]`` (min to 0, max to 1)
        instead of rejecting values outside that range.
    return_iterations : bool, optional
        Also return the number of iterations that mattered (``None`` for the
        reference methods).
    progress : callable, optional
        Called as ``progress(done, total)`` as the work proceeds (per label,
        slice or iteration).  An exception raised inside it aborts the run.

    Returns
    -------
    skeleton : ndarray
        Same shape as ``data``: boolean, or the label ids (input dtype) for a
        label image, or the float soft map when ``threshold is None``.
    iterations_used : int or None
        Only with ``return_iterations=True``.

    Raises
    ------
    ValueError
        For input that is not 2-D/3-D, empty, of an unsupported dtype, a float
        map outside ``[0, 1]``, negative labels, or invalid options.

    See Also
    --------
    soft_skeleton : the torch implementation on ``(N, C, ...)`` tensors.
    skimage.morphology.skeletonize : the reference method.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_soft_skeleton import skeletonize
    >>> mask = np.zeros((9, 11), bool)
    >>> mask[3:6, 1:10] = True
    >>> skeletonize(mask, iterations=2)[4].astype(int)
    array([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0])
    """
    arr = _check_array(data)
    spacing = _check_options(method, iterations, threshold, spacing, arr.ndim)
    if method == "zhang" and arr.ndim == 3 and not per_slice:
        raise ValueError("method='zhang' is 2-D only; use per_slice=True for a 3-D volume")
    per_slice = bool(per_slice) and arr.ndim == 3
    if spacing is not None and arr.ndim == 3 and not per_slice:
        if max(spacing) / min(spacing) >= 3:
            warnings.warn(
                f"voxel spacing {spacing} is strongly anisotropic; the skeleton is computed on "
                "the voxel grid (consider per_slice=True)",
                UserWarning,
                stacklevel=2,
            )
    if arr.dtype.kind in "iu":
        if arr.dtype.kind == "i" and arr.min() < 0:
            raise ValueError("label images must be non-negative integers (0 is background)")
        result, used = _skeletonize_labels(arr, method, iterations, per_slice, device, progress)
    else:
        if arr.dtype == bool:
            image = arr
        else:
            image = _as_probability(arr, normalize)
            if method != "soft":
                if threshold is None:
                    raise ValueError(
                        f"method={method!r} needs a threshold to binarize a float map; got None"
                    )
                image = image > threshold
        if image.dtype == bool:
            skel, used = _skeletonize_mask(image, method, iterations, per_slice, device, progress)
            result = skel
            if method == "soft" and threshold is None:
                result = skel.astype(np.float32)
            elif method == "soft" and not 0 <= threshold < 1:  # the 0/1 map > threshold
                result = np.full(skel.shape, threshold < 0)
        else:
            soft_map, used = _soft_map(image, iterations, per_slice, device, progress)
            result = soft_map if threshold is None else soft_map > threshold
    return (result, used) if return_iterations else result


# --------------------------------------------------------------------------
# dispatch
# --------------------------------------------------------------------------


def _auto_cap(shape) -> int:
    """An iteration count after which any image of ``shape`` is constant."""
    return int(sum(s - 1 for s in shape)) + 1


def _run_soft(batch: np.ndarray, iterations, device, progress: _Progress | None):
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
    try:
        out, used = soft_skeleton_levels(tensor.to(dev), k, callback=callback)
    except Exception as err:  # noqa: BLE001 - re-raised unless it is a GPU OOM
        if dev.type == "cpu" or not _is_out_of_memory(err):
            raise
        warnings.warn(
            f"out of memory on {dev}; computing the soft skeleton on the CPU instead",
            RuntimeWarning,
            stacklevel=3,
        )
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        out, used = soft_skeleton_levels(tensor, k, callback=callback)
    out = out[:, 0].cpu().numpy()
    return (out.astype(bool) if batch.dtype == bool else out), used


def _soft_map(image: np.ndarray, iterations, per_slice, device, progress):
    batch = image if per_slice else image[None]
    k = _auto_cap(batch.shape[1:]) if iterations == "auto" else int(iterations)
    prog = _Progress(progress, k)
    out, used = _run_soft(batch, iterations, device, prog)
    if progress is not None:
        progress(prog.total, prog.total)
    return out.reshape(image.shape), used


def _skeletonize_mask(mask: np.ndarray, method, iterations, per_slice, device, progress, warn=True):
    if method == "soft":
        batch = mask if per_slice else mask[None]
        skel, used = _run_soft(batch, iterations, device, None)
        if progress is not None:
            progress(1, 1)
        return skel.reshape(mask.shape), used
    if method == "topological":
        return _topological(mask, per_slice, device, progress), None
    slices = list(mask) if per_slice else [mask]
    prog = _Progress(progress, len(slices))
    out = np.zeros(mask.shape, bool)
    views = list(out) if per_slice else [out]
    for src, dst in zip(slices, views):
        dst[...] = _thin(src, method)
        prog.step()
    if warn and method in ("lee", "zhang"):
        dropped = [i for i, (src, dst) in enumerate(zip(slices, views)) if src.any() and not dst.any()]
        if dropped and not per_slice:
            _warn_dropped(method, f"(mask of {int(mask.sum())} voxels, bounding box {mask.shape})")
        elif dropped:
            kept = sum(bool(src.any()) for src in slices)
            _warn_dropped(method, f"in {len(dropped)} of {kept} non-empty slices ({_some('slices', dropped)})")
    return out, None


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


def _thin_on_device(batch: np.ndarray, dev: torch.device, labels: bool = False, progress=None) -> np.ndarray:
    """Topological thinning of a batch ``(B, *spatial)`` of masks (or int32 label images) on a GPU.

    NumPy in and out; the same result as :func:`topological_skeleton_mask`
    (:func:`topological_skeleton_labels`) per image.  If the device runs out
    of memory the work is redone on the CPU with a warning.
    """
    try:
        out = _thin_torch(torch.from_numpy(np.ascontiguousarray(batch)).to(dev), labels=labels, progress=progress)
        return out.cpu().numpy()
    except Exception as err:  # noqa: BLE001 - re-raised unless it is a GPU OOM
        if not _is_out_of_memory(err):
            raise
        warnings.warn(
            f"out of memory on {dev}; computing the topological skeleton on the CPU instead",
            RuntimeWarning,
            stacklevel=4,
        )
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        return np.stack([topological_skeleton_labels(m, progress=progress) for m in batch])  # (masks too)


def _thin(mask: np.ndarray, method: str) -> np.ndarray:
    """A scikit-image thinning method on one 2-D/3-D mask."""
    if not mask.any():
        return np.zeros(mask.shape, bool)
    from skimage.morphology import skeletonize as sk_skeletonize

    if not mask.flags.writeable:  # scikit-image's Zhang thinning needs a writable buffer
        mask = mask.copy()
    return sk_skeletonize(mask, method=method).astype(bool, copy=False)


def _topological(values: np.ndarray, per_slice, device, progress) -> np.ndarray:
    """Our thinning of a mask, or of every label of a label image (ids below 2**31) at once.

    On a GPU the whole batch (the volume, or all its slices) in one call; on
    the CPU slice stacks in chunks and volumes with progress after each sweep.
    """
    labels = values.dtype != bool
    if not values.any():
        out = np.zeros_like(values)
    elif (dev := resolve_device(device)).type != "cpu":
        batch = values if per_slice else values[None]
        batch = batch.astype(np.int32, copy=False) if labels else batch
        out = _thin_on_device(batch, dev, labels=labels, progress=progress)
        out = out.reshape(values.shape).astype(values.dtype, copy=False)
    elif per_slice:
        return _slices_in_chunks(values, progress)
    else:
        out = topological_skeleton_labels(values, progress=progress)  # (a boolean mask: thinned as a mask)
    if progress is not None:
        progress(1, 1)
    return out


#: Voxels per pass when the topological thinning runs slice by slice (progress and Cancel between passes).
_SLICE_CHUNK_VOXELS = 1 << 22


def _slices_in_chunks(stack: np.ndarray, progress) -> np.ndarray:
    """:func:`topological_skeleton_slices` on groups of slices, reporting progress after each."""
    per = max(1, _SLICE_CHUNK_VOXELS // max(1, stack[0].size))
    starts = range(0, stack.shape[0], per)
    prog = _Progress(progress, len(starts))
    out = np.empty_like(stack)
    for start in starts:
        out[start : start + per] = topological_skeleton_slices(stack[start : start + per])
        prog.step()
    return out


def _skeletonize_labels(labels: np.ndarray, method, iterations, per_slice, device, progress):
    """Each label on its own, cropped to its bounding box plus a one-voxel margin.

    Cropping changes nothing: outside the box the mask is empty, every method
    sees the same zero margin, and the box starts at even coordinates so the
    topological thinning's subfields are those of the whole volume.
    """
    if labels.dtype.itemsize > 4 or labels.max() > np.iinfo(np.int32).max // 2:
        # find_objects lists every id up to the largest: compact sparse ids first
        ids, compact = np.unique(labels, return_inverse=True)
        if ids[0] != 0:  # keep 0 as the background of the compact image
            ids = np.concatenate([np.zeros(1, ids.dtype), ids])
            compact = compact + 1
        out, used = _skeletonize_labels(
            compact.reshape(labels.shape).astype(np.int32), method, iterations, per_slice, device, progress
        )
        return ids[out].astype(labels.dtype), used
    if method == "topological":
        return _topological(labels, per_slice, device, progress), None
    out = np.zeros_like(labels)
    boxes = ndi.find_objects(labels)
    present = [(i + 1, box) for i, box in enumerate(boxes) if box is not None]
    prog = _Progress(progress, len(present))
    used_all = 0 if method == "soft" else None
    dropped = []
    for label, box in present:
        # (even start: the topological thinning's subfields depend on coordinate parity)
        grown = tuple(
            slice(max(s.start - 1, 0) // 2 * 2, min(s.stop + 1, n)) for s, n in zip(box, labels.shape)
        )
        mask = labels[grown] == label
        skel, used = _skeletonize_mask(mask, method, iterations, per_slice, device, None, warn=False)
        if method in ("lee", "zhang") and not skel.any():
            dropped.append(label)
        out[grown][skel] = label
        if used is not None:
            used_all = max(used_all, used)
        prog.step()
    if dropped:
        _warn_dropped(method, f"for {len(dropped)} of {len(present)} labels ({_some('ids', dropped)})")
    return out, used_all
