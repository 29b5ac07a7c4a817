"""Winograd F(2x2, 3x3): it agrees with im2col, its known-answer test bites, and it falls back."""

import numpy as np
import pytest

from cvae.nn import conv_kernels, winograd

needs_winograd = pytest.mark.skipif(conv_kernels.winograd() is None, reason="no C compiler for the Winograd kernels")
GEOMETRIES = [  # (batch, h, w, c, o, padding): 'same' and 'valid', odd sizes, more images than one piece
    (37, 14, 14, 64, 64, "same"),
    (3, 7, 5, 3, 4, "same"),
    (2, 9, 6, 5, 2, "valid"),
    (4, 3, 3, 1, 8, "valid"),
    (3, 9, 7, 7, 32, "same"),  # our vector products (o a multiple of 16 or 32) with c not a multiple of anything
    (2, 8, 5, 16, 24, "valid"),  # o not a multiple of the products' 32 (AVX-512) channels: the sgemm route
]
CHUNKS = [0, 7]  # tiles a chunk: the chosen size, and a few with a remainder (7 tiles: not a multiple of 6)


def _geometry(h, w, padding):
    from cvae.nn.layers import _geometry

    return _geometry(3, (h, w), 1, padding)


@needs_winograd
@pytest.mark.parametrize("chunk", CHUNKS)
@pytest.mark.parametrize("b,h,w,c,o,padding", GEOMETRIES)
def test_winograd_agrees_with_im2col_in_all_three_kernels(monkeypatch, b, h, w, c, o, padding, chunk):
    monkeypatch.setattr(conv_kernels.winograd(), "chunk", chunk)
    g = _geometry(h, w, padding)
    rng = np.random.default_rng(b)
    x = rng.standard_normal((b, h, w, c), dtype=np.float32)
    k = rng.standard_normal((3, 3, c, o), dtype=np.float32)
    dy = rng.standard_normal((b, g.h_out, g.w_out, o), dtype=np.float32)

    def all_three():
        return [
            conv_kernels.conv_forward(x, k, g),
            conv_kernels.conv_adjoint(dy, k, g),
            conv_kernels.conv_kernel_grad(x, dy, g),
        ]

    fast = all_three()
    monkeypatch.setattr(conv_kernels, "winograd", lambda: None)
    slow = all_three()
    for got, expected in zip(fast, slow):
        scale = np.abs(expected).max()
        np.testing.assert_allclose(got, expected, rtol=0, atol=2e-5 * scale)


@needs_winograd
def test_winograd_known_answer_test_rejects_a_wrong_transform(monkeypatch):
    kernels = conv_kernels.winograd()
    assert kernels.agrees_with_direct_convolution()
    monkeypatch.setattr(kernels, "chunk", 5)
    assert kernels.agrees_with_direct_convolution()
    exact = kernels.transform_kernel
    monkeypatch.setattr(kernels, "transform_kernel", lambda w: exact(w) * np.float32(1.001))
    assert not kernels.agrees_with_direct_convolution()


@needs_winograd
def test_winograd_library_is_built_once_and_a_missing_compiler_falls_back(tmp_path):
    import pytensor

    address = conv_kernels.winograd().sgemm
    assert winograd.load(address, tmp_path, pytensor.config.cxx) is not None
    (library,) = tmp_path.glob("cvae-winograd-*.so")
    built = library.stat().st_mtime_ns
    assert winograd.load(address, tmp_path, pytensor.config.cxx) is not None
    assert library.stat().st_mtime_ns == built and len(list(tmp_path.iterdir())) == 1
    with pytest.warns(RuntimeWarning, match="using im2col"):
        assert winograd.load(address, tmp_path / "other", str(tmp_path / "no-such-compiler")) is None
    assert list((tmp_path / "other").iterdir()) == []  # no half-built library left behind
