"""Model kinds: the registry, the extension point's worked example (examples/laplace_vae.py), the
conditional VAE and the mixture prior in the explorer, and the bad-input errors at the CLI."""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from cvae.cli import main
from cvae.config import ConfigError, TrainConfig
from cvae.data.idx import write_idx
from cvae.explore.evaluation import evaluate, label_scores
from cvae.explore.explorer import Explorer
from cvae.model.kinds import MODELS
from cvae.model.vae import VAE
from cvae.store.checkpoint import load_checkpoint, save_checkpoint
from cvae.training.trainer import Trainer, train
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "laplace_vae.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("laplace_vae", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # registers "laplace-vae" (once)
    return module


def _tiny(**changes):
    return TrainConfig(**{"epochs": 1, "batch_size": 50, **changes})


def test_the_built_in_models_are_registered_the_same_way():
    assert "vae" in MODELS and MODELS["vae"].uses_prior
    with pytest.raises(ConfigError, match="model must be one of .*vae.*got 'resnet-vae'.*import"):
        TrainConfig(model="resnet-vae")


def test_the_worked_example_trains_saves_loads_evaluates_and_samples(mnist5k, tmp_path):
    _load_example()
    _load_example()  # a second import does not register twice
    config = _tiny(model="laplace-vae", seed=1, epochs=3, lr=3e-3)
    with pytest.raises(ConfigError, match="prior of its own"):
        config.replace(prior="mixture")
    result = train(config, mnist5k[0].images[:500])
    h = result.history
    assert result.status == "finished" and np.mean(h.neg_elbo[-3:]) < np.mean(h.neg_elbo[:3]) - 100
    assert result.vae.prior_components() is None and not result.vae.closed_form_kl

    loaded = load_checkpoint(save_checkpoint(tmp_path / "laplace", result.vae, h, status="finished")).vae
    assert loaded.config.model == "laplace-vae"
    test_images = mnist5k[1].images[:100]
    scores = evaluate(loaded, test_images, iw=10)
    assert np.isclose(scores["neg_elbo"], scores["reconstruction"] + scores["kl"])
    assert scores["iw_neg_log_likelihood"] < scores["neg_elbo"]

    # log p(z) and prior draws come from the PyMC model: the Laplace's own
    z = np.array([[0.0, 1.0], [-2.0, 0.3]], np.float32)
    b = 2**-0.5
    np.testing.assert_allclose(loaded.log_prior(z), stats.laplace.logpdf(z, 0, b).sum(1), rtol=1e-5)
    draws = Explorer(loaded).sample_prior(20_000, seed=3)
    assert draws.shape == (20_000, 2)
    assert abs(np.mean(np.abs(draws)) - b) < 0.02 and abs(np.var(draws) - 1.0) < 0.05
    np.testing.assert_array_equal(draws, Explorer(loaded).sample_prior(20_000, seed=3))


