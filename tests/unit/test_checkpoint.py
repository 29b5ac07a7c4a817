import json
from pathlib import Path

import numpy as np
import pytest

from cvae.config import TrainConfig
from cvae.model.vae import VAE
from cvae.store.checkpoint import CheckpointError, load_checkpoint, run_dir, save_checkpoint
from tests import factories


@pytest.fixture
def saved(tmp_path):
    vae = VAE(TrainConfig(seed=4))
    path = save_checkpoint(tmp_path / "run", vae, factories.history(), status="finished")
    return vae, path


def test_round_trip_gives_identical_decodes(saved):
    vae, path = saved
    loaded = load_checkpoint(path)
    z = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    np.testing.assert_array_equal(loaded.vae.decode(z), vae.decode(z))
    assert loaded.config == vae.config
    assert loaded.history.to_dict() == factories.history().to_dict()
    meta = json.loads((path / "config.json").read_text())
    assert meta["format_version"] == 1 and meta["status"] == "finished"
    assert {"pymc", "pytensor", "numpy"} <= set(meta["versions"])
    assert meta["config"]["arch"] == "keras-example" and meta["config"]["dataset"] == "mnist-5k"


def test_overwrite_replaces_whole_checkpoint_and_leaves_no_temp(saved, tmp_path):
    vae, path = saved
    other = VAE(TrainConfig(seed=5))
    save_checkpoint(path, other, factories.history())
    z = np.zeros((1, 2), dtype="float32")
    np.testing.assert_array_equal(load_checkpoint(path).vae.decode(z), other.decode(z))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.parametrize(
    "damage",
    [
        "truncate_npz",
        "garbage_json",
        "missing_history",
        "version",
        "wrong_shape",
        "wrong_arch",
        "pickled",
        "nan_weights",
        "unknown_key",
    ],
)
def test_corrupt_checkpoints_give_clear_errors(saved, damage):
    _, path = saved
    npz, cfg = path / "params.npz", path / "config.json"
    meta = json.loads(cfg.read_text())
    weights = dict(np.load(npz))
    if damage == "truncate_npz":
        npz.write_bytes(npz.read_bytes()[:1000])
    elif damage == "garbage_json":
        cfg.write_text("{not json")
    elif damage == "missing_history":
        (path / "history.json").unlink()
    elif damage == "version":
        cfg.write_text(json.dumps({**meta, "format_version": 99}))
    elif damage == "wrong_shape":
        weights["enc.out.W"] = np.zeros((3, 3), dtype="float32")
        np.savez(npz, **weights)
    elif damage == "wrong_arch":
        cfg.write_text(json.dumps({**meta, "config": {**meta["config"], "arch": "seed"}}))
    elif damage == "pickled":
        weights["enc.out.W"] = np.array([{"x": 1}], dtype=object)
        np.savez(npz, **weights)
    elif damage == "nan_weights":
        weights["enc.out.W"] = np.full_like(weights["enc.out.W"], np.nan)
        np.savez(npz, **weights)
    elif damage == "unknown_key":
        cfg.write_text(json.dumps({**meta, "config": {**meta["config"], "evil": 1}}))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value) or "params.npz" in str(info.value)


def test_pickled_npz_is_refused_not_executed(saved, tmp_path):
    _, path = saved
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    weights = dict(np.load(path / "params.npz"))
    weights["enc.out.W"] = np.array([Exploit()], dtype=object)
    np.savez(path / "params.npz", **weights)
    with pytest.raises(CheckpointError, match="pickled"):
        load_checkpoint(path)
    assert not marker.exists()


def test_failed_save_keeps_previous_checkpoint(saved, monkeypatch):
    vae, path = saved

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(CheckpointError, match="No space left"):
        save_checkpoint(path, VAE(TrainConfig(seed=9)), factories.history())
    monkeypatch.undo()
    z = np.zeros((1, 2), dtype="float32")
    np.testing.assert_array_equal(load_checkpoint(path).vae.decode(z), vae.decode(z))
    assert [p.name for p in path.parent.iterdir()] == ["run"]


