"""Winograd F(2x2, 3x3) for the 3x3 stride-1 convolutions: C kernels in `winograd.c`.

The C file is compiled once per CPU and compiler into PyTensor's compiledir (the compile
cache `python -m cvae warm` fills), with the C compiler PyTensor itself needs. Loading checks
the kernels against direct NumPy convolution; without a compiler, or if that check fails,
`load()` returns None and the convolutions stay on im2col.
"""

from __future__ import annotations

import ctypes
import hashlib
import subprocess
import warnings
from pathlib import Path

import numpy as np

from cvae.atomic import atomic_file

__all__ = ["Winograd", "compiled", "load"]

SOURCE = Path(__file__).with_name("winograd.c")
FLAGS = ("-O3", "-march=native", "-std=c99", "-fPIC", "-shared", "-fno-math-errno")
L2_BUDGET = 384 * 1024  # bytes of a chunk's scratch: most of a 512 KB L2 (AMD EPYC here), the kernel beside it
_p, _i = ctypes.c_void_p, ctypes.c_int


class Winograd:
    """The compiled kernels, bound to one sgemm (a CBLAS `scipy_cblas_sgemm` address)."""

    def __init__(self, lib: ctypes.CDLL, sgemm_address: int):
        self.sgemm = sgemm_address
        self.chunk = 0  # tiles a chunk; 0: chunk_tiles(C, O)
        self._forward, self._kernel_grad = lib.winograd_forward, lib.winograd_kernel_grad
        for function in (self._forward, self._kernel_grad):
            function.argtypes = [_p, _p, _i, _i, _i, _i, _i, _i, _p, _i, _i, _i, _p, _i]
            function.restype = _i
        # in C, not NumPy: a NumPy matmul would run on NumPy's multi-threaded BLAS (see cvae.nn.blas)
        self._transform_kernel, self._kernel_from = lib.winograd_transform_kernel, lib.winograd_kernel_from
        for function in (self._transform_kernel, self._kernel_from):
            function.argtypes, function.restype = [_p, _i, _p], None

    def transform_kernel(self, w: np.ndarray) -> np.ndarray:
        """(3, 3, C, O) -> U (16, C, O) = G w G^T for every channel pair."""
        c, o = w.shape[2:]
        u = np.empty((16, c, o), dtype=np.float32)
        self._transform_kernel(_data(np.ascontiguousarray(w, dtype=np.float32)), c * o, u.ctypes.data)
        return u

    def kernel_from(self, du: np.ndarray) -> np.ndarray:
        """The adjoint of `transform_kernel`: dU (16, C, O) -> dW (3, 3, C, O)."""
        c, o = du.shape[1:]
        dw = np.empty((3, 3, c, o), dtype=np.float32)
        self._kernel_from(_data(np.ascontiguousarray(du, dtype=np.float32)), c * o, dw.ctypes.data)
        return dw

    def forward(self, x: np.ndarray, u: np.ndarray, pad_top: int, pad_left: int, y: np.ndarray) -> None:
        """y (b, Ho, Wo, O) = the cross-correlation of x (b, H, W, C) with the kernel whose transform is u."""
        self._run(self._forward, x, pad_top, pad_left, u, y.shape, y)

    def kernel_grad(self, x: np.ndarray, dy: np.ndarray, pad_top: int, pad_left: int) -> np.ndarray:
        """dU (16, C, O) of <conv(x, w), dy>, for x (b, H, W, C) and dy (b, Ho, Wo, O)."""
        du = np.empty((16, x.shape[3], dy.shape[3]), dtype=np.float32)
        self._run(self._kernel_grad, x, pad_top, pad_left, dy, dy.shape, du)
        return du

    def _run(self, kernel, x: np.ndarray, pad_top: int, pad_left: int, operand: np.ndarray, y_shape, out) -> None:
        """Call `winograd_forward` (operand U, out y) or `winograd_kernel_grad` (operand dy, out dU),
        which share their arguments, for an output (b, Ho, Wo, O) of `y_shape`."""
        (b, h, w, c), (_, h_out, w_out, o) = x.shape, y_shape
        chunk = self.chunk or chunk_tiles(c, o)
        args = (b, h, w, c, pad_top, pad_left, _data(operand), o, h_out, w_out, _data(out), chunk)
        if kernel(self.sgemm, _data(x), *args):
            raise MemoryError(f"Winograd scratch for {chunk} tiles of {c} + {o} channels")

    def agrees_with_direct_convolution(self) -> bool:
        """Known-answer test: odd sizes, 'same' and 'valid' paddings, both kernels."""
        rng = np.random.default_rng(0)
        cases = (((5, 7, 3, 4), (1, 1)), ((6, 6, 8, 5), (0, 0)), ((9, 4, 2, 3), (1, 0)), ((6, 9, 7, 32), (1, 1)))
        for (h, w, c, o), (top, left) in cases:  # the last: the vector products (o a multiple of 16 or 32)
            x = rng.standard_normal((2, h, w, c), dtype=np.float32)
            k = rng.standard_normal((3, 3, c, o), dtype=np.float32)
            h_out, w_out = (h if top else h - 2), (w if left else w - 2)
            expected = _direct(x, k, top, left, h_out, w_out)
            y = np.full((2, h_out, w_out, o), np.nan, dtype=np.float32)
            self.forward(x, self.transform_kernel(k), top, left, y)
            dy = rng.standard_normal(y.shape, dtype=np.float32)
            grad = self.kernel_from(self.kernel_grad(x, dy, top, left))
            expected_grad = _direct_kernel_grad(x, dy, top, left)
            if not (
                np.allclose(y, expected, rtol=1e-4, atol=1e-4)
                and np.allclose(grad, expected_grad, rtol=1e-4, atol=1e-3)
            ):
                return False
        return True


