"""Gathering and scattering convolution patches (im2col and its relatives), channels-last.

The C loops in `patches.c` (compiled once into PyTensor's compiledir, like `cvae.nn.winograd`)
where a compiler is available and they pass a known-answer test against the NumPy versions
below; the NumPy versions otherwise (CVAE_WINOGRAD=0 turns both C libraries off). All take a
piece of the batch and release the GIL, so `cvae.nn.parallel` threads run them side by side.
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

import numpy as np

__all__ = ["col2im", "im2col", "native", "one_channel", "shifted", "unshift"]

SOURCE = Path(__file__).with_name("patches.c")
_p, _i = ctypes.c_void_p, ctypes.c_int


class _Native:
    """The compiled loops: im2col/col2im (geometry k, stride, top, left) and shifted/unshift (stride 1)."""

    def __init__(self, lib: ctypes.CDLL):
        self.im2col, self.col2im = lib.im2col, lib.col2im
        for f in (self.im2col, self.col2im):
            f.argtypes, f.restype = [_p, _i, _i, _i, _i, _i, _i, _i, _i, _i, _i, _p], None
        self.shifted, self.unshift = lib.shifted, lib.unshift
        for f in (self.shifted, self.unshift):
            f.argtypes, f.restype = [_p, _i, _i, _i, _i, _i, _i, _i, _i, _i, _p], None
        self.conv1 = {"forward": lib.conv1_forward, "adjoint": lib.conv1_adjoint, "kernel_grad": lib.conv1_kernel_grad}
        for f in self.conv1.values():
            f.argtypes, f.restype = [_p, _i, _i, _i, _i, _i, _i, _i, _i, _i, _i, _p, _p], None


@functools.cache
def native() -> _Native | None:
    """The C loops, or None without a compiler, with CVAE_WINOGRAD=0, or if they disagree with NumPy."""
    from cvae.nn.winograd import native_loops

    return native_loops(SOURCE, "C patch loops", {}, _agrees_with_numpy, _Native)


def _ready(*arrays: np.ndarray) -> bool:
    return all(a.dtype == np.float32 and a.flags.c_contiguous for a in arrays)


def im2col(x: np.ndarray, g, lib: _Native | None = None) -> np.ndarray:
    """(B, H, W, C) -> (B*Ho*Wo, k*k*C): each output pixel's receptive field, (u, v, c) order."""
    return _gather("im2col", _im2col_numpy, x, g, g.h_out * g.w_out, lib)


def col2im(cols: np.ndarray, g, out: np.ndarray, lib: _Native | None = None) -> None:
    """Adjoint of `im2col`: (b*Ho*Wo, k*k*C) -> out (b, H, W, C), overlapping taps summed."""
    _scatter("col2im", _col2im_numpy, cols, g, out, lib)


def shifted(y: np.ndarray, g, lib: _Native | None = None) -> np.ndarray:
    """Stride 1: (B, Ho, Wo, O) -> (B*H*W, k*k*O) with [b, i, j, u, v] = y[b, i + top - u, j + left - v]
    (zero outside): for each input pixel, the outputs that read it through tap (u, v)."""
    return _gather("shifted", _shifted_numpy, y, g, g.h_in * g.w_in, lib)


def unshift(z: np.ndarray, g, out: np.ndarray, lib: _Native | None = None) -> None:
    """Adjoint of `shifted`: (b*H*W, k*k*O) -> out (b, Ho, Wo, O)."""
    _scatter("unshift", _unshift_numpy, z, g, out, lib)


def one_channel(kind: str, a: np.ndarray, b: np.ndarray, g, out: np.ndarray, lib: _Native) -> None:
    """A convolution with one output channel, directly (no matrix multiply), into `out`:
    "forward" (x, w) -> y, "adjoint" (y, w) -> x, "kernel_grad" (x, y) -> w, with
    x (n, H, W, C), y (n, Ho, Wo, 1), w (k, k, C, 1), all C-contiguous float32."""
    c = (out if kind == "adjoint" else a).shape[3]
    lib.conv1[kind](a.ctypes.data, *_sizes(g, a.shape[0], c, "conv1"), b.ctypes.data, out.ctypes.data)


def _gather(loop: str, numpy_version, a: np.ndarray, g, pixels: int, lib: _Native | None) -> np.ndarray:
    """im2col or shifted, by its C loop where `a` allows: a (B, ., ., C) -> (B*pixels, k*k*C)."""
    if (lib := lib or native()) is None or not _ready(a):
        return numpy_version(a, g)
    b, c = a.shape[0], a.shape[3]
    out = np.empty((b * pixels, g.k * g.k * c), dtype=np.float32)
    getattr(lib, loop)(a.ctypes.data, *_sizes(g, b, c, loop), out.ctypes.data)
    return out


def _scatter(loop: str, numpy_version, a: np.ndarray, g, out: np.ndarray, lib: _Native | None) -> None:
    """col2im or unshift, by its C loop where `a` and `out` (B, ., ., C) allow."""
    if (lib := lib or native()) is None or not _ready(a, out):
        return numpy_version(a, g, out)
    getattr(lib, loop)(a.ctypes.data, *_sizes(g, out.shape[0], out.shape[3], loop), out.ctypes.data)


