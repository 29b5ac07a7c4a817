"""PyTensor settings every module relies on (float32 end to end) and the Ops that make training fast.

A 2-D convolution is three bilinear PyTensor Ops (`ConvOp`: forward, adjoint = input
gradient / transposed conv, kernel gradient) and a Dense layer one (`MatMulOp`), each
with a NumPy `perform` and a symbolic gradient written with the others, so PyTensor and
PyMC differentiate through them to any order and skip the data input's gradient.
Inside, a 3x3 stride-1 convolution runs Winograd F(2x2, 3x3) (`_winograd.py`: C transforms
and 16 smaller matrix multiplies, 2.25x fewer multiply-adds); the others gather the k x k
shifted (strided) slices into a patch matrix (im2col) and do one BLAS matrix multiply. Both
work on cache-sized pieces of the batch, which run on THREADS Python threads. Matrix
multiplies go to a private, single-threaded OpenBLAS (the `scipy-openblas32` wheel, when
installed) rather than NumPy's: NumPy's multi-threaded OpenBLAS spin-waits between its
threads once per block, which on a busy 2-core machine cost 10x (a 2 ms product took 300 ms).
"""
from __future__ import annotations

import ctypes
import importlib.util
import itertools
import os
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

__all__ = ["BLAS", "FLOAT", "THREADS", "ConvGeometry", "ConvOp", "MatMulOp", "matmul", "tune_malloc"]

pytensor.config.floatX = "float32"
# The heavy matrix multiplies run in the Ops below on our own OpenBLAS, so PyTensor's advice to
# link a BLAS (it cannot find one in a pip install) does not apply here.
warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS installation")
FLOAT = "float32"


