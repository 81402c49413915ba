#!/usr/bin/env python
"""Generate the synthetic vessel-tree samples shipped in ``sample_volumes/``.

Each sample is a single branching tree (no loops) grown from a root trunk that
splits recursively into curved, tapering branches, rendered as the union of
balls along the branch centerlines. For every sample three files are written
(zlib-compressed TIFF, ImageJ metadata with the voxel spacing in µm):

* ``<name>_mask.tif``        uint8 0/1, the binary vessel mask
* ``<name>_centerline.tif``  uint8 0/1, the generating centerlines, rasterised
                             (every centerline voxel lies inside the mask)
* ``<name>_prob.tif``        uint8 0..255, a smooth "probability map"
                             (Gaussian-blurred mask with a little smooth noise
                             near the vessels); divide by 255 for [0, 1]

The trees are generated in physical units (µm), so a sample with an
anisotropic voxel spacing has round vessels in physical space.

Growth keeps a clearance larger than a voxel diagonal between branches that
are not joined at a junction, so they never touch. Rasterisation then checks
the digital topology branch by branch: background pockets enclosed in the
crotch of a junction are filled and digital tunnels there are closed with a
tiny local closing (a branch that still changed the topology would be dropped
with its subtree; with the shipped seeds none is). Stub branches that hardly
leave their parent are left out.

The output is deterministic (seeded ``numpy.random.default_rng``). The script
asserts that every mask is exactly one 26-connected (8-connected in 2D)
component with Euler number 1, i.e. a tree of tubes without tunnels or
cavities, that it does not touch the volume border, and that the centerline
lies inside the mask and is one connected component.

Usage::

    python sample_volumes/make_samples.py                  # all, next to this script
    python sample_volumes/make_samples.py OUTDIR --sizes 64 2d

Only numpy, scipy, scikit-image and tifffile are needed.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile
from scipy import ndimage as ndi
from skimage.measure import euler_number

STEP = 0.5  # µm between consecutive centerline samples of a branch
GAP = 2.5  # µm, minimal clearance between the surfaces of unrelated branches
BORDER = 1.0  # µm, minimal clearance between a vessel surface and the volume edge
R_MIN = 1.0  # µm, smallest vessel radius
MAX_POINTS = 60_000  # safety bound on the total number of centerline samples


@dataclass(frozen=True)
class Config:
    """Parameters of one synthetic sample."""

    name: str
    shape: tuple[int, ...]
    spacing: tuple[float, ...]  # µm per voxel, axis order (z,) y, x
    seed: int
    root_radius: float  # µm
    length_factor: float  # branch length ≈ length_factor * radius (µm)
    n_trunks: int = 1  # trunks leaving the root point (retina-like: several)
    max_depth: int = 8


CONFIGS: dict[str, Config] = {
    "64": Config("vessel_64", (64, 64, 64), (1.0, 1.0, 1.0), seed=64,
                 root_radius=3.0, length_factor=5.0, max_depth=6),
    "128": Config("vessel_128", (128, 128, 128), (1.0, 0.5, 0.5), seed=128,
                  root_radius=3.0, length_factor=6.0, max_depth=5),
    "256": Config("vessel_256", (256, 256, 256), (1.0, 1.0, 1.0), seed=256,
                  root_radius=6.0, length_factor=8.0, max_depth=8),
    "2d": Config("vessel_2d", (256, 256), (1.0, 1.0), seed=2,
                 root_radius=4.0, length_factor=8.0, n_trunks=4, max_depth=6),
}


# --------------------------------------------------------------------------
# tree growth (physical coordinates; voxel i has its centre at i * spacing)
# --------------------------------------------------------------------------


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _random_perpendicular(d: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random unit vector perpendicular to the unit vector ``d``."""
    if d.size == 2:
        u = np.array([-d[1], d[0]])
        return u if rng.random() < 0.5 else -u
    while True:
        v = rng.normal(size=d.size)
        v -= v.dot(d) * d
        n = np.linalg.norm(v)
        if n > 1e-3:
            return v / n


