"""The soft skeleton's backward pass: the fast first-order one, and the differentiable one.

The first-order pass recomputes the levels and routes the gradient itself
(no max-pool indices stored); with ``create_graph=True`` the formula is run
under autograd instead, so derivatives of every order are the formula's.
"""

from __future__ import annotations

import torch

from . import _morphology as morph
from ._soft_forward import _levels


# --------------------------------------------------------------------------
# backward
# --------------------------------------------------------------------------


class _SoftSkeleton(torch.autograd.Function):
    @staticmethod
    def forward(ctx, img, iterations):
        out, used = _levels(img, iterations)
        ctx.save_for_backward(img)
        ctx.used = used
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (img,) = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: the gradient will be differentiated
            return _differentiable_backward(img, ctx.used, grad_out), None
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


def _pool_formula(x: torch.Tensor, iterations: int) -> torch.Tensor:
    """The formula on ``(B, *spatial)`` with the formula's own ops (autograd at any order).

    Each erosion is computed once and used both for the next level and inside
    ``open``, which changes no value and, since the gradients of its two uses
    are summed, no derivative either.
    """
    level = x
    nxt = morph.pool_erode(level)
    skel = torch.relu(level - morph.pool_dilate(nxt))
    for _ in range(iterations):
        level, nxt = nxt, morph.pool_erode(nxt)
        delta = torch.relu(level - morph.pool_dilate(nxt))
        skel = skel + torch.relu(delta - skel * delta)
    return skel


def _differentiable_backward(img: torch.Tensor, used: int, grad_out: torch.Tensor) -> torch.Tensor:
    """The gradient as a differentiable function of ``img`` and ``grad_out``.

    Runs :func:`_pool_formula` on the saved input (which carries its autograd
    history) and differentiates it with ``create_graph=True``, so that
    differentiating the result again is differentiating the formula again.
    Only ``used`` loop iterations are run: in every later one ``delta`` and
    ``delta - skel * delta`` are exactly 0, where ``relu``'s derivative (of
    every order) is 0, so those iterations pass ``skel`` and all its
    derivatives through unchanged.
    """
    with torch.enable_grad():
        x = img.reshape((-1,) + tuple(img.shape[2:]))
        out = _pool_formula(x, used)
        (grad,) = torch.autograd.grad(out, img, grad_out.reshape(out.shape), create_graph=True)
    return grad
