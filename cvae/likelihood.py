"""log p(x|z) per image for the two likelihoods, in plain PyTensor (no PyMC import)."""
from __future__ import annotations

import math

import pytensor.tensor as pt

__all__ = ["likelihood_logp"]


def likelihood_logp(images, logits, likelihood: str, sigma: float):
    """log p(x|z) per image, (B,), for decoder output `logits` (B, 1, 28, 28).

    Bernoulli on binarised pixels with p = sigmoid(logits); Normal with mean
    sigmoid(logits) and fixed sd `sigma`. Matches PyMC's own logp (tests check).
    """
    if likelihood == "bernoulli":
        per_pixel = images * logits - pt.softplus(logits)
    elif likelihood == "normal":
        per_pixel = (-0.5 * pt.sqr((images - pt.sigmoid(logits)) / sigma)
                     - math.log(sigma) - 0.5 * math.log(2 * math.pi))
    else:
        raise ValueError(f"unknown likelihood {likelihood!r}")
    return per_pixel.sum(axis=(1, 2, 3))
