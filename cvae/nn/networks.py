"""Encoder and decoder networks, and the registry of architectures every layer of the project reads.

`ARCHITECTURES["keras-example"]` (alias "classroom", the default: small and fast) and
`ARCHITECTURES["pymc3-example"]` (alias "seed": the 2016 PyMC3 example's network). Both take the
options of `NetworkOptions`: a one-hot label appended to the encoder's features and to z (a
conditional VAE), and BatchNorm after every hidden layer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cvae.nn.layers import AppendLabels, BatchNorm, Conv2D, Conv2DTranspose, Dense, Flatten, Layer, Reshape
from cvae.registry import Registry

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "Network",
    "NetworkOptions",
    "Networks",
    "build_networks",
    "summary_rows",
]


@dataclass(frozen=True)
class NetworkOptions:
    """`n_labels` > 0: encoder and decoder also read a one-hot label; `batch_norm`: BatchNorm after
    every hidden layer (the layer itself then has no activation: BatchNorm applies it)."""

    n_labels: int = 0
    batch_norm: bool = False


class Network:
    """A stack of layers applied in order; `params` (trained) and `state` (BatchNorm's running
    statistics) in layer order, dotted names."""

    def __init__(self, name: str, layers: list[Layer]):
        self.name, self.layers = name, layers
        self.params = [p for layer in layers for p in layer.params]
        self.state = [s for layer in layers for s in getattr(layer, "state", ())]

    def __call__(self, x, *, labels=None, training: bool = False, updates: dict | None = None):
        """`labels` (B, n_labels) one-hot for AppendLabels; `training`/`updates` for BatchNorm."""
        for layer in self.layers:
            if isinstance(layer, AppendLabels):
                x = layer(x, labels)
            elif isinstance(layer, BatchNorm):
                x = layer(x, training=training, updates=updates)
            else:
                x = layer(x)
        return x

    @property
    def n_params(self) -> int:
        return sum(layer.n_params for layer in self.layers)


class _Stack:
    """Builds a layer list while tracking the running output shape."""

    def __init__(self, prefix: str, input_shape: tuple[int, ...], rng: np.random.Generator, options: NetworkOptions):
        self.prefix, self.shape, self.rng, self.options, self.layers = prefix, input_shape, rng, options, []

    def add(self, cls: Callable[..., Layer], label: str, *args, **kwargs) -> _Stack:
        if cls in (Flatten, Reshape, AppendLabels, BatchNorm):  # nothing random to initialise
            layer = cls(self.shape, *args, name=f"{self.prefix}.{label}", **kwargs)
        else:
            layer = cls(self.shape, *args, rng=self.rng, name=f"{self.prefix}.{label}", **kwargs)
        self.layers.append(layer)
        self.shape = layer.output_shape()
        return self

    def hidden(self, cls: Callable[..., Layer], label: str, *args, activation: str, **kwargs) -> _Stack:
        """A hidden layer; with batch norm: the layer, then BatchNorm "<label>.bn" with the activation."""
        if not self.options.batch_norm:
            return self.add(cls, label, *args, activation=activation, **kwargs)
        return self.add(cls, label, *args, activation="linear", **kwargs).add(
            BatchNorm, f"{label}.bn", activation=activation
        )

    def labels(self) -> _Stack:
        """Append the one-hot label to the (flat) features here, when the networks are conditional."""
        return self.add(AppendLabels, "labels", self.options.n_labels) if self.options.n_labels else self

    def to_latent(self, width: int, latent_dim: int) -> _Stack:
        """The encoder's head: flatten [+ label] -> hidden Dense "dense1" of `width` -> (mu, rho) "out"."""
        return (
            self.add(Flatten, "flatten")
            .labels()
            .hidden(Dense, "dense1", width, activation="relu")
            .add(Dense, "out", 2 * latent_dim)
        )

    @classmethod
    def from_latent(
        cls, latent_dim: int, width: int, shape: tuple[int, int, int], rng: np.random.Generator, options: NetworkOptions
    ) -> _Stack:
        """The decoder's stem: z [+ label] -> hidden Dense "dense1" of `width` -> hidden Dense "dense2"
        -> reshaped to the (H, W, C) `shape` its transposed convolutions start from."""
        return (
            cls("dec", (latent_dim,), rng, options)
            .labels()
            .hidden(Dense, "dense1", width, activation="relu")
            .hidden(Dense, "dense2", math.prod(shape), activation="relu")
            .add(Reshape, "reshape", shape)
        )


