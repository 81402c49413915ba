"""Speed and memory of the soft skeleton against baselines run in the same process.

Every figure is a ratio against a baseline measured in the same run (these
machines are noisy), printed one per line, with the issue's target beside it:

* binary vessel volume 256³, 10 iterations: vs the naive max-pool formula
  (≥ 100×) and vs ``skimage.morphology.skeletonize`` (≥ 2×);
* dense smooth probability map 160³ (no zeros), 10 iterations: vs naive (≥ 10×);
* forward + backward 96³, 10 iterations: peak memory (≤ 1/3 of naive) and time
  (≥ 2×), each measured in a fresh subprocess;
* on a CUDA GPU, when there is one: 512³ float32 vs naive on the same GPU (≥ 5×)
  and equality of the results;
* the topological skeleton vs scikit-image's Lee on the same masks: time (within
  2× of Lee's, i.e. ratio ≥ 0.5, on the 256³ vessels), Betti numbers kept, and
  precision / recall against Lee within 2 voxels (≥ 0.9); a label image with
  thousands of objects (all labels in one pass vs Lee label by label); its GPU code path run
  on the CPU (exactness, torch operation count);
* on a CUDA GPU: the topological skeleton of 256³ vs Lee on the CPU (≥ 10×),
  and ``skeletonize(..., "topological", device="cuda")`` on the samples.

Run:  python benchmarks/bench_soft_skeleton.py [--quick] [--threads 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the naive formula lives beside the tests
sys.path.insert(0, str(ROOT / "src"))

from naive_reference import naive_soft_skeleton  # noqa: E402

from napari_soft_skeleton import skeletonize, soft_skeleton  # noqa: E402


def timeit(fn, repeat: int) -> float:
    """Median wall time of ``repeat`` calls (after one warm-up call when repeat > 1)."""
    if repeat > 1:
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def vessel_mask(size: int) -> np.ndarray:
    """The shipped synthetic vessel tree of that size, or a generated stand-in."""
    try:
        from napari_soft_skeleton import load_sample

        return load_sample(f"vessel_{size}").mask
    except Exception:  # noqa: BLE001 - samples not available: make tubes
        from skimage.draw import line_nd

        rng = np.random.default_rng(0)
        lines = np.zeros((size,) * 3, bool)
        for _ in range(40):
            lines[line_nd(rng.integers(0, size, 3), rng.integers(0, size, 3))] = True
        return ndi.distance_transform_edt(~lines) < 3


def dense_map(size: int) -> torch.Tensor:
    rng = np.random.default_rng(1)
    field = ndi.gaussian_filter(rng.random((size,) * 3), 4)
    field = (field - field.min()) / (field.max() - field.min()) * 0.98 + 0.01
    return torch.from_numpy(field.astype(np.float32))[None, None]


def report(rows: list, name: str, ratio: float, target: str, ok: bool, detail: str) -> None:
    rows.append({"case": name, "ratio": ratio, "target": target, "pass": ok, "detail": detail})
    print(f"{name:<46} {ratio:9.1f}x   target {target:<8} {'PASS' if ok else 'FAIL'}   {detail}", flush=True)


def bench_binary(rows, size: int, repeat: int) -> None:
    from skimage.morphology import skeletonize as sk_skeletonize

    mask = vessel_mask(size)
    x = torch.from_numpy(mask.astype(np.float32))[None, None]
    t_fast = timeit(lambda: soft_skeleton(x, 10), repeat)
    t_np = timeit(lambda: skeletonize(mask, "soft", iterations=10), repeat)
    t_lee = timeit(lambda: sk_skeletonize(mask), max(repeat - 1, 1))
    t0 = time.perf_counter()
    naive = naive_soft_skeleton(x, 10)
    t_naive = time.perf_counter() - t0
    same = torch.equal(naive, soft_skeleton(x, 10))
    info = f"foreground {mask.mean():.2%}, equal to naive: {same}"
    report(rows, f"binary {size}^3 soft_skeleton vs naive", t_naive / t_fast, ">=100", t_naive / t_fast >= 100 and same,
           f"naive {t_naive:.2f} s, ours {t_fast * 1e3:.0f} ms; {info}")
    report(rows, f"binary {size}^3 soft_skeleton vs skimage Lee", t_lee / t_fast, ">=2", t_lee / t_fast >= 2,
           f"Lee {t_lee * 1e3:.0f} ms, ours {t_fast * 1e3:.0f} ms")
    report(rows, f"binary {size}^3 skeletonize(mask) vs skimage Lee", t_lee / t_np, ">=2", t_lee / t_np >= 2,
           f"Lee {t_lee * 1e3:.0f} ms, skeletonize {t_np * 1e3:.0f} ms")


def bench_topological(rows, repeat: int, quick: bool) -> None:
    """Our topology-preserving thinning against scikit-image's Lee, same masks."""
    from skimage.morphology import skeletonize as sk_skeletonize

    from napari_soft_skeleton import betti_numbers, compare

    names = ["vessel_64"] if quick else ["vessel_256", "neuron_lm", "neuron_hemibrain_glomerulus", "neuron_hemibrain_pn"]
    for name in names:
        truth = None
        try:
            from napari_soft_skeleton import load_sample

            sample = load_sample(name)
            mask, truth = sample.mask, sample.centerline
        except Exception:  # noqa: BLE001
            mask = vessel_mask(64 if quick else 256)
        t_ours = timeit(lambda: skeletonize(mask, "topological", device="cpu"), repeat)
        t_lee = timeit(lambda: sk_skeletonize(mask), repeat)
        ours, lee = skeletonize(mask, "topological", device="cpu"), sk_skeletonize(mask)
        cmp_ = compare(lee, ours, tolerance=2.0)
        same = betti_numbers(ours) == betti_numbers(mask)
        targeted = name.startswith("vessel")
        ok = (t_lee / t_ours >= 0.5 if targeted else True) and same and min(cmp_.precision, cmp_.recall) >= 0.9
        report(rows, f"topological {name} {'x'.join(map(str, mask.shape))} vs Lee", t_lee / t_ours,
               ">=0.5" if targeted else "info", ok,
               f"ours {t_ours * 1e3:.0f} ms, Lee {t_lee * 1e3:.0f} ms; Betti kept: {same} "
               f"(Lee: {betti_numbers(lee) == betti_numbers(mask)}); precision/recall vs Lee within 2 "
               f"voxels {cmp_.precision:.3f}/{cmp_.recall:.3f}" + _against_truth(truth, ours, lee))


