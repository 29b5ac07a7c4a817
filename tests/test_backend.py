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
    code = ("import json; from cvae import _backend as b; "
            "print(json.dumps({'corename': b.BLAS and b.BLAS.corename, 'threads': b.THREADS}))")
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


def test_thread_count_knob():
    assert _blas_in_child(CVAE_NUM_THREADS="1")["threads"] == 1


def test_every_thread_gets_a_piece_even_when_scratch_is_small(monkeypatch):
    monkeypatch.setattr(_backend, "THREADS", 2)
    pieces = _backend._parallel(lambda lo, hi: (lo, hi), 100, work=2**30, item_bytes=16)
    assert pieces == [(0, 50), (50, 100)]
    pieces = _backend._parallel(lambda lo, hi: (lo, hi), 100, work=2**30, item_bytes=_backend.CHUNK_BYTES // 10)
    assert pieces == [(lo, lo + 10) for lo in range(0, 100, 10)]
    assert _backend._parallel(lambda lo, hi: (lo, hi), 100, work=10, item_bytes=16) == [(0, 100)]
