import pytest

from cvae.config import ConfigError, TrainConfig


def test_defaults_round_trip():
    config = TrainConfig()
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert config.replace(epochs=3).epochs == 3


@pytest.mark.parametrize(
    "field,value",
    [
        ("epochs", 0),
        ("epochs", 1.5),
        ("batch_size", -1),
        ("lr", 1e6),
        ("lr", 0.0),
        ("latent_dim", 0),
        ("latent_dim", 1000),
        ("sigma", 0.0),
        ("beta", float("inf")),
        ("arch", "vgg"),
        ("seed", -1),
        ("likelihood", "gaussian"),
        ("epochs", True),
        ("dataset", 3),
        ("model", "resnet-vae"),
        ("prior", "vamp"),
        ("prior_components", 0),
        ("prior_components", 51),
        ("conditional", "yes"),
        ("batch_norm", 1),
        ("learn_sigma", None),
    ],
)
def test_out_of_range_values_name_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        TrainConfig(**{field: value})


def test_old_architecture_names_are_aliases():
    assert TrainConfig(arch="seed").arch == "pymc3-example"
    assert TrainConfig.from_dict({**TrainConfig().to_dict(), "arch": "classroom"}).arch == "keras-example"
    assert TrainConfig(arch="seed") == TrainConfig(arch="pymc3-example")


def test_the_form_ranges_are_the_configs():
    from cvae.config import LIMITS

    for name, (low, high) in LIMITS.items():
        TrainConfig(**{name: low})
        TrainConfig(**{name: high})
        with pytest.raises(ConfigError, match=name):
            TrainConfig(**{name: high + (1 if isinstance(high, int) else 1.0)})


def test_unknown_keys_are_refused():
    with pytest.raises(ConfigError, match="unknown config keys: colour"):
        TrainConfig.from_dict({"colour": "red"})


def test_model_options_round_trip_and_every_field_is_a_flag():
    import argparse

    from cvae.config import add_config_arguments, config_from_arguments

    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    flags = "--conditional --prior mixture --prior-components 7 --batch-norm --likelihood normal --learn-sigma"
    config = config_from_arguments(parser.parse_args(flags.split()))
    assert (config.conditional, config.prior, config.prior_components, config.batch_norm, config.learn_sigma) == (
        True,
        "mixture",
        7,
        True,
        True,
    )
    assert config.model == "vae" and TrainConfig.from_dict(config.to_dict()) == config
    assert config_from_arguments(parser.parse_args([])) == TrainConfig()


@pytest.mark.parametrize(
    "options,message",
    [
        ({"batch_norm": True, "batch_size": 1}, "batch_norm needs batch_size >= 2"),
        ({"learn_sigma": True, "likelihood": "continuous-bernoulli"}, "learn_sigma needs a likelihood with a sigma"),
    ],
)
def test_options_that_do_not_go_together_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**options)
