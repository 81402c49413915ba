"""Spurs of the topological skeleton: ``spurs="keep"`` (the peeling alone) vs ``"prune"``, against Lee.

Per volume, for scikit-image's Lee (``skeletonize(mask, "lee")``) and ours
before (``spurs="keep"``) and after (``spurs="prune"``, the default): end
points (skeleton voxels with exactly one 26-neighbour), short tips (end points
whose branch reaches a junction within 4 voxels), precision and recall
against Lee at a tolerance of 2 voxels (``compare(lee, ours, tolerance=2)``),
cable length (``metrics._distance._skeleton_length``, physical units) over
Lee's, and the time of ``skeletonize`` (best of ``--repeat``).  Targets, per
volume: end points within ±25 % of Lee's, precision and recall ≥ 0.9, cable
length within 10 % of Lee's.

Volumes: the shipped samples, and synthetic ones built here (seeded), with a
ground truth where it is known:

* ``dendrite EM clean``: a spiny dendrite at 40×16×16 nm (radius 400 nm, 10
  spines of 400-1200 nm with heads, 30 bumps of 40-120 nm), truth 12 tips
  (10 spines, the 2 ends where it leaves the image);
* ``dendrite EM noisy``: the same with smooth membrane noise (σ 32 nm,
  amplitude 32 nm);
* ``vessel_128 x2 noisy`` / ``vessel_64 x3 noisy``: the vessel samples
  upsampled (thicker, in voxels) with a rough surface, as two-photon
  segmentations are;
* ``--dense``: the 512³ EM-like dense label volume of ``dense_labels.py``
  (2,562 labels): time of the pruning pass alone (``prune_spurs`` on the
  thinned labels) vs the thinning.

Run:  python benchmarks/bench_spurs.py [--repeat 3] [--dense] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_soft_skeleton import compare, load_sample, skeletonize
from napari_soft_skeleton._simple_points import _steps
from napari_soft_skeleton._depth_sparse import nonzero
from napari_soft_skeleton._spurs import _branches, _c_strides, prune_spurs
from napari_soft_skeleton.metrics._distance import _skeleton_length

EM = (40.0, 16.0, 16.0)


def end_points(s: np.ndarray) -> int:
    s = s != 0
    n = ndi.convolve(s.astype(np.uint8), np.ones((3,) * s.ndim, np.uint8), mode="constant")
    return int(((n == 2) & s).sum())


def short_tips(s: np.ndarray, steps: float = 4.0) -> int:
    """End points whose branch reaches a junction within ``steps`` voxel steps."""
    padded = np.pad((s != 0).astype(np.uint8), 1)
    flat = padded.reshape(-1)
    st = np.array(_steps(s.ndim), np.int64)
    offsets, steplen = st @ _c_strides(padded.shape), np.sqrt((st ** 2).sum(1)).astype(float)
    skel = nonzero(flat)
    out = [np.empty(len(skel), t) for t in (np.int64, np.int64, float, np.int64, np.int64)]
    m = _branches(flat, skel, offsets, steplen, *out)
    return int((out[2][:m] <= steps).sum())


def spiny_dendrite(noise: float = 0.0, seed: int = 0):
    """The EM-like spiny dendrite (physical units: nm); returns the mask and the spine heads (voxels)."""
    rng = np.random.default_rng(seed)
    shape, sp = (65, 162, 312), np.array(EM)
    g = np.indices(shape, dtype=np.float32) * sp[:, None, None, None].astype(np.float32)
    z, y = g[0], g[1]
    cz, cy, length, radius = (shape[0] - 1) * sp[0] / 2, (shape[1] - 1) * sp[1] / 2, (shape[2] - 1) * sp[2], 400.0
    sdf = np.sqrt((z - cz) ** 2 + (y - cy) ** 2) - radius
    heads = []
    for _ in range(10):  # spines: a neck (60 nm) and a head (180 nm), 400-1200 nm beyond the surface
        x0, a, ell = rng.uniform(0.08, 0.92) * length, rng.uniform(0, 2 * np.pi), rng.uniform(400, 1200)
        d = np.array([np.sin(a), np.cos(a), 0.0])
        p0 = np.array([cz, cy, x0])
        p1 = np.clip(p0 + d * (radius + ell), 200, np.array([shape[0] - 1, shape[1] - 1, shape[2] - 1]) * sp - 200)
        t = np.clip(((g.transpose(1, 2, 3, 0) - p0) @ (p1 - p0)) / ((p1 - p0) @ (p1 - p0)), 0, 1)
        neck = np.linalg.norm(g.transpose(1, 2, 3, 0) - p0 - t[..., None] * (p1 - p0), axis=-1) - 60
        head = np.linalg.norm(g.transpose(1, 2, 3, 0) - p1, axis=-1) - 180
        sdf = np.minimum(sdf, np.minimum(neck, head))
        heads.append(p1 / sp)
    for _ in range(30):  # bumps: balls of 40-120 nm centred on the surface
        x0, a, rb = rng.uniform(0.05, 0.95) * length, rng.uniform(0, 2 * np.pi), rng.uniform(40, 120)
        c = np.array([cz + radius * np.sin(a), cy + radius * np.cos(a), x0])
        sdf = np.minimum(sdf, np.linalg.norm(g.transpose(1, 2, 3, 0) - c, axis=-1) - rb)
    if noise:
        field = ndi.gaussian_filter(np.random.default_rng(seed + 100).standard_normal(shape), 2.0)
        sdf = sdf + noise * 16.0 * field / field.std()
    mask = sdf < 0
    lab, n = ndi.label(mask, np.ones((3, 3, 3)))
    if n > 1:
        mask = lab == np.argmax(np.bincount(lab.ravel())[1:]) + 1
    return mask, np.array(heads)


def rough(mask: np.ndarray, spacing, amplitude: float, sigma: float, seed: int = 0) -> np.ndarray:
    """``mask`` with its surface moved by smooth noise (``amplitude`` in voxels of the finest axis)."""
    import edt

    sdf = edt.edt(mask, anisotropy=spacing) - edt.edt(~mask, anisotropy=spacing)
    field = ndi.gaussian_filter(np.random.default_rng(seed).standard_normal(mask.shape), sigma)
    return sdf + amplitude * min(spacing) * field / field.std() > 0


def upsampled(name: str, factor: int):
    s = load_sample(name)
    big = ndi.binary_closing(ndi.zoom(s.mask.astype(np.uint8), factor, order=0).astype(bool))
    sp = tuple(v / factor for v in s.spacing)
    return rough(big, sp, 1.0 if factor == 3 else 0.8, 1.5 if factor == 3 else 1.0), sp


def volumes():
    for name in ("neuron_lm", "neuron_hemibrain_pn", "neuron_hemibrain_glomerulus", "vessel_64", "vessel_128",
                 "vessel_256"):
        s = load_sample(name)
        yield name, s.mask, s.spacing, None
    for tag, noise in (("clean", 0.0), ("noisy", 2.0)):
        mask, heads = spiny_dendrite(noise)
        yield f"dendrite EM {tag}", mask, EM, heads
    for name, factor in (("vessel_128", 2), ("vessel_64", 3)):
        mask, sp = upsampled(name, factor)
        yield f"{name} x{factor} noisy", mask, sp, None


def best(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, min(times)


def row(mask, sp, heads, repeat: int) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lee, t_lee = best(lambda: skeletonize(mask, "lee"), repeat)
    r = {"shape": list(mask.shape), "spacing": list(sp), "lee": {"ends": end_points(lee), "short": short_tips(lee),
                                                                 "time": t_lee}}
    cable = _skeleton_length(lee, sp)
    for spurs in ("keep", "prune"):
        skel, t = best(lambda s=spurs: skeletonize(mask, "topological", spacing=sp, spurs=s, device="cpu"), repeat)
        c = compare(lee, skel, tolerance=2)
        e, ratio = end_points(skel), _skeleton_length(skel, sp) / cable
        r[spurs] = {"ends": e, "short": short_tips(skel), "precision": c.precision, "recall": c.recall,
                    "cable": ratio, "time": t,
                    "targets": {"ends": abs(e / r["lee"]["ends"] - 1) <= 0.25,
                                "P/R": c.precision >= 0.9 and c.recall >= 0.9, "cable": abs(ratio - 1) <= 0.10}}
        if heads is not None:  # synthetic dendrite: spine heads reached (within 3 voxels)
            r[spurs]["spines"] = int((cKDTree(np.argwhere(skel)).query(heads)[0] <= 3).sum())
    if heads is not None:
        r["lee"]["spines"] = int((cKDTree(np.argwhere(lee)).query(heads)[0] <= 3).sum())
        r["truth"] = {"ends": len(heads) + 2, "spines": len(heads)}
    return r


def print_row(name: str, r: dict) -> None:
    lee = r["lee"]
    truth = f"   truth: {r['truth']['ends']} tips, {r['truth']['spines']} spines" if "truth" in r else ""
    print(f"{name}  {'x'.join(map(str, r['shape']))}  spacing {tuple(r['spacing'])}{truth}")
    sp = f" spines {lee['spines']}" if "spines" in lee else ""
    print(f"    lee     ends {lee['ends']:5d} short {lee['short']:5d}{sp}  {lee['time'] * 1e3:7.0f} ms")
    for spurs in ("keep", "prune"):
        o = r[spurs]
        sp = f" spines {o['spines']}" if "spines" in o else ""
        ok = " ".join(f"{k} {'PASS' if v else 'FAIL'}" for k, v in o["targets"].items())
        print(f"    {spurs:<7} ends {o['ends']:5d} short {o['short']:5d}{sp}  {o['time'] * 1e3:7.0f} ms   "
              f"ends/Lee {o['ends'] / lee['ends']:.2f}  P {o['precision']:.3f} R {o['recall']:.3f}  "
              f"cable/Lee {o['cable']:.3f}   {ok}", flush=True)


def bench_dense() -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from dense_labels import dense_labels

    from napari_soft_skeleton.topological import topological_skeleton_labels

    labels = dense_labels()
    t0 = time.perf_counter()
    skel = topological_skeleton_labels(labels, spurs="keep")
    t_thin = time.perf_counter() - t0
    t0 = time.perf_counter()
    pruned = prune_spurs(skel, labels)
    t_prune = time.perf_counter() - t0
    out = {"labels": int(len(np.unique(labels)) - 1), "skeleton voxels": int(np.count_nonzero(skel)),
           "pruned voxels": int(np.count_nonzero(skel) - np.count_nonzero(pruned)), "thinning s": t_thin,
           "pruning s": t_prune}
    print(f"dense 512^3 labels: {out}", flush=True)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dense", action="store_true", help="also time the pass on the 512^3 dense labels (~15 min)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    skeletonize(np.ones((3, 3, 3), bool), "topological")  # (numba's cached code loaded before timing)
    rows = {}
    for name, mask, sp, heads in volumes():
        rows[name] = row(mask, sp, heads, args.repeat)
        print_row(name, rows[name])
    passed = {n: all(r["prune"]["targets"].values()) for n, r in rows.items()}
    print(f"\nall three targets met after pruning: {sum(passed.values())} of {len(passed)} volumes; "
          f"not met: {', '.join(n for n, ok in passed.items() if not ok) or 'none'}")
    if args.dense:
        rows["dense 512^3"] = bench_dense()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
