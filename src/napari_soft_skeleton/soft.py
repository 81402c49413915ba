"""The clDice soft skeleton on torch tensors, fast and exact.

The formula (Shit et al., CVPR 2021)::

    erode(x)  = min over the cross (3×1×1, 1×3×1, 1×1×3 min-pools)
    dilate(x) = 3×3×3 max-pool
    open(x)   = dilate(erode(x))
    skel = relu(img - open(img))
    repeat iterations times:
        img = erode(img); delta = relu(img - open(img))
        skel = skel + relu(delta - skel * delta)

is evaluated here without its redundant work, giving the same values:

* the erosion inside ``open(img_k)`` is ``img_{k+1}``, so each level is eroded
  once, not twice;
* the dilation is separable and every update runs in place on a few buffers;
* once the eroded image is constant, every later ``delta`` is exactly zero, so
  the loop stops early (the result is unchanged);
* the work is cropped to the box where the input differs from its minimum,
  with a one-voxel margin, outside of which the result is exactly zero;
* a binary 0/1 input takes a boolean path: with ``D`` the city-block distance
  to the background, the skeleton is the set of voxels with ``1 <= D <= K+1``
  that are maxima of ``D`` over their 3×3(×3) box — ``K+2`` boolean erosions
  and one dilation of a small integer image;
* the backward pass recomputes the forward levels and routes the gradient
  itself, storing no max-pool indices, and reproduces autograd's choices at
  ties (see :mod:`napari_soft_skeleton._morphology`).
"""

from __future__ import annotations

import numpy as np
import torch

from . import _morphology as morph
from ._binary import sparse_binary_soft_skeleton

__all__ = ["soft_skeleton", "soft_skeleton_steps", "soft_skeleton_levels", "check_soft_input"]


def check_soft_input(img, iterations, *, name: str = "soft_skeleton") -> None:
    """Raise ``ValueError`` unless ``img``/``iterations`` are valid input of ``name``."""
    if not isinstance(img, torch.Tensor):
        raise ValueError(
            f"{name} expects a torch.Tensor of shape (N, C, H, W) or (N, C, D, H, W); "
            f"got {type(img).__name__}"
        )
    if img.ndim not in (4, 5):
        raise ValueError(
            f"{name} expects a 4D (N, C, H, W) or 5D (N, C, D, H, W) tensor; "
            f"got {img.ndim}D with shape {tuple(img.shape)}"
        )
    if not img.is_floating_point():
        raise ValueError(
            f"{name} expects a floating-point tensor (float16, bfloat16, float32 or "
            f"float64); got {img.dtype}"
        )
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise ValueError(f"iterations must be a non-negative integer; got {iterations!r}")


def soft_skeleton(img: torch.Tensor, iterations: int = 10) -> torch.Tensor:
    """Soft skeleton (clDice) of a batch of 2-D or 3-D images.

    Parameters
    ----------
    img : torch.Tensor
        ``(N, C, H, W)`` for 2-D or ``(N, C, D, H, W)`` for 3-D images, any
        floating-point dtype, on any device.  Typically probabilities in
        ``[0, 1]``, but any real values are accepted.  Not modified.
    iterations : int, optional
        Number of erosion steps (``K`` in the formula); 0 gives the
        morphological top-hat ``relu(img - open(img))``.

    Returns
    -------
    torch.Tensor
        The soft skeleton, same shape, dtype and device as ``img``.  If ``img``
        requires grad, the result is differentiable with the same gradient as
        autograd through the max-pool formula.

    Raises
    ------
    ValueError
        If ``img`` is not a 4-D or 5-D floating-point tensor, or ``iterations``
        is not a non-negative integer.

    See Also
    --------
    napari_soft_skeleton.skeletonize : NumPy front end (labels, per-slice, Lee).

    References
    ----------
    .. [1] Shit, S. et al. "clDice - a Novel Topology-Preserving Loss Function
       for Tubular Structure Segmentation", CVPR 2021.

    Examples
    --------
    >>> import torch
    >>> from napari_soft_skeleton import soft_skeleton
    >>> x = torch.zeros(1, 1, 9, 9)
    >>> x[0, 0, 3:6, 1:8] = 1.0
    >>> soft_skeleton(x, 3)[0, 0, 4, 1:8]
    tensor([1., 1., 1., 1., 1., 1., 1.])
    """
    check_soft_input(img, iterations)
    if img.requires_grad and torch.is_grad_enabled():
        return _SoftSkeleton.apply(img, iterations)
    with torch.no_grad():
        return soft_skeleton_levels(img, iterations)[0]


def soft_skeleton_levels(
    img: torch.Tensor, iterations: int, callback=None
) -> tuple[torch.Tensor, int]:
    """Forward pass without autograd; also returns the iterations that mattered.

    The second value is the number of loop iterations after which nothing more
    could be added (the eroded image had become constant), capped at
    ``iterations``; running with any ``iterations`` at least that large gives
    the same result.  ``callback(k, iterations)``, if given, is called after
    each loop iteration of the dense path; an exception raised in it aborts.
    """
    shape = img.shape
    with torch.no_grad():
        x = img.detach().reshape((-1,) + tuple(shape[2:]))
        if x.numel() == 0:
            return torch.zeros_like(img), 0
        out, used = _crop_and_run(x, iterations, callback)
    return out.reshape(shape), used


