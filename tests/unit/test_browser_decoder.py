"""The decoder exported for the browser: read off the layers, and a NumPy interpreter of the format
(the same rules decoder.js follows) reproduces cvae's own decode."""

import json

import numpy as np
import pytest

from cvae.config import TrainConfig
from cvae.model.decoder_export import FORMAT, export_decoder
from cvae.model.vae import VAE
from tests.support.reference import ACT


def _interpret(spec: dict, weights: bytes, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """The format's rules, written from its docstring: (N, latent) [, labels (N,)] -> (N, 28, 28)."""
    w = np.frombuffer(weights, dtype="<f4").astype(np.float64)

    def get(ref, shape):
        offset, count = ref
        assert count == int(np.prod(shape)) or shape == (-1,)
        return w[offset : offset + count].reshape(shape)

    x = z.astype(np.float64)
    if spec["conditioning"]:  # the one-hot label after z
        x = np.concatenate([x, np.eye(spec["conditioning"])[labels]], axis=1)
    for layer in spec["layers"]:
        kind = layer["type"]
        if kind == "affine":
            channels = x.shape[-1]
            scale, shift = get(layer["scale"], (channels,)), get(layer["shift"], (channels,))
            x = ACT[layer["activation"]](x * scale + shift)
        elif kind == "dense":
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
    if spec["output"] == "continuous-bernoulli-mean":  # 1/(1 - e^-t) - 1/t, as decoder.js computes it
        safe = np.where(np.abs(x) < 1e-3, 1.0, x)
        return np.where(np.abs(x) < 1e-3, 0.5 + x / 12, -1 / np.expm1(-safe) - 1 / safe)[..., 0]
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


def test_the_spec_states_the_buffer_length():
    """decoder.js refuses a weights buffer whose length differs from "n_floats" (spec and weights mixed up)."""
    spec, weights = export_decoder(VAE(TrainConfig(latent_dim=3)))
    assert spec["n_floats"] * 4 == len(weights)
    assert isinstance(spec["n_floats"], int)


@pytest.mark.parametrize(
    "changes",
    [
        {"batch_norm": True},
        {"batch_norm": True, "arch": "pymc3-example"},
        {"conditional": True},
        {"likelihood": "continuous-bernoulli"},
        {"conditional": True, "batch_norm": True, "likelihood": "continuous-bernoulli"},
    ],
)
def test_new_models_export_batch_norm_as_affine_labels_as_conditioning_and_the_cb_mean(changes):
    vae = VAE(TrainConfig(seed=4, **changes))
    rng = np.random.default_rng(3)
    for state in vae.networks.state:  # running statistics away from (0, 1), so the folding shows
        state.set_value(rng.uniform(0.5, 1.5, state.get_value().shape).astype("float32"))
    spec, weights = export_decoder(vae)
    json.dumps(spec)
    kinds = [layer["type"] for layer in spec["layers"]]
    assert ("affine" in kinds) == vae.config.batch_norm
    assert spec["conditioning"] == (10 if vae.config.conditional else 0)
    z = rng.normal(0, 1.5, (3, 2)).astype(np.float32)
    labels = np.array([0, 4, 9]) if vae.config.conditional else None
    np.testing.assert_allclose(_interpret(spec, weights, z, labels), vae.decode(z, labels), atol=1e-5)
