"""This tab's trainings: the server's job registry and Dask cluster, and following, owning, starting
and stopping a job (a tab owns the jobs it started: it holds their owner tokens)."""

from __future__ import annotations

import secrets
from pathlib import Path

import numpy as np
import streamlit as st

import cvae
from cvae.db import database, database_url
from cvae.jobs.cluster import ClusterError, connect
from cvae.jobs.registry import JobRegistry
from cvae.settings import settings
from cvae.training import warmup
from cvae.training.history import History
from cvae.training.timeline import Snapshot, load_timeline
from ui import session_keys as keys
from ui.access import is_teacher
from ui.model_cache import model_for
from ui.model_choice import runs_root, set_active

__all__ = [
    "adopt_finished_job",
    "cluster_client",
    "cluster_problem",
    "finished_timeline",
    "follow_job",
    "followed_job",
    "job_registry",
    "may_stop",
    "owns",
    "session_id",
    "start_training",
    "stop_training",
    "warming_up",
]


def job_registry() -> JobRegistry:
    """The server's training jobs; its Dask cluster starts with the server (`ui.warm_start`), or with
    the first session where nothing warmed it, so workers are warm by the time someone presses Start."""
    return _registry(str(runs_root()), database_url())


@st.cache_resource
def _registry(root: str, url: str) -> JobRegistry:
    registry = JobRegistry(Path(root), database(url), max_queued=settings().max_queued, connect=cluster_client)
    registry.connect_in_background()  # now, not at the first Start; and without making this page wait
    return registry


def cluster_client():
    """The server's one Dask client, for the cluster the settings name (called from any thread); a
    client that gave up on a restarted scheduler is replaced by a new one."""
    client = _cluster_client(settings().scheduler, settings().workers)[0]
    if client.status in ("closed", "closing"):
        _cluster_client.clear()
        client = _cluster_client(settings().scheduler, settings().workers)[0]
    return client


@st.cache_resource(show_spinner="Starting the training workers...")
def _cluster_client(scheduler: str | None, workers: int) -> tuple:
    # in a tuple: a Client is awaitable, which Streamlit's cache refuses to hold as such
    return (connect(),)  # a ClusterError is raised, not cached: the next call tries again


def cluster_problem() -> str | None:
    """Why no training can start right now (the cluster cannot be started or reached), or None."""
    try:
        job_registry().client  # noqa: B018
    except ClusterError as err:
        return str(err)
    return None


def warming_up() -> bool:
    """Whether this machine's compile cache is still being filled (by the workers' warm-up)."""
    return not settings().scheduler and not warmup.is_warm()


def session_id() -> str:
    """A random id of this browser tab's session: a training counts against it (one at a time)."""
    return st.session_state.setdefault(keys.SESSION_ID, secrets.token_hex(16))


def followed_job():
    """The job this tab follows: ?job= in the URL, or the one it started; None if neither."""
    return job_registry().get(st.query_params.get("job") or st.session_state.get(keys.JOB))


def follow_job(job_id: str) -> None:
    """Watch another job in this tab (the URL says which, without an owner token)."""
    st.session_state[keys.JOB] = job_id
    st.query_params["job"] = job_id
    st.query_params.pop("owner", None)


def owns(job) -> bool:
    """Whether this tab started `job`: it holds the job's owner token (URL or session), not just its id."""
    return job_registry().may_stop(job, token=_owner_token(job))


def may_stop(job) -> bool:
    """The owner, or the signed-in teacher; anyone else follows a job read-only."""
    return owns(job) or is_teacher()


def _owner_token(job) -> str | None:
    return st.query_params.get("owner") or st.session_state.get(keys.OWNER_TOKENS, {}).get(job.id)


def start_training(config: cvae.TrainConfig, name: str | None):
    """Queue a training for this session; the tab's URL then carries the job and its owner token,
    so a refreshed or reopened tab still owns it."""
    job, token = job_registry().start(config, name, session=session_id())
    st.session_state[keys.JOB] = job.id
    st.session_state.setdefault(keys.OWNER_TOKENS, {})[job.id] = token
    st.query_params["job"], st.query_params["owner"] = job.id, token
    _record_students_job(job.id)
    return job


def _record_students_job(job_id: str) -> None:
    """The teacher's Class page shows a student's last training: their row keeps its job id."""
    from cvae.classroom import students
    from cvae.db import DatabaseError
    from ui import student

    try:
        if (me := student.current()) is not None:
            students.touch(student.db(), me.id, job_id=job_id)
    except DatabaseError:
        pass  # the training runs all the same; only the class view misses it


def stop_training(job) -> None:
    """Ask the registry to stop `job`; it checks the token itself (NotAllowed for anyone else)."""
    job_registry().stop(job.id, token=_owner_token(job), teacher=is_teacher())


def adopt_finished_job() -> None:
    """Make this session's just-finished training its active model, once (its own, not one it follows)."""
    job = followed_job()
    if job is None or not owns(job):
        return
    if job.saved and job.status in ("finished", "stopped") and st.session_state.get(keys.ADOPTED) != job.id:
        st.session_state[keys.ADOPTED] = job.id
        set_active(job.checkpoint)


def finished_timeline(job) -> tuple[History, list[Snapshot], np.ndarray | None]:
    """A finished job's history, snapshots and probe labels (None: none to show): its saved run's, whole
    whatever part of the fit's stream this server received (a replica that came late while the run was
    being saved never gets the start), else what the stream delivered."""
    if job.saved and (saved := load_timeline(job.checkpoint)):
        try:
            return model_for(job.checkpoint).history, *saved
        except cvae.CheckpointError:  # replaced or damaged since: the stream's record still says what it saw
            pass
    return job.history, job.live.snapshots, job.live.labels
