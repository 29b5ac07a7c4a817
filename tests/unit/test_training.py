"""Real PyMC fits on real MNIST digits: learning, stopping, divergence, reproducibility."""

import threading

import numpy as np
import pytest

from cvae.config import ConfigError, TrainConfig
from cvae.explore.evaluation import knn_accuracy
from cvae.training.trainer import Trainer, train


def test_short_fit_lowers_loss_and_separates_digits(trained, mnist5k):
    train_set, test_set = mnist5k
    h = trained.history
    assert trained.status == "finished" and trained.steps == 4 * 40
    assert np.all(np.isfinite(h.neg_elbo)) and np.all(np.isfinite(h.kl))
    first, last = np.mean(h.neg_elbo[:10]), np.mean(h.neg_elbo[-40:])
    assert last < first - 200, (first, last)  # 543 -> ~190 nats/image
    assert np.mean(h.kl[-40:]) > 1.0  # the posterior did not collapse onto the prior
    np.testing.assert_allclose(np.array(h.reconstruction) + np.array(h.kl), h.neg_elbo, rtol=1e-6)
    z_train, _ = trained.vae.encode(train_set.images[:2000])
    z_test, _ = trained.vae.encode(test_set.images)
    accuracy = knn_accuracy(z_train, train_set.labels[:2000], z_test, test_set.labels)
    assert accuracy > 0.25, accuracy  # chance is 0.10


def _tiny(**changes):
    return TrainConfig(**{"epochs": 1, "batch_size": 50, **changes})


def test_fit_is_reproducible(mnist5k):
    images = mnist5k[0].images[:500]
    a = train(_tiny(seed=7), images)
    b = train(_tiny(seed=7), images)
    c = train(_tiny(seed=8), images)
    assert a.history.neg_elbo == b.history.neg_elbo
    assert a.history.neg_elbo != c.history.neg_elbo
    for name, value in a.vae.weights().items():
        np.testing.assert_array_equal(value, b.vae.weights()[name])


def test_stop_event_keeps_the_model_trained_so_far(mnist5k):
    stop = threading.Event()

    def press_stop_at_5(approx, losses, i):
        if i == 5:
            stop.set()

    trainer = Trainer(_tiny(epochs=3), mnist5k[0].images[:500])
    result = trainer.fit(callbacks=[press_stop_at_5], stop_event=stop)
    assert result.status == "stopped" and result.steps in (5, 6)
    assert "stopped" in result.message
    assert all(np.all(np.isfinite(w)) for w in result.vae.weights().values())
    initial = Trainer(_tiny(epochs=3), mnist5k[0].images[:500]).vae.weights()
    assert any(not np.array_equal(initial[k], v) for k, v in result.vae.weights().items())


def test_callback_stop_iteration_follows_pymc_protocol(mnist5k):
    def stop_at_3(approx, losses, i):
        assert len(losses) == i
        if i == 3:
            raise StopIteration("enough")

    result = train(_tiny(), mnist5k[0].images[:500], callbacks=[stop_at_3])
    assert result.status == "stopped" and result.steps == 3


@pytest.mark.parametrize("poison", [np.nan, np.inf])
def test_divergence_stops_and_keeps_last_good_parameters(mnist5k, poison):
    trainer = Trainer(_tiny(epochs=2), mnist5k[0].images[:500])
    snapshots = {}

    def inject_fault(approx, losses, i):
        snapshots[i] = trainer.vae.weights()
        if i == 4:
            W = trainer.vae.networks.decoder.layers[0].W
            W.set_value(np.full_like(W.get_value(), poison))

    result = trainer.fit(callbacks=[inject_fault])
    assert result.status == "diverged"
    assert "diverged" in result.message and "learning rate" in result.message
    weights = result.vae.weights()
    assert all(np.all(np.isfinite(w)) for w in weights.values())
    assert len(result.history) == 4
    # step 4's finite loss was computed from the parameters left by step 3: those are kept
    for name, value in weights.items():
        np.testing.assert_array_equal(value, snapshots[3][name])
    z = result.vae.decode(np.zeros((1, 2), dtype="float32"))
    assert np.all(np.isfinite(z))


