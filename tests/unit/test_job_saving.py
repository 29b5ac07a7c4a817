"""A finished job's result saved as a run (cvae/jobs/saving.py): once, and never over another run."""

from concurrent.futures import Future
from pathlib import Path

from cvae.jobs.records import TrainingJob
from cvae.jobs.saving import save_result
from cvae.store.bundle import export_bundle
from cvae.store.checkpoint import load_checkpoint
from tests import factories


def _done(bundle: bytes) -> Future:
    """A finished task's future, as Dask hands it over (result() returns the worker's dict)."""
    future = Future()
    future.set_result({"status": "finished", "message": "finished 80 steps", "steps": 80, "bundle": bundle})
    return future


def _job(name: str) -> TrainingJob:
    from cvae.config import TrainConfig

    return TrainingJob(id="j1", name=name, config=TrainConfig(), checkpoint=Path("unused"), session="s")


def test_the_result_is_saved_as_the_jobs_run(tmp_path):
    bundle = export_bundle(factories.saved_run(tmp_path / "made" / "run"))
    job = _job("mine")
    save_result(job, _done(bundle), tmp_path / "runs")
    assert job.saved and job.status == "finished", job.message
    assert len(load_checkpoint(tmp_path / "runs" / "mine").history) == 80


def test_a_run_the_dead_saver_had_written_is_kept_not_written_again(tmp_path):
    bundle = export_bundle(factories.saved_run(tmp_path / "made" / "run"))
    save_result(_job("mine"), _done(bundle), tmp_path / "runs")  # the saver that then died
    written = (tmp_path / "runs" / "mine" / "params.npz").stat().st_mtime_ns
    job = _job("mine")
    save_result(job, _done(bundle), tmp_path / "runs")  # the replica that takes the save over
    assert job.saved and job.status == "finished", job.message
    assert (tmp_path / "runs" / "mine" / "params.npz").stat().st_mtime_ns == written


def test_a_run_of_that_name_with_other_contents_is_not_taken_for_the_jobs(tmp_path):
    ours = export_bundle(factories.saved_run(tmp_path / "made" / "ours", latent_dim=2))
    factories.saved_run(tmp_path / "runs" / "mine", latent_dim=3)  # imported meanwhile under the job's name
    job = _job("mine")
    save_result(job, _done(ours), tmp_path / "runs")
    assert not job.saved and job.status == "failed" and "already exists" in job.message, job.message
    assert load_checkpoint(tmp_path / "runs" / "mine").config.latent_dim == 3, "the other run is untouched"
