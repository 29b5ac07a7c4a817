"""A private, single-threaded OpenBLAS for the network's matrix multiplies, loaded on first use.

NumPy's multi-threaded OpenBLAS spin-waits between its threads once per block, which on a busy
2-core machine cost 10x (a 2 ms product took 300 ms). So the convolution and dense Ops call the
`scipy-openblas32` wheel's sgemm (else SciPy's bundled copy) with one thread, and split the work
over our own threads (`cvae.nn.parallel`). The library must pass a known-answer sgemm test
against float64 NumPy before it is used; without one, NumPy's matmul does the work.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import importlib.util
import itertools
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from cvae.settings import settings

__all__ = ["PrivateBlas", "gemm", "private_blas", "tune_malloc"]


@functools.cache
def tune_malloc() -> bool:
    """Serve arrays up to 32 MB from the heap and keep up to 256 MB of freed heap (glibc only).

    glibc otherwise maps a fresh, kernel-zeroed region for the 20 MB activations of the seed
    network every step, and page-faults it in again: measured, one 28x28x64 convolution
    gradient took 3-4.4 ms instead of 1.2-1.4 ms, 3-5% of a training step. The cost is that
    up to 256 MB freed after a training stays with the process. CVAE_MALLOC_TUNING=0: off.
    """
    if not settings().malloc_tuning or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 32 * 2**20)) and bool(libc.mallopt(m_trim_threshold, 256 * 2**20))
    except (OSError, AttributeError):  # not glibc
        return False


def _avx512_coretype() -> str | None:
    """OpenBLAS's AVX-512 kernels where the CPU has them (its own detection calls some
    AVX-512 CPUs, e.g. AMD Zen 4 in a VM, 'Haswell': half the float32 GEMM speed)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return None
    needed = {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"}
    return "SkylakeX" if needed <= set(flags) else None


class PrivateBlas:
    """A single-threaded OpenBLAS apart from NumPy's: we pick its CPU kernels (when we are
    the first to load it) and its thread count without touching NumPy."""

    def __init__(self, path: str, coretype: str | None):
        self.path = path
        saved = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS")}
        if coretype:
            os.environ["OPENBLAS_CORETYPE"] = coretype  # read once, when the library loads
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
        try:
            self.lib = ctypes.CDLL(path)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        self.lib.scipy_openblas_set_num_threads(1)
        get_corename = self.lib.scipy_openblas_get_corename
        get_corename.restype = ctypes.c_char_p
        self.corename = get_corename().decode()
        i, f, p = ctypes.c_int, ctypes.c_float, ctypes.c_void_p
        self.sgemm = self.lib.scipy_cblas_sgemm
        self.sgemm.argtypes = [i, i, i, i, i, i, f, p, i, p, i, f, p, i]
        self.sgemm.restype = None

    @property
    def sgemm_address(self) -> int:
        return ctypes.cast(self.sgemm, ctypes.c_void_p).value

    def product(self, m, n, k, a, trans_a: bool, lda, b, trans_b: bool, ldb, c, ldc) -> None:
        """c (m, n) = op(a) @ op(b) by sgemm, row-major, for float32 arrays at leading dimensions
        lda, ldb, ldc; op transposes where trans_a, trans_b."""
        no, yes = 111, 112  # CblasNoTrans, CblasTrans
        self.sgemm(
            101,  # CblasRowMajor
            yes if trans_a else no,
            yes if trans_b else no,
            m,
            n,
            k,
            1.0,
            a.ctypes.data,
            lda,
            b.ctypes.data,
            ldb,
            0.0,
            c.ctypes.data,
            ldc,
        )

    def gives_right_answers(self) -> bool:
        """Known-answer test of sgemm against NumPy in float64: small and blocked kernels,
        all four transposes, a block of a wider output (why: some OpenBLAS builds have
        computed wrong results on some CPUs, the reason environments pin OPENBLAS_CORETYPE)."""
        rng = np.random.default_rng(0)
        for m, k, n in ((3, 5, 7), (16, 64, 16), (67, 576, 64), (300, 129, 33)):
            for trans_a, trans_b in itertools.product((False, True), repeat=2):
                a = rng.standard_normal((k, m) if trans_a else (m, k), dtype=np.float32)
                b = rng.standard_normal((n, k) if trans_b else (k, n), dtype=np.float32)
                a, b = (a.T if trans_a else a), (b.T if trans_b else b)
                wide = np.full((m, n + 5), np.nan, dtype=np.float32)
                self.product(m, n, k, a, trans_a, m if trans_a else k, b, trans_b, k if trans_b else n, wide, n + 5)
                expected = a.astype(np.float64) @ b.astype(np.float64)
                if (
                    not np.allclose(wide[:, :n], expected, rtol=1e-4, atol=1e-4 * np.sqrt(k))
                    or not np.isnan(wide[:, n:]).all()
                ):
                    return False
        return True


def _openblas_paths() -> list[str]:
    """The `scipy-openblas32` wheel's library (ours alone), then SciPy's bundled copy (shared with
    scipy.linalg, whose calls then run single-threaded too): both export scipy_cblas_sgemm."""
    choice = settings().private_blas
    paths = []
    for package, sub, wanted in (
        ("scipy_openblas32", "lib", choice in ("1", "wheel")),
        ("scipy", "../scipy.libs", choice in ("1", "scipy")),
    ):
        try:
            spec = importlib.util.find_spec(package) if wanted else None
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            root = Path(next(iter(spec.submodule_search_locations)), sub)
            paths += [str(p) for p in sorted(root.glob("libscipy_openblas*.so*")) if "64" not in p.name]
    return paths


@functools.cache
def private_blas() -> PrivateBlas | None:
    """The first private OpenBLAS that loads and passes the known-answer test (loaded once).

    Its kernels: CVAE_BLAS_CORETYPE if set, else the CPU's AVX-512 ones where it has them,
    else OPENBLAS_CORETYPE, else OpenBLAS's own choice. OPENBLAS_CORETYPE is an environment's
    guard for the OpenBLAS that NumPy ships; ours is a pinned, current build whose answers
    are checked here, and a PyTorch on the same CPU runs AVX-512 kernels regardless.
    """
    tune_malloc()  # for the Ops' large arrays: set once, when the Ops first run
    coretype = settings().blas_coretype or _avx512_coretype() or os.environ.get("OPENBLAS_CORETYPE")
    for path in _openblas_paths():
        try:
            blas = PrivateBlas(path, coretype)
        except (OSError, AttributeError):  # not an OpenBLAS we know
            continue
        if blas.gives_right_answers():
            return blas
        warnings.warn(
            f"{path} with {blas.corename} kernels failed its known-answer test; not using it",
            RuntimeWarning,
            stacklevel=2,
        )
        coretype = os.environ.get("OPENBLAS_CORETYPE")  # SciPy's copy may be loaded already anyway
    return None


def _blas_layout(a: np.ndarray) -> tuple[np.ndarray, bool, int]:
    """(array, transposed, leading dimension) of a 2-D float32 view as (C)BLAS takes it."""
    rows, cols = a.shape
    if a.dtype == np.float32 and rows > 1 and cols > 1:
        s0, s1 = a.strides
        if s1 == 4 and s0 % 4 == 0 and s0 // 4 >= cols:  # row-major, maybe a block of a wider one
            return a, False, s0 // 4
        if s0 == 4 and s1 % 4 == 0 and s1 // 4 >= rows:  # column-major: the transpose of a row-major one
            return a, True, s1 // 4
    a = np.ascontiguousarray(a, dtype=np.float32)
    return a, False, max(1, a.shape[1])


def gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a @ b for float32 2-D arrays or views (transposes and row/column blocks need no copy),
    written into `out` (a 2-D view with unit column stride) when given."""
    m, k = a.shape
    n = b.shape[1]
    if out is None:
        out = np.empty((m, n), dtype=np.result_type(a, b))
    blas = private_blas()
    if blas is None or not a.dtype == b.dtype == out.dtype == np.float32 or (m > 1 and n > 1 and out.strides[1] != 4):
        np.matmul(a, b, out=out)
        return out
    if m == 0 or n == 0:
        return out
    if k == 0:
        out[...] = 0
        return out
    a, trans_a, lda = _blas_layout(a)
    b, trans_b, ldb = _blas_layout(b)
    ldc = out.strides[0] // 4 if m > 1 else n
    blas.product(m, n, k, a, trans_a, lda, b, trans_b, ldb, out, max(ldc, n))
    return out