def test_missing_directory_and_run_names(tmp_path):
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        load_checkpoint(tmp_path / "nope")
    assert run_dir(tmp_path, "my-run_1.2") == (tmp_path / "my-run_1.2").resolve()
    for bad in ["../etc", "a/b", "..", ".hidden", "", "a" * 200, "/abs"]:
        with pytest.raises(CheckpointError):
            run_dir(tmp_path, bad)


@pytest.mark.parametrize(
    "meta, expected",
    [
        ({"steps_per_epoch": 7, "status": "stopped", "steps": 3}, 7),  # saved by the trainer
        ({"status": "finished", "steps": 200}, 40),  # an older finished run: 200 steps over 5 epochs
        ({"status": "stopped", "steps": 3}, 40),  # an older stopped run: 4,000 mnist-5k digits / batch 100
        ({"steps_per_epoch": "7", "status": "stopped"}, 40),  # nonsense is ignored, not trusted
        ({"steps_per_epoch": True, "status": "finished", "steps": 0}, 40),
    ],
)
def test_steps_per_epoch_comes_from_the_run_itself(tmp_path, meta, expected):
    path = save_checkpoint(tmp_path / "run", VAE(TrainConfig(epochs=5)), factories.history(), **meta)
    assert load_checkpoint(path).steps_per_epoch == expected


def test_training_run_saves_its_steps_per_epoch(tmp_path, mnist5k):
    from cvae.training.run import TrainingRun

    run = TrainingRun.prepare(TrainConfig(epochs=1, batch_size=250))
    path = run.save(tmp_path / "run", run.fit())
    checkpoint = load_checkpoint(path)
    assert checkpoint.meta["steps_per_epoch"] == checkpoint.steps_per_epoch == 16


def test_a_fits_own_callbacks_see_the_first_step_before_the_timeline_snapshots_it(mnist5k):
    """A live stream sends the first ELBO point before the first snapshot (whose encode and decode
    may still compile on a fresh worker) is taken."""
    from cvae.training.run import TrainingRun

    run = TrainingRun.prepare(TrainConfig(epochs=1, batch_size=250))
    snapshots_at_first_call = []

    def first_call(approx, losses, i):
        if not snapshots_at_first_call:
            snapshots_at_first_call.append(len(run.timeline.all()))

    run.fit([first_call])
    assert snapshots_at_first_call == [0]
    assert len(run.timeline.all()) >= 2  # the step-0 snapshot right after, and the final one


PRETRAINED = Path(__file__).resolve().parents[2] / "assets" / "pretrained"


# assets/pretrained/config.json as shipped before the model options and the recipe existed (old arch name too)
_CONFIG_BEFORE_MODEL_KINDS = {
    "dataset": "mnist-5k",
    "arch": "classroom",
    "latent_dim": 2,
    "likelihood": "bernoulli",
    "sigma": 0.1,
    "beta": 1.0,
    "epochs": 60,
    "batch_size": 100,
    "lr": 0.001,
    "seed": 0,
    "data_dir": None,
}


