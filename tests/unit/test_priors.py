"""The priors: the mixture's log-density against SciPy, its forward draws, its parameters and components."""

import numpy as np
import pymc as pm
import pytensor
import pytest
from scipy import stats

from cvae.config import ConfigError, TrainConfig
from cvae.model.priors import PRIORS


def _mixture(k=3, d=2, seed=0):
    prior = PRIORS["mixture"]
    params = prior.parameters(d, k, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    params[0].set_value(rng.normal(size=k).astype("float32"))
    params[2].set_value(rng.normal(0, 0.4, size=(k, d)).astype("float32"))
    return prior, params


def test_the_mixture_log_density_is_scipys():
    prior, params = _mixture()
    with pm.Model() as model:
        z = prior.declare("z", params, (5, 2))
    value = model.rvs_to_values[z]
    points = np.random.default_rng(2).normal(0, 2, (5, 2)).astype("float32")
    got = pytensor.function([value], model.logp(vars=[z], sum=False)[0])(points)
    weights, means, sds = prior.components(params, 2)
    expected = np.log(
        sum(w * stats.multivariate_normal(m, np.diag(s**2)).pdf(points) for w, m, s in zip(weights, means, sds))
    )
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_the_mixture_draws_follow_its_components():
    prior, params = _mixture(k=2)
    with pm.Model():
        z = prior.declare("z", params, (40_000, 2))
    draws = pm.draw(z, random_seed=0)
    weights, means, sds = prior.components(params, 2)
    np.testing.assert_allclose(draws.mean(0), weights @ means, atol=0.03)
    second = weights @ (sds**2 + means**2)
    np.testing.assert_allclose((draws**2).mean(0), second, rtol=0.03)


def test_parameters_are_named_point_estimates_and_the_standard_normal_has_none():
    _, params = _mixture(k=4, d=3)
    assert [p.name for p in params] == ["prior.logits", "prior.means", "prior.log_sds"]
    assert [p.get_value().shape for p in params] == [(4,), (4, 3), (4, 3)]
    assert PRIORS["standard-normal"].parameters(3, 4, np.random.default_rng(0)) == []
    weights, means, sds = PRIORS["standard-normal"].components([], 3)
    assert weights.tolist() == [1.0] and means.shape == sds.shape == (1, 3)


@pytest.mark.parametrize("k", [0, 51, -1])
def test_the_number_of_components_is_bounded(k):
    with pytest.raises(ConfigError, match="prior_components must be between 1 and 50"):
        TrainConfig(prior="mixture", prior_components=k)


def test_an_unknown_prior_is_refused():
    with pytest.raises(ConfigError, match="prior must be one of standard-normal, mixture; got 'vamp'"):
        TrainConfig(prior="vamp")
