"""The training recipe's pure parts: schedules, shifts, early stopping, the validation split, the config."""

import argparse
import math

import numpy as np
import pytest

from cvae.config import ConfigError, TrainConfig, add_config_arguments, config_from_arguments
from cvae.data.splits import validation_split
from cvae.training.history import History
from cvae.training.recipe import COSINE_FLOOR, EarlyStopping, beta_at, lr_at, shift_images

RECIPE = {"val_fraction": 0.1, "augment_shift": 1, "kl_warmup_epochs": 2, "lr_schedule": "cosine", "patience": 3}


def test_kl_warm_up_ramps_beta_from_zero_over_its_epochs_then_holds_it():
    config = TrainConfig(beta=2.0, epochs=5, kl_warmup_epochs=2)
    assert [beta_at(config, s, 10) for s in (0, 5, 10, 15, 20, 21, 49)] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    assert {beta_at(TrainConfig(beta=2.0), s, 10) for s in range(50)} == {2.0}  # off: beta throughout


def test_cosine_schedule_runs_from_lr_to_its_floor_and_constant_stays_put():
    config = TrainConfig(lr=3e-3, lr_schedule="cosine")
    values = [lr_at(config, s, 101) for s in range(101)]
    assert values[0] == pytest.approx(3e-3) and values[-1] == pytest.approx(COSINE_FLOOR * 3e-3)
    assert values[50] == pytest.approx(3e-3 * (COSINE_FLOOR + (1 - COSINE_FLOOR) / 2))
    assert all(a > b for a, b in zip(values, values[1:]))
    assert {lr_at(TrainConfig(lr=3e-3), s, 101) for s in range(101)} == {3e-3}


def _naive_shift(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    out = np.zeros_like(image)
    h, w = image.shape[-2:]
    for y in range(h):
        for x in range(w):
            if 0 <= y - dy < h and 0 <= x - dx < w:
                out[..., y, x] = image[..., y - dy, x - dx]
    return out


def test_shifts_move_each_image_by_its_own_offset_keeping_shape_dtype_and_binary_pixels(mnist5k):
    images = (mnist5k[0].images[:16] > 0.5).astype(np.float32)  # (16, 1, 28, 28), binary as Bernoulli trains
    shifted = shift_images(images, 2, np.random.default_rng(3))
    assert shifted.shape == images.shape and shifted.dtype == images.dtype
    assert set(np.unique(shifted)) <= {0.0, 1.0}
    dy, dx = np.random.default_rng(3).integers(-2, 3, size=(2, 16))  # the offsets it drew
    for k in range(16):
        np.testing.assert_array_equal(shifted[k], _naive_shift(images[k], dy[k], dx[k]))
    assert any(not np.array_equal(a, b) for a, b in zip(shifted, images))


def test_shifts_are_deterministic_per_seed_and_off_at_zero(mnist5k):
    images = mnist5k[0].images[:8]
    a, b = (shift_images(images, 1, np.random.default_rng(0)) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, shift_images(images, 1, np.random.default_rng(1)))
    assert shift_images(images, 0, np.random.default_rng(0)) is images


def test_early_stopping_stops_after_patience_epochs_without_improvement_and_keeps_the_best():
    early = EarlyStopping(patience=2)
    values = [5.0, 4.0, 4.5, 3.9, 3.9, 4.2]  # a tie is no improvement
    stops = [early.update(e + 1, v, lambda e=e: {"w": np.array(e + 1)}) for e, v in enumerate(values)]
    assert stops == [False, False, False, False, False, True]
    assert (early.best, early.best_epoch, int(early.weights["w"])) == (3.9, 4, 4)
    never = EarlyStopping(patience=0)
    assert not any(never.update(e + 1, 10.0 + e, dict) for e in range(20))
    assert never.best_epoch == 1


def test_the_validation_split_is_fixed_disjoint_and_covers_the_training_rows():
    train, val = validation_split(4000, 0.1)
    assert len(val) == 400 and len(train) == 3600
    assert not set(train) & set(val) and set(train) | set(val) == set(range(4000))
    again = validation_split(4000, 0.1)
    np.testing.assert_array_equal(val, again[1])
    assert len(validation_split(4000, 0.0)[1]) == 0 and len(validation_split(4000, 0.0)[0]) == 4000


def test_recipe_fields_round_trip_through_the_saved_dict_and_are_off_by_default():
    config = TrainConfig(epochs=10, **RECIPE)
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert {k: getattr(TrainConfig(), k) for k in RECIPE} == {
        "val_fraction": 0.0,
        "augment_shift": 0,
        "kl_warmup_epochs": 0,
        "lr_schedule": "constant",
        "patience": 0,
    }
    old = {k: v for k, v in TrainConfig().to_dict().items() if k not in RECIPE}  # a run saved before the recipe
    assert TrainConfig.from_dict(old) == TrainConfig()


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"val_fraction": 0.6}, "val_fraction must be between 0.0 and 0.5"),
        ({"val_fraction": -0.1}, "val_fraction must be between"),
        ({"augment_shift": 5}, "augment_shift must be between 0 and 4"),
        ({"augment_shift": 1.5}, "augment_shift must be a int"),
        ({"kl_warmup_epochs": 10_001}, "kl_warmup_epochs must be between 0 and 10000"),
        ({"lr_schedule": "step"}, "lr_schedule must be one of constant, cosine"),
        ({"patience": 2}, "patience (early stopping) needs a validation split"),
        ({"patience": -1, "val_fraction": 0.1}, "patience must be between"),
    ],
)
def test_recipe_values_out_of_range_are_clear_config_errors(changes, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainConfig(**changes)


def test_the_command_line_offers_every_recipe_option():
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    flags = "--epochs 10 --val-fraction 0.1 --augment-shift 1 --kl-warmup-epochs 2 --lr-schedule cosine --patience 3"
    args = parser.parse_args(flags.split(" "))
    assert config_from_arguments(args) == TrainConfig(epochs=10, **RECIPE)
    assert config_from_arguments(parser.parse_args([])) == TrainConfig()


def test_the_history_saves_validation_columns_only_when_it_has_them():
    history = History()
    history.append(1, 200.0, 5.0, 1.0, 0.1)
    assert set(history.to_dict()) == {"step", "neg_elbo", "reconstruction", "kl", "time_s"}  # as before
    history.add_validation(1, 199.5)
    saved = history.to_dict()
    assert saved["val_step"] == [1] and saved["val_neg_elbo"] == [199.5]
    assert History.from_dict(saved).val_neg_elbo == [199.5]
    with pytest.raises(ValueError, match="validation columns"):
        History.from_dict(saved | {"val_step": []})
    assert math.isclose(History.from_dict(history.to_dict()).neg_elbo[0], 200.0)
