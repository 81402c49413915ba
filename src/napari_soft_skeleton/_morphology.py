"""Exact, allocation-aware morphology kernels on torch tensors.

Every function here works on a tensor of shape ``(B, *spatial)`` where the
spatial axes are the last 2 or 3 axes, on any device.  They reproduce, value
for value, what the clDice formula computes with ``max_pool``:

* ``erode``  -- minimum over the cross (the pixel and its 2·ndim face
  neighbours), i.e. ``min(-max_pool(-x, (3,1,1)), -max_pool(-x, (1,3,1)),
  -max_pool(-x, (1,1,3)))``;
* ``dilate`` -- maximum over the full 3×3(×3) box, i.e. ``max_pool(x, 3)``.

Out-of-volume neighbours are ignored, as max-pooling's ``-inf`` padding does.
Minima and maxima are exact in floating point, so the order in which the
neighbours are visited does not change any value: the dilation is computed as
three 1-D passes (separable) and the erosion reads each shifted neighbour once.

The ``*_backward`` functions route a gradient exactly as autograd does through
the max-pool formula, including at ties: ``max_pool`` sends the gradient of a
window to the *first* maximal element in scan order (depth, then height, then
width), and ``torch.min(a, b)`` splits a tied gradient in halves.

``pool_erode`` and ``pool_dilate`` are the formula's own operations
(``max_pool`` and ``torch.min``), for when autograd must differentiate the
gradient again: autograd through them *is* autograd through the formula, at
every order, ties included.  They keep the usual autograd memory (their
inputs and int64 max-pool indices), so the fast kernels above are used
everywhere else.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "binary_erode",
    "dilate",
    "dilate_backward",
    "dilate_stages",
    "erode",
    "erode_backward",
    "pool_dilate",
    "pool_erode",
]


def _spatial_dims(x: torch.Tensor) -> range:
    return range(1, x.ndim)


def _pair_into(op, src: torch.Tensor, dst: torch.Tensor, dim: int, init: bool) -> None:
    """``dst[i] = op(dst[i] or src[i], src[i-1], src[i+1])`` along ``dim``.

    With ``init`` the centre value comes from ``src`` (``dst`` is overwritten),
    otherwise ``dst`` already holds the running result.  ``src`` and ``dst``
    must not overlap.
    """
    n = src.shape[dim]
    if n == 1:
        if init:
            dst.copy_(src)
        return
    lo_src, hi_src = src.narrow(dim, 0, n - 1), src.narrow(dim, 1, n - 1)
    lo_dst, hi_dst = dst.narrow(dim, 0, n - 1), dst.narrow(dim, 1, n - 1)
    if init:
        op(lo_src, hi_src, out=lo_dst)  # dst[i] = op(src[i], src[i+1]), i < n-1
        dst.narrow(dim, n - 1, 1).copy_(src.narrow(dim, n - 1, 1))
    else:
        op(lo_dst, hi_src, out=lo_dst)  # dst[i] = op(dst[i], src[i+1])
    op(hi_dst, lo_src, out=hi_dst)  # dst[i] = op(dst[i], src[i-1]), i >= 1


def erode(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Minimum over the cross neighbourhood (values equal the max-pool formula)."""
    if out is None:
        out = torch.empty_like(x)
    for i, d in enumerate(_spatial_dims(x)):
        _pair_into(torch.minimum, x, out, d, init=(i == 0))
    return out


def dilate(
    x: torch.Tensor, out: torch.Tensor | None = None, tmp: torch.Tensor | None = None
) -> torch.Tensor:
    """Maximum over the 3×3(×3) box, as three separable 1-D passes."""
    if out is None:
        out = torch.empty_like(x)
    if tmp is None:
        tmp = torch.empty_like(x)
    dims = list(_spatial_dims(x))
    # Ping-pong so that the last pass lands in ``out``.
    bufs = [out, tmp] if len(dims) % 2 == 1 else [tmp, out]
    src = x
    for i, d in enumerate(dims):
        dst = bufs[i % 2]
        _pair_into(torch.maximum, src, dst, d, init=True)
        src = dst
    return out


