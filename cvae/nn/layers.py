"""Neural-network layers as PyTensor graphs, channels-last (B, H, W, C).

Convolutions and dense products are custom Ops (`cvae.nn.ops`) on our own BLAS, far faster on a CPU than
PyTensor's generic signal convolution; ReLU and linear layers add their bias and activation inside them."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytensor
import pytensor.tensor as pt

from cvae.nn import FLOAT
from cvae.nn.conv_kernels import ConvGeometry
from cvae.nn.epilogue import FUSED
from cvae.nn.ops import ConvOp, matmul

__all__ = [
    "ACTIVATIONS",
    "AppendLabels",
    "BatchNorm",
    "Conv2D",
    "Conv2DTranspose",
    "Dense",
    "Flatten",
    "Layer",
    "Reshape",
    "conv2d",
    "conv2d_transpose",
    "same_padding",
]

ACTIVATIONS: dict[str, Callable] = {
    "linear": lambda x: x,
    "relu": lambda x: pt.maximum(x, 0),
    "sigmoid": pt.sigmoid,
    "tanh": pt.tanh,
    "softplus": pt.softplus,
}

Shape = tuple[int, ...]


def _glorot(rng: np.random.Generator, shape: Shape, fan_in: int, fan_out: int) -> np.ndarray:
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(FLOAT)


def _activation(name: str) -> Callable:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


class Layer:
    """Base: a named, shape-aware graph builder with shared parameters."""

    name: str
    input_shape: Shape
    params: list

    def output_shape(self) -> Shape:
        raise NotImplementedError

    def __call__(self, x):
        raise NotImplementedError

    @property
    def n_params(self) -> int:
        return int(sum(p.get_value(borrow=True).size for p in self.params))

    def _shared(self, suffix: str, value: np.ndarray):
        return pytensor.shared(value.astype(FLOAT), name=f"{self.name}.{suffix}")


class Dense(Layer):
    """(B, in) -> (B, units): x @ W + b."""

    def __init__(
        self, input_shape: Shape, units: int, *, activation: str = "linear", rng: np.random.Generator, name: str
    ):
        if len(input_shape) != 1:
            raise ValueError(f"{name}: Dense needs a flat input (features,); got {input_shape}")
        self.name, self.input_shape, self.units = name, tuple(input_shape), units
        self.activation = activation
        self._act = _activation(activation)
        (n_in,) = input_shape
        self.W = self._shared("W", _glorot(rng, (n_in, units), n_in, units))
        self.b = self._shared("b", np.zeros(units))
        self.params = [self.W, self.b]

    def output_shape(self) -> Shape:
        return (self.units,)

    def __call__(self, x):  # bias and activation inside the product's Op where it can apply them
        fused = self.activation in FUSED
        return matmul(x, self.W, self.b, self.activation) if fused else self._act(matmul(x, self.W) + self.b)


class Flatten(Layer):
    """(B, H, W, C) -> (B, H*W*C)."""

    def __init__(self, input_shape: Shape, *, name: str):
        self.name, self.input_shape, self.params = name, tuple(input_shape), []

    def output_shape(self) -> Shape:
        return (int(np.prod(self.input_shape)),)

    def __call__(self, x):
        return x.reshape((x.shape[0], self.output_shape()[0]))


class Reshape(Layer):
    """(B, prod(target)) -> (B, *target)."""

    def __init__(self, input_shape: Shape, target: Shape, *, name: str):
        if int(np.prod(input_shape)) != int(np.prod(target)):
            raise ValueError(f"{name}: cannot reshape {input_shape} to {target}")
        self.name, self.input_shape, self.target, self.params = name, tuple(input_shape), tuple(target), []

    def output_shape(self) -> Shape:
        return self.target

    def __call__(self, x):
        return x.reshape((x.shape[0], *self.target))


def same_padding(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int, int]:
    """(pad_before, pad_after, output_size) of a convolution along one axis (TensorFlow's rule)."""
    if padding == "valid":
        if size < kernel:
            raise ValueError(f"input size {size} is smaller than the kernel {kernel}")
        return 0, 0, (size - kernel) // stride + 1
    if padding != "same":
        raise ValueError(f"padding must be 'same' or 'valid'; got {padding!r}")
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


def _static_shape(W) -> Shape:
    shape = W.get_value(borrow=True).shape if hasattr(W, "get_value") else W.type.shape
    if any(n is None for n in shape):
        raise ValueError(f"kernel {W} needs a static shape; got {shape}")
    return tuple(int(n) for n in shape)


def _geometry(k: int, hw: tuple[int, int], stride: int, padding: str) -> ConvGeometry:
    """Shapes of a convolution reading an input of size `hw`."""
    (top, bottom, h_out), (left, right, w_out) = (same_padding(n, k, stride, padding) for n in hw)
    return ConvGeometry(k, stride, top, bottom, left, right, int(hw[0]), int(hw[1]), h_out, w_out)


def conv2d(x, W, in_hw: tuple[int, int], stride: int, padding: str):
    """Cross-correlation of x (B, H, W, C) with W (k, k, C, O) -> (B, Ho, Wo, O): one `cvae.nn.ops.ConvOp`
    (im2col times the kernel); its gradients are the transposed convolution and patches^T @ gradient."""
    k = _static_shape(W)[0]
    return ConvOp("forward", _geometry(k, in_hw, stride, padding))(x, W)


def conv2d_transpose(y, W, out_hw: tuple[int, int], stride: int, padding: str):
    """Adjoint of `conv2d`: y (B, H, W, Cin) with W (k, k, Cout, Cin) -> (B, Ho, Wo, Cout). It scatters each
    input pixel's k x k x Cout contribution back to where `conv2d` gathered it from (Dumoulin & Visin 2016,
    relationship 14), so <conv2d(x, W), y> == <x, conv2d_transpose(y, W)> exactly."""
    k = _static_shape(W)[0]
    return ConvOp("adjoint", _geometry(k, out_hw, stride, padding))(y, W)


class _Convolution(Layer):
    """What Conv2D and Conv2DTranspose share: (B, H, W, C) in, `filters` channels out, a k x k kernel."""

    def __init__(
        self,
        input_shape: Shape,
        filters: int,
        kernel: int,
        *,
        stride: int = 1,
        padding: str = "same",
        activation: str = "linear",
        rng: np.random.Generator,
        name: str,
    ):
        if len(input_shape) != 3:
            raise ValueError(f"{name}: {type(self).__name__} needs (H, W, C) input; got {input_shape}")
        if padding not in ("same", "valid"):
            raise ValueError(f"{name}: padding must be 'same' or 'valid'; got {padding!r}")
        self.name, self.input_shape = name, tuple(input_shape)
        self.filters, self.kernel, self.stride, self.padding = filters, kernel, stride, padding
        self.activation = activation
        self._act = _activation(activation)
        h, w, c = input_shape
        self._out_hw = self._output_hw(h, w)
        fan_in, fan_out = kernel * kernel * c, kernel * kernel * filters
        self.W = self._shared("W", _glorot(rng, self._kernel_shape(c), fan_in, fan_out))
        self.b = self._shared("b", np.zeros(filters))
        self.params = [self.W, self.b]

    def output_shape(self) -> Shape:
        return (*self._out_hw, self.filters)

    def _output_hw(self, h: int, w: int) -> tuple[int, int]:
        raise NotImplementedError

    def _kernel_shape(self, channels_in: int) -> Shape:
        raise NotImplementedError

    def _product(self, kind: str, x, hw: tuple[int, int]):
        """act(conv + b), with bias and activation inside the conv Op where it can apply them."""
        geom = _geometry(self.kernel, hw, self.stride, self.padding)
        if self.activation in FUSED:
            return ConvOp(kind, geom, self.activation)(x, self.W, self.b)
        return self._act(ConvOp(kind, geom)(x, self.W) + self.b)


class Conv2D(_Convolution):
    """(B, H, W, C) -> (B, Ho, Wo, filters); kernel (k, k, C, filters)."""

    def _output_hw(self, h, w):
        return tuple(same_padding(n, self.kernel, self.stride, self.padding)[2] for n in (h, w))

    def _kernel_shape(self, channels_in):
        return (self.kernel, self.kernel, channels_in, self.filters)

    def __call__(self, x):
        return self._product("forward", x, self.input_shape[:2])


class Conv2DTranspose(_Convolution):
    """(B, H, W, C) -> (B, H*s, W*s, filters) ('same') or ((H-1)*s+k, ...) ('valid');
    kernel (k, k, filters, C), the layout of the convolution it is the adjoint of."""

    def _output_hw(self, h, w):
        if self.padding == "same":
            return h * self.stride, w * self.stride
        return (h - 1) * self.stride + self.kernel, (w - 1) * self.stride + self.kernel

    def _kernel_shape(self, channels_in):
        return (self.kernel, self.kernel, self.filters, channels_in)

    def __call__(self, x):
        return self._product("adjoint", x, self._out_hw)


class BatchNorm(Layer):
    """(B, ..., C) -> same shape: per-channel normalisation, gamma * x + beta, the activation (Ioffe &
    Szegedy 2015). Training mode uses the batch's statistics and, given `updates`, adds the rules that
    move the running ones (`state`) toward them; evaluation mode (the default) uses the running ones."""

    def __init__(
        self, input_shape: Shape, *, activation: str = "linear", momentum: float = 0.9, eps: float = 1e-3, name: str
    ):
        self.name, self.input_shape, self.activation = name, tuple(input_shape), activation
        self.momentum, self.eps = momentum, eps
        self._act = _activation(activation)
        ones, zeros = np.ones(self.input_shape[-1]), np.zeros(self.input_shape[-1])  # one per channel
        self.gamma, self.beta = self._shared("gamma", ones), self._shared("beta", zeros)
        self.running_mean, self.running_var = self._shared("running_mean", zeros), self._shared("running_var", ones)
        self.params, self.state = [self.gamma, self.beta], [self.running_mean, self.running_var]

    def output_shape(self) -> Shape:
        return self.input_shape

    def __call__(self, x, *, training: bool = False, updates: dict | None = None):
        if training:
            axes = tuple(range(x.ndim - 1))  # batch and space: one mean and variance per channel
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            if updates is not None:
                n = x.shape[0].astype(FLOAT) * int(np.prod(self.input_shape[:-1]))
                unbiased, m = var * n / pt.maximum(n - 1, 1), self.momentum  # running var: unbiased, as PyTorch
                updates[self.running_mean] = (m * self.running_mean + (1 - m) * mean).astype(FLOAT)
                updates[self.running_var] = (m * self.running_var + (1 - m) * unbiased).astype(FLOAT)
        else:
            mean, var = self.running_mean, self.running_var
        return self._act((x - mean) * (self.gamma / pt.sqrt(var + self.eps)) + self.beta)

    def folded(self) -> tuple[np.ndarray, np.ndarray]:
        """Evaluation mode as one per-channel affine map x * scale + shift (before the activation)."""
        scale = self.gamma.get_value() / np.sqrt(self.running_var.get_value() + self.eps)
        return scale.astype(FLOAT), (self.beta.get_value() - self.running_mean.get_value() * scale).astype(FLOAT)


class AppendLabels(Layer):
    """(B, n) and one-hot labels (B, K) -> (B, n + K): what follows is conditioned on the label."""

    def __init__(self, input_shape: Shape, n_labels: int, *, name: str):
        if len(input_shape) != 1:
            raise ValueError(f"{name}: AppendLabels needs a flat input (features,); got {input_shape}")
        self.name, self.input_shape, self.n_labels, self.params = name, tuple(input_shape), n_labels, []

    def output_shape(self) -> Shape:
        return (self.input_shape[0] + self.n_labels,)

    def __call__(self, x, labels):
        if labels is None:
            raise ValueError(f"{self.name}: this network is conditioned on labels (one-hot, {self.n_labels})")
        return pt.concatenate([x, pt.cast(labels, x.dtype)], axis=1)
