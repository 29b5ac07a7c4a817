"""The exported decoder ("cvae-decoder/1", see decoder_export) run in NumPy, as the browser runs it.

The web server decodes one pinned point, a sample or a grid at a time. Doing that through the
PyTensor decoder means compiling it first, and a fresh server process pays seconds for that
(PyTensor reads its whole compile cache): the first Latent page would wait for it. The same layer
list in NumPy needs no compile and is as fast for these sizes; a test holds it to the PyTensor
decoder within float32 rounding.
"""

from __future__ import annotations

import numpy as np

from cvae.model.decoder_export import DecoderExportError, export_decoder
from cvae.model.vae import VAE

__all__ = ["NumpyDecoder"]

_ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0, out=x),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "softplus": lambda x: np.logaddexp(0, x),
}


class NumpyDecoder:
    """`vae`'s decoder as NumPy (float32): z (N, latent) [, one-hot labels (N, K)] -> logits (N, 28, 28).

    Raises DecoderExportError for a decoder the export cannot describe (the caller then compiles).
    """

    def __init__(self, vae: VAE):
        self.spec, raw = export_decoder(vae)
        unknown = {layer.get("activation", "linear") for layer in self.spec["layers"]} - set(_ACTIVATIONS)
        if unknown:
            raise DecoderExportError(f"no NumPy activation {sorted(unknown)}")
        self._weights = np.frombuffer(raw, dtype="<f4")

    def _get(self, ref: list[int]) -> np.ndarray:
        return self._weights[ref[0] : ref[0] + ref[1]]

    def logits(self, z: np.ndarray, onehot: np.ndarray | None = None) -> np.ndarray:
        x = np.asarray(z, dtype=np.float32).reshape(-1, self.spec["latent_dim"])
        if self.spec["conditioning"]:
            x = np.concatenate([x, np.asarray(onehot, dtype=np.float32)], axis=1)
        n = len(x)
        for layer in self.spec["layers"]:
            kind = layer["type"]
            if kind == "reshape":
                x = x.reshape(n, *layer["shape"])
                continue
            if kind == "dense":
                x = x.reshape(n, -1) @ self._get(layer["W"]).reshape(layer["in"], layer["units"]) + self._get(
                    layer["b"]
                )
            elif kind == "conv2d":
                x = self._conv(x, layer) + self._get(layer["b"])
            elif kind == "conv2d_transpose":
                x = self._conv_transpose(x, layer) + self._get(layer["b"])
            else:  # affine: BatchNorm with its running statistics folded in
                x = x * self._get(layer["scale"]) + self._get(layer["shift"])
            x = _ACTIVATIONS[layer.get("activation", "linear")](x)
        return x.reshape(n, 28, 28)

    def _conv(self, x: np.ndarray, layer: dict) -> np.ndarray:
        """Cross-correlation (N, H, W, C) -> (N, Ho, Wo, O): one matrix multiply per kernel tap."""
        k, s, top, left = layer["kernel"], layer["stride"], layer["pad_top"], layer["pad_left"]
        (h, w, c), (ho, wo, o) = layer["in_shape"], layer["out_shape"]
        kernel = self._get(layer["W"]).reshape(k, k, c, o)
        padded = np.zeros((len(x), max((ho - 1) * s + k, top + h), max((wo - 1) * s + k, left + w), c), np.float32)
        padded[:, top : top + h, left : left + w] = x
        out = np.zeros((len(x), ho, wo, o), np.float32)
        for u in range(k):
            for v in range(k):
                out += padded[:, u : u + (ho - 1) * s + 1 : s, v : v + (wo - 1) * s + 1 : s] @ kernel[u, v]
        return out

    def _conv_transpose(self, x: np.ndarray, layer: dict) -> np.ndarray:
        """The adjoint of the matching conv2d: (N, H, W, C) -> (N, Ho, Wo, O)."""
        k, s, top, left = layer["kernel"], layer["stride"], layer["pad_top"], layer["pad_left"]
        (h, w, c), (ho, wo, o) = layer["in_shape"], layer["out_shape"]
        kernel = self._get(layer["W"]).reshape(k, k, o, c)
        out = np.zeros((len(x), max((h - 1) * s + k, top + ho), max((w - 1) * s + k, left + wo), o), np.float32)
        for u in range(k):
            for v in range(k):
                out[:, u : u + (h - 1) * s + 1 : s, v : v + (w - 1) * s + 1 : s] += x @ kernel[u, v].T
        return out[:, top : top + ho, left : left + wo]
