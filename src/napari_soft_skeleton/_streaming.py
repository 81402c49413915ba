"""A Zarr volume skeletonized into an OME-Zarr store chunk by chunk: bounded memory, resumable.

:func:`skeletonize_store` runs one task per chunk of the output: read the
chunk's region of the input *plus its halo* straight from the input store,
skeletonize it in memory, cut the halo off, write the chunk.  The tasks share
nothing and move no data between them (each reads what it needs from the
store), so they run as well on dask's threads in this process as on the
workers of a dask.distributed cluster that can reach both stores; memory is
a few chunks per worker.  The result is the in-memory result bit for bit,
because the halo covers everything a voxel's value depends on (for the soft
skeleton ``iterations + 2`` voxels: :mod:`._chunked`).  ``iterations='auto'``
first finds the count the in-memory call stops at, in a pass over the input
(:mod:`._chunked_auto`); the job file keeps it for a resume.

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

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .io._atomic import atomic_write, check_replaceable, replace_directory
from .io._errors import InputError
from .io._zarr_region import chunk_regions

JOB_FILE = ".soft-skeleton-job.json"
DONE_DIR = ".done"
#: The work files of a run that needs them (the topological thinning's arrays: :mod:`._streaming_thin`).
WORK_DIR = "work"


def partial_path(output: str | os.PathLike) -> Path:
    p = Path(output)
    return p.with_name(p.name + ".partial")


def _key(region) -> str:
    return ".".join(str(r.start) for r in region)


def _chunk_task(source, target, region, halo, params: dict, done_dir: str, shown: str = "the input") -> int:
    """Skeletonize one chunk (its region of ``source`` with ``halo`` voxels around, clipped to the volume),
    write it into ``target`` and mark it done."""
    from ._chunked import soft_block

    outer = tuple(slice(max(r.start - h, 0), min(r.stop + h, n)) for r, h, n in zip(region, halo, source.shape))
    block = _read(source, outer, params, shown)
    out = soft_block(block, iterations=params["iterations"], threshold=params["threshold"],
                     per_slice=params["per_slice"], device=params["device"])
    inner = tuple(slice(r.start - o.start, r.stop - o.start) for r, o in zip(region, outer))
    target[region] = out[inner]
    mark_done(done_dir, region)
    return 1


def mark_done(done_dir: str, region) -> None:
    """Mark the chunk at ``region`` written: an empty file under ``done_dir``, created by an atomic rename."""
    fd, tmp = tempfile.mkstemp(dir=done_dir, prefix=".tmp-")
    os.close(fd)
    os.replace(tmp, os.path.join(done_dir, _key(region)))


def _prepared(block: np.ndarray, params: dict) -> np.ndarray:
    """A block of the input as the skeleton sees it: the mask (``as_mask``), the rescaled map, or as is."""
    if params["as_mask"]:
        return block != 0
    if params["rescale"] is not None:
        lo, hi = params["rescale"]
        return ((block.astype(np.float32) - lo) / (hi - lo)) if hi > lo else np.zeros(block.shape, np.float32)
    return block


def _auto_count(source, params: dict, shown: str = "the input") -> tuple[int, str | None]:
    """``iterations='auto'``: the in-memory count, from a first pass over ``source`` (:mod:`._chunked_auto`)
    whose tasks read their windows straight from the store, and the in-memory warning (or None)."""
    import dask
    import dask.array as da

    from ._chunked_auto import auto_iterations

    dtype = bool if params["as_mask"] else (np.float32 if params["rescale"] is not None else source.dtype)
    arr = da.from_zarr(source).map_blocks(_prepared, params=params, dtype=dtype)

    def read(outer):
        return dask.delayed(_read, pure=True)(source, outer, params, shown)

    return auto_iterations(arr, threshold=params["threshold"], per_slice=params["per_slice"], read=read)


def _read(source, region, params: dict, shown: str = "the input") -> np.ndarray:
    """The input's ``region`` as the skeleton sees it (:func:`_prepared`); a damaged chunk is one line."""
    from .io._zarr import read_region

    return _prepared(read_region(source, region, shown), params)


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
                      progress=None, report: dict | None = None, fill_holes: bool = False, levels=None,
                      zarr_format: int = 2) -> int:
    """The soft skeleton of the zarr array ``source`` (read from ``source_path``) into the OME-Zarr store
    ``output``, chunk by chunk, resuming a run killed before (module docstring); returns the chunks computed.

    ``iterations='auto'`` first finds the in-memory count in a pass over ``source``; the job file keeps
    ``'auto'`` (a resume must ask for it too) and the count (a resume reuses it); ``report``, if given,
    receives it as ``report['iterations']``.

    ``as_mask``: the input's nonzero voxels are the mask; ``rescale``: ``(lo, hi)`` maps intensities to
    [0, 1] (``normalize``); ``out_dtype``: the skeleton's dtype (bool, the labels', or a float map's);
    ``fill_holes``: a mask's or label image's holes filled first (:mod:`._chunked_fill`, exact, into the run's
    work directory); ``levels``: the output pyramid's (:func:`finish`); ``zarr_format``: 2 (OME-Zarr 0.4) or 3
    (0.5)."""
    import dask

    from ._chunked import soft_halo
    from .io._zarr import compute_tasks, create_ome_zarr

    out = Path(output)
    check_replaceable(out)  # (never an unrelated directory: it would be replaced at the end)
    partial = partial_path(out)
    auto = iterations == "auto"
    params = {"method": "soft", "iterations": "auto" if auto else int(iterations), "threshold": threshold,
              "per_slice": bool(per_slice), "as_mask": bool(as_mask),
              "rescale": None if rescale is None else [float(v) for v in rescale],
              "dtype": np.dtype(out_dtype).str, "spacing": None if spacing is None else [float(s) for s in spacing],
              "unit": unit, "fill_holes": bool(fill_holes), "levels": levels, "zarr_format": int(zarr_format),
              "device": device}
    chunks = tuple(min(n, c) for n, c in zip(source.shape, source.chunks))
    job = _job(params, source_path, source.shape, chunks)
    done_dir = partial / DONE_DIR

    def create(path):
        if auto:  # (before the job file is written: it keeps the count for a resume)
            job.update(zip(("auto_iterations", "auto_warning"), _auto_count(source, params, source_path)))
        return create_ome_zarr(path, source.shape, out_dtype, spacing, unit, out.name.split(".")[0], chunks,
                               zarr_format=zarr_format)

    target, old = open_partial(out, partial, job, create)
    if auto:
        iterations, warning = (old or job).get("auto_iterations"), (old or job).get("auto_warning")
        if not isinstance(iterations, int):
            raise InputError(f"cannot resume '{out}': '{partial}' is not a run of this program; delete it")
    if auto and warning:
        import warnings

        warnings.warn(warning, UserWarning, stacklevel=2)
    params["iterations"] = int(iterations)  # (what the chunks run; the job file keeps 'auto')
    if report is not None:
        report["iterations"] = int(iterations)
    if fill_holes:  # (the tasks then read the filled volume; a resume finds it done)
        from ._chunked_fill import fill_store
        from ._fill import warn_absorbed
        def read(region):
            block = _read(source, region, params, source_path)
            return block.astype(np.uint8) if block.dtype == bool else block

        source, absorbed = fill_store(read, source.shape, chunks,
                                      partial / WORK_DIR / "fill", labels=not params["as_mask"])
        warn_absorbed(absorbed, stacklevel=2)
    halo = tuple(0 if per_slice and axis == 0 else soft_halo(iterations) for axis in range(source.ndim))
    todo, total = chunks_to_do(target, done_dir, chunk_regions(source.shape, chunks))
    if progress is not None:
        progress(total - len(todo), total)
    tasks = [dask.delayed(_chunk_task, pure=False)(source, target, r, halo, params, str(done_dir), source_path)
             for r in todo]
    compute_tasks(tasks, progress, total - len(todo), total)  # (on the client's cluster when one is active)
    finish(out, partial, total, levels)
    return len(todo)


