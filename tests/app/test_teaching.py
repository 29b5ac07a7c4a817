"""The teaching tools on the Latent space and Train pages, driven through AppTest."""

import json

import pytest

from tests.conftest import open_app, page_path
from ui.session_keys import MAP_DRAWN


@pytest.fixture
def latent(runs_dir):
    return open_app("latent")


def _captions(at) -> list[str]:
    return [img.caption for element in at.get("image") for img in element.proto.imgs]


def _component(at, name: str):
    (element,) = [c for c in at.get("bidi_component") if c.proto.component_name == name]
    return element.proto.bytes


def _view(at) -> dict:
    """The JSON the page hands the latent map component each run: pinned point, colouring, overlays."""
    return json.loads(_component(at, "cvae_latent_map_view"))


def _payload_header(at) -> dict:
    """The header of the map's payload (sent once per model and projection): colourings, density..."""
    from ui.latent.view import payload_header

    return payload_header(_component(at, "cvae_latent_map"))


def test_a_sessions_first_map_comes_alone_and_its_drawn_report_adds_the_rest(runs_dir):
    at = open_app("latent", map_drawn=False)  # a browser that has not yet shown a map
    assert _view(at)["report_drawn"] is True
    assert _payload_header(at)["n"] > 0  # the map, from the controls' starting values
    assert _view(at)["colouring"] == "label"
    assert not at.radio and not at.checkbox and not at.selectbox  # no map controls, no model picker
    assert _captions(at) == [] and not [m for m in at.markdown if "Nearest real test digits" in m.value]
    assert not at.get("download_button")
    at.session_state[MAP_DRAWN] = True  # what the map's "drawn" trigger does (ui.latent.first_map.mark_drawn)
    at.run()
    assert not at.exception, at.exception
    assert _view(at)["report_drawn"] is False
    sidebar = at.sidebar
    assert sidebar.radio(key="colouring").value == "label" and sidebar.radio(key="projection")
    assert sidebar.checkbox(key="show_prior") and sidebar.checkbox(key="show_density")
    assert sidebar.selectbox(key="model_picker")
    assert "one draw from p(x|z)" in _captions(at)
    assert len(at.get("download_button")) == 2


def test_a_first_visit_whose_model_cannot_be_shown_still_has_the_model_picker(runs_dir):
    broken = runs_dir / "broken-run"
    broken.mkdir(parents=True)
    (broken / "params.npz").write_bytes(b"not a zip file")
    (broken / "config.json").write_text("{}")
    at = open_app(map_drawn=False)
    at.session_state["active_run"] = str(broken)
    at.switch_page(page_path("latent")).run()
    assert any("The active model cannot be shown" in e.value for e in at.error), [e.value for e in at.error]
    assert at.sidebar.selectbox(key="model_picker")  # the way to another model


def test_the_first_maps_controls_start_where_the_session_left_them(runs_dir):
    """A run that does not draw the controls still reads them: what the session holds, else their start."""
    at = open_app("latent", map_drawn=False)
    at.session_state["colouring"] = "kl"
    at.session_state["show_density"] = True
    at.run()
    assert _view(at)["colouring"] == "kl" and _view(at)["density"] is True
    at.session_state[MAP_DRAWN] = True
    at.run()
    assert at.sidebar.radio(key="colouring").value == "kl"
    assert at.sidebar.checkbox(key="show_density").value is True
    assert _view(at)["colouring"] == "kl"


def test_decoder_mean_beside_a_sample_and_nearest_digits(latent):
    captions = _captions(latent)
    assert "one draw from p(x|z)" in captions
    assert sum("(#" in c for c in captions) == 5  # five nearest real digits with label and index
    before = [img.url for e in latent.get("image") for img in e.proto.imgs if img.caption == "one draw from p(x|z)"]
    next(b for b in latent.button if b.label == "New sample").click().run()
    after = [img.url for e in latent.get("image") for img in e.proto.imgs if img.caption == "one draw from p(x|z)"]
    assert before != after


def test_a_code_drawn_from_the_prior_becomes_the_pinned_point(latent):
    before = _view(latent)["pinned"]["z"]
    next(b for b in latent.button if b.label == "Draw z from the prior").click().run()
    assert not latent.exception
    pinned = _view(latent)["pinned"]
    assert pinned["z"] != before and pinned["index"] is None  # a new code, no test digit picked


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
    names = [overlay["name"] for overlay in _view(latent)["overlays"]]
    assert "interpolation" in names and "draws from q(z|x)" in names and "q(z|x): 1 and 2 sd" in names


@pytest.mark.parametrize("key,colourbar", [("spread", "mean sd"), ("kl", "KL (nats)")])
def test_colour_by_spread_or_kl(latent, key, colourbar):
    latent.radio(key="colouring").set_value(key).run()
    assert not latent.exception
    assert _view(latent)["colouring"] == key  # the browser recolours from the payload it has
    assert _payload_header(latent)["colourings"][key]["title"] == colourbar


def test_prior_contours_and_aggregate_density(latent):
    latent.checkbox(key="show_prior").check().run()
    latent.checkbox(key="show_density").check().run()
    assert not latent.exception
    view = _view(latent)
    # the shipped model's learned 10-component prior: two ellipses per component, each mean with its weight
    (prior,) = [o for o in view["overlays"] if o["name"].startswith("learned prior: 10 components")]
    assert len(prior["lines"]) == 20 and len(prior["points"]) == 10
    assert view["density"] is True
    density = _payload_header(latent)["density"]
    assert density["nx"] > 10 and density["ny"] > 10  # the aggregate posterior on a grid, drawn under the dots


def test_train_page_replays_the_active_models_timeline(runs_dir):
    at = open_app("train")
    assert any("How the active model learned" in s.value for s in at.subheader)
    replay = at.select_slider(key="replay-active-pretrained")
    last = replay.value
    replay.set_value(0).run()
    assert not at.exception
    assert any(c.startswith("step ") and "s into training" in c for c in _captions(at))
    assert last > 0
