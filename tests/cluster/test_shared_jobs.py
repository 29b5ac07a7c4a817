"""Training jobs shared by several web processes through one database and one Dask scheduler.

Each registry here is what one replica holds: its own Database engine and its own Dask client, on
SQLite and on PostgreSQL. (tests/e2e/test_replicas.py does the same with real Streamlit replicas
behind HAProxy, and kill -9.)"""

import os
import signal
import socket
import subprocess
import sys
import time
from functools import partial

import pytest
from distributed import Client

from cvae.config import TrainConfig
from cvae.db import Database
from cvae.jobs.registry import BusyError, JobRegistry, NotAllowed
from cvae.store.checkpoint import load_checkpoint
from tests.conftest import wait_until_done

pytestmark = pytest.mark.slow
LONG = TrainConfig(epochs=50, batch_size=100)  # minutes: only ever stopped or interrupted


def _wait_for(condition, timeout=600.0, what="condition"):  # a bound on loaded cores, not a speed claim
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def replicas(tmp_path, database_url, dask_client):
    """`replicas(n)`: n registries over one runs folder, one database and one scheduler, each with its
    own engine and Dask client, as n web processes have."""
    made = []

    def make(n: int, *, max_queued: int = 4):
        for _ in range(n):
            client = Client(dask_client.scheduler.address, security=dask_client.security, set_as_default=False)
            db = Database(database_url)
            db.upgrade()
            made.append((JobRegistry(tmp_path, db, max_queued=max_queued, connect=lambda c=client: c), client, db))
            made[-1][0].client  # noqa: B018  connected, as the app connects at start
        return [registry for registry, _, _ in made[-n:]]

    yield make
    for registry, client, db in made:
        registry.close()
        client.close()
        db.dispose()


def test_a_job_started_through_one_replica_is_listed_followed_and_stopped_by_its_owner_through_another(
    tmp_path, replicas
):
    a, b = replicas(2)
    job, token = a.start(LONG, "shared", session="tab-on-a")
    _wait_for(lambda: b.get(job.id) is not None and len(b.get(job.id).history) >= 3, what="B to see live points")
    seen = b.get(job.id)
    assert seen.name == "shared" and seen.status == "running" and seen in b.jobs()
    assert b.owner_token(seen) == token, "every replica signs owner tokens with the same secret"
    for stranger in (None, "0" * 32, token[:-1] + ("0" if token[-1] != "0" else "1")):
        with pytest.raises(NotAllowed):
            b.stop(job.id, token=stranger)
    assert seen.active
    b.stop(job.id, token=token)
    wait_until_done(seen, timeout=120)
    wait_until_done(job, timeout=30)
    assert seen.status == job.status == "stopped" and seen.saved and job.saved, (seen.message, job.message)
    assert 3 <= len(load_checkpoint(tmp_path / "shared").history) < 2000
    assert [p.name for p in tmp_path.iterdir() if "shared" in p.name] == ["shared"], "saved exactly once"


def test_the_replica_that_started_a_job_dying_loses_nothing(tmp_path, replicas):
    a, b = replicas(2)
    job, _ = a.start(TrainConfig(epochs=3, batch_size=100), "orphan", session="tab-on-a")
    _wait_for(lambda: len(job.history) >= 2, what="the fit to run")
    a.close()
    a.client.close()  # as a killed process's connection ends: the scheduler keeps the published future
    seen = b.get(job.id)
    wait_until_done(seen, timeout=300)
    assert seen.status == "finished" and seen.saved, seen.message
    assert len(load_checkpoint(tmp_path / "orphan").history) == 120, "every step of 3 epochs of 40"
    assert [p.name for p in tmp_path.iterdir() if "orphan" in p.name] == ["orphan"], "saved exactly once"


@pytest.mark.parametrize("dies", ["before-writing", "after-writing"])
def test_a_replica_that_dies_while_saving_loses_nothing(tmp_path, replicas, database_url, monkeypatch, dies):
    """A claims the save and dies before writing the run, or after writing it but before saying so: the
    claim goes stale and B saves the run, exactly once (a run already written is kept, not written again)."""
    from cvae.jobs import registry as registry_module
    from cvae.jobs.saving import save_result

    monkeypatch.setattr(registry_module, "SAVE_STALE_S", 3.0)
    (a,) = replicas(1)
    last_words = {"before-writing": lambda job, future: None, "after-writing": partial(save_result, runs_root=tmp_path)}
    a._save = lambda job, future: (last_words[dies](job, future), a.close())  # claimed, then gone
    job, _ = a.start(TrainConfig(epochs=2, batch_size=100), "half-saved", session="tab-on-a")
    _wait_for(lambda: _row(database_url, job.id).status == "saving", timeout=300, what="A to claim the save")
    (b,) = replicas(1)  # B comes after A's claim: B cannot claim first
    _wait_for(lambda: b.get(job.id) is not None, what="B to list the job")
    seen = b.get(job.id)
    wait_until_done(seen, timeout=120)
    assert seen.status == "finished" and seen.saved, seen.message
    assert len(load_checkpoint(tmp_path / "half-saved").history) == 80, "every step of 2 epochs of 40"
    assert [p.name for p in tmp_path.iterdir() if "half-saved" in p.name] == ["half-saved"], "saved exactly once"
    row = _row(database_url, job.id)  # what every replica reads
    assert (row.status, row.saved) == ("finished", True)


