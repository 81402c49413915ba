"""The simple-point machinery of the topological thinning (NumPy, and torch for the GPU table).

A neighbourhood is bit-coded: bit ``i`` stands for the ``i``-th of the
3**ndim - 1 neighbours in ``itertools.product((-1, 0, 1), repeat=ndim)``
order (the centre skipped).  A point is simple (26/6 connectivity in 3D, 8/4
in 2D) iff it has a background face neighbour, deleting it leaves the Euler
characteristic unchanged (computed from the cells of its cube that no other
foreground cube shares) and its foreground neighbours form one connected
component (a bit-parallel flood fill).  :func:`simple_point_table` tabulates
the test for every code (the GPU path's lookup).
"""

from __future__ import annotations

import itertools

import numpy as np


def _steps(ndim: int) -> list[tuple[int, ...]]:
    """The 3**ndim - 1 neighbour offsets, in a fixed order (bit i ↔ step i)."""
    return [s for s in itertools.product((-1, 0, 1), repeat=ndim) if any(s)]


def _cell_masks(ndim: int):
    """Bit masks describing the cells of the unit cube (square) of the centre voxel.

    For each vertex / edge / face (3D) of the centre cube, the set of other
    voxels whose cubes share it: the cell belongs to the centre alone iff all
    of them are background.  Returns ``[(sign, masks), ...]`` with the sign of
    the cell's dimension in the Euler characteristic.
    """
    steps = _steps(ndim)
    bit = {s: i for i, s in enumerate(steps)}
    groups = []
    # A cell of the centre cube is given by choosing, per axis, "low side"
    # (-1), "high side" (+1) or "the whole extent" (0); its dimension is the
    # number of zeros. The voxels sharing it vary over {0, side} on fixed axes.
    for dim in range(ndim):  # vertices (0), edges (1), faces (2, in 3D)
        masks = []
        for cell in itertools.product((-1, 0, 1), repeat=ndim):
            if sum(c == 0 for c in cell) != dim:
                continue
            sharing = itertools.product(*[(0, c) if c else (0,) for c in cell])
            m = 0
            for s in sharing:
                if any(s):
                    m |= 1 << bit[s]
            masks.append(m)
        groups.append((1 if dim % 2 == 0 else -1, np.array(masks, dtype=np.uint32)))
    return groups


