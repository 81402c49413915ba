"""Skeletons of anisotropic volumes against the true centerline: ours with spacing, ours on the grid, Lee.

Trees of tubes with known centerlines (``anisotropic_trees.py``: grown in µm,
radii 3-8 µm) are sampled at isotropic 1 µm voxels and at 3× and 5× coarser
z steps ((3, 1, 1) and (5, 1, 1) µm), as a two-photon stack would image them,
and skeletonized three ways: ``skeletonize(mask, "topological", spacing=...)``
(thinning ordered by physical distance, spurs pruned in µm), the same on the
voxel grid (no spacing), and scikit-image's Lee (grid only).  Against the true
centerline (an SWC table; ``compare`` in µm at a tolerance of one z step):

* precision — the share of skeleton voxels within the tolerance of the line;
* recall — the share of the line's length within the tolerance of the skeleton;
* cable-length error — the skeleton graph's total ``length`` (coarse-axis
  staircase smoothed, see ``graph/_length.py``) over the line's, less 1;
* tip error — skeleton end points minus the tree's tips.

Per z step the figures are pooled over ``--trees`` seeded trees (mean
precision and recall, mean |cable error|, summed |tip error|).  Targets: ours
with spacing better than Lee on all four (precision: at least as good — at a
one-z-step tolerance both are at or near 1), and cable length within 5 % of
the truth on every tree.  Then the time of the spacing-aware thinning over the
grid thinning on the same coarse masks of a larger tree (best of
``--repeat``), target ≤ 1.5×.

Run:  python benchmarks/bench_anisotropic.py [--trees 8] [--repeat 3] [--big] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

import anisotropic_trees as trees  # noqa: E402
from bench_topological import best_times, report  # noqa: E402

from napari_soft_skeleton import compare, skeletonize  # noqa: E402
from napari_soft_skeleton._depth_sparse import sparse_depth  # noqa: E402

METHODS = {
    "ours, spacing": lambda m, s: skeletonize(m, "topological", spacing=s),
    "ours, grid": lambda m, s: skeletonize(m, "topological"),
    "lee": lambda m, s: skeletonize(m, "lee"),
}


def accuracy(n_trees: int, rows: list) -> None:
    print(f"{'z step':>6s} {'method':<14s} {'precision':>9s} {'recall':>7s} {'|cable err|':>11s} "
          f"{'worst cable':>11s} {'|tip err|':>9s}")
    for k in (1, 3, 5):
        pooled = {name: {"p": [], "r": [], "cable": [], "tips": 0, "true_tips": 0} for name in METHODS}
        for seed in range(n_trees):
            ms, extent, branches = trees.grow(seed=seed)
            mask, spacing, table = trees.sample(ms, extent, branches, k)
            for name, fn in METHODS.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    skel = fn(mask, spacing)
                    tree = compare(table, skel, spacing=spacing, tolerance=float(k), unit="µm")
                t = tree.tree
                acc = pooled[name]
                acc["p"].append(tree.precision)
                acc["r"].append(tree.recall)
                acc["cable"].append(t["cable_length_error"])
                acc["tips"] += abs(t["tips_candidate"] - t["tips_reference"])
                acc["true_tips"] += t["tips_reference"]
        summary = {}
        for name, acc in pooled.items():
            cable = np.abs(acc["cable"])
            summary[name] = (float(np.mean(acc["p"])), float(np.mean(acc["r"])), float(cable.mean()),
                             float(cable.max()), acc["tips"])
            p, r, c, worst, tips = summary[name]
            print(f"{k:>6d} {name:<14s} {p:9.4f} {r:7.4f} {100 * c:10.2f}% {100 * worst:10.2f}% "
                  f"{tips:5d}/{acc['true_tips']}")
            rows.append({"case": f"z x{k} {name}", "precision": p, "recall": r, "cable_error_mean": c,
                         "cable_error_worst": worst, "tip_error_sum": tips, "true_tips": acc["true_tips"]})
        if k == 1:
            continue
        ours, lee = summary["ours, spacing"], summary["lee"]
        better = (ours[0] >= lee[0], ours[1] > lee[1], ours[2] < lee[2], ours[4] < lee[4])
        ok = all(better) and ours[3] <= 0.05
        report(rows, f"z x{k}: ours with spacing vs Lee", 1.0, "all 4", ok,
               f"P {ours[0]:.4f}/{lee[0]:.4f}, R {ours[1]:.4f}/{lee[1]:.4f}, |cable| {100 * ours[2]:.2f}%/"
               f"{100 * lee[2]:.2f}% (worst {100 * ours[3]:.2f}%), |tips| {ours[4]}/{lee[4]}")


def _edt_gate(padded, spacing):
    import edt

    return edt.edt(padded, anisotropy=spacing, black_border=True)


def timing(repeat: int, rows: list, big: bool) -> None:
    if big:  # 482 branches; 54 M voxels at z x3
        ms, extent, branches = trees.grow((400.0, 640.0, 640.0), seed=1, root_radius=16.0, max_depth=8,
                                          length_factor=7.0)
    else:
        ms, extent, branches = trees.grow((320.0, 384.0, 384.0), seed=1, root_radius=12.0, max_depth=7)
    for k in (3, 5):
        mask, spacing, _ = trees.sample(ms, extent, branches, k)
        padded = np.pad(mask.astype(np.uint8), 1)
        d = best_times({"edt": lambda: _edt_gate(padded, spacing), "sparse": lambda: sparse_depth(padded, spacing)},
                       repeat)
        print(f"  depths of the {padded.size:,}-voxel padded volume: edt {d['edt']:.3f} s, over the foreground "
              f"only {d['sparse']:.3f} s ({d['edt'] / d['sparse']:.1f}x)")
        t = best_times({"grid": lambda: skeletonize(mask, "topological"),
                        "spacing": lambda: skeletonize(mask, "topological", spacing=spacing)}, repeat)
        ratio = t["spacing"] / t["grid"]
        report(rows, f"time, spacing-aware / grid, z x{k}", ratio, "<= 1.5x", ratio <= 1.5,
               f"{t['spacing']:.2f} s vs {t['grid']:.2f} s, {mask.shape}, {int(mask.sum())} voxels")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trees", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2 trees, 1 repeat")
    parser.add_argument("--big", action="store_true", help="time a 6x larger tree (54 M voxels; ~30 s to build)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.quick:
        args.trees, args.repeat = 2, 1
    rows: list = []
    accuracy(args.trees, rows)
    timing(args.repeat, rows, args.big)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0 if all(r.get("pass", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
