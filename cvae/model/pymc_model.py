"""A model kind's PyMC model over one batch, its amortized mean-field approximation q(z|x), and the
graphs that training and evaluation read off it.

q(z|x [, y]) = N(mu, softplus(rho)) where (mu, rho) come from the encoder: the approximation's
parameters *are* the encoder's outputs, so fitting it with KLqp trains the encoder (autoencoding
variational Bayes) in place of PyMC 3's removed `local_rv`. Which p(z) and p(x|z) is the model
kind's business (`cvae.model.kinds`); the built-in one is N(0, I) or a learned mixture times
Bernoulli, Normal or continuous Bernoulli pixels.

No `total_size` anywhere: the network weights (and the prior's and likelihood's parameters) are
point estimates, not random variables, so the batch objective sum_b ELBO(x_b) already has the right
balance between reconstruction and KL. Minibatch scaling would multiply only the data term by N/B,
a hidden KL weight of B/N.
"""

from __future__ import annotations

from dataclasses import dataclass

import pymc as pm
import pytensor.tensor as pt
from pytensor.graph.replace import graph_replace
from pytensor.tensor.random.utils import RandomStream

from cvae.model.gaussian import LOG_2PI, kl_from_standard_normal
from cvae.model.kinds import AmortizedModel, Batch, ModelParts
from cvae.nn import FLOAT

__all__ = ["VAEModel", "amortized_model", "analytic_kl", "build_model", "log_densities", "training_side_graphs"]


@dataclass
class VAEModel:
    model: pm.Model
    approx: pm.MeanField
    mu: pt.TensorVariable  # (B, latent) encoder means for the batch
    rho: pt.TensorVariable  # (B, latent) encoder pre-softplus spreads
    z: pt.TensorVariable  # the model's latent random variable (B, latent)


def analytic_kl(mu, rho):
    """KL(q(z|x) || N(0, I)) per image, (B,), in closed form."""
    return kl_from_standard_normal(mu, pt.softplus(rho), xp=pt)


def amortized_model(vae, batch: Batch, *, training: bool) -> AmortizedModel:
    """The model kind's PyMC model over `batch`, checked against the kinds' rules."""
    built = vae.kind.build(ModelParts(vae, training=training), batch)
    free = built.model.free_RVs
    if len(free) != 1 or free[0] is not built.z:
        raise ValueError(f"model {vae.config.model!r}: z must be its only free random variable; it has {free}")
    if built.model.rvs_to_transforms.get(built.z) is not None:
        raise ValueError(f"model {vae.config.model!r}: z must be real-valued, with no transform")
    if built.z.ndim != 2:
        raise ValueError(f"model {vae.config.model!r}: z must have shape (B, latent); it has {built.z.ndim} axes")
    return built


def build_model(vae, batch: Batch, *, random_seed: int | None = None) -> VAEModel:
    """The training-mode model over `batch` and its amortized q(z|x): what `pm.variational.KLqp` fits."""
    built = amortized_model(vae, batch, training=True)
    approx = pm.MeanField(
        params={"mu": built.mu.flatten(), "rho": built.rho.flatten()}, model=built.model, random_seed=random_seed
    )
    return VAEModel(built.model, approx, built.mu, built.rho, built.z)


def _per_image(terms: list) -> pt.TensorVariable:
    total = 0.0
    for term in terms:
        if term.ndim == 0:
            raise ValueError("every term of the model's log-density must keep the batch as its first axis")
        total = total + term.sum(axis=tuple(range(1, term.ndim)))
    return total


def log_densities(built: AmortizedModel) -> tuple[pt.TensorVariable, pt.TensorVariable, pt.TensorVariable]:
    """(z, log p(x|z), log p(z)): the model's value variable for z and, as graphs of it, the data
    term (observed variables and potentials, what KLqp weighs by 1) and the prior term (weighed by
    beta), each per image (B,)."""
    model = built.model
    value = model.rvs_to_values[built.z]
    data = model.logp(vars=model.observed_RVs + model.potentials, sum=False)
    return value, _per_image(data), _per_image(model.logp(vars=[built.z], sum=False))


def training_side_graphs(vae, fitted: VAEModel, batch: Batch, *, seed: int) -> tuple[pt.TensorVariable, dict]:
    """What the training step computes beside PyMC's loss: the batch's KL(q(z|x) || p(z)) per image
    (closed form for N(0, I), else one Monte Carlo draw), and the BatchNorm running-statistic updates.

    Both use their own draw z ~ q(z|x) of the batch: PyMC's draw lives inside its objective's graph.
    The running statistics are averages over the batch and that draw, which is all they estimate.
    """
    sd = pt.softplus(fitted.rho)
    z = fitted.mu + sd * RandomStream(seed).normal(0.0, 1.0, size=fitted.mu.shape, dtype=FLOAT)
    if vae.closed_form_kl:
        kl = analytic_kl(fitted.mu, fitted.rho)
    else:
        value, _, log_pz = log_densities(AmortizedModel(fitted.model, fitted.z, fitted.mu, fitted.rho))
        log_q = (-0.5 * ((z - fitted.mu) / sd) ** 2 - pt.log(sd) - 0.5 * LOG_2PI).sum(axis=1)
        kl = log_q - graph_replace(log_pz, {value: z}, strict=False)
    updates: dict = {}
    if vae.networks.state:
        vae.networks.encode(batch.images, batch.labels, training=True, updates=updates)
        vae.networks.decode_logits(z, batch.labels, training=True, updates=updates)
    return kl, updates
