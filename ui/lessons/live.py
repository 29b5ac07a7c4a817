"""The checks' view of this session's model, built from the app's server-wide caches."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from cvae.lessons import CheckContext, LiveModel, Step, load_library, shipped_classifier
from cvae.lessons.library import Library, lessons_dir
from cvae.lessons.live_model import saved_runs
from cvae.settings import settings
from ui.jobs import job_registry, session_id
from ui.model_cache import encoded_for, explorer_for, model_key
from ui.model_choice import active_path, runs_root
from ui.model_choice import saved_runs as saved_models

__all__ = ["check_context", "library", "live_model", "student_runs"]


def library() -> Library:
    """The lessons folder, re-read when a file in it changes (a teacher edits one while the app runs)."""
    folder = lessons_dir()
    stamps = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folder.glob("*.md")))
    return _library(str(folder), stamps)


@st.cache_resource(max_entries=4, show_spinner=False)
def _library(folder: str, stamps: tuple) -> Library:
    return load_library(Path(folder))


def live_model(path: Path | None = None) -> LiveModel:
    """The session's model (or the one at `path`) as the checks read it; one per model, server-wide."""
    return _live(*model_key(Path(path or active_path())))


@st.cache_resource(max_entries=8, show_spinner="Loading the model for the lesson...")
def _live(path: str, stamp: float) -> LiveModel:
    encoded = encoded_for(Path(path))
    name = next((n for n, p in saved_models().items() if str(p) == path), Path(path).name)
    return LiveModel(name, explorer_for(Path(path)), encoded.images, encoded.labels, encoded.mu, encoded.sd, encoded.kl)


def student_runs(me=None) -> list:
    """The saved runs a do-and-observe check reads, newest first (config and curve only): the ones this
    student or tab trained first; in a class (a class code is set) only those."""
    runs = saved_runs(runs_root())
    mine_ids = {session_id()}
    own = {
        job.checkpoint.name
        for job in job_registry().jobs()
        if job.saved and (job.session in mine_ids or (me is not None and job.id == me.job_id))
    }
    ours = [run for run in runs if run.name in own]
    return ours if settings().class_code else ours + [run for run in runs if run.name not in own]


def check_context(step: Step, model: LiveModel, *, with_runs: bool, me=None) -> CheckContext:
    digit = step.digit if step.digit is not None else step.seed % len(model.labels)
    runs = student_runs(me) if with_runs else ()
    return CheckContext(model, shipped_classifier(), digit=digit, point=step.point, runs=runs)
