"""A topology-preserving skeleton: parallel thinning by subfields.

Following the idea of Menten et al. (ICCV 2023, "A skeletonization algorithm
for gradient-based optimization"), the mask is thinned by repeatedly deleting
*simple* points that are not end points, in the 8 subfields of a 2×2×2
checkerboard (4 subfields of a 2×2 one in 2D): two points of one subfield are
never 26-adjacent, so deleting all simple points of a subfield at once is the
same as deleting them one by one, and topology is preserved exactly.

A point is simple (26/6 connectivity in 3D, 8/4 in 2D) iff deleting it leaves
the Euler characteristic unchanged and its foreground neighbours form exactly
one connected component (Lee, Kashyap & Chu 1994).  Both are computed here on
a bit-coded neighbourhood: the Euler change from the cells of the voxel's cube
that no other foreground cube shares, the components with a bit-parallel flood
fill.  Points are peeled layer by layer and one side at a time — in each
sub-sweep only the voxels whose neighbour on that side was background at its
start may go — so the result is centred.

Everything runs on the flat indices of a padded volume.  Label images are
thinned all labels at once (a neighbour counts only if it carries the voxel's
own label, which is exactly thinning each label alone), with their ids as they
are (never renumbered), and stacks of 2-D slices all slices at once.

Three implementations give the same skeleton, voxel for voxel (tested):

* :mod:`._peel_numba` (numba; the default): compiled loops whose work follows
  the surface — a front of border voxels, voxels known not deletable skipped
  until a neighbour goes — so thick and dense objects cost their surface per
  sweep, not their volume (see :func:`_compiled_peel` for when it runs);
* :func:`_peel` (NumPy): vectorised over all foreground voxels each
  sub-sweep; the fallback without numba, and for small jobs in a process that
  has not loaded numba yet;
* :func:`_thin_torch` (torch, for GPUs, in :mod:`._torch_peel`): the
  simple-point test as a lookup in a 2**26-entry table
  (:func:`simple_point_table`) and no host synchronisation inside a sweep.

The simple-point machinery itself lives in :mod:`._simple_points`.

With an anisotropic ``spacing`` the peeling is also gated by physical
distance (:mod:`._depth`): a sweep deletes only voxels whose Euclidean depth
below the surface, in physical units, the sweeps have reached, so that the
skeleton is centred in space, not in voxels.

The peeling keeps every end point it meets, so bumps on an object's surface
leave short terminal branches (spurs); the public functions then prune them
(``spurs="prune"``, the default) with the compiled pass of :mod:`._spurs`:
a terminal branch that protrudes beyond its junction's maximal ball by less
than that ball's radius is deleted, topology kept.  ``spurs="keep"`` returns
the peeling's skeleton as it is.
"""

from __future__ import annotations

import sys

import numpy as np

from ._simple_points import (
    _popcount,
    _steps,
    is_simple,
    neighbourhood_codes,
    simple_point_table,
)
from ._torch_peel import _thin_torch

__all__ = [
    "topological_skeleton",
    "topological_skeleton_mask",
    "topological_skeleton_labels",
    "topological_skeleton_slices",
    "is_simple",
    "neighbourhood_codes",
    "simple_point_table",
]


