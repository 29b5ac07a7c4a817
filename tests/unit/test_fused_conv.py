"""The C patch loops, the one-channel convolution and the fused bias + activation against references."""

from pathlib import Path

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad

from cvae.nn import conv_kernels, direct, epilogue, patches
from cvae.nn.layers import _geometry
from cvae.nn.ops import ConvOp

needs_c = pytest.mark.skipif(patches.native() is None, reason="no C compiler for the patch loops")
GEOMETRIES = [  # (in_hw, c, o, k, stride, padding): both strides, both paddings, odd sizes, one channel
    ((7, 5), 3, 4, 3, 2, "same"),
    ((6, 6), 1, 4, 3, 1, "same"),
    ((7, 4), 2, 1, 2, 2, "valid"),
    ((9, 8), 5, 1, 3, 1, "same"),
    ((8, 8), 4, 3, 2, 2, "same"),
    # one channel, wide enough for the direct loops' blocks of 8 pixels beside the borders' one-pixel loops:
    ((28, 28), 16, 1, 3, 1, "same"),  # the classroom decoder's last layer
    ((28, 28), 32, 1, 3, 1, "same"),
    ((12, 13), 20, 1, 3, 1, "same"),  # channels not a multiple of the 16 vector lanes
    ((13, 21), 3, 1, 3, 2, "same"),  # stride 2
    ((10, 19), 17, 1, 3, 1, "valid"),
    # 16 or 32 channels on the side a map writes: the direct loops (cvae.nn.direct), blocks of 7 and 8
    ((28, 28), 16, 32, 3, 2, "same"),  # the classroom decoder's deconv2 (and its input gradient)
    ((14, 14), 32, 32, 3, 2, "same"),  # its deconv1
    ((9, 19), 3, 16, 3, 2, "same"),
    ((8, 9), 16, 16, 2, 2, "valid"),
    ((7, 11), 32, 16, 3, 1, "same"),
]


def _arrays(hw, c, o, k, stride, padding, b=3, seed=0):
    g = _geometry(k, hw, stride, padding)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((b, *hw, c), dtype=np.float32)
    w = rng.standard_normal((k, k, c, o), dtype=np.float32)
    y = rng.standard_normal((b, g.h_out, g.w_out, o), dtype=np.float32)
    return g, x, w, y


@needs_c
@pytest.mark.parametrize("hw,c,o,k,stride,padding", GEOMETRIES)
def test_c_patch_loops_equal_numpy(hw, c, o, k, stride, padding):
    g, x, _, y = _arrays(hw, c, o, k, stride, padding)
    np.testing.assert_array_equal(patches.im2col(x, g), patches._im2col_numpy(x, g))
    cols = np.random.default_rng(1).standard_normal((x.shape[0] * g.h_out * g.w_out, k * k * c), dtype=np.float32)
    got, expected = np.empty_like(x), np.empty_like(x)
    patches.col2im(cols, g, got), patches._col2im_numpy(cols, g, expected)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    if stride == 1:
        np.testing.assert_array_equal(patches.shifted(y, g), patches._shifted_numpy(y, g))
        z = patches._shifted_numpy(y, g)
        got, expected = np.empty_like(y), np.empty_like(y)
        patches.unshift(z, g, got), patches._unshift_numpy(z, g, expected)
        np.testing.assert_allclose(got, expected, atol=1e-5)


