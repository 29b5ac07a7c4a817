"""Training jobs of one app server, each a task on the Dask cluster: queue, live view, stop, save.

The registry is a thin layer over Dask futures: a job is submitted as `fit_task.run_fit` when a
worker thread is free, so fits start in the order they were asked for (Dask's own scheduling
does not keep that order once fits differ in length: measured, bench/README.md; the scheduler
still places each one), the job's live state fills from
its event stream, Stop sets the job's `distributed.Event`, and the result (a bundle's bytes) is
validated like any import and saved under the runs directory. A job belongs to the session that
started it: only that session's owner token (an HMAC of the job id under the server's secret)
or the teacher may stop it. Jobs are recorded in `runs/.jobs.json`, so a restarted app can say
which trainings it lost, and pick up those a teacher's scheduler still runs.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
import threading
import time
from functools import partial
from pathlib import Path

from cvae.atomic import sweep
from cvae.config import TrainConfig
from cvae.jobs import cluster
from cvae.jobs.records import ACTIVE, JobRecords, TrainingJob, server_secret
from cvae.store.bundle import BundleError, import_bundle
from cvae.store.checkpoint import CheckpointError, run_dir

__all__ = ["ACTIVE", "BusyError", "JobRegistry", "NotAllowed", "TrainingJob"]
RETRY_S = 15.0  # seconds before an unreachable cluster is tried again


class BusyError(RuntimeError):
    """Too many trainings, or this session has one already; the message says which."""


class NotAllowed(PermissionError):
    """A request about a job this session does not own (and it is not the teacher's)."""


class JobRegistry:
    """Starts, tracks and stops the server's training jobs; one instance per app server."""

    def __init__(self, runs_root: Path, *, max_queued: int, connect=cluster.connect):
        self.runs_root = Path(runs_root)
        sweep(self.runs_root)  # what saves killed with an earlier server left behind
        self.max_queued = max_queued
        self._connect, self._client = connect, None
        self._failure: tuple[float, cluster.ClusterError | None] = (0.0, None)
        self._jobs: dict[str, TrainingJob] = {}
        self._lock = threading.RLock()
        self._connecting = threading.Lock()
        self._secret = server_secret(self.runs_root)
        self._records = JobRecords(self.runs_root)
        for job in self._records.load():
            self._jobs[job.id] = job
        self._reattach()
        # workers come and go (a restarted one, a lab PC joining): look for free ones every second
        threading.Thread(target=self._pump, name="cvae-job-dispatch", daemon=True).start()

    # ---- the cluster ------------------------------------------------------------------------

    @property
    def client(self):
        """The Dask client, connected on first use; raises ClusterError with a clear message.

        A failure is remembered for RETRY_S: pages ask on every run, and must not each wait out
        a connection timeout while the scheduler is down."""
        with self._connecting:  # not self._lock: reading the jobs need not wait for a connection
            if self._client is None:
                failed_at, error = self._failure
                if error is not None and time.monotonic() - failed_at < RETRY_S:
                    raise error
                try:
                    self._client = self._connect()
                except cluster.ClusterError as err:
                    self._failure = (time.monotonic(), err)
                    raise
            return self._client

    def connect_in_background(self) -> None:
        """Start (or reach) the cluster on a thread of its own: the first page need not wait for it,
        and the workers warm up while the class is still reading the Home page."""
        threading.Thread(target=self._try_connect, name="cvae-cluster-connect", daemon=True).start()

    def _try_connect(self) -> None:
        with contextlib.suppress(cluster.ClusterError):  # asked again, and said, by the Train page
            self.client  # noqa: B018

    # ---- reading ------------------------------------------------------------------------------

    def get(self, job_id: str | None) -> TrainingJob | None:
        return self._jobs.get(job_id) if job_id else None

    def jobs(self) -> list[TrainingJob]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created)

    def queue_position(self, job: TrainingJob) -> int | None:
        """1 for the next job to start, 2 for the one after...; None once it is on a worker or ended."""
        waiting = self._waiting()
        return waiting.index(job) + 1 if job in waiting else None

    def _waiting(self) -> list[TrainingJob]:
        return [j for j in self.jobs() if j.status == "queued" and j.future is None]

    def owner_token(self, job: TrainingJob) -> str:
        return hmac.new(self._secret, job.id.encode(), "sha256").hexdigest()[:32]

    def may_stop(self, job: TrainingJob, *, token: str | None, teacher: bool = False) -> bool:
        """Whether a session holding `token` (or the teacher) may stop `job`."""
        return teacher or (isinstance(token, str) and hmac.compare_digest(token, self.owner_token(job)))

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
        with self._lock:
            active = [j for j in self._jobs.values() if j.active]
            if one_per_session and any(j.session == session for j in active):
                raise BusyError("you already have a training queued or running: stop it or wait for it to finish")
            if len(active) >= self.max_queued:
                raise BusyError(
                    f"{len(active)} trainings are already running or waiting on this server; "
                    "try again when one has finished"
                )
            if any(j.name == name and j.active for j in active) or path.exists():
                raise CheckpointError(f"a run named {name!r} already exists; choose another name")
            job = TrainingJob(job_id, name, config, path, session=session)
            self._jobs[job_id] = job
        self._dispatch(client)
        self._records.save(self.jobs())
        return job, self.owner_token(job)

    def stop(self, job_id: str, *, token: str | None, teacher: bool = False) -> TrainingJob:
        """Stop a job for its owner or the teacher: a queued one never starts; a running one
        stops within a step and saves what it learned. Anyone else gets NotAllowed."""
        job = self.get(job_id)
        if job is None:
            raise KeyError(f"no training {job_id!r} on this server")
        if not self.may_stop(job, token=token, teacher=teacher):
            raise NotAllowed("only the session that started this training, or the teacher, can stop it")
        with self._lock:
            if job.status == "queued" and job.future is None:  # still in our queue: it never starts
                job.status, job.message = "stopped", "stopped before it started"
                self._records.save(self.jobs())
                return job
        if job.active:
            from distributed import Event

            Event(job.stop_event, client=self.client).set()  # the worker stops within one step
        return job

    # ---- what the cluster tells us ----------------------------------------------------------

    def _dispatch(self, client) -> None:
        """Submit waiting jobs, oldest first, while the cluster has a free worker thread for each."""
        with self._lock:
            waiting = self._waiting()
            if not waiting:
                return
            busy = sum(1 for j in self._jobs.values() if j.future is not None and not j.future.done())
            free = sum(client.nthreads().values()) - busy
            for job in waiting[: max(free, 0)]:
                self._submit(client, job)

    def _pump(self) -> None:
        while True:
            time.sleep(1.0)
            if self._client is not None and self._waiting():
                with contextlib.suppress(Exception):  # the cluster is unreachable just now: next second
                    self._dispatch(self._client)

    def _submit(self, client, job: TrainingJob) -> None:
        from cvae.jobs.fit_task import run_fit

        spec = {
            "id": job.id,
            "name": job.name,
            "config": job.config.to_dict(),
            "topic": job.topic,
            "stop": job.stop_event,
        }
        client.subscribe_topic(job.topic, partial(self._on_event, job))
        job.future = client.submit(run_fit, spec, key=f"cvae-fit-{job.name}-{job.id}", pure=False)
        client.publish_dataset(job.future, name=job.topic)  # a restarted app can find it again
        job.future.add_done_callback(partial(self._finished, job))

    def _on_event(self, job: TrainingJob, event) -> None:
        """A message of the job's stream (on the Dask client's thread: quick, no I/O)."""
        _, message = event
        if message.get("kind") == "started" and job.live.started_at is not None:
            # the first worker died and the scheduler gave the fit to another: that is a lost job
            job.fail("failed: worker lost (its process died mid-fit; nothing was saved)")
            job.future.cancel()
            return
        job.live.receive(message)
        if message.get("kind") == "started" and job.status == "queued":
            job.status, job.message = "preparing", "loading data and compiling the model"
        elif message.get("kind") == "points" and job.status == "preparing":
            job.first_point_s = time.time() - job.created
            job.status, job.message = "running", "training"

    def _finished(self, job: TrainingJob, future) -> None:
        """The task ended (on Dask's callback thread): save its run, or say why there is none."""
        try:
            if job.status in ("failed", "lost"):
                pass  # said so already (a second worker, or a cancelled duplicate)
            elif future.cancelled():
                job.status = "stopped" if job.live.started_at is None else "failed"
                job.message = (
                    "stopped before it started"
                    if job.live.started_at is None
                    else "failed: the training was cancelled on the cluster; nothing was saved"
                )
            else:
                self._save(job, future)
        finally:
            self._forget_stream(job)
            self._records.save(self.jobs())
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self._dispatch(self._client)  # a worker is free: the next in line starts now

    def _save(self, job: TrainingJob, future) -> None:
        from distributed.scheduler import KilledWorker

        try:
            result = future.result()
        except KilledWorker:
            job.fail("failed: worker lost (its process died mid-fit; nothing was saved)")
            return
        except Exception as err:
            job.fail(f"failed: {type(err).__name__}: {err}")
            return
        try:
            import_bundle(result["bundle"], self.runs_root, job.name)  # validated like any import
        except (BundleError, KeyError, TypeError) as err:
            job.fail(f"failed: the worker's result was refused ({err}); nothing was saved")
            return
        job.saved = True
        job.status, job.message = result["status"], result["message"]

    def _forget_stream(self, job: TrainingJob) -> None:
        """Unsubscribe, unpublish, and empty the job's topic on the scheduler (it keeps every topic)."""
        client = self._client
        if client is None:
            return
        topic = job.topic

        def truncate(dask_scheduler=None):  # runs on the scheduler: a lambda-like closure, no cvae import there
            dask_scheduler._broker.truncate(topic)

        for forget in (
            lambda: client.unsubscribe_topic(topic),
            lambda: client.unpublish_dataset(topic),
            lambda: client.run_on_scheduler(truncate),
        ):
            with contextlib.suppress(Exception):  # already gone, or the scheduler is: nothing to forget
                forget()

    def _reattach(self) -> None:
        """Jobs a previous app started: follow those the cluster still runs, report the rest lost."""
        waiting = [job for job in self._jobs.values() if job.active]
        if not waiting:
            return
        try:
            client = self.client
        except cluster.ClusterError:
            client = None
        for job in waiting:
            future = None
            if client is not None:
                try:
                    future = client.get_dataset(job.topic)
                except (KeyError, Exception):
                    future = None
            if future is None:
                job.fail("lost: the server restarted while this training was queued or running; nothing was saved")
                continue
            job.future = future
            client.subscribe_topic(job.topic, partial(self._on_event, job))
            for event in client.get_events(job.topic):  # what the scheduler kept while we were away
                self._on_event(job, event)
            future.add_done_callback(partial(self._finished, job))
        self._records.save(self.jobs())
