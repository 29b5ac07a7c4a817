"""Training jobs on a real Dask cluster (two worker processes): queue order, live points, stop,
a worker killed mid-fit, ownership and quotas, the result saved like an import."""

import os
import signal
import threading
import time

import pytest

from cvae.config import TrainConfig
from cvae.jobs.records import WORKER_LOST
from cvae.jobs.registry import BusyError, NotAllowed
from cvae.store.checkpoint import load_checkpoint
from harness.metrics import merge_metrics
from tests.conftest import wait_until_done

pytestmark = pytest.mark.slow
TINY = TrainConfig(epochs=1, batch_size=400)  # 10 steps of the default network on mnist-5k


def _wait_for(condition, timeout=300.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_fits_on_two_workers_all_finish_in_queue_order_and_are_saved(tmp_path, registry_on):
    """Four fits on two workers, the first much longer: the two that wait start in the order they were
    asked for (Dask alone would hand the fourth to the worker that frees first, ahead of the third)."""
    registry = registry_on(tmp_path, max_queued=4)
    configs = [TINY.replace(epochs=4), TINY, TINY, TINY]
    jobs = [registry.start(config.replace(seed=k), f"fit-{k}", session=f"s{k}")[0] for k, config in enumerate(configs)]
    with pytest.raises(BusyError, match="already running or waiting"):
        registry.start(TINY, "fifth", session="s5")
    positions = {registry.queue_position(jobs[2]), registry.queue_position(jobs[3])}
    assert positions == {1, 2}, "two fits wait, numbered in line"
    wait_until_done(jobs[0])
    for job in jobs:
        wait_until_done(job)
    assert [job.status for job in jobs] == ["finished"] * 4, [job.message for job in jobs]
    started = [job.live.started_at for job in jobs]
    assert max(started[:2]) < started[2] < started[3], f"the queued fits started out of order: {started}"
    for k, job in enumerate(jobs):
        saved = load_checkpoint(tmp_path / f"fit-{k}")
        assert job.saved and saved.config.seed == k and len(saved.history) == (40 if k == 0 else 10)
        assert saved.history.to_dict() == job.history.to_dict()  # the live stream saw every step
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".fit-")]  # no staging left


def test_live_points_arrive_while_the_fit_runs(tmp_path, registry_on):
    registry = registry_on(tmp_path)
    job, _ = registry.start(TrainConfig(epochs=3, batch_size=100), "live", session="s")
    seen = []
    while job.active:
        if job.status == "running":
            seen.append(len(job.history))
        time.sleep(0.05)
    assert job.status == "finished", job.message
    total = job.plan.total_steps
    during = sorted({n for n in seen if 0 < n < total})
    assert len(during) >= 3, f"points should stream in while training; counts seen: {during}"
    assert job.first_point_s is not None and job.first_point_s > 0
    assert job.live.snapshots and job.live.labels is not None and len(job.live.labels) == 1000


def test_stop_from_another_thread_keeps_and_saves_the_model(tmp_path, registry_on):
    registry = registry_on(tmp_path)
    job, token = registry.start(TrainConfig(epochs=50, batch_size=100), "long", session="s")
    _wait_for(lambda: len(job.history) >= 3, what="three points")
    asked = time.monotonic()
    threading.Thread(target=registry.stop, args=(job.id,), kwargs={"token": token}).start()
    wait_until_done(job, timeout=60)
    assert job.status == "stopped" and job.saved, job.message
    assert time.monotonic() - asked < 10
    assert 3 <= len(load_checkpoint(tmp_path / "long").history) < 2000


