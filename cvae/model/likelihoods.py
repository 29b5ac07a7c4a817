"""The likelihoods p(x|z) a model can use, one registry entry each, read by every layer of the project.

An entry knows its log-density in PyTensor, how to declare the observed variable in a PyMC model,
which data it sees (binarised or grey), the pixel mean it shows, one draw from it, and the words
the app uses to explain it. Every entry is a function of the decoder's output `logits`.
"""

from __future__ import annotations

import math

import numpy as np
import pytensor.tensor as pt

from cvae.model.bernoulli_logit import bernoulli_logit_logp
from cvae.model.gaussian import normal_logpdf
from cvae.registry import Registry

__all__ = [
    "LIKELIHOODS",
    "Bernoulli",
    "ContinuousBernoulli",
    "Likelihood",
    "Normal",
    "cb_log_norm",
    "cb_mean",
    "cb_mean_numpy",
]

_PIXELS = (1, 2, 3)  # axes of (B, 1, 28, 28) summed to one number per image
CB_SERIES_BELOW = 0.1  # |logit| below which the continuous Bernoulli's formulas switch to their Taylor series


class Likelihood:
    """p(x|z) given the decoder's output `logits` (B, 1, 28, 28); `sigma` is the Normal's pixel sd
    (a float, or the learned parameter's graph with --learn-sigma)."""

    name: str
    binarised: bool  # the data it sees: pixels > 0.5 as 1, else grey levels in [0, 1]
    has_sigma: bool = False  # whether `sigma` means anything (and --learn-sigma applies)
    description: str
    pixel_meaning: str

    def logp(self, images, logits, sigma):
        """log p(x|z) per image, (B,), in PyTensor; matches PyMC's own logp (tests check)."""
        raise NotImplementedError

    def observe(self, logits, images, sigma) -> None:
        """Declare x ~ p(x|z) as observed, inside a `pm.Model` context."""
        raise NotImplementedError

    def mean(self, logits):
        """E[x|z] per pixel, in PyTensor."""
        return pt.sigmoid(logits)

    def prepare(self, images: np.ndarray) -> np.ndarray:
        return (images > 0.5).astype(images.dtype) if self.binarised else images

    def sample(self, logits: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
        """One draw of every pixel given the decoder's logits, as an image in [0, 1]."""
        raise NotImplementedError

    def draw_meaning(self, sigma: float) -> str:
        raise NotImplementedError


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * logits))  # no overflow warning for large |logits|


def _bernoulli_draws(logits, rng=None, size=None):
    """x ~ Bernoulli(sigmoid(logits)) for PyMC's forward sampling of the observed pixels."""
    return (rng.random(size if size is not None else np.shape(logits)) < _sigmoid(logits)).astype(np.float32)


class Bernoulli(Likelihood):
    name, binarised = "bernoulli", True
    description = "binarised pixels, each on with probability sigmoid(decoder output)"
    pixel_meaning = (
        "Each pixel is the decoder's mean E[x|z]: the probability that the pixel is on "
        "under the Bernoulli likelihood (white = 1)."
    )

    def logp(self, images, logits, sigma):
        return bernoulli_logit_logp(images, logits).sum(axis=_PIXELS)

    def observe(self, logits, images, sigma) -> None:
        import pymc as pm

        # pm.Bernoulli's log-density is the same numbers (tests/unit/test_likelihoods.py) as a scalar
        # Elemwise loop, a tenth of a classroom training step; this Op uses NumPy's vector math
        pm.CustomDist("x", logits, logp=bernoulli_logit_logp, random=_bernoulli_draws, observed=images)

    def sample(self, logits, sigma, rng):
        return (rng.random(logits.shape) < _sigmoid(logits)).astype(np.float32)

    def draw_meaning(self, sigma):
        return "every pixel on with that probability."


class Normal(Likelihood):
    name, binarised, has_sigma = "normal", False, True
    description = "grey levels, Normal around sigmoid(decoder output) with sd sigma (fixed, or learned)"
    pixel_meaning = "Each pixel is the decoder's mean E[x|z]: the mean grey level of a Normal likelihood."

    def logp(self, images, logits, sigma):
        return normal_logpdf(images, pt.sigmoid(logits), sigma, xp=pt).sum(axis=_PIXELS)

    def observe(self, logits, images, sigma) -> None:
        import pymc as pm

        pm.Normal("x", mu=pt.sigmoid(logits), sigma=sigma, observed=images)

    def sample(self, logits, sigma, rng):
        return np.clip(_sigmoid(logits) + sigma * rng.standard_normal(logits.shape), 0.0, 1.0).astype(np.float32)

    def draw_meaning(self, sigma):
        return f"the mean plus Normal noise of sd {sigma:.3g}."


