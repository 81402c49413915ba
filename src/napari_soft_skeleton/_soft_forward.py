"""The soft skeleton's forward pass: cropping, the dense in-place loop, the boolean path, early stops.

See :mod:`napari_soft_skeleton.soft` for why each shortcut gives the formula's
values exactly.
"""

from __future__ import annotations

import numpy as np
import torch

from . import _morphology as morph
from ._binary import sparse_binary_soft_skeleton


def _levels(img: torch.Tensor, iterations: int, callback=None, stop=None) -> tuple[torch.Tensor, int]:
    """:func:`soft_skeleton_levels` on input already checked."""
    shape = img.shape
    with torch.no_grad():
        x = img.detach().reshape((-1,) + tuple(shape[2:]))
        if x.numel() == 0:
            return torch.zeros_like(img), 0
        out, used = _crop_and_run(x, iterations, callback, stop)
    return out.reshape(shape), used


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


def _crop_and_run(x: torch.Tensor, iterations: int, callback=None, stop=None) -> tuple[torch.Tensor, int]:
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
    skel, used = _dense_forward(x[idx], iterations, callback, stop)
    out[idx] = skel
    return out, used


def _is_constant(x: torch.Tensor) -> bool:
    flat = x.reshape(x.shape[0], -1)
    # (amin and amax separately: much faster than aminmax on the CPU)
    return bool(torch.equal(flat.amin(dim=1), flat.amax(dim=1)))


def _dense_forward(x: torch.Tensor, iterations: int, callback=None, stop=None) -> tuple[torch.Tensor, int]:
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
        if stop is not None and stop(skel, nxt):
            break
    return skel, used


class ThresholdStop:
    """Ends the soft skeleton's loop once ``skeleton > threshold`` cannot change any more.

    Why this is exact: each later step adds ``delta_j (1 - skel) <= delta_j``
    to a voxel, and ``delta_j = relu(img_j - dilate(img_{j+1})) <=
    img_j - img_{j+1}`` (a dilation never lowers a voxel), so everything the
    steps after ``k`` can still add to voxel ``v`` sums to at most
    ``img_{k+1}(v) - m``, with ``m`` the image's minimum (the eroded images
    only fall towards it).  The skeleton never decreases.  So once every voxel
    at or below the threshold has ``skel(v) + img_{k+1}(v) - m <= threshold``,
    the thresholded result is final.  A margin of ``1e-6`` guards against
    rounding.

    ``fired`` tells afterwards whether the rule stopped the loop.  Inputs are
    assumed to lie in [0, 1] (probability maps).
    """

    def __init__(self, threshold: float, margin: float = 1e-6):
        self.threshold = float(threshold)
        self.margin = float(margin)
        self.fired = False
        self._low = None  # the minimum of each image of the batch, found on the first call

    def __call__(self, skel: torch.Tensor, nxt: torch.Tensor) -> bool:
        # Four passes over the volume: s + n, s > t, masking, max.  Voxels whose eroded value is already
        # the minimum are not singled out (what can reach them is exactly 0): counting them is only
        # conservative, the loop may then run an iteration longer, never stop too early.
        t = self.threshold
        batch = skel.shape[0]
        if skel.device.type == "cpu" and skel.dtype in _NUMPY_FLOATS:  # NumPy: several times faster here
            flat_s = skel.numpy().reshape(batch, -1)
            flat_n = nxt.numpy().reshape(batch, -1)
            if self._low is None:  # (every eroded level keeps the input's minimum)
                self._low = flat_n.min(axis=1)
            reach = np.add(flat_s, flat_n)
            np.putmask(reach, flat_s > t, -np.inf)  # in the skeleton already: final
            top = reach.max(axis=1) - self._low
        else:
            flat_s = skel.reshape(batch, -1)
            flat_n = nxt.reshape(batch, -1)
            if self._low is None:
                self._low = flat_n.amin(dim=1)
            reach = flat_s + flat_n
            reach.masked_fill_(flat_s > t, -float("inf"))
            top = (reach.amax(dim=1) - self._low).cpu().numpy()
        self.fired = bool(np.all(top <= t - self.margin))
        return self.fired


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
