"""PyTensor Ops for the network's products: a convolution is three bilinear Ops, a Dense layer one.

`ConvOp` (forward, adjoint = input gradient / transposed conv, kernel gradient) and `MatMulOp`
each have a NumPy `perform` (`cvae.nn.conv_kernels`, on the private BLAS) and a symbolic
gradient written with the others, so PyTensor and PyMC differentiate through them to any order
and skip the data input's gradient.
"""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

from cvae.nn.conv_kernels import ConvGeometry, conv_adjoint, conv_forward, conv_kernel_grad, matmul_kernel
from cvae.nn.epilogue import FUSED, bias_activation, epilogue

__all__ = ["ConvOp", "MatMulOp", "matmul"]


class ConvOp(Op):
    """One of the three bilinear maps of a convolution with geometry `geom`.

    kind "forward": (x, w) -> y;  "adjoint": (y, w) -> x;  "kernel_grad": (x, y) -> w,
    with x (B, H, W, C), y (B, Ho, Wo, O), w (k, k, C, O). With an `activation` (forward and
    adjoint only; one of `cvae.nn.epilogue.FUSED`) the Op takes a bias (channels,) too and
    returns activation(product + bias), computed on each piece of the product as it is done.
    """

    __props__ = ("kind", "geom", "activation")
    _kernels = {"forward": conv_forward, "adjoint": conv_adjoint, "kernel_grad": conv_kernel_grad}

    def __init__(self, kind: str, geom: ConvGeometry, activation: str | None = None):
        if kind not in self._kernels:
            raise ValueError(f"unknown conv kind {kind!r}")
        if activation is not None and (activation not in FUSED or kind == "kernel_grad"):
            raise ValueError(f"conv {kind} cannot fuse activation {activation!r}")
        self.kind, self.geom, self.activation = kind, ConvGeometry(*geom), activation

    def make_node(self, a, b, *bias):
        if len(bias) != (self.activation is not None):
            raise TypeError(f"conv {self.kind} with activation {self.activation} takes {2 + len(bias)} inputs")
        a, b = pt.as_tensor_variable(a), pt.as_tensor_variable(b)
        bias = [pt.as_tensor_variable(v).astype(pytensor.scalar.upcast(a.dtype, b.dtype)) for v in bias]
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
        return Apply(self, [a, b, *bias], [pt.tensor(dtype=dtype, shape=shape)])

    def perform(self, node, inputs, outputs):
        dtype = node.outputs[0].dtype
        a, b = (np.ascontiguousarray(v, dtype=dtype) for v in inputs[:2])
        self._check_shapes(a.shape, b.shape)
        kernel = self._kernels[self.kind]
        if self.activation is None:
            out = kernel(a, b, self.geom)
        else:
            out = kernel(a, b, self.geom, epilogue(inputs[2], self.activation))
        outputs[0][0] = np.asarray(out, dtype=dtype)

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

    def infer_shape(self, *args):  # (fgraph, node, shapes) on PyTensor 2, (node, shapes) on 3
        (sa, sb), g = args[-1][:2], self.geom
        if self.kind == "forward":
            return [(sa[0], g.h_out, g.w_out, sb[3])]
        if self.kind == "adjoint":
            return [(sa[0], g.h_in, g.w_in, sb[2])]
        return [(g.k, g.k, sa[3], sb[3])]

    def pullback(self, inputs, outputs, cotangents):
        (a, b), (gz,), g = inputs[:2], cotangents, self.geom
        if self.activation is not None:  # back through the activation and the bias first
            gz, db = bias_activation(gz, outputs[0], self.activation)
            return [*ConvOp(self.kind, g).pullback(inputs[:2], outputs, [gz]), db]
        forward, adjoint, kernel_grad = (ConvOp(kind, g) for kind in ("forward", "adjoint", "kernel_grad"))
        if self.kind == "forward":  # a = x, b = w
            return [adjoint(gz, b), kernel_grad(a, gz)]
        if self.kind == "adjoint":  # a = y, b = w
            return [forward(gz, b), kernel_grad(gz, a)]
        return [adjoint(b, gz), forward(a, gz)]  # a = x, b = y, gz like w

    L_op = pullback  # PyTensor 2 differentiates through L_op, 3 through pullback


class MatMulOp(Op):
    """a (M, K) @ b (K, N) through the same BLAS and threads as the convolutions; with an
    `activation` (one of `cvae.nn.epilogue.FUSED`) also a bias (N,): activation(a @ b + bias)."""

    __props__ = ("activation",)

    def __init__(self, activation: str | None = None):
        if activation is not None and activation not in FUSED:
            raise ValueError(f"matmul cannot fuse activation {activation!r}")
        self.activation = activation

    def make_node(self, a, b, *bias):
        if len(bias) != (self.activation is not None):
            raise TypeError(f"matmul with activation {self.activation} takes {2 + len(bias)} inputs")
        a, b = pt.as_tensor_variable(a), pt.as_tensor_variable(b)
        if a.ndim != 2 or b.ndim != 2:
            raise TypeError(f"matmul needs two matrices; got {a.type} and {b.type}")
        dtype = pytensor.scalar.upcast(a.dtype, b.dtype)
        bias = [pt.as_tensor_variable(v).astype(dtype) for v in bias]
        return Apply(self, [a, b, *bias], [pt.tensor(dtype=dtype, shape=(a.type.shape[0], b.type.shape[1]))])

    def perform(self, node, inputs, outputs):
        dtype = node.outputs[0].dtype
        a, b = (np.asarray(v, dtype=dtype) for v in inputs[:2])
        finish = None if self.activation is None else epilogue(inputs[2], self.activation)
        outputs[0][0] = matmul_kernel(a, b, finish)

    def infer_shape(self, *args):  # (fgraph, node, shapes) on PyTensor 2, (node, shapes) on 3
        shapes = args[-1]
        return [(shapes[0][0], shapes[1][1])]

    def pullback(self, inputs, outputs, cotangents):
        (a, b), (gz,) = inputs[:2], cotangents
        if self.activation is not None:  # back through the activation and the bias first
            gz, db = bias_activation(gz, outputs[0], self.activation)
            return [matmul(gz, b.T), matmul(a.T, gz), db]
        return [matmul(gz, b.T), matmul(a.T, gz)]

    L_op = pullback  # PyTensor 2 differentiates through L_op, 3 through pullback


def matmul(a, b, bias=None, activation: str | None = None):
    """Symbolic a @ b for matrices (the Dense layers' product); with a bias, activation(a @ b + bias)."""
    if bias is None:
        return MatMulOp()(a, b)
    return MatMulOp(activation)(a, b, bias)
