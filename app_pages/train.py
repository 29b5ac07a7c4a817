import streamlit as st

import cvae
from cvae import CheckpointError
from cvae.service.jobs import BusyError
from cvae.training.timeline import load_timeline
from ui import state
from ui.components import timeline_ui
from ui.train_form import config_ui, init_form_state, use_preset

st.title("Train")
registry = state.job_registry()


init_form_state()

job = registry.get(st.query_params.get("job") or st.session_state.get("job"))

st.button(
    "Classroom preset: a clear latent map in under a minute",
    on_click=use_preset,
    help="classroom network, 30 epochs of mnist-5k (about 25 s on 2 idle cores), learning rate 3e-3",
)
with st.form("train-form", border=True):
    config, name = config_ui()
    start = st.form_submit_button("Start training", type="primary", disabled=bool(job and job.active))
if start and config is not None:
    try:
        job = registry.start(config, name or None)
    except (BusyError, CheckpointError) as err:
        st.error(str(err))
    else:
        st.session_state["job"] = job.id
        st.query_params["job"] = job.id
        st.rerun()  # redraw the form now, so Start is disabled while this job runs

others = [j for j in registry.jobs() if j.active and (job is None or j.id != job.id)]
if others:
    st.caption(
        "Also training on this server (click to follow): "
        + ", ".join(
            f"[{j.name}](?job={j.id}) ({j.status}, step {len(j.history)}/{j.plan.total_steps if j.plan else '?'})"
            for j in others
        )
    )

if job is None:
    st.info(
        "Choose settings and press **Start training**. The fit runs in the background: "
        "you can switch pages and come back."
    )
    if state.warming_up():
        st.caption(
            "This server is compiling the training code in the background (once after an install, "
            "about 30 s): a Start now waits for it."
        )
    saved = load_timeline(state.active_path())
    if saved:
        st.subheader("How the active model learned")
        snapshots, labels = saved
        model = state.active_model()
        names = cvae.load_split(model.config, "test").class_names
        timeline_ui(model.history.to_dict(), snapshots, labels, names, live=False, key="active")
    st.stop()


@st.fragment(run_every=0.5 if job.active else None)
def live_ui() -> None:
    """Redraws from the job's history; the training thread never touches Streamlit."""
    progress = job.progress()
    top = st.columns([3, 1])
    if job.active and top[1].button("Stop", type="secondary", key="stop", help="Keeps the model trained so far"):
        job.stop()
    fraction = progress.step / progress.total_steps if progress.total_steps else 0.0
    eta = f"{progress.eta_s:.0f} s left" if progress.eta_s == progress.eta_s else "estimating time left"
    top[0].progress(
        min(fraction, 1.0),
        text=(
            f"{job.name}: {job.status} · step {progress.step}/{progress.total_steps} · "
            f"epoch {progress.epoch:.1f} · {progress.images_per_s:.0f} images/s · {eta}"
        ),
    )
    if job.first_point_s is not None:
        st.caption(f"First ELBO point {job.first_point_s:.1f} s after Start (model compilation included).")
    if job.timeline is not None:
        names = cvae.load_split(job.config, "test").class_names
        timeline_ui(job.history.to_dict(), job.timeline.all(), job.timeline.labels, names, live=job.active, key=job.id)
    if job.status in ("diverged", "failed"):
        st.error(job.message)
    elif job.status in ("finished", "stopped"):
        st.success(f"{job.message}. Saved as `{job.name}` and made the active model.")
    if warning := job.history.collapse_warning():
        st.warning(warning)
    else:
        st.caption(job.message)
    if not job.active and st.session_state.get("job_drawn_final") != job.id:
        st.session_state["job_drawn_final"] = job.id
        st.rerun()


live_ui()
