"""Model kinds: the registry of probabilistic models, and the one way to add your own.

A model kind is a function `build(parts, batch) -> AmortizedModel`: from the networks, prior and
likelihood of one VAE (`ModelParts`) and one batch (`Batch`) to a PyMC model over that batch, its
per-image latent z, and the encoder outputs (mu, rho) that make q(z|x) = N(mu, softplus(rho)^2).
Register it by name in `MODELS`; `TrainConfig(model=name)` (CLI `--model name`) then trains,
saves, loads, evaluates and explores it like the built-in one:

- training: `pm.variational.KLqp` on the model, with q amortized by the encoder (`cvae.model.pymc_model`);
- evaluation (ELBO, importance-weighted bound) and prior sampling read log p(x|z), log p(z) and
  forward draws of z off the PyMC model itself, so a new kind needs no formulas of its own;
- the explorer draws the prior's Gaussian components on the map when the kind `uses_prior`.

Rules: z is the model's only free random variable, named any way, real-valued (no transform),
shape (B, latent); every observed term keeps the batch as its first axis. Global parameters are
point estimates (the networks', the prior's), never random variables.

The built-in kind "vae" (every model of the Train form and the CLI flags: plain, conditional,
mixture prior, any likelihood, BatchNorm) is registered below through the same path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cvae.registry import Registry

if TYPE_CHECKING:
    from cvae.model.vae import VAE

__all__ = ["MODELS", "AmortizedModel", "Batch", "ModelKind", "ModelParts"]


@dataclass(frozen=True)
class Batch:
    """One batch as a model sees it, as PyTensor variables."""

    images: Any  # (B, 1, 28, 28), as the likelihood sees them (binarised for Bernoulli)
    labels: Any  # (B, n_labels) one-hot for a conditional model, else None
    size: Any  # B: an int when training, images.shape[0] when evaluating


@dataclass(frozen=True)
class AmortizedModel:
    """What a kind builds: the PyMC model, its latent z (B, latent), and q(z|x)'s encoder outputs."""

    model: Any  # pm.Model
    z: Any  # the free random variable
    mu: Any  # (B, latent)
    rho: Any  # (B, latent): sd = softplus(rho)


class ModelParts:
    """What a kind builds its model from: one VAE's networks, prior and likelihood.

    With `training`, BatchNorm layers normalise with batch statistics (the trainer updates their
    running statistics itself); otherwise with the running ones.
    """

    def __init__(self, vae: VAE, *, training: bool):
        self.vae, self.training = vae, training

    @property
    def latent_dim(self) -> int:
        return self.vae.latent_dim

    def encode(self, batch: Batch):
        """(mu, rho) of q(z|x [, y]), each (B, latent)."""
        return self.vae.networks.encode(batch.images, batch.labels, training=self.training)

    def decode_logits(self, z, batch: Batch):
        """The decoder's output (B, 1, 28, 28) for z [and the batch's labels]."""
        return self.vae.networks.decode_logits(z, batch.labels, training=self.training)

    def prior(self, batch: Batch, name: str = "z"):
        """Declare z ~ the configured prior, (B, latent), inside a `pm.Model` context."""
        return self.vae.prior.declare(name, self.vae.prior_params, (batch.size, self.latent_dim))

    def observe(self, z, batch: Batch) -> None:
        """Declare the batch's images ~ the configured likelihood of decoder(z [, y])."""
        self.vae.likelihood.observe(self.decode_logits(z, batch), batch.images, self.vae.sigma_graph)


@dataclass(frozen=True)
class ModelKind:
    """A registered model: its builder, one line for the UI, and whether it uses the configured
    prior (`--prior`; the explorer then draws that prior's components on the map)."""

    build: Callable[[ModelParts, Batch], AmortizedModel]
    description: str
    uses_prior: bool = True


def _vae(parts: ModelParts, batch: Batch) -> AmortizedModel:
    """z ~ the configured prior, x ~ the configured likelihood of decoder(z [, y]); q from the encoder."""
    import pymc as pm

    mu, rho = parts.encode(batch)
    with pm.Model() as model:
        z = parts.prior(batch)
        parts.observe(z, batch)
    return AmortizedModel(model, z, mu, rho)


MODELS: Registry[ModelKind] = Registry("model")
MODELS.register(
    "vae",
    ModelKind(_vae, "p(z) p(x|z [, y]) with the chosen prior and likelihood; conditional on the label if asked"),
)
