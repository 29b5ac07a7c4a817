"""A finished job's result saved as a run: the worker's bundle, validated like any import."""

from __future__ import annotations

from pathlib import Path

from cvae.jobs.records import WORKER_LOST, TrainingJob
from cvae.store.bundle import BundleError, import_bundle
from cvae.store.checkpoint import CheckpointError, load_checkpoint, run_dir

__all__ = ["save_result"]


def save_result(job: TrainingJob, future, runs_root: Path) -> None:
    """Save the run `future` (done) returned as `job.name` under `runs_root`, or say why not in `job`."""
    from distributed.scheduler import KilledWorker

    try:
        result = future.result()
    except KilledWorker:
        job.fail(WORKER_LOST)
        return
    except Exception as err:
        job.fail(f"failed: {type(err).__name__}: {err}")
        return
    try:
        if not _saved_already(runs_root, job.name):  # a saver that died after writing it, before saying so
            import_bundle(result["bundle"], runs_root, job.name)  # validated like any import
    except (BundleError, KeyError, TypeError) as err:
        job.fail(f"failed: the worker's result was refused ({err}); nothing was saved")
        return
    job.saved = True
    job.status, job.message = result["status"], result["message"]


def _saved_already(runs_root: Path, name: str) -> bool:
    """Whether run `name` exists, whole: a job's name is its own (Start refuses a taken one), and a run
    appears only complete (`cvae.atomic`), so it is this job's, saved by a process that then died."""
    try:
        load_checkpoint(run_dir(runs_root, name))
    except (CheckpointError, OSError):
        return False
    return True