def cb_log_norm(logits):
    """log C(lambda) of the continuous Bernoulli, lambda = sigmoid(logits), in PyTensor.

    C = 2 artanh(1 - 2 lambda) / (1 - 2 lambda) = t / tanh(t / 2) for logit t: even in t, 2 at t = 0.
    The closed form cancels catastrophically near lambda = 0.5 (0/0 at t = 0), so below |t| = 0.1 it
    is the series log 2 + t^2/12 - 7 t^4/1440 (the next term, 31 t^6/90720, is below 1e-9 there).
    """
    a = pt.abs(logits)
    small = a < CB_SERIES_BELOW
    safe = pt.switch(small, 1.0, a)  # keeps the unused branch finite, so its gradient is not NaN
    closed = pt.log(safe) - pt.log1p(-pt.exp(-safe)) + pt.log1p(pt.exp(-safe))  # log t - log tanh(t/2)
    series = math.log(2.0) + a**2 / 12.0 - 7.0 * a**4 / 1440.0
    return pt.switch(small, series, closed)


def cb_mean_numpy(logits: np.ndarray) -> np.ndarray:
    """`cb_mean` in NumPy (float64), for decoders run without PyTensor (cvae.explore.explorer)."""
    t = np.asarray(logits, np.float64)
    small = np.abs(t) < CB_SERIES_BELOW
    safe = np.where(small, 1.0, t)
    return np.where(small, 0.5 + t / 12.0 - t**3 / 720.0, -1.0 / np.expm1(-safe) - 1.0 / safe)


def cb_mean(logits):
    """E[x] of the continuous Bernoulli: 1 / (1 - e^-t) - 1 / t, series 1/2 + t/12 - t^3/720 near 0."""
    small = pt.abs(logits) < CB_SERIES_BELOW
    safe = pt.switch(small, 1.0, logits)
    return pt.switch(small, 0.5 + logits / 12.0 - logits**3 / 720.0, -1.0 / pt.expm1(-safe) - 1.0 / safe)


def _cb_logp(value, logits):
    """Elementwise log-density of the continuous Bernoulli: the Bernoulli form plus log C."""
    return value * logits - pt.softplus(logits) + cb_log_norm(logits)


class ContinuousBernoulli(Likelihood):
    """Loaiza-Ganem & Cunningham (2019): a proper density on [0, 1] for grey levels, no binarising."""

    name, binarised = "continuous-bernoulli", False
    description = "grey levels in [0, 1] with the continuous Bernoulli density: the Bernoulli made a density"
    pixel_meaning = (
        "Each pixel is the decoder's mean E[x|z] under the continuous Bernoulli likelihood "
        "(which differs from its parameter lambda = sigmoid(decoder output) away from 0.5)."
    )

    def logp(self, images, logits, sigma):
        return _cb_logp(images, logits).sum(axis=_PIXELS)

    def observe(self, logits, images, sigma) -> None:
        import pymc as pm

        pm.CustomDist("x", logits, logp=_cb_logp, observed=images)

    def mean(self, logits):
        return cb_mean(logits)

    def sample(self, logits, sigma, rng):
        # inverse CDF: x = log(1 + u (e^t - 1)) / t, and x = u at t = 0
        u, t = rng.random(logits.shape), np.asarray(logits, np.float64)
        safe = np.where(np.abs(t) < 1e-6, 1.0, t)
        x = np.where(np.abs(t) < 1e-6, u, np.log1p(u * np.expm1(safe)) / safe)
        return np.clip(x, 0.0, 1.0).astype(np.float32)

    def draw_meaning(self, sigma):
        return "every pixel a grey level drawn from its continuous Bernoulli."


LIKELIHOODS: Registry[Likelihood] = Registry("likelihood")
for _likelihood in (Bernoulli(), Normal(), ContinuousBernoulli()):
    LIKELIHOODS.register(_likelihood.name, _likelihood)
