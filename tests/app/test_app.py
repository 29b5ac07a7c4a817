"""Every page under Streamlit's AppTest with the shipped model; a tiny training to completion."""

import base64
import json

import numpy as np
import pytest

from tests.conftest import page_path, wait_until_done

PAGES = ["home", "train", "latent", "manifold", "your_digit"]


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_with_the_shipped_model(app, page):
    app.switch_page(page_path(page)).run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]


def test_home_shows_model_and_layer_tables(app):
    assert "variational autoencoder" in app.markdown[0].value
    assert len(app.dataframe) == 2
    assert "pretrained" in app.sidebar.selectbox[0].value


def _images(app) -> dict[str, str]:
    """caption -> media URL of every image on the page."""
    return {img.caption: img.url for element in app.get("image") for img in element.proto.imgs}


def _map_view(app) -> dict:
    """The JSON the Latent page hands its map component (the pinned point, the overlays)."""
    views = [c for c in app.get("bidi_component") if c.proto.component_name == "cvae_latent_map_view"]
    return json.loads(views[0].proto.bytes)


def test_latent_pinned_point_is_decoded(app):
    """The map's pins (tests/e2e/test_latent_map_browser.py) set z_0, z_1; the page follows them."""
    app.switch_page(page_path("latent")).run()
    assert _map_view(app)["pinned"]["z"] == [0.0, 0.0]
    before = _images(app)["one draw from p(x|z)"]
    app.session_state["z_0"] = 1.5
    app.session_state["z_1"] = -1.0
    app.run()
    assert not app.exception
    assert _map_view(app)["pinned"]["z"] == [1.5, -1.0]
    assert _images(app)["one draw from p(x|z)"] != before
    assert any("Bernoulli" in c.value for c in app.caption)


def test_latent_picked_digit_shows_original_reconstruction_and_posterior(app):
    app.switch_page(page_path("latent")).run()
    app.session_state["picked"] = 7
    app.run()
    assert not app.exception
    assert {"original", "reconstruction"} <= set(_images(app))
    assert any("Picked test digit #7" in m.value for m in app.markdown)
    assert any("q(z|x): mean" in m.value for m in app.markdown)


def test_manifold_controls(app):
    app.switch_page(page_path("manifold")).run()
    assert "10 x 10 decoded grid" in _images(app)
    app.slider(key="manifold_n").set_value(5).run()
    assert not app.exception
    assert "5 x 5 decoded grid" in _images(app)


@pytest.mark.slow
def test_train_page_trains_a_tiny_model_to_completion(app):
    app.switch_page(page_path("train")).run()
    epochs = next(w for w in app.number_input if w.label == "Epochs")
    batch = next(w for w in app.number_input if w.label == "Batch size")
    epochs.set_value(1)
    batch.set_value(200)
    next(b for b in app.button if b.label == "Start training").click().run()
    assert not app.exception, app.exception
    from ui import jobs

    job = jobs.job_registry().get(app.session_state["job"])
    wait_until_done(job, timeout=600)
    assert job.status == "finished", job.message
    app.run()
    assert not app.exception
    assert any("Saved as" in s.value for s in app.success)
    history = job.history
    assert len(history) == 20 and np.all(np.isfinite(history.neg_elbo)) and np.all(np.isfinite(history.kl))
    assert app.session_state["active_run"].endswith(job.name)
    assert _elbo_points(app) == 20
    # a replica that came late, while the run was being saved, has none of the stream: the page shows the
    # saved run, which is whole
    from cvae.jobs.stream import LiveRun

    job.live = LiveRun()
    app.run()
    assert not app.exception and _elbo_points(app) == 20


def _elbo_points(at) -> int:
    """The points of the -ELBO line on the Train page's chart of a finished job."""
    traces = [t for chart in at.get("plotly_chart") for t in json.loads(chart.proto.spec)["data"]]
    (x,) = [t["x"] for t in traces if t.get("name") == "-ELBO (raw)"]
    return len(np.frombuffer(base64.b64decode(x["bdata"]), x["dtype"]) if isinstance(x, dict) else x)


def test_classroom_preset_fills_the_form(app):
    app.switch_page(page_path("train")).run()
    assert next(w for w in app.number_input if w.label == "Epochs").value == 5
    next(b for b in app.button if b.label.startswith("Classroom preset")).click().run()
    assert next(w for w in app.number_input if w.label == "Epochs").value == 30
    assert app.session_state["cfg_lr"] == 3e-3 and app.session_state["cfg_arch"] == "keras-example"
    assert not app.exception


def test_figure_downloads_on_latent_and_manifold(app):
    for page in ("latent", "manifold"):
        app.switch_page(page_path(page)).run()
        assert {b.proto.label for b in app.get("download_button")} == {"Download PNG", "Download SVG"}


def test_page_reruns_compile_nothing(app, monkeypatch):
    """Compiled functions live with the server-wide cached model: a rerun only calls them."""
    import pytensor

    app.switch_page(page_path("latent")).run()
    app.session_state["z_0"] = 0.5
    app.run()
    compiled = []
    real = pytensor.function
    monkeypatch.setattr(pytensor, "function", lambda *a, **k: compiled.append(a) or real(*a, **k))
    app.session_state["z_0"] = 1.0
    app.run()
    assert _map_view(app)["pinned"]["z"] == [1.0, 0.0]
    app.switch_page(page_path("manifold")).run()
    app.switch_page(page_path("latent")).run()
    assert not app.exception
    assert compiled == []


def test_train_page_says_when_the_compile_cache_is_still_warming(app, monkeypatch):
    from ui import jobs

    monkeypatch.setattr(jobs, "warming_up", lambda: False)
    app.switch_page(page_path("train")).run()
    assert not any("compiling the training code" in c.value for c in app.caption)
    monkeypatch.setattr(jobs, "warming_up", lambda: True)
    app.run()
    assert any("compiling the training code in the background" in c.value for c in app.caption)


def test_navigation_runs_bare_as_a_spawned_process_reruns_it():
    """A process spawned from one whose __main__ is navigation.py (AppTest's, say, when a test then starts
    Dask workers) runs it again, bare: it must not fail there."""
    import subprocess
    import sys

    from cvae.settings import ROOT

    app_state = ("ui.access", "ui.jobs", "ui.model_cache", "ui.model_choice", "ui.session_keys")  # its state
    run = (  # as multiprocessing's spawn does; then: did it start the app (its state, a cluster, PyMC)?
        "import runpy, sys; runpy.run_path('navigation.py', run_name='__mp_main__'); "
        f"print(sorted(m for m in {(*app_state, 'distributed', 'pymc', 'cvae.db')!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", run], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
