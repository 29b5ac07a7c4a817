"""Server-wide cached objects (shared by every session, never mutated) and per-session state."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

import cvae
from cvae.access import TeacherGate
from cvae.explore.code_cache import encoded_codes, shipped_codes_path
from cvae.explore.evaluation import kl_per_image
from cvae.jobs.cluster import ClusterError, connect
from cvae.jobs.registry import JobRegistry
from cvae.settings import ROOT, settings
from cvae.store.bundle import export_bundle
from cvae.store.teacher_settings import default_run_path, load_settings
from cvae.training import warmup

PRETRAINED = ROOT / "assets" / "pretrained"


@dataclass(frozen=True)
class EncodedSet:
    """The active model's test split, encoded once: read-only arrays shared by all sessions."""

    images: np.ndarray  # (N, 1, 28, 28)
    labels: np.ndarray  # (N,)
    mu: np.ndarray  # (N, latent)
    sd: np.ndarray  # (N, latent)
    kl: np.ndarray  # (N,) KL(q(z|x) || p(z)) in nats
    class_names: tuple[str, ...]


def runs_root() -> Path:
    """Where trainings are saved: $CVAE_RUNS_DIR, else runs/ beside the app."""
    return settings().runs_dir


def job_registry() -> JobRegistry:
    """The server's training jobs; its Dask cluster starts with the server (`ui.warm_start`), or with
    the first session where nothing warmed it, so workers are warm by the time someone presses Start."""
    return _registry(str(runs_root()))


@st.cache_resource
def _registry(root: str) -> JobRegistry:
    registry = JobRegistry(Path(root), max_queued=settings().max_queued, connect=cluster_client)
    registry.connect_in_background()  # now, not at the first Start; and without making this page wait
    return registry


def cluster_client():
    """The server's one Dask client, for the cluster the settings name (called from any thread)."""
    return _cluster_client(settings().scheduler, settings().workers)[0]


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
    return st.session_state.setdefault("session_id", secrets.token_hex(16))


def followed_job():
    """The job this tab follows: ?job= in the URL, or the one it started; None if neither."""
    return job_registry().get(st.query_params.get("job") or st.session_state.get("job"))


def follow_job(job_id: str) -> None:
    """Watch another job in this tab (the URL says which, without an owner token)."""
    st.session_state["job"] = job_id
    st.query_params["job"] = job_id
    st.query_params.pop("owner", None)


def owns(job) -> bool:
    """Whether this tab started `job`: it holds the job's owner token (URL or session), not just its id."""
    return job_registry().may_stop(job, token=_owner_token(job))


def may_stop(job) -> bool:
    """The owner, or the signed-in teacher; anyone else follows a job read-only."""
    return owns(job) or is_teacher()


def _owner_token(job) -> str | None:
    return st.query_params.get("owner") or st.session_state.get("owner_tokens", {}).get(job.id)


def start_training(config: cvae.TrainConfig, name: str | None):
    """Queue a training for this session; the tab's URL then carries the job and its owner token,
    so a refreshed or reopened tab still owns it."""
    job, token = job_registry().start(config, name, session=session_id())
    st.session_state["job"] = job.id
    st.session_state.setdefault("owner_tokens", {})[job.id] = token
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


def is_teacher() -> bool:
    return bool(st.session_state.get("teacher"))


def teacher_gate() -> TeacherGate:
    """The server's one check of the teacher code (its delay after wrong codes is shared by every tab)."""
    return _teacher_gate(settings().teacher_code)


@st.cache_resource
def _teacher_gate(code: str | None) -> TeacherGate:
    return TeacherGate(code)


@st.cache_resource(max_entries=8, show_spinner="Loading model...")
def _load(path: str, stamp: float) -> cvae.Checkpoint:
    return cvae.load_checkpoint(Path(path))


