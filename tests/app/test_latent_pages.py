"""Home's per-dimension KL chart and the Manifold page's planes and traversals, under AppTest."""

import json

import numpy as np
import pytest

import cvae
from tests import factories
from tests.conftest import open_app


@pytest.fixture
def latent8(runs_dir):
    """A latent-8 checkpoint (untrained weights: its codes still vary) as the session's only run."""
    return factories.saved_run(runs_dir / "l8", steps=80, latent_dim=8, epochs=2)


def _images(at) -> dict[str, str]:
    return {img.caption: img.url for element in at.get("image") for img in element.proto.imgs}


def _open(page, path):
    at = open_app()
    at.session_state["active_run"] = str(path)
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def test_home_shows_active_units_and_kl_per_dimension(latent8):
    at = _open("home", latent8)
    metric = next(m for m in at.metric if m.label == "active units")
    assert metric.value.endswith("of 8")
    assert any("Burda et al. 2015" in c.value for c in at.caption)
    assert len(at.dataframe) == 2  # the layer tables stay the only tables


def test_home_with_the_shipped_latent_2_model(app):
    assert next(m for m in app.metric if m.label == "active units").value.endswith("of 2")
    assert not app.error


def test_manifold_over_two_chosen_dimensions_held_at_a_digit(latent8):
    at = _open("manifold", latent8)
    assert "10 x 10 decoded grid" in _images(at)
    before = _images(at)["10 x 10 decoded grid"]
    at.selectbox(key="manifold_i").set_value(3).run()
    at.selectbox(key="manifold_j").set_value(6).run()
    at.radio(key="manifold_hold").set_value("digit").run()
    at.number_input(key="manifold_digit").set_value(5).run()
    assert not at.exception and not at.error
    assert any("(z4, z7)" in c.value and "test digit #5" in c.value for c in at.caption)
    assert _images(at)["10 x 10 decoded grid"] != before


def test_manifold_pca_plane_says_its_explained_variance(latent8):
    at = _open("manifold", latent8)
    at.radio(key="manifold_plane").set_value("pca").run()
    assert not at.exception and not at.error
    assert any("Explained variance" in c.value and "the data mean" in c.value for c in at.caption)
    at.slider(key="manifold_n").set_value(4).run()
    assert "4 x 4 decoded grid" in _images(at)


def test_manifold_same_dimension_twice_is_a_clear_error(latent8):
    at = _open("manifold", latent8)
    at.selectbox(key="manifold_j").set_value(0).run()
    assert not at.exception
    assert any("two different dimensions" in e.value for e in at.error)
    assert "8 x 9 traversal" in _images(at)  # the traversal tab still works


def test_traversal_rows_follow_kl_and_the_controls(latent8):
    at = _open("manifold", latent8)
    assert "8 x 9 traversal" in _images(at)
    caption = next(c.value for c in at.caption if "rows are sorted by" in c.value)
    kls = [float(part.split("(")[1].split(" nats")[0]) for part in caption.split("most first: ")[1].split("), ")]
    assert kls == sorted(kls, reverse=True) and len(kls) == 8
    at.slider(key="traversal_rows").set_value(3).run()
    at.slider(key="traversal_steps").set_value(5).run()
    at.radio(key="traversal_center").set_value("digit").run()
    at.radio(key="traversal_scale").set_value("data").run()
    assert not at.exception and not at.error
    assert "3 x 5 traversal" in _images(at)
    assert any("test digit #0's code" in c.value for c in at.caption)


def test_manifold_of_a_conditional_model_decodes_as_a_chosen_label(runs_dir):
    path = factories.saved_run(runs_dir / "cvae4", steps=80, latent_dim=4, epochs=2, conditional=True)
    at = _open("manifold", path)
    averaged = _images(at)["10 x 10 decoded grid"]
    at.selectbox(key="manifold_label").set_value(3).run()
    assert not at.exception and not at.error
    assert _images(at)["10 x 10 decoded grid"] != averaged
    assert "4 x 9 traversal" in _images(at)


