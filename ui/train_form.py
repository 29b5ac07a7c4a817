"""The Train page's form: every training option as a widget, validated into one TrainConfig."""

from __future__ import annotations

from dataclasses import fields

import streamlit as st

from cvae import DATASET_NAMES, ConfigError, TrainConfig
from cvae.config import LIMITS, LR_SCHEDULES, PRESETS, SPECS
from cvae.model.kinds import MODELS
from cvae.model.likelihoods import LIKELIHOODS
from cvae.model.priors import PRIORS
from cvae.nn.networks import ARCHITECTURES

FORM_FIELDS = tuple(f.name for f in fields(TrainConfig) if f.name not in ("sigma", "data_dir"))


def key(field: str) -> str:
    """The session-state key of a TrainConfig field's widget."""
    return f"cfg_{field}"


DEFAULTS = {key(f): getattr(TrainConfig(), f) for f in FORM_FIELDS}
PRESET = {key(f): getattr(PRESETS["classroom"], f) for f in FORM_FIELDS}  # the same preset as `--preset classroom`
HELP = {name: spec.help for name, spec in SPECS.items()}


def init_form_state() -> None:
    """The form's widgets start at the config's defaults, once per session."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)


def config_ui() -> tuple[TrainConfig | None, str]:
    """The training form; returns the validated config (None if invalid) and the run name."""
    a, b, c = st.columns(3)
    dataset = a.selectbox(
        "Dataset",
        DATASET_NAMES,
        key=key("dataset"),
        help=HELP["dataset"],
    )
    arch = a.selectbox(
        "Architecture",
        ARCHITECTURES.names(),
        key=key("arch"),
        help=" ".join(f"{n}: {ARCHITECTURES[n].description}." for n in ARCHITECTURES),
    )
    latent_dim = a.number_input(
        "Latent dimension",
        *LIMITS["latent_dim"],
        key=key("latent_dim"),
        help=HELP["latent_dim"],
    )
    likelihood = b.selectbox(
        "Likelihood",
        LIKELIHOODS.names(),
        key=key("likelihood"),
        help=" ".join(f"{n}: {LIKELIHOODS[n].description}." for n in LIKELIHOODS),
    )
    beta = b.number_input("beta (KL weight)", *LIMITS["beta"], step=0.1, key=key("beta"), help=HELP["beta"])
    epochs = b.number_input("Epochs", *LIMITS["epochs"], key=key("epochs"), help=HELP["epochs"])
    batch_size = c.number_input("Batch size", *LIMITS["batch_size"], key=key("batch_size"), help=HELP["batch_size"])
    lr = c.select_slider("Learning rate (Adam)", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], key=key("lr"), help=HELP["lr"])
    seed = c.number_input("Seed", *LIMITS["seed"], key=key("seed"), help=HELP["seed"])
    d, e, f = st.columns(3)
    model = d.selectbox(
        "Model",
        MODELS.names(),
        key=key("model"),
        help=" ".join(f"{n}: {MODELS[n].description}." for n in MODELS),
    )
    conditional = d.checkbox(
        "Conditional on the label (CVAE)",
        key=key("conditional"),
        help=HELP["conditional"],
    )
    prior = e.selectbox(
        "Prior p(z)",
        PRIORS.names(),
        key=key("prior"),
        help=" ".join(f"{n}: {PRIORS[n].description}." for n in PRIORS),
    )
    components = e.number_input(
        "Mixture components K", *LIMITS["prior_components"], key=key("prior_components"), help=HELP["prior_components"]
    )
    batch_norm = f.checkbox("BatchNorm", key=key("batch_norm"), help=HELP["batch_norm"])
    learn_sigma = f.checkbox("Learn sigma", key=key("learn_sigma"), help=HELP["learn_sigma"])
    recipe = recipe_ui()
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
            model=model,
            conditional=bool(conditional),
            prior=prior,
            prior_components=int(components),
            batch_norm=bool(batch_norm),
            learn_sigma=bool(learn_sigma),
            **recipe,
        )
    except ConfigError as err:
        st.error(str(err))
        return None, name
    return config, name.strip()


def recipe_ui() -> dict:
    """The recipe's options (all off by default), as TrainConfig fields."""
    with st.expander("Advanced recipe"):
        g, h = st.columns(2)
        val_fraction = g.number_input(
            "Validation fraction",
            *LIMITS["val_fraction"],
            step=0.05,
            key=key("val_fraction"),
            help=HELP["val_fraction"],
        )
        patience = g.number_input(
            "Early stopping patience (epochs)",
            *LIMITS["patience"],
            key=key("patience"),
            help=HELP["patience"],
        )
        shift = g.number_input(
            "Random shifts (pixels)",
            *LIMITS["augment_shift"],
            key=key("augment_shift"),
            help=HELP["augment_shift"],
        )
        warmup = h.number_input(
            "KL warm-up (epochs)",
            *LIMITS["kl_warmup_epochs"],
            key=key("kl_warmup_epochs"),
            help=HELP["kl_warmup_epochs"],
        )
        schedule = h.selectbox("Learning-rate schedule", LR_SCHEDULES, key=key("lr_schedule"), help=HELP["lr_schedule"])
    return {
        "val_fraction": float(val_fraction),
        "augment_shift": int(shift),
        "kl_warmup_epochs": int(warmup),
        "lr_schedule": schedule,
        "patience": int(patience),
    }


def use_preset() -> None:
    st.session_state.update(PRESET)


def preset_summary() -> str:
    """The Classroom preset in words, from the preset itself."""
    p = PRESETS["classroom"]
    return (
        f"{p.arch} network, {p.epochs} epochs of {p.dataset}, learning rate {p.lr:g}, KL warm-up over the first "
        f"{p.kl_warmup_epochs} epochs"
    )
