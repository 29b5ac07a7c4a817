"""The likelihoods: the continuous Bernoulli's normalising constant and mean (stable near lambda = 0.5),
its sampler, PyMC's log-density against each entry's own formula, and the learned sigma."""

from decimal import Decimal, localcontext

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import integrate

from cvae.model.likelihoods import LIKELIHOODS, cb_log_norm, cb_mean

LOGITS = [0.0, 1e-7, -1e-5, 1e-3, 0.05, -0.0999, 0.1, 0.1001, -0.5, 1.0, 3.0, -10.0, 30.0, 80.0]


def _reference(t: float) -> tuple[float, float]:
    """log C(lambda) and E[x] of the continuous Bernoulli from their definitions in 50-digit decimals
    (no cancellation trouble near t = 0 at that precision), lambda = sigmoid(t)."""
    if t == 0:
        return float(Decimal(2).ln()), 0.5
    with localcontext() as context:
        context.prec = 50
        lam = 1 / (1 + (-Decimal(t)).exp())
        u = 1 - 2 * lam
        artanh = ((1 + u) / (1 - u)).ln() / 2
        return float((2 * artanh / u).ln()), float(lam / (2 * lam - 1) + 1 / (2 * artanh))


def test_the_normalising_constant_and_mean_are_accurate_near_one_half_and_far_from_it():
    t = pt.vector("t", dtype="float32")
    fn = pytensor.function([t], [cb_log_norm(t), cb_mean(t), pytensor.grad(cb_log_norm(t).sum(), t)])
    log_c, mean, grad = fn(np.array(LOGITS, "float32"))
    expected = np.array([_reference(float(np.float32(v))) for v in LOGITS])
    np.testing.assert_allclose(log_c, expected[:, 0], atol=1e-6)  # float32: ~1e-7 of the values' size
    np.testing.assert_allclose(mean, expected[:, 1], atol=2e-6)
    assert np.all(np.isfinite(grad)) and abs(grad[0]) < 1e-6  # log C is even: flat at t = 0, no NaN


@pytest.mark.parametrize("t", [0.0, 0.05, -2.0, 6.0])
def test_the_density_integrates_to_one_and_has_that_mean(t):
    log_c = float(pytensor.function([], cb_log_norm(pt.as_tensor(np.float32(t))))())
    mean = float(pytensor.function([], cb_mean(pt.as_tensor(np.float32(t))))())

    def density(x):
        return np.exp(x * t - np.logaddexp(0, t) + log_c)

    assert integrate.quad(density, 0, 1)[0] == pytest.approx(1.0, abs=1e-5)
    assert integrate.quad(lambda x: x * density(x), 0, 1)[0] == pytest.approx(mean, abs=1e-5)


def test_continuous_bernoulli_draws_have_its_mean():
    cb = LIKELIHOODS["continuous-bernoulli"]
    logits = np.array([[-3.0, 0.0, 2.0]] * 40_000, "float32")
    draws = cb.sample(logits, 0.1, np.random.default_rng(0))
    assert draws.min() >= 0 and draws.max() <= 1 and draws.dtype == np.float32
    expected = pytensor.function([], cb_mean(pt.as_tensor(logits[0])))()
    np.testing.assert_allclose(draws.mean(axis=0), expected, atol=0.005)


@pytest.mark.parametrize("name", LIKELIHOODS.names())
def test_pymcs_log_density_is_each_likelihoods_own_formula(name):
    likelihood = LIKELIHOODS[name]
    rng = np.random.default_rng(1)
    x = likelihood.prepare(rng.random((3, 1, 28, 28)).astype("float32"))
    logits = rng.normal(0, 3, (3, 1, 28, 28)).astype("float32")
    sigma = pytensor.shared(np.float32(0.3))  # a graph, as a learned sigma is
    with pm.Model() as model:
        likelihood.observe(pt.as_tensor(logits), pt.as_tensor(x), sigma)
    (term,) = model.logp(vars=model.observed_RVs, sum=False)
    pymc_logp = term.eval().sum(axis=(1, 2, 3))
    own = likelihood.logp(pt.as_tensor(x), pt.as_tensor(logits), sigma).eval()
    np.testing.assert_allclose(pymc_logp, own, rtol=1e-5)


def test_only_the_normal_likelihood_has_a_sigma_to_learn():
    assert [n for n in LIKELIHOODS if LIKELIHOODS[n].has_sigma] == ["normal"]
    assert not LIKELIHOODS["continuous-bernoulli"].binarised  # grey levels, as the paper means them


def test_cb_mean_numpy_is_cb_mean():
    """The NumPy mean the server decodes with equals the PyTensor one, across the series switch."""
    import numpy as np

    from cvae.model.likelihoods import cb_mean, cb_mean_numpy

    t = np.concatenate([np.linspace(-30, 30, 601), np.linspace(-0.2, 0.2, 401), [0.0, 0.0999, 0.1001]])
    # 1e-9: at |t| = 0.1 itself the float32 threshold may pick the other (equally accurate) formula
    np.testing.assert_allclose(cb_mean_numpy(t), cb_mean(t).eval(), rtol=1e-9, atol=1e-9)
