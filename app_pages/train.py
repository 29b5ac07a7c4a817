import streamlit as st

from cvae import CheckpointError
from cvae.data.datasets import class_names
from cvae.db import DatabaseError
from cvae.jobs.registry import BusyError, NotAllowed
from cvae.training.timeline import load_timeline
from ui import jobs
from ui import session_keys as keys
from ui.components import elbo_ui, snapshot_ui, timeline_ui
from ui.model_choice import active_model, active_path
from ui.train_form import config_ui, init_form_state, preset_summary, use_preset

st.title("Train")
init_form_state()
job = jobs.followed_job()
own_active = job is not None and job.active and jobs.owns(job)

st.button(
    "Classroom preset: a clear latent map in under a minute",
    on_click=use_preset,
    help=f"{preset_summary()} (20-40 s from Start to saved on 2 cores, by how busy the machine is)",
)
with st.form("train-form", border=True):
    config, name = config_ui()
    start = st.form_submit_button("Start training", type="primary", disabled=own_active)
if problem := jobs.cluster_problem():
    st.error(f"Training is not available right now: {problem}")
elif start and config is not None:
    try:
        job = jobs.start_training(config, name or None)
    except (BusyError, CheckpointError, DatabaseError) as err:
        st.error(str(err))
    else:
        st.rerun()  # redraw the form now, so Start is disabled while this job runs

others = [j for j in jobs.job_registry().jobs() if j.active and (job is None or j.id != job.id)]
if others:
    st.caption("Also training on this server (watch one, read-only unless it is yours):")
    for column, other in zip(st.columns(min(len(others), 4)), others[:8]):
        # a button, not a link: following a job keeps this tab's session (a teacher stays signed in)
        column.button(
            f"{other.name} · {other.status} · step {len(other.history)}",
            key=f"watch-{other.id}",
            on_click=jobs.follow_job,
            args=(other.id,),
        )

if job is None:
    st.info(
        "Choose settings and press **Start training**. The fit runs on a training worker, not in this "
        "page: you can switch pages and come back."
    )
    if jobs.warming_up():
        st.caption(
            "This server is compiling the training code in the background (once after an install, "
            "about 30 s): a Start now waits for it."
        )
    saved = load_timeline(active_path())
    if saved:
        st.subheader("How the active model learned")
        snapshots, labels = saved
        model = active_model()
        timeline_ui(
            model.history,
            snapshots,
            labels,
            class_names(model.config.dataset),
            live=False,
            key=f"active-{active_path().name}",
        )
    st.stop()


waiting = job.active and len(job.history) == 0  # poll briskly until the first point is drawn, then every LIVE_S
# A live job's latent map and manifold change with each snapshot (every 3 s, `cvae.training.timeline`),
# so they rerun on their own, that often, instead of being sent with the chart every second (Plotly.react
# redraws a figure sent again unchanged). Where a headless Chromium's ~0.35 of a core on the live page
# went (docs/benchmarks.md): the ELBO chart ~0.16, the map as a Plotly figure ~0.13 (now a PNG: ~0.01).
SNAPSHOT_S = 3.0
# The chart and progress redraw every 2 s, not every second: each redraw cost the watching browser ~0.1
# of a core (React and Plotly.react), on the fit's cores when it runs on the server's machine (measured:
# a headless Chromium on the live page 0.28 -> 0.17 of a core; docs/benchmarks.md).
LIVE_S = 2.0


@st.fragment(run_every=(0.25 if waiting else LIVE_S) if job.active else None)
def live_ui() -> None:
    """Redraws from what the worker's stream delivered; a rerun does no training work."""
    progress = job.progress()
    top = st.columns([3, 1])
    if job.active and jobs.may_stop(job):
        if top[1].button("Stop", type="secondary", key="stop", help="Keeps the model trained so far"):
            try:
                jobs.stop_training(job)
            except NotAllowed as err:  # the token no longer matches (e.g. a tampered URL)
                st.error(str(err))
    elif job.active:
        top[1].caption("Watching (read-only): only its owner or the teacher can stop it.")
    position = jobs.job_registry().queue_position(job)
    where = f"queued, number {position} in line" if position else job.status
    fraction = progress.step / progress.total_steps if progress.total_steps else 0.0
    eta = f"{progress.eta_s:.0f} s left" if progress.eta_s == progress.eta_s else "estimating time left"
    top[0].progress(
        min(fraction, 1.0),
        text=(
            f"{job.name}: {where} · step {progress.step}/{progress.total_steps or '?'} · "
            f"epoch {progress.epoch:.1f} · {progress.images_per_s:.0f} images/s · {eta}"
        ),
    )
    if job.first_point_s is not None:
        st.caption(f"First ELBO point {job.first_point_s:.1f} s after Start (model compilation included).")
    if job.active:
        history = job.history
        if job.live.labels is not None:  # in the page's left column; live_snapshot_ui draws the right one
            elbo_ui(history, live=True, key=job.id)
    else:
        history, snapshots, labels = jobs.finished_timeline(job)
        if labels is not None:
            timeline_ui(history, snapshots, labels, class_names(job.config.dataset), live=False, key=job.id)
    if job.status in ("diverged", "failed", "interrupted"):
        st.error(job.message)
    elif job.status in ("finished", "stopped") and job.saved:
        st.success(f"{job.message}. Saved as `{job.name}`" + (" and made the active model." if jobs.owns(job) else "."))
    if warning := history.collapse_warning():
        st.warning(warning)
    else:
        st.caption(job.message)
    if not job.active and st.session_state.get(keys.JOB_DRAWN_FINAL) != job.id:
        st.session_state[keys.JOB_DRAWN_FINAL] = job.id
        st.rerun()  # the whole page: the sidebar's model picker shows the new run
    elif waiting and len(job.history) > 0:
        st.rerun()  # the first point is drawn: the whole page, so this fragment goes on every LIVE_S


@st.fragment(run_every=SNAPSHOT_S if job.active else None)
def live_snapshot_ui() -> None:
    """The latest snapshot's latent map and manifold, redrawn at the rate snapshots come."""
    snapshots = job.live.snapshots
    if job.live.labels is not None:
        names = class_names(job.config.dataset)
        snapshot_ui(snapshots[-1] if snapshots else None, job.live.labels, names, live=True, key=job.id)


if job.active:
    left, right = st.columns([3, 2])
    with left:
        live_ui()
    with right:
        live_snapshot_ui()
else:
    live_ui()
