"""The priors p(z) a model can use, one registry entry each: N(0, I) and a learned Gaussian mixture.

An entry creates its parameters, declares z in a PyMC model, and gives the explorer its Gaussian
components (weights, means, sds) for sampling and for drawing on the latent map.

The mixture's weights, means and sds are point estimates fitted with the networks by the same Adam
step, not random variables with their own variational posteriors, because:
- they are global parameters, like the network weights, which are point estimates too; the model
  deliberately has no `total_size` (see `cvae.model.pymc_model`), and a posterior for global
  parameters is only balanced against the data with that N/B scaling;
- 4,000 digits pin K(2d + 1) numbers down so tightly (posterior sd ~ 1/sqrt(N)) that q would be a
  spike at the point estimate, whose sampling noise only slows the fit;
- the components are exchangeable (label switching): their posterior is multi-modal, which a
  mean-field q describes badly;
- it is the choice of the mixture-prior VAEs it follows (Dilokthanakul et al. 2016; Tomczak &
  Welling 2018, VampPrior): empirical Bayes for p(z), variational inference for z.
"""

from __future__ import annotations

import math

import numpy as np
import pytensor
import pytensor.tensor as pt

from cvae.model.gaussian import kl_from_standard_normal
from cvae.nn import FLOAT
from cvae.registry import Registry

__all__ = ["PRIORS", "GaussianMixture", "Prior", "StandardNormal"]

Components = tuple[np.ndarray, np.ndarray, np.ndarray]  # weights (K,), means (K, d), sds (K, d)


class Prior:
    """p(z) for each image's z (latent,)."""

    name: str
    description: str
    closed_form_kl: bool = False  # KL(q(z|x) || p) has a closed form (`kl`); else it is Monte Carlo

    def parameters(self, latent_dim: int, n_components: int, rng: np.random.Generator) -> list:
        """Fresh shared variables (dotted names "prior.*"), fitted as point estimates; [] if none."""
        return []

    def declare(self, name: str, params: list, shape):
        """The random variable z of `shape` (B, latent), inside a `pm.Model` context."""
        raise NotImplementedError

    def components(self, params: list, latent_dim: int) -> Components:
        """The prior as Gaussian components, numpy: weights (K,), means (K, d), sds (K, d)."""
        raise NotImplementedError

    def kl(self, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """KL(N(mu, sd^2) || p) per image, (N, latent) -> (N,), when `closed_form_kl`."""
        raise NotImplementedError(f"the {self.name} prior has no closed-form KL")


class StandardNormal(Prior):
    name, closed_form_kl = "standard-normal", True
    description = "N(0, I): the classic VAE prior"

    def declare(self, name, params, shape):
        import pymc as pm

        return pm.Normal(name, 0.0, 1.0, shape=shape)

    def components(self, params, latent_dim):
        return np.ones(1), np.zeros((1, latent_dim)), np.ones((1, latent_dim))

    def kl(self, mu, sd):
        return kl_from_standard_normal(np.asarray(mu, np.float64), np.asarray(sd, np.float64))


def _mixture_logp(value, logits, means, log_sds):
    """log sum_k w_k N(value; m_k, diag(s_k^2)): value (..., d) -> (...)."""
    v = value[..., None, :]  # (..., 1, d) against the (K, d) components
    per_dim = -0.5 * ((v - means) / pt.exp(log_sds)) ** 2 - log_sds - 0.5 * math.log(2.0 * math.pi)
    return pt.logsumexp(per_dim.sum(axis=-1) + pt.special.log_softmax(logits, axis=-1), axis=-1)


def _mixture_draw(logits, means, log_sds, size):
    """Forward draws for PyMC (prior sampling): a component per image, then its Gaussian."""
    import pymc as pm

    k = pm.Categorical.dist(logit_p=logits, size=size)
    return pm.Normal.dist(means[k], pt.exp(log_sds[k]))


class GaussianMixture(Prior):
    name = "mixture"
    description = "a learned mixture of K Gaussians (weights, means and sds fitted with the networks)"

    def parameters(self, latent_dim, n_components, rng):
        values = {  # equal weights; unit sds; means spread like N(0, I) draws, so components start apart
            "logits": np.zeros(n_components),
            "means": rng.standard_normal((n_components, latent_dim)),
            "log_sds": np.zeros((n_components, latent_dim)),
        }
        return [pytensor.shared(v.astype(FLOAT), name=f"prior.{k}") for k, v in values.items()]

    def declare(self, name, params, shape):
        import pymc as pm

        return pm.CustomDist(
            name,
            *params,
            dist=_mixture_draw,
            logp=_mixture_logp,
            ndim_supp=1,
            signature="(k),(k,d),(k,d)->(d)",
            shape=shape,
        )

    def components(self, params, latent_dim):
        logits, means, log_sds = (np.asarray(p.get_value(), np.float64) for p in params)
        weights = np.exp(logits - logits.max())
        return weights / weights.sum(), means, np.exp(log_sds)


PRIORS: Registry[Prior] = Registry("prior")
for _prior in (StandardNormal(), GaussianMixture()):
    PRIORS.register(_prior.name, _prior)
