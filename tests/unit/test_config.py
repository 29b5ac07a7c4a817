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

    partners = {"patience": {"val_fraction": 0.1}}  # early stopping needs a validation split
    for name, (low, high) in LIMITS.items():
        TrainConfig(**{name: low}, **partners.get(name, {}))
        TrainConfig(**{name: high}, **partners.get(name, {}))
        with pytest.raises(ConfigError, match=name):
            TrainConfig(**{name: high + (1 if isinstance(high, int) else 1.0)}, **partners.get(name, {}))


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


def test_every_field_has_one_spec_that_the_flags_and_checks_read():
    import argparse
    import dataclasses

    from cvae.config import SPECS, add_config_arguments

    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    helps = {a.dest: a.help for a in parser._actions}
    for f in dataclasses.fields(TrainConfig):
        assert SPECS[f.name].help and SPECS[f.name].help.replace("%", "%%") in helps[f.name], f.name
        if SPECS[f.name].choices is not None and not isinstance(SPECS[f.name].choices, tuple):
            continue
        if SPECS[f.name].choices:
            with pytest.raises(ConfigError, match=f.name):
                TrainConfig(**{f.name: "no-such-choice"})


def test_a_preset_is_a_config_that_flags_override():
    import argparse

    from cvae.config import PRESETS, add_config_arguments, config_from_arguments

    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    classroom = PRESETS["classroom"]
    assert (classroom.epochs, classroom.lr, classroom.kl_warmup_epochs) == (30, 3e-3, 5)
    assert config_from_arguments(parser.parse_args(["--preset", "classroom"])) == classroom
    # a flag given explicitly wins, even when it equals the config's default
    assert config_from_arguments(parser.parse_args(["--preset", "classroom", "--epochs", "5"])) == classroom.replace(
        epochs=5
    )
    assert config_from_arguments(parser.parse_args([])) == TrainConfig()