def _against_truth(truth, ours, lee) -> str:
    """Precision / recall of both skeletons against a true centerline (within 2 voxels), if there is one."""
    if truth is None:
        return ""
    from napari_soft_skeleton import compare

    o, r = compare(truth, ours, tolerance=2.0), compare(truth, lee, tolerance=2.0)
    return (f"; vs the true centerline: ours {o.precision:.3f}/{o.recall:.3f}, "
            f"Lee {r.precision:.3f}/{r.recall:.3f}")


def bench_topological_labels(rows, repeat: int, quick: bool) -> None:
    """A label image with thousands of small objects: all labels in one pass vs Lee label by label."""
    import warnings

    shape = (32, 64, 64) if quick else (128, 256, 256)
    rng = np.random.default_rng(0)
    labels, n = ndi.label(ndi.gaussian_filter(rng.random(shape), 2.5) > 0.52)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lee drops some of the labels (counted below)
        t_ours = timeit(lambda: skeletonize(labels, "topological", device="cpu"), repeat)
        t_lee = timeit(lambda: skeletonize(labels, "lee"), repeat)
        kept_ours = len(np.unique(skeletonize(labels, "topological", device="cpu"))) - 1
        kept_lee = len(np.unique(skeletonize(labels, "lee"))) - 1
    report(rows, f"topological labels {'x'.join(map(str, shape))} ({n} labels) vs Lee", t_lee / t_ours,
           "info", kept_ours == n,
           f"ours {t_ours * 1e3:.0f} ms, Lee label by label {t_lee * 1e3:.0f} ms; labels kept: ours {kept_ours}, "
           f"Lee {kept_lee} of {n}")
    # slice by slice (2D): all slices in one pass vs scikit-image's Zhang, slice by slice
    mask = vessel_mask(64 if quick else 256)
    t_ours = timeit(lambda: skeletonize(mask, "topological", per_slice=True, device="cpu"), repeat)
    t_zhang = timeit(lambda: skeletonize(mask, "zhang", per_slice=True), repeat)
    report(rows, f"topological per-slice {mask.shape[0]}^3 vessel vs Zhang", t_zhang / t_ours, "info", True,
           f"ours {t_ours * 1e3:.0f} ms, Zhang slice by slice {t_zhang * 1e3:.0f} ms")