def soft_skeleton_steps(img: torch.Tensor, iterations: int):
    """Walk through the soft skeleton step by step (no autograd).

    Yields ``(k, eroded, skeleton)`` for ``k = 0 .. iterations``: the image
    eroded ``k`` times (``img_k``) and the skeleton accumulated so far, which
    after the last step equals :func:`soft_skeleton`.  Each yielded tensor is
    new (later steps do not overwrite it), so this costs more memory than
    :func:`soft_skeleton`; it is meant for looking at what each iteration
    does (the napari iteration explorer), not for training.
    """
    check_soft_input(img, iterations)
    shape = img.shape
    with torch.no_grad():
        level = img.detach().reshape((-1,) + tuple(shape[2:])).clone()  # step 0 is a copy
        nxt = morph.erode(level)
        skel = torch.relu(level - morph.dilate(nxt))
        yield 0, level.reshape(shape), skel.reshape(shape)
        for k in range(1, iterations + 1):
            level, nxt = nxt, morph.erode(nxt)
            delta = torch.relu(level - morph.dilate(nxt))
            skel = skel + torch.relu(delta - skel * delta)
            yield k, level.reshape(shape), skel.reshape(shape)


# --------------------------------------------------------------------------
# forward
# --------------------------------------------------------------------------


def _box_of(nz) -> list[slice] | None:
    """Spatial bounding box of a ``(B, *spatial)`` boolean array, with a 1-voxel margin.

    Works on a NumPy array or a torch tensor.
    """
    spatial = tuple(nz.shape[1:])
    box = []
    for d in range(1, nz.ndim):
        others = tuple(i for i in range(nz.ndim) if i != d)
        proj = nz.any(axis=others) if isinstance(nz, np.ndarray) else nz.amax(dim=others)
        idx = np.flatnonzero(np.asarray(proj.cpu() if isinstance(proj, torch.Tensor) else proj))
        if idx.size == 0:
            return None
        lo, hi = int(idx[0]), int(idx[-1]) + 1
        box.append(slice(max(lo - 1, 0), min(hi + 1, spatial[d - 1])))
    return box


_NUMPY_FLOATS = (torch.float16, torch.float32, torch.float64)


def _crop_and_run(x: torch.Tensor, iterations: int, callback=None) -> tuple[torch.Tensor, int]:
    """Dispatch a ``(B, *spatial)`` tensor to the binary or the cropped dense path.

    Outside the box where the input differs from its minimum ``b`` (plus one
    voxel), every level stays ``b`` and every ``delta`` is 0, and inside it the
    margin voxels see exactly what they would in the full volume, so cropping
    changes no value.
    """
    on_host = x.device.type == "cpu" and x.dtype in _NUMPY_FLOATS
    if on_host:  # NumPy's reductions are cheaper than torch's on the CPU
        a = x.numpy()
        background = a.min()
        nz = a != background
        binary = background == 0 and bool(np.all(a[nz] == 1))
    else:
        background = x.min()
        nz = x != background
        binary = bool(background == 0) and bool(torch.all(x[nz] == 1))
    if binary:
        skel, used = _binary_forward(torch.from_numpy(nz) if on_host else nz, iterations)
        return skel.to(x.dtype), used
    out = torch.zeros_like(x)
    box = _box_of(nz)
    if box is None:  # constant input: every top-hat is zero
        return out, 0
    idx = (slice(None), *box)
    skel, used = _dense_forward(x[idx], iterations, callback)
    out[idx] = skel
    return out, used


def _is_constant(x: torch.Tensor) -> bool:
    flat = x.reshape(x.shape[0], -1)
    # (amin and amax separately: much faster than aminmax on the CPU)
    return bool(torch.equal(flat.amin(dim=1), flat.amax(dim=1)))


def _dense_forward(x: torch.Tensor, iterations: int, callback=None) -> tuple[torch.Tensor, int]:
    """The formula on a (B, *spatial) tensor, one erosion per level, in place."""
    level = x  # img_k (never written: may be the caller's tensor)
    nxt = morph.erode(level)  # img_{k+1}
    work = torch.empty_like(x)
    skel = torch.empty_like(x)
    morph.dilate(nxt, out=skel, tmp=work)  # open(img_0)
    torch.sub(level, skel, out=skel)
    torch.relu_(skel)  # skel = relu(img_0 - open(img_0))
    spare = torch.empty_like(x)
    delta = torch.empty_like(x)
    used = 0
    for k in range(1, iterations + 1):
        if _is_constant(nxt):
            break
        used = k
        old = level
        level, nxt = nxt, morph.erode(nxt, out=spare)
        spare = old if old is not x else torch.empty_like(x)
        morph.dilate(nxt, out=delta, tmp=work)  # open(img_k)
        torch.sub(level, delta, out=delta)
        torch.relu_(delta)
        torch.mul(skel, delta, out=work)
        torch.sub(delta, work, out=work)
        torch.relu_(work)
        skel.add_(work)
        if callback is not None:
            callback(k, iterations)
    return skel, used


