"""A dense, EM-like label volume of neurite-shaped labels, some with cavities and tunnels (seeded).

kimimaro's benchmark volume (a dense EM segmentation) does not ship with its
pip package, so ``bench_dense_labels.py`` builds a stand-in:

1. **Neurites.**  ``n_labels`` random smooth polylines, drawn one voxel thick
   into a seed volume with ids 1, 2, ...: each starts at a random point and
   walks 1.5-voxel steps whose direction turns a little at each step
   (a direction with momentum), for 40 to ``size`` steps, leaving the volume
   or not; a third of them grow one side branch from a random point.
   About 3 % of them are closed rings (a tunnel each, see 3.).
2. **A dense partition.**  Every voxel takes the id of its nearest seed voxel
   (``scipy.ndimage.distance_transform_edt(seeds == 0, return_indices=True)``),
   so every voxel is labelled, as in a dense EM segmentation, and each label
   is the tube-like region around its polyline (a few hundred to tens of
   thousands of voxels).
3. **Tunnels.**  A straight seed line (its own label) is drawn through the
   middle of every ring before the partition: the ring's label wraps around
   it, a torus, whose tunnel ``fill_holes`` must keep.
4. **Cavities.**  In about 5 % of the labels, a ball of radius 2-5 voxels
   centred on the label's polyline, where the label is thick enough to hold
   it with a wall of at least one voxel, is carved out and filled with
   background (0) in half of them and with a new label in the other half
   (an "organelle" wholly inside the neurite: ``fill_holes`` absorbs it).

The result is ``uint32``, ``(size, size, size)``; with the defaults
(``size=512``, ``n_labels=2500``, ``seed=0``) 2,562 labels in all — 2,350
walks, 75 rings and their 75 lines, 62 carved "organelles" — and 7,451
background voxels (the emptied cavities); ~55 s and 2.7 GB to build.  At 256³
with 312 seeds, 319 labels in ~5 s.  Same arguments, same volume.

Run:  python benchmarks/dense_labels.py [--size 512] [--labels N] -o dense.npy
(``--labels`` defaults to 2500 at 512³, scaled with the volume.)
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy.ndimage as ndi


def _walk(rng, start, direction, steps: int, size: int) -> np.ndarray:
    """Points of a smooth random walk (step 1.5) from ``start``, stopped where it leaves the volume."""
    points = np.empty((steps, 3))
    p, d = np.asarray(start, float), np.asarray(direction, float)
    n = 0
    for _ in range(steps):
        points[n] = p
        n += 1
        d = d + rng.normal(0, 0.25, 3)
        d /= np.linalg.norm(d)
        p = p + 1.5 * d
        if np.any(p < 0) or np.any(p > size - 1):
            break
    return points[:n]


def _ring(rng, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A closed ring (radius 8-16) and a straight line through its middle, along its axis."""
    radius = rng.uniform(8, 16)
    centre = rng.uniform(radius + 4, size - radius - 4, 3)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    u = np.cross(axis, [1.0, 0, 0] if abs(axis[0]) < 0.9 else [0, 1.0, 0])
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    t = np.linspace(0, 2 * np.pi, int(2 * np.pi * radius * 2), endpoint=False)
    ring = centre + radius * (np.cos(t)[:, None] * u + np.sin(t)[:, None] * v)
    s = np.linspace(-2 * radius, 2 * radius, int(8 * radius))
    line = np.clip(centre + s[:, None] * axis, 0, size - 1)
    return ring, line


def _draw(seeds: np.ndarray, points: np.ndarray, label: int) -> None:
    idx = np.clip(np.rint(points).astype(np.int64), 0, seeds.shape[0] - 1)
    seeds[idx[:, 0], idx[:, 1], idx[:, 2]] = label


def dense_labels(size: int = 512, n_labels: int = 2500, seed: int = 0, *, info: dict | None = None) -> np.ndarray:
    """The volume described in the module docstring; ``info`` (a dict) receives what was carved."""
    rng = np.random.default_rng(seed)
    seeds = np.zeros((size, size, size), np.uint32)
    polylines: dict[int, np.ndarray] = {}
    label = 0
    n_rings = max(1, n_labels * 3 // 100)
    rings = []
    for _ in range(n_rings):
        ring, line = _ring(rng, size)
        label += 1
        _draw(seeds, ring, label)
        rings.append(label)
        label += 1
        _draw(seeds, line, label)
    while label < n_labels:
        label += 1
        start = rng.uniform(0, size - 1, 3)
        d = rng.normal(size=3)
        points = _walk(rng, start, d / np.linalg.norm(d), int(rng.integers(40, size)), size)
        if rng.random() < 1 / 3 and len(points) > 10:
            at = points[rng.integers(len(points))]
            b = rng.normal(size=3)
            branch = _walk(rng, at, b / np.linalg.norm(b), int(rng.integers(20, size // 2)), size)
            points = np.concatenate([points, branch])
        _draw(seeds, points, label)
        polylines[label] = points
    # the dense partition: every voxel takes its nearest seed's id
    nearest = ndi.distance_transform_edt(seeds == 0, return_distances=False, return_indices=True)
    labels = seeds[tuple(nearest)]
    del nearest, seeds
    # cavities: a ball inside ~5 % of the labels, emptied or given a new label
    carved = {"background": [], "label": []}
    candidates = rng.permutation(np.array(sorted(polylines)))
    wanted = max(2, n_labels // 20)
    for lab in candidates:
        if len(carved["background"]) + len(carved["label"]) >= wanted:
            break
        points = polylines[int(lab)]
        p = np.rint(points[rng.integers(len(points))]).astype(int)
        r = int(rng.integers(2, 6))
        lo, hi = p - r - 3, p + r + 4
        if np.any(lo < 0) or np.any(hi > size):
            continue
        box = tuple(slice(a, b) for a, b in zip(lo, hi))
        own = labels[box] == lab
        depth = ndi.distance_transform_edt(np.pad(own, 1, constant_values=False))[1:-1, 1:-1, 1:-1]
        zz, yy, xx = np.indices(own.shape) - (r + 3)
        ball = zz**2 + yy**2 + xx**2 <= r * r
        if not np.all(depth[ball] > 0) or depth[r + 3, r + 3, r + 3] < r + 2:  # a wall all round
            continue
        if len(carved["background"]) <= len(carved["label"]):
            labels[box][ball] = 0
            carved["background"].append(int(lab))
        else:
            label += 1
            labels[box][ball] = label
            carved["label"].append((int(lab), label))
    if info is not None:
        info.update(rings=rings, carved=carved)
    return labels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--labels", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args(argv)
    info: dict = {}
    n_labels = args.labels or max(2, round(2500 * (args.size / 512) ** 3))
    labels = dense_labels(args.size, n_labels, args.seed, info=info)
    np.save(args.output, labels)
    print(f"{args.output}: {labels.shape} {labels.dtype}, {len(np.unique(labels)) - 1} labels, "
          f"{len(info['rings'])} rings, cavities: {len(info['carved']['background'])} empty, "
          f"{len(info['carved']['label'])} holding a label")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
