"""The Bernoulli log-density of binary pixels given logits, as one Op with NumPy's vector math.

log p(x | t) = x t - softplus(t) per pixel. As PyTensor Elemwise nodes this is a scalar libm loop
(log1p(exp(t)) per pixel in double): measured 2.1-2.6 ms for a batch of 100 digits, a tenth of a
classroom training step; NumPy's SIMD exp/log1p do it in 0.2 ms, and the gradient x - sigmoid(t)
through tanh in 0.1 ms.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

__all__ = ["bernoulli_logit_logp"]


def _logp(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """x t - softplus(t) as (x - [t > 0]) t - log1p(e^-|t|), in t's dtype: no overflow, and for a
    binary x no cancellation (x t - softplus(t) in float32 loses ~1e-6 nats where x = 1, t >> 0)."""
    out = np.abs(t)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    np.subtract(np.multiply(np.subtract(x, t > 0, dtype=t.dtype), t), out, out=out)
    return out


def _sigmoid(t: np.ndarray) -> np.ndarray:
    s = np.multiply(t, 0.5)
    np.tanh(s, out=s)  # 1 / (1 + e^-t) = (1 + tanh(t/2)) / 2, without overflow
    s += 1
    s *= 0.5
    return s


class BernoulliLogitLogp(Op):
    """(x, logits) -> x * logits - softplus(logits), elementwise, logits' shape and dtype."""

    __props__ = ()

    def make_node(self, x, logits):
        x, logits = pt.as_tensor_variable(x), pt.as_tensor_variable(logits)
        return Apply(self, [x, logits], [logits.type()])

    def perform(self, node, inputs, outputs):
        outputs[0][0] = _logp(*inputs)

    def infer_shape(self, *args):  # (fgraph, node, shapes) on PyTensor 2, (node, shapes) on 3
        return [args[-1][1]]

    def pullback(self, inputs, outputs, cotangents):
        x, t = inputs
        return [pt.zeros_like(x), BernoulliLogitGrad()(cotangents[0], x, t)]

    L_op = pullback  # PyTensor 2 differentiates through L_op, 3 through pullback


class BernoulliLogitGrad(Op):
    """(gz, x, logits) -> gz * (x - sigmoid(logits)): the log-density's gradient in the logits."""

    __props__ = ()

    def make_node(self, gz, x, logits):
        gz, x, logits = (pt.as_tensor_variable(v) for v in (gz, x, logits))
        return Apply(self, [gz, x, logits], [logits.type()])

    def perform(self, node, inputs, outputs):
        gz, x, t = inputs
        out = _sigmoid(t)
        np.subtract(x, out, out=out, casting="unsafe")
        out *= gz
        outputs[0][0] = out

    def infer_shape(self, *args):
        return [args[-1][2]]

    def pullback(self, inputs, outputs, cotangents):
        """Second order (PyMC and tests differentiate twice): d/dgz = x - sigmoid(t), d/dt = -gz s (1 - s)."""
        gz, x, t = inputs
        (c,) = cotangents
        s = pt.sigmoid(t)
        return [c * (x - s), pt.zeros_like(x), -c * gz * s * (1 - s)]

    L_op = pullback


def bernoulli_logit_logp(x, logits):
    """Symbolic elementwise log p(x | logits) of binary x, (B, ...) like logits."""
    return BernoulliLogitLogp()(x, logits)
