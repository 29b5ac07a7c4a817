import pytest

from cvae.config import ConfigError, TrainConfig


def test_defaults_round_trip():
    config = TrainConfig()
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert config.replace(epochs=3).epochs == 3


@pytest.mark.parametrize("field,value", [
    ("epochs", 0), ("epochs", 1.5), ("batch_size", -1), ("lr", 1e6), ("lr", 0.0), ("latent_dim", 0),
    ("latent_dim", 1000), ("sigma", 0.0), ("beta", float("inf")), ("arch", "vgg"), ("seed", -1),
    ("likelihood", "gaussian"), ("epochs", True), ("dataset", 3),
])
def test_out_of_range_values_name_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        TrainConfig(**{field: value})


def test_unknown_keys_are_refused():
    with pytest.raises(ConfigError, match="unknown config keys: colour"):
        TrainConfig.from_dict({"colour": "red"})
