"""The private BLAS: which kernels it loads, that its answers are checked, how work is split."""
import ctypes
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from cvae import _backend
from tests.conftest import ROOT

needs_private_blas = pytest.mark.skipif(_backend.BLAS is None, reason="no private OpenBLAS installed")


def _blas_in_child(**env) -> dict:
    code = ("import json; from cvae import _backend as b; print(json.dumps({'corename': b.BLAS and b.BLAS.corename, "
            "'threads': b.THREADS, 'winograd': b.WINOGRAD is not None, 'malloc': b.MALLOC_TUNED}))")
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("CVAE_")} | env
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=child_env, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    return json.loads(out.splitlines()[-1])


@needs_private_blas
def test_private_blas_gives_right_answers():
    assert _backend.BLAS.gives_right_answers()
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((300, 576), dtype=np.float32), rng.standard_normal((576, 64), dtype=np.float32)
    np.testing.assert_allclose(_backend.matmul_kernel(a, b), a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)


@needs_private_blas
def test_known_answer_test_rejects_a_blas_that_is_slightly_wrong(monkeypatch):
    real = _backend.BLAS.sgemm

    def off_by_a_little(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        real(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        ctypes.c_float.from_address(c).value += 0.01

    monkeypatch.setattr(_backend.BLAS, "sgemm", off_by_a_little)
    assert not _backend.BLAS.gives_right_answers()


@needs_private_blas
def test_known_answer_test_rejects_writes_outside_the_output_block(monkeypatch):
    real = _backend.BLAS.sgemm

    def spills(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        real(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        ctypes.c_float.from_address(c + 4 * n).value = 0.0  # the first column past the block

    monkeypatch.setattr(_backend.BLAS, "sgemm", spills)
    assert not _backend.BLAS.gives_right_answers()


@needs_private_blas
def test_kernels_follow_the_cpu_not_numpys_pin():
    """OPENBLAS_CORETYPE guards the OpenBLAS NumPy ships; ours uses what the CPU has."""
    pinned = _blas_in_child(OPENBLAS_CORETYPE="Haswell")
    expected = "SkylakeX" if _backend._avx512_coretype() else None
    if expected:
        assert pinned["corename"] == expected
    assert _blas_in_child(OPENBLAS_CORETYPE="Haswell", CVAE_BLAS_CORETYPE="Haswell")["corename"] == "Haswell"


def test_thread_count_winograd_and_malloc_knobs():
    assert _blas_in_child(CVAE_NUM_THREADS="1")["threads"] == 1
    assert _blas_in_child(CVAE_WINOGRAD="0")["winograd"] is False
    assert _blas_in_child(CVAE_MALLOC_TUNING="0")["malloc"] is False
    if sys.platform.startswith("linux"):
        assert _blas_in_child()["malloc"] is True


def test_every_thread_gets_a_piece_even_when_scratch_is_small(monkeypatch):
    monkeypatch.setattr(_backend, "THREADS", 2)
    pieces = _backend._parallel(lambda lo, hi: (lo, hi), 100, work=2**30, item_bytes=16)
    assert pieces == [(0, 50), (50, 100)]
    pieces = _backend._parallel(lambda lo, hi: (lo, hi), 100, work=2**30, item_bytes=_backend.CHUNK_BYTES // 10)
    assert pieces == [(lo, lo + 10) for lo in range(0, 100, 10)]
    assert _backend._parallel(lambda lo, hi: (lo, hi), 100, work=10, item_bytes=16) == [(0, 100)]


needs_winograd = pytest.mark.skipif(_backend.WINOGRAD is None, reason="no C compiler for the Winograd kernels")
GEOMETRIES = [  # (batch, h, w, c, o, padding): 'same' and 'valid', odd sizes, more images than one piece
    (37, 14, 14, 64, 64, "same"), (3, 7, 5, 3, 4, "same"), (2, 9, 6, 5, 2, "valid"), (4, 3, 3, 1, 8, "valid"),
]


def _geometry(h, w, padding):
    from cvae.layers import _geometry

    return _geometry(3, (h, w), 1, padding)


@needs_winograd
@pytest.mark.parametrize("b,h,w,c,o,padding", GEOMETRIES)
def test_winograd_agrees_with_im2col_in_all_three_kernels(monkeypatch, b, h, w, c, o, padding):
    g = _geometry(h, w, padding)
    rng = np.random.default_rng(b)
    x = rng.standard_normal((b, h, w, c), dtype=np.float32)
    k = rng.standard_normal((3, 3, c, o), dtype=np.float32)
    dy = rng.standard_normal((b, g.h_out, g.w_out, o), dtype=np.float32)
    fast = [_backend.conv_forward(x, k, g), _backend.conv_adjoint(dy, k, g), _backend.conv_kernel_grad(x, dy, g)]
    monkeypatch.setattr(_backend, "WINOGRAD", None)
    slow = [_backend.conv_forward(x, k, g), _backend.conv_adjoint(dy, k, g), _backend.conv_kernel_grad(x, dy, g)]
    for got, expected in zip(fast, slow):
        scale = np.abs(expected).max()
        np.testing.assert_allclose(got, expected, rtol=0, atol=2e-5 * scale)


@needs_winograd
def test_winograd_known_answer_test_rejects_a_wrong_transform(monkeypatch):
    kernels = _backend.WINOGRAD
    assert kernels.agrees_with_direct_convolution()
    exact = kernels.transform_kernel
    monkeypatch.setattr(kernels, "transform_kernel", lambda w: exact(w) * np.float32(1.001))
    assert not kernels.agrees_with_direct_convolution()


@needs_winograd
def test_winograd_library_is_built_once_and_a_missing_compiler_falls_back(tmp_path):
    import pytensor

    from cvae import _winograd

    address = _backend.WINOGRAD.sgemm
    assert _winograd.load(address, tmp_path, pytensor.config.cxx) is not None
    (library,) = tmp_path.glob("cvae-winograd-*.so")
    built = library.stat().st_mtime_ns
    assert _winograd.load(address, tmp_path, pytensor.config.cxx) is not None
    assert library.stat().st_mtime_ns == built and len(list(tmp_path.iterdir())) == 1
    with pytest.warns(RuntimeWarning, match="using im2col"):
        assert _winograd.load(address, tmp_path / "other", str(tmp_path / "no-such-compiler")) is None
    assert list((tmp_path / "other").iterdir()) == []  # no half-built library left behind