@dataclass
class _Branch:
    start: np.ndarray
    direction: np.ndarray
    r0: float  # radius at the start (µm)
    r1: float  # radius at the end (µm)
    length: float  # planned length (µm)
    parent: int  # branch id, -1 for a trunk
    depth: int
    junction: float  # arc length (µm) within which the branch may overlap its relatives


class TreeGrower:
    """Grow a loop-free tree of tubes inside a box.

    A branch is a sequence of balls ``STEP`` µm apart whose direction changes
    smoothly (a correlated random curvature plus a push away from the faces).
    A new ball is accepted only if it keeps a clearance of ``GAP`` to every
    ball of every other branch. The exceptions are the branch's own recent
    balls, and the balls of its parent and siblings around their common
    junction, which it may overlap only while moving monotonically away from
    them. Since ``GAP`` exceeds a voxel diagonal, branches that are not joined
    at a junction can never touch in the rasterised mask, so the mask is a
    tree. A branch that cannot continue stops there (an end point).
    """

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.ndim = len(cfg.shape)
        self.spacing = np.asarray(cfg.spacing, float)
        self.extent = (np.asarray(cfg.shape) - 1) * self.spacing
        if GAP <= np.linalg.norm(self.spacing):
            raise ValueError("GAP must exceed the voxel diagonal")
        self.rng = np.random.default_rng(cfg.seed)
        self.pts = np.zeros((MAX_POINTS, self.ndim))
        self.rad = np.zeros(MAX_POINTS)
        self.bid = np.full(MAX_POINTS, -1, dtype=np.int64)
        self.arc = np.zeros(MAX_POINTS, dtype=np.int64)
        self.exempt = np.zeros(MAX_POINTS, dtype=bool)
        self.n = 0
        # spatial hash: cells larger than any interaction distance
        self.cell = 2 * cfg.root_radius + GAP
        self.grid: dict[tuple[int, ...], list[int]] = {}
        self.offsets = [tuple(o) for o in np.ndindex(*(3,) * self.ndim)]
        self.branches: list[_Branch] = []
        self.polylines: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # (points, radii)
        self.children: dict[int, list[int]] = {}
        self.stopped: dict[int, str] = {}  # why a branch stopped early

    # -- geometry helpers ---------------------------------------------------
    def _inside(self, p: np.ndarray, r: float) -> bool:
        m = r + BORDER
        return bool(np.all(p >= m) and np.all(p <= self.extent - m))

    def _push(self, p: np.ndarray, r: float) -> np.ndarray:
        """Steering away from the volume faces (zero far from them)."""
        zone = 10.0
        lo = p - (r + BORDER)
        hi = self.extent - (r + BORDER) - p
        push = np.clip((zone - lo) / zone, 0, None) - np.clip((zone - hi) / zone, 0, None)
        return 0.3 * push

    def _neighbours(self, q: np.ndarray) -> np.ndarray:
        c = np.floor(q / self.cell).astype(int) - 1
        idx: list[int] = []
        for o in self.offsets:
            idx.extend(self.grid.get(tuple(c + o), ()))
        return np.asarray(idx, dtype=np.int64)

    def _clearance(self, q: np.ndarray, r: float, b: int, k: int) -> tuple[float, dict[int, float]]:
        """Clearances (µm, ``< 0``: too close) of a new ball to the others.

        Returns the smallest clearance to the balls that must be avoided, and
        per relative branch the smallest clearance to its exempted balls
        around the junction.
        """
        idx = self._neighbours(q)
        if idx.size == 0:
            return np.inf, {}
        clear = np.sqrt(np.sum((self.pts[idx] - q) ** 2, axis=1)) - (r + self.rad[idx] + GAP)
        # own samples close along the arc are neighbours, not collisions
        window = int(np.ceil((2 * self.branches[b].r0 + GAP + 2.0) / STEP))
        skip = (self.bid[idx] == b) & (self.arc[idx] > k - window)
        rel: dict[int, float] = {}
        ex = self.exempt[idx]
        if ex.any():
            for j in np.unique(self.bid[idx[ex]]):
                rel[int(j)] = float(clear[ex & (self.bid[idx] == j)].min())
            skip |= ex
        clear = clear[~skip]
        return (float(clear.min()) if clear.size else np.inf), rel

    def _add(self, q: np.ndarray, r: float, b: int, k: int) -> None:
        if self.n >= MAX_POINTS:
            raise RuntimeError("too many centerline samples; lower the tree size")
        i = self.n
        self.pts[i] = q
        self.rad[i] = r
        self.bid[i] = b
        self.arc[i] = k
        self.grid.setdefault(tuple(np.floor(q / self.cell).astype(int)), []).append(i)
        self.n += 1

    # -- growth -------------------------------------------------------------
    def _grow(self, b: int) -> bool:
        """Grow branch ``b``; return True if it reached its planned length."""
        br = self.branches[b]
        rng = self.rng
        n_steps = max(2, int(round(br.length / STEP)))
        # balls of the parent and the siblings around the junction
        relatives = [br.parent] + self.children.get(br.parent, [])
        n0 = self.n
        near = np.sum((self.pts[:n0] - br.start) ** 2, axis=1) < (2 * br.junction) ** 2
        self.exempt[:n0] = near & np.isin(self.bid[:n0], relatives)

        p = br.start.copy()
        d = br.direction.copy()
        curv = np.zeros(self.ndim)
        # Near the junction the new branch may overlap a relative, but only
        # while its clearance to that relative grows; once positive, the
        # relative is checked like any other branch, so the new branch can
        # never come back and close a loop with it.
        rel_prev: dict[int, float] = {}
        # correlated random curvature: typical radius of curvature ~ 12 r + 15 µm
        # (thick vessels are straighter), with a correlation length of 10 µm
        sigma_c = np.sqrt(1 - 0.95**2) / (12 * br.r0 + 15.0) / np.sqrt(self.ndim - 1)
        pts = [p.copy()]
        rads = [br.r0]
        self._add(p, br.r0, b, 0)
        complete = True
        for k in range(1, n_steps + 1):
            r = br.r0 + (br.r1 - br.r0) * k / n_steps
            if k * STEP >= br.junction:
                self.exempt[:n0] = False
            for attempt in range(6):
                c = 0.95 * curv + rng.normal(scale=sigma_c * (1 + 2 * attempt), size=self.ndim)
                c -= c.dot(d) * d
                d_try = _unit(d + STEP * c + self._push(p, r))
                q = p + STEP * d_try
                if not self._inside(q, r):
                    reason = "border"
                    continue
                others, rel = self._clearance(q, r, b, k)
                if others >= 0 and all(v >= 0 or v >= rel_prev.get(j, -np.inf)
                                       for j, v in rel.items()):
                    break
                reason = "collision" if others < 0 else "junction"
            else:
                self.stopped[b] = reason
                complete = False
                break
            for j, v in rel.items():
                if v >= 0:  # separated from relative j: no longer exempt
                    self.exempt[:n0] &= self.bid[:n0] != j
                rel_prev[j] = v
            curv, d, p = c, d_try, q
            self._add(p, r, b, k)
            pts.append(p.copy())
            rads.append(r)
        self.exempt[:] = False
        br.direction = d
        self.polylines[b] = (np.array(pts), np.array(rads))
        return complete

    def _new_branch(self, start, direction, r0, parent, depth, junction) -> int:
        rng = self.rng
        r1 = max(R_MIN, r0 * rng.uniform(0.85, 0.95))
        length = r0 * self.cfg.length_factor * rng.uniform(0.7, 1.3) + rng.uniform(8.0, 16.0)
        self.branches.append(_Branch(np.asarray(start, float), _unit(np.asarray(direction, float)),
                                     float(r0), float(r1), float(length), parent, depth, float(junction)))
        b = len(self.branches) - 1
        self.children.setdefault(parent, []).append(b)
        return b

    def grow(self) -> None:
        cfg, rng = self.cfg, self.rng
        nd = self.ndim
        # root point and trunk direction(s)
        if cfg.n_trunks == 1:
            root = self.extent / 2
            root[0] = cfg.root_radius + BORDER + 1.0  # enters near the first face (top)
            dirs = [_unit(np.eye(nd)[0] + rng.normal(scale=0.15, size=nd))]
        else:
            root = self.extent * np.array([0.5, 0.38])[:nd]  # "optic disc" left of centre
            a0 = rng.uniform(0, 2 * np.pi)
            angles = a0 + 2 * np.pi * np.arange(cfg.n_trunks) / cfg.n_trunks
            angles += rng.uniform(-0.2, 0.2, cfg.n_trunks)
            dirs = [np.array([np.sin(a), np.cos(a)]) for a in angles]
        junction = 2 * (cfg.root_radius + GAP) + 2.0
        queue = [self._new_branch(root, d, cfg.root_radius, -1, 0, junction) for d in dirs]
        # breadth-first, so that space is shared fairly between the subtrees
        while queue:
            b = queue.pop(0)
            complete = self._grow(b)
            br = self.branches[b]
            grown = (len(self.polylines[b][0]) - 1) * STEP
            if br.depth >= cfg.max_depth or (not complete and grown < 0.5 * br.length):
                continue
            # split by Murray's law r^3 = ra^3 + rb^3, often asymmetric
            kappa = rng.uniform(0.3, 1.0)
            ra = max(R_MIN, br.r1 / (1 + kappa**3) ** (1 / 3))
            rb = max(R_MIN, kappa * ra)
            end = self.polylines[b][0][-1]
            u = _random_perpendicular(br.direction, rng)
            tha = np.deg2rad(rng.uniform(10, 30) * (0.5 + kappa / 2))
            thb = np.deg2rad(rng.uniform(40, 75))
            da = np.cos(tha) * br.direction + np.sin(tha) * u
            db = np.cos(thb) * br.direction - np.sin(thb) * u
            junction = 2 * (br.r1 + GAP) + 2.0
            queue.append(self._new_branch(end, da, ra, b, br.depth + 1, junction))
            queue.append(self._new_branch(end, db, rb, b, br.depth + 1, junction))