def test_absurd_hyperparameters_are_refused(mnist5k):
    with pytest.raises(ConfigError, match="larger than the 500"):
        Trainer(TrainConfig(batch_size=600), mnist5k[0].images[:500])
    for bad in (
        {"epochs": 0},
        {"epochs": -3},
        {"lr": 1e6},
        {"latent_dim": 0},
        {"batch_size": 0},
        {"arch": "resnet"},
        {"likelihood": "poisson"},
        {"lr": float("nan")},
        {"beta": -1.0},
    ):
        with pytest.raises(ConfigError):
            TrainConfig(**bad)


def test_progress_reports_rate_and_eta(mnist5k):
    trainer = Trainer(_tiny(epochs=2), mnist5k[0].images[:500])
    seen = []
    trainer.fit(callbacks=[lambda approx, losses, i: seen.append(trainer.history.progress(trainer.plan))])
    assert seen[-1].step == seen[-1].total_steps == 20
    assert seen[-1].images_per_s > 0 and seen[-1].epoch == 2.0
    assert seen[5].eta_s > 0


def test_collapse_is_detected_from_the_kl_term():
    from cvae.training.history import History

    collapsed, healthy = History(), History()
    for i in range(1, 101):
        collapsed.append(i, 206.0, 0.05, 1.0, i * 0.1)
        healthy.append(i, 160.0, 5.0, 1.0, i * 0.1)
    assert "Posterior collapse" in collapsed.collapse_warning()
    assert healthy.collapse_warning() is None
    assert History().collapse_warning() is None


@pytest.mark.parametrize("arch", ["keras-example", "pymc3-example"])
def test_training_step_is_float32_end_to_end(mnist5k, arch):
    """No silent float64 upcast anywhere in the compiled step PyMC's fit runs."""
    from cvae.nn.ops import ConvOp, MatMulOp

    step = Trainer(TrainConfig(arch=arch, epochs=1), mnist5k[0].images[:200]).step_function()
    nodes = step.maker.fgraph.toposort()
    wide = [(node.op, v.type) for node in nodes for v in node.outputs if getattr(v.type, "dtype", "") == "float64"]
    assert not wide
    assert sum(isinstance(node.op, (ConvOp, MatMulOp)) for node in nodes) >= 10  # the fast Ops are in the graph
    assert np.isfinite(float(step()))


def test_beta_and_the_learning_rate_are_shared_variables_of_the_compiled_step(mnist5k):
    """A KL warm-up or a learning-rate schedule sets their values between steps: no recompile."""
    trainer = Trainer(_tiny(beta=0.5, lr=2e-3), mnist5k[0].images[:500])
    assert float(trainer.beta.get_value()) == 0.5 and np.isclose(float(trainer.learning_rate.get_value()), 2e-3)
    step = trainer.step_function()
    inputs = {i.variable for i in step.maker.inputs}
    assert trainer.beta in inputs and trainer.learning_rate in inputs

    def warm_up(approx, losses, i):
        trainer.beta.set_value(np.float32(min(1.0, i / 10)))

    result = trainer.fit(callbacks=[warm_up])
    h = result.history
    assert result.status == "finished"
    # step i ran with the beta set after step i - 1, and its history row says so
    for row in (1, 5, 9):
        np.testing.assert_allclose(h.neg_elbo[row] - h.reconstruction[row], row / 10 * h.kl[row], rtol=1e-5)


def test_a_conditional_fit_feeds_each_batch_its_labels(mnist5k):
    train_set = mnist5k[0]
    trainer = Trainer(_tiny(conditional=True), train_set.images[:500], labels=train_set.labels[:500])
    rows = trainer._next_batch(3)
    trainer._feed(3)
    np.testing.assert_array_equal(trainer._labels.get_value().argmax(1), train_set.labels[:500][rows])
    with pytest.raises(ConfigError, match="labels for"):
        Trainer(_tiny(conditional=True), train_set.images[:500], labels=train_set.labels[:400])
