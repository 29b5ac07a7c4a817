"""Rows of the Compare page's table."""

import numpy as np

from cvae.config import TrainConfig
from cvae.explore import comparison
from cvae.training.history import History
from tests.factories import columns


def test_epoch_axis_and_compare_row():
    config = TrainConfig(batch_size=100, beta=0.0)
    np.testing.assert_allclose(comparison.epoch_axis([1, 40, 80], 40), [0.025, 1.0, 2.0])
    history = columns(80)
    history["neg_elbo"] = [500.0] * 40 + [100.0] * 40
    history["kl"] = [0.0] * 40 + [2.0] * 40
    row = comparison.compare_row("ae", config, History.from_dict(history), 40)
    assert row == {
        "run": "ae",
        "model": "vae",
        "arch": "keras-example",
        "latent dim": 2,
        "likelihood": "bernoulli",
        "prior": "standard-normal",
        "conditional": False,
        "batch norm": False,
        "beta": 0.0,
        "epochs": 5,
        "final train -ELBO": 100.0,
        "final KL": 2.0,
    }
    empty = History.from_dict({k: [] for k in history})
    assert comparison.compare_row("new", config, empty, 40)["final train -ELBO"] is None


def test_differing_fields():
    rows = [
        comparison.compare_row(n, TrainConfig(beta=b), History.from_dict(columns()), 40)
        for n, b in (("a", 0.0), ("b", 1.0))
    ]
    assert comparison.differing_fields(rows) == ["beta"]
    assert comparison.differing_fields(rows[:1]) == []


def test_the_model_kind_and_options_are_columns():
    plain = comparison.compare_row("plain", TrainConfig(), History.from_dict(columns()), 40)
    options = TrainConfig(conditional=True, prior="mixture", prior_components=7, batch_norm=True, likelihood="normal")
    other = comparison.compare_row("other", options.replace(learn_sigma=True), History.from_dict(columns()), 40)
    assert other["prior"] == "mixture (K=7)" and other["likelihood"] == "normal, sigma learned"
    assert other["conditional"] is True and other["batch norm"] is True and other["model"] == "vae"
    assert comparison.differing_fields([plain, other]) == ["likelihood", "prior", "conditional", "batch norm"]
