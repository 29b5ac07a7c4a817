"""A training job as a web process knows it, and its row in the shared database.

The row (`cvae.db.schema.JobRecord`) is the truth every process shares: status, message, whether the
run was saved, who dispatched it. Each change is one conditional UPDATE, so two processes that race
(both see a job finish, both see a free worker) act once: `claim_*` returns whether this one won.
The live part (points, snapshots) is never stored: each process reads it from the job's Dask topic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from cvae.config import TrainConfig
from cvae.db import Database
from cvae.db.schema import JobRecord
from cvae.jobs.stream import LiveRun
from cvae.training.history import History, Plan, Progress

__all__ = ["ACTIVE", "WORKER_LOST", "JobRecords", "TrainingJob"]

ACTIVE = ("queued", "preparing", "running", "saving")  # in the order a job moves; the rest are ends
KEEP = 100  # the recent jobs each process lists
WORKER_LOST = "failed: worker lost (its process died mid-fit; nothing was saved)"


@dataclass
class TrainingJob:
    id: str
    name: str
    config: TrainConfig
    checkpoint: Path
    session: str = ""  # an id of the session that started it (never shown to others)
    created: float = field(default_factory=time.time)
    status: str = "queued"  # cvae.db.schema.JOB_STATUSES
    message: str = "waiting for a free worker"
    first_point_s: float | None = None
    saved: bool = False
    dispatched: bool = False  # handed to the cluster (by this process or another)
    published: bool = False  # its future published under its topic: any process can follow it
    live: LiveRun = field(default_factory=LiveRun)
    future: Any = field(default=None, repr=False)  # the Dask future, while this process follows it

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def topic(self) -> str:
        return f"cvae-job-{self.id}"  # its event stream, and the published name of its future

    @property
    def stop_event(self) -> str:
        return f"cvae-stop-{self.id}"

    @property
    def catch_up_event(self) -> str:
        return f"cvae-catch-up-{self.id}"  # set by a reader that came late: the worker resends the whole stream

    @property
    def history(self) -> History:
        return self.live.history

    @property
    def plan(self) -> Plan | None:
        return self.live.plan

    def progress(self) -> Progress:
        return self.history.progress(self.plan or Plan(0, 1, self.config.batch_size))

    def receive(self, message: dict) -> None:
        """A message of the job's stream: its live data, and the moves it implies."""
        if message.get("kind") == "started" and self.live.started_at is not None:
            if message.get("at") == self.live.started_at:
                return  # the same start twice: replayed, and live to a reader that subscribed just before
            # the first worker died and the scheduler gave the fit to another: that is a lost job
            self.fail(WORKER_LOST)
            self.future.cancel()
            return
        self.live.receive(message)
        if message.get("kind") in ("started", "catchup") and self.status == "queued":
            self.status, self.message = "preparing", "loading data and compiling the model"
        if message.get("kind") in ("points", "catchup") and self.status == "preparing" and len(self.history):
            self.first_point_s = time.time() - self.created
            self.status, self.message = "running", "training"

    def fail(self, message: str) -> None:
        self.status, self.message = _failed_status(message), message

    def adopt(self, row: JobRecord) -> None:
        """Take what the database says, except a status this process has seen move further on."""
        if _rank(row.status) >= _rank(self.status):
            self.status, self.message = row.status, row.message
        self.saved, self.dispatched, self.published = row.saved, row.dispatched_at is not None, row.published
        self.first_point_s = self.first_point_s if row.first_point_s is None else row.first_point_s


def _failed_status(message: str) -> str:
    return "interrupted" if message.startswith("interrupted") else "failed"


def _rank(status: str) -> int:
    return ACTIVE.index(status) if status in ACTIVE else len(ACTIVE)


