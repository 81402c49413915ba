"""Torch devices: which exist here, which one to use, and telling a GPU's out-of-memory error."""

from __future__ import annotations

import warnings

import torch


def available_devices() -> list[str]:
    """Torch devices usable on this machine, best first (always ends with ``"cpu"``)."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    found.append("cpu")
    return found


def resolve_device(device) -> torch.device:
    """``None``/``"auto"`` → the best available device; otherwise check it exists."""
    if device is None or device == "auto":
        return torch.device(available_devices()[0])
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda' or 'mps'; got {device!r}"
        ) from err
    if dev.type not in available_devices():
        raise ValueError(
            f"device {str(dev)!r} is not available on this machine; "
            f"available: {', '.join(available_devices())}"
        )
    return dev


def _is_out_of_memory(err: BaseException) -> bool:
    oom = getattr(torch.cuda, "OutOfMemoryError", ())
    if oom and isinstance(err, oom):
        return True
    return isinstance(err, RuntimeError) and "out of memory" in str(err).lower()


def with_cpu_fallback(dev: torch.device, what: str, on_device, on_cpu):
    """``on_device()``, or ``on_cpu()`` with a warning if ``dev`` (a GPU) ran out of memory.

    Any other error is raised as it is: no silent fallback.
    """
    try:
        return on_device()
    except Exception as err:  # noqa: BLE001 - re-raised unless it is a GPU OOM
        if dev.type == "cpu" or not _is_out_of_memory(err):
            raise
    warnings.warn(f"out of memory on {dev}; computing the {what} on the CPU instead", RuntimeWarning, stacklevel=5)
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    return on_cpu()