@st.cache_resource(max_entries=8, show_spinner="Encoding the test digits...")
def _encode(path: str, stamp: float) -> EncodedSet:
    checkpoint = _load(path, stamp)
    data = cvae.load_split(checkpoint.config, "test")
    # a conditional VAE needs each digit's label; stored codes spare a fresh server the encoder's compile
    codes = encoded_codes(checkpoint.vae, data.images, data.labels, beside=shipped_codes_path(Path(path)))
    mu, sd = codes.mu, codes.sd
    kl = kl_per_image(mu, sd, checkpoint.vae)  # Monte Carlo for the mixture prior
    for array in (mu, sd, kl):
        array.setflags(write=False)
    return EncodedSet(data.images, data.labels, mu, sd, kl, data.class_names)


def _stamp(path: Path) -> float:
    """Modification time of the weights: a re-saved run gets a fresh cache entry."""
    try:
        return (path / "params.npz").stat().st_mtime
    except OSError as err:
        raise cvae.CheckpointError(f"no model at {path}: {err.strerror}") from err


def saved_runs() -> dict[str, Path]:
    """Loadable checkpoints: the shipped model first, then this server's runs, newest first."""
    runs = {"pretrained (shipped)": PRETRAINED} if (PRETRAINED / "params.npz").is_file() else {}
    root = runs_root()
    if root.is_dir():
        found = [p for p in root.iterdir() if (p / "params.npz").is_file() and not p.name.startswith(".")]
        for path in sorted(found, key=_stamp, reverse=True):
            runs[path.name] = path
    return runs


def active_path() -> Path:
    """This session's model: the one it chose, else the teacher's default (Classroom page),
    else the shipped one, else the newest saved run."""
    chosen = st.session_state.get("active_run")
    if chosen and (Path(chosen) / "params.npz").is_file():
        return Path(chosen)
    return default_path()


def default_path() -> Path:
    """The model a new session starts on: the teacher's default, else the shipped one, else the newest run."""
    default = default_run_path(runs_root(), load_settings(runs_root()))
    if default is not None:
        return default
    return next(iter(saved_runs().values()), PRETRAINED)


def model_for(path: Path) -> cvae.Checkpoint:
    """Any saved run's checkpoint, from the cache the active model uses."""
    return _load(str(path), _stamp(path))


def encoded_for(path: Path) -> EncodedSet:
    """Any saved run's encoded test split, from the cache the active model uses."""
    return _encode(str(path), _stamp(path))


@st.cache_resource(max_entries=8, show_spinner=False)
def _explorer(path: str, stamp: float) -> cvae.Explorer:
    return cvae.Explorer(_load(path, stamp).vae)


def explorer_for(path: Path) -> cvae.Explorer:
    """Any saved run's explorer (its NumPy decoder built once), shared like its checkpoint."""
    return _explorer(str(path), _stamp(path))


@st.cache_data(max_entries=4, show_spinner=False)
def _bundle(path: str, stamp: float) -> bytes:
    return export_bundle(Path(path))


def bundle_for(path: Path) -> bytes:
    """Any saved run as the bytes of a .zip bundle, built once per saved version."""
    return _bundle(str(path), _stamp(path))


def set_active(path: Path) -> None:
    st.session_state["active_run"] = str(path)


def active_model() -> cvae.Checkpoint:
    return model_for(active_path())


def active_encoded() -> EncodedSet:
    return encoded_for(active_path())


MAP_DRAWN = "map_drawn"  # session state: this session's browser has shown a latent map (ui.latent_view)


def first_map_pending() -> bool:
    """Whether this session's browser has yet to show its first latent map."""
    return not st.session_state.get(MAP_DRAWN, False)


def active_model_problem() -> str | None:
    """Why the session's model cannot be shown (it or its encoded test digits do not load), or None."""
    try:
        active_model(), active_encoded()  # from the caches the pages read
    except (cvae.CheckpointError, cvae.DatasetError) as err:
        return str(err)
    return None


def adopt_finished_job() -> None:
    """Make this session's just-finished training its active model, once (its own, not one it follows)."""
    job = followed_job()
    if job is None or not owns(job):
        return
    if job.saved and job.status in ("finished", "stopped") and st.session_state.get("adopted") != job.id:
        st.session_state["adopted"] = job.id
        set_active(job.checkpoint)