def _row(database_url: str, job_id: str):
    from cvae.db.schema import JobRecord

    db = Database(database_url)
    try:
        with db.transaction() as session:
            return session.get(JobRecord, job_id)
    finally:
        db.dispose()


def test_a_replica_that_comes_late_catches_up_on_the_whole_stream(replicas, dask_client):
    """The scheduler keeps only a topic's last events: a replica that starts following mid-fit (a new
    one, a restarted one, the survivor of a killed one) asks the worker for the whole stream."""
    (a,) = replicas(1)
    job, token = a.start(LONG, "late", session="s")  # still running when B comes, however fast the fit
    _wait_for(lambda: len(job.history) >= 40, what="an epoch of points")
    topic = job.topic

    def forget_the_start(dask_scheduler=None):
        dask_scheduler._broker.truncate(topic)

    dask_client.run_on_scheduler(forget_the_start)  # what a long fit's early events come to
    (b,) = replicas(1)
    seen = b.get(job.id)
    _wait_for(lambda: seen.live.complete, timeout=120, what="B to have the whole stream")
    assert len(seen.history) >= 40 and seen.plan == job.plan and seen.live.labels is not None
    a.stop(job.id, token=token)
    wait_until_done(job)
    wait_until_done(seen)
    assert seen.live.gaps == 0 and seen.history.to_dict() == job.history.to_dict(), "every point, once, in order"
    assert seen.live.snapshots, "and the live map's latest snapshot"


def test_the_queue_limit_and_the_queue_order_hold_across_replicas(tmp_path, replicas, dask_client):
    a, b = replicas(2, max_queued=2 + sum(dask_client.nthreads().values()))
    running = [r.start(LONG, f"busy-{k}", session=f"s{k}")[0] for k, r in enumerate((a, b))]
    first, _ = b.start(TrainConfig(epochs=1, batch_size=400), "first", session="s2")
    time.sleep(0.05)
    second, _ = a.start(TrainConfig(epochs=1, batch_size=400), "second", session="s3")
    with pytest.raises(BusyError, match="already running or waiting"):
        b.start(LONG, "one-too-many", session="s4")
    _wait_for(lambda: all(j.status == "running" for j in running), what="both workers busy")
    assert a.queue_position(a.get(first.id)) == 1 and a.queue_position(second) == 2
    for registry, job in zip((a, b), running):
        registry.stop(job.id, token=None, teacher=True)
    wait_until_done(first)
    wait_until_done(second)
    assert first.status == second.status == "finished"
    assert first.live.started_at <= second.live.started_at, "the older job starts first, whoever queued it"
    for job in running:
        wait_until_done(job, timeout=120)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dask(*args: str, log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def test_a_scheduler_restart_marks_running_jobs_interrupted(tmp_path, database_url):
    """A real scheduler process killed and started again at its address: the jobs it ran are gone from
    the cluster, and the registry says so instead of showing them running for ever."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = open(tmp_path / "dask.log", "ab")  # noqa: SIM115  closed in the finally below, after the processes
    scheduler = _dask("distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port), log=log)
    worker = _dask("distributed.cli.dask_worker", address, "--nthreads", "1", "--nworkers", "1", log=log)
    db = Database(database_url)
    db.upgrade()
    client = Client(address, timeout=60, set_as_default=False)
    registry = JobRegistry(tmp_path / "runs", db, max_queued=4, connect=lambda: client)
    try:
        job, _ = registry.start(LONG, "cut-short", session="s")
        _wait_for(lambda: len(job.history) >= 1, timeout=300, what="the fit to run")
        os.killpg(scheduler.pid, signal.SIGKILL)
        scheduler.wait()
        scheduler = _dask("distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port), log=log)
        _wait_for(lambda: job.status == "interrupted", timeout=120, what="the job to be marked interrupted")
        assert "nothing was saved" in job.message and not job.saved
        assert not (tmp_path / "runs" / "cut-short").exists()
        with db.transaction() as session:  # what every other replica reads
            from cvae.db.schema import JobRecord

            assert session.get(JobRecord, job.id).status == "interrupted"
    finally:
        registry.close()
        client.close()
        for process in (worker, scheduler):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        db.dispose()
        log.close()
