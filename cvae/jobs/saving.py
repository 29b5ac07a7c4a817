"""A finished job's result saved as a run: the worker's bundle, validated like any import."""

from __future__ import annotations

from pathlib import Path

from cvae.jobs.records import WORKER_LOST, TrainingJob
from cvae.store.bundle import BundleError, import_bundle, read_bundle
from cvae.store.checkpoint import CheckpointError, run_dir

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
        if not _written_already(result["bundle"], runs_root, job.name):  # by a saver that died before saying so
            import_bundle(result["bundle"], runs_root, job.name)  # validated like any import
    except (BundleError, KeyError, TypeError) as err:
        job.fail(f"failed: the worker's result was refused ({err}); nothing was saved")
        return
    job.saved = True
    job.status, job.message = result["status"], result["message"]


def _written_already(bundle: bytes, runs_root: Path, name: str) -> bool:
    """Whether run `name` holds exactly this bundle's files (a run appears only whole: `cvae.atomic`);
    a run of that name with other contents (say, one imported meanwhile) is not this job's."""
    try:
        target = run_dir(runs_root, name)
        return target.is_dir() and all(
            (target / file).read_bytes() == content for file, content in read_bundle(bundle).items()
        )
    except (BundleError, CheckpointError, OSError):
        return False