# --------------------------------------------------------------------------
# rasterisation
# --------------------------------------------------------------------------


def render_branch(shape, spacing, pts: np.ndarray, rads: np.ndarray, margin: int = 2):
    """Union of balls (physical radii) along one branch, in its bounding box.

    Returns ``(slices, local_mask)``; the box has ``margin`` voxels of
    background around the balls (clipped to the volume).
    """
    spacing = np.asarray(spacing, float)
    shape_a = np.asarray(shape)
    rmax = float(rads.max())
    box_lo = np.maximum(np.floor((pts.min(0) - rmax) / spacing).astype(int) - margin, 0)
    box_hi = np.minimum(np.ceil((pts.max(0) + rmax) / spacing).astype(int) + margin + 1, shape_a)
    local = np.zeros(tuple(box_hi - box_lo), dtype=bool)
    for q, r in zip(pts, rads):
        lo = np.maximum(np.floor((q - r) / spacing).astype(int), box_lo)
        hi = np.minimum(np.ceil((q + r) / spacing).astype(int) + 1, box_hi)
        grids = np.ogrid[tuple(slice(a, b) for a, b in zip(lo, hi))]
        d2 = sum((g * s - c) ** 2 for g, s, c in zip(grids, spacing, q))
        local[tuple(slice(a - o, b - o) for a, b, o in zip(lo, hi, box_lo))] |= d2 <= r * r
    return tuple(slice(a, b) for a, b in zip(box_lo, box_hi)), local


