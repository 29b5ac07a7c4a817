"""Live values in a step's text: `{{kl}}` becomes this model's KL of the step's digit, and so on.

A teacher writes `$\\textcolor{#0077BB}{\\mu_1 = {{mu1}}}$`: the symbol and its live value share one colour.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["LIVE_NAMES", "fill", "live_values", "unknown_names"]

LIVE_NAMES = {
    "digit": "the index of the step's test digit",
    "label": "its true label",
    "mu1": "its q(z|x) mean, dimension 1",
    "mu2": "its q(z|x) mean, dimension 2",
    "sd1": "its q(z|x) sd, dimension 1",
    "sd2": "its q(z|x) sd, dimension 2",
    "kl": "its KL(q(z|x) || p(z)) in nats",
    "latent_dim": "the model's number of latent dimensions",
    "model": "the model's name",
}
_PATTERN = re.compile(r"\{\{\s*([a-z_0-9]+)\s*\}\}")


def unknown_names(text: str) -> list[str]:
    return [name for name in _PATTERN.findall(text) if name not in LIVE_NAMES]


def live_values(model, digit: int) -> dict[str, str]:
    """The values for `model` (a LiveModel) and the test digit `digit`, formatted for text."""
    mu, sd = np.asarray(model.mu[digit], float), np.asarray(model.sd[digit], float)
    second = 1 if model.latent_dim > 1 else 0
    return {
        "digit": str(digit),
        "label": str(int(model.labels[digit])),
        "mu1": f"{mu[0]:.2f}",
        "mu2": f"{mu[second]:.2f}",
        "sd1": f"{sd[0]:.3f}",
        "sd2": f"{sd[second]:.3f}",
        "kl": f"{float(model.kl[digit]):.2f}",
        "latent_dim": str(model.latent_dim),
        "model": model.name,
    }


def fill(text: str, values: dict[str, str]) -> str:
    return _PATTERN.sub(lambda m: values.get(m.group(1), m.group(0)), text)
