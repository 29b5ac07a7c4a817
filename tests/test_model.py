"""The PyMC objective and the compiled ELBO terms equal an independent NumPy computation."""

import numpy as np
import pymc as pm
import pytensor
import pytest

from cvae.config import TrainConfig
from cvae.model.gaussian import kl_from_standard_normal
from cvae.model.pymc_model import build_model
from cvae.model.vae import VAE
from tests import reference


def _numpy_terms(vae, x, z, likelihood, sigma):
    """-log p(x|z) per image through the NumPy reference networks."""
    logits = reference.network_forward(vae.networks.decoder, z.astype("float64")).transpose(0, 3, 1, 2)
    if likelihood == "bernoulli":
        return -np.sum(x * logits - reference.softplus(logits), axis=(1, 2, 3))
    mean = 1 / (1 + np.exp(-logits))
    return -np.sum(-0.5 * ((x - mean) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi), axis=(1, 2, 3))


def _numpy_encode(vae, x):
    out = reference.network_forward(vae.networks.encoder, x.transpose(0, 2, 3, 1).astype("float64"))
    L = vae.latent_dim
    return out[:, :L], reference.softplus(out[:, L:])


def _batch(mnist5k, likelihood, n=3):
    images = mnist5k[0].images[:n]
    return (images > 0.5).astype("float32") if likelihood == "bernoulli" else np.array(images)


@pytest.mark.parametrize("likelihood", ["bernoulli", "normal"])
@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_pymc_objective_equals_numpy_elbo(mnist5k, likelihood, beta):
    """PyMC's KLqp loss at z = mu(x) is -log p(x|z) - beta*(log p(z) - log q(z|x)), summed over the
    batch with no hidden minibatch scaling of either term."""
    config = TrainConfig(likelihood=likelihood, beta=beta, seed=3)
    vae = VAE(config)
    x = _batch(mnist5k, likelihood)
    model = build_model(
        vae.networks, pytensor.shared(x), batch_size=len(x), likelihood=likelihood, sigma=config.sigma, random_seed=0
    )
    inference = pm.KLqp(model.approx, beta=beta)
    objective = inference.objective.op.apply(inference.objective.tf)
    loss = pytensor.function([], model.approx.set_size_and_deterministic(objective, 1, 1))()

    mu, sd = _numpy_encode(vae, x)
    recon = _numpy_terms(vae, x, mu, likelihood, config.sigma)
    log_prior = np.sum(-0.5 * mu**2 - 0.5 * np.log(2 * np.pi), axis=1)
    log_q = np.sum(-np.log(sd) - 0.5 * np.log(2 * np.pi), axis=1)  # at z = mu
    expected = np.sum(recon + beta * (log_q - log_prior))
    assert np.isclose(loss, expected, rtol=1e-4), (loss, expected)


@pytest.mark.parametrize("likelihood", ["bernoulli", "normal"])
def test_elbo_with_fixed_noise_equals_numpy(mnist5k, likelihood):
    vae = VAE(TrainConfig(likelihood=likelihood, seed=1))
    x = _batch(mnist5k, likelihood, n=4)
    eps = np.random.default_rng(0).standard_normal((4, 2))
    mu, sd = vae.encode(x)
    z = mu + sd * eps
    neg_elbo = -vae.log_px(x, z) + kl_from_standard_normal(mu, sd)

    mu_np, sd_np = _numpy_encode(vae, x)
    np.testing.assert_allclose(mu, mu_np, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(sd, sd_np, rtol=1e-4, atol=1e-5)
    z_np = mu_np + sd_np * eps
    kl_np = np.sum(0.5 * (mu_np**2 + sd_np**2 - 1) - np.log(sd_np), axis=1)
    expected = _numpy_terms(vae, x, z_np, likelihood, 0.1) + kl_np
    np.testing.assert_allclose(neg_elbo, expected, rtol=1e-4)


def test_model_has_no_total_size_scaling(mnist5k):
    vae = VAE(TrainConfig())
    x = _batch(mnist5k, "bernoulli", n=5)
    model = build_model(vae.networks, pytensor.shared(x), batch_size=5, likelihood="bernoulli")
    constant = model.approx.symbolic_normalizing_constant.eval()
    assert float(constant) == 1.0
    assert [v.name for v in model.model.free_RVs] == ["z"]
