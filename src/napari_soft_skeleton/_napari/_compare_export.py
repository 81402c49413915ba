"""What "Export metrics…" and "Save plot…" write.

* :func:`json_text` — the layer names, the unit, the time point of a
  time-lapse comparison and ``to_dict()`` of each result;
* :func:`csv_text` — the summary (a value column per candidate), a blank
  row, then one row per slice;
* :func:`export_metrics` and :func:`save_plot` — write them (whole, or not
  at all) and say so in one sentence.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from napari.utils.notifications import show_error, show_info

from ..io import atomic_write
from ..metrics import SkeletonComparison


def json_text(results: Sequence[SkeletonComparison], names: dict) -> str:
    """The metrics as JSON: layer names, the unit, and ``to_dict()`` (per candidate when there are two)."""
    common = {"reference_layer": names["reference"], "mask_layer": names["mask"], "length_unit": results[0].unit}
    if names.get("time") is not None:
        common["time_point"] = names["time"]
    if len(results) == 1:
        payload = {**common, "candidate_layer": names["candidates"][0], **results[0].to_dict()}
    else:
        payload = {**common, "candidates": [
            {"letter": letter, "candidate_layer": name, **r.to_dict()}
            for letter, name, r in zip(names["letters"], names["candidates"], results)
        ]}
    return json.dumps(payload, indent=2, allow_nan=False) + "\n"


def csv_text(results: Sequence[SkeletonComparison], names: dict) -> str:
    """Summary rows (metric, then a value column per candidate), a blank row, then one row per slice."""
    several = len(results) > 1
    letters = names["letters"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["metric", *(letters if several else ["value"])])
    n = len(results)
    writer.writerow(["reference_layer", *[names["reference"]] * n])
    writer.writerow(["candidate_layer", *names["candidates"]])
    writer.writerow(["mask_layer", *[names["mask"] or ""] * n])
    writer.writerow(["length_unit", *[r.unit for r in results]])
    if names.get("time") is not None:
        writer.writerow(["time_point", *[names["time"]] * n])
    dicts = [r.to_dict() for r in results]
    for key in dicts[0]:
        if key == "per_slice":
            continue
        values = [json.dumps(d[key]) if isinstance(d[key], list) else "" if d[key] is None else d[key] for d in dicts]
        writer.writerow([key, *values])
    writer.writerow([])
    keys = list(results[0].per_slice)
    header = [f"{k} {letter}" for letter in letters for k in keys] if several else keys
    writer.writerow(["slice", *header])
    columns = [np.asarray(r.per_slice[k]) for r in results for k in keys]
    for i in range(len(columns[0]) if columns else 0):
        row: list = [i]
        for column in columns:
            v = column[i].item()
            row.append("" if isinstance(v, float) and not math.isfinite(v) else v)
        writer.writerow(row)
    return buffer.getvalue()


def export_metrics(path, results: Sequence[SkeletonComparison], names: dict) -> bool:
    """Write the metrics to ``path`` (.json or .csv); False (and an error notification) on failure."""
    if not results:
        return _fail("Run a comparison first; there are no metrics to export.")
    suffix = Path(path).suffix.lower()
    if suffix not in (".json", ".csv"):
        return _fail(f"Metrics are saved as .csv or .json, not as '{suffix or 'a file without extension'}'.")
    return _write(path, (json_text if suffix == ".json" else csv_text)(results, names), "the metrics")


def save_plot(path, figure, has_result: bool) -> bool:
    """Save ``figure`` to ``path`` (.png, .svg or .pdf); False (and an error notification) on failure."""
    if not has_result:
        return _fail("Run a comparison first; there is no plot to save.")
    suffix = Path(path).suffix.lower()
    if suffix not in (".png", ".svg", ".pdf"):
        return _fail(f"The plot is saved as .png, .svg or .pdf, not as '{suffix or 'a file without extension'}'.")
    return _write(path, lambda fh: figure.savefig(fh, format=suffix[1:], dpi=150,
                                                  facecolor=figure.get_facecolor()), "the plot")


def _fail(text: str) -> bool:
    show_error(text)
    return False


def _write(path, data, what: str) -> bool:
    try:
        atomic_write(path, data)
    except ValueError as err:  # io.InputError: names the path and the reason
        return _fail(f"Could not save {what}: {str(err).rstrip('.')}.")
    except OSError as err:
        return _fail(f"Could not save {what} to '{path}': {err.strerror or err}.")
    show_info(f"Saved {what} to '{path}'.")
    return True