def bench_topological_torch(rows, repeat: int, quick: bool) -> None:
    """The GPU code path (table lookups, no host syncs inside a sweep) run on the CPU.

    Not a speed target: it shows that the path is exact and how many torch
    operations (≈ kernel launches on a GPU) one 256³ skeleton takes, which
    bounds its GPU time from below when no GPU is at hand.
    """
    from torch.profiler import ProfilerActivity, profile

    from napari_soft_skeleton.topological import _thin_torch, simple_point_table

    mask = vessel_mask(64 if quick else 256)
    t0 = time.perf_counter()
    simple_point_table(3)
    t_table = time.perf_counter() - t0
    tensor = torch.from_numpy(mask)[None]
    t_torch = timeit(lambda: _thin_torch(tensor), repeat)
    from napari_soft_skeleton import topological

    topological._ENGINE = "numpy"  # (the NumPy peeling; bench_topological.py times the compiled one)
    try:
        t_numpy = timeit(lambda: skeletonize(mask, "topological", device="cpu"), repeat)
        same = np.array_equal(_thin_torch(tensor)[0].numpy(), skeletonize(mask, "topological", device="cpu"))
    finally:
        topological._ENGINE = "auto"
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        _thin_torch(tensor)
    launching = {"aten::index", "aten::index_put_", "aten::add", "aten::mul", "aten::sum", "aten::where",
                 "aten::bitwise_and", "aten::bitwise_and_", "aten::eq", "aten::gt", "aten::cat", "aten::nonzero",
                 "aten::bincount", "aten::cumsum", "aten::sort"}
    ops = sum(e.count for e in prof.key_averages() if e.key in launching)
    report(rows, f"topological {mask.shape[0]}^3 GPU code path on CPU vs NumPy path", t_numpy / t_torch, "info",
           same, f"torch path {t_torch * 1e3:.0f} ms, NumPy path {t_numpy * 1e3:.0f} ms, equal: {same}; "
           f"~{ops} kernel-launching torch ops; simple-point table built in {t_table:.1f} s (once per process)")


def bench_topological_batch(rows, repeat: int, quick: bool) -> None:
    """``topological_skeleton`` on a CPU batch of 2D maps: one pass vs image by image."""
    from napari_soft_skeleton import topological_skeleton
    from napari_soft_skeleton.topological import topological_skeleton_mask

    n = 8 if quick else 32
    maps = ndi.gaussian_filter(np.random.default_rng(0).random((n, 1, 128, 128)), (0, 0, 3, 3))
    maps = torch.from_numpy((maps - maps.min()) / (maps.max() - maps.min())).float()
    t_batch = timeit(lambda: topological_skeleton(maps), repeat)
    t_each = timeit(lambda: [topological_skeleton_mask(m[0].numpy() > 0.5) for m in maps], repeat)
    same = np.array_equal(topological_skeleton(maps)[:, 0].numpy() > 0,
                          np.stack([topological_skeleton_mask(m[0].numpy() > 0.5) for m in maps]))
    report(rows, f"topological_skeleton {n}x128^2 batch vs image by image", t_each / t_batch, "info", same,
           f"one pass {t_batch * 1e3:.0f} ms, image by image {t_each * 1e3:.0f} ms, equal: {same}")


