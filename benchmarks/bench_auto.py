"""``iterations="auto"`` on float maps: the stop rule at the threshold vs running until the map is constant.

Before issue 8, ``auto`` on a float map ran until the eroded image was
constant — on a normalized two-photon grey volume, 603 iterations (54 s) for
331 skeleton voxels.  Now it stops once the map thresholded at 0.5 cannot
change any more (exact), or at 2 × (depth + 1) iterations with a warning.
Both rules run here on the same inputs, in the same process:

* the samples' probability maps (``vessel_128``, ``vessel_256``, ``vessel_2d``):
  the thresholded skeletons must be equal (the rule is exact);
* a synthetic grey volume like a raw two-photon stack (bright tubes on a noisy,
  uneven background, 64×192×192, normalized): fewer iterations, and how many
  skeleton voxels the cap leaves out.

Run:  python benchmarks/bench_auto.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_soft_skeleton import load_sample, skeletonize  # noqa: E402


def grey_volume(shape=(64, 192, 192), seed=0) -> np.ndarray:
    """Tubes of radius 2–4 on a background with noise and a slow gradient, rescaled to [0, 1]."""
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape, dtype=np.float32)
    grey = 0.15 + 0.1 * x / shape[2] + rng.normal(0, 0.04, shape).astype(np.float32)
    for _ in range(12):
        p0 = rng.uniform(0, shape)
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        r = rng.uniform(2, 4)
        rel = np.stack([z - p0[0], y - p0[1], x - p0[2]])
        along = np.tensordot(d, rel, axes=1)
        dist2 = (rel ** 2).sum(0) - along ** 2
        grey += 0.7 * np.exp(-dist2 / (2 * r * r))
    grey = (grey - grey.min()) / (grey.max() - grey.min())
    return grey.astype(np.float32)


def run_both(image: np.ndarray):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        new, k_new = skeletonize(image, iterations="auto", return_iterations=True)
        t_new = time.perf_counter() - t0
    capped = any("stopped after" in str(w.message) for w in caught)
    t0 = time.perf_counter()
    # the old rule: enough iterations for any image; the loop ends once the eroded image is constant
    old, k_old = skeletonize(image, iterations=sum(image.shape), return_iterations=True)
    t_old = time.perf_counter() - t0
    return new, k_new, t_new, old, k_old, t_old, capped


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    rows = []
    cases = [(name, load_sample(name).image) for name in ("vessel_128", "vessel_256", "vessel_2d")]
    cases.append(("grey 64x192x192 (two-photon-like)", grey_volume()))
    ok = True
    for name, image in cases:
        new, k_new, t_new, old, k_old, t_old, capped = run_both(image)
        equal = bool(np.array_equal(new, old))
        missing = int(np.count_nonzero(old & ~new))
        extra = int(np.count_nonzero(new & ~old))
        ok &= equal or capped
        row = {"case": name, "iterations_new": k_new, "iterations_old": k_old, "time_new_s": t_new,
               "time_old_s": t_old, "speedup": t_old / t_new, "equal": equal, "capped": capped,
               "voxels_old": int(old.sum()), "missing": missing, "extra": extra}
        rows.append(row)
        print(f"{name:<36} auto {k_new:4d} it {t_new:7.2f} s | until constant {k_old:4d} it {t_old:7.2f} s | "
              f"{t_old / t_new:5.1f}x | equal: {equal}, capped: {capped}, "
              f"voxels {int(old.sum())} (missing {missing}, extra {extra})", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
