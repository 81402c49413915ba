"""The CPU peeling of :mod:`.topological` as compiled loops (numba).

The same thinning as :func:`napari_soft_skeleton.topological._peel` — same
sub-sweeps, same subfield order, same end-point and simple-point tests, hence
the same skeleton voxel for voxel — but its work follows the surface instead
of the volume:

* a *front* lists the voxels that have a face neighbour of another value
  (background or, in a label image, another label); only they can be
  candidates of a sub-sweep.  Deleting a voxel adds its same-label face
  neighbours to the front, and deleted voxels leave it after each sub-sweep,
  so a thick object costs its surface per sweep, not its volume;
* a voxel found to be an end point or not simple is not looked at again
  until one of its neighbours is deleted (the answer could not change), so
  the many voxels of a dense or noisy object that must stay cost once;
* the simple-point test runs per voxel on its bit-coded neighbourhood: the
  Euler change from the cells only the centre owns, then a bit-parallel flood
  fill (as :mod:`._simple_points` does), behind a small cache of past
  answers; in 2-D a 256-entry table.

Label ids are compared as they are (unsigned 8-, 32- or 64-bit arrays, as
the caller pads them), so large ids cost only the wider reads.  Every
function is compiled on first use and cached on disk (``cache=True``), once
per array type: the first call in a fresh environment pays the compilation
(~6 s for masks, ~3 s more for each id width), later processes load it.
numba freezes module globals (the bit masks below) into its cache and only
recompiles when *this* file changes: the tests compare ``_simple`` with
``is_simple``, which catches a stale cache should ``_simple_points`` change.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._simple_points import _tables, is_simple


def _constants(ndim: int):
    """The simple-point test's bit masks, as plain int64 arrays (frozen into the compiled code)."""
    groups, shifts, face = _tables(ndim)
    masks = np.concatenate([m.astype(np.int64) for _, m in groups])
    signs = np.concatenate([np.full(len(m), s, np.int64) for s, m in groups])
    steps = np.array([s for s, _ in shifts[::2]], np.int64)
    keep_up = np.array([k for _, k in shifts[::2]], np.int64)
    keep_down = np.array([k for _, k in shifts[1::2]], np.int64)
    return masks, signs, steps, keep_up, keep_down, int(face)


_MASKS3, _SIGNS3, _STEPS3, _UP3, _DOWN3, _FACE3 = _constants(3)
#: The 2-D test as a table: entry ``c`` is ``is_simple(c, 2)``.
_TABLE2 = is_simple(np.arange(256, dtype=np.uint32), 2)


@njit(cache=True, nogil=True)
def _simple3(code):
    """``is_simple(code, 3)`` for one 26-bit neighbourhood code."""
    if code & _FACE3 == _FACE3:  # no background face neighbour: interior
        return False
    change = -1  # the centre's cube always goes
    for i in range(_MASKS3.shape[0]):
        if code & _MASKS3[i] == 0:
            change += _SIGNS3[i]
    if change != 0:
        return False
    # one 26-component: flood fill from the lowest set bit on the 27-bit grid (centre bit 0)
    grid = (code & 0x1FFF) | ((code >> 13) << 14)
    if grid == 0:
        return False
    reach = grid & -grid
    while True:
        grown = reach
        for k in range(3):
            grown = grown | ((grown & _UP3[k]) << _STEPS3[k]) | ((grown & _DOWN3[k]) >> _STEPS3[k])
        grown &= grid
        if grown == reach:
            break
        reach = grown
    return reach == grid


@njit(cache=True, nogil=True)
def _code(flat, v, centre, offsets):
    """Bit-coded neighbourhood of voxel ``v``: bit i set when neighbour i carries ``centre``."""
    code = 0
    for i in range(offsets.shape[0]):
        if flat[v + offsets[i]] == centre:
            code |= 1 << i
    return code


@njit(cache=True, nogil=True)
def _simple(code, ndim, memo):
    """``is_simple(code, ndim)``; in 3-D through ``memo``, a small direct-mapped cache of past
    answers (entry: ``code << 2 | answer << 1 | 1``): neighbourhoods repeat a lot."""
    if ndim == 2:
        return _TABLE2[code]
    slot = ((code * 0x9E3779B1) >> 24) & (memo.shape[0] - 1)
    entry = memo[slot]
    if entry & 1 and entry >> 2 == code:
        return entry & 2 != 0
    answer = _simple3(code)
    memo[slot] = (code << 2) | (2 if answer else 0) | 1
    return answer