def test_a_worker_killed_mid_fit_fails_its_job_and_saves_nothing(tmp_path, registry_on):
    registry = registry_on(tmp_path)
    doomed, _ = registry.start(TrainConfig(epochs=50, batch_size=100), "doomed", session="a")
    other, _ = registry.start(TINY.replace(epochs=3), "survivor", session="b")
    _wait_for(lambda: len(doomed.history) >= 2, what="the fit to be running")
    os.kill(doomed.live.pid, signal.SIGKILL)
    killed = time.monotonic()
    _wait_for(lambda: not doomed.active, timeout=30, what="the job to fail")  # a bound on loaded cores
    # How it was found, not how fast (a wall-clock bound flaked on two loaded cores): the worker's loss itself
    # (the scheduler's KilledWorker, or the fit started again elsewhere), not a timeout of the registry's
    merge_metrics({"worker_killed_to_job_failed_s": round(time.monotonic() - killed, 2)})
    assert doomed.status == "failed" and doomed.message == WORKER_LOST, doomed.message
    assert not (tmp_path / "doomed").exists()
    assert not [p for p in tmp_path.iterdir() if "doomed" in p.name]  # nothing half-saved
    wait_until_done(other)
    assert other.status == "finished" and (tmp_path / "survivor" / "params.npz").is_file()


def test_only_the_owner_or_the_teacher_may_stop_a_job(tmp_path, registry_on):
    registry = registry_on(tmp_path)
    job, token = registry.start(TrainConfig(epochs=50, batch_size=100), "owned", session="a")
    with pytest.raises(NotAllowed):
        registry.stop(job.id, token=None)
    with pytest.raises(NotAllowed):
        registry.stop(job.id, token="0" * 32)
    with pytest.raises(NotAllowed):
        registry.stop(job.id, token=token[:-1] + ("0" if token[-1] != "0" else "1"))
    assert job.active
    registry.stop(job.id, token=None, teacher=True)
    wait_until_done(job, timeout=120)
    assert job.status in ("stopped", "finished")


def test_one_training_per_session_and_clear_name_errors(tmp_path, registry_on):
    registry = registry_on(tmp_path)
    job, token = registry.start(TrainConfig(epochs=50, batch_size=100), "mine", session="a")
    with pytest.raises(BusyError, match="you already have a training"):
        registry.start(TINY, "another", session="a")
    with pytest.raises(ValueError, match="invalid run name"):
        registry.start(TINY, "../escape", session="b")
    registry.stop(job.id, token=token)
    wait_until_done(job, timeout=120)
    with pytest.raises(ValueError, match="already exists"):
        registry.start(TINY, "mine", session="a")


def test_a_failing_fit_reports_why(tmp_path, registry_on):
    registry = registry_on(tmp_path)
    job, _ = registry.start(TrainConfig(dataset="mnist", data_dir=str(tmp_path / "missing")), "nodata", session="s")
    wait_until_done(job, timeout=120)
    assert job.status == "failed" and "train-images-idx3-ubyte" in job.message
    assert not (tmp_path / "nodata").exists()


def test_a_restarted_registry_says_which_jobs_the_cluster_lost(tmp_path, registry_on, dask_client):
    from distributed import Event

    first = registry_on(tmp_path)
    job, _ = first.start(TrainConfig(epochs=50, batch_size=100), "interrupted", session="s")
    _wait_for(lambda: len(job.history) >= 1, what="the fit to run")
    dask_client.unpublish_dataset(job.topic)  # a new embedded cluster would not know the job either
    second = registry_on(tmp_path)
    second.client  # noqa: B018  connected, as a server connects at start
    again = second.get(job.id)
    assert again is not None and again.name == "interrupted", "the new server lists the job from the database"
    _wait_for(lambda: again.status == "interrupted", timeout=30, what="the lost job to be marked")
    assert "restarted" in again.message and not again.saved
    _wait_for(lambda: job.status == "interrupted", timeout=30, what="every process to agree")
    Event(job.stop_event, client=dask_client).set()  # the orphaned fit stops within a step...
    _wait_for(job.future.done, timeout=120, what="the orphaned fit to end")
    time.sleep(1.0)
    assert not (tmp_path / "interrupted").exists(), "...and nobody saves a job the table calls interrupted"


def test_a_new_server_sweeps_what_killed_saves_left_in_the_runs_directory(tmp_path, registry_on):
    from cvae import atomic

    debris = tmp_path / ".run-1.tmp-k9"
    debris.mkdir(parents=True)
    (debris / "params.npz").write_bytes(b"half written")
    long_ago = time.time() - atomic.STALE_S - 1
    os.utime(debris, (long_ago, long_ago))
    registry_on(tmp_path)
    assert not debris.exists()
