"""Convolutions as NumPy kernels, channels-last: im2col, shifted-output and Winograd paths.

The three bilinear maps of a convolution (forward, adjoint = input gradient / transposed conv,
kernel gradient) for `cvae.nn.ops.ConvOp`. A 3x3 stride-1 convolution runs Winograd F(2x2, 3x3)
(`cvae.nn.winograd`: C transforms and 16 smaller matrix multiplies, 2.25x fewer multiply-adds);
the others gather the k x k shifted (strided) slices into a patch matrix (im2col) and do one
matrix multiply on the private BLAS. All work on cache-sized pieces of the batch
(`cvae.nn.parallel`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import NamedTuple

import numpy as np

from cvae.nn.blas import gemm, private_blas
from cvae.nn.parallel import parallel
from cvae.settings import settings

__all__ = ["ConvGeometry", "conv_adjoint", "conv_forward", "conv_kernel_grad", "matmul_kernel"]


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
        return ConvGeometry(
            k,
            1,
            k - 1 - self.top,
            self.h_in - self.h_out + self.top,
            k - 1 - self.left,
            self.w_in - self.w_out + self.left,
            self.h_out,
            self.w_out,
            self.h_in,
            self.w_in,
        )

    def shift_path(self, c_in: int, c_out: int) -> bool:
        """Stride 1 and fewer output than input channels: shift the small side, not the big one."""
        return self.stride == 1 and c_out < c_in


@functools.cache
def winograd():
    """Winograd kernels for the 3x3 stride-1 convolutions, on the private BLAS; None where they
    cannot be built or fail their known-answer test (CVAE_WINOGRAD=0: off)."""
    import pytensor  # its compiler and compile cache

    blas = private_blas()
    if blas is None or not pytensor.config.cxx or not settings().winograd:
        return None
    from cvae.nn import winograd as kernels

    return kernels.load(blas.sgemm_address, Path(pytensor.config.compiledir), pytensor.config.cxx)


def matmul_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (M, K) @ b (K, N), split over the longer of M and N."""
    (m, k), n = a.shape, b.shape[1]
    out = np.empty((m, n), dtype=np.result_type(a, b))
    if m >= n:
        parallel(lambda lo, hi: gemm(a[lo:hi], b, out[lo:hi]), m, m * n * k)
    else:
        parallel(lambda lo, hi: gemm(a, b[:, lo:hi], out[:, lo:hi]), n, m * n * k)
    return out


# ---------------------------------------------------------------- NumPy kernels, channels-last


def _pad(x: np.ndarray, g: ConvGeometry) -> np.ndarray:
    if not (g.top or g.bottom or g.left or g.right):
        return x
    hp, wp = g.padded
    out = np.empty((x.shape[0], hp, wp, x.shape[3]), dtype=x.dtype)
    out[:, : g.top], out[:, g.top + g.h_in :] = 0, 0
    out[:, g.top : g.top + g.h_in, : g.left], out[:, g.top : g.top + g.h_in, g.left + g.w_in :] = 0, 0
    out[:, g.top : g.top + g.h_in, g.left : g.left + g.w_in] = x
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
        out[...] = tiles[:, g.top : g.top + g.h_in, g.left : g.left + g.w_in, :]
        return
    xp = np.empty((b, hp, wp, c), dtype=out.dtype) if pads else out
    xp[...] = 0
    for u in range(g.k):
        for v in range(g.k):
            rows, cols_ = g.window(u, v)
            xp[:, rows, cols_, :] += cols[:, :, :, u, v, :]
    if pads:
        out[...] = xp[:, g.top : g.top + g.h_in, g.left : g.left + g.w_in, :]


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
                out[:, i0:i1, j0:j1, u, v, :] = y[
                    :, i0 + g.top - u : i1 + g.top - u, j0 + g.left - v : j1 + g.left - v, :
                ]
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
                out[:, i0 + g.top - u : i1 + g.top - u, j0 + g.left - v : j1 + g.left - v, :] += z[
                    :, i0:i1, j0:j1, u, v, :
                ]


