"""A model instance: config, networks and every fitted parameter, with compiled numpy-in/numpy-out functions.

Encode and decode are the networks alone (no PyMC). The log-densities and prior draws are read off
the model kind's PyMC model (`cvae.model.pymc_model`), so they hold for every kind; PyMC is
imported the first time one of those is asked for.
"""

from __future__ import annotations

import threading

import numpy as np
import pytensor
import pytensor.tensor as pt

from cvae.config import TrainConfig
from cvae.model.kinds import MODELS, Batch, ModelKind
from cvae.model.likelihoods import LIKELIHOODS, Likelihood
from cvae.model.priors import PRIORS, Components, Prior
from cvae.nn import FLOAT
from cvae.nn.networks import NetworkOptions, Networks, build_networks

__all__ = ["N_LABELS", "VAE", "WeightsError", "as_latents", "grid_points", "mosaic", "one_hot"]

N_LABELS = 10  # classes of every dataset here (digits, Fashion-MNIST): the one-hot size of a conditional VAE


class WeightsError(ValueError):
    """Weights that do not fit the architecture."""


class _Compiled:
    """A compiled PyTensor function behind a lock: its buffers are not thread-safe."""

    def __init__(self, inputs, outputs, *, function=None):
        self._fn = function or pytensor.function(inputs, outputs, on_unused_input="ignore")  # e.g. n for N(0, I)
        self._lock = threading.Lock()

    def __call__(self, *args, before=None):
        """`before()` runs under the same lock (e.g. reseeding a sampler's random generators)."""
        with self._lock:
            if before is not None:
                before()
            out = self._fn(*args)
        return [np.array(o, copy=True) for o in out] if isinstance(out, list) else np.array(out)


