"""Naive reference implementation of the clDice soft skeleton.

This is literally the formula of Shit et al., CVPR 2021 (clDice), written
with ``torch.nn.functional.max_pool2d`` / ``max_pool3d``.  It is used by the
test suite as ground truth (values *and* autograd gradients, including
max-pool tie-breaking and ``torch.min`` tie gradient splitting) and by the
benchmarks as the baseline.  Keep it naive: no cropping, no early stop, no
in-place tricks.
"""

import torch
import torch.nn.functional as F

__all__ = ["naive_erode", "naive_dilate", "naive_open", "naive_soft_skeleton"]


def _check(x):
    if x.dim() not in (4, 5):
        raise ValueError(
            f"expected a (N, C, H, W) or (N, C, D, H, W) tensor, got shape {tuple(x.shape)}"
        )


def naive_erode(x):
    """Soft erosion: minimum over the axis-aligned cross (3-long per axis)."""
    _check(x)
    if x.dim() == 4:
        p1 = -F.max_pool2d(-x, (3, 1), (1, 1), (1, 0))
        p2 = -F.max_pool2d(-x, (1, 3), (1, 1), (0, 1))
        return torch.min(p1, p2)
    p1 = -F.max_pool3d(-x, (3, 1, 1), (1, 1, 1), (1, 0, 0))
    p2 = -F.max_pool3d(-x, (1, 3, 1), (1, 1, 1), (0, 1, 0))
    p3 = -F.max_pool3d(-x, (1, 1, 3), (1, 1, 1), (0, 0, 1))
    return torch.min(torch.min(p1, p2), p3)


def naive_dilate(x):
    """Soft dilation: maximum over the full 3x3 (3x3x3) neighbourhood."""
    _check(x)
    if x.dim() == 4:
        return F.max_pool2d(x, (3, 3), (1, 1), (1, 1))
    return F.max_pool3d(x, (3, 3, 3), (1, 1, 1), (1, 1, 1))


def naive_open(x):
    return naive_dilate(naive_erode(x))


def naive_soft_skeleton(img, iterations):
    """clDice soft skeleton, exactly as in the paper's reference code."""
    _check(img)
    img1 = naive_open(img)
    skel = F.relu(img - img1)
    for _ in range(iterations):
        img = naive_erode(img)
        img1 = naive_open(img)
        delta = F.relu(img - img1)
        skel = skel + F.relu(delta - skel * delta)
    return skel
