"""Independent tests of ``napari_soft_skeleton.soft_skeleton``.

Everything is checked against ``naive_reference.naive_soft_skeleton``, the
clDice formula written literally with ``max_pool2d`` / ``max_pool3d`` and
``torch.min``: values (float64 to rounding, float32 loosely) and autograd
gradients (including max-pool tie-breaking and ``torch.min`` tie splitting on
binary / plateau inputs), of first, second and third order.  Also: the
one-line ``ValueError`` every public entry point gives for tensors it cannot
take (meta device, zero-size spatial axis, complex, sparse, ...).
"""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from naive_reference import naive_dilate, naive_erode, naive_soft_skeleton
from scipy import ndimage

from napari_soft_skeleton import _morphology, soft_skeleton, topological_skeleton
from napari_soft_skeleton.soft import soft_skeleton_levels, soft_skeleton_steps

F64_TOL = dict(rtol=1e-12, atol=1e-12)
F32_TOL = dict(rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _tol(dtype):
    return F64_TOL if dtype == torch.float64 else F32_TOL


def _describe(img):
    return (
        f"shape={tuple(img.shape)} dtype={img.dtype} "
        f"min={img.min().item():.4g} max={img.max().item():.4g} "
        f"n_unique={torch.unique(img).numel()}"
    )


def assert_same(got, exp, ctx, **tol):
    tol = tol or _tol(exp.dtype)
    assert got.shape == exp.shape, f"{ctx}: shape {tuple(got.shape)} != {tuple(exp.shape)}"
    assert got.dtype == exp.dtype, f"{ctx}: dtype {got.dtype} != {exp.dtype}"
    torch.testing.assert_close(
        got.detach(), exp.detach(), msg=lambda m: f"{ctx}\n{m}", **tol
    )


def check_values(img, iterations, ctx="", **tol):
    """Compare forward values with the naive formula; return the output."""
    exp = naive_soft_skeleton(img.detach().clone(), iterations)
    got = soft_skeleton(img, iterations)
    assert isinstance(got, torch.Tensor)
    assert got.device == img.device
    assert_same(got, exp, f"values {ctx} it={iterations} {_describe(img)}", **tol)
    return got


def grads(fn, img, iterations, w):
    x = img.detach().clone().requires_grad_(True)
    out = fn(x, iterations)
    assert out.requires_grad, "output must require grad when the input does"
    (g,) = torch.autograd.grad((out * w).sum(), x)
    return out.detach(), g


def check_grads(img, iterations, ctx="", seed=0, **tol):
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(img.shape, generator=gen, dtype=img.dtype)
    out_e, g_e = grads(naive_soft_skeleton, img, iterations, w)
    out_g, g_g = grads(soft_skeleton, img, iterations, w)
    what = f"{ctx} it={iterations} {_describe(img)}"
    assert_same(out_g, out_e, f"values (grad mode) {what}", **tol)
    assert g_g is not None, f"no gradient {what}"
    assert_same(g_g, g_e, f"gradient {what}", **tol)


def t64(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


def _segment_dist(coords, a, b):
    ab = b - a
    t = ((coords - a) @ ab) / max(float(ab @ ab), 1e-12)
    t = np.clip(t, 0.0, 1.0)
    closest = a + t[:, None] * ab
    return np.linalg.norm(coords - closest, axis=1)


def sparse_objects(rs, shape, n_tubes=3, n_blobs=2, touch_border=False):
    """Binary image (numpy float64) with a few random tubes and blobs."""
    shape = tuple(shape)
    nd = len(shape)
    grids = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
    coords = np.stack([g.ravel() for g in grids], axis=1).astype(np.float64)
    vol = np.zeros(int(np.prod(shape)), dtype=bool)
    for k in range(n_tubes):
        r = rs.uniform(1.0, 2.5)
        if touch_border:
            lo = np.zeros(nd)
            hi = np.array(shape, float) - 1
        else:
            m = r + 3
            lo = np.full(nd, m)
            hi = np.array(shape, float) - 1 - m
        a = rs.uniform(lo, hi)
        b = rs.uniform(lo, hi)
        if touch_border and k == 0:
            # pin the first tube's end points onto opposite faces
            ax = rs.randint(nd)
            a[ax] = 0
            b[ax] = shape[ax] - 1
        vol |= _segment_dist(coords, a, b) <= r
    for k in range(n_blobs):
        r = rs.uniform(2.0, 4.5)
        if touch_border:
            c = rs.uniform(0, np.array(shape, float) - 1)
            if k == 0:
                c = np.array([0.0 if rs.rand() < 0.5 else s - 1.0 for s in shape])  # corner
        else:
            m = r + 3
            c = rs.uniform(np.full(nd, m), np.array(shape, float) - 1 - m)
        vol |= np.linalg.norm(coords - c, axis=1) <= r
    vol = vol.reshape(shape)
    if not touch_border:
        border = np.ones(shape, bool)
        border[tuple(slice(1, -1) for _ in shape)] = False
        assert not vol[border].any()
    return vol.astype(np.float64)


def smooth_field(rs, shape, sigma=2.0, lo=0.1, hi=0.9):
    f = ndimage.gaussian_filter(rs.randn(*shape), sigma, mode="reflect")
    f = (f - f.min()) / (f.max() - f.min())
    return lo + (hi - lo) * f


def make_input(rs, kind, shape):
    """Random NCHW / NCDHW float64 tensor of a given kind."""
    if kind == "continuous":
        a = rs.rand(*shape)
    elif kind == "binary":
        a = (rs.rand(*shape) < rs.uniform(0.2, 0.8)).astype(np.float64)
    elif kind == "plateau":
        a = rs.randint(0, 3, size=shape) * 0.5
    elif kind == "negative":
        a = rs.randn(*shape) * 3.0 - 1.0
    elif kind == "sparse":
        a = np.zeros(shape)
        mask = rs.rand(*shape) < 0.08
        a[mask] = 1.0
    elif kind == "sparse_float":
        a = np.zeros(shape)
        mask = rs.rand(*shape) < 0.15
        a[mask] = rs.rand(int(mask.sum()))
    elif kind == "constant":
        a = np.full(shape, rs.uniform(-2, 2))
    elif kind == "zeros":
        a = np.zeros(shape)
    elif kind == "binary_pm":
        a = np.where(rs.rand(*shape) < 0.5, -1.5, 2.0)
    else:
        raise AssertionError(kind)
    return t64(a)


# --------------------------------------------------------------------------
# sanity of the reference itself
# --------------------------------------------------------------------------


def test_naive_reference_matches_scipy_morphology():
    """The reference erode/dilate are grey erosion (cross) / dilation (box)
    with out-of-volume neighbours ignored."""
    rs = np.random.RandomState(0)
    for shape in [(7, 9), (5, 6, 7)]:
        a = rs.randn(*shape)
        x = t64(a)[None, None]
        nd = len(shape)
        cross = ndimage.generate_binary_structure(nd, 1)
        box = np.ones((3,) * nd, bool)
        e = ndimage.grey_erosion(a, footprint=cross, mode="constant", cval=np.inf)
        d = ndimage.grey_dilation(a, footprint=box, mode="constant", cval=-np.inf)
        np.testing.assert_array_equal(naive_erode(x)[0, 0].numpy(), e)
        np.testing.assert_array_equal(naive_dilate(x)[0, 0].numpy(), d)


# --------------------------------------------------------------------------
# basic values
# --------------------------------------------------------------------------


@pytest.mark.parametrize("iterations", [0, 1, 2, 5, 12])
@pytest.mark.parametrize(
    "shape", [(2, 3, 17, 19), (1, 2, 11, 12, 13), (1, 1, 32, 32), (1, 1, 16, 16, 16)]
)
def test_values_random_float64(shape, iterations):
    rs = np.random.RandomState(hash((shape, iterations)) % 2**31)
    check_values(make_input(rs, "continuous", shape), iterations)


@pytest.mark.parametrize("kind", ["continuous", "binary", "plateau", "negative", "sparse"])
@pytest.mark.parametrize("shape", [(2, 2, 20, 21), (1, 2, 12, 13, 14)])
def test_values_float32(shape, kind):
    rs = np.random.RandomState(7)
    img = make_input(rs, kind, shape).float()
    for it in (0, 1, 4, 15):
        got = check_values(img, it, ctx=kind)
        assert got.dtype == torch.float32


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind", ["binary", "sparse", "plateau", "binary_pm"])
@pytest.mark.parametrize("dim", [2, 3])
def test_values_binary_and_plateau(kind, dim, dtype):
    rs = np.random.RandomState(11)
    shape = (2, 2, 25, 23) if dim == 2 else (1, 2, 14, 15, 13)
    img = make_input(rs, kind, shape).to(dtype)
    for it in (0, 1, 3, 8, 30):
        check_values(img, it, ctx=kind)


@pytest.mark.parametrize("dim", [2, 3])
def test_values_outside_unit_interval_and_negative(dim):
    rs = np.random.RandomState(5)
    shape = (2, 1, 24, 22) if dim == 2 else (1, 2, 13, 14, 12)
    cases = {
        "randn*3-1": rs.randn(*shape) * 3 - 1,
        "all_negative": -rs.rand(*shape) * 10 - 0.5,
        "large": rs.rand(*shape) * 1e4 + 100,
        "binary_shifted": (rs.rand(*shape) < 0.4) * 7.0 - 3.0,
        "binary_0_2": (rs.rand(*shape) < 0.5) * 2.0,
        "binary_neg1_0": (rs.rand(*shape) < 0.5) * 1.0 - 1.0,
        "sparse_objects_scaled": np.stack(
            [
                np.stack([sparse_objects(rs, shape[2:], 2, 1) * 4 - 2.5 for _ in range(shape[1])])
                for _ in range(shape[0])
            ]
        ),
        "tiny_scale": rs.rand(*shape) * 1e-9,
    }
    for name, a in cases.items():
        img = t64(a)
        for it in (0, 1, 3, 10):
            check_values(img, it, ctx=name, **({} if name != "large" else dict(rtol=1e-12, atol=1e-8)))


def test_iterations_zero_is_relu_img_minus_open():
    rs = np.random.RandomState(3)
    for shape in [(2, 2, 9, 10), (1, 1, 6, 7, 8)]:
        for kind in ("continuous", "binary", "negative"):
            img = make_input(rs, kind, shape)
            nd = img.dim() - 2
            if nd == 2:
                e = torch.min(
                    -F.max_pool2d(-img, (3, 1), 1, (1, 0)),
                    -F.max_pool2d(-img, (1, 3), 1, (0, 1)),
                )
                o = F.max_pool2d(e, 3, 1, 1)
            else:
                e = torch.min(
                    torch.min(
                        -F.max_pool3d(-img, (3, 1, 1), 1, (1, 0, 0)),
                        -F.max_pool3d(-img, (1, 3, 1), 1, (0, 1, 0)),
                    ),
                    -F.max_pool3d(-img, (1, 1, 3), 1, (0, 0, 1)),
                )
                o = F.max_pool3d(e, 3, 1, 1)
            exp = F.relu(img - o)
            assert_same(soft_skeleton(img, 0), exp, f"iterations=0 {kind} {shape}")


# --------------------------------------------------------------------------
# (a)(b) sparse objects in a 40^3 volume, (c) dense smooth fields
# --------------------------------------------------------------------------


@pytest.mark.parametrize("touch_border", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_sparse_binary_volumes_3d(seed, touch_border):
    rs = np.random.RandomState(100 + seed + 10 * touch_border)
    vol = sparse_objects(rs, (40, 40, 40), n_tubes=3, n_blobs=2, touch_border=touch_border)
    img = t64(vol)[None, None]
    for it in (0, 1, 3, 10, 50):
        check_values(img, it, ctx=f"sparse binary 40^3 border={touch_border}")
        # float32 binary masks: results are exact 0/1 combos, must also agree
        check_values(img.float(), it, ctx=f"sparse binary 40^3 f32 border={touch_border}")


@pytest.mark.parametrize("touch_border", [False, True])
def test_sparse_binary_images_2d(touch_border):
    rs = np.random.RandomState(200 + touch_border)
    img = torch.stack(
        [
            torch.stack(
                [t64(sparse_objects(rs, (64, 60), 4, 3, touch_border)) for _ in range(2)]
            )
            for _ in range(2)
        ]
    )
    for it in (0, 1, 3, 10, 50):
        check_values(img, it, ctx=f"sparse binary 2D border={touch_border}")
        check_values(img.float(), it, ctx=f"sparse binary 2D f32 border={touch_border}")


@pytest.mark.parametrize("touch_border", [False, True])
def test_sparse_noisy_volumes_3d(touch_border):
    rs = np.random.RandomState(300 + touch_border)
    vol = sparse_objects(rs, (40, 40, 40), 3, 2, touch_border)
    # (1) noise only inside the objects: background stays exactly 0
    inside = vol * (0.9 + 0.1 * rs.rand(*vol.shape))
    # (2) noise everywhere (no exact zeros at all)
    everywhere = np.clip(vol + 0.02 * rs.randn(*vol.shape), 0, 1) * 0.98 + 0.01
    # (3) mostly-zero background with a few noisy specks
    specks = vol.copy()
    idx = rs.rand(*vol.shape) < 0.002
    specks[idx] = rs.rand(int(idx.sum())) * 0.3
    for name, a in [("inside", inside), ("everywhere", everywhere), ("specks", specks)]:
        img = t64(a)[None, None]
        for it in (0, 1, 3, 10, 50):
            check_values(img, it, ctx=f"noisy {name} border={touch_border}")
        check_values(img.float(), 10, ctx=f"noisy {name} f32 border={touch_border}")


@pytest.mark.parametrize("dim", [2, 3])
def test_dense_smooth_fields(dim):
    rs = np.random.RandomState(400 + dim)
    shape = (64, 64) if dim == 2 else (32, 32, 32)
    for sigma in (1.0, 3.0):
        a = np.stack([smooth_field(rs, shape, sigma) for _ in range(2)])[None]
        assert (a > 0).all()
        img = t64(a)
        for it in (0, 1, 5, 20, 60):
            check_values(img, it, ctx=f"smooth sigma={sigma}")
        check_values(img.float(), 20, ctx=f"smooth sigma={sigma} f32")


# --------------------------------------------------------------------------
# (e) early stop, (f) all-zero / constant input
# --------------------------------------------------------------------------


def test_iterations_far_beyond_convergence():
    rs = np.random.RandomState(500)
    cases = [
        ("ball", sparse_objects(rs, (20, 20, 20), 1, 1)[None, None]),
        ("continuous3d", rs.rand(1, 2, 9, 10, 8)),
        ("offset_min", 0.3 + rs.rand(1, 1, 8, 9, 7)),  # converges to a nonzero constant
        ("continuous2d", rs.rand(2, 1, 13, 11)),
        ("negative2d", rs.randn(1, 2, 12, 10) - 2),
    ]
    for name, a in cases:
        img = t64(a)
        for it in (40, 200):
            check_values(img, it, ctx=f"early stop {name}")
        # beyond convergence the result no longer changes
        assert_same(soft_skeleton(img, 200), soft_skeleton(img, 1000), f"early stop {name} 200 vs 1000")


@pytest.mark.parametrize(
    "shape", [(1, 1, 12, 13), (2, 3, 5, 6), (1, 1, 10, 11, 12), (2, 1, 1, 1, 1), (1, 1, 1, 1)]
)
@pytest.mark.parametrize("value", [0.0, 1.0, 0.7, -3.0, 250.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_constant_and_zero_input(shape, value, dtype):
    img = torch.full(shape, value, dtype=dtype)
    for it in (0, 1, 5, 100):
        out = check_values(img, it, ctx=f"constant {value}")
        assert torch.count_nonzero(out) == 0


def test_constant_and_zero_input_gradients():
    for shape in [(1, 1, 9, 8), (1, 2, 5, 6, 7)]:
        for value in (0.0, 1.0, -2.0):
            img = torch.full(shape, value, dtype=torch.float64)
            for it in (0, 3, 30):
                check_grads(img, it, ctx=f"constant {value}")


# --------------------------------------------------------------------------
# small sizes, batch / channel independence
# --------------------------------------------------------------------------

SMALL_SHAPES = [
    (1, 1, 1, 1),
    (2, 3, 1, 5),
    (1, 1, 5, 1),
    (1, 1, 2, 2),
    (1, 2, 2, 3),
    (1, 1, 1, 1, 1),
    (1, 1, 2, 2, 2),
    (1, 1, 1, 7, 1),
    (1, 1, 7, 1, 1),
    (1, 1, 1, 1, 7),
    (2, 2, 1, 3, 4),
    (1, 1, 2, 1, 6),
]


@pytest.mark.parametrize("shape", SMALL_SHAPES)
@pytest.mark.parametrize("kind", ["continuous", "binary", "plateau", "negative"])
def test_small_sizes(shape, kind):
    rs = np.random.RandomState(sum(shape) * 31 + len(kind))
    img = make_input(rs, kind, shape)
    for it in (0, 1, 2, 5):
        check_values(img, it, ctx=f"small {kind}")
        check_values(img.float(), it, ctx=f"small f32 {kind}")
        check_grads(img, it, ctx=f"small {kind}")


@pytest.mark.parametrize("dim", [2, 3])
def test_batch_and_channels_independent(dim):
    rs = np.random.RandomState(600 + dim)
    spatial = (14, 13) if dim == 2 else (9, 10, 8)
    kinds = ["continuous", "binary", "zeros", "sparse", "constant", "negative"]
    imgs = [make_input(rs, k, spatial) for k in kinds]
    # N=3, C=2: a mix of binary / continuous / constant images in one batch
    img = torch.stack([torch.stack(imgs[2 * n : 2 * n + 2]) for n in range(3)])
    assert img.shape == (3, 2) + spatial
    for it in (0, 2, 7, 40):
        out = check_values(img, it, ctx="mixed batch")
        for n, c in itertools.product(range(3), range(2)):
            alone = soft_skeleton(img[n : n + 1, c : c + 1].clone(), it)
            assert_same(out[n : n + 1, c : c + 1], alone, f"batch independence n={n} c={c} it={it}")
        check_grads(img, it, ctx="mixed batch")


# --------------------------------------------------------------------------
# (g) no_grad vs requires_grad, input untouched, dtype / device
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["continuous", "binary", "sparse", "plateau", "negative", "zeros"])
@pytest.mark.parametrize("dim", [2, 3])
def test_no_grad_and_requires_grad_identical(kind, dim):
    rs = np.random.RandomState(700 + dim)
    shape = (2, 1, 18, 17) if dim == 2 else (1, 2, 11, 12, 10)
    base = make_input(rs, kind, shape)
    for dtype in (torch.float64, torch.float32):
        img = base.to(dtype)
        for it in (0, 1, 6, 40):
            with torch.no_grad():
                a = soft_skeleton(img, it)
            b = soft_skeleton(img, it)  # grad mode on, input does not require grad
            x = img.clone().requires_grad_(True)
            c = soft_skeleton(x, it)
            assert c.requires_grad
            with torch.no_grad():
                d = soft_skeleton(x, it)
            assert not d.requires_grad
            exp = naive_soft_skeleton(img, it)
            for name, r in (("no_grad", a), ("grad_mode", b), ("requires_grad", c), ("rg+no_grad", d)):
                assert_same(r, exp, f"{name} {kind} {dtype} it={it}")
            assert torch.equal(a, c.detach()), f"no_grad vs requires_grad differ {kind} {dtype} it={it}"
            assert torch.equal(a, b) and torch.equal(a, d)


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("kind", ["continuous", "binary", "sparse", "zeros", "constant", "negative"])
@pytest.mark.parametrize("dim", [2, 3])
def test_input_not_modified(kind, dim, requires_grad):
    rs = np.random.RandomState(800 + dim)
    shape = (1, 2, 15, 16) if dim == 2 else (1, 1, 10, 11, 12)
    for dtype in (torch.float64, torch.float32):
        img = make_input(rs, kind, shape).to(dtype).requires_grad_(requires_grad)
        ref = img.detach().clone()
        version = img._version
        for it in (0, 1, 5, 50):
            for ctx in ("grad", "no_grad"):
                if ctx == "no_grad":
                    with torch.no_grad():
                        out = soft_skeleton(img, it)
                else:
                    out = soft_skeleton(img, it)
                assert torch.equal(img.detach(), ref), f"input modified ({kind}, it={it}, {ctx})"
                assert img.requires_grad is requires_grad
                assert img.grad is None
                assert img.is_leaf
                assert img.dtype == dtype and img.shape == shape
                assert out is not img
                # writing into the output must not write into the input
                out.detach().add_(1.0)
                assert torch.equal(img.detach(), ref), f"output aliases input ({kind}, it={it}, {ctx})"
        assert img._version == version, "input was modified in place"


def test_input_not_modified_after_backward():
    rs = np.random.RandomState(9)
    for kind, shape in [("binary", (1, 1, 12, 12)), ("continuous", (1, 1, 7, 8, 9))]:
        img = make_input(rs, kind, shape).requires_grad_(True)
        ref = img.detach().clone()
        w = torch.randn(shape, dtype=torch.float64)
        out = soft_skeleton(img, 4)
        (out * w).sum().backward()
        assert torch.equal(img.detach(), ref)
        g1 = img.grad.clone()
        # backward accumulates into .grad exactly like autograd does
        out2 = soft_skeleton(img, 4)
        (out2 * w).sum().backward()
        assert_same(img.grad, 2 * g1, f"grad accumulation {kind}")
        x = img.detach().clone().requires_grad_(True)
        (naive_soft_skeleton(x, 4) * w).sum().backward()
        assert_same(g1, x.grad, f"backward() grad {kind}")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_output_dtype_and_device(dtype):
    rs = np.random.RandomState(10)
    for shape in [(1, 2, 9, 10), (1, 1, 6, 7, 8)]:
        for kind in ("continuous", "binary"):
            img = make_input(rs, kind, shape).to(dtype)
            out = soft_skeleton(img, 3)
            assert out.dtype == dtype
            assert out.device == img.device
            assert out.shape == img.shape
            exp = naive_soft_skeleton(img, 3)
            tol = {torch.float16: dict(rtol=1e-2, atol=1e-2), torch.bfloat16: dict(rtol=5e-2, atol=5e-2)}
            assert_same(out, exp, f"dtype {dtype} {kind}", **tol.get(dtype, _tol(dtype)))


def test_non_contiguous_and_non_leaf_input():
    rs = np.random.RandomState(12)
    for shape in [(2, 3, 11, 12), (2, 1, 6, 7, 8)]:
        for kind in ("continuous", "binary"):
            base = make_input(rs, kind, shape)
            nc = base.transpose(-1, -2)  # non-contiguous view
            assert not nc.is_contiguous()
            check_values(nc, 3, ctx=f"non-contiguous {kind}")
            check_values(base[:, :1], 3, ctx=f"channel slice {kind}")
            # gradient through a non-leaf input
            p = base.clone().requires_grad_(True)
            w = torch.randn(nc.shape, dtype=torch.float64)
            (g,) = torch.autograd.grad((soft_skeleton(p.transpose(-1, -2) * 1.0, 3) * w).sum(), p)
            q = base.clone().requires_grad_(True)
            (ge,) = torch.autograd.grad((naive_soft_skeleton(q.transpose(-1, -2) * 1.0, 3) * w).sum(), q)
            assert_same(g, ge, f"non-leaf/non-contiguous grad {kind}")


def test_cuda_device():
    if not torch.cuda.is_available():
        pytest.skip("CUDA not available")
    rs = np.random.RandomState(13)
    for shape in [(2, 1, 20, 21), (1, 2, 12, 13, 14)]:
        for kind in ("continuous", "binary", "sparse"):
            img = make_input(rs, kind, shape)
            for it in (0, 3, 40):
                exp = naive_soft_skeleton(img, it)
                got = soft_skeleton(img.cuda(), it)
                assert got.device == img.cuda().device
                assert got.dtype == torch.float64
                assert_same(got.cpu(), exp, f"cuda {kind} it={it}")
                got32 = soft_skeleton(img.float().cuda(), it)
                assert got32.dtype == torch.float32 and got32.is_cuda
                assert_same(got32.cpu(), naive_soft_skeleton(img.float(), it), f"cuda f32 {kind} it={it}")
            # gradients on CUDA vs CUDA naive (same device tie-breaking)
            x = img.cuda().requires_grad_(True)
            w = torch.randn(shape, dtype=torch.float64, device="cuda")
            (g,) = torch.autograd.grad((soft_skeleton(x, 3) * w).sum(), x)
            y = img.cuda().requires_grad_(True)
            (ge,) = torch.autograd.grad((naive_soft_skeleton(y, 3) * w).sum(), y)
            assert g.is_cuda
            assert_same(g, ge, f"cuda grad {kind}")


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(), (5,), (4, 5), (1, 4, 5), (1, 1, 1, 2, 3, 4)])
def test_bad_rank_raises(shape):
    img = torch.rand(shape, dtype=torch.float32)
    with pytest.raises(ValueError, match=r"N, ?C"):
        soft_skeleton(img, 3)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.bool, torch.uint8, torch.int8])
