"""Training jobs, each a task on the Dask cluster, shared by every web process: queue, live view, stop, save.

The jobs table of the database (`cvae.jobs.records`) is what every process agrees on; the cluster
holds the rest: a dispatched job's future is published under its topic (so it outlives the process
that submitted it), its live points and snapshots are events on that topic, and Stop sets its
`distributed.Event`. So a job started through one replica is listed, followed live, stopped by its
owner and saved through any other, and a replica killed mid-fit loses nothing: another one finds
the future and saves the run, exactly once (a conditional UPDATE decides who).

Each process's pump reads the recent jobs every second, hands waiting ones to free worker threads in
the order asked for (Dask alone does not keep it: bench/README.md), follows those it does not yet
follow, and marks interrupted those the cluster no longer has (its scheduler restarted).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from functools import partial
from pathlib import Path

from distributed import Event

from cvae.access import OwnerTokens
from cvae.atomic import sweep
from cvae.config import ConfigError, TrainConfig
from cvae.db import Database, DatabaseError
from cvae.jobs import cluster
from cvae.jobs.connection import Connection
from cvae.jobs.records import ACTIVE, JobRecords, TrainingJob
from cvae.jobs.saving import save_result
from cvae.jobs.stream import LiveRun, forget_stream
from cvae.store.checkpoint import CheckpointError, run_dir

__all__ = ["ACTIVE", "BusyError", "JobRegistry", "NotAllowed", "TrainingJob"]
PUMP_S = 1.0  # how often each process reads the jobs table and looks for free workers
UNPUBLISHED_S = 60.0  # a job claimed for the cluster but not published by then: its process died
SAVE_STALE_S = 60.0  # a save claimed this long ago and not ended: its process died (a save takes ~1 s)
INTERRUPTED = "interrupted: the cluster lost this training (its scheduler or the server restarted); nothing was saved"
log = logging.getLogger(__name__)


class BusyError(RuntimeError):
    """Too many trainings, or this session has one already; the message says which."""


class NotAllowed(PermissionError):
    """A request about a job this session does not own (and it is not the teacher's)."""


class JobRegistry:
    """This process's view of the shared training jobs; one instance per web process (or CLI batch)."""

    def __init__(self, runs_root: Path, db: Database, *, max_queued: int, connect=cluster.connect):
        self.runs_root = Path(runs_root)
        sweep(self.runs_root)  # what saves killed with an earlier server left behind
        self.max_queued = max_queued
        self._connection = Connection(connect)
        self._jobs: dict[str, TrainingJob] = {}
        self._lock = threading.RLock()
        self._records = JobRecords(db, self.runs_root)
        self._tokens = OwnerTokens(db)
        self._closed = threading.Event()
        with contextlib.suppress(DatabaseError):  # said by the first Start; the pump reads it again each second
            self._refresh()
        threading.Thread(target=self._pump, name="cvae-job-pump", daemon=True).start()

    def close(self) -> None:
        """Stop the pump (a test's registry; a web process keeps its registry for life)."""
        self._closed.set()

    @property
    def client(self):
        """The Dask client (`cvae.jobs.connection`); raises ClusterError with a clear message."""
        return self._connection.client

    def connect_in_background(self) -> None:
        self._connection.connect_in_background()

    # ---- reading ------------------------------------------------------------------------------

    def get(self, job_id: str | None) -> TrainingJob | None:
        """A job by id; one another process started a moment ago is read from the database."""
        if not job_id:
            return None
        if job_id not in self._jobs:
            with contextlib.suppress(DatabaseError):
                if (row := self._records.one(job_id)) is not None:
                    self._adopt(row)
        return self._jobs.get(job_id)

    def jobs(self) -> list[TrainingJob]:
        with self._lock:
            return sorted((j for j in self._jobs.values() if j is not None), key=lambda j: j.created)

    def queue_position(self, job: TrainingJob) -> int | None:
        """1 for the next job to start, 2 for the one after...; None once it is on a worker or ended."""
        waiting = self._waiting()
        return waiting.index(job) + 1 if job in waiting else None

    def _waiting(self) -> list[TrainingJob]:
        return [j for j in self.jobs() if j.status == "queued" and not j.dispatched]

    def owner_token(self, job: TrainingJob) -> str:
        return self._tokens.token(job.id)

    def may_stop(self, job: TrainingJob, *, token: str | None, teacher: bool = False) -> bool:
        """Whether a session holding `token` (or the teacher) may stop `job`."""
        return self._tokens.may_stop(job.id, token=token, teacher=teacher)

    # ---- starting and stopping ----------------------------------------------------------------

    def start(
        self, config: TrainConfig, name: str | None = None, *, session: str, one_per_session: bool = True
    ) -> tuple[TrainingJob, str]:
        """Queue a fit of `config` for `session`; returns the job and its owner token.

        Raises BusyError (queue full, or the session has a training already: `one_per_session`
        False for the teacher's sweeps), CheckpointError (a bad or taken run name) or ClusterError
        (no cluster to run it on)."""
        job_id = secrets.token_hex(6)
        name = name or f"{config.arch}-{time.strftime('%Y%m%d-%H%M%S')}-{job_id[:4]}"
        path = run_dir(self.runs_root, name)
        client = self.client
        if path.exists():
            raise CheckpointError(f"a run named {name!r} already exists; choose another name")
        job = TrainingJob(job_id, name, config, path, session=session)
        refused = self._records.insert(job, max_queued=self.max_queued, one_per_session=one_per_session)
        if refused is not None:
            kind, why = refused
            raise (BusyError if kind == "busy" else CheckpointError)(why)
        with self._lock:
            self._jobs[job_id] = job
        self._dispatch(client)
        return job, self.owner_token(job)

    def stop(self, job_id: str, *, token: str | None, teacher: bool = False) -> TrainingJob:
        """Stop a job for its owner or the teacher: a queued one never starts; a running one
        stops within a step and saves what it learned. Anyone else gets NotAllowed."""
        job = self.get(job_id)
        if job is None:
            raise KeyError(f"no training {job_id!r} on this server")
        if not self.may_stop(job, token=token, teacher=teacher):
            raise NotAllowed("only the session that started this training, or the teacher, can stop it")
        if job.status == "queued" and not job.dispatched and self._records.stop_queued(job.id):
            job.status, job.message = "stopped", "stopped before it started"
            return job
        if job.active:
            Event(job.stop_event, client=self.client).set()  # the worker stops within one step
        return job

    # ---- the pump: the shared table and the cluster, every second ------------------------------

    def _pump(self) -> None:
        while not self._closed.wait(PUMP_S):
            try:
                self._refresh()
                client = self._connection.current()
                if client is None and any(job.active and job.dispatched for job in self.jobs()):
                    client = self._connection.try_client()  # a restarted scheduler: reconnect, learn what it lost
                if client is not None and client.status == "running":
                    self._follow(client)
                    self._rescue_saves()
                    self._dispatch(client)
            except Exception:  # the database or the cluster is unreachable just now: next second
                log.debug("job pump", exc_info=True)

    def _refresh(self) -> None:
        """Read the recent jobs; write what this process saw on their streams that the table lacks."""
        for row in self._records.recent():
            self._adopt(row)
            job = self._jobs.get(row.id)
            seen_further = job is not None and job.status in ("preparing", "running") and job.status != row.status
            if seen_further and row.status in ("queued", "preparing"):  # written once per move, not each second
                self._records.advance(job)

    def _adopt(self, row) -> None:
        with self._lock:
            if row.id in self._jobs:  # known (None: unreadable, said once)
                if (job := self._jobs[row.id]) is not None:
                    job.adopt(row)
                return
            try:
                self._jobs[row.id] = self._records.job(row)
            except ConfigError as err:  # a row written by another version: listed nowhere, logged once
                self._jobs[row.id] = None
                log.warning("ignoring job %s: %s", row.id, err)

    def _dispatch(self, client) -> None:
        """Submit waiting jobs, oldest first, while the cluster has a free worker thread for each."""
        waiting = self._waiting()
        if not waiting:
            return
        free = sum(client.nthreads().values()) - self._records.busy()
        for job in waiting[: max(free, 0)]:
            if self._records.claim_dispatch(job.id):  # another process may have taken it first
                job.dispatched = True
                try:
                    self._submit(client, job)
                except Exception as err:
                    self._records.fail(job, f"failed: the cluster refused the training ({type(err).__name__}: {err})")
                    continue
                self._records.published(job.id)
                job.published = True

    def _submit(self, client, job: TrainingJob) -> None:
        from cvae.jobs.fit_task import run_fit

        spec = {
            "id": job.id,
            "name": job.name,
            "config": job.config.to_dict(),
            "topic": job.topic,
            "stop": job.stop_event,
            "catch_up": job.catch_up_event,
        }
        client.subscribe_topic(job.topic, partial(self._on_event, job))
        job.future = client.submit(run_fit, spec, key=f"cvae-fit-{job.name}-{job.id}", pure=False)
        client.publish_dataset(job.future, name=job.topic)  # any process (or a restarted one) finds it there
        job.future.add_done_callback(partial(self._finished, job))

    def _follow(self, client) -> None:
        """Follow the dispatched jobs this process does not follow yet; mark lost the ones the cluster lost."""
        for job in self.jobs():
            if not job.active or not job.published or job.future is not None:
                continue  # not on the cluster yet, or its process is still submitting it (or died doing so: below)
            try:
                future = client.get_dataset(job.topic)
            except KeyError:
                self._records.fail(job, INTERRUPTED)
                continue
            job.future, job.live = future, LiveRun()  # the stream replays from the start
            with contextlib.suppress(Exception):
                client.unsubscribe_topic(job.topic)  # a stale handler from before a reconnect
            client.subscribe_topic(job.topic, partial(self._on_event, job))
            for event in client.get_events(job.topic):  # what the scheduler kept: the last events only
                self._on_event(job, event)
            if not job.live.complete:  # too late for the start: the worker resends it all in one message
                Event(job.catch_up_event, client=client).set()
            future.add_done_callback(partial(self._finished, job))
        for job_id in self._records.unpublished(UNPUBLISHED_S):
            if (job := self._jobs.get(job_id)) is not None:
                self._records.fail(job, INTERRUPTED)

    # ---- what the cluster tells us ----------------------------------------------------------

    def _on_event(self, job: TrainingJob, event) -> None:
        """A message of the job's stream (on the Dask client's thread: quick, no I/O)."""
        job.receive(event[1])

    def _save(self, job: TrainingJob, future) -> None:
        """Save the run (this process claimed it) and record the job's end; the stream is done with."""
        save_result(job, future, self.runs_root)
        self._records.end(job, only_if_active=False)
        if (client := self._connection.current()) is not None:
            forget_stream(client, job.topic)

    def _rescue_saves(self) -> None:
        """Save the runs whose saver died between claiming and finishing (its claim is SAVE_STALE_S old)."""
        for job in self.jobs():
            done = job.future is not None and job.future.done() and not job.future.cancelled()
            if job.status == "saving" and done and self._records.reclaim_save(job.id, SAVE_STALE_S):
                log.warning("job %s: its saver stopped answering; saving it here", job.id)
                self._save(job, job.future)

    def _finished(self, job: TrainingJob, future) -> None:
        """The task ended, or this client lost it (on Dask's callback thread): save its run once."""
        if future.cancelled() and job.active:
            # this client lost the scheduler (or it restarted): the pump looks for the job again
            job.future = None
            return
        try:
            if not job.active:
                self._records.end(job)  # said so already (a second worker, or a cancelled duplicate)
            elif self._records.claim_save(job.id):  # of every process following it, this one saves
                self._save(job, future)
            elif (client := self._connection.current()) is not None:  # another process saves it
                with contextlib.suppress(Exception):
                    client.unsubscribe_topic(job.topic)
        except DatabaseError as err:
            log.warning("job %s: %s", job.id, err)
        finally:
            if (client := self._connection.current()) is not None:
                with contextlib.suppress(Exception):
                    self._dispatch(client)  # a worker is free: the next in line starts now
