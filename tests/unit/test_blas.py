"""The private BLAS: which kernels it loads, and that its answers are checked before use."""

import ctypes
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from cvae.nn import blas
from cvae.nn.conv_kernels import matmul_kernel
from tests.conftest import ROOT

needs_private_blas = pytest.mark.skipif(blas.private_blas() is None, reason="no private OpenBLAS installed")


def _blas_in_child(**env) -> dict:
    code = (
        "import json; from cvae.nn import blas, conv_kernels, parallel; b = blas.private_blas(); "
        "print(json.dumps({'corename': b and b.corename, 'threads': parallel.threads(), "
        "'winograd': conv_kernels.winograd() is not None, 'malloc': blas.tune_malloc()}))"
    )
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("CVAE_")} | env
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=120, check=True
    ).stdout
    return json.loads(out.splitlines()[-1])


@needs_private_blas
def test_private_blas_gives_right_answers():
    assert blas.private_blas().gives_right_answers()
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((300, 576), dtype=np.float32), rng.standard_normal((576, 64), dtype=np.float32)
    np.testing.assert_allclose(matmul_kernel(a, b), a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)


@needs_private_blas
def test_known_answer_test_rejects_a_blas_that_is_slightly_wrong(monkeypatch):
    real = blas.private_blas().sgemm

    def off_by_a_little(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        real(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        ctypes.c_float.from_address(c).value += 0.01

    monkeypatch.setattr(blas.private_blas(), "sgemm", off_by_a_little)
    assert not blas.private_blas().gives_right_answers()


@needs_private_blas
def test_known_answer_test_rejects_writes_outside_the_output_block(monkeypatch):
    real = blas.private_blas().sgemm

    def spills(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        real(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        ctypes.c_float.from_address(c + 4 * n).value = 0.0  # the first column past the block

    monkeypatch.setattr(blas.private_blas(), "sgemm", spills)
    assert not blas.private_blas().gives_right_answers()


@needs_private_blas
def test_kernels_follow_the_cpu_not_numpys_pin():
    """OPENBLAS_CORETYPE guards the OpenBLAS NumPy ships; ours uses what the CPU has."""
    pinned = _blas_in_child(OPENBLAS_CORETYPE="Haswell")
    expected = "SkylakeX" if blas._avx512_coretype() else None
    if expected:
        assert pinned["corename"] == expected
    assert _blas_in_child(OPENBLAS_CORETYPE="Haswell", CVAE_BLAS_CORETYPE="Haswell")["corename"] == "Haswell"


def test_thread_count_winograd_and_malloc_knobs():
    assert _blas_in_child(CVAE_NUM_THREADS="1")["threads"] == 1
    assert _blas_in_child(CVAE_WINOGRAD="0")["winograd"] is False
    assert _blas_in_child(CVAE_MALLOC_TUNING="0")["malloc"] is False
    if sys.platform.startswith("linux"):
        assert _blas_in_child()["malloc"] is True