@pytest.mark.parametrize("shape", [(1, 1, 6, 7), (1, 1, 4, 5, 6)])
def test_non_float_dtype_raises(dtype, shape):
    img = torch.zeros(shape, dtype=dtype)
    with pytest.raises(ValueError, match=r"(?i)float"):
        soft_skeleton(img, 3)


@pytest.mark.parametrize("iterations", [-1, -5])
def test_negative_iterations_raises(iterations):
    for shape in [(1, 1, 6, 7), (1, 1, 4, 5, 6)]:
        with pytest.raises(ValueError):
            soft_skeleton(torch.rand(shape), iterations)


# --------------------------------------------------------------------------
# (h) gradients
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", ["continuous", "binary", "sparse", "plateau", "negative", "binary_pm", "sparse_float"]
)
@pytest.mark.parametrize("dim", [2, 3])
def test_gradients_match_naive(kind, dim):
    rs = np.random.RandomState(900 + dim + 13 * len(kind))
    shape = (2, 2, 24, 23) if dim == 2 else (1, 2, 12, 13, 11)
    img = make_input(rs, kind, shape)
    for it in (0, 1, 3, 10):
        check_grads(img, it, ctx=f"grad {kind}", seed=it)


@pytest.mark.parametrize("touch_border", [False, True])
def test_gradients_sparse_objects_24(touch_border):
    rs = np.random.RandomState(1000 + touch_border)
    vol = sparse_objects(rs, (24, 24, 24), n_tubes=2, n_blobs=1, touch_border=touch_border)
    img = t64(vol)[None, None]
    noisy = t64(vol * (0.85 + 0.15 * rs.rand(*vol.shape)))[None, None]
    for it in (0, 1, 3, 10, 30):
        check_grads(img, it, ctx=f"grad sparse binary 24^3 border={touch_border}", seed=it)
    for it in (1, 10):
        check_grads(noisy, it, ctx=f"grad sparse noisy 24^3 border={touch_border}", seed=it)


