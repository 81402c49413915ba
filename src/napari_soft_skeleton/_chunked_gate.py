"""The physical-distance gate (:mod:`._depth`) of a volume too big for memory, region by region, exact.

The gate of a voxel is ``ceil(depth / h)``, ``depth`` its Euclidean distance
(physical units) to the nearest voxel of another value in the volume padded
by one voxel of background, ``h`` the smallest spacing.  A region's gate is
computed from the region grown by ``ceil(R / s_a)`` voxels along each axis
``a`` (clipped to the volume), padded with background only where it meets
the volume's edge (``edt`` with ``black_border=False`` sees no background at
the other, cut, sides).  Then, for a voxel of the region:

* its depth in the grown block is never below the true depth (the block
  holds a subset of the other values);
* if the true nearest other value lies in the block, both are equal; every
  voxel within ``R`` of the region is in the block (or beyond the volume's
  edge, where the padding is), so **a block depth of at most ``R`` is exact**
  (were the true depth smaller, its nearest voxel would lie within ``R``,
  hence in the block);
* a block depth above ``R`` proves nothing: the region is computed again
  with ``R`` doubled, until no depth exceeds it or no side is cut.

The depths come from the same transform (``edt``) on the same integer
offsets times the spacing as in memory, and the gate's slack (:data:`._depth._SLACK`)
absorbs float rounding at whole multiples of ``h``, so the gates are the
in-memory ones (tested).
"""

from __future__ import annotations

import math

import numpy as np

#: The first search radius, in voxels of the finest axis (doubled where a depth exceeds it).
FIRST_RADIUS = 32


def region_gate(read, region, shape, spacing, radius: float | None = None) -> np.ndarray:
    """The gate (uint16, ``region``'s shape; 0 on the background) of the voxels in ``region`` of the
    volume ``read(region)`` returns (a mask as 0/1 or a label image), exact (module docstring)."""
    import edt

    from ._depth import _to_gate

    spacing = tuple(float(s) for s in spacing)
    step = min(spacing)
    radius = FIRST_RADIUS * step if radius is None else radius
    while True:
        halo = [math.ceil(radius / s) for s in spacing]
        outer = tuple(slice(max(r.start - h, 0), min(r.stop + h, n)) for r, h, n in zip(region, halo, shape))
        block = np.ascontiguousarray(read(outer))
        if block.dtype == bool:
            block = block.view(np.uint8)
        before = [1 if o.start == 0 else 0 for o in outer]
        after = [1 if o.stop == n else 0 for o, n in zip(outer, shape)]
        padded = np.pad(block, list(zip(before, after)))
        depth = edt.edt(padded, anisotropy=spacing, black_border=False)
        core = tuple(slice(r.start - o.start + b, r.stop - o.start + b) for r, o, b in zip(region, outer, before))
        depth = depth[core]
        cut = [h * s for o, n, h, s in zip(outer, shape, halo, spacing) if o.start > 0 or o.stop < n]
        if not cut or float(depth.max(initial=0)) <= min(cut):
            return _to_gate(depth, step)
        radius *= 2
