import numpy as np

from cvae.config import TrainConfig
from cvae.model.vae import VAE
from cvae.service.evaluation import evaluate


def test_evaluate_terms_add_up_and_iw_is_tighter(trained, mnist5k):
    test_images = mnist5k[1].images[:300]
    result = evaluate(trained.vae, test_images, iw=20, seed=0)
    assert result["n_images"] == 300
    assert np.isclose(result["neg_elbo"], result["reconstruction"] + result["kl"])
    assert result["iw_neg_log_likelihood"] < result["neg_elbo"]
    untrained = evaluate(VAE(TrainConfig()), test_images)
    assert result["neg_elbo"] < untrained["neg_elbo"] - 100


def test_knn_accuracy_is_one_for_separate_clusters_and_near_chance_for_shuffled_labels():
    from cvae.service.evaluation import knn_accuracy

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 50)
    centres = rng.uniform(-20, 20, size=(10, 2))
    z = centres[labels] + 0.1 * rng.standard_normal((500, 2))
    queries = centres[labels] + 0.1 * rng.standard_normal((500, 2))
    assert knn_accuracy(z, labels, queries, labels) == 1.0
    assert knn_accuracy(z, rng.permutation(labels), queries, labels) < 0.3