def test_gradients_sparse_objects_2d():
    rs = np.random.RandomState(1100)
    img = torch.stack(
        [t64(sparse_objects(rs, (48, 40), 3, 2, touch_border=tb)) for tb in (False, True)]
    )[None]
    for it in (0, 1, 3, 10, 30):
        check_grads(img, it, ctx="grad sparse binary 2D", seed=it)


def test_gradients_dense_smooth_24():
    rs = np.random.RandomState(1200)
    img = t64(smooth_field(rs, (24, 24, 24), 2.0))[None, None]
    for it in (1, 5, 25):
        check_grads(img, it, ctx="grad smooth 24^3", seed=it)
    img2 = t64(np.stack([smooth_field(rs, (40, 40), 2.0) for _ in range(2)]))[None]
    for it in (1, 5, 25):
        check_grads(img2, it, ctx="grad smooth 2D", seed=it)


def test_gradients_early_stop():
    rs = np.random.RandomState(1300)
    for kind, shape in [("continuous", (1, 1, 8, 7, 9)), ("binary", (1, 1, 10, 9, 8)),
                        ("negative", (1, 2, 11, 12)), ("sparse", (1, 1, 15, 14))]:
        img = make_input(rs, kind, shape)
        check_grads(img, 60, ctx=f"grad early stop {kind}")


