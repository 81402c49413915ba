"""soft_skeleton_steps: the per-iteration walk used by the iteration explorer."""

import pytest
import torch
from naive_reference import naive_erode, naive_soft_skeleton

from napari_soft_skeleton.soft import soft_skeleton_steps


@pytest.mark.parametrize("shape", [(1, 1, 20, 21), (2, 1, 9, 10, 11)])
def test_steps_match_the_formula_at_every_iteration(shape):
    g = torch.Generator().manual_seed(3)
    x = torch.rand(shape, generator=g, dtype=torch.float64)
    x[x < 0.3] = 0
    eroded = x
    steps = list(soft_skeleton_steps(x, 6))
    assert [k for k, _, _ in steps] == list(range(7))
    for k, level, skel in steps:
        torch.testing.assert_close(level, eroded, rtol=0, atol=0)
        torch.testing.assert_close(skel, naive_soft_skeleton(x, k), rtol=1e-12, atol=1e-12)
        eroded = naive_erode(eroded)


def test_steps_do_not_overwrite_what_they_yielded_and_keep_the_input():
    x = (torch.rand(1, 1, 12, 12, 12) > 0.4).float()
    before = x.clone()
    steps = list(soft_skeleton_steps(x, 4))
    assert torch.equal(x, before)
    assert torch.equal(steps[0][1], x)
    assert not torch.equal(steps[1][1], steps[3][1])


def test_steps_reject_bad_input():
    with pytest.raises(ValueError, match="4D"):
        next(soft_skeleton_steps(torch.rand(4, 4), 2))
