"""clDice of two binary segmentations (Shit et al., CVPR 2021)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .._sparse import is_lazy
from ._checks import _JSONFields, _as_mask, _check_same_shape, _harmonic, _ratio


@dataclass
class ClDiceScore(_JSONFields):
    """Result of :func:`cldice`.

    Attributes
    ----------
    topology_precision : float
        Tprec = |S_pred ∩ V_target| / |S_pred| (1.0 if S_pred is empty).
    topology_sensitivity : float
        Tsens = |S_target ∩ V_pred| / |S_target| (1.0 if S_target is empty).
    cldice : float
        2 · Tprec · Tsens / (Tprec + Tsens) (0.0 if both are 0).
    n_prediction_skeleton, n_target_skeleton : int
        Number of voxels in each skeleton.
    """

    topology_precision: float
    topology_sensitivity: float
    cldice: float
    n_prediction_skeleton: int
    n_target_skeleton: int



def cldice(
    prediction,
    target,
    *,
    prediction_skeleton=None,
    target_skeleton=None,
) -> ClDiceScore:
    """Centerline Dice (clDice) of two binary segmentations.

    Parameters
    ----------
    prediction : (M, N) or (P, M, N) array_like
        Predicted binary segmentation V_pred (nonzero = foreground).
    target : array_like
        Target (ground-truth) binary segmentation V_target, same shape.
    prediction_skeleton : array_like, optional
        Skeleton S_pred of the prediction, same shape. Default:
        ``skimage.morphology.skeletonize(prediction)`` (see Notes).
    target_skeleton : array_like, optional
        Skeleton S_target of the target, same shape. Default:
        ``skimage.morphology.skeletonize(target)`` (see Notes).

    Returns
    -------
    score : ClDiceScore
        Topology precision, topology sensitivity and clDice.

    Raises
    ------
    ValueError
        If the inputs are not 2D/3D binary numeric arrays of one shape.

    See Also
    --------
    compare : Tolerance-based comparison of two skeletons.
    skimage.morphology.skeletonize : Default skeletonization (Zhang's
        method in 2D, Lee's method in 3D).

    Notes
    -----
    The score is computed exactly, without the smoothing constant of the
    differentiable loss. Given skeletons are used as they are (they are not
    clipped to their segmentation). An empty skeleton makes its ratio
    vacuously 1.0: two empty segmentations score 1.0, and an empty
    prediction against a non-empty target (or the reverse) scores 0.0.

    Default skeletons use :func:`skimage.morphology.skeletonize` (Zhang's
    method in 2D, Lee's in 3D), which can erase small objects entirely (in
    3D, for example, a 2x2x2 cube or a 2x2xN bar). So that no object is
    silently ignored, every 8-/26-connected component of a segmentation that
    has no skeleton voxel is represented by one voxel, its most interior one
    (maximum of the Euclidean distance transform). Given skeletons are not
    altered in this way.

    References
    ----------
    .. [1] S. Shit, J. C. Paetzold, A. Sekuboyina et al., "clDice - a Novel
           Topology-Preserving Loss Function for Tubular Structure
           Segmentation", CVPR 2021, 16560-16569.
           :arXiv:`2003.07311`

    Examples
    --------
    >>> import numpy as np
    >>> seg = np.zeros((9, 20), dtype=bool)
    >>> seg[3:6, 2:18] = True
    >>> cldice(seg, seg).cldice
    1.0
    >>> cldice(seg, np.roll(seg, 4, axis=0)).cldice
    0.0
    """
    if any(is_lazy(x) for x in (prediction, target, prediction_skeleton, target_skeleton)):
        from ._compare_lazy import cldice_lazy  # dask/zarr: the masks sampled at the skeletons' voxels

        return cldice_lazy(prediction, target, prediction_skeleton=prediction_skeleton,
                           target_skeleton=target_skeleton)
    pred = _as_mask(prediction, "prediction")
    targ = _as_mask(target, "target")
    _check_same_shape(pred, targ, "prediction", "target")

    if prediction_skeleton is None:
        s_pred = _default_skeleton(pred)
    else:
        s_pred = _as_mask(prediction_skeleton, "prediction_skeleton")
        _check_same_shape(pred, s_pred, "prediction", "prediction_skeleton")
    if target_skeleton is None:
        s_targ = _default_skeleton(targ)
    else:
        s_targ = _as_mask(target_skeleton, "target_skeleton")
        _check_same_shape(targ, s_targ, "target", "target_skeleton")

    n_sp = int(np.count_nonzero(s_pred))
    n_st = int(np.count_nonzero(s_targ))
    tprec = _ratio(int(np.count_nonzero(s_pred & targ)), n_sp)
    tsens = _ratio(int(np.count_nonzero(s_targ & pred)), n_st)
    return ClDiceScore(
        topology_precision=float(tprec),
        topology_sensitivity=float(tsens),
        cldice=float(_harmonic(tprec, tsens)),
        n_prediction_skeleton=n_sp,
        n_target_skeleton=n_st,
    )


def _default_skeleton(segmentation: np.ndarray) -> np.ndarray:
    """``skeletonize`` plus one voxel for every component it erased."""
    from skimage.morphology import skeletonize  # (imported on first use: it takes a second)

    skel = skeletonize(segmentation) > 0
    if not segmentation.any():
        return skel
    ndim = segmentation.ndim
    labels, n = ndi.label(segmentation, structure=np.ones((3,) * ndim, dtype=bool))
    kept = np.zeros(n + 1, dtype=bool)
    kept[labels[skel]] = True
    missing = np.flatnonzero(~kept[1:]) + 1
    if missing.size == 0:
        return skel
    objects = ndi.find_objects(labels)
    for lab in missing:
        box = objects[lab - 1]
        component = np.pad(labels[box] == lab, 1)
        depth = ndi.distance_transform_edt(component)
        peak = np.unravel_index(int(np.argmax(depth)), depth.shape)
        skel[tuple(int(p) - 1 + b.start for p, b in zip(peak, box))] = True
    return skel