def _peel(flat, alive, parity, offsets, face_offsets, ndim: int, max_sweeps=None, labels=False,
          progress=None, gate=None) -> None:
    """Thin the padded flat 0/1 NumPy array ``flat`` in place (:func:`_thin_torch` is its GPU twin).

    ``alive``: flat indices of its foreground voxels; ``parity``: their
    subfield (coordinate parities as bits); ``offsets``: flat offsets of the
    3**ndim - 1 neighbours in bit order; ``face_offsets``: the 2·ndim face
    neighbours in peeling order.

    ``labels=True``: ``flat`` holds label ids (0 is background) and each
    label is thinned as if alone — a neighbour counts only when it has the
    voxel's own label, so other labels are background to it.  Deleting a
    voxel never changes what another label sees, and a label that stopped
    changing stays put, so the result is exactly that of thinning each label
    on its own, all labels in one pass.

    ``progress(sweeps_done, sweeps_done + 1)`` is called after every sweep
    but the last (the total is unknown until nothing changes); an exception
    raised in it stops the thinning.

    ``gate``: the physical-distance gate of :mod:`._depth` (sweep ``t``
    deletes only voxels whose gate is at most ``t``; sweeps go on while it
    holds a candidate back).
    """
    sweeps = 0
    while max_sweeps is None or sweeps < max_sweeps:
        sweeps += 1
        removed = 0
        held = 0
        # one direction at a time (as in Lee et al.): the points whose neighbour
        # on that side is background at the start of the sub-sweep may go
        for off in face_offsets:
            on_side = flat[alive + off] != flat[alive] if labels else flat[alive + off] == 0
            if gate is not None:
                deep = gate[alive] > sweeps
                held += int(np.count_nonzero(on_side & deep))
                on_side &= ~deep
            cand_all, cand_parity = alive[on_side], parity[on_side]
            # end points are judged at the start of the sub-sweep (as Lee et al.
            # do); simplicity at the moment of deletion, which keeps topology
            centre = flat[cand_all] if labels else None
            not_end = _popcount(neighbourhood_codes(flat, cand_all, offsets, centre)) > 1
            cand_all, cand_parity = cand_all[not_end], cand_parity[not_end]
            for sub in range(2**ndim):
                cand = cand_all[cand_parity == sub]
                if len(cand) == 0:
                    continue
                centre = flat[cand] if labels else None
                go = is_simple(neighbourhood_codes(flat, cand, offsets, centre), ndim)
                flat[cand[go]] = 0
                removed += int(go.sum())
            keep = flat[alive] != 0
            alive, parity = alive[keep], parity[keep]
        if removed == 0 and held == 0:
            break
        if progress is not None:
            progress(sweeps, sweeps + 1)


def topological_skeleton_mask(mask: np.ndarray, *, max_sweeps: int | None = None, progress=None,
                              spurs: str = "prune", spacing=None) -> np.ndarray:
    """Topology-preserving skeleton of a 2-D or 3-D boolean mask.

    Parameters
    ----------
    mask : array_like of bool
        2-D or 3-D mask.
    max_sweeps : int, optional
        Stop the peeling after this many sweeps (a part-way thinning, for
        display); no spur is pruned then.
    progress : callable, optional
        ``progress(done, total)``, called after each sweep (the total grows
        as sweeps go on); an exception raised in it stops the work.
    spurs : {'prune', 'keep'}, optional
        ``'prune'`` (default): delete the spurs that surface bumps grow — a
        terminal branch (end point to junction) whose length ``L``, less the
        drop of the distance to the background from its junction to its tip
        (``R_j - R_t``), is below ``R_j``: it protrudes less than the local
        radius beyond the surface (see :mod:`napari_soft_skeleton._spurs`).
        Each junction keeps two branches, branches leaving the image stay,
        topology is kept.  ``'keep'``: the peeling's skeleton as it is
        (every end point it met).
    spacing : sequence of float, optional
        Voxel size per axis.  On anisotropic voxels the peeling is ordered by
        physical distance (a voxel may go only once the sweeps have reached
        its Euclidean depth below the surface, in these units; see
        :mod:`napari_soft_skeleton._depth`), so the skeleton is centred in
        space rather than in voxels; the pruning measures its lengths and
        distances in these units.  Equal spacings give the grid's skeleton.

    Returns
    -------
    ndarray of bool
        Same shape: a subset of ``mask`` with the same connected components,
        holes (loops) and cavities, one voxel thin.  Isolated voxels and small
        objects are kept (shrunk to one to three voxels), never dropped.
    """
    mask = np.asarray(mask, dtype=bool)
    _check_ndim(mask)
    spacing = _check_spurs(spurs, spacing, mask.ndim)
    return _thin_numpy(mask, labels=False, max_sweeps=max_sweeps, progress=progress, spurs=spurs, spacing=spacing)


