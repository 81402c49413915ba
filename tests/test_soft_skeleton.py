"""Independent tests of ``napari_soft_skeleton.soft_skeleton``.

Everything is checked against ``naive_reference.naive_soft_skeleton``, the
clDice formula written literally with ``max_pool2d`` / ``max_pool3d`` and
``torch.min``: values (float64 to rounding, float32 loosely) and autograd
gradients (including max-pool tie-breaking and ``torch.min`` tie splitting on
binary / plateau inputs).
"""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage

from napari_soft_skeleton import soft_skeleton
from naive_reference import naive_dilate, naive_erode, naive_soft_skeleton

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


@pytest.mark.parametrize("shape", [(1, 1, 5, 6), (1, 2, 4, 5), (1, 1, 4, 4, 5), (2, 1, 3, 4, 4)])
def test_gradcheck(shape):
    gen = torch.Generator().manual_seed(sum(shape))
    # well separated distinct values: no ties anywhere, perturbations of 1e-6
    # do not change any argmin/argmax
    n = int(np.prod(shape))
    perm = torch.randperm(n, generator=gen).to(torch.float64)
    img = (perm / n + 0.01 * torch.rand(n, generator=gen, dtype=torch.float64) / n).reshape(shape)
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
