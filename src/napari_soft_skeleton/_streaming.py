"""A Zarr volume skeletonized into an OME-Zarr store chunk by chunk: bounded memory, resumable.

:func:`skeletonize_store` runs one task per chunk of the output: read the
chunk's region of the input *plus its halo* straight from the input store,
skeletonize it in memory, cut the halo off, write the chunk.  The tasks share
nothing and move no data between them (each reads what it needs from the
store), so they run as well on dask's threads in this process as on the
workers of a dask.distributed cluster that can reach both stores; memory is
a few chunks per worker.  The result is the in-memory result bit for bit,
because the halo covers everything a voxel's value depends on (for the soft
skeleton ``iterations + 2`` voxels: :mod:`._chunked`).

**Resume.**  The output is built in ``<output>.partial`` and renamed to
``<output>`` only when every chunk is written, so a finished output is
always complete.  Each chunk is marked done (an empty file under
``.done/``, created by an atomic rename after the chunk is stored) only
once it is written; a killed run leaves chunks without a mark, which the
next run computes again, and skips the marked ones.  The options a run was
started with are kept in ``.soft-skeleton-job.json``; a run with other
options or another input refuses to resume and names what differs.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .io._atomic import check_replaceable, replace_directory
from .io._errors import InputError

JOB_FILE = ".soft-skeleton-job.json"
DONE_DIR = ".done"


def partial_path(output: str | os.PathLike) -> Path:
    p = Path(output)
    return p.with_name(p.name + ".partial")


def _regions(shape, chunks):
    grid = [range(0, n, c) for n, c in zip(shape, chunks)]
    for start in itertools.product(*grid):
        yield tuple(slice(s, min(s + c, n)) for s, c, n in zip(start, chunks, shape))


def _key(region) -> str:
    return ".".join(str(r.start) for r in region)


def _chunk_task(source, target, region, halo, params: dict, done_dir: str) -> int:
    """Skeletonize one chunk (its region of ``source`` with ``halo`` voxels around, clipped to the volume),
    write it into ``target`` and mark it done."""
    from ._chunked import soft_block

    outer = tuple(slice(max(r.start - h, 0), min(r.stop + h, n)) for r, h, n in zip(region, halo, source.shape))
    block = np.asarray(source[outer])
    if params["as_mask"]:
        block = block != 0
    elif params["rescale"] is not None:
        lo, hi = params["rescale"]
        block = ((block.astype(np.float32) - lo) / (hi - lo)) if hi > lo else np.zeros(block.shape, np.float32)
    out = soft_block(block, iterations=params["iterations"], threshold=params["threshold"],
                     per_slice=params["per_slice"], device=params["device"])
    inner = tuple(slice(r.start - o.start, r.stop - o.start) for r, o in zip(region, outer))
    target[region] = out[inner]
    fd, tmp = tempfile.mkstemp(dir=done_dir, prefix=".tmp-")
    os.close(fd)
    os.replace(tmp, os.path.join(done_dir, _key(region)))
    return 1


def _job(params: dict, source_path: str, shape, chunks) -> dict:
    return {"input": os.path.abspath(source_path), "shape": list(shape), "chunks": list(chunks),
            **{k: v for k, v in params.items() if k != "device"}}


def _differs(old: dict, new: dict) -> str | None:
    for key in new:
        if old.get(key) != new[key]:
            return f"{key} was {old.get(key)!r}, now {new[key]!r}"
    return None


def skeletonize_store(source: Any, source_path: str, output: str | os.PathLike, *, iterations: int,
                      threshold, per_slice: bool, device, as_mask: bool, rescale, out_dtype, spacing, unit,
                      progress=None) -> int:
    """The soft skeleton of the zarr array ``source`` (read from ``source_path``) into the OME-Zarr store
    ``output``, chunk by chunk, resuming a run killed before (module docstring); returns the chunks computed.

    ``as_mask``: the input's nonzero voxels are the mask; ``rescale``: ``(lo, hi)`` maps intensities to
    [0, 1] (``normalize``); ``out_dtype``: the skeleton's dtype (bool, the labels', or a float map's)."""
    import dask

    from ._chunked import soft_halo
    from .io._zarr import compute_tasks, create_ome_zarr

    out = Path(output)
    check_replaceable(out)  # (never an unrelated directory: it would be replaced at the end)
    partial = partial_path(out)
    params = {"method": "soft", "iterations": int(iterations), "threshold": threshold, "per_slice": bool(per_slice),
              "as_mask": bool(as_mask), "rescale": None if rescale is None else [float(v) for v in rescale],
              "dtype": np.dtype(out_dtype).str, "spacing": None if spacing is None else [float(s) for s in spacing],
              "unit": unit, "device": device}
    chunks = tuple(min(n, c) for n, c in zip(source.shape, source.chunks))
    job = _job(params, source_path, source.shape, chunks)
    done_dir = partial / DONE_DIR
    import zarr

    if partial.exists():
        try:
            old = json.loads((partial / JOB_FILE).read_text())
        except (OSError, ValueError):
            raise InputError(f"cannot resume '{out}': '{partial}' is not a run of this program; delete it") from None
        why = _differs(old, job)
        if why is not None:
            raise InputError(f"cannot resume '{out}' with other options ({why}); rerun with the same options, "
                             f"or delete '{partial}' to start again")
        target = zarr.open_group(str(partial), mode="r+")["0"]
    else:
        target = create_ome_zarr(partial, source.shape, out_dtype, spacing, unit, out.name.split(".")[0], chunks)
        done_dir.mkdir()
        (partial / JOB_FILE).write_text(json.dumps(job, indent=1))
    halo = tuple(0 if per_slice and axis == 0 else soft_halo(iterations) for axis in range(source.ndim))
    done = {p.name for p in done_dir.iterdir() if not p.name.startswith(".tmp-")}
    todo = [r for r in _regions(source.shape, chunks) if _key(r) not in done]
    total = len(done) + len(todo)
    if progress is not None:
        progress(len(done), total)
    tasks = [dask.delayed(_chunk_task, pure=False)(source, target, r, halo, params, str(done_dir)) for r in todo]
    compute_tasks(tasks, progress, len(done), total)  # (on the client's cluster when one is active)
    missing = total - sum(1 for p in done_dir.iterdir() if not p.name.startswith(".tmp-"))
    if missing:
        raise InputError(f"'{out}' is not complete: {missing} chunks were not written; run again to resume")
    shutil.rmtree(done_dir)
    (partial / JOB_FILE).unlink()
    replace_directory(partial, out)
    return len(todo)