class JobRecords:
    """The jobs table of `db`, for the runs saved under `runs_root`."""

    def __init__(self, db: Database, runs_root: Path):
        self.db, self.runs_root = db, Path(runs_root)

    def recent(self) -> list[JobRecord]:
        with self.db.transaction() as session:
            return list(session.scalars(select(JobRecord).order_by(JobRecord.created.desc()).limit(KEEP)))[::-1]

    def one(self, job_id: str) -> JobRecord | None:
        with self.db.transaction() as session:
            return session.get(JobRecord, job_id)

    def job(self, row: JobRecord) -> TrainingJob:
        job = TrainingJob(
            row.id,
            row.name,
            TrainConfig.from_dict(row.config),
            self.runs_root / row.name,
            session=row.session,
            created=row.created,
        )
        job.adopt(row)
        return job

    def insert(self, job: TrainingJob, *, max_queued: int, one_per_session: bool) -> tuple[str, str] | None:
        """Add `job`; or, unchanged, ("busy" or "name", why not): the server is full, its session has an
        active job, or an active job has its name."""
        with self.db.transaction() as session:
            self.db.lock(session, "jobs-insert")  # 40 Starts at once, on any replicas: exactly max_queued get in
            active = select(func.count()).select_from(JobRecord).where(JobRecord.status.in_(ACTIVE))
            mine = active.where(JobRecord.session == job.session)
            if one_per_session and session.scalar(mine):
                return "busy", "you already have a training queued or running: stop it or wait for it to finish"
            if (count := session.scalar(active)) >= max_queued:
                why = f"{count} trainings are already running or waiting on this server; try again when one has ended"
                return "busy", why
            clash = active.where(JobRecord.name == job.name)
            if session.scalar(clash):
                return "name", f"a run named {job.name!r} already exists; choose another name"
            session.add(
                JobRecord(
                    id=job.id,
                    name=job.name,
                    config=job.config.to_dict(),
                    session=job.session,
                    created=job.created,
                    status=job.status,
                    message=job.message,
                    saved=False,
                    published=False,
                )
            )
        return None

    def busy(self) -> int:
        """Jobs on the cluster now (dispatched and active), whichever process dispatched them."""
        with self.db.transaction() as session:
            query = select(func.count()).select_from(JobRecord)
            return session.scalar(query.where(JobRecord.status.in_(ACTIVE), JobRecord.dispatched_at.is_not(None)))

    def _change(self, job_id: str, when: dict, **values) -> bool:
        """One conditional UPDATE: True when this process changed the row (the condition still held)."""
        query = update(JobRecord).where(JobRecord.id == job_id)
        for column, allowed in when.items():
            column = getattr(JobRecord, column)
            query = query.where(column.is_(None) if allowed is None else column.in_(allowed))
        with self.db.transaction() as session:
            return session.execute(query.values(**values)).rowcount == 1

    def claim_dispatch(self, job_id: str) -> bool:
        return self._change(job_id, {"status": ("queued",), "dispatched_at": None}, dispatched_at=time.time())

    def published(self, job_id: str) -> None:
        self._change(job_id, {}, published=True)

    def advance(self, job: TrainingJob) -> None:
        """Write a move this process saw on the job's stream (queued -> preparing -> running)."""
        earlier = ACTIVE[: ACTIVE.index(job.status)] if job.status in ("preparing", "running") else ()
        if earlier:
            self._change(
                job.id, {"status": earlier}, status=job.status, message=job.message, first_point_s=job.first_point_s
            )

    def claim_save(self, job_id: str) -> bool:
        """Whether this process saves the finished job's run (exactly one process does)."""
        return self._change(
            job_id, {"status": ACTIVE[:3]}, status="saving", message="saving the trained model", saving_at=time.time()
        )

    def reclaim_save(self, job_id: str, stale_s: float) -> bool:
        """Whether this process takes over a save claimed over `stale_s` ago and never ended (its saver died)."""
        query = update(JobRecord).where(
            JobRecord.id == job_id, JobRecord.status == "saving", JobRecord.saving_at < time.time() - stale_s
        )
        with self.db.transaction() as session:
            return session.execute(query.values(saving_at=time.time())).rowcount == 1

    def end(self, job: TrainingJob, *, only_if_active: bool = True) -> bool:
        """Record the job's end (its status is one of the ends); unless another process ended it first."""
        when = {"status": ACTIVE} if only_if_active else {}
        return self._change(job.id, when, status=job.status, message=job.message, saved=job.saved)

    def fail(self, job: TrainingJob, message: str) -> None:
        """End an active job with `message`: the table first, then this process's copy, so whoever sees
        it ended here finds it ended for every other replica too."""
        self._change(job.id, {"status": ACTIVE}, status=_failed_status(message), message=message, saved=job.saved)
        job.fail(message)

    def stop_queued(self, job_id: str) -> bool:
        """Stop a job no process has dispatched yet: it never starts."""
        return self._change(
            job_id,
            {"status": ("queued",), "dispatched_at": None},
            status="stopped",
            message="stopped before it started",
        )

    def unpublished(self, stale_s: float) -> list[str]:
        """Jobs claimed for the cluster over `stale_s` ago but never published (their process died)."""
        with self.db.transaction() as session:
            query = select(JobRecord.id).where(
                JobRecord.status.in_(ACTIVE),
                JobRecord.published.is_(False),
                JobRecord.dispatched_at < time.time() - stale_s,
            )
            return list(session.scalars(query))
