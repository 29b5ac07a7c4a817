"""The Train form's "Advanced recipe" expander, under AppTest."""

from cvae.config import TrainConfig
from ui.train_form import DEFAULTS, PRESET

RECIPE_KEYS = ("cfg_val_fraction", "cfg_augment_shift", "cfg_kl_warmup_epochs", "cfg_lr_schedule", "cfg_patience")


def test_the_recipe_options_start_off_as_the_config_defaults(train_page):
    labels = {w.label for w in train_page.number_input}
    assert {"Validation fraction", "Random shifts (pixels)", "KL warm-up (epochs)"} <= labels
    assert train_page.selectbox(key="cfg_lr_schedule").options == ["constant", "cosine"]
    d = TrainConfig()
    expected = (d.val_fraction, d.augment_shift, d.kl_warmup_epochs, d.lr_schedule, d.patience)
    assert tuple(DEFAULTS[k] for k in RECIPE_KEYS) == expected
    assert tuple(train_page.session_state[k] for k in RECIPE_KEYS) == expected


def test_early_stopping_without_a_validation_split_is_a_clear_error_and_starts_nothing(train_page):
    train_page.number_input(key="cfg_patience").set_value(3)
    next(b for b in train_page.button if b.label == "Start training").click().run()
    assert any("needs a validation split" in e.value for e in train_page.error)
    assert "job" not in train_page.session_state


def test_the_classroom_preset_sets_its_recipe(train_page):
    next(b for b in train_page.button if b.label.startswith("Classroom preset")).click().run()
    assert not train_page.exception
    assert all(train_page.session_state[k] == PRESET[k] for k in RECIPE_KEYS)