def render_tree(shape, spacing, branches: list[tuple[int, np.ndarray, np.ndarray]]):
    """Rasterise a tree branch by branch, keeping its digital topology a tree.

    ``branches`` is ``(parent, points, radii)`` in an order where parents come
    first. Each branch is added as a union of balls; background pockets fully
    enclosed in the crotch of a junction (digital holes/cavities that the
    continuous shape does not have) are filled. The Euler number is local (a
    sum over 2x2(x2) configurations), so its change is measured in the
    branch's bounding box. Where the voxelisation of a junction still changes
    the topology (a digital tunnel in the crotch where two tubes diverge), a
    small closing next to the branch is tried; if that does not help, the
    branch is dropped together with its descendants. Returns the mask and
    the indices of the kept branches.
    """
    ndim = len(shape)
    mask = np.zeros(shape, dtype=bool)
    kept: list[int] = []
    alive = set()
    for i, branch in enumerate(branches):
        if branch is None:  # excluded by the caller
            continue
        parent, pts, rads = branch
        if parent >= 0 and parent not in alive:
            continue
        sl, local = render_branch(shape, spacing, pts, rads)
        before = mask[sl]
        after = ndi.binary_fill_holes(before | local)
        expected = 1 if not kept else 0
        chi0 = euler_number(before, ndim)
        if euler_number(after, ndim) - chi0 != expected:
            # smooth the crotch: a closing, adding voxels next to the branch only
            near = ndi.binary_dilation(local, np.ones((3,) * ndim, bool))
            for size in (1, 2):
                structure = ndi.generate_binary_structure(ndim, size)
                fixed = after | (ndi.binary_closing(after, structure) & near)
                fixed = ndi.binary_fill_holes(fixed)
                if euler_number(fixed, ndim) - chi0 == expected:
                    after = fixed
                    break
            else:
                continue
        mask[sl] = after
        kept.append(i)
        alive.add(i)
    return mask, kept


