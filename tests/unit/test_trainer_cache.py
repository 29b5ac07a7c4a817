"""One compiled training step serves fit after fit: a rearmed trainer trains exactly as a new one."""

import numpy as np
import pytest

from cvae.config import TrainConfig
from cvae.training.trainer import Trainer, graph_key
from cvae.training.trainer_cache import TrainerCache

SMALL = TrainConfig(epochs=1, batch_size=100, seed=1)


def _fit(trainer) -> tuple[list, dict]:
    result = trainer.fit()
    return result.history.neg_elbo, result.vae.weights()


def test_a_rearmed_trainer_trains_exactly_like_a_new_one(mnist5k):
    images, labels = mnist5k[0].images[:500], mnist5k[0].labels[:500]
    other = SMALL.replace(seed=7, beta=0.5, lr=3e-3, epochs=2)
    expected_curve, expected_weights = _fit(Trainer(other, images, labels=labels))
    reused = Trainer(SMALL, images, labels=labels)
    _fit(reused)  # compiles, trains, changes every weight and the optimizer's state
    step = reused.compiled_step()
    reused.rearm(other, images, labels=labels)
    curve, weights = _fit(reused)
    assert reused.compiled_step() is step  # nothing recompiled
    np.testing.assert_allclose(curve, expected_curve, rtol=1e-5)
    for name, value in expected_weights.items():
        np.testing.assert_allclose(weights[name], value, rtol=1e-4, atol=1e-6, err_msg=name)
    assert reused.vae.config == other and float(reused.beta.get_value()) == 0.5


def test_only_configs_of_the_same_graph_share_a_step(mnist5k):
    trainer = Trainer(SMALL, mnist5k[0].images[:300])
    assert graph_key(SMALL) == graph_key(SMALL.replace(beta=2.0, lr=1e-2, seed=3, epochs=9))
    assert graph_key(SMALL) != graph_key(SMALL.replace(latent_dim=8))
    with pytest.raises(ValueError, match="cannot train"):
        trainer.rearm(SMALL.replace(batch_size=50), mnist5k[0].images[:300])


def test_the_cache_lends_a_kept_trainer_and_compiles_once(mnist5k, monkeypatch):
    import pytensor

    images = mnist5k[0].images[:300]
    cache = TrainerCache(size=2)
    first = cache.borrow(SMALL, images)
    first.fit()
    cache.give_back(first)
    compiled = []
    real = pytensor.function
    monkeypatch.setattr(pytensor, "function", lambda *a, **k: compiled.append(a) or real(*a, **k))
    again = cache.borrow(SMALL.replace(seed=5, beta=0.0), images)
    result = again.fit()
    assert again is first and result.status == "finished" and compiled == []  # nothing compiled: no time to assert