def test_a_run_saved_before_model_kinds_and_recipes_loads_and_explores_unchanged(mnist5k, tmp_path):
    """A run whose config.json predates the model options and the recipe (here the shipped weights under
    the shipped model's first config) loads as the plain VAE with the file's weights, encodes and decodes
    like the NumPy reference network, and its recipe options are all off."""
    import shutil

    from cvae.explore.explorer import Explorer
    from tests.support import reference

    old = tmp_path / "old-run"
    shutil.copytree(PRETRAINED, old)
    with np.load(old / "params.npz") as shipped:  # the networks' weights: such a run had no prior of its own
        networks = {name: shipped[name] for name in shipped.files if not name.startswith("prior.")}
    np.savez(old / "params.npz", **networks)
    meta = json.loads((old / "config.json").read_text())
    meta["config"] = dict(_CONFIG_BEFORE_MODEL_KINDS)
    (old / "config.json").write_text(json.dumps(meta))
    checkpoint = load_checkpoint(old)
    recipe = (checkpoint.config.val_fraction, checkpoint.config.augment_shift, checkpoint.config.kl_warmup_epochs)
    assert recipe == (0.0, 0, 0) and checkpoint.config.lr_schedule == "constant" and checkpoint.config.patience == 0
    config = checkpoint.config
    assert (config.model, config.conditional, config.prior, config.batch_norm, config.learn_sigma) == (
        "vae",
        False,
        "standard-normal",
        False,
        False,
    )
    with np.load(old / "params.npz") as saved:
        assert checkpoint.vae.weights().keys() == set(saved.files)
    explorer = Explorer(checkpoint.vae)
    x = mnist5k[1].images[:5]
    mu, _ = explorer.encode(x)
    out = reference.network_forward(checkpoint.vae.networks.encoder, x.transpose(0, 2, 3, 1).astype(float))
    np.testing.assert_allclose(mu, out[:, :2], rtol=1e-4, atol=1e-5)
    logits = reference.network_forward(checkpoint.vae.networks.decoder, mu.astype(float))[..., 0]
    np.testing.assert_allclose(explorer.decode(mu), 1 / (1 + np.exp(-logits)), atol=1e-5)
    assert explorer.prior_components()["weights"].tolist() == [1.0]


def test_the_shipped_model_scores_as_the_readme_says(mnist5k):
    from cvae.explore.evaluation import evaluate

    checkpoint = load_checkpoint(PRETRAINED)
    assert checkpoint.config.arch == "keras-example" and checkpoint.config.kl_warmup_epochs == 20
    assert (checkpoint.config.prior, checkpoint.config.prior_components, checkpoint.config.epochs) == (
        "mixture",
        10,
        200,
    )
    scores = evaluate(checkpoint.vae, mnist5k[1].images, iw=50, seed=0)  # as bench.recipe_search scores it
    assert (scores["neg_elbo"], scores["iw_neg_log_likelihood"]) == (
        pytest.approx(146.9, abs=0.05),
        pytest.approx(143.3, abs=0.05),
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"conditional": True},
        {"prior": "mixture", "prior_components": 3},
        {"likelihood": "normal", "learn_sigma": True},
        {"likelihood": "continuous-bernoulli", "batch_norm": True},
    ],
)
def test_new_models_round_trip_with_their_kind_options_and_parameters(tmp_path, changes):
    vae = VAE(TrainConfig(seed=6, **changes))
    for p in vae.params + vae.networks.state:  # every value away from its start, so a lost one shows
        p.set_value((p.get_value() + np.random.default_rng(0).normal(0, 0.05, p.get_value().shape)).astype("float32"))
    path = save_checkpoint(tmp_path / "run", vae, factories.history(), status="finished")
    meta = json.loads((path / "config.json").read_text())
    assert {k: meta["config"][k] for k in changes} == changes  # the kind's options are recorded
    loaded = load_checkpoint(path).vae
    assert loaded.config == vae.config
    for name, value in vae.weights().items():
        np.testing.assert_array_equal(loaded.weights()[name], value)
    assert loaded.sigma == vae.sigma
    z = np.random.default_rng(1).normal(size=(3, 2)).astype("float32")
    labels = np.array([1, 5, 9])
    np.testing.assert_array_equal(loaded.decode(z, labels), vae.decode(z, labels))
    for got, expected in zip(loaded.prior_components(), vae.prior_components(), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_a_run_of_an_unregistered_model_kind_says_what_to_import(tmp_path):
    path = save_checkpoint(tmp_path / "run", VAE(TrainConfig()), factories.history())
    meta = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**meta, "config": {**meta["config"], "model": "my-vae"}}))
    with pytest.raises(CheckpointError, match="'my-vae'.*registers it"):
        load_checkpoint(path)
