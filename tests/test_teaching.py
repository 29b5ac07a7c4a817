"""The teaching tools on the Latent space and Train pages, driven through AppTest."""

import json

import pytest

from tests.conftest import open_app


@pytest.fixture
def latent(runs_dir):
    return open_app("latent")


def _captions(at) -> list[str]:
    return [img.caption for element in at.get("image") for img in element.proto.imgs]


def _figure(at) -> dict:
    """The latent map's Plotly spec (the only chart on the page)."""
    (chart,) = at.get("plotly_chart")
    return json.loads(chart.proto.spec)


def test_decoder_mean_beside_a_sample_and_nearest_digits(latent):
    captions = _captions(latent)
    assert "one draw from p(x|z)" in captions
    assert sum("(#" in c for c in captions) == 5  # five nearest real digits with label and index
    before = [img.url for e in latent.get("image") for img in e.proto.imgs if img.caption == "one draw from p(x|z)"]
    next(b for b in latent.button if b.label == "New sample").click().run()
    after = [img.url for e in latent.get("image") for img in e.proto.imgs if img.caption == "one draw from p(x|z)"]
    assert before != after


def test_posterior_draws_and_interpolation_between_two_digits(latent):
    latent.session_state["picked"] = 3
    latent.run()
    captions = _captions(latent)
    assert sum(c.startswith("draw ") for c in captions) == 6
    next(b for b in latent.button if b.label == "Use as interpolation start A").click().run()
    latent.session_state["picked"] = 10
    latent.run()
    next(b for b in latent.button if b.label == "Use as interpolation end B").click().run()
    assert not latent.exception
    captions = _captions(latent)
    assert "A" in captions and "B" in captions
    names = [t.get("name") for t in _figure(latent)["data"]]
    assert "interpolation" in names and "draws from q(z|x)" in names and "q(z|x) 1 sd" in names


@pytest.mark.parametrize(
    "colouring,colourbar", [("posterior spread (mean sd)", "mean sd"), ("KL per image (nats)", "KL (nats)")]
)
def test_colour_by_spread_or_kl(latent, colouring, colourbar):
    latent.radio(key="colouring").set_value(colouring).run()
    assert not latent.exception
    names = [t.get("name") for t in _figure(latent)["data"]]
    assert colourbar in names and "0" not in names  # one colour-scaled trace replaces the label traces


def test_prior_contours_and_aggregate_density(latent):
    latent.checkbox(key="show_prior").check().run()
    latent.checkbox(key="show_density").check().run()
    assert not latent.exception
    traces = _figure(latent)["data"]
    assert any(t.get("name") == "prior N(0, I): 1, 2, 3 sd" for t in traces)
    heatmap = next(t for t in traces if t.get("type") == "heatmap")
    assert heatmap["hoverinfo"] == "skip"  # clicks still reach the grid under it
    assert traces[0]["name"] == "click-grid"


def test_train_page_replays_the_active_models_timeline(runs_dir):
    at = open_app("train")
    assert any("How the active model learned" in s.value for s in at.subheader)
    replay = at.select_slider(key="replay-active-pretrained")
    last = replay.value
    replay.set_value(0).run()
    assert not at.exception
    assert any(c.startswith("step ") and "s into training" in c for c in _captions(at))
    assert last > 0
