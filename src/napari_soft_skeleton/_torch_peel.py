"""The topological thinning on torch tensors, for GPUs: :func:`_thin_torch`, the twin of
:func:`napari_soft_skeleton.topological._peel` (same skeleton, voxel for voxel)."""

from __future__ import annotations

import numpy as np

from ._simple_points import _steps, simple_point_table

#: Largest number of (voxel, neighbour) pairs gathered at once by the torch peeling.
_GATHER_CHUNK = 1 << 24


def _thin_torch(mask, labels: bool = False, progress=None, spacing=None):
    """:func:`topological_skeleton_mask` for a boolean tensor ``(B, *spatial)`` on any device.

    With ``labels=True``, ``mask`` is an integer tensor of label ids (< 2**31)
    and each label is thinned on its own, as :func:`topological_skeleton_labels`
    does; the result is then an int32 tensor of label ids.  ``progress`` as in
    :func:`_peel` (called at the sweep's end, where the host waits anyway).

    The same peeling as :func:`_peel`, the same result, written for GPUs: the
    whole batch at once (each image is padded, so neighbourhoods never cross
    images), the simple-point test a lookup in :func:`simple_point_table`,
    and no host synchronisation inside a sweep.  The foreground voxels are
    kept sorted by subfield, so a subfield is a contiguous block; within a
    sweep dead voxels stay in the list (they are masked out) and the list is
    compacted once at its end.  A subfield costs a handful of kernels: gather
    its neighbourhoods, look them up, clear the deletable voxels.

    ``spacing`` (of the spatial axes): the physical-distance gate of
    :mod:`._depth`, computed on the host once.
    """
    import torch
    import torch.nn.functional as F

    ndim = mask.ndim - 1
    device = mask.device
    table = simple_point_table(ndim, device)
    padded = F.pad(mask.to(torch.int32), (1, 1) * ndim)  # (label ids fit: checked by the callers)
    flat = padded.reshape(-1)
    from ._depth import physical_gate

    gate = physical_gate(padded.cpu().numpy(), spacing, batch=True)
    if gate is not None:
        gate = torch.from_numpy(gate.astype(np.int32)).to(device)
    strides = padded.stride()[1:]
    steps = _steps(ndim)
    # (int64 indices throughout: int32 ones are converted to int64 by every gather)
    offs = torch.tensor([sum(s * st for s, st in zip(step, strides)) for step in steps], device=device)
    weights = torch.tensor([1 << i for i in range(len(steps))], device=device, dtype=torch.int32)
    face_offsets = [sign * strides[axis] for axis in range(ndim) for sign in (-1, 1)]
    n_sub = 2**ndim
    alive = flat.nonzero().flatten()
    parity = torch.zeros_like(alive)
    for axis in range(ndim):
        parity |= ((alive // strides[axis]) % padded.shape[axis + 1] & 1) << axis
    order = torch.sort(parity, stable=True).indices
    alive, parity = alive[order], parity[order]
    chunk = max(1, _GATHER_CHUNK // len(steps))

    def neighbours(idx):
        """The neighbour bits of the voxels ``idx`` (same label, for label images), ``(len(idx), 3**ndim - 1)``."""
        values = flat[idx[:, None] + offs]
        return values == flat[idx][:, None] if labels else values

    sweeps = 0
    while True:
        n = alive.numel()
        if n == 0:
            break
        held = torch.zeros((), dtype=torch.bool, device=device)
        ends = torch.bincount(parity, minlength=n_sub).cumsum(0).tolist()
        blocks = [(a, b) for a, b in zip([0] + ends[:-1], ends) if b > a]
        for off in face_offsets:
            # the sub-sweep's candidates, fixed at its start (as in _peel): alive,
            # background on this side, more than one neighbour (not an end point)
            centre = flat[alive]
            cand = (centre != 0) & (flat[alive + off] != centre if labels else flat[alive + off] == 0)
            if gate is not None:
                deep = gate[alive] > sweeps + 1
                held |= (cand & deep).any()
                cand &= ~deep
            count = torch.cat([neighbours(alive[a : a + chunk]).sum(1) for a in range(0, n, chunk)])
            cand &= count > 1
            for a, b in blocks:  # one subfield: its voxels never touch each other
                for c in range(a, b, chunk):
                    idx = alive[c : min(b, c + chunk)]
                    codes = (neighbours(idx) * weights).sum(1)
                    go = table[codes] & cand[c : min(b, c + chunk)]
                    flat[idx] = torch.where(go, 0, flat[idx])
        keep = flat[alive] != 0
        alive, parity = alive[keep], parity[keep]
        if alive.numel() == n and not bool(held):
            break
        sweeps += 1
        if progress is not None:
            progress(sweeps, sweeps + 1)
    inner = padded[(slice(None),) + (slice(1, -1),) * ndim]
    return inner if labels else inner.bool()
