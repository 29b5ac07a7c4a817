"""The PyMC objective and the compiled ELBO terms equal an independent NumPy computation, for every
built-in model: plain, conditional, mixture prior, continuous Bernoulli, learned sigma, BatchNorm."""

import numpy as np
import pymc as pm
import pytensor
import pytest
from scipy.special import logsumexp

from cvae.config import TrainConfig
from cvae.model.gaussian import kl_from_standard_normal
from cvae.model.kinds import Batch
from cvae.model.pymc_model import build_model
from cvae.model.vae import VAE, one_hot
from tests.support import reference

LOG_2PI = np.log(2 * np.pi)


def _numpy_logits(vae, z, labels=None, training=False):
    out = reference.network_forward(vae.networks.decoder, z.astype("float64"), labels=labels, training=training)
    return out.transpose(0, 3, 1, 2)


def _numpy_recon(x, logits, likelihood, sigma):
    """-log p(x|z) per image from the decoder's logits, written from the densities' definitions."""
    if likelihood == "bernoulli":
        return -np.sum(x * logits - reference.softplus(logits), axis=(1, 2, 3))
    if likelihood == "continuous-bernoulli":
        lam = 1 / (1 + np.exp(-logits))
        log_c = np.log(2 * np.arctanh(1 - 2 * lam) / (1 - 2 * lam))  # no logit here is near 0
        return -np.sum(x * np.log(lam) + (1 - x) * np.log1p(-lam) + log_c, axis=(1, 2, 3))
    mean = 1 / (1 + np.exp(-logits))
    return -np.sum(-0.5 * ((x - mean) / sigma) ** 2 - np.log(sigma) - 0.5 * LOG_2PI, axis=(1, 2, 3))


def _numpy_terms(vae, x, z, likelihood, sigma, labels=None, training=False):
    """-log p(x|z) per image through the NumPy reference networks."""
    return _numpy_recon(x, _numpy_logits(vae, z, labels, training), likelihood, sigma)


def _numpy_encode(vae, x, labels=None, training=False):
    images = x.transpose(0, 2, 3, 1).astype("float64")
    out = reference.network_forward(vae.networks.encoder, images, labels=labels, training=training)
    L = vae.latent_dim
    return out[:, :L], reference.softplus(out[:, L:])


def _numpy_log_prior(vae, z):
    """log p(z) per point: N(0, I), or the mixture from its parameters' values."""
    if vae.config.prior == "standard-normal":
        return np.sum(-0.5 * z**2 - 0.5 * LOG_2PI, axis=1)
    logits, means, log_sds = (p.get_value().astype("float64") for p in vae.prior_params)
    sds = np.exp(log_sds)
    per = np.sum(-0.5 * ((z[:, None, :] - means) / sds) ** 2 - np.log(sds) - 0.5 * LOG_2PI, axis=2)  # (N, K)
    return logsumexp(per + logits - logsumexp(logits), axis=1)


def _batch(mnist5k, likelihood, n=3):
    images = mnist5k[0].images[:n]
    return (images > 0.5).astype("float32") if likelihood == "bernoulli" else np.array(images)


def _pymc_loss(vae, x, labels, beta):
    """PyMC's KLqp loss with z at q's mean (deterministic)."""
    y = None if labels is None else pytensor.shared(one_hot(labels, len(x)))
    model = build_model(vae, Batch(pytensor.shared(x), y, len(x)), random_seed=0)
    inference = pm.variational.KLqp(model.approx, beta=beta)
    objective = inference.objective.op.apply(inference.objective.tf)
    return pytensor.function([], model.approx.set_size_and_deterministic(objective, 1, 1))()


def _spread_the_mixture(vae):
    """Move the mixture's parameters off their start so the test sees weights, means and sds used."""
    rng = np.random.default_rng(5)
    logits, means, log_sds = vae.prior_params
    logits.set_value(rng.normal(size=logits.get_value().shape).astype("float32"))
    means.set_value(rng.normal(0, 2, size=means.get_value().shape).astype("float32"))
    log_sds.set_value(rng.normal(0, 0.3, size=log_sds.get_value().shape).astype("float32"))


MODELS = {  # name -> config changes
    "plain-bernoulli": {"likelihood": "bernoulli"},
    "plain-normal": {"likelihood": "normal"},
    "conditional": {"conditional": True},
    "mixture": {"prior": "mixture", "prior_components": 4},
    "continuous-bernoulli": {"likelihood": "continuous-bernoulli"},
    "learned-sigma": {"likelihood": "normal", "learn_sigma": True},
    "batch-norm": {"batch_norm": True},
    "everything": {"conditional": True, "prior": "mixture", "batch_norm": True, "arch": "pymc3-example"},
}


