"""Tubular trees with known centerlines, sampled at isotropic and at coarse-z spacings (seeded).

For the anisotropic benchmark (``bench_anisotropic.py``): a tree of tapering,
curving tubes is grown once in physical units (µm) by the sample generator
(``sample_volumes/make_samples.py``'s :class:`TreeGrower`) and rasterised —
each voxel centre tested against the union of balls — at spacings
``(k, 1, 1)`` µm for k = 1 (isotropic), 3 and 5: the same continuous tree
imaged with 3× and 5× coarser z steps, as in a two-photon stack.  The
generator's own topology checks run at every spacing; a branch whose
voxelisation at that spacing would change the mask's topology (two tubes
touching through a coarse slice, a crotch tunnel) is dropped with its
subtree, so every mask is one tree and its true centerline is the set of
polylines it kept.

The truth is returned as an SWC table in the candidate's frame (``x, y, z``
= physical position of voxel index ``(z, y, x)``), which
:func:`napari_soft_skeleton.compare` takes as a reference.

Vessel radii run from ``r_min`` (default 3 µm: a 6 µm vessel spans one or
two slices at a 5 µm step) to the root radius; thinner vessels than the z
step are not imaged as connected tubes by any method and are left out.

Run:  python benchmarks/anisotropic_trees.py   (prints what it builds)
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _make_samples():
    spec = importlib.util.spec_from_file_location("_make_samples", ROOT / "sample_volumes" / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["_make_samples"] = module
    spec.loader.exec_module(module)
    return module


def grow(extent=(160.0, 192.0, 192.0), *, seed: int = 7, root_radius: float = 8.0, r_min: float = 3.0,
         gap: float = 6.0, length_factor: float = 6.0, max_depth: int = 5):
    """Grow a tree in a box of ``extent`` µm (z, y, x); its branches as ``(parent, points, radii)``."""
    ms = _make_samples()
    ms.R_MIN, ms.GAP = r_min, gap
    shape = tuple(int(round(e)) for e in extent)
    cfg = ms.Config("aniso", shape, (1.0, 1.0, 1.0), seed=seed, root_radius=root_radius,
                    length_factor=length_factor, max_depth=max_depth)
    grower = ms.TreeGrower(cfg)
    grower.grow()
    order = sorted(grower.polylines)
    index = {b: i for i, b in enumerate(order)}
    branches = []
    for b in order:
        br = grower.branches[b]
        pts, rads = grower.polylines[b]
        parent_r = grower.branches[br.parent].r1 if br.parent >= 0 else 0.0
        stub = (len(pts) - 1) * ms.STEP < parent_r + br.r0 + 2.0
        parent = index[br.parent] if br.parent >= 0 else -1
        branches.append(None if stub else (parent, np.asarray(pts, float), np.asarray(rads, float)))
    return ms, extent, branches


def sample(ms, extent, branches, z_step: float):
    """The tree rasterised at spacing ``(z_step, 1, 1)``: ``(mask, spacing, swc_table)``."""
    spacing = (float(z_step), 1.0, 1.0)
    shape = tuple(int(np.floor(e / s)) for e, s in zip(extent, spacing))
    mask, kept = ms.render_tree(shape, spacing, branches)
    return mask, spacing, swc_table([branches[i] for i in kept], [i for i in kept])


def swc_table(kept_branches, kept_ids) -> pd.DataFrame:
    """The kept polylines as one SWC tree: each branch a chain, its first point joined to its parent's last."""
    rows, last_node = [], {}
    next_id = 1
    for bid, (parent, pts, rads) in zip(kept_ids, kept_branches):
        prev = last_node.get(parent, -1)
        for p, r in zip(pts, rads):
            rows.append((next_id, 0, p[2], p[1], p[0], r, prev))
            prev = next_id
            next_id += 1
        last_node[bid] = prev
    return pd.DataFrame(rows, columns=["id", "type", "x", "y", "z", "radius", "parent"])


def true_measures(table: pd.DataFrame) -> tuple[float, int]:
    """Cable length and number of tips (nodes of degree 1) of an SWC table."""
    pos = table[["x", "y", "z"]].to_numpy()
    row = {int(i): k for k, i in enumerate(table["id"])}
    up = np.array([row.get(int(p), -1) for p in table["parent"]])
    has = up >= 0
    length = float(np.linalg.norm(pos[has] - pos[up[has]], axis=1).sum())
    degree = np.bincount(up[has], minlength=len(up)) + has
    return length, int((degree == 1).sum())


if __name__ == "__main__":
    import time

    t0 = time.perf_counter()
    ms, extent, branches = grow()
    print(f"grown: {sum(b is not None for b in branches)} branches, {time.perf_counter() - t0:.1f} s")
    for k in (1, 3, 5):
        t0 = time.perf_counter()
        mask, spacing, table = sample(ms, extent, branches, k)
        length, tips = true_measures(table)
        print(f"z step {k}: shape {mask.shape}, {int(mask.sum())} voxels, cable {length:.0f} µm, "
              f"{tips} tips, {time.perf_counter() - t0:.1f} s")
