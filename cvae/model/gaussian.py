"""The two Gaussian formulas the model needs, written once for NumPy and for PyTensor (`xp`)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["LOG_2PI", "kl_from_standard_normal", "normal_logpdf"]

LOG_2PI = math.log(2.0 * math.pi)


def normal_logpdf(x, mu, sd, xp=np):
    """log N(x; mu, sd^2) elementwise; `xp` is numpy or pytensor.tensor."""
    return -0.5 * ((x - mu) / sd) ** 2 - xp.log(sd) - 0.5 * LOG_2PI


def kl_from_standard_normal(mu, sd, xp=np):
    """KL(N(mu, sd^2) || N(0, 1)) summed over the last axis: (..., latent) -> (...)."""
    return 0.5 * (mu**2 + sd**2 - 1.0 - 2.0 * xp.log(sd)).sum(axis=-1)
