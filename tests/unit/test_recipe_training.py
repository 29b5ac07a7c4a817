"""The recipe inside real PyMC fits: what each step is fed and uses, validation, early stopping, replay."""

import numpy as np
import pytest

from cvae.config import TrainConfig
from cvae.data.splits import validation_split
from cvae.training import recipe
from cvae.training.trainer import Trainer, graph_key

SMALL = TrainConfig(epochs=3, batch_size=100, seed=1, lr=3e-3)  # batch 100: the warm default graph
RECIPE = {"val_fraction": 0.2, "augment_shift": 1, "kl_warmup_epochs": 2, "lr_schedule": "cosine", "patience": 2}


class _Watch:
    """A PyMC-protocol callback noting, after step i, the beta, learning rate and batch that step i + 1 gets."""

    def __init__(self, trainer):
        self.trainer, self.beta, self.lr, self.batches = trainer, [], [], []

    def __call__(self, approx, losses, i):
        self.beta.append(float(self.trainer.beta.get_value()))
        self.lr.append(float(self.trainer.learning_rate.get_value()))
        self.batches.append(self.trainer._batch.get_value().copy())


def test_a_default_config_trains_as_before_all_rows_no_shift_constant_beta_and_lr(mnist5k):
    images = mnist5k[0].images[:300]
    trainer = Trainer(SMALL, images)
    watch = _Watch(trainer)
    first = trainer._batch.get_value().copy()
    result = trainer.fit([watch])
    assert result.status == "finished" and len(trainer.data) == 300 and len(trainer.validation[0]) == 0
    assert set(watch.beta) == {1.0} and watch.lr == pytest.approx([3e-3] * 9)
    order = np.random.default_rng(SMALL.seed)  # the batches: the seed's permutation every epoch, as prepared
    expected = []
    for _ in range(SMALL.epochs):
        perm = order.permutation(300)
        expected += [trainer.data[perm[k * 100 : (k + 1) * 100]] for k in range(3)]
    fed = [first, *watch.batches[:-1]]
    assert len(fed) == len(expected) == 9
    for got, want in zip(fed, expected):
        np.testing.assert_array_equal(got, want)
    assert result.history.val_step == [] and "val_step" not in result.history.to_dict()


def test_each_step_uses_the_warm_up_beta_and_the_cosine_learning_rate(mnist5k):
    config = SMALL.replace(epochs=4, kl_warmup_epochs=2, lr_schedule="cosine", beta=1.0)
    trainer = Trainer(config, mnist5k[0].images[:300])
    watch = _Watch(trainer)
    result = trainer.fit([watch])
    spe, total = trainer.steps_per_epoch, trainer.total_steps
    used = [recipe.beta_at(config, 0, spe), *watch.beta[:-1]]  # the beta of steps 0..total-1
    assert used == pytest.approx([min(1.0, s / (2 * spe)) for s in range(total)], abs=1e-6)
    lrs = [recipe.lr_at(config, 0, total), *watch.lr[:-1]]
    assert lrs == pytest.approx([recipe.lr_at(config, s, total) for s in range(total)], rel=1e-5)
    h = result.history  # reconstruction = -ELBO - beta * KL with the beta the step used
    kl, gap = np.array(h.kl), np.array(h.neg_elbo) - np.array(h.reconstruction)
    np.testing.assert_allclose(gap, np.array(used) * kl, rtol=1e-4, atol=1e-6)


def test_shifted_batches_are_the_same_for_the_same_seed_and_differ_from_the_rows(mnist5k):
    images = mnist5k[0].images[:300]
    config = SMALL.replace(epochs=1, augment_shift=2)
    curves, firsts = [], []
    for _ in range(2):
        trainer = Trainer(config, images)
        firsts.append(trainer._batch.get_value().copy())
        curves.append(trainer.fit().history.neg_elbo)
    np.testing.assert_array_equal(firsts[0], firsts[1])
    np.testing.assert_allclose(curves[0], curves[1], rtol=1e-6)
    plain = Trainer(config.replace(augment_shift=0), images)._batch.get_value()
    assert firsts[0].shape == plain.shape and firsts[0].dtype == plain.dtype
    assert not np.array_equal(firsts[0], plain)


def test_the_validation_rows_are_held_out_of_the_training_split_and_scored_every_epoch(mnist5k):
    from cvae.training.run import TrainingRun

    config = TrainConfig(epochs=1, val_fraction=0.1)
    run = TrainingRun.prepare(config)
    train_set, test_set = mnist5k
    rows, held_out = validation_split(len(train_set), 0.1)
    np.testing.assert_array_equal(run.trainer.validation[0], train_set.images[held_out])
    np.testing.assert_array_equal(run.trainer.data, run.trainer.vae.prepare(train_set.images[rows]))
    assert run.trainer.steps_per_epoch == 36
    flat_val, flat_test = run.trainer.validation[0].reshape(400, -1), test_set.images.reshape(len(test_set), -1)
    assert not {v.tobytes() for v in flat_val} & {t.tobytes() for t in flat_test}  # never a test digit
    result = run.fit()
    assert result.history.val_step == [36] and all(100 < v < 600 for v in result.history.val_neg_elbo)
    assert run.timeline.all()[-1].step == result.steps  # replay still ends at the final state


def test_early_stopping_stops_and_restores_the_best_epochs_weights(mnist5k, monkeypatch):
    scripted = iter([300.0, 250.0, 260.0, 270.0, 240.0])  # best at epoch 2, then no better for 2 epochs
    monkeypatch.setattr(recipe, "validation_neg_elbo", lambda *a, **k: next(scripted))
    config = SMALL.replace(epochs=5, val_fraction=0.2, patience=2)
    trainer = Trainer(config, mnist5k[0].images[:300])
    spe, at_epoch = trainer.steps_per_epoch, {}

    def keep(approx, losses, i):
        if i % spe == 0:
            at_epoch[i // spe] = trainer.vae.weights()

    result = trainer.fit([keep])
    assert result.status == "finished" and result.steps == 4 * spe < trainer.total_steps
    assert "stopped early after epoch 4" in result.message and "kept epoch 2's weights" in result.message
    assert 4 not in at_epoch  # the stop came in the validation callback, before the later callbacks
    for name, value in at_epoch[2].items():
        np.testing.assert_array_equal(result.vae.weights()[name], value, err_msg=name)


def test_a_trainer_rearmed_for_a_recipe_reuses_its_step_and_trains_like_a_new_one(mnist5k):
    images, labels = mnist5k[0].images[:300], mnist5k[0].labels[:300]
    other = SMALL.replace(epochs=3, **RECIPE)
    assert graph_key(other) == graph_key(SMALL)
    expected = Trainer(other, images, labels=labels).fit()
    reused = Trainer(SMALL, images, labels=labels)
    reused.fit()
    step = reused.compiled_step()
    reused.rearm(other, images, labels=labels)
    result = reused.fit()
    assert reused.compiled_step() is step
    np.testing.assert_allclose(result.history.neg_elbo, expected.history.neg_elbo, rtol=1e-5)
    np.testing.assert_allclose(result.history.val_neg_elbo, expected.history.val_neg_elbo, rtol=1e-5)