def test_gradients_float32():
    rs = np.random.RandomState(1400)
    for kind in ("continuous", "binary", "sparse"):
        for shape in [(1, 2, 16, 17), (1, 1, 10, 11, 12)]:
            img = make_input(rs, kind, shape).float()
            for it in (0, 3, 10):
                check_grads(img, it, ctx=f"grad f32 {kind}", seed=it)


def _distinct_values(shape):
    """Well separated distinct float64 values: no ties anywhere, and perturbations of 1e-6 change no argmin/argmax."""
    gen = torch.Generator().manual_seed(sum(shape))
    n = int(np.prod(shape))
    perm = torch.randperm(n, generator=gen).to(torch.float64)
    return (perm / n + 0.01 * torch.rand(n, generator=gen, dtype=torch.float64) / n).reshape(shape)


@pytest.mark.parametrize("shape", [(1, 1, 5, 6), (1, 2, 4, 5), (1, 1, 4, 4, 5), (2, 1, 3, 4, 4)])
def test_gradcheck(shape):
    img = _distinct_values(shape)
    for it in (0, 1, 2):
        x = img.clone().requires_grad_(True)
        assert torch.autograd.gradcheck(
            lambda t: naive_soft_skeleton(t, it), (x,), eps=1e-7, atol=1e-6
        ), "reference failed gradcheck"
        assert torch.autograd.gradcheck(
            lambda t: soft_skeleton(t, it), (x,), eps=1e-7, atol=1e-6
        )


