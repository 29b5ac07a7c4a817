"""The class's answers on one latent map: every prediction and truth, names on hover as text."""

import numpy as np

from cvae.viz.class_answers import BACKGROUND_MAX, class_answers_figure


def test_each_prediction_and_truth_is_drawn_with_its_name_escaped():
    rng = np.random.default_rng(1)
    mu, labels = rng.normal(size=(5000, 2)), np.arange(5000) % 10
    answers = [
        ("<img src=x onerror=alert(1)>Bo", (0.1, 0.2), (1.0, 1.0), "not_yet"),
        ("Ada", (0.9, 1.1), (1.0, 1.0), "passed"),
        ("Cy", None, (1.0, 1.0), "open"),  # opened, never answered with a point
    ]
    figure = class_answers_figure(mu, labels, answers, title="latent-space, step 1")
    traces = {trace.name: trace for trace in figure.data}
    assert len(traces["test digits"].x) == BACKGROUND_MAX
    assert list(zip(traces["prediction"].x, traces["prediction"].y, strict=True)) == [(0.1, 0.2), (0.9, 1.1)]
    assert len(traces["truth"].x) == 3
    hover = traces["prediction"].hovertext
    assert hover[0] == "&lt;img src=x onerror=alert(1)&gt;Bo: prediction (not yet)"  # Plotly shows it as typed
    assert hover[1] == "Ada: prediction (passed)"
    assert list(traces["prediction to truth"].x) == [0.1, 1.0, None, 0.9, 1.0, None]  # one line per answer


def test_the_background_is_the_same_every_refresh():
    mu, labels = np.random.default_rng(2).normal(size=(3000, 2)), np.zeros(3000, int)
    one = class_answers_figure(mu, labels, [], title="t").to_json()
    assert one == class_answers_figure(mu, labels, [], title="t").to_json()  # unchanged: not re-sent
