"""The likelihoods p(x|z) a model can use, one registry entry each, read by every layer of the project.

An entry knows its log-density in PyTensor (the compiled functions), how to declare the observed
variable in a PyMC model, which data it sees (binarised or grey), the pixel mean it shows, one
draw from it, and the words the app uses to explain it.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from cvae.model.gaussian import normal_logpdf
from cvae.registry import Registry

__all__ = ["LIKELIHOODS", "Bernoulli", "Likelihood", "Normal"]

_PIXELS = (1, 2, 3)  # axes of (B, 1, 28, 28) summed to one number per image


class Likelihood:
    """p(x|z) given the decoder's output `logits` (B, 1, 28, 28); `sigma` is the Normal's pixel sd."""

    name: str
    binarised: bool  # the data it sees: pixels > 0.5 as 1, else grey levels in [0, 1]
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

    def sample(self, mean: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
        """One draw of every pixel given its mean, as an image in [0, 1]."""
        raise NotImplementedError

    def draw_meaning(self, sigma: float) -> str:
        raise NotImplementedError


class Bernoulli(Likelihood):
    name, binarised = "bernoulli", True
    description = "binarised pixels, each on with probability sigmoid(decoder output)"
    pixel_meaning = (
        "Each pixel is the decoder's mean E[x|z]: the probability that the pixel is on "
        "under the Bernoulli likelihood (white = 1)."
    )

    def logp(self, images, logits, sigma):
        return (images * logits - pt.softplus(logits)).sum(axis=_PIXELS)

    def observe(self, logits, images, sigma) -> None:
        import pymc as pm

        pm.Bernoulli("x", logit_p=logits, observed=images)

    def sample(self, mean, sigma, rng):
        return (rng.random(mean.shape) < mean).astype(mean.dtype)

    def draw_meaning(self, sigma):
        return "every pixel on with that probability."


class Normal(Likelihood):
    name, binarised = "normal", False
    description = "grey levels, Normal around sigmoid(decoder output) with a fixed sd sigma"
    pixel_meaning = "Each pixel is the decoder's mean E[x|z]: the mean grey level of a Normal likelihood."

    def logp(self, images, logits, sigma):
        return normal_logpdf(images, pt.sigmoid(logits), sigma, xp=pt).sum(axis=_PIXELS)

    def observe(self, logits, images, sigma) -> None:
        import pymc as pm

        pm.Normal("x", mu=pt.sigmoid(logits), sigma=sigma, observed=images)

    def sample(self, mean, sigma, rng):
        return np.clip(mean + sigma * rng.standard_normal(mean.shape), 0.0, 1.0).astype(mean.dtype)

    def draw_meaning(self, sigma):
        return f"the mean plus Normal noise of sd {sigma:g}."


LIKELIHOODS: Registry[Likelihood] = Registry("likelihood")
for _likelihood in (Bernoulli(), Normal()):
    LIKELIHOODS.register(_likelihood.name, _likelihood)
