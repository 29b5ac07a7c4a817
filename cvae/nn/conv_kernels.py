"""Convolutions, channels-last: Winograd, direct, one-channel, shifted-output and im2col paths.

The three bilinear maps of a convolution (forward, adjoint = input gradient / transposed conv,
kernel gradient) for `cvae.nn.ops.ConvOp`. A 3x3 stride-1 convolution runs Winograd F(2x2, 3x3)
(`cvae.nn.winograd`: C transforms and 16 smaller matrix multiplies, 2.25x fewer multiply-adds); a
map that writes 16 or 32 channels runs the direct loops (`cvae.nn.direct`: no patch matrix); one
that writes one channel the one-channel loops (`cvae.nn.patches`); the others gather the k x k
shifted (strided) slices into a patch matrix (im2col) and do one matrix multiply on the private BLAS.
All work on pieces of the batch (`cvae.nn.parallel`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np

from cvae.nn import direct
from cvae.nn.blas import gemm, private_blas
from cvae.nn.parallel import parallel
from cvae.nn.patches import col2im, im2col, native, one_channel, shifted, unshift
from cvae.settings import settings

Epilogue = Callable[[np.ndarray], None] | None  # applied in place to each finished piece of an output

__all__ = ["ConvGeometry", "Epilogue", "conv_adjoint", "conv_forward", "conv_kernel_grad", "matmul_kernel"]


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


# A bare matrix multiply splits over threads only from this many multiply-adds: below it the hand-off
# costs more than the second thread saves (measured, batch 100: the classroom network's dense products,
# 10M multiply-adds, 0.23-0.28 ms split against 0.22-0.24 whole; 5M 0.21-0.24 against 0.13-0.16;
# 20M 0.35 split against 0.43 whole)
MATMUL_MIN_WORK = 2**24


def matmul_kernel(a: np.ndarray, b: np.ndarray, epilogue: Epilogue = None) -> np.ndarray:
    """a (M, K) @ b (K, N), split over the longer of M and N, then `epilogue` on it in place."""
    (m, k), n = a.shape, b.shape[1]
    out = np.empty((m, n), dtype=np.result_type(a, b))
    work = m * n * k
    if m >= n:
        rows = _finished(lambda lo, hi: gemm(a[lo:hi], b, out[lo:hi]), out, epilogue)
        parallel(rows, m, work, min_work=MATMUL_MIN_WORK)
        return out
    parallel(lambda lo, hi: gemm(a, b[:, lo:hi], out[:, lo:hi]), n, work, min_work=MATMUL_MIN_WORK)
    if epilogue is not None:  # on whole rows: its bias runs along them
        epilogue(out)
    return out


def _winograd_fits(g: ConvGeometry, *arrays: np.ndarray) -> bool:
    return winograd() is not None and g.k == 3 and g.stride == 1 and all(a.dtype == np.float32 for a in arrays)


def _finished(part, out: np.ndarray, epilogue: Epilogue):
    """`part`, then `epilogue` on its piece of `out` while that is still in the cache."""
    if epilogue is None:
        return part

    def run(lo, hi):
        part(lo, hi)
        epilogue(out[lo:hi])

    return run


def _one_channel(kind: str, a: np.ndarray, b: np.ndarray, g: ConvGeometry, shape: tuple, epilogue: Epilogue = None):
    """`kind` of a convolution to one channel by the direct C loops, split over the batch (None
    where they are unavailable): a single-column matrix multiply runs far below the BLAS's speed."""
    lib = native()
    if lib is None or not a.dtype == b.dtype == np.float32:
        return None
    n, c = a.shape[0], (shape if kind == "adjoint" else a.shape)[3]
    work = n * g.h_out * g.w_out * g.k * g.k * c
    if kind == "kernel_grad":

        def part(lo, hi):
            dw = np.empty(shape, dtype=np.float32)
            one_channel(kind, a[lo:hi], b[lo:hi], g, dw, lib)
            return dw

        return sum(parallel(part, n, work))
    out = np.empty(shape, dtype=np.float32)
    parallel(_finished(lambda lo, hi: one_channel(kind, a[lo:hi], b, g, out[lo:hi], lib), out, epilogue), n, work)
    return out