@needs_c
@pytest.mark.parametrize("hw,c,o,k,stride,padding", GEOMETRIES)
def test_c_kernels_agree_with_the_numpy_ones_in_all_three_maps(monkeypatch, hw, c, o, k, stride, padding):
    """The one-output-channel loops, the direct loops and the C patch loops vs NumPy patches (no Winograd)."""
    g, x, w, y = _arrays(hw, c, o, k, stride, padding)
    assert direct.fits(o, c, k, x, w) == (o in direct.WIDTHS)  # the direct loops take these, and only these
    # the kernel gradient's blocks follow the registers: 8 input channels a block with AVX-512's 32, a 3x3
    # kernel's row of taps and 2 input channels with AVX2's 16
    blocks_fit = c % 8 == 0 if direct.native().direct_lanes() >= 16 else k == 3 and c % 2 == 0
    assert direct.kernel_grad_fits(x, y, k) == (o in direct.WIDTHS and blocks_fit)

    def all_three():
        return [
            conv_kernels.conv_forward(x, w, g),
            conv_kernels.conv_adjoint(y, w, g),
            conv_kernels.conv_kernel_grad(x, y, g),
        ]

    monkeypatch.setattr(conv_kernels, "winograd", lambda: None)
    fast = all_three()
    monkeypatch.setattr(conv_kernels, "native", lambda: None)
    monkeypatch.setattr(patches, "native", lambda: None)
    monkeypatch.setattr(direct, "native", lambda: None)
    for got, expected in zip(fast, all_three()):
        np.testing.assert_allclose(got, expected, rtol=0, atol=2e-5 * np.abs(expected).max())


@needs_c
def test_known_answer_tests_pass_here():
    for lib, check in (
        (patches.native(), patches._agrees_with_numpy),
        (epilogue.native(), epilogue._agrees_with_numpy),
        (direct.native(), direct._agrees_with_numpy),
    ):
        assert lib is not None, f"{check.__module__}: its C loops did not compile here"
        assert check(lib)


def _fused_and_reference(kind, activation, g, dtype):
    a = pt.tensor4(dtype=dtype)
    w = pt.tensor4(dtype=dtype)
    b = pt.vector(dtype=dtype)
    fused = ConvOp(kind, g, activation)(a, w, b)
    plain = ConvOp(kind, g)(a, w) + b
    return (a, w, b), fused, pt.maximum(plain, 0) if activation == "relu" else plain


@pytest.mark.parametrize("activation", ["relu", "linear"])
@pytest.mark.parametrize("kind", ["forward", "adjoint"])
@pytest.mark.parametrize("hw,c,o,k,stride,padding", [*GEOMETRIES[:4], GEOMETRIES[-5]])  # and the direct loops
def test_fused_bias_activation_matches_plain_pytensor_in_value_and_gradient(
    kind, activation, hw, c, o, k, stride, padding
):
    """float32 (the C loops): values and all three gradients of <fused, v> equal the unfused graph's."""
    g, x, w, y = _arrays(hw, c, o, k, stride, padding)
    a = x if kind == "forward" else y
    bias = np.random.default_rng(2).standard_normal(o if kind == "forward" else c).astype(np.float32)
    inputs, fused, plain = _fused_and_reference(kind, activation, g, "float32")
    v = pt.tensor4(dtype="float32")
    out_shape = (a.shape[0], g.h_out, g.w_out, o) if kind == "forward" else x.shape
    vv = np.random.default_rng(3).standard_normal(out_shape).astype(np.float32)
    grads = [pytensor.grad((e * v).sum(), inputs) for e in (fused, plain)]
    f = pytensor.function([*inputs, v], [fused, plain, *grads[0], *grads[1]])
    got, expected, *gs = f(a, w, bias, vv)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    for gf, gp in zip(gs[:3], gs[3:]):
        np.testing.assert_allclose(gf, gp, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(gp).max()))


@pytest.mark.parametrize("activation", ["relu", "linear"])
@pytest.mark.parametrize("kind", ["forward", "adjoint"])
def test_fused_conv_gradient_passes_verify_grad(kind, activation):
    """float64 (the NumPy fallbacks) finite differences of the fused Op in all three inputs."""
    g, x, w, y = _arrays((5, 6), 2, 3, 3, 2, "same", b=2)
    a = x if kind == "forward" else y
    bias = np.linspace(-0.5, 0.5, 3 if kind == "forward" else 2)
    rng = np.random.default_rng(0)
    verify_grad(
        lambda a_, w_, b_: ConvOp(kind, g, activation)(a_, w_, b_),
        [a.astype(np.float64), w.astype(np.float64), bias],
        rng=rng,
        eps=1e-6,
    )


