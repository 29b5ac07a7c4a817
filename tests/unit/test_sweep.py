"""Sweep grids: parsed into valid configs or refused with a message, never anything else (fuzzed)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvae.config import TrainConfig
from cvae.jobs.sweep import MAX_POINTS, SweepError, parse_axis, sweep_configs, sweep_run_name
from cvae.store.checkpoint import run_dir


def test_a_grid_is_every_combination_with_names_that_say_which():
    axes = dict(parse_axis(a) for a in ("beta=0,0.5,1,2,4", "latent-dim=2,8"))
    assert axes == {"beta": [0.0, 0.5, 1.0, 2.0, 4.0], "latent_dim": [2, 8]}
    configs = sweep_configs(TrainConfig(epochs=3), axes)
    assert len(configs) == 10 and {(c.beta, c.latent_dim) for c in configs} == {
        (b, latent) for b in axes["beta"] for latent in axes["latent_dim"]
    }
    assert all(c.epochs == 3 for c in configs)
    names = [sweep_run_name("class", c, axes) for c in configs]
    assert names[1] == "class-beta0-latent8" and len(set(names)) == 10


def test_the_grid_size_is_bounded():
    with pytest.raises(SweepError, match=f"at most {MAX_POINTS}"):
        sweep_configs(TrainConfig(), {"seed": list(range(5)), "beta": [0.0, 1.0, 2.0, 3.0, 4.0]})


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_fuzz_axis_text(text):
    try:
        name, values = parse_axis(text)
    except SweepError as err:
        assert str(err)
        return
    try:
        configs = sweep_configs(TrainConfig(), {name: values})
    except SweepError as err:
        assert str(err)
        return
    assert all(isinstance(c, TrainConfig) for c in configs)
    for config in configs:
        run_dir("/tmp/runs", sweep_run_name("fuzz", config, {name: values}))  # every name is a safe run name


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["beta", "lr", "latent_dim", "epochs", "seed", "sigma"]),
    st.lists(
        st.one_of(st.integers(-(10**6), 10**6), st.floats(allow_nan=True, allow_infinity=True)), min_size=1, max_size=6
    ),
)
def test_fuzz_axis_values(name, numbers):
    text = f"{name}=" + ",".join(str(n) for n in numbers)
    try:
        configs = sweep_configs(TrainConfig(), dict([parse_axis(text)]))
    except SweepError as err:
        assert name in str(err) or "repeats" in str(err) or "values" in str(err)
        return
    assert all(getattr(c, name) == getattr(c, name) for c in configs)  # no NaN got through
