"""Sessions share one server process: shared objects stay untouched, each session keeps its own model,
and the job registry bounds trainings even under a burst of simultaneous starts."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time

import numpy as np
import pytest

from cvae.config import TrainConfig
from cvae.jobs.registry import BusyError, JobRegistry
from cvae.model.vae import VAE
from cvae.store.checkpoint import save_checkpoint
from tests import factories
from tests.conftest import open_app


def _session(page: str | None = None):
    return open_app(page, timeout=300)


@pytest.fixture
def runs(runs_dir):
    return runs_dir


def _digest(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


# --- one session's choices never reach another ----------------------------------------------------


def test_a_model_chosen_in_one_session_is_not_the_other_sessions(runs):
    save_checkpoint(runs / "other", VAE(TrainConfig(seed=8)), factories.history(), status="finished")
    a, b = _session(), _session()
    assert "pretrained" in a.sidebar.selectbox[0].value and "pretrained" in b.sidebar.selectbox[0].value
    a.sidebar.selectbox(key="model_picker").select("other").run()
    assert not a.exception and a.session_state["active_run"].endswith("other")
    b.run()
    assert "active_run" not in b.session_state and "pretrained" in b.sidebar.selectbox[0].value
    a.run()  # and a rerun of the first does not fall back either
    assert a.sidebar.selectbox[0].value == "other"


def test_shared_cached_objects_are_read_only_and_unchanged_by_sessions(runs):
    from ui.model_cache import encoded_for, model_for
    from ui.model_choice import PRETRAINED

    a, b = _session("latent"), _session("your_digit")
    checkpoint = model_for(PRETRAINED)  # the server-wide cached objects the sessions share
    encoded = encoded_for(PRETRAINED)
    weights_before = _digest(checkpoint.vae.weights().values())
    encoded_before = _digest([encoded.images, encoded.labels, encoded.mu, encoded.sd])
    for array in (encoded.images, encoded.labels, encoded.mu, encoded.sd):
        assert not array.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            array[(0,) * array.ndim] = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        encoded.mu = np.zeros(3)
    # both sessions work the shared model hard: pinned points, picks, an uploaded digit
    for value in (1.5, -2.0, 0.3):
        a.session_state["z_0"] = value  # where the map's pins put it (tests/e2e/test_latent_map_browser.py)
        a.run()
    a.session_state["picked"] = 5
    a.run()
    b.button(key="digit_example").click().run()
    assert not a.exception and not b.exception
    assert _digest(checkpoint.vae.weights().values()) == weights_before, "a session changed the shared weights"
    assert _digest([encoded.images, encoded.labels, encoded.mu, encoded.sd]) == encoded_before, (
        "a session changed the shared encoded test set"
    )


def test_decoded_arrays_are_private_copies():
    explorer_vae = VAE(TrainConfig(seed=2))
    z = np.array([[0.5, -0.5]], np.float32)
    first = explorer_vae.decode(z)
    reference = first.copy()
    first[:] = 0.0  # a session scribbling on its result must not reach the next caller
    np.testing.assert_array_equal(explorer_vae.decode(z), reference)
    mu, sd = explorer_vae.encode(np.zeros((1, 1, 28, 28), np.float32))
    mu[:] = 99.0
    assert np.all(explorer_vae.encode(np.zeros((1, 1, 28, 28), np.float32))[0] != 99.0)


def test_many_threads_decoding_one_shared_model_get_exact_answers():
    """Sessions run on separate threads of one process; the compiled function is shared."""
    vae = VAE(TrainConfig(seed=3))
    rng = np.random.default_rng(0)
    points = [rng.normal(size=(4, 2)).astype(np.float32) for _ in range(16)]
    expected = [vae.decode(z) for z in points]  # one thread, one at a time
    errors: list[str] = []
    barrier = threading.Barrier(8)

    def worker(k: int) -> None:
        barrier.wait()
        for i in range(60):
            j = (k * 7 + i) % len(points)
            out = vae.decode(points[j])
            if not np.array_equal(out, expected[j]):
                errors.append(f"thread {k} call {i}: wrong decode for point set {j}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


# --- the job registry bounds trainings ------------------------------------------------------------


def test_a_burst_of_starts_is_bounded_by_max_queued(tmp_path, db):
    """40 sessions press Start at the same instant: exactly max_queued are accepted, and on a
    cluster with no free worker every accepted job waits in line until stopped (SQLite and PostgreSQL)."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        registry = JobRegistry(tmp_path, db, max_queued=4, connect=lambda: client)
        barrier = threading.Barrier(40)
        accepted, refused = [], []
        lock = threading.Lock()

        def press(k: int) -> None:
            barrier.wait()
            try:
                job, token = registry.start(TrainConfig(epochs=1), f"burst-{k}", session=f"session-{k}")
            except BusyError:
                with lock:
                    refused.append(k)
            else:
                with lock:
                    accepted.append((job, token))

        threads = [threading.Thread(target=press, args=(k,)) for k in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(accepted) == 4 and len(refused) == 36
        assert all(job.status == "queued" for job, _ in accepted)
        assert sorted(registry.queue_position(job) for job, _ in accepted) == [1, 2, 3, 4]
        for job, token in accepted:
            registry.stop(job.id, token=token)
        assert [job.status for job, _ in accepted] == ["stopped"] * 4  # none ever trained
        registry.close()
    assert not any(p.name.startswith("burst") for p in tmp_path.iterdir())


def _on_a_worker(job) -> bool:
    """The job's fit is on a training worker now: started, and its task not yet returned."""
    return job.status in ("preparing", "running") and job.future is not None and not job.future.done()


@pytest.mark.slow
def test_two_sessions_training_at_once_each_keep_their_own_model(runs, monkeypatch):
    """Two sessions start a tiny training each on a server with one training worker: the second waits
    in the queue (never two fits at once), each session adopts its own run when it finishes, and
    a third session that trained nothing keeps the shipped model throughout."""
    monkeypatch.setenv("CVAE_WORKERS", "1")
    from ui.jobs import job_registry

    a, b = _session("train"), _session("train")
    bystander = _session("latent")
    for session, name in ((a, "run-a"), (b, "run-b")):
        next(w for w in session.number_input if w.label == "Epochs").set_value(1)
        next(w for w in session.number_input if w.label == "Batch size").set_value(400)  # 10 steps
        next(w for w in session.text_input if w.label.startswith("Run name")).set_value(name)
        next(x for x in session.button if x.label == "Start training").click().run()
        assert not session.exception, session.exception
    registry = job_registry()
    job_a, job_b = registry.get(a.session_state["job"]), registry.get(b.session_state["job"])
    assert (job_a.name, job_b.name) == ("run-a", "run-b")
    busy_together, checked_midway = 0, False
    deadline = time.time() + 900
    while (job_a.active or job_b.active) and time.time() < deadline:
        # on the cluster: a job whose task has returned is saving its run, its worker already free
        # (the dispatcher counts the same way); b first, since b can only start once a's task is done
        busy_together += _on_a_worker(job_b) and _on_a_worker(job_a)
        if job_a.status == "finished" and job_b.active and not checked_midway:
            checked_midway = True
            bystander.run()
            a.run()
            assert a.session_state["active_run"].endswith("run-a")  # a adopted its own run ...
            assert "active_run" not in b.session_state  # ... and b, still waiting, did not
            assert "active_run" not in bystander.session_state
        time.sleep(0.05)
    assert job_a.status == job_b.status == "finished", (job_a.message, job_b.message)
    assert busy_together == 0, "two fits ran at once on a one-training server"
    assert checked_midway, "never saw a finished while b was still training"
    for session in (a, b, bystander):
        session.run()
        assert not session.exception, session.exception
    assert a.session_state["active_run"].endswith("run-a")
    assert b.session_state["active_run"].endswith("run-b")
    assert "active_run" not in bystander.session_state
    assert "pretrained" in bystander.sidebar.selectbox[0].value
