"""A training on the Train page: its snapshot and ELBO chart are pictures while it is live, interactive after."""

from streamlit.testing.v1 import AppTest


def _snapshot_page(live: bool):
    """An app that shows one snapshot (50 codes, step 40) the way the Train page does."""
    from types import SimpleNamespace

    import numpy as np

    from ui.components import snapshot_ui

    rng = np.random.default_rng(0)
    shown = SimpleNamespace(step=40, mu=rng.standard_normal((50, 2)), manifold=np.zeros((224, 224)), time_s=3.0)
    snapshot_ui(shown, rng.integers(0, 10, 50), tuple(str(i) for i in range(10)), live=live, key="job")


def _images(at: AppTest) -> list:
    return [img for element in at.get("image") for img in element.proto.imgs]


def test_a_live_snapshot_is_a_png_in_the_page_with_its_text_alternative():
    at = AppTest.from_function(_snapshot_page, args=(True,), default_timeout=60).run()
    assert not at.exception, at.exception
    maps = [img for img in _images(at) if img.alt.startswith("latent map at step 40")]
    assert len(maps) == 1 and maps[0].url.startswith("data:image/png;base64,"), _images(at)
    assert "colour and shape per class" in maps[0].alt
    assert not at.get("plotly_chart"), "no Plotly figure while the snapshot changes every 3 s"


def test_a_finished_trainings_snapshot_is_the_interactive_map():
    at = AppTest.from_function(_snapshot_page, args=(False,), default_timeout=60).run()
    assert not at.exception, at.exception
    (chart,) = at.get("plotly_chart")
    assert not any(img.alt.startswith("latent map") for img in _images(at))


def _elbo_page(live: bool):
    """An app that shows a 120-step history's ELBO chart the way the Train page does."""
    from cvae.training.history import History
    from ui.components import elbo_ui

    history = History()
    for step in range(1, 121):
        history.append(step, 300.0 - step, 4.0, 1.0, step * 0.03)
    elbo_ui(history, live=live, key="job")


def test_a_live_elbo_chart_is_a_png_that_says_how_far_the_fit_is():
    at = AppTest.from_function(_elbo_page, args=(True,), default_timeout=60).run()
    assert not at.exception, at.exception
    (chart,) = [img for img in _images(at) if img.alt.startswith("line chart of -ELBO")]
    assert chart.url.startswith("data:image/png;base64,")
    assert "120 steps so far" in chart.alt and "at step 120" in chart.alt
    assert not at.get("plotly_chart"), "no Plotly figure while the chart changes every 2 s"


def test_a_finished_trainings_elbo_chart_is_interactive():
    at = AppTest.from_function(_elbo_page, args=(False,), default_timeout=60).run()
    assert not at.exception, at.exception
    (chart,) = at.get("plotly_chart")
    assert '"-ELBO (raw)"' in chart.proto.spec
    assert not [img for img in _images(at) if img.alt.startswith("line chart of -ELBO")]