def _thin_chain(vox: np.ndarray) -> np.ndarray:
    """Drop redundant corner voxels from a connected chain of voxels.

    Greedily jumps to the furthest later voxel that is still a (26/8-)neighbour
    of the current one, so the result is a 1-voxel-thin chain made only of
    voxels of the input chain (all of which lie inside the mask).
    """
    keep = [0]
    i, n = 0, len(vox)
    while i < n - 1:
        j = i + 1
        while j + 1 < n and np.max(np.abs(vox[j + 1] - vox[i])) <= 1:
            j += 1
        keep.append(j)
        i = j
    return vox[keep]


def render_centerline(shape, spacing, polylines) -> np.ndarray:
    """Voxels nearest to the centerline samples, as thin connected chains.

    Consecutive samples are ``STEP`` µm apart, at most one voxel in every
    axis, so the rounded samples form a connected chain; the voxel nearest to
    a sample is within half a voxel diagonal (< R_MIN) of it, hence inside
    the mask. ``polylines`` must list parents before children. Where a child
    chain leaves a junction it may run next to its parent's or sibling's
    chain for a voxel or two; its start is trimmed to the last voxel touching
    the chains already drawn, so the centerline stays a digital tree.
    """
    spacing = np.asarray(spacing, float)
    shape_a = np.asarray(shape)
    out = np.zeros(shape, dtype=bool)
    for pts, _ in polylines:
        vox = np.rint(pts / spacing).astype(int)
        keep = np.ones(len(vox), bool)
        keep[1:] = np.any(vox[1:] != vox[:-1], axis=1)
        vox = _thin_chain(vox[keep])
        start = 0
        for i, v in enumerate(vox):
            lo = np.maximum(v - 1, 0)
            hi = np.minimum(v + 2, shape_a)
            if out[tuple(slice(a, b) for a, b in zip(lo, hi))].any():
                start = i
        if out[tuple(vox[start])]:
            start += 1
        out[tuple(vox[start:].T)] = True
    return out


def render_probability(mask: np.ndarray, spacing, seed: int) -> np.ndarray:
    """Smooth probability map, uint8-quantised (value / 255 is in [0, 1]).

    The mask blurred with a Gaussian (sigma 0.4 µm: soft edges, and
    ``prob > 0.5`` still matches the mask closely, thin vessels included),
    plus smooth noise (sigma 1.5 µm, amplitude ~0.1) confined to the
    neighbourhood of the vessels, clipped to [0, 1]. Both Gaussians are
    truncated at 4 sigma, so the map is exactly 0 farther than 4 µm from the
    vessels, which keeps the file small.
    """
    rng = np.random.default_rng(seed + 1000)
    spacing = np.asarray(spacing, float)
    m = mask.astype(np.float32)
    blurred = ndi.gaussian_filter(m, sigma=tuple(0.4 / spacing), truncate=4.0)
    envelope = ndi.gaussian_filter(m, sigma=tuple(1.0 / spacing), truncate=4.0)
    envelope /= max(float(envelope.max()), 1e-6)
    noise = ndi.gaussian_filter(rng.standard_normal(mask.shape, dtype=np.float32),
                                sigma=tuple(1.5 / spacing))
    noise /= max(float(noise.std()), 1e-6)
    prob = np.clip(blurred + 0.1 * noise * np.sqrt(envelope), 0.0, 1.0)
    return np.rint(prob * 255).astype(np.uint8)


