"""Volumes bigger than memory (issue 11, in progress): the soft skeleton of a Zarr volume chunk by chunk.

1. **Memory and exactness**: a 512 × 1024 × 1024 uint8 Zarr mask (random smooth blobs, 10 % foreground,
   built chunk by chunk) through ``soft-skeleton skeletonize in.zarr -o out.zarr --iterations 5`` in a
   subprocess: its peak RSS (target ≤ 2 GB) and the result against the in-memory skeleton of the whole
   volume (``--check``: needs ~4 GB).
2. **Scaling**: the same job on a dask.distributed LocalCluster of 1 and of 2 single-threaded workers,
   timed after a warm-up job on each (throughput, not start-up; target ≥ 1.6×).

Run:  python benchmarks/bench_chunked.py [--size 512] [--check] [--dir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))


def make_volume(path: Path, size: int) -> None:
    import dask.array as da
    from scipy import ndimage as ndi

    from napari_soft_skeleton.io import write_volume

    def block(b, block_info=None):
        rng = np.random.default_rng(abs(hash(block_info[0]["chunk-location"])) % 2**32)
        f = ndi.gaussian_filter(rng.random(b.shape, dtype=np.float32), 4)
        return (f > np.quantile(f, 0.9)).astype(np.uint8)

    arr = da.zeros((size, 2 * size, 2 * size), dtype=np.uint8, chunks=(64, 256, 256)).map_blocks(block, dtype=np.uint8)
    write_volume(path, arr, spacing=(2.0, 1.0, 1.0), unit="um")


def cli_peak(src: Path, out: Path, *options: str) -> tuple[float, float]:
    """Seconds and peak RSS (GiB) of ``soft-skeleton skeletonize src -o out *options`` in a fresh process
    (``time -v``'s figure for that process alone: RUSAGE_CHILDREN would keep the largest child so far)."""
    t0 = time.perf_counter()
    run = subprocess.run(["/usr/bin/time", "-v", str(Path(sys.executable).with_name("soft-skeleton")), "skeletonize",
                          str(src), "-o", str(out), "-q", *options], check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    line = next(x for x in run.stderr.splitlines() if "Maximum resident set size" in x)
    return seconds, int(line.split(":")[-1]) / 1024**2  # KiB -> GiB


def _one_thread() -> None:
    """Each worker on one thread for everything: torch (set by dask's nanny too) and Blosc's codecs."""
    import numcodecs
    import torch

    numcodecs.blosc.set_nthreads(1)
    torch.set_num_threads(1)


def scaling(src: Path, tmp: Path) -> dict:
    from distributed import Client, LocalCluster

    import zarr

    from napari_soft_skeleton._streaming import skeletonize_store

    source = zarr.open_group(str(src), mode="r")["0"]
    times = {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as c, \
                Client(c) as client:
            client.run(_one_thread)
            runs = []
            for round_ in range(2):  # a warm-up, then the timed job
                out = tmp / f"w{workers}_{round_}.zarr"
                t0 = time.perf_counter()
                skeletonize_store(source, str(src), out, iterations=5, threshold=0.5, per_slice=False, device="cpu",
                                  as_mask=True, rescale=None, out_dtype=bool, spacing=(2.0, 1.0, 1.0), unit="µm")
                runs.append(time.perf_counter() - t0)
                shutil.rmtree(out)
            times[workers] = runs[-1]
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=512, help="the volume is SIZE x 2 SIZE x 2 SIZE (default 512)")
    parser.add_argument("--check", action="store_true", help="compare with the in-memory skeleton (~4 GB)")
    parser.add_argument("--dir", default=None)
    parser.add_argument("--scaling-only", action="store_true")
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--topological", default="", metavar="OPTIONS",
                        help="extra CLI options for the topological run, e.g. '--spacing 1 1 1' (default none)")
    args = parser.parse_args()
    tmp = Path(args.dir or tempfile.mkdtemp(prefix="bench_chunked_"))
    tmp.mkdir(parents=True, exist_ok=True)
    src = tmp / "mask.zarr"
    if not src.exists():
        t0 = time.perf_counter()
        make_volume(src, args.size)
        print(f"volume {args.size}x{2 * args.size}x{2 * args.size} built in {time.perf_counter() - t0:.1f} s")
    out = tmp / "skel.zarr"
    shutil.rmtree(out, ignore_errors=True)
    topo = tmp / "topo.zarr"
    shutil.rmtree(topo, ignore_errors=True)
    if not args.scaling_only:
        seconds, peak = cli_peak(src, out, "--iterations", "5")
        print(f"{'PASS' if peak <= 2 else 'FAIL'} CLI streaming, soft k=5: {seconds:.1f} s, peak RSS {peak:.2f} GiB "
              "(target <= 2)", flush=True)
        seconds, peak = cli_peak(src, topo, "--method", "topological", *args.topological.split())
        print(f"{'PASS' if peak <= 2 else 'FAIL'} CLI streaming, topological {args.topological}: {seconds:.1f} s, "
              f"peak RSS {peak:.2f} GiB (target <= 2)", flush=True)
    if args.check and not args.scaling_only:
        from napari_soft_skeleton import skeletonize
        from napari_soft_skeleton.io import read_volume

        mask = read_volume(src).array != 0
        t0 = time.perf_counter()
        whole = skeletonize(mask, "soft", iterations=5)
        soft_s = time.perf_counter() - t0
        same = bool((read_volume(out).array == whole).all())
        print(f"{'PASS' if same else 'FAIL'} soft streamed == in memory (whole volume; {soft_s:.1f} s in memory)")
        del whole
        spacing = read_volume(src).spacing if "--spacing" not in args.topological else None
        t0 = time.perf_counter()
        whole = skeletonize(mask, "topological", spacing=spacing)
        topo_s = time.perf_counter() - t0
        same = bool((read_volume(topo).array == whole).all())
        print(f"{'PASS' if same else 'FAIL'} topological streamed == in memory (whole volume; {topo_s:.1f} s in "
              f"memory, {int(whole.sum())} skeleton voxels)")
        del whole, mask
    if args.no_scaling:
        return 0
    t = scaling(src, tmp)
    ratio = t[1] / t[2]
    print(f"{'PASS' if ratio >= 1.6 else 'FAIL'} LocalCluster 2 workers vs 1: {ratio:.2f}x "
          f"({t[1]:.1f} s vs {t[2]:.1f} s, after a warm-up; target >= 1.6)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
