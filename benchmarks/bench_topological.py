"""The topological skeleton on solid and dense volumes, label ids of any size, one-off costs.

Every figure is a ratio against a baseline measured in the same run, each
time the best of several runs after a warm-up (these machines are noisy):

* the samples (tubes, neurons) and a label image, ours with each CPU
  peeling (compiled, NumPy) vs Lee, for information;
* dense volumes, ours (``skeletonize(mask, "topological", device="cpu")``)
  vs scikit-image's Lee on the same mask: a solid 128³ cube, a ball of
  radius 60 in 128³, 50 % and 70 % random noise at 128³ — target
  Lee / ours ≥ 1, with the mask's Betti numbers kept;
* label ids: a 128×256×256 image of ~2,500 blobs numbered 1..n (int32) vs
  the same labels with random uint64 ids, uint32 ids up to 2**31 - 1 and
  int64 1..n — target (time with those ids) / (time with 1..n) ≤ 1.2; and,
  for information, the same for Lee and the soft skeleton label by label;
* the one-off cost of the compiled peeling, in fresh processes: the first
  call with numba's on-disk cache warm, and with an empty cache (compiling);
* ``--thickness``: the share of skeleton voxels lying in a 2×2×2 (2×2)
  block that is all skeleton, i.e. where the skeleton is not one voxel
  thin, on every sample and the dense volumes (ours and Lee's).

Run:  python benchmarks/bench_topological.py [--quick] [--thickness] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_soft_skeleton import betti_numbers, skeletonize


def best_times(fns: dict, repeat: int) -> dict:
    """Best wall time of each of ``fns`` over ``repeat`` rounds (after a warm-up round), the
    functions taking turns within a round, so that the machine's load drifts over all alike."""
    times = {key: [] for key in fns}
    for round_ in range(repeat + 1):
        for key, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            if round_:
                times[key].append(time.perf_counter() - t0)
    return {key: min(t) for key, t in times.items()}


def report(rows: list, name: str, ratio: float, target: str, ok: bool, detail: str) -> None:
    rows.append({"case": name, "ratio": ratio, "target": target, "pass": ok, "detail": detail})
    print(f"{name:<46} {ratio:9.2f}x   target {target:<8} {'PASS' if ok else 'FAIL'}   {detail}", flush=True)