def topological_skeleton_labels(labels: np.ndarray, *, progress=None, spurs: str = "prune",
                                spacing=None) -> np.ndarray:
    """Topology-preserving skeleton of each label of a 2-D or 3-D label image, all in one pass.

    Every label is thinned (and its spurs pruned) as if it were alone (the
    other labels are background to it, so touching labels never merge): the
    result equals ``topological_skeleton_mask(labels == i)`` for every label
    ``i``, carries the label ids and has ``labels``' dtype.  0 is the
    background; labels must be non-negative integers, of any size: ids are
    compared as they are, never renumbered, so 64-bit ids cost the same as 1,
    2, 3, ...  ``progress``, ``spurs`` and ``spacing`` as in
    :func:`topological_skeleton_mask`.
    """
    labels = np.asarray(labels)
    _check_ndim(labels)
    spacing = _check_spurs(spurs, spacing, labels.ndim)
    return _thin_values(labels, batch=False, progress=progress, spurs=spurs, spacing=spacing)


def _check_spurs(spurs, spacing, ndim: int):
    """Check ``spurs`` and ``spacing`` (``ndim`` positive numbers); the spacing as a tuple or None."""
    if spurs not in ("prune", "keep"):
        raise ValueError(f"spurs must be 'prune' or 'keep'; got {spurs!r}")
    from ._spacing import check_spacing

    return check_spacing(spacing, ndim)


def _thin_values(values: np.ndarray, *, batch: bool, progress=None, checked: bool = False, spurs: str = "keep",
                 spacing=None) -> np.ndarray:
    """Thin a boolean mask, or each label of an integer label image on its own; ``values``' dtype.

    ``checked``: the caller has made sure that no label is negative (saves a pass).  ``spurs``,
    ``spacing`` (of the thinned axes): as in :func:`topological_skeleton_mask`."""
    if values.dtype.kind == "b":
        return _thin_numpy(values, labels=False, batch=batch, progress=progress, spurs=spurs, spacing=spacing)
    if values.dtype.kind not in "iu":
        raise ValueError(f"expected a boolean mask or an integer label image; got dtype {values.dtype}")
    if not checked and values.size and values.dtype.kind == "i" and values.min() < 0:
        raise ValueError("label images must be non-negative integers (0 is background)")
    return _thin_numpy(values, labels=True, batch=batch, progress=progress, spurs=spurs, spacing=spacing)


def _compact_ids(labels: np.ndarray, limit: int):
    """``(labels, None)`` when no id exceeds ``limit``; else ``(compact, ids)``: the ids renumbered
    1, 2, ... (0 stays the background; the smallest integer type that holds them) and
    ``ids[new] == old``.  For what needs small ids (``ndi.find_objects``, int32 on a GPU):
    fastremap renumbers with a hash map, ~20x faster than ``np.unique``'s sort."""
    if labels.size == 0 or int(labels.max()) <= limit:
        return labels, None
    import fastremap

    if not labels.dtype.isnative:  # (fastremap takes native byte order only)
        labels = labels.astype(labels.dtype.newbyteorder("="))
    compact, mapping = fastremap.renumber(labels, preserve_zero=True, in_place=False)
    old = np.fromiter(mapping.keys(), labels.dtype, len(mapping))
    new = np.fromiter(mapping.values(), np.int64, len(mapping))
    ids = np.zeros(int(new.max()) + 1, labels.dtype)
    ids[new] = old
    return compact, ids


def _check_ndim(array: np.ndarray) -> None:
    if array.ndim not in (2, 3):
        raise ValueError(f"expected a 2D or 3D mask; got {array.ndim}D with shape {array.shape}")


