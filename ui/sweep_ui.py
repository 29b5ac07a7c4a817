"""The Compare page's sweep: the teacher launches a grid of trainings on the cluster and watches them land."""

from __future__ import annotations

import time

import streamlit as st

from cvae import CheckpointError, TrainConfig
from cvae.config import LIMITS
from cvae.jobs.registry import BusyError
from cvae.jobs.sweep import SweepError, sweep_configs, sweep_run_name
from ui import session_keys as keys
from ui.access import is_teacher
from ui.jobs import job_registry, session_id

BETAS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
LATENTS = (2, 4, 8, 16)


def sweep_ui() -> None:
    """Teacher only: a form for a beta x latent grid, then each run's progress. Finished runs join
    the comparison (the page's "compare_runs" selection) as they arrive."""
    if not is_teacher():
        st.caption(
            "Sweeps: a teacher signed in on the Classroom page can train a whole grid here (e.g. beta 0 to 4 "
            "and latent 2 and 8) on the training workers, and compare the runs as they finish."
        )
        return
    with st.expander("Run a sweep on the training workers", expanded=not st.session_state.get(keys.SWEEP_JOBS)):
        with st.form("sweep-form"):
            a, b, c = st.columns(3)
            betas = a.multiselect("beta values", BETAS, default=[0.0, 1.0], key="sweep_betas")
            latents = b.multiselect("latent dimensions", LATENTS, default=[2], key="sweep_latents")
            epochs = c.number_input("Epochs", *LIMITS["epochs"], value=10, key="sweep_epochs")
            start = st.form_submit_button("Start the sweep", type="primary")
        if start:
            _start(betas, latents, int(epochs))
    if st.session_state.get(keys.SWEEP_JOBS):
        _progress_ui()


def _start(betas: list[float], latents: list[int], epochs: int) -> None:
    axes = {"beta": sorted(betas), "latent_dim": sorted(latents)}
    try:
        configs = sweep_configs(TrainConfig(epochs=epochs), axes)
    except SweepError as err:
        st.error(f"Not started: {err}")
        return
    prefix = time.strftime("sweep-%H%M%S")
    registry, started = job_registry(), []
    for config in configs:
        try:
            job, _ = registry.start(
                config, sweep_run_name(prefix, config, axes), session=session_id(), one_per_session=False
            )
        except (BusyError, CheckpointError) as err:
            st.error(f"Started {len(started)} of {len(configs)} runs; the rest were refused: {err}")
            break
        started.append(job.id)
    st.session_state[keys.SWEEP_JOBS] = started


@st.fragment(run_every=2.0)
def _progress_ui() -> None:
    registry = job_registry()
    jobs = [job for job in map(registry.get, st.session_state[keys.SWEEP_JOBS]) if job is not None]
    rows = [
        {
            "run": job.name,
            "beta": job.config.beta,
            "latent dim": job.config.latent_dim,
            "status": job.status,
            "step": f"{len(job.history)}/{job.plan.total_steps if job.plan else '?'}",
        }
        for job in jobs
    ]
    st.dataframe(rows, hide_index=True, width="stretch")
    finished = [job.name for job in jobs if job.saved]
    if finished and finished != st.session_state.get(keys.SWEEP_SHOWN):
        st.session_state[keys.SWEEP_SHOWN] = finished
        st.session_state[keys.COMPARE_RUNS] = finished[-12:]
        st.rerun()  # the whole page: the new runs' curves and maps