def _winograd_fits(g: ConvGeometry, *arrays: np.ndarray) -> bool:
    return winograd() is not None and g.k == 3 and g.stride == 1 and all(a.dtype == np.float32 for a in arrays)


def conv_forward(x: np.ndarray, w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """Cross-correlation: x (B, H, W, C), w (k, k, C, O) -> (B, Ho, Wo, O)."""
    b, (k, _, c, o) = x.shape[0], w.shape
    out = np.empty((b, g.h_out, g.w_out, o), dtype=x.dtype)
    work = b * g.h_out * g.w_out * k * k * c * o
    if _winograd_fits(g, x, w):  # 16 products of (tiles, C) @ (C, O): 2.25x fewer multiplies
        wino = winograd()
        u = wino.transform_kernel(w)

        def part(lo, hi):
            wino.forward(x[lo:hi], u, g.top, g.left, out[lo:hi])

        item = 16 * wino.tiles(g.h_out, g.w_out) * (c + o) * 4
    elif g.shift_path(c, o):  # every input pixel times the whole kernel, then add the shifted outputs
        wm = np.ascontiguousarray(w.transpose(2, 0, 1, 3).reshape(c, k * k * o))

        def part(lo, hi):
            _unshift(gemm(x[lo:hi].reshape(-1, c), wm), g, out[lo:hi])

        item = g.h_in * g.w_in * k * k * o * 4
    else:
        wm = w.reshape(k * k * c, o)

        def part(lo, hi):
            gemm(_im2col(x[lo:hi], g), wm, out=out[lo:hi].reshape(-1, o))

        item = g.h_out * g.w_out * k * k * c * 4
    parallel(part, b, work, item)
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
            gemm(_shifted(y[lo:hi], g), wm, out=out[lo:hi].reshape(-1, c))

        item = g.h_in * g.w_in * k * k * o * 4
    elif g.stride == 1:  # a 'full' cross-correlation of y with the flipped kernel: im2col, no scatter-add
        flipped = g.flipped()
        wm = np.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2).reshape(k * k * o, c))

        def part(lo, hi):
            gemm(_im2col(y[lo:hi], flipped), wm, out=out[lo:hi].reshape(-1, c))

        item = g.h_in * g.w_in * k * k * o * 4
    else:
        wm = w.reshape(k * k * c, o)

        def part(lo, hi):
            _col2im(gemm(y[lo:hi].reshape(-1, o), wm.T), g, out[lo:hi])

        item = g.h_out * g.w_out * k * k * c * 4
    parallel(part, b, work, item)
    return out


def conv_kernel_grad(x: np.ndarray, y: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """d<conv_forward(x, w), y>/dw: x (B, H, W, C), y (B, Ho, Wo, O) -> (k, k, C, O)."""
    b, c, o, k = x.shape[0], x.shape[3], y.shape[3], g.k
    work = b * g.h_out * g.w_out * k * k * c * o
    if _winograd_fits(g, x, y):
        wino = winograd()

        def part(lo, hi):  # (16, C, O) in the Winograd domain
            return wino.kernel_grad(x[lo:hi], y[lo:hi], g.top, g.left)

        item = 16 * wino.tiles(g.h_out, g.w_out) * (c + o) * 4
        return wino.kernel_from(sum(parallel(part, b, work, item)))
    if g.shift_path(c, o):

        def part(lo, hi):  # (C, k*k*O)
            return gemm(x[lo:hi].reshape(-1, c).T, _shifted(y[lo:hi], g))

        gw = sum(parallel(part, b, work, g.h_in * g.w_in * k * k * o * 4))
        return np.ascontiguousarray(gw.reshape(c, k, k, o).transpose(1, 2, 0, 3))

    def part(lo, hi):  # (k*k*C, O)
        return gemm(_im2col(x[lo:hi], g).T, y[lo:hi].reshape(-1, o))

    return sum(parallel(part, b, work, g.h_out * g.w_out * k * k * c * 4)).reshape(k, k, c, o)