def _sizes(g, nb: int, channels: int, loop: str) -> tuple[int, ...]:
    """The C loops' size arguments (nb, h, w, channels, k, stride, top, left, h_out, w_out); the
    stride-1 loops shifted and unshift take no stride."""
    stride = () if loop in ("shifted", "unshift") else (g.stride,)
    return (nb, g.h_in, g.w_in, channels, g.k, *stride, g.top, g.left, g.h_out, g.w_out)


# ---------------------------------------------------------------- NumPy versions: the reference and fallback


def _pad(x: np.ndarray, g) -> np.ndarray:
    if not (g.top or g.bottom or g.left or g.right):
        return x
    hp, wp = g.padded
    out = np.zeros((x.shape[0], hp, wp, x.shape[3]), dtype=x.dtype)
    out[:, g.top : g.top + g.h_in, g.left : g.left + g.w_in] = x
    return out


def _im2col_numpy(x: np.ndarray, g) -> np.ndarray:
    b, c = x.shape[0], x.shape[3]
    xp = _pad(x, g)
    patches = np.empty((b, g.h_out, g.w_out, g.k, g.k, c), dtype=x.dtype)
    for u in range(g.k):
        for v in range(g.k):
            rows, cols = g.window(u, v)
            patches[:, :, :, u, v, :] = xp[:, rows, cols, :]
    return patches.reshape(b * g.h_out * g.w_out, g.k * g.k * c)


def _col2im_numpy(cols: np.ndarray, g, out: np.ndarray) -> None:
    b, c = out.shape[0], out.shape[3]
    cols = cols.reshape(b, g.h_out, g.w_out, g.k, g.k, c)
    xp = np.zeros((b, *g.padded, c), dtype=out.dtype)
    for u in range(g.k):
        for v in range(g.k):
            rows, cols_ = g.window(u, v)
            xp[:, rows, cols_, :] += cols[:, :, :, u, v, :]
    out[...] = xp[:, g.top : g.top + g.h_in, g.left : g.left + g.w_in, :]


def _tap_ranges(g, u: int, v: int):
    """Stride 1: input rows/cols i, j that tap (u, v) maps to output i + top - u, j + left - v."""
    i0, i1 = max(0, u - g.top), min(g.h_in, g.h_out + u - g.top)
    j0, j1 = max(0, v - g.left), min(g.w_in, g.w_out + v - g.left)
    return (i0, i1, j0, j1) if i1 > i0 and j1 > j0 else None


def _shifted_numpy(y: np.ndarray, g) -> np.ndarray:
    b, o = y.shape[0], y.shape[3]
    out = np.zeros((b, g.h_in, g.w_in, g.k, g.k, o), dtype=y.dtype)
    for u in range(g.k):
        for v in range(g.k):
            if r := _tap_ranges(g, u, v):
                i0, i1, j0, j1 = r
                out[:, i0:i1, j0:j1, u, v, :] = y[
                    :, i0 + g.top - u : i1 + g.top - u, j0 + g.left - v : j1 + g.left - v, :
                ]
    return out.reshape(b * g.h_in * g.w_in, g.k * g.k * o)


def _unshift_numpy(z: np.ndarray, g, out: np.ndarray) -> None:
    b, o = out.shape[0], out.shape[3]
    z = z.reshape(b, g.h_in, g.w_in, g.k, g.k, o)
    out[...] = 0
    for u in range(g.k):
        for v in range(g.k):
            if r := _tap_ranges(g, u, v):
                i0, i1, j0, j1 = r
                out[:, i0 + g.top - u : i1 + g.top - u, j0 + g.left - v : j1 + g.left - v, :] += z[
                    :, i0:i1, j0:j1, u, v, :
                ]


def _agrees_with_numpy(lib: _Native) -> bool:
    """Known-answer test: strides 1 and 2, 'same' and 'valid', odd sizes, one channel and several."""
    from cvae.nn.layers import _geometry

    rng = np.random.default_rng(0)
    for hw, c, o, k, stride, padding in (
        ((5, 7), 3, 2, 3, 2, "same"),
        ((6, 6), 1, 4, 3, 1, "same"),
        ((7, 4), 2, 1, 2, 2, "valid"),
        ((9, 9), 4, 3, 3, 1, "valid"),
    ):
        g = _geometry(k, hw, stride, padding)
        x = rng.standard_normal((2, *hw, c), dtype=np.float32)
        cols = rng.standard_normal((2 * g.h_out * g.w_out, k * k * c), dtype=np.float32)
        got, expected = np.empty_like(x), np.empty_like(x)
        col2im(cols, g, got, lib), _col2im_numpy(cols, g, expected)
        ok = np.array_equal(im2col(x, g, lib), _im2col_numpy(x, g)) and np.allclose(got, expected, atol=1e-5)
        if stride == 1:
            y = rng.standard_normal((2, g.h_out, g.w_out, o), dtype=np.float32)
            z = rng.standard_normal((2 * g.h_in * g.w_in, k * k * o), dtype=np.float32)
            got, expected = np.empty_like(y), np.empty_like(y)
            unshift(z, g, got, lib), _unshift_numpy(z, g, expected)
            ok = (
                ok
                and np.array_equal(shifted(y, g, lib), _shifted_numpy(y, g))
                and np.allclose(got, expected, atol=1e-5)
            )
        if not ok:
            return False
    return True
