"""Background training jobs shared by every session of one server process.

A job runs in its own thread: load data, fit with PyMC, save a checkpoint. The page
thread only reads a job's fields and its append-only history, and asks it to stop.
At most `max_running` fits run at once; the rest wait in a queue, up to `max_queued`.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cvae.atomic import sweep
from cvae.config import ConfigError, TrainConfig
from cvae.store.checkpoint import CheckpointError, run_dir
from cvae.training.history import History, Plan, Progress
from cvae.training.timeline import Timeline

__all__ = ["BusyError", "JobRegistry", "TrainingJob"]

ACTIVE = ("queued", "preparing", "running")


class BusyError(RuntimeError):
    """Too many trainings are running or waiting; try again later."""


@dataclass
class TrainingJob:
    id: str
    name: str
    config: TrainConfig
    checkpoint: Path
    status: str = "queued"  # queued, preparing, running, finished, stopped, diverged, failed
    message: str = "waiting for a free training slot"
    history: History = field(default_factory=History)
    plan: Plan | None = None  # known once the data is loaded
    created: float = field(default_factory=time.time)
    started: float | None = None
    first_point_s: float | None = None
    saved: bool = False
    timeline: Timeline | None = None  # latent-map snapshots, live while training
    stop_event: threading.Event = field(default_factory=threading.Event)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def stop(self) -> None:
        self.stop_event.set()

    def progress(self) -> Progress:
        return self.history.progress(self.plan or Plan(0, 1, self.config.batch_size))


class JobRegistry:
    """Starts, tracks and stops training jobs; one instance per server process."""

    def __init__(self, runs_root: Path, *, max_running: int = 1, max_queued: int = 4):
        self.runs_root = Path(runs_root)
        sweep(self.runs_root)  # what saves killed with an earlier server left behind
        self.max_queued = max_queued
        self._slots = threading.Semaphore(max_running)
        self._jobs: dict[str, TrainingJob] = {}
        self._lock = threading.Lock()

    def get(self, job_id: str | None) -> TrainingJob | None:
        return self._jobs.get(job_id) if job_id else None

    def jobs(self) -> list[TrainingJob]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created)

    def start(self, config: TrainConfig, name: str | None = None) -> TrainingJob:
        """Queue a fit of `config`; raises BusyError when the queue is full."""
        job_id = secrets.token_hex(6)
        name = name or f"{config.arch}-{time.strftime('%Y%m%d-%H%M%S')}-{job_id[:4]}"
        path = run_dir(self.runs_root, name)
        with self._lock:
            waiting = sum(j.active for j in self._jobs.values())
            if waiting >= self.max_queued:
                raise BusyError(f"{waiting} trainings are already running or waiting; try again when one has finished")
            if any(j.name == name and j.active for j in self._jobs.values()):
                raise CheckpointError(f"a training named {name!r} is already running")
            if path.exists():
                raise CheckpointError(f"a run named {name!r} already exists; choose another name")
            job = TrainingJob(job_id, name, config, path)
            self._jobs[job_id] = job
        threading.Thread(target=self._run, args=(job,), name=f"train-{name}", daemon=True).start()
        return job

    def _run(self, job: TrainingJob) -> None:
        with self._slots:
            if job.stop_event.is_set():
                job.status, job.message = "stopped", "stopped before it started"
                return
            try:
                self._fit(job)
            except (ConfigError, CheckpointError, ValueError, OSError, RuntimeError) as err:
                job.status, job.message = "failed", f"training failed: {err}"
            except Exception as err:
                job.status, job.message = "failed", f"training failed unexpectedly: {type(err).__name__}: {err}"

    def _fit(self, job: TrainingJob) -> None:
        job.started = time.time()
        job.status, job.message = "preparing", "loading data and compiling the model"
        from cvae.service.training_run import TrainingRun  # PyMC is imported on the first training only

        run = TrainingRun.prepare(job.config)
        job.history, job.timeline = run.trainer.history, run.timeline
        job.plan = run.trainer.plan

        def mark_running(approx, losses, i):
            if job.status == "preparing":
                job.first_point_s = time.time() - job.started
                job.status, job.message = "running", "training"

        result = run.fit(callbacks=[mark_running], stop_event=job.stop_event)
        run.save(job.checkpoint, result, name=job.name)
        job.saved = True
        job.status, job.message = result.status, result.message