def bench_dense(rows, size: int, repeat: int) -> None:
    x = dense_map(size)
    t_fast = timeit(lambda: soft_skeleton(x, 10), repeat)
    t_naive = timeit(lambda: naive_soft_skeleton(x, 10), max(repeat - 1, 1))
    same = torch.equal(naive_soft_skeleton(x, 10), soft_skeleton(x, 10))
    report(rows, f"dense {size}^3 soft_skeleton vs naive", t_naive / t_fast, ">=10", t_naive / t_fast >= 10 and same,
           f"naive {t_naive * 1e3:.0f} ms, ours {t_fast * 1e3:.0f} ms, equal: {same}")


_CHILD = r"""
import resource, sys, time, torch
sys.path.insert(0, {tests!r}); sys.path.insert(0, {src!r})
torch.set_num_threads({threads})
from naive_reference import naive_soft_skeleton
from napari_soft_skeleton import soft_skeleton
fn = naive_soft_skeleton if {naive!r} else soft_skeleton
g = torch.Generator().manual_seed(0)
x0 = torch.rand((1, 1) + ({size},) * 3, generator=g)
w = torch.rand(x0.shape, generator=g)
def run():
    x = x0.clone().requires_grad_()
    (fn(x, 10) * w).sum().backward()
    return x.grad
def peak_kib():
    # VmHWM is this process's own high-water mark (ru_maxrss would start from the parent's RSS)
    try:
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
base = peak_kib()  # imports and inputs only
times = []
for _ in range({repeat} + 1):  # the first run is a warm-up, untimed
    t0 = time.perf_counter(); run(); times.append(time.perf_counter() - t0)
times = sorted(times[1:])
print(times[len(times) // 2], peak_kib() - base)
"""


def _child_run(size: int, naive: bool, repeat: int, threads: int) -> tuple[float, float]:
    """(median seconds, peak RSS growth in MiB) of forward+backward in a fresh process."""
    code = _CHILD.format(tests=str(ROOT / "tests"), src=str(ROOT / "src"), size=size,
                         naive=naive, repeat=repeat, threads=threads)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, grown = out.stdout.split()
    return float(seconds), float(grown) / 1024


def bench_backward(rows, size: int, repeat: int, threads: int) -> None:
    t_naive, m_naive = _child_run(size, True, repeat, threads)
    t_fast, m_fast = _child_run(size, False, repeat, threads)
    m_fast = max(m_fast, 0.5)  # a tiny (--quick) run may not grow the process at all
    report(rows, f"fwd+bwd {size}^3 peak memory naive/ours", m_naive / m_fast, ">=3", m_naive / m_fast >= 3,
           f"naive {m_naive:.0f} MiB, ours {m_fast:.0f} MiB (growth of peak RSS over a process holding the inputs)")
    report(rows, f"fwd+bwd {size}^3 time naive/ours", t_naive / t_fast, ">=2", t_naive / t_fast >= 2,
           f"naive {t_naive * 1e3:.0f} ms, ours {t_fast * 1e3:.0f} ms")