def topological_skeleton_slices(values: np.ndarray, *, spurs: str = "prune", spacing=None) -> np.ndarray:
    """Each 2-D slice ``values[z]`` of a 3-D mask or label image thinned on its own, all in one pass.

    The same as thinning slice by slice with :func:`topological_skeleton_mask`
    (:func:`topological_skeleton_labels` for integer labels), without the
    per-call overhead; same dtype as ``values``.  ``spurs`` as there, the
    pruning in 2-D; ``spacing``: the ``(y, x)`` pixel size of a slice.
    """
    values = np.asarray(values)
    if values.ndim != 3:
        raise ValueError(f"expected a 3D stack of 2D slices; got {values.ndim}D with shape {values.shape}")
    spacing = _check_spurs(spurs, spacing, 2)
    return _thin_values(values, batch=True, spurs=spurs, spacing=spacing)


#: Which peeling runs — both give the same skeleton, voxel for voxel: ``"compiled"``
#: (:mod:`._peel_numba`), ``"numpy"`` (:func:`_peel`), or ``"auto"``: the compiled one where numba
#: imports, except for small jobs in a process that has not loaded numba yet (see below).
_ENGINE = "auto"
#: Foreground voxels from which ``"auto"`` loads numba: its first use in a process costs
#: ~0.3 s of import and ~0.5 s of set-up (more when it must compile), more than the NumPy
#: peeling takes below this size (all the shipped samples are below it).
_COMPILED_FROM = 250_000


def _compiled_peel(values: np.ndarray):
    """:func:`._peel_numba.peel` for thinning ``values``, or None (:func:`_peel` then runs)."""
    if _ENGINE == "numpy":
        return None
    if _ENGINE == "auto" and "numba" not in sys.modules and np.count_nonzero(values) < _COMPILED_FROM:
        return None
    try:
        from ._peel_numba import peel
    except ImportError:  # no numba for this platform / Python
        if _ENGINE == "compiled":
            raise
        return None
    return peel


