import streamlit as st

import cvae
from cvae import DATASET_NAMES, CheckpointError, ConfigError, TrainConfig
from cvae.config import LIMITS
from cvae.model.likelihoods import LIKELIHOODS
from cvae.nn.networks import ARCHITECTURES
from cvae.service.jobs import BusyError
from cvae.training.timeline import load_timeline
from ui import state
from ui.components import timeline_ui

st.title("Train")
registry = state.job_registry()


PRESET = {
    "cfg_dataset": "mnist-5k",
    "cfg_arch": "keras-example",
    "cfg_latent": 2,
    "cfg_likelihood": "bernoulli",
    "cfg_beta": 1.0,
    "cfg_epochs": 30,
    "cfg_batch": 100,
    "cfg_lr": 3e-3,
    "cfg_seed": 0,
}
DEFAULTS = {**PRESET, "cfg_epochs": TrainConfig().epochs, "cfg_lr": TrainConfig().lr}
for key, value in DEFAULTS.items():
    st.session_state.setdefault(key, value)


def config_ui() -> tuple[TrainConfig | None, str]:
    """The training form; returns the validated config (None if invalid) and the run name."""
    a, b, c = st.columns(3)
    dataset = a.selectbox(
        "Dataset",
        DATASET_NAMES,
        key="cfg_dataset",
        help="mnist-5k works offline; mnist and fashion-mnist download once.",
    )
    arch = a.selectbox(
        "Architecture",
        ARCHITECTURES.names(),
        key="cfg_arch",
        help=" ".join(f"{n}: {ARCHITECTURES[n].description}." for n in ARCHITECTURES),
    )
    latent_dim = a.number_input(
        "Latent dimension",
        *LIMITS["latent_dim"],
        key="cfg_latent",
        help="2 gives a map you can read directly; more dimensions hold more detail. The "
        "encoder's and decoder's first dense layers grow with it, and so does the "
        "time to encode the test set; the training step barely changes.",
    )
    likelihood = b.selectbox(
        "Likelihood",
        LIKELIHOODS.names(),
        key="cfg_likelihood",
        help=" ".join(f"{n}: {LIKELIHOODS[n].description}." for n in LIKELIHOODS),
    )
    beta = b.number_input(
        "beta (KL weight)", *LIMITS["beta"], step=0.1, key="cfg_beta", help="1 = the true ELBO; 0 = a plain autoencoder"
    )
    epochs = b.number_input("Epochs", *LIMITS["epochs"], key="cfg_epochs")
    batch_size = c.number_input("Batch size", *LIMITS["batch_size"], key="cfg_batch")
    lr = c.select_slider("Learning rate (Adam)", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], key="cfg_lr")
    seed = c.number_input("Seed", *LIMITS["seed"], key="cfg_seed")
    name = st.text_input(
        "Run name (optional)", "", max_chars=60, help="letters, digits, '.', '_' and '-'; blank for an automatic name"
    )
    try:
        config = TrainConfig(
            dataset=dataset,
            arch=arch,
            latent_dim=int(latent_dim),
            likelihood=likelihood,
            beta=float(beta),
            epochs=int(epochs),
            batch_size=int(batch_size),
            lr=float(lr),
            seed=int(seed),
        )
    except ConfigError as err:
        st.error(str(err))
        return None, name
    return config, name.strip()


def use_preset() -> None:
    st.session_state.update(PRESET)


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
