"""NumPy front end: soft and reference skeletons of masks, maps and label images.

This module checks the input and dispatches: the soft skeleton to
:mod:`._front_soft`, the thinning methods to :mod:`._front_thin`, label images
label by label (or, for the topological method, all labels at once).
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.ndimage as ndi
import torch

from ._devices import _is_out_of_memory, available_devices, resolve_device  # noqa: F401  (re-exported)
from ._front_soft import _run_soft, _soft_map, _warn_if_intensity
from ._front_thin import _some, _thin, _topological, _warn_dropped
from ._progress import ProgressCallback, _Progress
from ._spacing import check_spacing

__all__ = ["skeletonize", "METHODS", "resolve_device", "available_devices"]

#: Methods accepted by :func:`skeletonize`.
METHODS = ("soft", "topological", "lee", "zhang")


# --------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------


def _check_array(data) -> np.ndarray:
    if isinstance(data, torch.Tensor):
        if data.device.type == "meta" or data.layout != torch.strided:
            what = "on the 'meta' device (no data)" if data.device.type == "meta" else f"with layout {data.layout}"
            raise ValueError(f"expected an array or a dense torch tensor with data; got a tensor {what}")
        if data.is_complex():
            raise ValueError(f"expected a boolean mask, an integer label image or a float map; got dtype {data.dtype}")
        data = data.detach().cpu()
        data = (data.float() if data.dtype == torch.bfloat16 else data).numpy()
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


def _check_options(method, iterations, threshold, spacing, ndim, auto_threshold=None, progress=None):
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    if not (iterations == "auto" or (isinstance(iterations, Integral) and not isinstance(iterations, bool) and iterations >= 0)):
        raise ValueError(f"iterations must be a non-negative integer or 'auto'; got {iterations!r}")
    for name, value in (("threshold", threshold), ("auto_threshold", auto_threshold)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value <= 1
        ):
            raise ValueError(f"{name} must be a number in [0, 1] or None; got {value!r}")
    if progress is not None and not callable(progress):
        raise ValueError(f"progress must be a callable progress(done, total) or None; got {type(progress).__name__}")
    return check_spacing(spacing, ndim)


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
    auto_threshold: float | None = None,
    fill_holes: bool = False,
    spurs: str = "prune",
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

        A ``dask.array.Array`` or ``zarr.Array`` (a volume bigger than
        memory) gives a dask array, equal to the in-memory result bit for
        bit (see :mod:`napari_soft_skeleton._chunked`): the soft skeleton with
        a number of iterations, lazily, each chunk with a halo of
        ``iterations + 2`` voxels (``'auto'``: a first pass over the chunks
        finds the count the in-memory call stops at, :mod:`._chunked_auto`);
        the topological one (``spurs="keep"``, on the voxel grid) one exact
        sweep per pass with a 54-voxel halo, the passes kept in memory.
        Other methods and options are refused with one line; ``progress``
        is called once per topological pass.
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
        stops changing.  For masks: until the eroded image is empty
        (``max(D) - 1`` with ``D`` the city-block distance to the background).
        For float maps: until the map thresholded at ``threshold`` (or
        ``auto_threshold``) cannot change any more — an exact bound: what
        later steps can add to a voxel is at most its eroded value minus the
        image's minimum — or at most ``2 (depth + 1)`` iterations, ``depth``
        being the thickest structure above the threshold (its largest
        city-block distance to the rest), with a warning if that cap was
        reached first (it is on intensity images, whose texture keeps
        feeding the skeleton; on probability maps the exact rule stops it).
        Ignored by the reference methods.
    threshold : float in [0, 1] or None, optional
        The soft map is binarized as ``map > threshold``; ``None`` returns the
        soft map itself (soft method, non-label input).  For the reference
        methods a float map is binarized the same way before thinning.
    per_slice : bool, optional
        Skeletonize each z-slice of a 3-D array in 2-D (batched).  No effect
        on 2-D input.
    spacing : sequence of float, optional
        Voxel spacing (z, y, x), in any one length unit.  The topological
        method thins in physical space: on anisotropic voxels its deletion
        order follows the Euclidean distance to the background in these units
        (see :mod:`napari_soft_skeleton._depth`), so the skeleton is centred
        in space, not in voxels, and its spur pruning measures lengths and
        radii in these units (the in-plane ones with ``per_slice=True``).
        Equal spacings change nothing.  The soft skeleton (the clDice
        formula) and scikit-image's methods work on the voxel grid whatever
        the spacing; strongly anisotropic volumes (ratio ≥ 3) processed with
        them in 3-D get a warning.
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
    auto_threshold : float in [0, 1], optional
        With ``iterations='auto'`` and ``threshold=None`` on a float map: the
        threshold at which the returned map must be final (default 0.5), e.g.
        the one a viewer will binarize it at.
    spurs : {'prune', 'keep'}, optional
        ``method='topological'`` only.  ``'prune'`` (default): delete the
        spurs that surface bumps grow — a terminal branch whose length, less
        the drop of the distance to the background from its junction to its
        tip, is below the junction's distance to the background (it protrudes
        less than the local radius beyond the surface); each junction keeps two
        branches, branches leaving the image stay, topology is kept, the same
        on every device.  ``'keep'``: every end point the thinning met (the
        output before this option).
    fill_holes : bool, optional
        Fill every cavity first, so that a hollow object gives a tree (curves)
        rather than a closed surface around each cavity — one tree per neuron
        of a segmentation.  A cavity (in 2-D a hole) is what an object
        encloses: the voxels not connected to the outside of the image by a
        path of face-adjacent voxels (6-connected in 3-D, 4-connected in 2-D)
        outside the object.  Tunnels (the hole of a torus) are not cavities
        and stay loops.  In a label image every label is filled on its own,
        as if alone, and a voxel it encloses takes its id whatever it held,
        background or another label: a label lying wholly inside another's
        cavity (say a nucleus segmented apart from its cell) is absorbed and
        gets no skeleton of its own, as with kimimaro's ``fill_holes`` (a
        warning names such labels).  Labels that enclose each other are
        filled one after the other, the largest (most voxels, then the larger
        id) first, each in the image the previous ones left, so that no label
        of the filled image has a cavity.  With ``per_slice=True`` each
        slice's 2-D holes are filled; in a float map, the cavities of
        ``map > threshold`` (``auto_threshold`` or 0.5 when ``threshold`` is
        None) are set to 1.  ``data`` itself is never modified.

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
        map outside ``[0, 1]``, negative labels, or invalid options
        (a ``threshold`` outside ``[0, 1]``, a ``progress`` that is not
        callable, ...).

    Warns
    -----
    UserWarning
        When the soft skeleton is asked of what looks like a raw intensity
        image rather than a probability map (values rescaled by
        ``normalize``, or most voxels between 0.1 and 0.9); when ``'auto'``
        reached its cap; when scikit-image's thinning dropped whole objects;
        for strongly anisotropic spacing in 3-D; when ``fill_holes`` absorbed
        labels enclosed by other labels.

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
    from ._chunked import is_lazy

    if is_lazy(data):  # a dask or zarr array: a lazy result, chunk by chunk (see _chunked.py)
        from ._chunked import skeletonize_lazy

        _check_options(method, iterations, threshold, None, 2, auto_threshold, progress)
        return skeletonize_lazy(data, method, iterations=iterations, threshold=threshold, per_slice=per_slice,
                                device=device, normalize=normalize, return_iterations=return_iterations,
                                spurs=spurs, spacing=spacing, fill_holes=fill_holes, progress=progress,
                                auto_threshold=auto_threshold)
    arr = _check_array(data)
    spacing = _check_options(method, iterations, threshold, spacing, arr.ndim, auto_threshold, progress)
    if spurs not in ("prune", "keep"):
        raise ValueError(f"spurs must be 'prune' or 'keep'; got {spurs!r}")
    if method == "zhang" and arr.ndim == 3 and not per_slice:
        raise ValueError("method='zhang' is 2-D only; use per_slice=True for a 3-D volume")
    per_slice = bool(per_slice) and arr.ndim == 3
    if spacing is not None and arr.ndim == 3 and not per_slice and method != "topological":
        if max(spacing) / min(spacing) >= 3:
            warnings.warn(
                f"voxel spacing {spacing} is strongly anisotropic; method {method!r} works on "
                "the voxel grid (method 'topological' follows the spacing; or consider per_slice=True)",
                UserWarning,
                stacklevel=2,
            )
    if arr.dtype.kind in "iu":
        if arr.dtype.kind == "i" and arr.min() < 0:
            raise ValueError("label images must be non-negative integers (0 is background)")
        if fill_holes:
            arr = _filled(arr, per_slice)
        result, used = _skeletonize_labels(arr, method, iterations, per_slice, device, progress, spurs, spacing)
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
            if fill_holes:
                image = _filled(image, per_slice)
            skel, used = _skeletonize_mask(image, method, iterations, per_slice, device, progress, spurs=spurs,
                                           spacing=spacing)
            result = skel
            if method == "soft" and threshold is None:
                result = skel.astype(np.float32)
            elif method == "soft" and not 0 <= threshold < 1:  # the 0/1 map > threshold
                result = np.full(skel.shape, threshold < 0)
        else:
            if method == "soft":
                _warn_if_intensity(arr, image, normalize)
            at = threshold if threshold is not None else (0.5 if auto_threshold is None else auto_threshold)
            if fill_holes:
                image = _filled(image, per_slice, at)
            soft_map, used = _soft_map(image, iterations, per_slice, device, progress, at)
            result = soft_map if threshold is None else soft_map > threshold
    return (result, used) if return_iterations else result


def _filled(values: np.ndarray, per_slice: bool, threshold=None) -> np.ndarray:
    """``fill_holes=True``: :func:`._fill.fill_holes` (a new array, or ``values`` when nothing is
    enclosed), warning of the labels absorbed."""
    from ._fill import fill_holes, warn_absorbed

    filled, absorbed = fill_holes(values, per_slice=per_slice, threshold=threshold)
    warn_absorbed(absorbed, stacklevel=3)  # (the caller of skeletonize)
    return filled


def _skeletonize_mask(mask: np.ndarray, method, iterations, per_slice, device, progress, warn=True,
                      spurs="prune", spacing=None):
    if method == "soft":
        batch = mask if per_slice else mask[None]
        skel, used = _run_soft(batch, iterations, device, None)
        if progress is not None:
            progress(1, 1)
        return skel.reshape(mask.shape), used
    if method == "topological":
        return _topological(mask, per_slice, device, progress, spurs, spacing), None
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


def _skeletonize_labels(labels: np.ndarray, method, iterations, per_slice, device, progress, spurs="prune",
                        spacing=None):
    """Each label on its own, cropped to its bounding box plus a one-voxel margin.

    Cropping changes nothing: outside the box the mask is empty, every method
    sees the same zero margin, and the box starts at even coordinates so the
    topological thinning's subfields are those of the whole volume.
    """
    from .topological import _compact_ids

    if method == "topological":  # all labels at once, whatever their ids
        return _topological(labels, per_slice, device, progress, spurs, spacing), None
    # find_objects lists (and allocates for) every id up to the largest: large ids are renumbered
    compact, ids = _compact_ids(labels, 1 << 16)
    out = np.zeros_like(labels)
    boxes = ndi.find_objects(compact)
    present = [(i + 1, box) for i, box in enumerate(boxes) if box is not None]
    prog = _Progress(progress, len(present))
    used_all = 0 if method == "soft" else None
    dropped = []
    for label, box in present:
        # (even start: the topological thinning's subfields depend on coordinate parity)
        grown = tuple(
            slice(max(s.start - 1, 0) // 2 * 2, min(s.stop + 1, n)) for s, n in zip(box, labels.shape)
        )
        mask = compact[grown] == label
        label = label if ids is None else ids[label]  # (the caller's id)
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
