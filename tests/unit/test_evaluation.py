import numpy as np

from cvae.config import TrainConfig
from cvae.explore.evaluation import evaluate
from cvae.model.vae import VAE


def test_evaluate_terms_add_up_and_iw_is_tighter(trained, mnist5k):
    test_images = mnist5k[1].images[:300]
    result = evaluate(trained.vae, test_images, iw=20, seed=0)
    assert result["n_images"] == 300
    assert np.isclose(result["neg_elbo"], result["reconstruction"] + result["kl"])
    assert result["iw_neg_log_likelihood"] < result["neg_elbo"]
    untrained = evaluate(VAE(TrainConfig()), test_images)
    assert result["neg_elbo"] < untrained["neg_elbo"] - 100


def test_knn_accuracy_is_one_for_separate_clusters_and_near_chance_for_shuffled_labels():
    from cvae.explore.evaluation import knn_accuracy

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 50)
    centres = rng.uniform(-20, 20, size=(10, 2))
    z = centres[labels] + 0.1 * rng.standard_normal((500, 2))
    queries = centres[labels] + 0.1 * rng.standard_normal((500, 2))
    assert knn_accuracy(z, labels, queries, labels) == 1.0
    assert knn_accuracy(z, rng.permutation(labels), queries, labels) < 0.3


def test_the_mixture_priors_elbo_is_the_monte_carlo_kl_with_the_same_draws(mnist5k):
    """evaluate's -ELBO for a mixture prior: -log p(x|z) + log q(z|x) - log p(z) at the draw it made,
    recomputed here from the same random numbers with SciPy's densities."""
    from scipy import stats
    from scipy.special import logsumexp

    vae = VAE(TrainConfig(prior="mixture", prior_components=4, seed=3))
    x = mnist5k[1].images[:50]
    result = evaluate(vae, x, seed=7)
    mu, sd = vae.encode(x)
    eps = np.random.default_rng(7).standard_normal(mu.shape).astype(mu.dtype)  # evaluate's first draw
    z = mu + sd * eps
    weights, means, sds = vae.prior_components()
    log_p = logsumexp([np.log(w) + stats.norm.logpdf(z, m, s).sum(1) for w, m, s in zip(weights, means, sds)], axis=0)
    kl = stats.norm.logpdf(z, mu, sd).sum(1) - log_p
    np.testing.assert_allclose(result["kl"], kl.mean(), rtol=1e-4)
    recon = -vae.log_px(x, z)
    np.testing.assert_allclose(result["neg_elbo"], (recon + kl).mean(), rtol=1e-5)


def test_kl_per_image_is_monte_carlo_for_the_mixture_and_closed_form_for_n01(mnist5k):
    from cvae.explore.evaluation import kl_per_image

    x = mnist5k[1].images[:20]
    plain = VAE(TrainConfig(seed=1))
    mu, sd = plain.encode(x)
    np.testing.assert_array_equal(kl_per_image(mu, sd, plain), kl_per_image(mu, sd))
    # a one-component mixture at N(0, I) is N(0, I): its Monte Carlo KL averages to the closed form
    mixture = VAE(TrainConfig(prior="mixture", prior_components=1, seed=1))
    mixture.prior_params[1].set_value(np.zeros((1, 2), "float32"))
    mu, sd = mixture.encode(x)
    np.testing.assert_allclose(kl_per_image(mu, sd, mixture, draws=400), kl_per_image(mu, sd), atol=0.15)