def bench_cuda(rows, size: int, repeat: int) -> None:
    if not torch.cuda.is_available():
        print(f"{'cuda ' + str(size) + '^3':<46} skipped: no CUDA device here")
        return
    dev = torch.device("cuda")
    x = dense_map(size).to(dev)

    def sync(fn):
        def run():
            fn()
            torch.cuda.synchronize()
        return run

    t_fast = timeit(sync(lambda: soft_skeleton(x, 10)), repeat)
    t_naive = timeit(sync(lambda: naive_soft_skeleton(x, 10)), repeat)
    same = torch.equal(naive_soft_skeleton(x, 10), soft_skeleton(x, 10))
    report(rows, f"cuda dense {size}^3 float32 vs naive", t_naive / t_fast, ">=5", t_naive / t_fast >= 5 and same,
           f"{torch.cuda.get_device_name()}: naive {t_naive * 1e3:.1f} ms, ours {t_fast * 1e3:.1f} ms, equal: {same}")
    mask = torch.from_numpy(vessel_mask(256).astype(np.float32))[None, None].to(dev)
    same = torch.equal(naive_soft_skeleton(mask, 10), soft_skeleton(mask, 10))
    t_fast = timeit(sync(lambda: soft_skeleton(mask, 10)), repeat)
    t_naive = timeit(sync(lambda: naive_soft_skeleton(mask, 10)), repeat)
    report(rows, "cuda binary 256^3 vs naive", t_naive / t_fast, "info", same,
           f"naive {t_naive * 1e3:.1f} ms, ours {t_fast * 1e3:.1f} ms, equal: {same}")
    from skimage.morphology import skeletonize as sk_skeletonize

    from napari_soft_skeleton import load_sample, topological_skeleton
    from napari_soft_skeleton.topological import simple_point_table

    t0 = time.perf_counter()
    simple_point_table(3, dev)
    torch.cuda.synchronize()
    t_table = time.perf_counter() - t0
    mask_np = vessel_mask(256)
    t_topo = timeit(sync(lambda: topological_skeleton(mask)), repeat)
    t_lee = timeit(lambda: sk_skeletonize(mask_np), repeat)
    same = np.array_equal(topological_skeleton(mask).cpu().numpy()[0, 0] > 0,
                          skeletonize(mask_np, "topological", device="cpu"))
    report(rows, "cuda topological 256^3 vs skimage Lee (CPU)", t_lee / t_topo, ">=10", t_lee / t_topo >= 10 and same,
           f"ours on GPU {t_topo * 1e3:.1f} ms (tensor in, tensor out), Lee {t_lee * 1e3:.0f} ms, equal to the CPU "
           f"result: {same}; simple-point table built on the GPU in {t_table:.2f} s (once per process)")
    for name in ["vessel_256", "neuron_lm", "neuron_hemibrain_pn"]:
        sample = load_sample(name).mask
        t_gpu = timeit(lambda: skeletonize(sample, "topological", device="cuda"), repeat)
        t_cpu = timeit(lambda: skeletonize(sample, "topological", device="cpu"), repeat)
        t_lee = timeit(lambda: sk_skeletonize(sample), repeat)
        same = np.array_equal(skeletonize(sample, "topological", device="cuda"),
                              skeletonize(sample, "topological", device="cpu"))
        report(rows, f"cuda skeletonize(topological) {name} vs Lee", t_lee / t_gpu, "info", same,
               f"NumPy in/out on GPU {t_gpu * 1e3:.1f} ms, on CPU {t_cpu * 1e3:.0f} ms, Lee {t_lee * 1e3:.0f} ms, "
               f"equal: {same}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one repeat (a smoke run)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    repeat = 1 if args.quick else 3
    print(f"torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} CPUs, "
          f"cuda: {torch.cuda.is_available()}", flush=True)
    rows: list = []
    bench_binary(rows, 64 if args.quick else 256, repeat)
    bench_dense(rows, 48 if args.quick else 160, repeat)
    bench_topological(rows, repeat, args.quick)
    bench_topological_labels(rows, repeat, args.quick)
    bench_topological_torch(rows, repeat, args.quick)
    bench_topological_batch(rows, repeat, args.quick)
    bench_backward(rows, 32 if args.quick else 96, repeat, args.threads)
    bench_cuda(rows, 512, repeat)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if all(r["pass"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