# --------------------------------------------------------------------------
# I/O and checks
# --------------------------------------------------------------------------


def write_tiff(path: Path, arr: np.ndarray, spacing) -> None:
    """zlib TIFF with ImageJ metadata: XY resolution in px/µm, Z spacing in µm."""
    spacing = tuple(float(s) for s in spacing)
    axes = "ZYX" if arr.ndim == 3 else "YX"
    metadata = {"unit": "um", "axes": axes}
    if arr.ndim == 3:
        metadata["spacing"] = spacing[0]
    tifffile.imwrite(
        path, arr, imagej=True, resolution=(1.0 / spacing[-1], 1.0 / spacing[-2]),
        metadata=metadata, compression="zlib", predictor=True,
    )


def check(mask: np.ndarray, centerline: np.ndarray, name: str) -> None:
    structure = np.ones((3,) * mask.ndim, bool)
    _, n_comp = ndi.label(mask, structure=structure)
    assert n_comp == 1, f"{name}: mask has {n_comp} components, expected 1"
    chi = euler_number(mask, connectivity=mask.ndim)
    assert chi == 1, f"{name}: mask Euler number {chi}, expected 1 (a tree)"
    assert centerline.any(), f"{name}: empty centerline"
    assert not (centerline & ~mask).any(), f"{name}: centerline leaves the mask"
    _, n_cl = ndi.label(centerline, structure=structure)
    assert n_cl == 1, f"{name}: centerline has {n_cl} components, expected 1"
    chi = euler_number(centerline, connectivity=mask.ndim)
    assert chi == 1, f"{name}: centerline Euler number {chi}, expected 1 (a tree)"
    assert not mask[(0, -1), ...].any() and not mask[..., (0, -1)].any(), f"{name}: touches border"


def make_sample(cfg: Config) -> dict[str, np.ndarray]:
    grower = TreeGrower(cfg)
    grower.grow()
    order = sorted(grower.polylines)  # parents were created before children
    branches = []
    for b in order:
        br = grower.branches[b]
        pts, rads = grower.polylines[b]
        parent_r = grower.branches[br.parent].r1 if br.parent >= 0 else 0.0
        # stubs that hardly leave their parent are not branches: leave them out
        stub = (len(pts) - 1) * STEP < parent_r + br.r0 + 2.0
        branches.append(None if stub else (br.parent, pts, rads))
    mask, kept = render_tree(cfg.shape, cfg.spacing, branches)
    polylines = [grower.polylines[order[i]] for i in kept]
    n_stubs = sum(b is None for b in branches)
    centerline = render_centerline(cfg.shape, cfg.spacing, polylines)
    check(mask, centerline, cfg.name)
    prob = render_probability(mask, cfg.spacing, cfg.seed)
    return {
        "mask": mask.astype(np.uint8),
        "centerline": centerline.astype(np.uint8),
        "prob": prob,
        "n_branches": len(polylines),
        "n_stubs": n_stubs,
        "n_dropped": len(order) - len(polylines) - n_stubs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", nargs="?", default=str(Path(__file__).resolve().parent),
                        help="output directory (default: next to this script)")
    parser.add_argument("--sizes", nargs="+", choices=list(CONFIGS), default=list(CONFIGS),
                        help="which samples to make (default: all)")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    for key in args.sizes:
        cfg = CONFIGS[key]
        t0 = time.perf_counter()
        arrays = make_sample(cfg)
        for kind in ("mask", "centerline", "prob"):
            write_tiff(outdir / f"{cfg.name}_{kind}.tif", arrays[kind], cfg.spacing)
        if not args.quiet:
            print(f"{cfg.name}: shape {cfg.shape}, spacing {cfg.spacing} um, "
                  f"{arrays['n_branches']} branches ({arrays['n_stubs']} stubs left out, "
                  f"{arrays['n_dropped']} dropped for topology), {int(arrays['mask'].sum())} mask voxels, "
                  f"{int(arrays['centerline'].sum())} centerline voxels, "
                  f"{time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