# --------------------------------------------------------------------------
# (i) randomized sweep
# --------------------------------------------------------------------------


def test_randomized_sweep():
    rs = np.random.RandomState(20240601)
    kinds = ["continuous", "binary", "plateau", "negative", "sparse", "sparse_float",
             "constant", "zeros", "binary_pm"]
    for case in range(150):
        dim = rs.choice([2, 3])
        n, c = rs.randint(1, 3), rs.randint(1, 3)
        if dim == 2:
            spatial = tuple(int(s) for s in rs.randint(1, 20, size=2))
        else:
            spatial = tuple(int(s) for s in rs.randint(1, 11, size=3))
        shape = (n, c) + spatial
        kind = kinds[rs.randint(len(kinds))]
        it = int(rs.choice([0, 1, 2, 3, 5, 8, 13, 25, 60]))
        img = make_input(rs, kind, shape)
        if rs.rand() < 0.3:
            img = img * rs.uniform(-3, 3) + rs.uniform(-2, 2)
        ctx = f"sweep case {case} kind={kind}"
        check_values(img, it, ctx=ctx)
        check_values(img.float(), it, ctx=ctx + " f32")
        if case % 3 == 0:
            check_grads(img, it, ctx=ctx, seed=case)


# --------------------------------------------------------------------------
# (j) higher derivatives: create_graph=True (gradient penalties, HVPs)
# --------------------------------------------------------------------------