def chunk_tiles(c: int, o: int) -> int:
    """Tiles a chunk for C input and O output channels: their V and M (16 positions each) in ~L2_BUDGET
    bytes, a multiple of the products' 6-tile blocks (measured, 14x14 64 -> 64: 24-60 tiles alike)."""
    return max(6, L2_BUDGET // (16 * 4 * (c + o)) // 6 * 6)


def load(sgemm_address: int, cache_dir: Path, compiler: str) -> Winograd | None:
    """The kernels compiled for this CPU (cached in `cache_dir`), or None where that fails."""
    try:
        library = compiled(cache_dir, compiler, SOURCE, ("-ffp-contract=fast",))  # one multiply-add a vector
        kernels = Winograd(ctypes.CDLL(str(library)), sgemm_address)
    except (OSError, subprocess.SubprocessError) as err:
        warnings.warn(f"Winograd convolution kernels unavailable ({err}); using im2col", RuntimeWarning, stacklevel=2)
        return None
    if not kernels.agrees_with_direct_convolution():
        warnings.warn(f"{library} failed its known-answer test; using im2col", RuntimeWarning, stacklevel=2)
        return None
    return kernels


def native_loops(source: Path, what: str, signatures: dict[str, list], agrees, wrap=lambda lib: lib, flags=()):
    """`wrap(library)` of `source` compiled like these kernels (and with `flags`), its functions declared with
    `signatures` (name -> argtypes, all returning void), or None (warned: the caller then uses
    NumPy) without a compiler, with CVAE_WINOGRAD=0, if it fails to build, or if `agrees`, its
    known-answer test against NumPy, says no."""
    import pytensor

    from cvae.settings import settings

    if not pytensor.config.cxx or not settings().winograd:
        return None
    try:
        lib = ctypes.CDLL(str(compiled(Path(pytensor.config.compiledir), pytensor.config.cxx, source, flags)))
        for name, argtypes in signatures.items():
            getattr(lib, name).argtypes, getattr(lib, name).restype = argtypes, None
        lib = wrap(lib)
    except (OSError, subprocess.SubprocessError) as err:
        warnings.warn(f"{what} unavailable ({err}); using NumPy", RuntimeWarning, stacklevel=3)
        return None
    if not agrees(lib):
        warnings.warn(f"{what} failed their known-answer test; using NumPy", RuntimeWarning, stacklevel=3)
        return None
    return lib


def compiled(cache_dir: Path, compiler: str, source: Path = SOURCE, extra_flags=()) -> Path:
    """Build `source` as a shared library once per source, flags (FLAGS and `extra_flags`), compiler and
    CPU; atomic, so concurrent processes never load a half-written file."""
    flags = (*FLAGS, *extra_flags)
    try:
        cpu = next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), "")
    except OSError:
        cpu = ""
    headers = [header.read_bytes() for header in sorted(source.parent.glob("*.h"))]  # what it may include
    key = hashlib.sha256(
        b"\0".join([source.read_bytes(), *headers, " ".join(flags).encode(), compiler.encode(), cpu.encode()])
    ).hexdigest()[:16]
    target = Path(cache_dir) / f"cvae-{source.stem}-{key}.so"
    if target.exists():
        return target
    with atomic_file(target) as partial:
        subprocess.run(
            [compiler, "-x", "c", *flags, str(source), "-o", str(partial)], check=True, capture_output=True, timeout=120
        )
    return target


def _data(a: np.ndarray) -> int:
    if not (a.flags.c_contiguous and a.dtype == np.float32):
        raise ValueError("Winograd kernels need C-contiguous float32 arrays")
    return a.ctypes.data


def _padded(x: np.ndarray, top: int, left: int, h_out: int, w_out: int) -> np.ndarray:
    """x zero-padded (float64) so that output (i, j) reads rows i..i+2 and columns j..j+2."""
    b, h, w, c = x.shape
    xp = np.zeros((b, h_out + 2, w_out + 2, c), dtype=np.float64)
    rows, cols = min(h, h_out + 2 - top), min(w, w_out + 2 - left)
    xp[:, top : top + rows, left : left + cols] = x[:, :rows, :cols]
    return xp


def _direct(x, k, top, left, h_out, w_out):
    xp = _padded(x, top, left, h_out, w_out)
    return sum(
        np.einsum("bhwc,co->bhwo", xp[:, u : u + h_out, v : v + w_out], k[u, v].astype(np.float64))
        for u in range(3)
        for v in range(3)
    )


def _direct_kernel_grad(x, dy, top, left):
    h_out, w_out = dy.shape[1:3]
    xp = _padded(x, top, left, h_out, w_out)
    return np.stack(
        [
            np.stack([np.einsum("bhwc,bhwo->co", xp[:, u : u + h_out, v : v + w_out], dy) for v in range(3)])
            for u in range(3)
        ]
    )
