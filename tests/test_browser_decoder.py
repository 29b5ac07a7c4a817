"""The decoder exported for the browser: read off the layers, and a NumPy interpreter of the format
(the same rules decoder.js follows) reproduces cvae's own decode."""

import json

import numpy as np
import pytest

from cvae.config import TrainConfig
from cvae.model.vae import VAE
from cvae.viz.browser_decoder import FORMAT, export_decoder

ACT = {
    "relu": lambda a: np.maximum(a, 0),
    "linear": lambda a: a,
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
    "tanh": np.tanh,
    "softplus": lambda a: np.logaddexp(0, a),
}


def _interpret(spec: dict, weights: bytes, z: np.ndarray) -> np.ndarray:
    """The format's rules, written from its docstring: (N, latent) -> (N, 28, 28)."""
    w = np.frombuffer(weights, dtype="<f4").astype(np.float64)

    def get(ref, shape):
        offset, count = ref
        assert count == int(np.prod(shape)) or shape == (-1,)
        return w[offset : offset + count].reshape(shape)

    x = z.astype(np.float64)
    for layer in spec["layers"]:
        kind = layer["type"]
        if kind == "dense":
            x = ACT[layer["activation"]](x @ get(layer["W"], (layer["in"], layer["units"])) + get(layer["b"], (-1,)))
        elif kind == "reshape":
            x = x.reshape(len(x), *layer["shape"])
        else:
            k, s, (h, wd, c), (ho, wo, o) = layer["kernel"], layer["stride"], layer["in_shape"], layer["out_shape"]
            t, left = layer["pad_top"], layer["pad_left"]
            out = np.zeros((len(x), ho, wo, o))
            if kind == "conv2d":
                kernel = get(layer["W"], (k, k, c, o))
                for i in range(ho):
                    for j in range(wo):
                        for u in range(k):
                            for v in range(k):
                                r, q = i * s + u - t, j * s + v - left
                                if 0 <= r < h and 0 <= q < wd:
                                    out[:, i, j] += x[:, r, q] @ kernel[u, v]
            else:
                kernel = get(layer["W"], (k, k, o, c))
                for i in range(h):
                    for j in range(wd):
                        for u in range(k):
                            for v in range(k):
                                r, q = i * s + u - t, j * s + v - left
                                if 0 <= r < ho and 0 <= q < wo:
                                    out[:, r, q] += x[:, i, j] @ kernel[u, v].T
            x = ACT[layer["activation"]](out + get(layer["b"], (-1,)))
    assert spec["output"] == "sigmoid"
    return ACT["sigmoid"](x)[..., 0]


@pytest.mark.parametrize("arch,latent_dim", [("keras-example", 2), ("keras-example", 8), ("pymc3-example", 2)])
def test_the_format_reproduces_cvaes_decode(arch, latent_dim):
    vae = VAE(TrainConfig(arch=arch, latent_dim=latent_dim, seed=4))
    spec, weights = export_decoder(vae)
    assert spec["format"] == FORMAT and spec["latent_dim"] == latent_dim
    json.dumps(spec)  # plain JSON for the browser
    assert len(weights) == 4 * sum(p.get_value().size for p in vae.networks.decoder.params)
    z = np.random.default_rng(0).normal(0, 1.5, (3, latent_dim)).astype(np.float32)
    np.testing.assert_allclose(_interpret(spec, weights, z), vae.decode(z), atol=1e-5)


def test_the_layer_list_is_read_off_the_network():
    spec, _ = export_decoder(VAE(TrainConfig()))
    assert [layer["type"] for layer in spec["layers"]] == [
        "dense",
        "dense",
        "reshape",
        "conv2d_transpose",
        "conv2d_transpose",
        "conv2d",
    ]
    first_transpose = spec["layers"][3]
    assert first_transpose["in_shape"] == [7, 7, 32] and first_transpose["out_shape"] == [14, 14, 32]
    assert spec["layers"][-1]["out_shape"] == [28, 28, 1]