def second_order(fn, img, iterations, w, v):
    """First gradient, and the gradient of ``<grad, v>`` w.r.t. the input and ``w``."""
    x = img.detach().clone().requires_grad_(True)
    w = w.detach().clone().requires_grad_(True)
    out = fn(x, iterations)
    (g,) = torch.autograd.grad((out * w).sum(), x, create_graph=True)
    assert g.requires_grad, "the gradient must be differentiable under create_graph=True"
    h_x, h_w = torch.autograd.grad((g * v).sum(), (x, w))
    return g.detach(), h_x, h_w


def check_second_order(img, iterations, ctx="", seed=0, **tol):
    """Compare first and second derivatives with the naive formula's; return its H·v."""
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(img.shape, generator=gen, dtype=img.dtype)
    v = torch.randn(img.shape, generator=gen, dtype=img.dtype)
    g_e, hx_e, hw_e = second_order(naive_soft_skeleton, img, iterations, w, v)
    g_g, hx_g, hw_g = second_order(soft_skeleton, img, iterations, w, v)
    what = f"{ctx} it={iterations} {_describe(img)}"
    assert_same(g_g, g_e, f"gradient (create_graph) {what}", **tol)
    assert_same(hx_g, hx_e, f"d<grad, v>/dx {what}", **tol)
    assert_same(hw_g, hw_e, f"d<grad, v>/dw {what}", **tol)
    return hx_e


@pytest.mark.parametrize(
    "kind", ["continuous", "binary", "sparse", "plateau", "negative", "binary_pm", "sparse_float"]
)
@pytest.mark.parametrize("dim", [2, 3])
def test_double_backward_matches_naive(kind, dim):
    rs = np.random.RandomState(1500 + dim + 17 * len(kind))
    shape = (2, 2, 13, 12) if dim == 2 else (1, 2, 8, 9, 7)
    img = make_input(rs, kind, shape)
    hvp_norms = {}
    for it in (0, 1, 3, 10):
        h = check_second_order(img, it, ctx=f"double backward {kind}", seed=it)
        hvp_norms[it] = float(h.abs().sum())
    assert hvp_norms[0] == 0.0  # one relu of a piecewise-linear map: no curvature
    if kind in ("continuous", "negative", "plateau"):
        # skel * delta is bilinear: the second-order part is there to get wrong
        # (two-valued and isolated-voxel inputs have none: skel and delta are 0/1
        # or never overlap)
        assert all(hvp_norms[it] > 1.0 for it in (1, 3, 10)), hvp_norms


def test_double_backward_sparse_noisy_objects():
    """Tubes and blobs with noisy values on an exact-zero background (ties)."""
    rs = np.random.RandomState(1550)
    for touch_border in (False, True):
        vol = sparse_objects(rs, (16, 16, 16), n_tubes=2, n_blobs=1, touch_border=touch_border)
        noisy = t64(vol * (0.85 + 0.15 * rs.rand(*vol.shape)))[None, None]
        for it in (1, 5, 20):
            h = check_second_order(noisy, it, ctx=f"noisy objects border={touch_border}", seed=it)
            assert float(h.abs().sum()) > 1.0


def test_double_backward_issue_example():
    """Issue 8: a gradient penalty on an 8×9×10 float64 volume.  The second-order
    part used to be dropped silently (|x.grad|₁ 617 instead of the formula's 3587)."""
    g = torch.Generator().manual_seed(0)
    img = torch.rand(1, 1, 8, 9, 10, generator=g, dtype=torch.float64)
    w = torch.randn(img.shape, generator=g, dtype=torch.float64)

    def penalised_grad(fn, penalty=True):
        x = img.clone().requires_grad_(True)
        out = fn(x, 3)
        (gx,) = torch.autograd.grad((out * w).sum(), x, create_graph=True)
        loss = (out * w).sum() + (gx.pow(2).sum() if penalty else 0.0)
        loss.backward()
        return x.grad

    got = penalised_grad(soft_skeleton)
    exp = penalised_grad(naive_soft_skeleton)
    first_only = penalised_grad(naive_soft_skeleton, penalty=False)
    assert_same(got, exp, "issue 8 example: x.grad")
    l1_got, l1_exp = float(got.abs().sum()), float(exp.abs().sum())
    assert l1_got == pytest.approx(l1_exp, rel=1e-12)
    # the penalty's part is most of it: dropping it cannot pass
    assert l1_exp > 3 * float(first_only.abs().sum())