@pytest.mark.parametrize("kind", ["pca", "axes"])
def test_your_digit_is_placed_in_a_projection_of_a_latent8_model(latent8, kind):
    """More than two dimensions: the digit's mean and its q(z|x) draws go through the chosen projection."""
    from cvae.viz.images import to_png

    at = _open("your_digit", latent8)
    images = cvae.load_dataset("mnist-5k", "test").images
    at.session_state["digit_input"] = {"kind": "upload", "data": to_png(1.0 - images[7, 0], 200), "name": "scan.png"}
    at.session_state["digit_projection"] = kind
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    caption = next(c.value for c in at.caption if c.value.startswith("Your digit among the encoded test digits"))
    assert ("PCA" in caption) if kind == "pca" else ("z1 vs z2" in caption)
    figure = at.get("plotly_chart")[0].proto.spec
    assert "decoded point" in figure and "q(z|x)" in figure


def _saved(runs_dir, name: str, **fields):
    return factories.saved_run(runs_dir / name, steps=80, epochs=2, **fields)


def test_a_conditional_model_decodes_the_same_z_as_every_label(runs_dir):
    path = _saved(runs_dir, "cvae2", conditional=True)
    at = _open("latent", path)
    assert any("The same z as every label" in m.value for m in at.markdown)
    strip = next(e for e in at.get("image") if [i.caption for i in e.proto.imgs] == [str(d) for d in range(10)])
    assert len({i.url for i in strip.proto.imgs}) == 10  # ten different decodes of one z


def test_your_digit_on_a_conditional_model_is_read_with_its_inferred_label(runs_dir):
    from cvae.viz.images import to_png

    path = _saved(runs_dir, "cvae2", conditional=True)
    at = _open("your_digit", path)
    image = cvae.load_dataset("mnist-5k", "test").images[0, 0]
    at.session_state["digit_input"] = {"kind": "upload", "data": to_png(1.0 - image, 200), "name": "scan.png"}
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("it reads your digit as a" in i.value for i in at.info)


def _map_view(at) -> dict:
    views = [c for c in at.get("bidi_component") if c.proto.component_name == "cvae_latent_map_view"]
    return json.loads(views[0].proto.bytes)


def test_a_mixture_prior_is_drawn_as_its_components_and_sampled_from(runs_dir):
    path = _saved(runs_dir, "mix", prior="mixture", prior_components=3)
    at = _open("latent", path)
    at.checkbox(key="show_prior").check().run()
    assert not at.exception, at.exception
    names = [o["name"] for o in _map_view(at)["overlays"]]
    assert any(n.startswith("learned prior: 3 components") for n in names), names
    before = _map_view(at)["pinned"]["z"]
    at.button(key="prior_draw").click().run()
    assert not at.exception, at.exception
    pinned = _map_view(at)["pinned"]
    assert pinned["z"] != before and pinned["index"] is None


def test_the_mixture_prior_overlay_has_one_pair_of_ellipses_per_component():
    from ui.latent.view import _prior_overlay

    p, c = np.eye(2), np.zeros(2)
    standard = _prior_overlay({"weights": [1.0], "means": [[0.0, 0.0]], "sds": [[1.0, 1.0]]}, p, c)
    assert standard["name"].startswith("prior N(0, I)") and len(standard["lines"]) == 3
    mixture = {"weights": [0.5, 0.3, 0.2], "means": [[0, 0], [2, 1], [-1, 3]], "sds": [[1, 1], [0.5, 2], [1, 0.3]]}
    drawn = _prior_overlay(mixture, p, c)
    assert "3 components" in drawn["name"] and len(drawn["lines"]) == 6
    assert [pt[2] for pt in drawn["points"]] == ["0.50", "0.30", "0.20"]
    np.testing.assert_allclose([pt[:2] for pt in drawn["points"]], [[0, 0], [2, 1], [-1, 3]])
    ring = np.asarray(drawn["lines"][2])  # component 2's 1-sd ellipse: half-widths 0.5 and 2 about (2, 1)
    np.testing.assert_allclose(ring.max(axis=0) - ring.min(axis=0), [1.0, 4.0], atol=0.02)
