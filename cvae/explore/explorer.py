"""What the app asks of a model: numpy in, numpy out."""

from __future__ import annotations

import collections
import functools
import threading

import numpy as np

from cvae.model.decoder_export import DecoderExportError
from cvae.model.decoder_numpy import NumpyDecoder
from cvae.model.likelihoods import cb_mean_numpy
from cvae.model.vae import N_LABELS, VAE, as_latents, grid_points, mosaic, one_hot
from cvae.nn.networks import summary_rows

__all__ = ["Explorer"]

RECENT_DECODES, RECENT_MAX_CODES = 64, 4  # how many small decodes (of at most this many codes) are kept


class Explorer:
    """Encode, decode, sample and traverse the latent space of one trained VAE.

    `labels` (class indices (N,), one index for all, or label weights (N, 10)) condition a
    conditional model and are ignored by the others. A conditional model needs them to encode;
    without them it decodes to the mean over all ten labels and samples pixels under a random one.

    Decoding runs the exported decoder in NumPy where the export can describe it (no compile: a
    fresh server answers at once), else the VAE's compiled PyTensor decoder. The weights are read
    when the Explorer is made: make a new one for new weights.
    """

    def __init__(self, vae: VAE):
        self.vae = vae
        # the last few small decodes' logits: a pin decodes its point for the p(x|z) draw and again for the
        # map's reading of E[x|z] (two sessions may share one Explorer: under a lock)
        self._recent: collections.OrderedDict = collections.OrderedDict()
        self._recent_lock = threading.Lock()

    @functools.cached_property
    def _numpy_decoder(self) -> NumpyDecoder | None:
        try:
            return NumpyDecoder(self.vae)
        except DecoderExportError:  # a likelihood or layer of its own: the compiled decoder serves it
            return None

    def _logits(self, z: np.ndarray, labels) -> np.ndarray:
        """z (N, latent) [, labels] -> (N, 28, 28) logits."""
        decoder = self._numpy_decoder
        if decoder is None:
            return self.vae.decode_logits(z, labels)
        z = as_latents(z, self.latent_dim)
        if len(z) > RECENT_MAX_CODES:
            return decoder.logits(z, one_hot(labels, len(z)) if self.conditional else None)
        given = None if labels is None or not self.conditional else np.asarray(labels)
        key = (z.tobytes(), z.shape, z.dtype.str)
        if given is not None:
            key += (given.tobytes(), given.shape, given.dtype.str)
        with self._recent_lock:
            if (logits := self._recent.get(key)) is not None:
                self._recent.move_to_end(key)
                return logits
        logits = decoder.logits(z, one_hot(labels, len(z)) if self.conditional else None)
        logits.setflags(write=False)  # shared by the callers that asked for the same codes
        with self._recent_lock:
            self._recent[key] = logits
            while len(self._recent) > RECENT_DECODES:
                self._recent.popitem(last=False)
        return logits

    @property
    def latent_dim(self) -> int:
        return self.vae.latent_dim

    @property
    def conditional(self) -> bool:
        return self.vae.conditional

    def encode(self, images: np.ndarray, labels=None) -> tuple[np.ndarray, np.ndarray]:
        """(N, 1, 28, 28) -> means and sds of q(z|x [, y]), each (N, latent)."""
        return self.vae.encode(images, labels)

    def decode(self, z: np.ndarray, labels=None) -> np.ndarray:
        """(N, latent) -> mean images (N, 28, 28) in [0, 1]."""
        decoder = self._numpy_decoder
        if decoder is None:
            return self.vae.decode(z, labels)
        if self.conditional and labels is None:  # y is independent of z a priori: E[x|z] = mean over y
            z = as_latents(z, self.latent_dim)
            return np.mean([self.decode(z, np.full(len(z), k)) for k in range(N_LABELS)], axis=0)
        return _pixel_means(decoder.spec["output"], self._logits(z, labels))

    def decode_as_each_label(self, z: np.ndarray) -> np.ndarray:
        """One code z (latent,) decoded as every label of a conditional model: (10, 28, 28), label k
        at index k. The same z is the same style; the label sets the content."""
        if not self.conditional:
            raise ValueError("decoding as each label needs a conditional model")
        points = np.repeat(np.asarray(z, np.float32).reshape(1, -1), N_LABELS, axis=0)
        return self.decode(points, np.arange(N_LABELS))

    def infer_labels(self, images: np.ndarray) -> np.ndarray:
        """A conditional model's most likely label of each image (N,): the generative model as a classifier."""
        from cvae.explore.evaluation import label_scores

        return np.argmax(label_scores(self.vae, images), axis=1)

    def reconstruct(self, images: np.ndarray, labels=None) -> np.ndarray:
        """Decode each image's posterior mean: (N, 1, 28, 28) -> (N, 28, 28)."""
        return self.decode(self.encode(images, labels)[0], labels)

    def sample_posterior(self, images: np.ndarray, n: int, seed: int = 0, labels=None) -> np.ndarray:
        """n draws from q(z|x) per image: (N, n, latent)."""
        return self.posterior_draws(*self.encode(images, labels), n, seed)

    @staticmethod
    def posterior_draws(mu: np.ndarray, sd: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
        """n draws from each N(mu, sd^2) of q(z|x), means and sds (N, latent) already encoded: (N, n, latent)."""
        eps = np.random.default_rng(seed).standard_normal((len(mu), n, mu.shape[1]))
        return (mu[:, None, :] + sd[:, None, :] * eps).astype(mu.dtype)

    def sample_prior(self, n: int, seed: int = 0) -> np.ndarray:
        """n draws from the model's prior p(z) (N(0, I), the learned mixture, a kind's own): (n, latent)."""
        return self.vae.sample_prior(n, seed)

    def prior_components(self) -> dict[str, np.ndarray] | None:
        """The prior's Gaussian components for the map: "weights" (K,), "means" and "sds" (K, latent);
        N(0, I) is one component. None when the model kind has a prior of its own."""
        components = self.vae.prior_components()
        return None if components is None else dict(zip(("weights", "means", "sds"), components, strict=True))

    def sample_pixels(self, z: np.ndarray, seed: int = 0, labels=None) -> np.ndarray:
        """One draw from p(x|z [, y]) per point (Bernoulli pixels, Normal noise, continuous Bernoulli grey
        levels): (N, 28, 28). A conditional model without labels draws y ~ uniform first."""
        rng = np.random.default_rng(seed)
        if self.conditional and labels is None:
            labels = rng.integers(N_LABELS, size=len(np.atleast_2d(z)))
        return self.vae.likelihood.sample(self._logits(z, labels), self.vae.sigma, rng)

    def grid_points(self, n: int = 10, extent: float = 2.0, center: np.ndarray | None = None) -> np.ndarray:
        """(n*n, latent) points of an n x n grid over [-extent, extent]^2 in z1, z2 (see `grid_points`)."""
        return grid_points(self.latent_dim, n, extent, center)

    def decode_grid(
        self, n: int = 10, extent: float = 2.0, center: np.ndarray | None = None, label: int | None = None
    ) -> np.ndarray:
        """The decoded manifold as one (n*28, n*28) mosaic (the seed's 10 x 10 over [-2, 2]^2)."""
        points = grid_points(self.latent_dim, n, extent, center)
        return mosaic(self.decode(points, None if label is None else np.full(len(points), label)), n)

    def interpolate(
        self, z_a: np.ndarray, z_b: np.ndarray, steps: int = 10, label: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Straight path from z_a to z_b: points (steps, latent) and their decodes (steps, 28, 28)."""
        path = self.interpolation_path(z_a, z_b, steps)
        return path, self.decode(path, label)

    @staticmethod
    def interpolation_path(z_a: np.ndarray, z_b: np.ndarray, steps: int = 10) -> np.ndarray:
        """The points (steps, latent) of the straight path from z_a to z_b, ends included."""
        if steps < 2:
            raise ValueError(f"steps must be >= 2; got {steps}")
        t = np.linspace(0.0, 1.0, steps)[:, None]
        return ((1 - t) * np.asarray(z_a, float) + t * np.asarray(z_b, float)).astype(np.float32)

    @staticmethod
    def nearest(codes: np.ndarray, z: np.ndarray, k: int = 5) -> np.ndarray:
        """Indices of the k codes (N, d) closest to z (d,), nearest first."""
        distances = np.sum((np.asarray(codes, float) - np.asarray(z, float)[None, :]) ** 2, axis=1)
        k = min(k, len(distances))
        part = np.argpartition(distances, k - 1)[:k] if k < len(distances) else np.arange(len(distances))
        return part[np.argsort(distances[part])]

    def summary(self) -> dict[str, list[dict]]:
        """Keras-style layer tables for the encoder and the decoder."""
        nets = self.vae.networks
        return {"encoder": summary_rows(nets.encoder), "decoder": summary_rows(nets.decoder)}


def _pixel_means(output: str, logits: np.ndarray) -> np.ndarray:
    """The likelihood's E[x|z] from the decoder's logits, as the export names it (see decoder_export)."""
    t = logits.astype(np.float64)
    with np.errstate(over="ignore"):  # exp(-t) overflows to inf for t < -709: the sigmoid is then 0, as it should be
        means = 1 / (1 + np.exp(-t)) if output == "sigmoid" else cb_mean_numpy(t)
    return means.astype(np.float32)