#: Above this foreground fraction the dense boolean path beats the sparse one.
SPARSE_FRACTION = 0.2


def _binary_forward(x: torch.Tensor, iterations: int) -> tuple[torch.Tensor, int]:
    """Soft skeleton of a 0/1 (or boolean) tensor ``(B, *spatial)`` as booleans.

    On the CPU, sparse masks go through :func:`sparse_binary_soft_skeleton`
    (work proportional to the foreground); everything else takes the dense
    boolean path below.  Both give exactly the formula's values.
    """
    flat = x.reshape(x.shape[0], -1)
    full = flat.all(dim=1) if x.dtype == torch.bool else (flat == 1).all(dim=1)
    if bool(full.any()):  # an all-foreground image never erodes: its skeleton is empty
        mask = x.bool()
        x = mask.clone() if mask is x else mask  # never write into the caller's tensor
        x[full] = False
    if x.device.type == "cpu":
        mask = x.numpy() if x.dtype == torch.bool else x.bool().numpy()
        if np.count_nonzero(mask) <= SPARSE_FRACTION * mask.size:
            skel, used = sparse_binary_soft_skeleton(mask, iterations)
            return torch.from_numpy(skel), used
    return _dense_binary_forward(x, iterations)


def _dense_binary_forward(x: torch.Tensor, iterations: int) -> tuple[torch.Tensor, int]:
    """Exact soft skeleton of a 0/1 tensor via capped city-block distances.

    ``img_k = {D > k}`` where ``D`` is the city-block distance to the nearest
    in-volume zero (iterated cross erosion with out-of-volume neighbours
    ignored).  ``delta_k = img_k & ~dilate(img_{k+1})`` contains a voxel iff
    ``D > k`` and no voxel of its box has ``D > k+1``; the union over
    ``k = 0..K`` is ``{1 <= D <= K+1, D == max of D over the box}``.
    """
    cap = iterations + 2
    count_dtype = torch.uint8 if cap <= 255 else torch.int32
    level = x.bool()
    if level is x:  # the loop below swaps buffers and writes into ``level``
        level = level.clone()
    dist = level.to(count_dtype)
    buf = torch.empty_like(level)
    for _ in range(1, cap):
        nxt = morph.binary_erode(level, out=buf)
        if not bool(nxt.any()):
            break
        dist.add_(nxt)
        buf, level = level, nxt
    boxmax = morph.dilate(dist)
    skel = (dist == boxmax) & (dist > 0) & (dist < cap)
    # img_k is non-constant (non-empty, not full) exactly for k < max(D).
    used = min(max(int(dist.max()) - 1, 0), iterations)
    return skel, used


# --------------------------------------------------------------------------
# backward
# --------------------------------------------------------------------------


class _SoftSkeleton(torch.autograd.Function):
    @staticmethod
    def forward(ctx, img, iterations):
        out, used = soft_skeleton_levels(img, iterations)
        ctx.save_for_backward(img)
        ctx.used = used
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (img,) = ctx.saved_tensors
        shape = img.shape
        x = img.detach().reshape((-1,) + tuple(shape[2:]))
        g = grad_out.reshape(x.shape)
        with torch.no_grad():
            grad = _dense_backward(x, ctx.used, g)
        return grad.reshape(shape), None


def _dense_backward(x: torch.Tensor, used: int, grad: torch.Tensor) -> torch.Tensor:
    """Gradient of the formula w.r.t. ``x`` for ``used`` loop iterations.

    Recomputes the erosion levels ``img_0..img_{used+1}`` and the running
    skeletons, then walks back through the loop.  Steps after ``used`` added
    exactly nothing and pass the gradient through unchanged.
    """
    levels = [x]
    for _ in range(used + 1):
        levels.append(morph.erode(levels[-1]))
    skels = []  # skels[k] = skel after step k, for k < used
    for k in range(used):
        delta = torch.relu(levels[k] - morph.dilate(levels[k + 1]))
        if k == 0:
            skels.append(delta)
        else:
            s = skels[-1]
            skels.append(s + torch.relu(delta - s * delta))
    g_skel = grad
    g_next = None  # gradient w.r.t. levels[k + 1], complete once step k is processed
    for k in range(used, -1, -1):
        stages = morph.dilate_stages(levels[k + 1])
        diff = levels[k] - stages[-1]
        delta = torch.relu(diff)
        if k > 0:
            s = skels[k - 1]
            u = delta - s * delta
            g_u = torch.where(u > 0, g_skel, g_skel.new_zeros(()))
            neg = -g_u
            g_delta = g_u + neg * s
            g_skel = g_skel + neg * delta
        else:
            g_delta = g_skel
        g_diff = torch.where(diff > 0, g_delta, g_delta.new_zeros(()))
        g_open = morph.dilate_backward(stages, -g_diff)
        g_next = g_open if g_next is None else g_next.add_(g_open)
        g_level = morph.erode_backward(levels[k], g_next)
        g_next = g_level.add_(g_diff)
    return g_next
