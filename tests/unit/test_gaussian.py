"""The Gaussian formulas, in NumPy and in PyTensor from one definition."""

import numpy as np
import pytensor.tensor as pt

from cvae.model.gaussian import kl_from_standard_normal, normal_logpdf


def test_kl_from_standard_normal_known_values():
    assert kl_from_standard_normal(np.zeros((1, 2)), np.ones((1, 2)))[0] == 0
    np.testing.assert_allclose(kl_from_standard_normal(np.array([[1.0]]), np.array([[1.0]])), [0.5])


def test_numpy_and_pytensor_agree_with_scipy():
    from scipy import stats

    rng = np.random.default_rng(0)
    x, mu, sd = rng.standard_normal(5), rng.standard_normal(5), rng.uniform(0.1, 2.0, 5)
    np.testing.assert_allclose(normal_logpdf(x, mu, sd), stats.norm.logpdf(x, mu, sd), rtol=1e-12)
    np.testing.assert_allclose(
        normal_logpdf(pt.as_tensor(x), mu, sd, xp=pt).eval(), stats.norm.logpdf(x, mu, sd), rtol=1e-6
    )
    kl = kl_from_standard_normal(pt.as_tensor(mu[None]), pt.as_tensor(sd[None]), xp=pt).eval()
    np.testing.assert_allclose(kl, kl_from_standard_normal(mu[None], sd[None]), rtol=1e-6)
