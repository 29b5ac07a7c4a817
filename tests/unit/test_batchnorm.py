"""BatchNorm: batch statistics in training, running statistics in evaluation, the running statistics
updated inside PyMC's fit through the step's extra updates, and saved with the checkpoint."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from cvae.config import ConfigError, TrainConfig
from cvae.nn.layers import BatchNorm
from cvae.nn.networks import NetworkOptions, build_networks
from cvae.store.checkpoint import load_checkpoint, save_checkpoint
from cvae.training.trainer import Trainer
from tests.support import reference


@pytest.fixture
def layer():
    bn = BatchNorm((4, 4, 3), activation="relu", name="t.bn")
    rng = np.random.default_rng(0)
    bn.gamma.set_value(rng.uniform(0.5, 2, 3).astype("float32"))
    bn.beta.set_value(rng.normal(size=3).astype("float32"))
    bn.running_mean.set_value(rng.normal(size=3).astype("float32"))
    bn.running_var.set_value(rng.uniform(0.5, 2, 3).astype("float32"))
    return bn


def test_training_mode_uses_the_batch_and_evaluation_mode_the_running_statistics(layer):
    x = np.random.default_rng(1).normal(2.0, 3.0, (5, 4, 4, 3)).astype("float32")
    xv = pt.tensor4(dtype="float32")
    train, evaluation = pytensor.function([xv], [layer(xv, training=True), layer(xv)])(x)
    np.testing.assert_allclose(train, reference.layer_forward(layer, x.astype(float), training=True), atol=1e-4)
    np.testing.assert_allclose(evaluation, reference.layer_forward(layer, x.astype(float)), atol=1e-4)
    scale, shift = layer.folded()  # what the browser decoder runs
    np.testing.assert_allclose(evaluation, np.maximum(x * scale + shift, 0), atol=1e-4)


def test_the_update_rule_moves_the_running_statistics_toward_the_batch(layer):
    x = np.random.default_rng(2).normal(1.0, 2.0, (6, 4, 4, 3)).astype("float32")
    old_mean, old_var = layer.running_mean.get_value(), layer.running_var.get_value()
    xv, updates = pt.tensor4(dtype="float32"), {}
    layer(xv, training=True, updates=updates)
    assert set(updates) == {layer.running_mean, layer.running_var}
    pytensor.function([xv], [], updates=updates)(x)
    flat = x.reshape(-1, 3)
    np.testing.assert_allclose(layer.running_mean.get_value(), 0.9 * old_mean + 0.1 * flat.mean(0), rtol=1e-5)
    np.testing.assert_allclose(layer.running_var.get_value(), 0.9 * old_var + 0.1 * flat.var(0, ddof=1), rtol=1e-5)


def test_batch_norm_follows_every_hidden_layer_with_its_activation():
    nets = build_networks("pymc3-example", 2, 0, NetworkOptions(batch_norm=True))
    names = [layer.name for layer in nets.encoder.layers]
    assert names[:3] == ["enc.conv1", "enc.conv1.bn", "enc.conv2"]
    assert nets.encoder.layers[0].activation == "linear" and nets.encoder.layers[1].activation == "relu"
    assert not isinstance(nets.encoder.layers[-1], BatchNorm) and not isinstance(nets.decoder.layers[-1], BatchNorm)
    assert sum(isinstance(layer, BatchNorm) for layer in nets.decoder.layers) == 5
    assert {p.name for p in nets.state} >= {"enc.conv1.bn.running_mean", "dec.dense1.bn.running_var"}
    assert not set(nets.state) & set(nets.params)  # running statistics are not fitted by the gradient


def test_batch_norm_needs_two_images_per_batch():
    with pytest.raises(ConfigError, match="batch_norm needs batch_size >= 2"):
        TrainConfig(batch_norm=True, batch_size=1)


def test_pymcs_fit_updates_the_running_statistics_and_the_checkpoint_keeps_them(mnist5k, tmp_path):
    images = mnist5k[0].images[:500]
    trainer = Trainer(TrainConfig(batch_norm=True, epochs=2, batch_size=50), images)
    step = trainer.step_function()
    updated = {i.variable.name for i in step.maker.inputs if i.update is not None}
    assert {s.name for s in trainer.vae.networks.state} <= updated  # extra updates of the compiled step
    result = trainer.fit()
    assert result.status == "finished"
    first = trainer.vae.networks.encoder.layers[1]  # enc.conv1.bn after conv1 (linear)
    assert not np.allclose(first.running_mean.get_value(), 0.0)
    # the running mean of conv1's output is close to its mean over the data (the weights changed slowly)
    conv1 = trainer.vae.networks.encoder.layers[0]
    out = reference.layer_forward(conv1, images[:500].transpose(0, 2, 3, 1).astype(float))
    np.testing.assert_allclose(first.running_mean.get_value(), out.mean(axis=(0, 1, 2)), atol=0.05)

    path = save_checkpoint(tmp_path / "bn", result.vae, result.history, status="finished")
    loaded = load_checkpoint(path).vae
    for state in trainer.vae.networks.state:
        np.testing.assert_array_equal(loaded.weights()[state.name], state.get_value())
    z = np.random.default_rng(0).normal(size=(4, 2)).astype("float32")
    np.testing.assert_array_equal(loaded.decode(z), result.vae.decode(z))
    np.testing.assert_array_equal(loaded.encode(images[:3])[0], result.vae.encode(images[:3])[0])