class VAE:
    """Networks, prior and likelihood parameters for `config`, plus compiled functions built lazily once.

    `labels` arguments are class indices (N,) or one-hot / soft rows (N, N_LABELS); conditional models
    need them to encode, and decode without them to the mean over all labels, E[x|z] with y uniform.
    Models that are not conditional ignore them.
    """

    def __init__(self, config: TrainConfig, networks: Networks | None = None):
        self.config = config
        options = NetworkOptions(N_LABELS if config.conditional else 0, config.batch_norm)
        self.networks = networks or build_networks(config.arch, config.latent_dim, config.seed, options)
        rng = np.random.default_rng([config.seed, 1])  # its own stream: the networks' start is unchanged
        uses_prior = self.kind.uses_prior
        self.prior_params = self.prior.parameters(config.latent_dim, config.prior_components, rng) if uses_prior else []
        self.log_sigma = (
            pytensor.shared(np.asarray(np.log(config.sigma), FLOAT), name="likelihood.log_sigma")
            if config.learn_sigma
            else None
        )
        self._compile_lock = threading.Lock()

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def kind(self) -> ModelKind:
        return MODELS[self.config.model]

    @property
    def prior(self) -> Prior:
        return PRIORS[self.config.prior]

    @property
    def likelihood(self) -> Likelihood:
        return LIKELIHOODS[self.config.likelihood]

    @property
    def conditional(self) -> bool:
        return self.networks.n_labels > 0

    @property
    def closed_form_kl(self) -> bool:
        """Whether KL(q(z|x) || p(z)) has a closed form (the N(0, I) prior); else it is Monte Carlo."""
        return self.kind.uses_prior and self.prior.closed_form_kl

    @property
    def sigma(self) -> float:
        """The Normal likelihood's pixel sd: learned (--learn-sigma) or the config's."""
        return float(np.exp(self.log_sigma.get_value())) if self.log_sigma is not None else self.config.sigma

    @property
    def sigma_graph(self):
        return pt.exp(self.log_sigma) if self.log_sigma is not None else self.config.sigma

    @property
    def params(self) -> list:
        """Everything the gradient fits: network weights, the prior's and the likelihood's parameters."""
        return self.networks.params + self.prior_params + ([self.log_sigma] if self.log_sigma is not None else [])

    def prior_components(self) -> Components | None:
        """The prior as Gaussian components (weights (K,), means (K, d), sds (K, d)), or None when the
        model kind has a prior of its own."""
        return self.prior.components(self.prior_params, self.latent_dim) if self.kind.uses_prior else None

    def weights(self) -> dict[str, np.ndarray]:
        """Dotted name -> array copy, of the parameters and of BatchNorm's running statistics."""
        return {p.name: p.get_value() for p in self.params + self.networks.state}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load weights by name; every name and shape must match the model."""
        params = {p.name: p for p in self.params + self.networks.state}
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

    def _inputs(self):
        """Symbolic images and, for a conditional model, one-hot labels."""
        return pt.tensor4("x", dtype=FLOAT), pt.matrix("y", dtype=FLOAT) if self.conditional else None

    def encode(self, images: np.ndarray, labels=None) -> tuple[np.ndarray, np.ndarray]:
        """images (N, 1, 28, 28) in [0, 1], and labels (N,) for a conditional model -> q(z|x) (or q(z|x, y))
        means and sds, each (N, latent)."""

        def build():
            x, y = self._inputs()
            mu, rho = self.networks.encode(x, y)
            return _Compiled([x, y] if self.conditional else [x], [mu, pt.softplus(rho)])

        images = _images(images)
        if not self.conditional:
            return tuple(self._compiled("_encode_fn", build)(images))
        if labels is None:
            raise ValueError("this model is conditional: encoding needs each image's label")
        return tuple(self._compiled("_encode_fn", build)(images, one_hot(labels, len(images))))

    def _decoder_fn(self, name: str, output):
        def build():
            zv, y = pt.matrix("z", dtype=FLOAT), pt.matrix("y", dtype=FLOAT) if self.conditional else None
            return _Compiled([zv, y] if self.conditional else [zv], output(self.networks.decode_logits(zv, y))[:, 0])

        return self._compiled(name, build)

    def decode_logits(self, z: np.ndarray, labels=None) -> np.ndarray:
        """z (N, latent) [, labels] -> the decoder's output before the likelihood's mean, (N, 28, 28)."""
        fn, z = self._decoder_fn("_logits_fn", lambda logits: logits), as_latents(z, self.latent_dim)
        if not self.conditional:
            return fn(z)
        if labels is None:
            raise ValueError("this model is conditional: its decoder output needs a label")
        return fn(z, one_hot(labels, len(z)))

    def decode(self, z: np.ndarray, labels=None) -> np.ndarray:
        """z (N, latent) [, labels] -> mean images E[x|z [, y]], (N, 28, 28) in [0, 1]."""
        fn, z = self._decoder_fn("_decode_fn", self.likelihood.mean), as_latents(z, self.latent_dim)
        if not self.conditional:
            return fn(z)
        if labels is None:  # y is independent of z a priori: E[x|z] = mean over y of E[x|z, y]
            return np.mean([fn(z, one_hot(k, len(z))) for k in range(N_LABELS)], axis=0)
        return fn(z, one_hot(labels, len(z)))

    def _density_fns(self):
        def build():
            from cvae.model.pymc_model import amortized_model, log_densities

            (x, y), n = self._inputs(), pt.iscalar("n")  # n: the batch size, so log p(z) needs no images
            value, log_px, log_pz = log_densities(amortized_model(self, Batch(x, y, n), training=False))
            inputs = [x, y, n, value] if self.conditional else [x, n, value]
            return _Compiled(inputs, log_px), _Compiled([n, value], log_pz)

        return self._compiled("_densities", build)

    def log_px(self, images: np.ndarray, z: np.ndarray, labels=None) -> np.ndarray:
        """log p(x|z [, y]) per image, (N,), in nats, from the model's own PyMC log-density."""
        x, z = self.prepare(images), as_latents(z, self.latent_dim)
        if not self.conditional:
            return self._density_fns()[0](x, len(x), z)
        if labels is None:
            raise ValueError("this model is conditional: log p(x|z, y) needs each image's label")
        return self._density_fns()[0](x, one_hot(labels, len(x)), len(x), z)

    def log_prior(self, z: np.ndarray) -> np.ndarray:
        """log p(z) per point, (N,), in nats, from the model's own PyMC log-density."""
        z = as_latents(z, self.latent_dim)
        return self._density_fns()[1](len(z), z)

    def kl(self, mu: np.ndarray, sd: np.ndarray, z: np.ndarray) -> np.ndarray:
        """KL(q(z|x) || p(z)) per image (N,): closed form for N(0, I), else log q(z|x) - log p(z) at the
        draws z (N, latent), a one-sample Monte Carlo estimate."""
        if self.closed_form_kl:
            return self.prior.kl(mu, sd)
        mu, sd, z = (np.asarray(a, np.float64) for a in (mu, sd, z))
        log_q = np.sum(-0.5 * ((z - mu) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi), axis=1)
        return log_q - self.log_prior(z)

    def sample_prior(self, n: int, seed: int = 0) -> np.ndarray:
        """n draws z ~ p(z), (n, latent): forward sampling of the PyMC model's own prior."""

        def build():
            import pymc as pm

            from cvae.model.pymc_model import amortized_model

            size, (x, y) = pt.iscalar("n"), self._inputs()
            z = amortized_model(self, Batch(x, y, size), training=False).z
            rngs = pm.pytensorf.find_rng_nodes([z])
            fn = _Compiled(None, None, function=pm.pytensorf.compile([size], z))
            return fn, lambda seed: lambda: pm.pytensorf.reseed_rngs(rngs, seed)

        if n < 1:
            raise ValueError(f"n must be >= 1; got {n}")
        fn, reseed = self._compiled("_prior_fn", build)
        return fn(n, before=reseed(seed)).astype(np.float32)

    def prepare(self, images: np.ndarray) -> np.ndarray:
        """The data the likelihood sees: binarised at 0.5 for Bernoulli, as is for the others."""
        return self.likelihood.prepare(_images(images))

    def decode_grid(self, n: int = 10, extent: float = 2.0, center: np.ndarray | None = None, label=None) -> np.ndarray:
        """The decoded manifold as one (n*28, n*28) mosaic (the seed's 10 x 10 over [-2, 2]^2)."""
        points = grid_points(self.latent_dim, n, extent, center)
        return mosaic(self.decode(points, None if label is None else np.full(len(points), label)), n)


