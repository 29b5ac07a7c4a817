"""The VAE as a PyMC model, and its amortized mean-field approximation q(z|x).

p(z) = N(0, I) per image, p(x|z) = Bernoulli(sigmoid(decoder(z))) or
Normal(sigmoid(decoder(z)), sigma). q(z|x) = N(mu(x), softplus(rho(x))) where
(mu, rho) come from the encoder: the approximation's parameters *are* the
encoder's outputs, so fitting it with KLqp trains the encoder (autoencoding
variational Bayes) in place of PyMC 3's removed `local_rv`.

No `total_size` anywhere: the network weights are point estimates, not random
variables, so the batch objective sum_b ELBO(x_b) already has the right balance
between reconstruction and KL. Minibatch scaling would multiply only the data
term by N/B, a hidden KL weight of B/N.
"""

from __future__ import annotations

from dataclasses import dataclass

import pymc as pm
import pytensor.tensor as pt

from cvae.model.gaussian import kl_from_standard_normal
from cvae.model.likelihoods import LIKELIHOODS
from cvae.nn.networks import Networks

__all__ = ["VAEModel", "analytic_kl", "build_model"]


@dataclass
class VAEModel:
    model: pm.Model
    approx: pm.MeanField
    mu: pt.TensorVariable  # (B, latent) encoder means for the batch
    rho: pt.TensorVariable  # (B, latent) encoder pre-softplus spreads


def analytic_kl(mu, rho):
    """KL(q(z|x) || N(0, I)) per image, (B,), in closed form."""
    return kl_from_standard_normal(mu, pt.softplus(rho), xp=pt)


def build_model(
    networks: Networks, images, *, batch_size: int, likelihood: str, sigma: float = 0.1, random_seed: int | None = None
) -> VAEModel:
    """PyMC model over one batch `images` (B, 1, 28, 28) and its amortized q(z|x)."""
    mu, rho = networks.encode(images)
    with pm.Model() as model:
        z = pm.Normal("z", 0.0, 1.0, shape=(batch_size, networks.latent_dim))
        LIKELIHOODS[likelihood].observe(networks.decode_logits(z), images, sigma)
    approx = pm.MeanField(params={"mu": mu.flatten(), "rho": rho.flatten()}, model=model, random_seed=random_seed)
    return VAEModel(model, approx, mu, rho)