def _pymc3_example(latent_dim: int, rng: np.random.Generator, options: NetworkOptions) -> tuple[list, list]:
    """The 2016 PyMC3 example's network (1,680,457 + 128,199 parameters at latent 2)."""
    enc = (
        _Stack("enc", (28, 28, 1), rng, options)
        .hidden(Conv2D, "conv1", 1, 2, activation="relu")
        .hidden(Conv2D, "conv2", 64, 2, stride=2, activation="relu")
        .hidden(Conv2D, "conv3", 64, 3, activation="relu")
        .hidden(Conv2D, "conv4", 64, 3, activation="relu")
        .to_latent(128, latent_dim)
    )
    dec = (
        _Stack.from_latent(latent_dim, latent_dim, (14, 14, 64), rng, options)  # dense1 as wide as z, as in 2016
        .hidden(Conv2DTranspose, "deconv1", 64, 3, activation="relu")
        .hidden(Conv2DTranspose, "deconv2", 64, 3, activation="relu")
        .hidden(Conv2DTranspose, "deconv3", 64, 2, stride=2, padding="valid", activation="relu")
        .add(Conv2D, "out", 1, 2)
    )
    return enc.layers, dec.layers


def _keras_example(latent_dim: int, rng: np.random.Generator, options: NetworkOptions) -> tuple[list, list]:
    """A small strided network (Keras VAE example shape) that trains in seconds and clusters well."""
    enc = (
        _Stack("enc", (28, 28, 1), rng, options)
        .hidden(Conv2D, "conv1", 16, 3, stride=2, activation="relu")
        .hidden(Conv2D, "conv2", 32, 3, stride=2, activation="relu")
        .to_latent(64, latent_dim)
    )
    dec = (
        _Stack.from_latent(latent_dim, 64, (7, 7, 32), rng, options)
        .hidden(Conv2DTranspose, "deconv1", 32, 3, stride=2, activation="relu")
        .hidden(Conv2DTranspose, "deconv2", 16, 3, stride=2, activation="relu")
        .add(Conv2D, "out", 1, 3)
    )
    return enc.layers, dec.layers


@dataclass(frozen=True)
class Architecture:
    """An encoder/decoder pair: `build(latent_dim, rng, options)` -> (encoder layers, decoder layers)."""

    build: Callable[[int, np.random.Generator, NetworkOptions], tuple[list[Layer], list[Layer]]]
    description: str


ARCHITECTURES: Registry[Architecture] = Registry("architecture")
ARCHITECTURES.register(
    "keras-example",
    Architecture(
        _keras_example, "small and fast: two strided convolutions each way, shaped like the Keras VAE example"
    ),
    aliases=("classroom",),
)
ARCHITECTURES.register(
    "pymc3-example",
    Architecture(_pymc3_example, "the 2016 PyMC3 example's network: 1.8 M parameters, 64 filters at 14 x 14"),
    aliases=("seed",),
)


@dataclass
class Networks:
    encoder: Network
    decoder: Network
    latent_dim: int
    n_labels: int = 0  # > 0: both networks also read a one-hot label (B, n_labels)

    @property
    def params(self) -> list:
        return self.encoder.params + self.decoder.params

    @property
    def state(self) -> list:
        """BatchNorm's running statistics: saved with the weights, updated by training, never by the gradient."""
        return self.encoder.state + self.decoder.state

    def encode(self, images, labels=None, *, training: bool = False, updates: dict | None = None):
        """images (B, 1, 28, 28) [, one-hot labels (B, n_labels)] -> (mu, rho) each (B, latent); sd = softplus(rho)."""
        out = self.encoder(images.dimshuffle(0, 2, 3, 1), labels=labels, training=training, updates=updates)
        return out[:, : self.latent_dim], out[:, self.latent_dim :]

    def decode_logits(self, z, labels=None, *, training: bool = False, updates: dict | None = None):
        """z (B, latent) [, one-hot labels] -> decoder output (B, 1, 28, 28) before the output nonlinearity."""
        return self.decoder(z, labels=labels, training=training, updates=updates).dimshuffle(0, 3, 1, 2)


def build_networks(arch: str, latent_dim: int, seed: int, options: NetworkOptions = NetworkOptions()) -> Networks:
    """Fresh, seeded encoder and decoder for `arch` (a name or alias in ARCHITECTURES)."""
    rng = np.random.default_rng(seed)
    enc, dec = ARCHITECTURES[arch].build(latent_dim, rng, options)
    return Networks(Network("encoder", enc), Network("decoder", dec), latent_dim, options.n_labels)


def summary_rows(network: Network) -> list[dict]:
    """Keras-style table: one row per layer with its output shape and parameter count."""
    return [
        {
            "layer": f"{layer.name} ({type(layer).__name__})",
            "output_shape": (None, *layer.output_shape()),
            "params": layer.n_params,
        }
        for layer in network.layers
    ]
