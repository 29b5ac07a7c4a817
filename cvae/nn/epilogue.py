"""Bias and activation fused into the Op that computes a layer's product, and their gradient Op.

A layer's `act(conv(x, W) + b)` as separate PyTensor Elemwise nodes is one more single-threaded
pass over the output forward, and two backward (the activation's mask, then the bias's sum).
Fused, the bias and ReLU run on each finished piece of the product while it is in the cache, on
the Op's threads; backward, `BiasActivationGrad` masks the cotangent and sums the bias gradient
in one threaded pass.
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

from cvae.nn.parallel import parallel
from cvae.nn.winograd import native_loops

__all__ = ["FUSED", "BiasActivationGrad", "bias_activation", "epilogue"]

FUSED = ("linear", "relu")  # activations an Op can apply itself; others stay PyTensor Elemwise nodes
SOURCE = Path(__file__).with_name("epilogue.c")
_p, _i, _n = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t


@functools.cache
def native():
    """The C loops of `epilogue.c`, or None (NumPy does the work): see `native_loops`."""
    signatures = {"bias_act": [_p, _n, _i, _p, _i], "bias_act_backward": [_p, _p, _n, _i, _i, _p, _p]}
    return native_loops(SOURCE, "C bias/activation loops", signatures, _agrees_with_numpy)


def epilogue(bias: np.ndarray, activation: str, lib=None):
    """In-place `act(piece + bias)` for C-contiguous pieces (n, ..., C) of an Op's output; bias (C,)."""
    bias = np.ascontiguousarray(bias)
    lib = lib or native()

    def finish(piece: np.ndarray) -> None:
        if lib is not None and piece.dtype == bias.dtype == np.float32 and piece.flags.c_contiguous:
            lib.bias_act(piece.ctypes.data, piece.size // bias.size, bias.size, bias.ctypes.data, activation == "relu")
            return
        np.add(piece, bias, out=piece)
        if activation == "relu":
            np.maximum(piece, 0, out=piece)

    return finish


def _backward(gz: np.ndarray, out: np.ndarray, g: np.ndarray, relu: bool, lib) -> np.ndarray:
    """g = gz * act'(out) in place of g; returns db (C,) in float64."""
    c = gz.shape[-1]
    if lib is not None and gz.dtype == out.dtype == np.float32:
        db = np.empty(c, dtype=np.float64)
        lib.bias_act_backward(gz.ctypes.data, out.ctypes.data, gz.size // c, c, relu, g.ctypes.data, db.ctypes.data)
        return db
    np.multiply(gz, out > 0, out=g) if relu else np.copyto(g, gz)
    return g.reshape(-1, c).sum(axis=0, dtype=np.float64)


def _agrees_with_numpy(lib) -> bool:
    """Known-answer test of both loops, ReLU and linear, against NumPy in float64."""
    rng = np.random.default_rng(0)
    y = rng.standard_normal((3, 5, 7), dtype=np.float32)
    y[0, 0, 0] = np.nan  # a diverging fit must see its NaN, as with NumPy's maximum
    b = rng.standard_normal(7, dtype=np.float32)
    for relu in (False, True):
        got = y.copy()
        epilogue(b, "relu" if relu else "linear", lib)(got)
        expected = y.astype(np.float64) + b
        if not np.allclose(got, np.maximum(expected, 0) if relu else expected, atol=1e-6, equal_nan=True):
            return False
        g, gz = np.empty_like(y), -y
        db = _backward(gz, got, g, relu, lib)
        want = np.where(got > 0, gz, 0) if relu else gz
        sums = want.reshape(-1, 7).sum(axis=0)
        if not (np.array_equal(g, want, equal_nan=True) and np.allclose(db, sums, atol=1e-5, equal_nan=True)):
            return False
    return True


class BiasActivationGrad(Op):
    """(gz, out) -> (g, db) for out = act(z + b): g = gz * act'(z) (B, ..., C), db = g summed to (C,).

    ReLU's derivative is read from its output (out > 0), so z need not be kept.
    """

    __props__ = ("activation",)

    def __init__(self, activation: str):
        if activation not in FUSED:
            raise ValueError(f"cannot fuse activation {activation!r}; fusable: {FUSED}")
        self.activation = activation

    def make_node(self, gz, out):
        gz, out = pt.as_tensor_variable(gz), pt.as_tensor_variable(out)
        db = pt.tensor(dtype=gz.dtype, shape=(gz.type.shape[-1],))
        return Apply(self, [gz, out], [gz.type(), db])

    def perform(self, node, inputs, outputs):
        gz, out = (np.ascontiguousarray(v) for v in inputs)
        g, relu, lib = np.empty_like(gz), self.activation == "relu", native()

        def part(lo, hi):
            return _backward(gz[lo:hi], out[lo:hi], g[lo:hi], relu, lib)

        item = 3 * gz[0].nbytes if gz.shape[0] else 0
        outputs[0][0] = g
        outputs[1][0] = np.asarray(sum(parallel(part, gz.shape[0], 8 * gz.size, item)), dtype=gz.dtype)

    def infer_shape(self, *args):  # (fgraph, node, shapes) on PyTensor 2, (node, shapes) on 3
        (sg, _so) = args[-1]
        return [sg, (sg[-1],)]

    def pullback(self, inputs, outputs, cotangents):
        """Linear in gz for a fixed mask: both cotangents go back through the mask; none to out
        (ReLU's derivative is constant almost everywhere)."""
        (gz, out), (cg, cdb) = inputs, cotangents
        total = pt.zeros_like(gz)
        if not isinstance(cg.type, DisconnectedType):
            total = total + cg
        if not isinstance(cdb.type, DisconnectedType):
            total = total + cdb
        if self.activation == "relu":
            total = pt.switch(out > 0, total, 0)
        return [total.astype(gz.dtype), pt.zeros_like(out)]

    L_op = pullback  # PyTensor 2 differentiates through L_op, 3 through pullback


def bias_activation(gz, out, activation: str):
    """Symbolic (g, db) of `BiasActivationGrad`; for "linear", g is gz itself and db its sum."""
    if activation == "linear":
        return gz, gz.sum(axis=tuple(range(gz.ndim - 1)))
    return BiasActivationGrad(activation)(gz, out)