def _vae(changes, seed=3):
    vae = VAE(TrainConfig(seed=seed, **changes))
    if vae.config.prior == "mixture":
        _spread_the_mixture(vae)
    if vae.log_sigma is not None:
        vae.log_sigma.set_value(np.float32(np.log(0.23)))  # not the config's 0.1: the learned value is used
    return vae


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_pymc_objective_equals_numpy_elbo(mnist5k, name, beta):
    """PyMC's KLqp loss at z = mu(x) is -log p(x|z) - beta*(log p(z) - log q(z|x)), summed over the
    batch with no hidden minibatch scaling of either term; BatchNorm in training mode (batch statistics)."""
    vae = _vae(MODELS[name])
    config = vae.config
    x = _batch(mnist5k, config.likelihood)
    labels = np.array([3, 1, 4]) if config.conditional else None
    loss = _pymc_loss(vae, x, labels, beta)

    y = None if labels is None else np.eye(10)[labels]
    mu, sd = _numpy_encode(vae, x, y, training=True)
    recon = _numpy_terms(vae, x, mu, config.likelihood, vae.sigma, y, training=True)
    log_q = np.sum(-np.log(sd) - 0.5 * LOG_2PI, axis=1)  # at z = mu
    expected = np.sum(recon + beta * (log_q - _numpy_log_prior(vae, mu)))
    assert np.isclose(loss, expected, rtol=1e-4), (loss, expected)


@pytest.mark.parametrize("name", list(MODELS))
def test_elbo_with_fixed_noise_equals_numpy(mnist5k, name):
    """The compiled terms at z = mu + sd * eps, eps fixed; the mixture's KL is the Monte Carlo
    log q(z|x) - log p(z) at those same draws, N(0, I)'s the closed form."""
    vae = _vae(MODELS[name], seed=1)
    config = vae.config
    x = _batch(mnist5k, config.likelihood, n=4)
    labels = np.array([0, 9, 2, 2]) if config.conditional else None
    eps = np.random.default_rng(0).standard_normal((4, 2))
    mu, sd = vae.encode(x, labels)
    z = mu + sd * eps
    neg_elbo = -vae.log_px(x, z, labels) + vae.kl(mu, sd, z)

    y = None if labels is None else np.eye(10)[labels]
    mu_np, sd_np = _numpy_encode(vae, x, y)
    np.testing.assert_allclose(mu, mu_np, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(sd, sd_np, rtol=1e-4, atol=1e-5)
    z_np = mu_np + sd_np * eps
    if config.prior == "mixture":
        log_q = np.sum(-0.5 * eps**2 - np.log(sd_np) - 0.5 * LOG_2PI, axis=1)
        kl_np = log_q - _numpy_log_prior(vae, z_np)
    else:
        kl_np = np.sum(0.5 * (mu_np**2 + sd_np**2 - 1) - np.log(sd_np), axis=1)
    expected = _numpy_terms(vae, x, z_np, config.likelihood, vae.sigma, y) + kl_np
    np.testing.assert_allclose(neg_elbo, expected, rtol=1e-4)


def test_model_has_no_total_size_scaling(mnist5k):
    vae = VAE(TrainConfig())
    x = _batch(mnist5k, "bernoulli", n=5)
    model = build_model(vae, Batch(pytensor.shared(x), None, 5))
    constant = model.approx.symbolic_normalizing_constant.eval()
    assert float(constant) == 1.0
    assert [v.name for v in model.model.free_RVs] == ["z"]


def test_the_closed_form_kl_is_the_plain_models(mnist5k):
    vae = VAE(TrainConfig(seed=2))
    mu, sd = vae.encode(mnist5k[0].images[:5])
    np.testing.assert_allclose(vae.kl(mu, sd, mu), kl_from_standard_normal(mu.astype(float), sd.astype(float)))


def test_the_mixture_parameters_are_point_estimates_in_the_fit(mnist5k):
    """They are shared variables Adam updates with the networks, not random variables with a q."""
    vae = VAE(TrainConfig(prior="mixture", prior_components=3))
    x = _batch(mnist5k, "bernoulli", n=4)
    model = build_model(vae, Batch(pytensor.shared(x), None, 4))
    assert [v.name for v in model.model.free_RVs] == ["z"]
    assert [p.name for p in vae.prior_params] == ["prior.logits", "prior.means", "prior.log_sds"]
    assert all(p in vae.params for p in vae.prior_params)
