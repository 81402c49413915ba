"""Dense label volumes: our topological skeleton with and without ``fill_holes``, vs kimimaro.

The volume is the seeded stand-in for an EM segmentation that
``benchmarks/dense_labels.py`` builds (kimimaro's benchmark volume does not
ship with its pip package): ~2,500 neurite-like labels partitioning a 512³
volume (every voxel labelled: each voxel takes the id of the nearest of
2,500 random smooth polylines), plus rings threaded by another label
(tunnels) and balls carved inside ~5 % of the labels, emptied or given a new
label (cavities).  See that file's docstring.  ``--size 256`` builds the
same kind of volume at 256³ with 8 times fewer labels, in a few seconds.

Contenders, each in its own child process (``OMP_NUM_THREADS=1`` etc.), after
a warm-up call on a 48³ corner of the volume (numba's cache load, imports):

* ``ours``: ``skeletonize(labels, "topological", device="cpu")`` — our
  compiled peeling, single-threaded;
* ``ours-fill``: the same with ``fill_holes=True``;
* ``kimimaro`` / ``kimimaro-fill``: ``kimimaro.skeletonize(labels,
  anisotropy=(1, 1, 1), fix_branching=True, progress=False, parallel=1,
  fill_holes=False/True)`` (its default TEASAR parameters and
  ``dust_threshold=1000``), one process, so the comparison is per core;
* with ``--fill-step``, for information, the fill alone: ours
  (``napari_soft_skeleton._fill.fill_holes``) and kimimaro's
  (``kimimaro.intake.fill_all_holes`` of the connected components, as
  ``kimimaro.skeletonize`` runs it).

Reported per contender: wall and CPU time of the call (on a busy machine the
CPU time is the steadier figure), the child's peak resident memory
(``VmHWM``: the whole process — Python, the libraries, the volume loaded
from disk — and, apart, what it held before the call), and
skeleton size: our skeleton voxels, kimimaro's skeleton vertices (one per
voxel of its paths), and the number of labels with a skeleton.  For our
skeletons also: how many labels' skeletons still enclose a cavity (a closed
surface), found by filling the skeleton label image.

Run:  python benchmarks/bench_dense_labels.py [--size 512] [--only ours,ours-fill] [--fill-step]
      [--json out.json]
The volume is cached as an .npy file (``--cache``, default in the temp dir).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

CONTENDERS = ("ours", "ours-fill", "kimimaro", "kimimaro-fill")
FILL_STEP = ("ours-fill-step", "kimimaro-fill-step")
THREADS = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}


def _status_mb(key: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, in MB.  (Not ``ru_maxrss``: Linux carries
    the parent's peak over into a child's across fork and exec.)"""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _call(name: str, labels: np.ndarray):
    """Run contender ``name`` on ``labels``; returns its result (a skeleton, kimimaro's skeletons, a filled image)."""
    if name.startswith("ours") and not name.endswith("step"):
        from napari_soft_skeleton import skeletonize

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (fill_holes names the labels it absorbed)
            skel = skeletonize(labels, "topological", device="cpu", fill_holes=name == "ours-fill")
        return skel
    if name.startswith("kimimaro") and not name.endswith("step"):
        import kimimaro

        return kimimaro.skeletonize(labels, anisotropy=(1, 1, 1), fix_branching=True, progress=False,
                                    parallel=1, fill_holes=name == "kimimaro-fill")
    if name == "ours-fill-step":
        from napari_soft_skeleton._fill import fill_holes

        return int(np.count_nonzero(fill_holes(labels)[0] != labels))  # the number of voxels filled
    if name == "kimimaro-fill-step":
        import cc3d
        from kimimaro.intake import fill_all_holes

        # (cc3d's default 26-connectivity, as kimimaro.skeletonize); the number of voxels filled
        return fill_all_holes(cc3d.connected_components(labels), return_fill_count=True)[1]
    raise ValueError(name)


