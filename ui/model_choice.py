"""Which model a tab explores: the saved runs it can choose from, its choice, and the default."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import cvae
from cvae.settings import ROOT, settings
from cvae.store.teacher_settings import default_run_path, load_settings
from ui import session_keys as keys
from ui.model_cache import EncodedSet, encoded_for, model_for, model_key

__all__ = [
    "PRETRAINED",
    "active_encoded",
    "active_model",
    "active_model_problem",
    "active_path",
    "default_path",
    "runs_root",
    "saved_runs",
    "set_active",
]

PRETRAINED = ROOT / "assets" / "pretrained"


def runs_root() -> Path:
    """Where trainings are saved: $CVAE_RUNS_DIR, else runs/ beside the app."""
    return settings().runs_dir


def saved_runs() -> dict[str, Path]:
    """Loadable checkpoints: the shipped model first, then this server's runs, newest first."""
    runs = {"pretrained (shipped)": PRETRAINED} if (PRETRAINED / "params.npz").is_file() else {}
    root = runs_root()
    if root.is_dir():
        found = [p for p in root.iterdir() if (p / "params.npz").is_file() and not p.name.startswith(".")]
        for path in sorted(found, key=lambda p: model_key(p)[1], reverse=True):
            runs[path.name] = path
    return runs


def active_path() -> Path:
    """This session's model: the one it chose, else the teacher's default (Classroom page),
    else the shipped one, else the newest saved run."""
    chosen = st.session_state.get(keys.ACTIVE_RUN)
    if chosen and (Path(chosen) / "params.npz").is_file():
        return Path(chosen)
    return default_path()


def default_path() -> Path:
    """The model a new session starts on: the teacher's default, else the shipped one, else the newest run."""
    default = default_run_path(runs_root(), load_settings(runs_root()))
    if default is not None:
        return default
    return next(iter(saved_runs().values()), PRETRAINED)


def set_active(path: Path) -> None:
    st.session_state[keys.ACTIVE_RUN] = str(path)


def active_model() -> cvae.Checkpoint:
    return model_for(active_path())


def active_encoded() -> EncodedSet:
    return encoded_for(active_path())


def active_model_problem() -> str | None:
    """Why the session's model cannot be shown (it or its encoded test digits do not load), or None."""
    try:
        active_model(), active_encoded()  # from the caches the pages read
    except (cvae.CheckpointError, cvae.DatasetError) as err:
        return str(err)
    return None