def _grid_shifts(ndim: int) -> list[tuple[int, int]]:
    """(shift, keep-mask) pairs that move a bit one step along an axis of the 3**ndim grid.

    In the grid layout bit ``sum(c_k * 3**k)`` stands for the voxel at
    coordinates ``c`` (0..2 per axis, last axis fastest), the centre included.
    Shifting by ``+3**k`` moves every bit one step up axis ``k``; the keep-mask
    drops bits that would wrap into the next row.
    """
    size = 3**ndim
    shifts = []
    for k in range(ndim):
        step = 3**k
        for direction in (1, -1):
            keep = 0
            for b in range(size):
                c = (b // step) % 3
                if (direction == 1 and c < 2) or (direction == -1 and c > 0):
                    keep |= 1 << b
            shifts.append((direction * step, keep))
    return shifts


_TABLES: dict[int, tuple] = {}


def _tables(ndim: int):
    if ndim not in _TABLES:
        steps = _steps(ndim)
        face = np.uint32(sum(1 << i for i, s in enumerate(steps) if sum(map(abs, s)) == 1))
        _TABLES[ndim] = (_cell_masks(ndim), _grid_shifts(ndim), face)
    return _TABLES[ndim]


_BYTE_COUNTS = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _popcount(codes: np.ndarray) -> np.ndarray:
    """Number of set bits of each (uint32) code."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(codes)
    return sum(_BYTE_COUNTS[(codes >> shift) & 255] for shift in (0, 8, 16, 24))


def _nonzero(x):
    """Indices of the True entries of a 1-D NumPy array or torch tensor."""
    return np.flatnonzero(x) if isinstance(x, np.ndarray) else x.nonzero().flatten()


def _euler_invariant(codes, ndim: int):
    """True where deleting the centre leaves the Euler characteristic unchanged."""
    groups, _, _ = _tables(ndim)
    # the centre's top cell (cube or square) always goes: (-1)**ndim
    change = (-1) ** ndim
    for sign, masks in groups:
        for m in masks:
            change = change + sign * ((codes & int(m)) == 0)
    return change == 0


def _one_component(codes: np.ndarray, ndim: int) -> np.ndarray:
    """True where the set neighbour bits form exactly one 26- (8-) connected component.

    A bit-parallel flood fill from the lowest set bit, on the 3**ndim grid
    layout (the centre bit stays 0, so paths never pass through the centre):
    one 26-dilation is three separable shift-and-or steps.
    """
    _, shifts, _ = _tables(ndim)
    half = (3**ndim) // 2
    grid = (codes & ((1 << half) - 1)) | ((codes >> half) << (half + 1))
    reach = grid & (~grid + 1)  # lowest set bit
    while True:
        grown = reach
        for k in range(ndim):
            (up, keep_up), (down, keep_down) = shifts[2 * k], shifts[2 * k + 1]
            grown = grown | ((grown << up) & (keep_up << up)) | ((grown >> -down) & (keep_down >> -down))
        grown = grown & grid
        if not bool((grown != reach).any()):
            break
        reach = grown
    return (grid != 0) & (reach == grid)


def is_simple(codes: np.ndarray, ndim: int) -> np.ndarray:
    """Simple-point test on neighbourhood codes (bit i set ↔ neighbour i is foreground).

    3D uses 26-connectivity for the foreground and 6 for the background, 2D
    8 and 4.  A simple point must have a background face neighbour, be
    Euler-invariant and have one foreground neighbour component.
    """
    if not hasattr(codes, "device"):  # NumPy (a torch tensor is used as it is)
        codes = np.asarray(codes, dtype=np.uint32)
    _, _, face = _tables(ndim)
    face = int(face)
    simple = ((codes & face) != face) & _euler_invariant(codes, ndim)
    maybe = _nonzero(simple)  # the flood fill only where the cheap tests passed
    simple[maybe] = _one_component(codes[maybe], ndim)
    return simple


def neighbourhood_codes(flat, index, offsets, centre=None):
    """Bit-coded neighbourhoods of the voxels ``index`` of a padded flat 0/1 array.

    With ``centre`` (the values ``flat[index]`` of a label array) a neighbour
    counts when it carries the same label.  NumPy arrays give ``uint32``
    codes, torch tensors ``int64`` ones.
    """
    codes = 0
    for i, off in enumerate(offsets):
        bit = flat[index + int(off)]
        if centre is not None:
            bit = bit == centre
        bit = bit.astype(np.uint32) if isinstance(bit, np.ndarray) else bit.long()
        codes = codes | (bit << i)
    return codes


_SIMPLE_TABLES: dict = {}


def simple_point_table(ndim: int, device=None):
    """The simple-point test as a lookup table: entry ``c`` is ``is_simple(c, ndim)``.

    A boolean torch tensor of ``2**(3**ndim - 1)`` entries (64 MiB in 3D, 256
    bytes in 2D) on ``device``, built once per process and device: on the CPU
    with NumPy (5–6 s for 3D on two cores), elsewhere with the same test in
    torch on the device.
    """
    import torch

    device = torch.device("cpu" if device is None else device)
    key = (ndim, str(device))
    if key not in _SIMPLE_TABLES:
        size = 1 << (3**ndim - 1)
        chunk = 1 << 22
        if device.type == "cpu":
            table = np.empty(size, bool)
            for start in range(0, size, chunk):
                codes = np.arange(start, min(size, start + chunk), dtype=np.uint32)
                table[start : start + chunk] = is_simple(codes, ndim)
            tensor = torch.from_numpy(table)
        else:
            tensor = torch.empty(size, dtype=torch.bool, device=device)
            for start in range(0, size, chunk):
                codes = torch.arange(start, min(size, start + chunk), device=device, dtype=torch.int64)
                tensor[start : start + chunk] = is_simple(codes, ndim)
        _SIMPLE_TABLES[key] = tensor
    return _SIMPLE_TABLES[key]
