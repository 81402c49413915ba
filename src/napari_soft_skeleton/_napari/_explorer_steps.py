"""The iteration explorer's computation: every step of the soft skeleton, stored compactly.

No Qt here (tested directly); :mod:`._explorer_widget` shows the steps.

* a mask (0/1 input) erodes monotonically and its skeleton only grows, so two
  small integer maps are exact: ``depth`` (the eroded image at step ``k`` is
  ``depth > k``) and ``joined`` (the skeleton so far is ``joined <= k``);
* a float map keeps every step's eroded image and skeleton as float32, but
  only where the input is above its minimum (elsewhere both stay constant:
  the minimum and 0), which is refused when it would take more than
  :data:`MAX_FLOAT_STORE_BYTES` — saying how many iterations would fit.

Once the eroded image is constant nothing changes any more, so the walk stops
there and later steps show the last one computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from napari.layers import Labels

from ..skeletonize import _as_probability
from ..soft import soft_skeleton_steps
from ._common import UserError, image_input, layer_array

__all__ = [
    "MAX_FLOAT_STORE_BYTES",
    "ExplorerSteps",
    "check_fits",
    "compute_steps",
    "explorer_input",
    "float_store_bytes",
]

#: A float map stores (max + 1) × 2 float32 values per voxel above its minimum; above this many bytes it is refused.
MAX_FLOAT_STORE_BYTES = int(1.5e9)


def explorer_input(layer) -> np.ndarray:
    """The layer as the soft skeleton sees it: a bool mask or a float32 map in [0, 1].

    Raises :class:`UserError` with one sentence for input the explorer cannot use.
    """
    data = layer_array(layer, allow_4d=False, control="input layer")
    if isinstance(layer, Labels):
        return data > 0
    image, kind, _ = image_input(layer, data)  # a two-valued image is a mask: the exact compact path
    if kind == "rescaled":
        image = _as_probability(image, normalize=True)
    return image if kind == "mask" else image.astype(np.float32, copy=False)


def _stored_voxels(image: np.ndarray) -> int:
    """How many voxels the explorer stores per step: 0 for a mask, else those above the minimum."""
    if image.dtype == bool:
        return 0
    return int(np.count_nonzero(image != image.min()))


def _extent(shape) -> str:
    if len(set(shape)) == 1:
        return f"{shape[0]}{'²' if len(shape) == 2 else '³'}"
    return "×".join(str(s) for s in shape)


def check_fits(image: np.ndarray, iterations: int, name: str) -> None:
    """Raise :class:`UserError` if storing ``iterations`` steps of ``image`` takes too much memory.

    The message says how many iterations would fit.
    """
    voxels = _stored_voxels(image)
    if float_store_bytes((voxels,), iterations) <= MAX_FLOAT_STORE_BYTES:
        return
    fit = MAX_FLOAT_STORE_BYTES // float_store_bytes((voxels,), 0) - 1
    room = f"{MAX_FLOAT_STORE_BYTES / 1e9:g} GB"
    where = f"this {_extent(image.shape)} layer ('{name}', {voxels} voxels above its minimum)"
    if fit < 1:
        raise UserError(f"Not even 1 iteration fits in {room} for {where}; crop the layer.")
    raise UserError(f"At most {fit} iterations fit in {room} for {where}, not {iterations}; "
                    f"set 'max iterations' to {fit} or crop the layer.")


@dataclass
class ExplorerSteps:
    """Every step of :func:`soft_skeleton_steps` on one image, stored compactly.

    Steps after ``last`` equal step ``last`` (the eroded image had become
    constant there, so nothing changes any more).
    """

    iterations: int  # the maximum asked for (K)
    last: int  # the last step computed
    settled: int | None  # the skeleton is the same for every count >= settled; None: still changing at K
    binary: bool
    shape: tuple[int, ...]
    depth: np.ndarray | None = None  # mask: eroded image at step k is depth > k
    joined: np.ndarray | None = None  # mask: skeleton so far at step k is joined <= k
    support: np.ndarray | None = None  # float map: flat indices of the voxels above the minimum
    background: float = 0.0  # float map: its minimum (the eroded value off the support)
    eroded: list[np.ndarray] = field(default_factory=list)  # float map: values on the support, per step
    skeletons: list[np.ndarray] = field(default_factory=list)
    skeleton_voxels: list[int] = field(default_factory=list)  # voxels > 0.5 per step
    eroded_fraction: list[float] = field(default_factory=list)  # share of the input's mass gone per step

    def _step(self, k: int) -> int:
        if not 0 <= k <= self.iterations:
            raise ValueError(f"step must be between 0 and {self.iterations}; got {k}")
        return min(int(k), self.last)

    def eroded_at(self, k: int) -> np.ndarray:
        """The image eroded ``k`` times (float32)."""
        k = self._step(k)
        if self.binary:
            return (self.depth > k).astype(np.float32)
        return self._spread(self.eroded[k], self.background)

    def skeleton_at(self, k: int) -> np.ndarray:
        """The soft skeleton accumulated after step ``k`` (float32)."""
        k = self._step(k)
        if self.binary:
            return (self.joined <= k).astype(np.float32)
        return self._spread(self.skeletons[k], 0.0)

    def _spread(self, values: np.ndarray, fill: float) -> np.ndarray:
        out = np.full(self.shape, fill, np.float32)
        np.put(out, self.support, values)
        return out

    def stats_at(self, k: int) -> tuple[int, float]:
        """(skeleton voxels > 0.5, fraction of the input eroded away) at step ``k``."""
        k = self._step(k)
        return self.skeleton_voxels[k], self.eroded_fraction[k]


def float_store_bytes(shape, iterations: int) -> int:
    """Bytes the explorer keeps for a float map: (iterations + 1) × 2 float32 arrays of ``shape``.

    ``shape`` is what is stored per step: ``(n,)`` for the ``n`` voxels above
    the input's minimum.
    """
    return (int(iterations) + 1) * 2 * int(np.prod(shape, dtype=np.int64)) * 4


def compute_steps(image: np.ndarray, iterations: int, progress=None) -> ExplorerSteps:
    """Run :func:`soft_skeleton_steps` on a 2D/3D bool mask or float map and keep every step.

    ``progress(done, total)`` is called after each step; an exception raised
    in it stops the walk.
    """
    iterations = int(iterations)
    binary = image.dtype == bool
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]
    total_mass = float(x.sum(dtype=torch.float64))
    steps = ExplorerSteps(iterations=iterations, last=iterations, settled=None, binary=binary,
                          shape=tuple(image.shape))
    if binary:
        count_dtype = np.min_scalar_type(iterations + 1)
        steps.depth = np.zeros(image.shape, count_dtype)
        steps.joined = np.full(image.shape, iterations + 1, count_dtype)
    else:  # off the support the eroded image stays at the minimum and the skeleton at 0
        steps.background = float(image.min())
        steps.support = np.flatnonzero(image != steps.background)
    if progress is not None:
        progress(0, iterations + 1)
    for k, level, skel in soft_skeleton_steps(x, iterations):
        lv, sk = level[0, 0].numpy(), skel[0, 0].numpy()
        on = sk > 0.5
        if binary:
            steps.depth += lv > 0.5
            steps.joined[on & (steps.joined > k)] = k
        else:  # (indexing copies: later steps never overwrite what is stored)
            steps.eroded.append(lv.reshape(-1)[steps.support])
            steps.skeletons.append(sk.reshape(-1)[steps.support])
        steps.skeleton_voxels.append(int(np.count_nonzero(on)))
        mass = float(level.sum(dtype=torch.float64))
        steps.eroded_fraction.append(1.0 - mass / total_mass if total_mass > 0 else 0.0)
        if progress is not None:
            progress(k + 1, iterations + 1)
        # img_k constant: every later delta is 0, so the skeleton is final since step k - 1
        if bool(level.amin() == level.amax()):
            steps.last = k
            steps.settled = max(k - 1, 0)
            break
    if progress is not None:
        progress(iterations + 1, iterations + 1)
    return steps
