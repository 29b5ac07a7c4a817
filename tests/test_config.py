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
