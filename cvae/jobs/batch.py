"""Trainings run from the command line on a Dask cluster: one `train --scheduler`, or a sweep.

The same registry as the app's (queue order, validated results, atomic saves), followed with a
rich progress display of every run, on a terminal only.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from cvae.config import TrainConfig
from cvae.db import database, database_url
from cvae.jobs.cluster import connect, shutdown
from cvae.jobs.registry import JobRegistry, TrainingJob
from cvae.settings import Settings

__all__ = ["train_on_cluster"]


def train_on_cluster(
    runs: list[tuple[TrainConfig, str]], runs_root: Path, config: Settings, *, quiet: bool = False
) -> list[TrainingJob]:
    """Fit every (config, run name) of `runs` on the cluster `config` names (or an embedded one),
    saving each under `runs_root`; returns the jobs once all have ended."""
    client = connect(config)
    try:
        # the app's database when it shares these runs: its trainings and these count against each other
        db = database(database_url(runs_root))
        registry = JobRegistry(runs_root, db, max_queued=len(runs) + config.max_queued, connect=lambda: client)
        jobs = [registry.start(train, name, session="command-line", one_per_session=False)[0] for train, name in runs]
        console = Console(stderr=True)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=30),
            TextColumn("step {task.completed}/{task.total}  {task.fields[status]}"),
            console=console,
            disable=quiet or not console.is_terminal,
        ) as bar:
            tasks = [bar.add_task(job.name, total=None, status=job.status) for job in jobs]
            while any(job.active for job in jobs):
                for job, task in zip(jobs, tasks):
                    bar.update(
                        task,
                        completed=len(job.history),
                        status=job.status,
                        total=job.plan.total_steps if job.plan else None,
                    )
                time.sleep(0.2)
            for job, task in zip(jobs, tasks):
                bar.update(task, completed=len(job.history), status=job.status)
        registry.close()
        return jobs
    finally:
        shutdown(client)