@pytest.mark.slow
def test_the_worked_example_runs_from_the_command_line(tmp_path):
    out = tmp_path / "laplace"
    args = ["--model", "laplace-vae", "--epochs", "1", "--batch-size", "200", "--out", out, "--quiet"]
    done = subprocess.run([sys.executable, EXAMPLE, "train", *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([sys.executable, EXAMPLE, "evaluate", str(out)], capture_output=True, text=True)
    assert done.returncode == 0 and '"neg_elbo"' in done.stdout, done.stderr


@pytest.fixture(scope="module")
def conditional(mnist5k):
    train_set = mnist5k[0]
    return train(_tiny(conditional=True, epochs=2), train_set.images[:1000], labels=train_set.labels[:1000]).vae


def test_a_conditional_model_decodes_one_style_as_every_digit(conditional, mnist5k):
    explorer = Explorer(conditional)
    x, labels = mnist5k[1].images[:4], mnist5k[1].labels[:4]
    with pytest.raises(ValueError, match="conditional"):
        explorer.encode(x)
    mu, _ = explorer.encode(x, labels)
    digits = explorer.decode_as_each_label(mu[0])
    assert digits.shape == (10, 28, 28)
    np.testing.assert_allclose(digits[7], explorer.decode(mu[:1], 7)[0], atol=1e-6)
    assert min(np.abs(digits[i] - digits[j]).sum() for i in range(10) for j in range(i)) > 1.0  # ten digits
    np.testing.assert_allclose(explorer.decode(mu[:1])[0], digits.mean(axis=0), atol=1e-6)  # y summed out
    assert explorer.sample_pixels(mu, seed=0).shape == (4, 28, 28)
    assert explorer.decode_grid(3, 1.0, label=2).shape == (84, 84)
    soft = np.full((1, 10), 0.1)  # label weights, as the browser decoder takes them
    assert explorer.decode(mu[:1], soft).shape == (1, 28, 28)
    with pytest.raises(ValueError, match="0..9"):
        explorer.decode(mu[:1], 10)


def test_a_conditional_model_classifies_and_is_evaluated_with_or_without_labels(conditional, mnist5k):
    explorer, test_set = Explorer(conditional), mnist5k[1]
    guessed = explorer.infer_labels(test_set.images[:20])  # argmax_y of the ELBO-like score given y
    scores = label_scores(conditional, test_set.images[:20])
    assert scores.shape == (20, 10) and np.all(np.isfinite(scores))
    np.testing.assert_array_equal(guessed, scores.argmax(axis=1))
    given = evaluate(conditional, test_set.images[:200], labels=test_set.labels[:200], iw=5)
    summed = evaluate(conditional, test_set.images[:200], iw=5)
    assert "given" in given["labels"] and "summed out" in summed["labels"]
    for result in (given, summed):
        assert np.isclose(result["neg_elbo"], result["reconstruction"] + result["kl"])
    # -log p(x) <= -log p(x|y) + log 10: knowing the label is worth at most log 10 nats
    assert summed["iw_neg_log_likelihood"] < given["iw_neg_log_likelihood"] + np.log(10) + 1.0


def test_conditional_training_needs_labels(mnist5k):
    with pytest.raises(ConfigError, match="conditional needs labels"):
        Trainer(_tiny(conditional=True), mnist5k[0].images[:500])


def test_the_mixture_prior_is_sampled_and_shown_as_its_components():
    vae = VAE(TrainConfig(prior="mixture", prior_components=3, seed=2))
    components = Explorer(vae).prior_components()
    assert components["weights"].shape == (3,) and np.isclose(components["weights"].sum(), 1.0)
    assert components["means"].shape == components["sds"].shape == (3, 2)
    draws = Explorer(vae).sample_prior(30_000, seed=0)
    np.testing.assert_allclose(draws.mean(0), components["weights"] @ components["means"], atol=0.05)
    plain = Explorer(VAE(TrainConfig())).prior_components()
    np.testing.assert_array_equal(plain["means"], [[0.0, 0.0]])


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--prior", "mixture", "--prior-components", "0"], "prior_components must be between 1 and 50"),
        (["--prior", "mixture", "--prior-components", "51"], "prior_components must be between 1 and 50"),
        (["--batch-norm", "--batch-size", "1"], "batch_norm needs batch_size >= 2"),
        (["--learn-sigma"], "learn_sigma needs a likelihood with a sigma"),
    ],
)
def test_bad_model_options_are_a_clear_error_at_the_cli(tmp_path, capsys, flags, message):
    assert main(["train", *flags, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_an_unknown_model_name_is_refused_by_the_cli(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--model", "resnet-vae", "--out", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    assert "invalid choice: 'resnet-vae'" in capsys.readouterr().err


def test_conditional_on_a_dataset_without_labels_is_a_clear_error(tmp_path, capsys, mnist5k):
    images = np.round(mnist5k[0].images[:300, 0] * 255).astype(np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte", images)  # and no labels file
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:100])
    args = ["train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--conditional", "--out", str(tmp_path / "r")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "conditional needs labels" in err and str(tmp_path) in err and "Traceback" not in err