def tune_malloc() -> bool:
    """Serve arrays up to 32 MB from the heap and keep up to 256 MB of freed heap (glibc only).

    glibc otherwise maps a fresh, kernel-zeroed region for the 20 MB activations of the seed
    network every step, and page-faults it in again: measured, one 28x28x64 convolution
    gradient took 3-4.4 ms instead of 1.2-1.4 ms, 3-5% of a training step. The cost is that
    up to 256 MB freed after a training stays with the process. CVAE_MALLOC_TUNING=0: off.
    """
    if os.environ.get("CVAE_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 32 * 2**20)) and bool(libc.mallopt(m_trim_threshold, 256 * 2**20))
    except (OSError, AttributeError):  # not glibc
        return False


MALLOC_TUNED = tune_malloc()


class ConvGeometry(NamedTuple):
    """A cross-correlation's shapes: input (h_in, w_in) -> output (h_out, w_out), TensorFlow padding."""

    k: int
    stride: int
    top: int
    bottom: int
    left: int
    right: int
    h_in: int
    w_in: int
    h_out: int
    w_out: int

    @property
    def padded(self) -> tuple[int, int]:
        return self.h_in + self.top + self.bottom, self.w_in + self.left + self.right

    def window(self, u: int, v: int) -> tuple[slice, slice]:
        """Rows and columns of the padded input that kernel tap (u, v) reads."""
        s = self.stride
        return (slice(u, u + s * (self.h_out - 1) + 1, s), slice(v, v + s * (self.w_out - 1) + 1, s))

    def flipped(self) -> ConvGeometry:
        """Stride 1: the geometry whose cross-correlation with the flipped kernel is this one's adjoint."""
        k = self.k
        return ConvGeometry(k, 1, k - 1 - self.top, self.h_in - self.h_out + self.top,
                            k - 1 - self.left, self.w_in - self.w_out + self.left,
                            self.h_out, self.w_out, self.h_in, self.w_in)

    def shift_path(self, c_in: int, c_out: int) -> bool:
        """Stride 1 and fewer output than input channels: shift the small side, not the big one."""
        return self.stride == 1 and c_out < c_in


# ---------------------------------------------------------------- BLAS and threads

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


class _PrivateBlas:
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
                self.sgemm(101, 112 if trans_a else 111, 112 if trans_b else 111, m, n, k, 1.0,
                           a.ctypes.data, m if trans_a else k, b.ctypes.data, k if trans_b else n,
                           0.0, wide.ctypes.data, n + 5)
                expected = a.astype(np.float64) @ b.astype(np.float64)
                if not np.allclose(wide[:, :n], expected, rtol=1e-4, atol=1e-4 * np.sqrt(k)) \
                        or not np.isnan(wide[:, n:]).all():
                    return False
        return True


def _openblas_paths() -> list[str]:
    """The `scipy-openblas32` wheel's library (ours alone), then SciPy's bundled copy (shared with
    scipy.linalg, whose calls then run single-threaded too): both export scipy_cblas_sgemm."""
    choice = os.environ.get("CVAE_PRIVATE_BLAS", "1")
    paths = []
    for package, sub, wanted in (("scipy_openblas32", "lib", choice in ("1", "wheel")),
                                 ("scipy", "../scipy.libs", choice in ("1", "scipy"))):
        try:
            spec = importlib.util.find_spec(package) if wanted else None
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            root = Path(next(iter(spec.submodule_search_locations)), sub)
            paths += [str(p) for p in sorted(root.glob("libscipy_openblas*.so*")) if "64" not in p.name]
    return paths


def _load_private_blas() -> _PrivateBlas | None:
    """The first private OpenBLAS that loads and passes the known-answer test.

    Its kernels: CVAE_BLAS_CORETYPE if set, else the CPU's AVX-512 ones where it has them,
    else OPENBLAS_CORETYPE, else OpenBLAS's own choice. OPENBLAS_CORETYPE is an environment's
    guard for the OpenBLAS that NumPy ships; ours is a pinned, current build whose answers
    are checked here, and a PyTorch on the same CPU runs AVX-512 kernels regardless.
    """
    coretype = os.environ.get("CVAE_BLAS_CORETYPE") or _avx512_coretype() or os.environ.get("OPENBLAS_CORETYPE")
    for path in _openblas_paths():
        try:
            blas = _PrivateBlas(path, coretype)
        except (OSError, AttributeError):  # not an OpenBLAS we know
            continue
        if blas.gives_right_answers():
            return blas
        warnings.warn(f"{path} with {blas.corename} kernels failed its known-answer test; not using it",
                      RuntimeWarning, stacklevel=2)
        coretype = os.environ.get("OPENBLAS_CORETYPE")  # SciPy's copy may be loaded already anyway
    return None


BLAS = _load_private_blas()
# With our own single-threaded BLAS, each conv Op splits its batch over THREADS Python threads
# (BLAS calls and NumPy copies release the GIL): one join per Op instead of OpenBLAS's spin-wait
# per block, which costs a scheduler time slice per block on a busy machine.
_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
THREADS = max(1, int(os.environ.get("CVAE_NUM_THREADS", 0)) or _CPUS) if BLAS else 1
CHUNK_BYTES = int(os.environ.get("CVAE_CHUNK_BYTES", 2_000_000))


def _load_winograd():
    """Winograd kernels for the 3x3 stride-1 convolutions, on the private BLAS (CVAE_WINOGRAD=0: off)."""
    if BLAS is None or not pytensor.config.cxx or os.environ.get("CVAE_WINOGRAD", "1") == "0":
        return None
    from cvae import _winograd

    address = ctypes.cast(BLAS.sgemm, ctypes.c_void_p).value
    return _winograd.load(address, Path(pytensor.config.compiledir), pytensor.config.cxx)


WINOGRAD = _load_winograd()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _forget_pool() -> None:
    """A forked child has none of the parent's threads: start a fresh pool there when needed."""
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


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


def _gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a @ b for float32 2-D arrays or views (transposes and row/column blocks need no copy),
    written into `out` (a 2-D view with unit column stride) when given."""
    m, k = a.shape
    n = b.shape[1]
    if out is None:
        out = np.empty((m, n), dtype=np.result_type(a, b))
    if (BLAS is None or not a.dtype == b.dtype == out.dtype == np.float32
            or (m > 1 and n > 1 and out.strides[1] != 4)):
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
    BLAS.sgemm(101, 112 if trans_a else 111, 112 if trans_b else 111, m, n, k, 1.0,
               a.ctypes.data, lda, b.ctypes.data, ldb, 0.0, out.ctypes.data, max(ldc, n))
    return out


def _parallel(part, n: int, work: float, item_bytes: int = 0) -> list:
    """[part(lo, hi) for pieces covering range(n)], run by THREADS threads (one for small
    `work`, in multiply-adds, where a hand-off costs more). Each piece's scratch
    (`item_bytes` per item) fits in the cache, so im2col's patches are still there when
    the matrix multiply reads them; threads take pieces as they come free, so a thread
    the OS preempts (a busy machine) delays the Op by one piece, not by half of it."""
    threads = min(THREADS, n) if work >= 2**21 else 1
    step = -(-n // threads)  # at least one piece per thread, even when the scratch is small
    if item_bytes:
        step = max(1, min(step, CHUNK_BYTES // item_bytes))
    pieces = [(lo, min(lo + step, n)) for lo in range(0, n, step)] or [(0, n)]
    threads = min(threads, len(pieces))
    if threads <= 1:
        return [part(lo, hi) for lo, hi in pieces]
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(THREADS - 1, thread_name_prefix="cvae-blas")
    results: list = [None] * len(pieces)
    errors: list = []
    taken = itertools.count()  # next() is atomic under the GIL
    done = itertools.count(1)
    finished = threading.Event()

    def run():
        for i in iter(lambda: next(taken), None):
            if i >= len(pieces):
                return
            try:
                results[i] = part(*pieces[i])
            except BaseException as err:  # noqa: BLE001 - re-raised in the calling thread
                errors.append(err)
            if next(done) == len(pieces):
                finished.set()

    for _ in range(threads - 1):
        _pool.submit(run)
    run()
    finished.wait()  # only for pieces a helper already took: one that never got a CPU is not waited for
    if errors:
        raise errors[0]
    return results


def matmul_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (M, K) @ b (K, N), split over the longer of M and N."""
    (m, k), n = a.shape, b.shape[1]
    out = np.empty((m, n), dtype=np.result_type(a, b))
    if m >= n:
        _parallel(lambda lo, hi: _gemm(a[lo:hi], b, out[lo:hi]), m, m * n * k)
    else:
        _parallel(lambda lo, hi: _gemm(a, b[:, lo:hi], out[:, lo:hi]), n, m * n * k)
    return out


# ---------------------------------------------------------------- NumPy kernels, channels-last

def _pad(x: np.ndarray, g: ConvGeometry) -> np.ndarray:
    if not (g.top or g.bottom or g.left or g.right):
        return x
    hp, wp = g.padded
    out = np.empty((x.shape[0], hp, wp, x.shape[3]), dtype=x.dtype)
    out[:, :g.top], out[:, g.top + g.h_in:] = 0, 0
    out[:, g.top:g.top + g.h_in, :g.left], out[:, g.top:g.top + g.h_in, g.left + g.w_in:] = 0, 0
    out[:, g.top:g.top + g.h_in, g.left:g.left + g.w_in] = x
    return out


def _im2col(x: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """(B, H, W, C) -> (B*Ho*Wo, k*k*C): each output pixel's receptive field, (u, v, c) order."""
    b, c = x.shape[0], x.shape[3]
    xp = _pad(x, g)
    if g.k == 1 and g.stride == 1:
        return xp.reshape(b * g.h_out * g.w_out, c)
    patches = np.empty((b, g.h_out, g.w_out, g.k, g.k, c), dtype=x.dtype)
    for u in range(g.k):
        for v in range(g.k):
            rows, cols = g.window(u, v)
            patches[:, :, :, u, v, :] = xp[:, rows, cols, :]
    return patches.reshape(b * g.h_out * g.w_out, g.k * g.k * c)


def _col2im(cols: np.ndarray, g: ConvGeometry, out: np.ndarray) -> None:
    """Adjoint of `_im2col`: (b*Ho*Wo, k*k*C) -> out (b, H, W, C), overlapping taps summed."""
    b, c = out.shape[0], out.shape[3]
    cols = cols.reshape(b, g.h_out, g.w_out, g.k, g.k, c)
    hp, wp = g.padded
    pads = g.top or g.bottom or g.left or g.right
    if g.k == g.stride and (hp, wp) == (g.h_out * g.k, g.w_out * g.k):  # non-overlapping tiles
        tiles = cols.transpose(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)
        out[...] = tiles[:, g.top:g.top + g.h_in, g.left:g.left + g.w_in, :]
        return
    xp = np.empty((b, hp, wp, c), dtype=out.dtype) if pads else out
    xp[...] = 0
    for u in range(g.k):
        for v in range(g.k):
            rows, cols_ = g.window(u, v)
            xp[:, rows, cols_, :] += cols[:, :, :, u, v, :]
    if pads:
        out[...] = xp[:, g.top:g.top + g.h_in, g.left:g.left + g.w_in, :]


def _tap_ranges(g: ConvGeometry, u: int, v: int):
    """Stride 1: input rows/cols i, j that tap (u, v) maps to output i + top - u, j + left - v."""
    i0, i1 = max(0, u - g.top), min(g.h_in, g.h_out + u - g.top)
    j0, j1 = max(0, v - g.left), min(g.w_in, g.w_out + v - g.left)
    return (i0, i1, j0, j1) if i1 > i0 and j1 > j0 else None


def _shifted(y: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """Stride 1: (B, Ho, Wo, O) -> (B*H*W, k*k*O) with [b, i, j, u, v] = y[b, i + top - u, j + left - v]
    (zero outside): for each input pixel, the outputs that read it through tap (u, v)."""
    b, o = y.shape[0], y.shape[3]
    out = np.zeros((b, g.h_in, g.w_in, g.k, g.k, o), dtype=y.dtype)
    for u in range(g.k):
        for v in range(g.k):
            if r := _tap_ranges(g, u, v):
                i0, i1, j0, j1 = r
                out[:, i0:i1, j0:j1, u, v, :] = y[:, i0 + g.top - u:i1 + g.top - u, j0 + g.left - v:j1 + g.left - v, :]
    return out.reshape(b * g.h_in * g.w_in, g.k * g.k * o)


def _unshift(z: np.ndarray, g: ConvGeometry, out: np.ndarray) -> None:
    """Adjoint of `_shifted`: (b*H*W, k*k*O) -> out (b, Ho, Wo, O)."""
    b, o = out.shape[0], out.shape[3]
    z = z.reshape(b, g.h_in, g.w_in, g.k, g.k, o)
    out[...] = 0
    for u in range(g.k):
        for v in range(g.k):
            if r := _tap_ranges(g, u, v):
                i0, i1, j0, j1 = r
                out[:, i0 + g.top - u:i1 + g.top - u, j0 + g.left - v:j1 + g.left - v, :] += z[:, i0:i1, j0:j1, u, v, :]


def _winograd_fits(g: ConvGeometry, *arrays: np.ndarray) -> bool:
    return (WINOGRAD is not None and g.k == 3 and g.stride == 1
            and all(a.dtype == np.float32 for a in arrays))


def conv_forward(x: np.ndarray, w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """Cross-correlation: x (B, H, W, C), w (k, k, C, O) -> (B, Ho, Wo, O)."""
    b, (k, _, c, o) = x.shape[0], w.shape
    out = np.empty((b, g.h_out, g.w_out, o), dtype=x.dtype)
    work = b * g.h_out * g.w_out * k * k * c * o
    if _winograd_fits(g, x, w):  # 16 products of (tiles, C) @ (C, O): 2.25x fewer multiplies
        u = WINOGRAD.transform_kernel(w)

        def part(lo, hi):
            WINOGRAD.forward(x[lo:hi], u, g.top, g.left, out[lo:hi])
        item = 16 * WINOGRAD.tiles(g.h_out, g.w_out) * (c + o) * 4
    elif g.shift_path(c, o):  # every input pixel times the whole kernel, then add the shifted outputs
        wm = np.ascontiguousarray(w.transpose(2, 0, 1, 3).reshape(c, k * k * o))

        def part(lo, hi):
            _unshift(_gemm(x[lo:hi].reshape(-1, c), wm), g, out[lo:hi])
        item = g.h_in * g.w_in * k * k * o * 4
    else:
        wm = w.reshape(k * k * c, o)

        def part(lo, hi):
            _gemm(_im2col(x[lo:hi], g), wm, out=out[lo:hi].reshape(-1, o))
        item = g.h_out * g.w_out * k * k * c * 4
    _parallel(part, b, work, item)
    return out


def conv_adjoint(y: np.ndarray, w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """Adjoint of `conv_forward` in x (the input gradient, or a transposed conv): y (B, Ho, Wo, O) -> (B, H, W, C)."""
    if _winograd_fits(g, y, w):  # the forward convolution of y with the flipped kernel
        return conv_forward(y, np.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2)), g.flipped())
    b, (k, _, c, o) = y.shape[0], w.shape
    out = np.empty((b, g.h_in, g.w_in, c), dtype=y.dtype)
    work = b * g.h_out * g.w_out * k * k * c * o
    if g.shift_path(c, o):
        wm = np.ascontiguousarray(w.transpose(0, 1, 3, 2).reshape(k * k * o, c))

        def part(lo, hi):
            _gemm(_shifted(y[lo:hi], g), wm, out=out[lo:hi].reshape(-1, c))
        item = g.h_in * g.w_in * k * k * o * 4
    elif g.stride == 1:  # a 'full' cross-correlation of y with the flipped kernel: im2col, no scatter-add
        flipped = g.flipped()
        wm = np.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2).reshape(k * k * o, c))

        def part(lo, hi):
            _gemm(_im2col(y[lo:hi], flipped), wm, out=out[lo:hi].reshape(-1, c))
        item = g.h_in * g.w_in * k * k * o * 4
    else:
        wm = w.reshape(k * k * c, o)

        def part(lo, hi):
            _col2im(_gemm(y[lo:hi].reshape(-1, o), wm.T), g, out[lo:hi])
        item = g.h_out * g.w_out * k * k * c * 4
    _parallel(part, b, work, item)
    return out


def conv_kernel_grad(x: np.ndarray, y: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """d<conv_forward(x, w), y>/dw: x (B, H, W, C), y (B, Ho, Wo, O) -> (k, k, C, O)."""
    b, c, o, k = x.shape[0], x.shape[3], y.shape[3], g.k
    work = b * g.h_out * g.w_out * k * k * c * o
    if _winograd_fits(g, x, y):
        def part(lo, hi):  # (16, C, O) in the Winograd domain
            return WINOGRAD.kernel_grad(x[lo:hi], y[lo:hi], g.top, g.left)
        item = 16 * WINOGRAD.tiles(g.h_out, g.w_out) * (c + o) * 4
        return WINOGRAD.kernel_from(sum(_parallel(part, b, work, item)))
    if g.shift_path(c, o):
        def part(lo, hi):  # (C, k*k*O)
            return _gemm(x[lo:hi].reshape(-1, c).T, _shifted(y[lo:hi], g))
        gw = sum(_parallel(part, b, work, g.h_in * g.w_in * k * k * o * 4))
        return np.ascontiguousarray(gw.reshape(c, k, k, o).transpose(1, 2, 0, 3))

    def part(lo, hi):  # (k*k*C, O)
        return _gemm(_im2col(x[lo:hi], g).T, y[lo:hi].reshape(-1, o))
    return sum(_parallel(part, b, work, g.h_out * g.w_out * k * k * c * 4)).reshape(k, k, c, o)


# ---------------------------------------------------------------- the Ops

class ConvOp(Op):
    """One of the three bilinear maps of a convolution with geometry `geom`.

    kind "forward": (x, w) -> y;  "adjoint": (y, w) -> x;  "kernel_grad": (x, y) -> w,
    with x (B, H, W, C), y (B, Ho, Wo, O), w (k, k, C, O).
    """

    __props__ = ("kind", "geom")
    _kernels = {"forward": conv_forward, "adjoint": conv_adjoint, "kernel_grad": conv_kernel_grad}

    def __init__(self, kind: str, geom: ConvGeometry):
        if kind not in self._kernels:
            raise ValueError(f"unknown conv kind {kind!r}")
        self.kind, self.geom = kind, ConvGeometry(*geom)

    def make_node(self, a, b):
        a, b = pt.as_tensor_variable(a), pt.as_tensor_variable(b)
        if a.ndim != 4 or b.ndim != 4:
            raise TypeError(f"conv {self.kind} needs two 4-d tensors; got {a.type} and {b.type}")
        g = self.geom
        dtype = pytensor.scalar.upcast(a.dtype, b.dtype)
        if self.kind == "forward":
            shape = (a.type.shape[0], g.h_out, g.w_out, b.type.shape[3])
        elif self.kind == "adjoint":
            shape = (a.type.shape[0], g.h_in, g.w_in, b.type.shape[2])
        else:
            shape = (g.k, g.k, a.type.shape[3], b.type.shape[3])
        return Apply(self, [a, b], [pt.tensor(dtype=dtype, shape=shape)])

    def perform(self, node, inputs, outputs):
        dtype = node.outputs[0].dtype
        a, b = (np.ascontiguousarray(v, dtype=dtype) for v in inputs)
        self._check_shapes(a.shape, b.shape)
        outputs[0][0] = np.asarray(self._kernels[self.kind](a, b, self.geom), dtype=dtype)

    def _check_shapes(self, sa: tuple, sb: tuple) -> None:
        g = self.geom
        if self.kind == "forward":
            ok = sa[1:3] == (g.h_in, g.w_in) and sb[:2] == (g.k, g.k) and sb[2] == sa[3]
        elif self.kind == "adjoint":
            ok = sa[1:3] == (g.h_out, g.w_out) and sb[:2] == (g.k, g.k) and sb[3] == sa[3]
        else:
            ok = sa[1:3] == (g.h_in, g.w_in) and sb[1:3] == (g.h_out, g.w_out) and sa[0] == sb[0]
        if not ok:
            raise ValueError(f"conv {self.kind} with {g} got inputs of shapes {sa} and {sb}")

    def infer_shape(self, fgraph, node, shapes):
        (sa, sb), g = shapes, self.geom
        if self.kind == "forward":
            return [(sa[0], g.h_out, g.w_out, sb[3])]
        if self.kind == "adjoint":
            return [(sa[0], g.h_in, g.w_in, sb[2])]
        return [(g.k, g.k, sa[3], sb[3])]

    def grad(self, inputs, output_grads):
        (a, b), (gz,), g = inputs, output_grads, self.geom
        forward, adjoint, kernel_grad = (ConvOp(kind, g) for kind in ("forward", "adjoint", "kernel_grad"))
        if self.kind == "forward":  # a = x, b = w
            return [adjoint(gz, b), kernel_grad(a, gz)]
        if self.kind == "adjoint":  # a = y, b = w
            return [forward(gz, b), kernel_grad(gz, a)]
        return [adjoint(b, gz), forward(a, gz)]  # a = x, b = y, gz like w


class MatMulOp(Op):
    """a (M, K) @ b (K, N) through the same BLAS and threads as the convolutions."""

    __props__ = ()

    def make_node(self, a, b):
        a, b = pt.as_tensor_variable(a), pt.as_tensor_variable(b)
        if a.ndim != 2 or b.ndim != 2:
            raise TypeError(f"matmul needs two matrices; got {a.type} and {b.type}")
        dtype = pytensor.scalar.upcast(a.dtype, b.dtype)
        return Apply(self, [a, b], [pt.tensor(dtype=dtype, shape=(a.type.shape[0], b.type.shape[1]))])

    def perform(self, node, inputs, outputs):
        dtype = node.outputs[0].dtype
        a, b = (np.asarray(v, dtype=dtype) for v in inputs)
        outputs[0][0] = matmul_kernel(a, b)

    def infer_shape(self, fgraph, node, shapes):
        return [(shapes[0][0], shapes[1][1])]

    def grad(self, inputs, output_grads):
        (a, b), (gz,) = inputs, output_grads
        return [matmul(gz, b.T), matmul(a.T, gz)]


def matmul(a, b):
    """Symbolic a @ b for matrices (the Dense layers' product)."""
    return MatMulOp()(a, b)
