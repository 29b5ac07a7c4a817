"""PyMC's Adam with each parameter's step as one Op: (p, g, m, v, a) -> (p', m', v') in one pass.

`adam(learning_rate)` is a drop-in for `pm.adam(learning_rate=...)` as PyMC's `obj_optimizer`:
the same updates (and the same step counter), the same float32 arithmetic, but one C loop
(`adam.c`, split over the Op threads) per parameter instead of PyTensor's scalar Elemwise loop,
which took 11.9 ms a step for the seed network's largest Dense weight (1.6M numbers).
"""

from __future__ import annotations

import ctypes
import functools
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

from cvae.nn.parallel import parallel
from cvae.nn.winograd import native_loops

__all__ = ["AdamStep", "adam"]

SOURCE = Path(__file__).with_name("adam.c")
_p, _n, _f = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_float


@functools.cache
def native():
    """The C loop of `adam.c`, or None (NumPy does the step): see `native_loops`."""
    return native_loops(SOURCE, "C Adam step", {"adam_step": [_p, _p, _p, _p, _n, _f, _f, _f, _f, _p, _p, _p]}, _agrees)


def _numpy_step(p, g, m, v, a, b1, b2, eps):
    """(p', m', v') in p's dtype, in the C loop's order: its reference, and the fallback without it."""
    a, b1, b2, eps, one = (np.asarray(c, dtype=p.dtype) for c in (a, b1, b2, eps, 1))
    c1, c2 = one - b1, one - b2  # in p's dtype, as pm.adam's graph and the C loop: 1 - 0.999 differs by 5e-5
    m2 = b1 * m + c1 * g
    v2 = b2 * v + c2 * (g * g)
    return p - a * m2 / (np.sqrt(v2) + eps), m2, v2


def _agrees(lib) -> bool:
    rng = np.random.default_rng(0)
    p, g, m = (rng.standard_normal(37, dtype=np.float32) for _ in range(3))
    v = rng.random(37, dtype=np.float32)
    out = [np.empty_like(p) for _ in range(3)]
    args = (2e-3, 0.9, 0.999, 1e-8)
    _step(lib, p, g, m, v, args, *out)
    return all(np.allclose(got, want, rtol=1e-5, atol=1e-7) for got, want in zip(out, _numpy_step(p, g, m, v, *args)))


def _step(lib, p, g, m, v, args, p_out, m_out, v_out) -> None:
    """One Adam step of the flat float32 arrays into the outputs, split over the Op threads."""
    arrays = (p, g, m, v, p_out, m_out, v_out)

    def part(lo, hi):
        ins, outs = (a[lo:hi].ctypes.data for a in arrays[:4]), (a[lo:hi].ctypes.data for a in arrays[4:])
        lib.adam_step(*ins, hi - lo, *args, *outs)

    parallel(part, p.size, 8 * p.size)


class AdamStep(Op):
    """(p, g, m, v, a) -> (p', m', v') of Adam with step size `a` (a scalar), each like p."""

    __props__ = ("beta1", "beta2", "epsilon")

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8):
        self.beta1, self.beta2, self.epsilon = float(beta1), float(beta2), float(epsilon)

    def make_node(self, p, g, m, v, a):
        p, g, m, v = (pt.as_tensor_variable(x) for x in (p, g, m, v))
        a = pt.as_tensor_variable(a).astype(p.dtype)
        return Apply(self, [p, g, m, v, a], [p.type(), m.type(), v.type()])

    def perform(self, node, inputs, outputs):
        p, g, m, v, a = inputs
        args = (float(a), self.beta1, self.beta2, self.epsilon)
        lib = native()
        if lib is None or not p.dtype == g.dtype == m.dtype == v.dtype == np.float32:
            results = _numpy_step(p, np.asarray(g, dtype=p.dtype), m, v, *args)
        else:
            flat = [np.ascontiguousarray(x).reshape(-1) for x in (p, g, m, v)]
            results = [np.empty(p.shape, dtype=np.float32) for _ in range(3)]
            _step(lib, *flat, args, *(r.reshape(-1) for r in results))
        for out, value in zip(outputs, results):
            out[0] = value

    def infer_shape(self, *args):  # (fgraph, node, shapes) on PyTensor 2, (node, shapes) on 3
        shapes = args[-1]
        return [shapes[0], shapes[2], shapes[3]]


def adam(learning_rate=1e-3, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8):
    """pm.adam's updates for PyMC's `obj_optimizer`: returns `updates(loss_or_grads, params)`."""
    from pymc.pytensorf import floatX
    from pymc.variational.updates import get_or_compute_grads

    def updates(loss_or_grads, params) -> OrderedDict:
        grads = get_or_compute_grads(loss_or_grads, params)
        t_prev = pytensor.shared(floatX(0.0))
        one = pt.constant(1)  # as pm.adam: keeps float32 from upcasting
        t = t_prev + 1
        a_t = learning_rate * pt.sqrt(one - beta2**t) / (one - beta1**t)
        step = AdamStep(beta1, beta2, epsilon)
        result = OrderedDict()
        for param, grad in zip(params, grads):
            value = param.get_value(borrow=True)
            m_prev = pytensor.shared(np.zeros(value.shape, dtype=value.dtype), shape=param.type.shape)
            v_prev = pytensor.shared(np.zeros(value.shape, dtype=value.dtype), shape=param.type.shape)
            p_new, m_new, v_new = step(param, grad, m_prev, v_prev, a_t)
            result[m_prev], result[v_prev], result[param] = m_new, v_new, p_new
        result[t_prev] = t
        return result

    return updates
