"""A model instance: config, networks and weights, with compiled numpy-in/numpy-out functions."""

from __future__ import annotations

import threading

import numpy as np
import pytensor
import pytensor.tensor as pt

from cvae.config import TrainConfig
from cvae.model.likelihoods import LIKELIHOODS, Likelihood
from cvae.nn import FLOAT
from cvae.nn.networks import Networks, build_networks

__all__ = ["VAE", "WeightsError", "grid_points"]


class WeightsError(ValueError):
    """Weights that do not fit the architecture."""


class _Compiled:
    """A compiled PyTensor function behind a lock: its buffers are not thread-safe."""

    def __init__(self, inputs, outputs):
        self._fn = pytensor.function(inputs, outputs)
        self._lock = threading.Lock()

    def __call__(self, *args):
        with self._lock:
            out = self._fn(*args)
        return [np.array(o, copy=True) for o in out] if isinstance(out, list) else np.array(out)


class VAE:
    """Networks for `config` plus fast compiled encode/decode, built lazily once."""

    def __init__(self, config: TrainConfig, networks: Networks | None = None):
        self.config = config
        self.networks = networks or build_networks(config.arch, config.latent_dim, config.seed)
        self._compile_lock = threading.Lock()

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def likelihood(self) -> Likelihood:
        return LIKELIHOODS[self.config.likelihood]

    def weights(self) -> dict[str, np.ndarray]:
        """Dotted parameter name -> array copy."""
        return {p.name: p.get_value() for p in self.networks.params}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load weights by name; every name and shape must match the architecture."""
        params = {p.name: p for p in self.networks.params}
        missing, extra = sorted(set(params) - set(weights)), sorted(set(weights) - set(params))
        if missing or extra:
            raise WeightsError(
                f"weights do not match arch {self.config.arch!r}: missing {missing[:5]}, unexpected {extra[:5]}"
            )
        for name, param in params.items():
            value = np.asarray(weights[name])
            expected = param.get_value(borrow=True).shape
            if value.shape != expected:
                raise WeightsError(f"{name}: shape {value.shape}, expected {expected}")
            if not np.issubdtype(value.dtype, np.floating) or not np.all(np.isfinite(value)):
                raise WeightsError(f"{name}: weights must be finite floats")
        for name, param in params.items():
            param.set_value(np.asarray(weights[name], dtype=FLOAT))

    def _compiled(self, name: str, build):
        with self._compile_lock:
            if name not in self.__dict__:
                self.__dict__[name] = build()
        return self.__dict__[name]

    def encode(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """images (N, 1, 28, 28) in [0, 1] -> q(z|x) means and sds, each (N, latent)."""

        def build():
            x = pt.tensor4("x", dtype=FLOAT)
            mu, rho = self.networks.encode(x)
            return _Compiled([x], [mu, pt.softplus(rho)])

        return tuple(self._compiled("_encode_fn", build)(_images(images)))

    def decode(self, z: np.ndarray) -> np.ndarray:
        """z (N, latent) -> mean images E[x|z], (N, 28, 28) in [0, 1]."""

        def build():
            zv = pt.matrix("z", dtype=FLOAT)
            return _Compiled([zv], self.likelihood.mean(self.networks.decode_logits(zv))[:, 0])

        return self._compiled("_decode_fn", build)(_latents(z, self.latent_dim))

    def log_px(self, images: np.ndarray, z: np.ndarray) -> np.ndarray:
        """log p(x|z) per image, (N,), in nats."""

        def build():
            x, zv = pt.tensor4("x", dtype=FLOAT), pt.matrix("z", dtype=FLOAT)
            logits = self.networks.decode_logits(zv)
            return _Compiled([x, zv], self.likelihood.logp(x, logits, self.config.sigma))

        return self._compiled("_log_px_fn", build)(self.prepare(images), _latents(z, self.latent_dim))

    def prepare(self, images: np.ndarray) -> np.ndarray:
        """The data the likelihood sees: binarised at 0.5 for Bernoulli, as is for Normal."""
        return self.likelihood.prepare(_images(images))

    def decode_grid(self, n: int = 10, extent: float = 2.0, center: np.ndarray | None = None) -> np.ndarray:
        """The decoded manifold as one (n*28, n*28) mosaic (the seed's 10 x 10 over [-2, 2]^2)."""
        images = self.decode(grid_points(self.latent_dim, n, extent, center))  # (n*n, 28, 28)
        return images.reshape(n, n, 28, 28).transpose(0, 2, 1, 3).reshape(n * 28, n * 28)


def grid_points(latent_dim: int, n: int = 10, extent: float = 2.0, center: np.ndarray | None = None) -> np.ndarray:
    """(n*n, latent) points of an n x n grid over [-extent, extent]^2 in z1, z2, row-major
    from the top (z2 = +extent) so the mosaic reads like the latent map; other dims at `center`."""
    if n < 1 or extent <= 0:
        raise ValueError(f"need n >= 1 and extent > 0; got n={n}, extent={extent}")
    z1 = np.linspace(-extent, extent, n)
    z2 = np.linspace(extent, -extent, n)
    points = np.tile(np.zeros(latent_dim) if center is None else np.asarray(center, float), (n * n, 1))
    points[:, 0] = np.tile(z1, n)
    points[:, 1] = np.repeat(z2, n)
    return points.astype(np.float32)


def _images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, dtype=FLOAT)
    if images.ndim != 4 or images.shape[1:] != (1, 28, 28):
        raise ValueError(f"images must have shape (N, 1, 28, 28); got {images.shape}")
    return images


def _latents(z: np.ndarray, latent_dim: int) -> np.ndarray:
    z = np.asarray(z, dtype=FLOAT)
    if z.ndim != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"z must have shape (N, {latent_dim}); got {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("z must be finite")
    return z
