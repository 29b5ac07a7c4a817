"""The Train page's rules under AppTest: one training per session, and followers watch read-only."""

import pytest

from tests.conftest import open_app, wait_until_done

pytestmark = pytest.mark.slow


def _start(at, epochs: int):
    next(w for w in at.number_input if w.label == "Epochs").set_value(epochs)
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception, at.exception


def test_one_training_per_session_and_a_follower_has_no_stop(runs_dir, monkeypatch):
    from ui.jobs import job_registry

    monkeypatch.setenv("CVAE_WORKERS", "1")
    owner = open_app("train")
    _start(owner, 50)
    job = job_registry().get(owner.session_state["job"])
    assert any(b.label == "Stop" for b in owner.button)
    # the same session, with the job gone from its URL: the server still counts it, and says so
    owner.query_params.clear()
    del owner.session_state["job"]
    owner.run()
    _start(owner, 1)
    assert any("you already have a training queued or running" in e.value for e in owner.error)

    follower = open_app("train")
    next(b for b in follower.button if b.key == f"watch-{job.id}").click().run()
    assert follower.session_state["job"] == job.id
    assert not any(b.label == "Stop" for b in follower.button)
    assert any("Watching (read-only)" in c.value for c in follower.caption)

    job_registry().stop(job.id, token=None, teacher=True)
    wait_until_done(job, timeout=120)