def test_bias_activation_grad_second_order():
    """The backward Op is linear in gz for a fixed output; its own gradient passes verify_grad."""
    rng = np.random.default_rng(0)
    out = np.maximum(rng.standard_normal((2, 3, 4, 5)), 0.1 * (rng.random((2, 3, 4, 5)) > 0.5))
    gz = rng.standard_normal(out.shape)
    op = epilogue.BiasActivationGrad("relu")
    verify_grad(lambda g_: op(g_, pt.constant(out))[0], [gz], rng=rng)
    verify_grad(lambda g_: op(g_, pt.constant(out))[1], [gz], rng=rng)


def test_bias_activation_grad_values():
    rng = np.random.default_rng(0)
    out = np.maximum(rng.standard_normal((4, 6, 6, 8)), 0).astype(np.float32)
    gz = rng.standard_normal(out.shape).astype(np.float32)
    g, db = pytensor.function([], epilogue.BiasActivationGrad("relu")(pt.constant(gz), pt.constant(out)))()
    np.testing.assert_array_equal(g, np.where(out > 0, gz, 0))
    np.testing.assert_allclose(db, np.where(out > 0, gz, 0).sum(axis=(0, 1, 2)), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="cannot fuse"):
        epilogue.BiasActivationGrad("tanh")
    with pytest.raises(ValueError, match="cannot fuse"):
        ConvOp("kernel_grad", _geometry(3, (5, 5), 1, "same"), "relu")


def test_fused_relu_keeps_nan_so_a_diverging_fit_is_caught():
    g = _geometry(3, (4, 4), 1, "same")
    x = np.ones((1, 4, 4, 2), dtype=np.float32)
    x[0, 1, 1, 0] = np.nan
    w = np.ones((3, 3, 2, 3), dtype=np.float32)
    out = pytensor.function(
        [], ConvOp("forward", g, "relu")(pt.constant(x), pt.constant(w), pt.constant(np.zeros(3, "float32")))
    )()
    assert np.isnan(out).any()


@pytest.mark.parametrize("activation", ["relu", "linear"])
def test_fused_dense_matches_plain_pytensor_and_finite_differences(activation):
    from cvae.nn.ops import matmul

    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((7, 5)), rng.standard_normal((5, 9)), rng.standard_normal(9)
    xs, ws, bs = (pt.matrix(dtype="float32"), pt.matrix(dtype="float32"), pt.vector(dtype="float32"))
    fused, plain = matmul(xs, ws, bs, activation), matmul(xs, ws) + bs
    plain = pt.maximum(plain, 0) if activation == "relu" else plain
    v = rng.standard_normal((7, 9)).astype(np.float32)
    grads = [pytensor.grad((e * v).sum(), [xs, ws, bs]) for e in (fused, plain)]
    f = pytensor.function([xs, ws, bs], [fused, plain, *grads[0], *grads[1]])
    got, expected, *gs = f(*(a.astype(np.float32) for a in (x, w, b)))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    for gf, gp in zip(gs[:3], gs[3:]):
        np.testing.assert_allclose(gf, gp, rtol=1e-4, atol=1e-4)
    verify_grad(lambda a_, w_, b_: matmul(a_, w_, b_, activation), [x, w, b], rng=rng)


@needs_c
@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="reads the CPU's flags from /proc/cpuinfo")
def test_the_c_loops_vectors_are_as_wide_as_this_cpus_registers():
    """lanes.h follows the CPU: 16-float vectors on an AVX2 CPU (two registers each) were kept in memory
    by the compiler, and the classroom's convolutions ran 15x slower (179.5 against 11.9 ms, measured)."""
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    expected = 16 if "avx512f" in flags else 8 if "avx" in flags else 4
    assert direct.native().direct_lanes() == expected
