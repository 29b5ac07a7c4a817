"""The Train form offers the CLI's model options and shows their errors, under AppTest."""

import pytest


def _start(app):
    next(b for b in app.button if b.label == "Start training").click().run()
    assert not app.exception, app.exception
    return [e.value for e in app.error]


def test_the_form_offers_every_model_option(train_page):
    assert {"Model", "Prior p(z)"} <= {w.label for w in train_page.selectbox}
    assert "Mixture components K" in {w.label for w in train_page.number_input}
    assert {"Conditional on the label (CVAE)", "BatchNorm", "Learn sigma"} <= {w.label for w in train_page.checkbox}
    assert set(train_page.selectbox(key="cfg_prior").options) == {"standard-normal", "mixture"}
    assert "vae" in train_page.selectbox(key="cfg_model").options  # and any kind registered by code


@pytest.mark.parametrize(
    "settings,message",
    [
        ({"cfg_batch_norm": True, "cfg_batch_size": 1}, "batch_norm needs batch_size >= 2"),
        ({"cfg_learn_sigma": True}, "learn_sigma needs a likelihood with a sigma"),
    ],
)
def test_options_that_do_not_go_together_are_a_clear_error_and_start_nothing(train_page, settings, message):
    for key, value in settings.items():
        widget = train_page.checkbox(key=key) if isinstance(value, bool) else train_page.number_input(key=key)
        widget.set_value(value)
    errors = _start(train_page)
    assert any(message in e for e in errors), errors
    assert "job" not in train_page.session_state