#: The per-voxel ``state`` bits: listed in the front; an end point (at most one neighbour) or a
#: non-simple point, either of which stays true until a neighbour is deleted; the subfield
#: (coordinate parities) from bit ``PARITY`` on.
IN_FRONT, END, NOT_SIMPLE, PARITY = 1, 2, 4, 3
#: Clears ``END`` and ``NOT_SIMPLE`` (after a neighbour was deleted).
UNSETTLE = np.uint8(0xFF ^ (END | NOT_SIMPLE))

# (No array is reassigned inside a loop of these functions: numba then keeps
# reference counting out of the loop; a reassigned one made them ~20x slower.)


@njit(cache=True, nogil=True)
def _at_most_one(flat, v, centre, offsets):
    """Does voxel ``v`` have at most one neighbour carrying ``centre``?"""
    seen = 0
    for i in range(offsets.shape[0]):
        if flat[v + offsets[i]] == centre:
            seen += 1
            if seen > 1:
                return False
    return True


@njit(cache=True, nogil=True)
def _enter(v, strides, dims):
    """``state`` of voxel ``v`` entering the front: ``IN_FRONT`` and its subfield."""
    p = 0
    for k in range(strides.shape[0]):
        p |= (((v // strides[k]) % dims[k]) & 1) << k
    return IN_FRONT | (p << PARITY)


@njit(cache=True, nogil=True)
def _candidates(flat, front, n_front, state, off, offsets, starts, cand, gated, gate, sweep_no):
    """Drop the deleted voxels from ``front[:n_front]``; list the sub-sweep's candidates in
    ``cand`` and count them per subfield into ``starts[1:]``: background (another label) on
    side ``off``, more than one neighbour (not an end point; ``END`` is set on the end
    points) and, when ``gated``, a gate ``gate[v]`` of at most ``sweep_no`` (see :mod:`.._depth`).
    Returns ``(candidates, new n_front, voxels held back by the gate)``."""
    m = 0
    k = 0
    held = 0
    for j in range(n_front):
        v = front[j]
        c = flat[v]
        if c == 0:
            continue
        front[k] = v
        k += 1
        bits = state[v]
        if bits & END or flat[v + off] == c:
            continue
        if gated and gate[v] > sweep_no:
            held += 1
            continue
        if not bits & NOT_SIMPLE and _at_most_one(flat, v, c, offsets):
            state[v] = bits | END
            continue
        starts[(bits >> PARITY) + 1] += 1
        cand[m] = v
        m += 1
    return m, k, held


@njit(cache=True, nogil=True)
def _bucket(cand, state, starts, order):
    """The candidates ``cand[:len(order)]``, into ``order`` by subfield (a counting sort)."""
    for s in range(starts.shape[0] - 1):
        starts[s + 1] += starts[s]
    for j in range(order.shape[0]):
        v = cand[j]
        p = state[v] >> PARITY
        order[starts[p]] = v
        starts[p] += 1


@njit(cache=True, nogil=True)
def _delete(flat, order, front, n_front, state, offsets, face_offsets, ndim, memo):
    """Delete the simple points of ``order`` (the candidates, subfield by subfield: the voxels of
    one are never 26-adjacent, so deleting them one by one is deleting them all at once).
    Their same-label face neighbours join the front.  Returns ``(removed, new n_front)``."""
    removed = 0
    for j in range(order.shape[0]):
        v = order[j]
        if state[v] & NOT_SIMPLE:  # (and no neighbour deleted since it was found so)
            continue
        c = flat[v]
        if not _simple(_code(flat, v, c, offsets), ndim, memo):
            state[v] |= NOT_SIMPLE
            continue
        flat[v] = 0
        removed += 1
        for i in range(offsets.shape[0]):
            state[v + offsets[i]] &= UNSETTLE
        parity = state[v] >> PARITY
        for g in range(face_offsets.shape[0]):
            u = v + face_offsets[g]
            if flat[u] == c and not state[u] & IN_FRONT:
                # (one step along axis g // 2 flips that axis's parity bit)
                state[u] = IN_FRONT | ((parity ^ (1 << (g >> 1))) << PARITY)
                front[n_front] = u
                n_front += 1
    return removed, n_front


@njit(cache=True, nogil=True)
def _scan_border(flat, face_offsets, state, strides, dims, front, write):
    """How many foreground voxels of ``flat`` have a face neighbour of another value; with ``write``,
    also those voxels, in index order, into ``front`` and entered in ``state``."""
    n = 0
    for i in range(flat.shape[0]):
        c = flat[i]
        if c == 0:
            continue
        for g in range(face_offsets.shape[0]):
            if flat[i + face_offsets[g]] != c:
                if write:
                    front[n] = i
                    state[i] = _enter(i, strides, dims)
                n += 1
                break
    return n


def border(flat, face_offsets, state, strides, dims):
    """The foreground voxels of ``flat`` with a face neighbour of another value, in index order,
    entered in ``state``: ``(front, n)``, the first ``n`` entries of ``front`` (room left for more).
    Counted first, then listed: no list of all the foreground voxels (1 GB for a dense 512³)."""
    n = _scan_border(flat, face_offsets, state, strides, dims, np.empty(0, np.int64), False)
    front = np.empty(2 * n + 1024, np.int64)
    return front, _scan_border(flat, face_offsets, state, strides, dims, front, True)


def sweep(flat, front, n_front, state, offsets, face_offsets, ndim, memo, gate=None, sweep_no=0):
    """One sweep (a sub-sweep per side, in ``face_offsets``' order) of the peeling of ``flat``, in place.

    ``front[:n_front]``: the voxels with a face neighbour of another value
    (and some deleted ones, dropped as it goes); ``state``: their bits (see
    ``IN_FRONT``); ``face_offsets`` axis by axis, − then + (a step along
    ``face_offsets[g]`` flips parity bit ``g // 2``); ``memo``: see
    :func:`_simple`.  Returns ``(voxels removed, front, n_front)`` (``front``
    grows when it could fill up).

    A voxel known to be an end point or not simple, whose neighbourhood has
    not changed since, is not looked at again: the answer is the same.

    ``gate`` (uint16, ``flat``'s length; optional): the first sweep in which
    each voxel may go (see :mod:`.._depth`); this is sweep ``sweep_no``.
    Returns ``(removed, front, n_front, held)``, ``held`` counting the
    candidates the gate kept back.
    """
    removed = 0
    held = 0
    gated = gate is not None
    gate_arr = gate if gated else np.zeros(1, np.uint16)
    for off in face_offsets.tolist():
        # the sub-sweep's candidates, fixed at its start
        starts = np.zeros((1 << ndim) + 1, np.int64)
        cand = np.empty(n_front, np.int64)
        m, n_front, h = _candidates(flat, front, n_front, state, off, offsets, starts, cand, gated, gate_arr,
                                    sweep_no)
        held += h
        order = np.empty(m, np.int64)
        _bucket(cand, state, starts, order)
        need = n_front + len(face_offsets) * m  # (each deletion adds at most 2·ndim voxels)
        if need > len(front):
            front = np.concatenate([front[:n_front], np.empty(max(need, 2 * len(front)) - n_front, np.int64)])
        gone, n_front = _delete(flat, order, front, n_front, state, offsets, face_offsets, ndim, memo)
        removed += gone
    return removed, front, n_front, held


def peel(flat, offsets, face_offsets, strides, dims, ndim: int, max_sweeps=None, progress=None,
         gate=None, first_sweep: int = 1) -> int:
    """Thin the padded flat array ``flat`` (0 background, any other value a label) in place.

    As :func:`napari_soft_skeleton.topological._peel` (same arguments, less
    its ``alive``/``parity``, which this one derives), sweep after sweep until
    nothing changes; ``progress(sweeps_done, sweeps_done + 1)`` after every
    sweep but the last, where an exception stops the thinning.  ``gate``: the
    physical-distance gate of :func:`._depth.physical_gate` (sweep ``t`` may
    delete only voxels whose gate is at most ``t``).  ``first_sweep``: the number of the first sweep (the
    gate's ``t``; a volume thinned a sweep at a time, chunk by chunk: :mod:`._chunked_thin`).  Returns the
    voxels the gate held back in the last sweep.
    """
    state = np.zeros(flat.shape, np.uint8)
    front, n_front = border(flat, face_offsets, state, strides, dims)
    memo = np.zeros(1 << 12, np.int64)
    sweeps, held = 0, 0
    while max_sweeps is None or sweeps < max_sweeps:
        sweeps += 1
        removed, front, n_front, held = sweep(flat, front, n_front, state, offsets, face_offsets, ndim, memo,
                                              gate, sweeps + first_sweep - 1)
        if removed == 0 and held == 0:
            break
        if progress is not None:
            progress(sweeps, sweeps + 1)
    return held