def binary_erode(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Cross erosion of a boolean tensor (AND over the cross)."""
    if out is None:
        out = torch.empty_like(x)
    for i, d in enumerate(_spatial_dims(x)):
        _pair_into(torch.logical_and, x, out, d, init=(i == 0))
    return out


# --------------------------------------------------------------------------
# Backward passes (reproducing autograd through the max-pool formula)
# --------------------------------------------------------------------------


def _first_extremum_selectors(x: torch.Tensor, dim: int, largest: bool):
    """Which neighbour a 3-window along ``dim`` picks, scanning i-1, i, i+1.

    Returns boolean tensors ``(left, right)`` of the shape of ``x``: ``left[i]``
    is True where the window centred at ``i`` picks ``i-1``, ``right[i]`` where
    it picks ``i+1`` (neither: it picks ``i``).  The scan keeps the first value
    that is strictly better, exactly as max-pooling does, so ties go to the
    earliest index.  For ``largest=False`` (erosion as ``-max_pool(-x)``) the
    comparisons are mirrored.
    """
    n = x.shape[dim]
    left = torch.zeros_like(x, dtype=torch.bool)
    right = torch.zeros_like(x, dtype=torch.bool)
    if n == 1:
        return left, right
    ge = torch.ge if largest else torch.le  # "at least as good"
    gt = torch.gt if largest else torch.lt  # "strictly better"
    prev, cur = x.narrow(dim, 0, n - 1), x.narrow(dim, 1, n - 1)
    # left[i] (i >= 1): x[i-1] at least as good as x[i] and as x[i+1] (if any)
    lv = left.narrow(dim, 1, n - 1)
    ge(prev, cur, out=lv)
    if n > 2:
        lv.narrow(dim, 0, n - 2).logical_and_(
            ge(x.narrow(dim, 0, n - 2), x.narrow(dim, 2, n - 2))
        )
    # right[i] (i <= n-2): x[i+1] strictly better than x[i] and than x[i-1] (if any)
    rv = right.narrow(dim, 0, n - 1)
    gt(cur, prev, out=rv)
    if n > 2:
        rv.narrow(dim, 1, n - 2).logical_and_(
            gt(x.narrow(dim, 2, n - 2), x.narrow(dim, 0, n - 2))
        )
    return left, right


def _route_along(x: torch.Tensor, grad: torch.Tensor, dim: int, largest: bool) -> torch.Tensor:
    """Backward of a 3-window max (or min) pool along one axis of ``x``."""
    n = x.shape[dim]
    if n == 1:
        return grad.clone()
    left, right = _first_extremum_selectors(x, dim, largest)
    zero = grad.new_zeros(())
    to_left = torch.where(left, grad, zero)
    to_right = torch.where(right, grad, zero)
    out = torch.where(left | right, zero, grad)
    # contribution from window i+1 picking i (to_left[i+1]) and window i-1 picking i
    out.narrow(dim, 0, n - 1).add_(to_left.narrow(dim, 1, n - 1))
    out.narrow(dim, 1, n - 1).add_(to_right.narrow(dim, 0, n - 1))
    return out


def _axis_min(x: torch.Tensor, dim: int) -> torch.Tensor:
    out = torch.empty_like(x)
    _pair_into(torch.minimum, x, out, dim, init=True)
    return out


def _split_min_grad(a: torch.Tensor, b: torch.Tensor, grad: torch.Tensor):
    """Gradient of ``torch.min(a, b)`` w.r.t. ``a`` and ``b`` (ties split in halves)."""
    zero = grad.new_zeros(())
    shared = torch.where(a == b, grad / 2, grad)
    return torch.where(a > b, zero, shared), torch.where(a < b, zero, shared)


def erode_backward(x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """Gradient w.r.t. ``x`` of ``erode(x)``, given the gradient of its output.

    Mirrors ``torch.min(torch.min(p1, p2), p3)`` with ``p_i = -max_pool(-x)``
    along axis ``i`` (``torch.min(p1, p2)`` in 2-D).
    """
    dims = list(_spatial_dims(x))
    pools = [_axis_min(x, d) for d in dims]
    # Unfold the nested minimum from the outside in.
    grads = [None] * len(dims)
    acc = pools[0]
    partial = [acc]
    for p in pools[1:-1]:
        acc = torch.minimum(acc, p)
        partial.append(acc)
    g = grad
    for i in range(len(dims) - 1, 0, -1):
        g, grads[i] = _split_min_grad(partial[i - 1], pools[i], g)
    grads[0] = g
    out = None
    for d, g_i in zip(dims, grads):
        r = _route_along(x, g_i, d, largest=False)
        out = r if out is None else out.add_(r)
    return out


def dilate_stages(x: torch.Tensor) -> list[torch.Tensor]:
    """Intermediate maxima of the separable dilation, last axis first.

    ``stages[0]`` is ``x``; ``stages[j+1]`` is ``stages[j]`` max-pooled along
    the ``j``-th axis counted from the last.  Reducing the last axis first makes
    the composed first-maximum rule equal to max-pooling's scan order.
    """
    stages = [x]
    for d in reversed(list(_spatial_dims(x))):
        dst = torch.empty_like(x)
        _pair_into(torch.maximum, stages[-1], dst, d, init=True)
        stages.append(dst)
    return stages


def dilate_backward(stages: list[torch.Tensor], grad: torch.Tensor) -> torch.Tensor:
    """Gradient w.r.t. ``stages[0]`` of the dilation, given its output gradient."""
    dims = list(reversed(list(_spatial_dims(stages[0]))))
    g = grad
    for j in range(len(dims) - 1, -1, -1):
        g = _route_along(stages[j], g, dims[j], largest=True)
    return g


# --------------------------------------------------------------------------
# The formula's own operations (autograd at any order)
# --------------------------------------------------------------------------


def _max_pool(x: torch.Tensor, kernel, padding) -> torch.Tensor:
    """``max_pool2d``/``max_pool3d`` (stride 1) over the spatial axes of ``(B, *spatial)``."""
    pool = F.max_pool2d if x.ndim == 3 else F.max_pool3d
    return pool(x.unsqueeze(1), kernel, 1, padding).squeeze(1)  # (B, 1, *spatial): B may be 0


def pool_erode(x: torch.Tensor) -> torch.Tensor:
    """``erode`` as the formula writes it: ``min(min(p1, p2), p3)``, ``p_i = -max_pool(-x)``.

    Differentiable (at any order) exactly like the formula; ``-x`` is formed
    once and shared by the three axis pools.
    """
    nd = x.ndim - 1
    neg = -x
    out = None
    for axis in range(nd):
        kernel = tuple(3 if a == axis else 1 for a in range(nd))
        padding = tuple(1 if a == axis else 0 for a in range(nd))
        p = -_max_pool(neg, kernel, padding)
        out = p if out is None else torch.min(out, p)
    return out


def pool_dilate(x: torch.Tensor) -> torch.Tensor:
    """``dilate`` as the formula writes it: one 3×3(×3) ``max_pool`` (any-order autograd)."""
    nd = x.ndim - 1
    return _max_pool(x, (3,) * nd, (1,) * nd)