@pytest.mark.parametrize("shape", SMALL_SHAPES)
@pytest.mark.parametrize("kind", ["continuous", "binary", "plateau"])
def test_double_backward_small_sizes(shape, kind):
    rs = np.random.RandomState(sum(shape) * 37 + len(kind))
    img = make_input(rs, kind, shape)
    for it in (0, 1, 2, 5):
        check_second_order(img, it, ctx=f"small {kind}", seed=it)


def test_double_backward_beyond_convergence():
    """Iterations after the eroded image is constant are skipped: still exact."""
    rs = np.random.RandomState(1600)
    cases = [
        ("continuous3d", rs.rand(1, 1, 6, 7, 5)),
        ("offset_min", 0.3 + rs.rand(1, 1, 7, 6, 6)),
        ("negative2d", rs.randn(2, 1, 9, 8) - 2),
        ("ball", sparse_objects(rs, (14, 14, 14), 1, 1)[None, None]),
    ]
    for name, a in cases:
        img = t64(a)
        for it in (30, 100):
            check_second_order(img, it, ctx=f"beyond convergence {name}", seed=it)


def test_double_backward_mixed_batch_and_constant():
    rs = np.random.RandomState(1700)
    kinds = ["continuous", "zeros", "binary", "constant", "sparse_float", "negative"]
    imgs = [make_input(rs, k, (8, 9, 7)) for k in kinds]
    img = torch.stack([torch.stack(imgs[2 * n : 2 * n + 2]) for n in range(3)])
    for it in (0, 2, 6):
        check_second_order(img, it, ctx="mixed batch", seed=it)
    for value in (0.0, 1.0, -2.0):
        const = torch.full((1, 2, 5, 6, 7), value, dtype=torch.float64)
        h = check_second_order(const, 3, ctx=f"constant {value}")
        assert torch.count_nonzero(h) == 0


def test_double_backward_float32():
    rs = np.random.RandomState(1800)
    for kind in ("continuous", "sparse_float"):
        for shape in [(1, 2, 14, 15), (1, 1, 8, 9, 10)]:
            img = make_input(rs, kind, shape).float()
            for it in (1, 4):
                check_second_order(img, it, ctx=f"f32 {kind}", seed=it, rtol=1e-4, atol=1e-4)


def test_double_backward_non_leaf_non_contiguous():
    rs = np.random.RandomState(1900)
    base = make_input(rs, "continuous", (1, 2, 7, 8, 9))
    v = torch.randn(base.shape, dtype=torch.float64)
    w = torch.randn(base.transpose(-1, -2).shape, dtype=torch.float64)
    results = []
    for fn in (soft_skeleton, naive_soft_skeleton):
        p = base.clone().requires_grad_(True)
        q = p.transpose(-1, -2) * 2.0  # non-leaf, non-contiguous
        (g,) = torch.autograd.grad((fn(q, 3) * w).sum(), p, create_graph=True)
        (h,) = torch.autograd.grad((g * v).sum(), p)
        results.append((g, h))
    assert_same(results[0][0], results[1][0], "non-leaf gradient")
    assert_same(results[0][1], results[1][1], "non-leaf second order")
    assert float(results[1][1].abs().sum()) > 1.0


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_backward_with_create_graph_accumulates_like_naive():
    """``loss.backward(create_graph=True)``: .grad is differentiable and exact."""
    rs = np.random.RandomState(1950)
    img = make_input(rs, "plateau", (1, 1, 7, 6, 8)) + 0.1 * make_input(rs, "continuous", (1, 1, 7, 6, 8))
    w = torch.randn(img.shape, dtype=torch.float64)
    results = []
    for fn in (soft_skeleton, naive_soft_skeleton):
        x = img.clone().requires_grad_(True)
        (fn(x, 4) * w).sum().backward(create_graph=True)
        first = x.grad
        assert first.requires_grad
        x.grad = None
        first.pow(2).sum().backward()
        results.append((first.detach(), x.grad))
    assert_same(results[0][0], results[1][0], "backward(create_graph=True): .grad")
    assert_same(results[0][1], results[1][1], "second backward through .grad")
    assert float(results[1][1].abs().sum()) > 1.0


def test_hessian_vector_product():
    rs = np.random.RandomState(2000)
    for shape in [(1, 1, 7, 8, 6), (2, 1, 12, 11)]:
        img = make_input(rs, "continuous", shape)
        w = torch.randn(shape, dtype=torch.float64)
        v = torch.randn(shape, dtype=torch.float64)
        hvps = []
        for fn in (soft_skeleton, naive_soft_skeleton):
            _, hvp = torch.autograd.functional.hvp(lambda t, fn=fn, w=w: (fn(t, 4) * w).sum(), img, v)
            hvps.append(hvp)
        assert_same(hvps[0], hvps[1], f"hvp {shape}")
        assert float(hvps[1].abs().sum()) > 1.0


@pytest.mark.parametrize("kind", ["continuous", "plateau", "sparse_float"])
@pytest.mark.parametrize("shape", [(1, 1, 6, 7, 5), (2, 1, 10, 9)])
def test_third_order_matches_naive(shape, kind):
    rs = np.random.RandomState(2100 + len(shape) + len(kind))
    img = make_input(rs, kind, shape)
    gen = torch.Generator().manual_seed(len(kind))
    ws = [torch.randn(shape, generator=gen, dtype=torch.float64) for _ in range(3)]

    def derivatives(fn, it):
        x = img.clone().requires_grad_(True)
        y, res = fn(x, it), []
        for w in ws:
            (y,) = torch.autograd.grad((y * w).sum(), x, create_graph=True)
            res.append(y.detach())
        return res

    for it in (0, 2, 6):
        got, exp = derivatives(soft_skeleton, it), derivatives(naive_soft_skeleton, it)
        for order, (a, b) in enumerate(zip(got, exp), start=1):
            assert_same(a, b, f"order {order} {kind} it={it} {_describe(img)}")
        if it == 6 and kind == "continuous":
            assert float(exp[2].abs().sum()) > 1.0  # products of three levels: cubic terms