def open_partial(out: Path, partial: Path, job: dict, create) -> tuple[Any, dict | None]:
    """``(target, old job)``: the output array a run with the same ``job`` left in ``partial`` and that run's
    job, or a new one (``create(partial)``) and None; a run with other options is refused, naming the first
    option that differs."""
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
        return zarr.open_group(str(partial), mode="r+")["0"], old
    target = create(partial)
    (partial / DONE_DIR).mkdir()
    atomic_write(partial / JOB_FILE, json.dumps(job, indent=1))
    return target, None


def chunks_to_do(target, done_dir: Path, regions) -> tuple[list, int]:
    """``(regions to compute, how many in all)``: those without a done mark, and those whose mark stands for
    a chunk that no longer reads back (damaged since: its mark is removed and it is computed again)."""
    from .io._zarr import read_region

    regions = list(regions)
    done = {p.name for p in Path(done_dir).iterdir() if not p.name.startswith(".tmp-")}
    todo = []
    for r in regions:
        if _key(r) in done:
            try:
                read_region(target, r, str(done_dir.parent))
                continue
            except InputError:
                (Path(done_dir) / _key(r)).unlink()
        todo.append(r)
    return todo, len(regions)


def finish(out: Path, partial: Path, total: int, levels) -> None:
    """Check every chunk is marked done, add the pyramid's levels (``levels``: a number, None for as many as
    :func:`.io._pyramid.add_levels` chooses, 0 for none), clear the run's files and rename ``partial`` to
    ``out`` (the output appears whole, or not at all)."""
    import zarr

    from .io._pyramid import add_levels

    done_dir = partial / DONE_DIR
    missing = total - sum(1 for p in done_dir.iterdir() if not p.name.startswith(".tmp-"))
    if missing:
        raise InputError(f"'{out}' is not complete: {missing} chunks were not written; run again to resume")
    root = zarr.open_group(str(partial), mode="r")
    attrs = root.attrs.get("ome", root.attrs)
    if levels != 0 and len(attrs["multiscales"][0]["datasets"]) == 1:  # (not yet: a resumed run may have)
        add_levels(partial, levels=levels)
    shutil.rmtree(done_dir)
    shutil.rmtree(partial / WORK_DIR, ignore_errors=True)
    (partial / JOB_FILE).unlink()
    replace_directory(partial, out)