def dense_volumes(n: int) -> dict:
    """The solid and dense test volumes, ``n``³."""
    centre = (n - 1) / 2
    z, y, x = np.ogrid[:n, :n, :n]
    noise = np.random.default_rng(0).random((n,) * 3)
    return {
        f"solid cube {n}^3": np.pad(np.ones((n - 4,) * 3, bool), 2),
        f"ball r={n * 60 // 128} in {n}^3": (z - centre) ** 2 + (y - centre) ** 2 + (x - centre) ** 2
        <= (n * 60 // 128) ** 2,
        f"noise 50% {n}^3": noise < 0.5,
        f"noise 70% {n}^3": noise < 0.7,
    }


def bench_dense(rows, repeat: int, quick: bool) -> None:
    """Ours vs Lee on solid and dense masks: time, and Betti numbers kept."""
    from skimage.morphology import skeletonize as sk_skeletonize

    for name, mask in dense_volumes(48 if quick else 128).items():
        times = best_times({"ours": lambda m=mask: skeletonize(m, "topological", device="cpu"),
                            "lee": lambda m=mask: sk_skeletonize(m)}, repeat)
        t_ours, t_lee = times["ours"], times["lee"]
        ours, lee = skeletonize(mask, "topological", device="cpu"), sk_skeletonize(mask)
        b_mask = betti_numbers(mask)
        kept, kept_lee = betti_numbers(ours) == b_mask, betti_numbers(lee) == b_mask
        ratio = t_lee / t_ours
        # (--quick: masks under _COMPILED_FROM voxels, thinned by the NumPy peeling in a fresh process)
        report(rows, f"topological {name} vs Lee", ratio, "info" if quick else ">=1", (quick or ratio >= 1) and kept,
               f"ours {t_ours * 1e3:.0f} ms, Lee {t_lee * 1e3:.0f} ms; Betti {b_mask} kept: ours {kept}, "
               f"Lee {kept_lee}; skeleton voxels: ours {int(ours.sum())}, Lee {int(lee.sum())}")


def bench_samples(rows, repeat: int, quick: bool) -> None:
    """The earlier rows (tubes, neurons, a label image) with each CPU peeling, against Lee."""

    from napari_soft_skeleton import load_sample, topological

    cases = {name: load_sample(name).mask for name in (["vessel_64"] if quick else [
        "vessel_256", "neuron_lm", "neuron_hemibrain_glomerulus", "neuron_hemibrain_pn"])}
    cases["labels"] = blob_labels((32, 64, 64) if quick else (128, 256, 256))
    for name, data in cases.items():
        is_labels = data.dtype != bool

        def ours(engine, data=data):
            topological._ENGINE = engine
            try:
                return skeletonize(data, "topological", device="cpu")
            finally:
                topological._ENGINE = "auto"

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (Lee drops some labels)
            times = best_times({"compiled": lambda: ours("compiled"), "numpy": lambda: ours("numpy"),
                                "lee": lambda d=data: skeletonize(d, "lee")}, repeat)
        same = np.array_equal(ours("compiled"), ours("numpy"))
        ratio = times["lee"] / times["compiled"]
        shape = "x".join(map(str, data.shape))
        what = f"labels {shape} ({int(data.max())} labels) vs Lee label by label" if is_labels else f"{name} {shape} vs Lee"
        report(rows, f"topological {what}", ratio, "info", same,
               f"compiled {times['compiled'] * 1e3:.0f} ms, NumPy peeling {times['numpy'] * 1e3:.0f} ms "
               f"(Lee/NumPy {times['lee'] / times['numpy']:.1f}x), Lee {times['lee'] * 1e3:.0f} ms; "
               f"the two peelings equal: {same}")


def blob_labels(shape) -> np.ndarray:
    """~2,500 blobs in 128×256×256, numbered 1..n (int32)."""
    rng = np.random.default_rng(0)
    labels, _ = ndi.label(ndi.gaussian_filter(rng.random(shape), 2.5) > 0.52)
    return labels.astype(np.int32)


def with_ids(labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """``labels`` (1..n, 0 background) with label ``i`` carrying ``ids[i - 1]``."""
    return np.concatenate([np.zeros(1, ids.dtype), ids])[labels]


def bench_ids(rows, repeat: int, quick: bool) -> None:
    """The same labels with other ids must cost (about) the same time."""
    labels = blob_labels((32, 64, 64) if quick else (128, 256, 256))
    n = int(labels.max())
    rng = np.random.default_rng(1)
    big64 = rng.choice(np.iinfo(np.int64).max, n, replace=False).astype(np.uint64) * np.uint64(2) + np.uint64(1)
    variants = {
        "uint64 random ids": with_ids(labels, big64),
        "uint32 ids up to 2^31-1": with_ids(labels, rng.choice(2**31 - 1, n, replace=False).astype(np.uint32) + 1),
        "int64 ids 1..n": labels.astype(np.int64),
    }
    variants = {"int32 ids 1..n": labels, **variants}
    for method, reps in [("topological", repeat + 2), ("lee", 1), ("soft", 1)]:
        kwargs = {"device": "cpu"} if method != "lee" else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (Lee drops some labels: not the point here)
            times = best_times({name: (lambda d=data, m=method, kw=kwargs: skeletonize(d, m, **kw))
                                for name, data in variants.items()}, reps)
            base = skeletonize(labels, method, **kwargs)
            for name, data in list(variants.items())[1:]:
                out = skeletonize(data, method, **kwargs)
                lut = np.zeros(n + 1, data.dtype)
                lut[labels.ravel()] = data.ravel()
                same = out.dtype == data.dtype and np.array_equal(out, lut[base])
                ratio = times[name] / times["int32 ids 1..n"]
                targeted = method == "topological"
                report(rows, f"{method} labels, {name} / 1..n", ratio, "<=1.2" if targeted else "info",
                       (ratio <= 1.2 if targeted else True) and same,
                       f"{times[name] * 1e3:.0f} ms vs {times['int32 ids 1..n'] * 1e3:.0f} ms with int32 1..n "
                       f"({n} labels, {'x'.join(map(str, labels.shape))}); same skeleton, ids kept: {same}")


_FIRST_CALL = r"""
import sys, time
sys.path.insert(0, {src!r})
import numpy as np
import scipy.ndimage, skimage.morphology  # (imported by skeletonize anyway)
from napari_soft_skeleton import topological
topological._ENGINE = {engine!r}
mask = np.pad(np.ones((48, 48, 48), bool), 4)
t0 = time.perf_counter()
if {engine!r} == "lee":
    skimage.morphology.skeletonize(mask)
else:
    topological.topological_skeleton_mask(mask)
t1 = time.perf_counter()
print(t1 - t0, "numba" in sys.modules)
"""


def _first_call(engine: str, cache_dir: str | None = None) -> tuple[float, bool]:
    """Seconds of the first thinning of a 56³ mask in a fresh process, and whether numba got loaded."""
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    code = _FIRST_CALL.format(src=str(ROOT / "src"), engine=engine)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    seconds, loaded = out.stdout.split()
    return float(seconds), loaded == "True"


def bench_first_call(rows) -> None:
    """One-off costs in a fresh process: numba's import and set-up, or its compilation."""
    with tempfile.TemporaryDirectory() as empty:
        cold, _ = _first_call("compiled", empty)  # compiles the mask (uint8) kernels into `empty`
        warm = min(_first_call("compiled", empty)[0] for _ in range(3))  # loads them from there
    auto, loaded = _first_call("auto")
    numpy_peel = min(_first_call("numpy")[0] for _ in range(3))
    lee = min(_first_call("lee")[0] for _ in range(3))
    report(rows, "topological first call, fresh process, compiled", warm / lee, "info", True,
           f"compiled peeling {warm * 1e3:.0f} ms with numba's cache warm (import + set-up + cache load), "
           f"{cold:.1f} s with an empty cache (compiling; once per machine and array type: masks, 32-bit, "
           f"64-bit ids); NumPy peeling {numpy_peel * 1e3:.0f} ms; Lee {lee * 1e3:.0f} ms (56^3 mask, 48^3 cube "
           f"inside: 110,592 voxels)")
    report(rows, "topological first call, fresh process, auto", auto / lee, "info", True,
           f"{auto * 1e3:.0f} ms, numba loaded: {loaded} (a job of {48 ** 3} foreground voxels, under "
           f"_COMPILED_FROM); Lee {lee * 1e3:.0f} ms")


def _in_full_blocks(s: np.ndarray, axes) -> np.ndarray:
    """The voxels of ``s`` in a 2-wide block along ``axes`` (1 along the others) that is all ``s``."""
    corners = [tuple(slice(o, n - 1 + o) if a in axes else slice(None) for a, (o, n) in enumerate(zip(off, s.shape)))
               for off in np.ndindex(*(2 if a in axes else 1 for a in range(s.ndim)))]
    full = np.logical_and.reduce([s[c] for c in corners])  # the blocks' first corners
    covered = np.zeros_like(s)
    for c in corners:
        covered[c] |= full
    return covered


def thickness(skeleton: np.ndarray) -> tuple[float, float]:
    """Shares of skeleton voxels in an all-skeleton 2×2×2 block (2×2 in 2-D), and in an
    all-skeleton 2×2 square of any axis plane."""
    s = np.asarray(skeleton, bool)
    if not s.any():
        return 0.0, 0.0
    cubes = _in_full_blocks(s, range(s.ndim))
    planes = [(0, 1)] if s.ndim == 2 else [(0, 1), (0, 2), (1, 2)]
    squares = np.logical_or.reduce([_in_full_blocks(s, p) for p in planes])
    return float(cubes.sum() / s.sum()), float(squares.sum() / s.sum())


def bench_thickness(rows, quick: bool) -> None:
    from skimage.morphology import skeletonize as sk_skeletonize

    from napari_soft_skeleton import list_samples, load_sample

    masks = {name: load_sample(name).mask for name in (["vessel_64"] if quick else list_samples())}
    masks.update(dense_volumes(48 if quick else 128))
    for name, mask in masks.items():
        ours = skeletonize(mask, "topological", device="cpu")
        lee = sk_skeletonize(mask).astype(bool)
        (c_ours, q_ours), (c_lee, q_lee) = thickness(ours), thickness(lee)
        report(rows, f"thickness {name}", c_ours, "info", True,
               f"skeleton voxels in an all-skeleton 2x2(x2) block: ours {c_ours:.2%} of {int(ours.sum())}, "
               f"Lee {c_lee:.2%} of {int(lee.sum())}; in an all-skeleton 2x2 square (any plane): ours "
               f"{q_ours:.2%}, Lee {q_lee:.2%}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats (a smoke run)")
    parser.add_argument("--thickness", action="store_true", help="also the thickness figures (info)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else 3
    rows: list = []
    bench_dense(rows, repeat, args.quick)
    bench_samples(rows, repeat, args.quick)
    bench_ids(rows, repeat, args.quick)
    bench_first_call(rows)
    if args.thickness:
        bench_thickness(rows, args.quick)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if all(r["pass"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
