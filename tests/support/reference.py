"""Independent NumPy implementations the PyTensor code is checked against (naive loops)."""

import numpy as np

from cvae.nn.layers import AppendLabels, BatchNorm, Conv2D, Conv2DTranspose, Dense, Flatten, Reshape, same_padding


def conv2d(x, W, stride, padding):
    """x (B, H, W, C), W (k, k, C, O): loop over output pixels."""
    k = W.shape[0]
    (top, bottom, h_out), (left, right, w_out) = (same_padding(n, k, stride, padding) for n in x.shape[1:3])
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    out = np.zeros((x.shape[0], h_out, w_out, W.shape[3]))
    for i in range(h_out):
        for j in range(w_out):
            window = xp[:, i * stride : i * stride + k, j * stride : j * stride + k, :]
            out[:, i, j, :] = np.einsum("buvc,uvco->bo", window, W)
    return out


def conv2d_transpose(y, W, out_hw, stride, padding):
    """y (B, H, W, Cin), W (k, k, Cout, Cin): scatter each input pixel times the kernel."""
    k = W.shape[0]
    (top, bottom, _), (left, right, _) = (same_padding(n, k, stride, padding) for n in out_hw)
    out = np.zeros((y.shape[0], out_hw[0] + top + bottom, out_hw[1] + left + right, W.shape[2]))
    for i in range(y.shape[1]):
        for j in range(y.shape[2]):
            out[:, i * stride : i * stride + k, j * stride : j * stride + k, :] += np.einsum(
                "bc,uvoc->buvo", y[:, i, j, :], W
            )
    return out[:, top : top + out_hw[0], left : left + out_hw[1], :]


ACT = {
    "relu": lambda a: np.maximum(a, 0),
    "linear": lambda a: a,
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
    "tanh": np.tanh,
    "softplus": lambda a: np.logaddexp(0, a),
}


def layer_forward(layer, x, W=None, *, labels=None, training=False):
    """Forward pass of `layer` in float64; `W` overrides the layer's kernel; `labels` (B, K) one-hot
    for AppendLabels; `training`: BatchNorm with the batch's statistics, else the running ones."""
    if isinstance(layer, AppendLabels):
        return np.concatenate([x, labels], axis=1)
    if isinstance(layer, BatchNorm):
        axes = tuple(range(x.ndim - 1))
        if training:
            mean, var = x.mean(axis=axes), x.var(axis=axes)
        else:
            mean, var = layer.running_mean.get_value(), layer.running_var.get_value()
        normal = (x - mean) / np.sqrt(var + layer.eps)
        return ACT[layer.activation](normal * layer.gamma.get_value() + layer.beta.get_value())
    if not isinstance(layer, (Flatten, Reshape)):
        W = layer.W.get_value().astype("float64") if W is None else W
    if isinstance(layer, Dense):
        return ACT[layer.activation](x @ W + layer.b.get_value())
    if isinstance(layer, Conv2D):
        out = conv2d(x, W, layer.stride, layer.padding)
        return ACT[layer.activation](out + layer.b.get_value())
    if isinstance(layer, Conv2DTranspose):
        out = conv2d_transpose(x, W, layer.output_shape()[:2], layer.stride, layer.padding)
        return ACT[layer.activation](out + layer.b.get_value())
    if isinstance(layer, (Flatten, Reshape)):
        return x.reshape((x.shape[0], *layer.output_shape()))
    raise TypeError(layer)


def network_forward(network, x, *, labels=None, training=False):
    for layer in network.layers:
        x = layer_forward(layer, x, labels=labels, training=training)
    return x


def softplus(a):
    return np.logaddexp(0, a)
