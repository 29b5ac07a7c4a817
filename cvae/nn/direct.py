"""Direct convolutions for layers with 16 or 32 channels on the side they write (`direct.c`).

The classroom network's strided layers have 16-32 channels a side: as im2col and a matrix multiply
their products are 144-288 columns wide (the transposed convolution's only 16-32 deep), where the
BLAS runs at half its speed, after a copy into the patch matrix (or before a scatter out of it).
The C loops here keep a block of output pixels' channels in vector registers and read the input
in place. Built like `cvae.nn.winograd`'s kernels (PyTensor's compiler and compiledir), checked
against NumPy once, None where either fails (the caller then takes the matrix-multiply route).
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

import numpy as np

from cvae.nn.winograd import native_loops

__all__ = ["WIDTHS", "adjoint", "fits", "forward", "kernel_grad", "kernel_grad_fits", "native"]

SOURCE = Path(__file__).with_name("direct.c")
WIDTHS = (16, 32)  # channels a side the loops write: 1-2 vectors a pixel (AVX-512), 2-4 in slices of 2 (AVX2)
MAX_TAPS, MAX_CHANNELS = 49, 2048  # direct.c's limits: kernels up to 7 x 7, the other side's channels
_p, _i = ctypes.c_void_p, ctypes.c_int
_ARGS = [_p, _i, _i, _i, _i, _i, _i, _i, _i, _i, _i, _i, _p, _p]


@functools.cache
def native():
    """The compiled loops, or None (see `cvae.nn.winograd.native_loops`)."""
    signatures = {"direct_forward": _ARGS, "direct_adjoint": _ARGS, "direct_kernel_grad": _ARGS}
    # one fused multiply-add a vector (ISO C, -std=c99, keeps the multiply and the add apart by default):
    # half the floating-point instructions of these loops, which are bound by them
    return native_loops(
        SOURCE,
        "C direct convolution loops",
        signatures,
        _agrees_with_numpy,
        wrap=_declare_answers,
        flags=("-ffp-contract=fast",),
    )


def _declare_answers(lib):
    """The functions that answer an int: the vector width, whether the kernel gradient fits, its status."""
    lib.direct_lanes.argtypes, lib.direct_lanes.restype = [], ctypes.c_int
    lib.direct_kernel_grad_fits.argtypes, lib.direct_kernel_grad_fits.restype = [_i, _i, _i], ctypes.c_int
    lib.direct_kernel_grad.restype = ctypes.c_int
    return lib


def fits(written: int, read: int, k: int, *arrays: np.ndarray) -> bool:
    """Whether the loops take a map that writes `written` channels from `read` ones, kernel k x k."""
    return (
        written in WIDTHS
        and read <= MAX_CHANNELS
        and k * k <= MAX_TAPS
        and all(a.dtype == np.float32 and a.flags.c_contiguous for a in arrays)
        and native() is not None
    )


def kernel_grad_fits(x: np.ndarray, y: np.ndarray, k: int) -> bool:
    """Whether the loops take the kernel gradient of x (B, H, W, C) and y (B, Ho, Wo, O)."""
    # the blocks follow the CPU's registers (direct.c): AVX-512 takes C a multiple of 8, AVX2 3x3 kernels and C even
    return fits(y.shape[3], x.shape[3], k, x, y) and bool(native().direct_kernel_grad_fits(k, x.shape[3], y.shape[3]))


def _sizes(g, nb: int, c: int, o: int) -> tuple[int, ...]:
    return (nb, g.h_in, g.w_in, c, g.k, g.stride, g.top, g.left, g.h_out, g.w_out, o)


def forward(x: np.ndarray, w: np.ndarray, g, out: np.ndarray, lib=None) -> None:
    """out (n, Ho, Wo, O) = the cross-correlation of x (n, H, W, C) with w (k, k, C, O); O in WIDTHS."""
    lib = lib or native()
    lib.direct_forward(x.ctypes.data, *_sizes(g, x.shape[0], x.shape[3], w.shape[3]), w.ctypes.data, out.ctypes.data)


def adjoint(y: np.ndarray, w_t: np.ndarray, g, out: np.ndarray, lib=None) -> None:
    """out (n, H, W, C) = the adjoint in x applied to y (n, Ho, Wo, O), with w_t the kernel as (k, k, O, C);
    C in WIDTHS."""
    lib = lib or native()
    sizes = _sizes(g, y.shape[0], w_t.shape[3], w_t.shape[2])
    lib.direct_adjoint(y.ctypes.data, *sizes, w_t.ctypes.data, out.ctypes.data)


def kernel_grad(x: np.ndarray, y: np.ndarray, g, out: np.ndarray, lib=None) -> None:
    """out (k, k, C, O) = the gradient in w of <conv(x, w), y> where `kernel_grad_fits`, x (n, H, W, C),
    y (n, Ho, Wo, O), O in WIDTHS."""
    lib, k = lib or native(), g.k
    sizes = _sizes(g, x.shape[0], x.shape[3], y.shape[3])
    if lib.direct_kernel_grad(x.ctypes.data, *sizes, y.ctypes.data, out.ctypes.data):
        c, o = x.shape[3], y.shape[3]
        raise RuntimeError(f"direct kernel gradient: out of memory, or a {k}x{k} kernel {c} -> {o} it does not take")


def _agrees_with_numpy(lib) -> bool:
    """Known-answer test against NumPy's im2col route: both strides, both paddings, odd sizes, both widths."""
    from cvae.nn.layers import _geometry
    from cvae.nn.patches import _col2im_numpy, _im2col_numpy

    rng = np.random.default_rng(0)
    for hw, c, o, k, stride, padding in (
        ((9, 7), 3, 16, 3, 2, "same"),
        ((6, 11), 32, 16, 3, 1, "same"),
        ((8, 8), 16, 32, 2, 2, "valid"),
        ((7, 9), 8, 16, 3, 2, "same"),
        ((10, 9), 5, 32, 3, 2, "valid"),
    ):
        g = _geometry(k, hw, stride, padding)
        x = rng.standard_normal((2, *hw, c), dtype=np.float32)
        w = rng.standard_normal((k, k, c, o), dtype=np.float32)
        y = rng.standard_normal((2, g.h_out, g.w_out, o), dtype=np.float32)
        cols = _im2col_numpy(x, g)
        got = np.empty_like(y)
        forward(x, w, g, got, lib)
        expected = (cols @ w.reshape(-1, o)).reshape(y.shape)
        ok = np.allclose(got, expected, atol=1e-4 * np.abs(expected).max())
        if lib.direct_kernel_grad_fits(k, c, o):
            got_w = np.empty_like(w)
            kernel_grad(x, y, g, got_w, lib)
            expected_w = (cols.T @ y.reshape(-1, o)).reshape(w.shape)
            ok = ok and np.allclose(got_w, expected_w, atol=1e-4 * np.abs(expected_w).max())
        if c in WIDTHS:  # the adjoint writes the c channels, from the o ones
            wt = np.ascontiguousarray(w.transpose(0, 1, 3, 2))  # (k, k, o, c) as direct_adjoint reads it
            got_x = np.empty_like(x)
            adjoint(y, wt, g, got_x, lib)
            expected_x = np.empty_like(x)
            _col2im_numpy(y.reshape(-1, o) @ w.reshape(-1, o).T, g, expected_x)
            ok = ok and np.allclose(got_x, expected_x, atol=1e-4 * np.abs(expected_x).max())
        if not ok:
            return False
    return True