def _summary(name: str, out) -> dict:
    if name.startswith("kimimaro") and not name.endswith("step"):
        return {"skeleton_voxels": int(sum(len(s.vertices) for s in out.values())), "labels_with_skeleton": len(out)}
    from napari_soft_skeleton._fill import fill_holes

    filled, _ = fill_holes(out)
    enclosing = np.unique(filled[filled != out]) if filled is not out else np.zeros(0)
    ids = np.unique(out)
    return {"skeleton_voxels": int(np.count_nonzero(out)), "labels_with_skeleton": int(np.count_nonzero(ids)),
            "skeleton_labels_enclosing_a_cavity": len(enclosing)}


def child(name: str, volume: str) -> None:
    """In a fresh process: warm up on a corner, time the call on the whole volume, print JSON."""
    labels = np.load(volume)
    _call(name, np.ascontiguousarray(labels[:48, :48, :48]))  # warm-up
    before = _status_mb("VmRSS")
    t0, c0 = time.perf_counter(), _cpu_seconds()
    out = _call(name, labels)
    seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    row = {"contender": name, "seconds": seconds, "cpu_seconds": cpu, "peak_mb": _status_mb("VmHWM"),
           "before_call_mb": before}
    if name.endswith("step"):
        row["filled_voxels"] = out
    else:
        row.update(_summary(name, out))
    print(json.dumps(row))


def run(name: str, volume: str) -> dict:
    env = dict(os.environ, **THREADS)
    load = os.getloadavg()[0]
    proc = subprocess.run([sys.executable, __file__, "--child", name, "--volume", volume],
                          check=False, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row["load_before"] = load
    row["load_after"] = os.getloadavg()[0]
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--labels", type=int, default=None,
                        help="neurites (default: 2500 at 512³, scaled with the volume)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default=None, help="the volume's .npy file (built if missing)")
    parser.add_argument("--only", default=None, help="comma-separated contenders: " + ", ".join(CONTENDERS + FILL_STEP))
    parser.add_argument("--fill-step", action="store_true", help="also time the fill alone, ours and kimimaro's")
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--volume", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.volume)
        return 0

    from dense_labels import dense_labels

    n_labels = args.labels or max(2, round(2500 * (args.size / 512) ** 3))
    cache = args.cache or os.path.join(tempfile.gettempdir(), f"dense_labels_{args.size}_{n_labels}_{args.seed}.npy")
    if not os.path.exists(cache):
        t0 = time.perf_counter()
        info: dict = {}
        labels = dense_labels(args.size, n_labels, args.seed, info=info)
        np.save(cache, labels)
        print(f"built {cache} in {time.perf_counter() - t0:.0f} s", flush=True)
    labels = np.load(cache, mmap_mode="r")
    n_ids = len(np.unique(labels)) - (1 if (labels == 0).any() else 0)
    print(f"volume {labels.shape} {labels.dtype}: {n_ids} labels, {np.count_nonzero(labels == 0)} background voxels",
          flush=True)
    names = args.only.split(",") if args.only else list(CONTENDERS) + (list(FILL_STEP) if args.fill_step else [])
    rows = []
    for name in names:
        row = run(name, cache)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print()
    print("| contender | size | labels | wall time (CPU time) | peak memory (before the call) | skeleton voxels "
          "(filled voxels) | labels with a skeleton |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        count = f"{r['skeleton_voxels']:,}" if "skeleton_voxels" in r else f"({r['filled_voxels']:,})"
        print(f"| {r['contender']} | {args.size}³ | {n_ids:,} | {r['seconds']:.1f} s ({r['cpu_seconds']:.1f} s) | "
              f"{r['peak_mb'] / 1024:.2f} GiB ({r['before_call_mb'] / 1024:.2f} GiB) | {count} | "
              f"{r.get('labels_with_skeleton', '')} |")
    if args.json:
        meta = {"size": args.size, "labels": n_ids, "machine": platform.platform(), "cpus": os.cpu_count()}
        Path(args.json).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
