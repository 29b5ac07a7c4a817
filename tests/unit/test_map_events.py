"""Pins from the browser are untrusted: only well-formed, finite, in-range ones get through."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvae.viz.map_events import MAX_ABS_Z, Pin, PinError, parse_pin

FUZZ = settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
MAP = dict(latent_dim=3, n_points=100, x_range=(-3.0, 3.0), y_range=(-4.0, 2.0))


def _pin(**kw):
    return parse_pin({"uv": [0.5, -1.0], "z": [0.5, -1.0, 0.0], "index": None, "label": None, **kw}, **MAP)


def test_a_click_on_empty_space():
    pin = _pin()
    assert pin.uv == (0.5, -1.0) and pin.index is None and pin.label is None
    np.testing.assert_array_equal(pin.z, np.float32([0.5, -1.0, 0.0]))


def test_a_digit_and_a_slider_pin():
    assert _pin(index=42).index == 42
    assert _pin(uv=None).uv is None


def test_a_label_only_for_a_conditional_decoder():
    assert _pin(label=7).label is None  # ignored: this decoder takes no label
    assert parse_pin({"uv": None, "z": [0, 0, 0], "label": 7}, **MAP, conditioning=10).label == 7
    with pytest.raises(PinError, match="label"):
        parse_pin({"uv": None, "z": [0, 0, 0], "label": 10}, **MAP, conditioning=10)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"uv": [1.0]}, "uv must be a list of 2"),
        ({"uv": ["1", 2]}, "numbers only"),
        ({"uv": [True, 2]}, "numbers only"),
        ({"uv": [float("nan"), 0]}, "finite"),
        ({"uv": [1e9, 0]}, "outside the map"),
        ({"uv": [0, -40]}, "outside the map"),
        ({"z": [0, 0]}, "z must be a list of 3"),
        ({"z": [0, 0, float("inf")]}, "finite"),
        ({"z": [0, 0, MAX_ABS_Z + 1]}, "within"),
        ({"index": 100}, "index"),
        ({"index": -1}, "index"),
        ({"index": 1.5}, "index"),
        ({"index": True}, "index"),
        ({"path": "/etc/passwd"}, "a pin has only"),
    ],
)
def test_bad_pins_are_refused_with_a_clear_message(change, message):
    with pytest.raises(PinError, match=message):
        _pin(**change)


@pytest.mark.parametrize("value", [None, [], "pin", 3, {"uv": None}, {"z": None}])
def test_not_a_pin_at_all(value):
    with pytest.raises(PinError):
        parse_pin(value, **MAP)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=6), children, max_size=5),
    max_leaves=20,
)
NEAR_PINS = st.fixed_dictionaries(
    {},
    optional={
        "uv": st.none() | st.lists(st.floats() | st.integers(-(10**12), 10**12), min_size=0, max_size=3),
        "z": st.lists(st.floats() | st.integers(-100, 100) | st.booleans(), min_size=0, max_size=4),
        "index": JSON | st.integers(-5, 105),
        "label": JSON,
    },
)


@FUZZ
@given(st.one_of(JSON, NEAR_PINS))
def test_fuzzed_pins_are_valid_or_refused(value):
    """Whatever arrives (JSON as the websocket carries it), the result is a checked Pin or a PinError."""
    value = json.loads(json.dumps(value))  # what can really come over the wire
    try:
        pin = parse_pin(value, **MAP)
    except PinError as err:
        assert str(err)
        return
    assert isinstance(pin, Pin)
    assert pin.z.shape == (3,) and pin.z.dtype == np.float32 and np.all(np.abs(pin.z) <= MAX_ABS_Z)
    assert pin.uv is None or all(np.isfinite(pin.uv))
    assert pin.index is None or 0 <= pin.index < 100