def _padded(values: np.ndarray, labels: bool, batch: bool = False):
    """``(padded, strides, offsets, face_offsets)``: ``values`` padded by one voxel of background (the
    last ``ndim`` axes; C order) in the peeling's type, its strides (voxels) and neighbour offsets."""
    ndim = values.ndim - batch
    inner = (slice(None),) * batch + (slice(1, -1),) * ndim
    # masks as bytes, ids as unsigned 32- or 64-bit integers (non-negative: checked by the
    # callers), so that the compiled peeling has three array types to be compiled for.  (Narrowing
    # 64-bit ids that fit in 32 bits costs more passes over the volume than it saves.)
    work = np.uint8 if not labels else np.uint32 if values.dtype.itemsize <= 4 else np.uint64
    padded = np.zeros(values.shape[:batch] + tuple(n + 2 for n in values.shape[batch:]), work)  # C order
    padded[inner] = values
    strides = (np.array(padded.strides, dtype=np.int64) // padded.itemsize)[batch:]
    offsets = np.array(_steps(ndim), dtype=np.int64) @ strides
    # opposite sides one after the other (z-, z+, y-, y+, x-, x+): symmetric peeling
    face_offsets = np.array([sign * strides[axis] for axis in range(ndim) for sign in (-1, 1)], np.int64)
    return padded, strides, offsets, face_offsets


def _thin_numpy(values: np.ndarray, *, labels: bool, max_sweeps: int | None = None, batch: bool = False,
                progress=None, spurs: str = "keep", spacing=None) -> np.ndarray:
    """Pad, peel (compiled, or :func:`_peel` on the flat foreground indices), prune, crop; ``values``' dtype.

    ``batch=True``: axis 0 stacks independent images (only the other axes are
    padded, so neighbourhoods never cross from one image to the next).  Label
    ids are thinned as they are, whatever their size: only equality matters,
    and ids are never renumbered (no pass over the volume beyond the padded copy).
    """
    ndim = values.ndim - batch
    inner = (slice(None),) * batch + (slice(1, -1),) * ndim
    padded, strides, offsets, face_offsets = _padded(values, labels, batch)
    flat = padded.reshape(-1)  # a view of `padded`
    from ._depth import physical_gate

    gate = physical_gate(padded, spacing, batch)
    peel = _compiled_peel(values)
    if peel is not None:
        dims = np.array(padded.shape[batch:], np.int64)
        peel(flat, offsets, face_offsets, strides, dims, ndim, max_sweeps, progress, gate)
    else:
        alive = np.flatnonzero(flat)
        coords = np.unravel_index(alive, padded.shape)[batch:]
        parity = np.zeros(alive.shape, np.uint8)
        for axis in range(ndim):
            parity |= ((coords[axis] & 1).astype(np.uint8) << axis)
        _peel(flat, alive, parity, offsets.tolist(), face_offsets.tolist(), ndim, max_sweeps, labels, progress,
              gate)
    if spurs == "prune" and max_sweeps is None:
        try:
            from ._spurs import prune_padded
        except ImportError:  # (numba is a dependency; a platform without it keeps every spur)
            import warnings

            warnings.warn("numba is not available: the skeleton's spurs are not pruned", RuntimeWarning, stacklevel=4)
        else:
            prune_padded(flat, padded.shape, values, ndim, int(batch), spacing)
    out = padded[inner]
    if out.dtype.itemsize == values.dtype.itemsize and values.dtype.isnative:
        # the same bytes (ids are non-negative); a C-ordered copy, not a view that keeps the padding alive
        return np.ascontiguousarray(out).view(values.dtype)
    return out.astype(values.dtype)


def topological_skeleton(img, *, threshold: float = 0.5, sample: bool = False, generator=None):
    """Topology-preserving skeleton of a batch of 2-D or 3-D probability maps (torch).

    Parameters
    ----------
    img : torch.Tensor
        ``(N, C, H, W)`` or ``(N, C, D, H, W)`` floating-point tensor of
        probabilities, any device.  Not modified.
    threshold : float, optional
        Deterministic binarization ``img > threshold`` (when ``sample`` is
        False).
    sample : bool, optional
        Binarize by sampling instead: each voxel is foreground with
        probability ``img`` (logistic-noise / Bernoulli sampling, as Menten et
        al. do during training), using ``generator`` if given.

    Returns
    -------
    torch.Tensor
        The skeleton, 0/1 values of ``img``'s dtype and device.  Gradients
        pass straight through: the backward pass treats the skeleton as the
        identity of ``img`` (straight-through estimator), so it can sit in a
        loss.

    Raises
    ------
    ValueError
        If ``img`` is not a dense 4-D/5-D float16/bfloat16/float32/float64
        tensor holding data (not on the ``meta`` device) with non-empty
        spatial axes (the checks of :func:`~napari_soft_skeleton.soft_skeleton`).
        An empty batch (``N`` or ``C`` of 0) gives an empty result.

    Notes
    -----
    On the CPU the thinning is that of :func:`topological_skeleton_mask`, the
    whole batch in one pass; on other devices (CUDA, MPS) the same peeling
    runs on the device with torch, giving the same skeleton.
    """
    import torch

    from .soft import check_soft_input

    check_soft_input(img, 0, name="topological_skeleton")
    with torch.no_grad():
        probs = img.detach()
        if sample:
            noise = torch.rand(probs.shape, generator=generator, device=probs.device, dtype=probs.dtype)
            binary = noise < probs
        else:
            binary = probs > threshold
        masks = binary.reshape((-1,) + tuple(img.shape[2:]))
        if masks.device.type == "cpu":  # the whole batch in one NumPy pass
            skel = _thin_numpy(masks.numpy().astype(np.uint8), labels=False, batch=True)
            hard = torch.from_numpy(skel.astype(bool))
        else:
            hard = _thin_torch(masks)
        hard = hard.reshape(img.shape).to(device=img.device, dtype=img.dtype)
    if img.requires_grad and torch.is_grad_enabled():
        return hard + (img - img.detach())
    return hard
