"""Server-wide cached objects (shared by every session, never mutated) and per-session state."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

import cvae
from cvae.service.evaluation import kl_per_image
from cvae.service.jobs import JobRegistry
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
    return _registry(str(runs_root()))


@st.cache_resource
def _registry(root: str) -> JobRegistry:
    return JobRegistry(Path(root), max_running=settings().max_trainings, max_queued=settings().max_queued)


@st.cache_resource(show_spinner=False)
def compile_warmup() -> subprocess.Popen | None:
    """Once per server: fill PyTensor's compile cache in a low-priority child process
    unless it is already warm (the README's install command does it)."""
    return warmup.warm_in_background()


def warming_up() -> bool:
    process = compile_warmup()
    return process is not None and process.poll() is None


@st.cache_resource(max_entries=8, show_spinner="Loading model...")
def _load(path: str, stamp: float) -> cvae.Checkpoint:
    return cvae.load_checkpoint(Path(path))


@st.cache_resource(max_entries=8, show_spinner="Encoding the test digits...")
def _encode(path: str, stamp: float) -> EncodedSet:
    checkpoint = _load(path, stamp)
    data = cvae.load_split(checkpoint.config, "test")
    mu, sd = checkpoint.vae.encode(data.images)
    kl = kl_per_image(mu, sd)
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


def adopt_finished_job() -> None:
    """Make this session's just-finished training its active model, once."""
    job = job_registry().get(st.query_params.get("job") or st.session_state.get("job"))
    if job and job.saved and job.status in ("finished", "stopped") and st.session_state.get("adopted") != job.id:
        st.session_state["adopted"] = job.id
        set_active(job.checkpoint)


@st.cache_resource(max_entries=8)
def _density(path: str, stamp: float, x_range: tuple, y_range: tuple, n: int):
    encoded = _encode(path, stamp)
    xs, ys = np.linspace(*x_range, n), np.linspace(*y_range, n)
    return xs, ys, cvae.Explorer.aggregate_density(encoded.mu, encoded.sd, xs, ys)


def active_density(x_range: tuple, y_range: tuple, n: int = 120):
    """(xs, ys, q(z) on the grid) of the active model's encoded test set; computed once per model."""
    path = active_path()
    return _density(str(path), _stamp(path), x_range, y_range, n)
