"""A model's decoder as data the browser runs: the layer list as JSON and the weights as float32 bytes.

One definition drives both sides: the spec is read off the decoder's own layer objects (their
kinds, shapes, paddings and activations), never copied by hand, and `ui/latent_map/decoder.js`
interprets it. Format "cvae-decoder/1" (channels-last, offsets and counts in float32 elements
of the weight buffer, whose length is "n_floats"):

- dense: y = act(x @ W + b), W (in, units) row-major
- reshape: to (H, W, C)
- conv2d: cross-correlation, W (k, k, C, O), input zero-padded by pad_top rows and pad_left columns
- conv2d_transpose: the adjoint of that conv2d, W (k, k, O, C): input pixel (i, j) adds
  x[i, j, :] @ W[u, v].T to output (i*s + u - pad_top, j*s + v - pad_left)
- affine: y = act(x * scale + shift) per channel (last axis): BatchNorm with its running
  statistics folded in, scale = gamma / sqrt(var + eps), shift = beta - mean * scale

"conditioning" K > 0: a conditional decoder reads [z, one-hot label] (latent_dim + K numbers).
"output": "sigmoid" (Bernoulli, Normal) or "continuous-bernoulli-mean", 1/(1 - e^-t) - 1/t.
"""

from __future__ import annotations

import numpy as np

from cvae.model.vae import VAE
from cvae.nn.layers import (
    AppendLabels,
    BatchNorm,
    Conv2D,
    Conv2DTranspose,
    Dense,
    Flatten,
    Layer,
    Reshape,
    same_padding,
)

__all__ = ["FORMAT", "DecoderExportError", "export_decoder"]

FORMAT = "cvae-decoder/1"
# likelihood -> how the browser maps logits to pixel means
_OUTPUTS = {"bernoulli": "sigmoid", "normal": "sigmoid", "continuous-bernoulli": "continuous-bernoulli-mean"}


class DecoderExportError(ValueError):
    """A decoder with a layer or likelihood the browser cannot run."""


def export_decoder(vae: VAE) -> tuple[dict, bytes]:
    """(spec, weights): the decoder of `vae` for the browser, and its weights as little-endian float32."""
    likelihood = vae.config.likelihood
    if likelihood not in _OUTPUTS:
        raise DecoderExportError(f"the browser cannot decode a {likelihood!r} likelihood's pixel means")
    chunks: list[np.ndarray] = []

    def put(param) -> list[int]:
        value = param.get_value() if hasattr(param, "get_value") else param
        array = np.ascontiguousarray(value, dtype="<f4").ravel()
        offset = sum(len(c) for c in chunks)
        chunks.append(array)
        return [offset, len(array)]

    decoder = vae.networks.decoder.layers
    conditioning = decoder[0].n_labels if decoder and isinstance(decoder[0], AppendLabels) else 0
    layers = [_layer_spec(layer, put) for layer in decoder[1 if conditioning else 0 :]]
    spec = {
        "format": FORMAT,
        "latent_dim": vae.latent_dim,
        "conditioning": conditioning,
        "output": _OUTPUTS[likelihood],
        "output_shape": [28, 28, 1],
        "layers": layers,
    }
    weights = np.concatenate(chunks) if chunks else np.zeros(0, "<f4")
    spec["n_floats"] = int(weights.size)  # the browser refuses a weights buffer of another length
    return spec, weights.tobytes()


def _layer_spec(layer: Layer, put) -> dict:
    if isinstance(layer, Dense):
        return {
            "type": "dense",
            "in": layer.input_shape[0],
            "units": layer.units,
            "activation": layer.activation,
            "W": put(layer.W),
            "b": put(layer.b),
        }
    if isinstance(layer, BatchNorm):
        scale, shift = layer.folded()
        return {"type": "affine", "activation": layer.activation, "scale": put(scale), "shift": put(shift)}
    if isinstance(layer, Reshape):
        return {"type": "reshape", "shape": list(layer.target)}
    if isinstance(layer, Flatten):
        return {"type": "reshape", "shape": list(layer.output_shape())}
    if isinstance(layer, (Conv2D, Conv2DTranspose)):
        # the paddings of the forward convolution: for a transposed layer, the one reading its output
        padded_hw = layer.input_shape[:2] if isinstance(layer, Conv2D) else layer.output_shape()[:2]
        (top, _, _), (left, _, _) = (same_padding(n, layer.kernel, layer.stride, layer.padding) for n in padded_hw)
        return {
            "type": "conv2d" if isinstance(layer, Conv2D) else "conv2d_transpose",
            "kernel": layer.kernel,
            "stride": layer.stride,
            "in_shape": list(layer.input_shape),
            "out_shape": list(layer.output_shape()),
            "pad_top": top,
            "pad_left": left,
            "activation": layer.activation,
            "W": put(layer.W),
            "b": put(layer.b),
        }
    raise DecoderExportError(f"the browser has no kernel for layer {layer.name} ({type(layer).__name__})")