def mosaic(images: np.ndarray, n: int) -> np.ndarray:
    """(n*n, 28, 28) decodes of an n x n grid, row by row -> one (n*28, n*28) image."""
    return images.reshape(n, n, 28, 28).transpose(0, 2, 1, 3).reshape(n * 28, n * 28)


def one_hot(labels, n: int) -> np.ndarray:
    """Class indices (a scalar or (n,)) or rows of label weights (n, N_LABELS) -> (n, N_LABELS) float32."""
    labels = np.asarray(labels)
    if labels.ndim == 2:
        if labels.shape != (n, N_LABELS) or not np.all(np.isfinite(labels)):
            raise ValueError(f"label weights must be finite, shape ({n}, {N_LABELS}); got {labels.shape}")
        return labels.astype(FLOAT)
    labels = np.broadcast_to(labels, (n,))
    if not np.issubdtype(labels.dtype, np.integer) or labels.min(initial=0) < 0 or labels.max(initial=0) >= N_LABELS:
        raise ValueError(f"labels must be integers in 0..{N_LABELS - 1}")
    return np.eye(N_LABELS, dtype=FLOAT)[labels]


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


def as_latents(z: np.ndarray, latent_dim: int) -> np.ndarray:
    """z as a float32 (N, latent_dim) array of finite numbers, or a clear ValueError."""
    z = np.asarray(z, dtype=FLOAT)
    if z.ndim != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"z must have shape (N, {latent_dim}); got {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("z must be finite")
    return z
