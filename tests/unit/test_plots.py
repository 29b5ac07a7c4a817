import numpy as np
import pytest

from cvae.viz.elbo_figures import elbo_figure, smooth
from cvae.viz.latent_figures import GRID_NAME, PALETTE, latent_map, map_range


def test_latent_map_layers_grid_first_then_one_trace_per_label():
    z = np.random.default_rng(0).normal(size=(50, 2))
    labels = np.arange(50) % 10
    x_range, y_range = map_range(z)
    fig = latent_map(
        z,
        labels,
        tuple("0123456789"),
        x_range=x_range,
        y_range=y_range,
        grid_n=11,
        current=(0.5, 0.5),
        posterior=(z[3], np.array([0.2, 0.3])),
    )
    assert fig.data[0].name == GRID_NAME and len(fig.data[0].x) == 121
    digit_traces = fig.data[1:11]
    assert [t.name for t in digit_traces] == list("0123456789")
    assert sorted(np.concatenate([t.customdata for t in digit_traces])) == list(range(50))
    for t in digit_traces:
        np.testing.assert_allclose(np.c_[t.x, t.y], z[t.customdata])
    assert {t.marker.color for t in digit_traces} == set(PALETTE)
    rings = {t.name: np.c_[t.x, t.y] for t in fig.data if t.name.startswith("q(z|x)")}
    for k in (1, 2):  # the posterior's k-sd ellipse: ((z - mu) / (k sd))^2 sums to 1 along it
        d = (rings[f"q(z|x) {k} sd"] - z[3]) / (k * np.array([0.2, 0.3]))
        np.testing.assert_allclose((d**2).sum(axis=1), 1.0, rtol=1e-9)
    assert x_range[0] <= -3 and x_range[1] >= 3


def test_smooth_is_bias_corrected():
    np.testing.assert_allclose(smooth([5.0] * 10), [5.0] * 10)
    assert smooth([0.0, 10.0])[1] > 5.0


@pytest.mark.parametrize("span", [1, 2, 3, 25, 1000])
def test_smooth_is_the_exponential_moving_average(span):
    """The blocked NumPy scan equals the one-line recursion it replaces, for short and long spans."""
    values = np.random.default_rng(span).normal(150, 30, 3001)
    alpha, acc, expected = 2 / (span + 1), 0.0, []
    for t, v in enumerate(values, start=1):
        acc = (1 - alpha) * acc + alpha * v
        expected.append(acc / (1 - (1 - alpha) ** t))
    np.testing.assert_allclose(smooth(values, span), expected, rtol=1e-9)
    assert smooth([], span).shape == (0,)


def test_elbo_figure_lines():
    history = {
        "step": [1, 2, 3],
        "neg_elbo": [300.0, 250.0, 220.0],
        "reconstruction": [296.0, 245.0, 214.0],
        "kl": [4.0, 5.0, 6.0],
        "time_s": [0.1, 0.2, 0.3],
    }
    fig = elbo_figure(history, marker_step=2)
    traces = {t.name: t for t in fig.data}
    assert list(traces) == [
        "Monte Carlo noise (+-1 sd)",
        "-ELBO (raw)",
        "-ELBO (smoothed)",
        "reconstruction (smoothed)",
        "KL (smoothed, right axis)",
    ]
    assert list(traces["-ELBO (raw)"].y) == [300.0, 250.0, 220.0]
    assert traces["KL (smoothed, right axis)"].yaxis == "y2"
    band = np.asarray(traces["Monte Carlo noise (+-1 sd)"].y)
    assert len(band) == 6 and band[0] >= band[-1]  # upper edge above the lower edge at step 1
    assert fig.layout.shapes[0].x0 == 2
    assert len(elbo_figure({k: [] for k in history}).data) == 0