@pytest.mark.parametrize("shape", [(1, 1, 5, 6), (1, 1, 4, 4, 5)])
def test_gradgradcheck(shape):
    img = _distinct_values(shape)  # (the gradient is smooth there too)
    for it in (0, 1, 2):
        x = img.clone().requires_grad_(True)
        assert torch.autograd.gradgradcheck(
            lambda t, it=it: naive_soft_skeleton(t, it), (x,), eps=1e-7, atol=1e-6
        ), "reference failed gradgradcheck"
        assert torch.autograd.gradgradcheck(
            lambda t, it=it: soft_skeleton(t, it), (x,), eps=1e-7, atol=1e-6
        )


def test_first_order_backward_does_not_build_a_graph(monkeypatch):
    """Without create_graph the fast backward runs (not the max-pool formula)."""
    rs = np.random.RandomState(2200)
    img = make_input(rs, "continuous", (1, 1, 7, 8, 9))
    calls = []
    real = _morphology.pool_erode
    monkeypatch.setattr(_morphology, "pool_erode", lambda t: calls.append(1) or real(t))
    x = img.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(soft_skeleton(x, 3).sum(), x)
    assert not g.requires_grad and calls == []
    soft_skeleton(x, 3).sum().backward()
    assert calls == []
    (g2,) = torch.autograd.grad(soft_skeleton(x, 3).sum(), x, create_graph=True)
    assert g2.requires_grad and len(calls) == 4  # the level erosions of 3 iterations
    assert_same(g2, g, "create_graph gradient vs fast gradient")


def test_cuda_double_backward():
    if not torch.cuda.is_available():
        pytest.skip("CUDA not available")
    rs = np.random.RandomState(2300)
    for shape in [(2, 1, 14, 15), (1, 2, 8, 9, 10)]:
        img = make_input(rs, "continuous", shape)
        w = torch.randn(shape, dtype=torch.float64, device="cuda")
        v = torch.randn(shape, dtype=torch.float64, device="cuda")
        res = []
        for fn in (soft_skeleton, naive_soft_skeleton):
            x = img.cuda().requires_grad_(True)
            (g,) = torch.autograd.grad((fn(x, 3) * w).sum(), x, create_graph=True)
            (h,) = torch.autograd.grad((g * v).sum(), x)
            res.append(h)
        assert res[0].is_cuda
        assert_same(res[0], res[1], f"cuda second order {shape}")


# --------------------------------------------------------------------------
# (k) tensors the functions cannot take: one-line ValueErrors
# --------------------------------------------------------------------------


ENTRY_POINTS = {
    "soft_skeleton": lambda t: soft_skeleton(t, 3),
    "soft_skeleton_steps": lambda t: soft_skeleton_steps(t, 3),  # raises when called
    "soft_skeleton_levels": lambda t: soft_skeleton_levels(t, 3),
    "topological_skeleton": lambda t: topological_skeleton(t),
}


def raises_one_line(name, img, match):
    with pytest.raises(ValueError, match=match) as err:
        ENTRY_POINTS[name](img)
    message = str(err.value)
    assert "\n" not in message, message
    assert message.startswith(name + " "), message
    return message


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
@pytest.mark.parametrize("shape", [(1, 1, 5, 6), (1, 1, 4, 5, 6), (0, 1, 4, 5)])
def test_meta_tensor_raises(name, shape):
    img = torch.empty(shape, device="meta")
    raises_one_line(name, img, "meta")
    img = torch.empty(shape, device="meta", requires_grad=True)
    raises_one_line(name, img, "meta")


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
@pytest.mark.parametrize(
    "shape", [(1, 1, 0, 5, 5), (1, 1, 5, 0), (2, 3, 4, 5, 0), (1, 2, 0, 0), (0, 1, 0, 5)]
)
def test_zero_size_spatial_axis_raises(name, shape):
    for requires_grad in (False, True):
        img = torch.rand(shape, dtype=torch.float64, requires_grad=requires_grad)
        message = raises_one_line(name, img, "spatial")
        assert str(tuple(shape)) in message


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
@pytest.mark.parametrize("shape", [(0, 1, 5, 6), (2, 0, 5, 6), (0, 2, 3, 4, 5), (1, 0, 3, 4, 5)])
def test_empty_batch_gives_empty_result(name, shape):
    img = torch.rand(shape, dtype=torch.float64)
    if name == "soft_skeleton_steps":
        steps = list(soft_skeleton_steps(img, 3))
        assert [k for k, _, _ in steps] == [0, 1, 2, 3]
        out = steps[-1][2]
    elif name == "soft_skeleton_levels":
        out, used = soft_skeleton_levels(img, 3)
        assert used == 0
    else:
        out = ENTRY_POINTS[name](img)
    assert out.shape == img.shape and out.dtype == img.dtype
    if name == "soft_skeleton":  # gradients of every order: empty too
        x = img.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(soft_skeleton(x, 3).sum(), x, create_graph=True)
        (h,) = torch.autograd.grad((g * g).sum(), x)
        assert g.shape == h.shape == img.shape


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_complex_dtype_raises(name, dtype):
    img = torch.rand((1, 1, 5, 6), dtype=dtype)
    raises_one_line(name, img, "(?i)float.*complex")


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_float8_dtype_raises(name):
    dtype = getattr(torch, "float8_e4m3fn", None)
    if dtype is None:
        pytest.skip("no float8 in this torch")
    img = torch.rand(1, 1, 5, 6).to(dtype)
    raises_one_line(name, img, "float16, bfloat16, float32 or float64")


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
@pytest.mark.parametrize("name", list(ENTRY_POINTS))
@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_sparse_tensor_raises(name, layout):
    dense = (torch.rand(1, 1, 6, 7) > 0.7).double()
    img = dense.to_sparse() if layout == "coo" else dense.to_sparse_csr()
    raises_one_line(name, img, "dense")
