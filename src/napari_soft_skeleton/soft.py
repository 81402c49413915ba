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
  ties (see :mod:`napari_soft_skeleton._morphology`);
* only when that gradient must itself be differentiated (``create_graph=True``:
  gradient penalties, Hessian-vector products) does the backward pass run the
  formula with ``max_pool`` and ``torch.min`` under autograd instead, so that
  derivatives of every order are the formula's.
"""

from __future__ import annotations

import torch

from . import _morphology as morph
from ._soft_backward import _SoftSkeleton
from ._soft_forward import (  # noqa: F401  (_binary_forward and ThresholdStop: used by skeletonize)
    SPARSE_FRACTION,
    ThresholdStop,
    _binary_forward,
    _levels,
)

__all__ = ["check_soft_input", "soft_skeleton", "soft_skeleton_levels", "soft_skeleton_steps"]


_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_soft_input(img, iterations, *, name: str = "soft_skeleton") -> None:
    """Raise a one-line ``ValueError`` unless ``img``/``iterations`` are valid input of ``name``.

    Valid: a dense (strided) float16/bfloat16/float32/float64 tensor of shape
    ``(N, C, H, W)`` or ``(N, C, D, H, W)`` holding data (not on the ``meta``
    device), with no zero-size spatial axis; ``N`` or ``C`` may be 0 (an empty
    batch gives an empty result).  ``iterations``: a non-negative ``int``.
    """
    if not isinstance(img, torch.Tensor):
        raise ValueError(
            f"{name} expects a torch.Tensor of shape (N, C, H, W) or (N, C, D, H, W); "
            f"got {type(img).__name__}"
        )
    if img.layout != torch.strided:
        raise ValueError(
            f"{name} expects a dense (strided) tensor; got layout {img.layout} "
            f"(convert it with .to_dense())"
        )
    if img.ndim not in (4, 5):
        raise ValueError(
            f"{name} expects a 4D (N, C, H, W) or 5D (N, C, D, H, W) tensor; "
            f"got {img.ndim}D with shape {tuple(img.shape)}"
        )
    if img.dtype not in _FLOAT_DTYPES:
        raise ValueError(
            f"{name} expects a floating-point tensor (float16, bfloat16, float32 or "
            f"float64); got {img.dtype}"
        )
    if img.device.type == "meta":
        raise ValueError(
            f"{name} expects a tensor holding data (on the CPU or an accelerator); "
            f"got one on the meta device"
        )
    if 0 in img.shape[2:]:
        raise ValueError(
            f"{name} expects non-empty spatial axes (only N or C may be 0); "
            f"got shape {tuple(img.shape)}"
        )
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise ValueError(f"iterations must be a non-negative integer; got {iterations!r}")


def soft_skeleton(img: torch.Tensor, iterations: int = 10) -> torch.Tensor:
    """Soft skeleton (clDice) of a batch of 2-D or 3-D images.

    Parameters
    ----------
    img : torch.Tensor
        ``(N, C, H, W)`` for 2-D or ``(N, C, D, H, W)`` for 3-D images,
        float16, bfloat16, float32 or float64, on any device.  Typically probabilities in
        ``[0, 1]``, but any real values are accepted.  Not modified.
    iterations : int, optional
        Number of erosion steps (``K`` in the formula); 0 gives the
        morphological top-hat ``relu(img - open(img))``.

    Returns
    -------
    torch.Tensor
        The soft skeleton, same shape, dtype and device as ``img``.  If ``img``
        requires grad, the result is differentiable with the same gradient as
        autograd through the max-pool formula, to any order (see Notes).

    Raises
    ------
    ValueError
        If ``img`` is not a dense 4-D or 5-D float16/bfloat16/float32/float64
        tensor holding data (the ``meta`` device has none) with non-empty
        spatial axes, or ``iterations`` is not a non-negative integer.  An
        empty batch (``N`` or ``C`` of 0) is fine: the result is empty.

    See Also
    --------
    napari_soft_skeleton.skeletonize : NumPy front end (labels, per-slice, Lee).

    Notes
    -----
    The first-order backward pass recomputes the erosion levels and routes
    the gradient itself: it keeps only ``img`` between forward and backward
    and needs a few volume-sized buffers per erosion level, much less than
    autograd through the formula (which stores every intermediate tensor
    and int64 max-pool indices).

    Double (and higher) backward is supported and exact.  When the gradient
    is taken with ``create_graph=True`` (gradient penalties, meta-learning,
    Hessian-vector products), the backward pass instead runs the formula
    with ``max_pool`` and ``torch.min`` under autograd, on the whole volume
    for the iterations that can still change the result, and returns its
    gradient with its graph.  Second, third, ... derivatives are therefore
    those of autograd through the formula itself, ties included.  That path
    costs about what autograd through the formula does: the graph it leaves
    for the next differentiation holds some 20 input-sized tensors per loop
    iteration for float32 input (15 for float64; the int64 max-pool indices
    are among them), against the one tensor (the input) the first-order path
    keeps.  Without ``create_graph`` none of this is done.

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
    >>> soft_skeleton(x, 3)[0, 0, 4, 1:8]  # the bar's mid-line, less its two end pixels
    tensor([0., 1., 1., 1., 1., 1., 0.])
    """
    check_soft_input(img, iterations)
    if img.requires_grad and torch.is_grad_enabled():
        return _SoftSkeleton.apply(img, iterations)
    with torch.no_grad():
        return _levels(img, iterations)[0]


def soft_skeleton_levels(
    img: torch.Tensor, iterations: int, callback=None, stop=None
) -> tuple[torch.Tensor, int]:
    """Forward pass without autograd; also returns the iterations that mattered.

    The second value is the number of loop iterations after which nothing more
    could be added (the eroded image had become constant), capped at
    ``iterations``; running with any ``iterations`` at least that large gives
    the same result.  ``callback(k, iterations)``, if given, is called after
    each loop iteration of the dense path; an exception raised in it aborts.
    ``stop(skel, next_level)``, if given, is asked after each loop iteration
    of the dense path (with the ``(B, *spatial)`` skeleton so far and the
    image eroded once more) and ends the loop early when it returns True
    (e.g. :class:`ThresholdStop`).
    Raises ``ValueError`` for the input :func:`soft_skeleton` rejects.
    """
    check_soft_input(img, iterations, name="soft_skeleton_levels")
    return _levels(img, iterations, callback, stop)


def soft_skeleton_steps(img: torch.Tensor, iterations: int):
    """Walk through the soft skeleton step by step (no autograd).

    Yields ``(k, eroded, skeleton)`` for ``k = 0 .. iterations``: the image
    eroded ``k`` times (``img_k``) and the skeleton accumulated so far, which
    after the last step equals :func:`soft_skeleton`.  Each yielded tensor is
    new (later steps do not overwrite it), so this costs more memory than
    :func:`soft_skeleton`; it is meant for looking at what each iteration
    does (the napari iteration explorer), not for training.  The input is
    checked when this is called (``ValueError`` as for :func:`soft_skeleton`),
    not at the first step.
    """
    check_soft_input(img, iterations, name="soft_skeleton_steps")
    return _steps(img, iterations)


def _steps(img: torch.Tensor, iterations: int):
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