def conv_forward(x: np.ndarray, w: np.ndarray, g: ConvGeometry, epilogue: Epilogue = None) -> np.ndarray:
    """Cross-correlation: x (B, H, W, C), w (k, k, C, O) -> (B, Ho, Wo, O), then `epilogue` on it in place."""
    b, (k, _, c, o) = x.shape[0], w.shape
    if o == 1 and (out := _one_channel("forward", x, w, g, (b, g.h_out, g.w_out, 1), epilogue)) is not None:
        return out
    out = np.empty((b, g.h_out, g.w_out, o), dtype=x.dtype)
    work = b * g.h_out * g.w_out * k * k * c * o
    if _winograd_fits(g, x, w):  # 16 products of (tiles, C) @ (C, O): 2.25x fewer multiplies
        wino = winograd()
        u = wino.transform_kernel(w)

        def part(lo, hi):
            wino.forward(x[lo:hi], u, g.top, g.left, out[lo:hi])

        item = 0  # its scratch is a chunk of tiles (cvae.nn.winograd), whatever the piece
    elif direct.fits(o, c, k, x, w):  # 16 or 32 output channels: no patch matrix (cvae.nn.direct)

        def part(lo, hi):
            direct.forward(x[lo:hi], w, g, out[lo:hi])

        item = 0
    elif g.shift_path(c, o):  # every input pixel times the whole kernel, then add the shifted outputs
        wm = np.ascontiguousarray(w.transpose(2, 0, 1, 3).reshape(c, k * k * o))

        def part(lo, hi):
            unshift(gemm(x[lo:hi].reshape(-1, c), wm), g, out[lo:hi])

        item = g.h_in * g.w_in * k * k * o * 4
    else:
        wm = w.reshape(k * k * c, o)

        def part(lo, hi):
            gemm(im2col(x[lo:hi], g), wm, out=out[lo:hi].reshape(-1, o))

        item = g.h_out * g.w_out * k * k * c * 4
    parallel(_finished(part, out, epilogue), b, work, item)
    return out


def conv_adjoint(y: np.ndarray, w: np.ndarray, g: ConvGeometry, epilogue: Epilogue = None) -> np.ndarray:
    """Adjoint of `conv_forward` in x (the input gradient, or a transposed conv): y (B, Ho, Wo, O) -> (B, H, W, C),
    then `epilogue` on it in place."""
    shape = (y.shape[0], g.h_in, g.w_in, w.shape[2])
    if w.shape[3] == 1 and (out := _one_channel("adjoint", y, w, g, shape, epilogue)) is not None:
        return out
    if _winograd_fits(g, y, w):  # the forward convolution of y with the flipped kernel
        return conv_forward(y, np.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2)), g.flipped(), epilogue)
    b, (k, _, c, o) = y.shape[0], w.shape
    out = np.empty((b, g.h_in, g.w_in, c), dtype=y.dtype)
    work = b * g.h_out * g.w_out * k * k * c * o
    if direct.fits(c, o, k, y, w):  # 16 or 32 input channels: gathered in registers (cvae.nn.direct)
        w_t = np.ascontiguousarray(w.transpose(0, 1, 3, 2))

        def part(lo, hi):
            direct.adjoint(y[lo:hi], w_t, g, out[lo:hi])

        item = 0
    elif g.shift_path(c, o):
        wm = np.ascontiguousarray(w.transpose(0, 1, 3, 2).reshape(k * k * o, c))

        def part(lo, hi):
            gemm(shifted(y[lo:hi], g), wm, out=out[lo:hi].reshape(-1, c))

        item = g.h_in * g.w_in * k * k * o * 4
    elif g.stride == 1:  # a 'full' cross-correlation of y with the flipped kernel: im2col, no scatter-add
        flipped = g.flipped()
        wm = np.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2).reshape(k * k * o, c))

        def part(lo, hi):
            gemm(im2col(y[lo:hi], flipped), wm, out=out[lo:hi].reshape(-1, c))

        item = g.h_in * g.w_in * k * k * o * 4
    else:
        wm = w.reshape(k * k * c, o)

        def part(lo, hi):
            col2im(gemm(y[lo:hi].reshape(-1, o), wm.T), g, out[lo:hi])

        item = g.h_out * g.w_out * k * k * c * 4
    parallel(_finished(part, out, epilogue), b, work, item)
    return out


def conv_kernel_grad(x: np.ndarray, y: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """d<conv_forward(x, w), y>/dw: x (B, H, W, C), y (B, Ho, Wo, O) -> (k, k, C, O)."""
    b, c, o, k = x.shape[0], x.shape[3], y.shape[3], g.k
    if o == 1 and (dw := _one_channel("kernel_grad", x, y, g, (k, k, c, 1))) is not None:
        return dw
    work = b * g.h_out * g.w_out * k * k * c * o
    if _winograd_fits(g, x, y):
        wino = winograd()

        def part(lo, hi):  # (16, C, O) in the Winograd domain
            return wino.kernel_grad(x[lo:hi], y[lo:hi], g.top, g.left)

        return wino.kernel_from(sum(parallel(part, b, work)))
    if direct.kernel_grad_fits(x, y, k):  # 16 or 32 output channels: no patch matrix (cvae.nn.direct)

        def part(lo, hi):
            dw = np.empty((k, k, c, o), dtype=np.float32)
            direct.kernel_grad(x[lo:hi], y[lo:hi], g, dw)
            return dw

        return sum(parallel(part, b, work))
    if g.shift_path(c, o):

        def part(lo, hi):  # (C, k*k*O)
            return gemm(x[lo:hi].reshape(-1, c).T, shifted(y[lo:hi], g))

        gw = sum(parallel(part, b, work, g.h_in * g.w_in * k * k * o * 4))
        return np.ascontiguousarray(gw.reshape(c, k, k, o).transpose(1, 2, 0, 3))

    def part(lo, hi):  # (k*k*C, O)
        return gemm(im2col(x[lo:hi], g).T, y[lo:hi].reshape(-1, o))

    return sum(parallel(part, b, work, g.h_out * g.w_out * k * k * c * 4)).reshape(k, k, c, o)
