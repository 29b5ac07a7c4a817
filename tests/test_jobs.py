"""Background jobs: real fits in threads, bounded concurrency, stop, failure."""

import time

import pytest

from cvae.config import TrainConfig
from cvae.service.jobs import BusyError, JobRegistry
from cvae.store.checkpoint import load_checkpoint
from tests.conftest import wait_until_done as _wait


def test_jobs_queue_behind_the_running_one_and_save(tmp_path):
    registry = JobRegistry(tmp_path, max_running=1, max_queued=2)
    config = TrainConfig(epochs=1, batch_size=400)  # 10 steps on mnist-5k
    first, second = registry.start(config, "first"), registry.start(config, "second")
    with pytest.raises(BusyError, match="already running or waiting"):
        registry.start(config, "third")
    time.sleep(0.5)
    assert second.status == "queued"
    _wait(first)
    _wait(second)
    assert first.status == second.status == "finished"
    assert first.first_point_s is not None and first.first_point_s > 0
    assert len(load_checkpoint(tmp_path / "first").history) == 10
    assert [j.name for j in registry.jobs()] == ["first", "second"]


def test_stop_keeps_the_model_and_saves_it(tmp_path):
    registry = JobRegistry(tmp_path)
    job = registry.start(TrainConfig(epochs=50, batch_size=100), "long")
    deadline = time.time() + 300
    while len(job.history) < 3 and time.time() < deadline:
        time.sleep(0.05)
    job.stop()
    _wait(job, 30)
    assert job.status == "stopped" and job.saved
    assert 3 <= len(load_checkpoint(tmp_path / "long").history) < 2000


def test_bad_run_name_and_failing_job(tmp_path):
    registry = JobRegistry(tmp_path)
    with pytest.raises(ValueError, match="invalid run name"):
        registry.start(TrainConfig(), "../escape")
    job = registry.start(TrainConfig(dataset="mnist", data_dir=str(tmp_path / "missing")), "nodata")
    _wait(job, 60)
    assert job.status == "failed" and "train-images-idx3-ubyte" in job.message


def test_a_new_server_sweeps_what_killed_saves_left_in_the_runs_directory(tmp_path):
    import os

    from cvae import atomic

    debris = tmp_path / ".run-1.tmp-k9"
    debris.mkdir(parents=True)
    (debris / "params.npz").write_bytes(b"half written")
    long_ago = time.time() - atomic.STALE_S - 1
    os.utime(debris, (long_ago, long_ago))
    JobRegistry(tmp_path)
    assert list(tmp_path.iterdir()) == []
