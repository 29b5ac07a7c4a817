"""The Train page's form: every training option as a widget, validated into one TrainConfig."""

from __future__ import annotations

import streamlit as st

from cvae import DATASET_NAMES, ConfigError, TrainConfig
from cvae.config import LIMITS, LR_SCHEDULES, PAIRED_LIMITS
from cvae.model.kinds import MODELS
from cvae.model.likelihoods import LIKELIHOODS
from cvae.model.priors import PRIORS
from cvae.nn.networks import ARCHITECTURES

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
    "cfg_model": "vae",
    "cfg_conditional": False,
    "cfg_prior": "standard-normal",
    "cfg_components": 10,
    "cfg_batch_norm": False,
    "cfg_learn_sigma": False,
    "cfg_val_fraction": 0.0,
    "cfg_shift": 0,
    "cfg_warmup": 5,  # chosen on a validation split (bench/recipe_search.py): -10 nats at no cost in time
    "cfg_lr_schedule": "constant",
    "cfg_patience": 0,
}
_D = TrainConfig()
DEFAULTS = {
    **PRESET,
    "cfg_epochs": _D.epochs,
    "cfg_lr": _D.lr,
    "cfg_val_fraction": _D.val_fraction,
    "cfg_shift": _D.augment_shift,
    "cfg_warmup": _D.kl_warmup_epochs,
    "cfg_lr_schedule": _D.lr_schedule,
    "cfg_patience": _D.patience,
}


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
    d, e, f = st.columns(3)
    model = d.selectbox(
        "Model",
        MODELS.names(),
        key="cfg_model",
        help=" ".join(f"{n}: {MODELS[n].description}." for n in MODELS),
    )
    conditional = d.checkbox(
        "Conditional on the label (CVAE)",
        key="cfg_conditional",
        help="Encoder and decoder also read the digit's label: z keeps the style, the label the content.",
    )
    prior = e.selectbox(
        "Prior p(z)",
        PRIORS.names(),
        key="cfg_prior",
        help=" ".join(f"{n}: {PRIORS[n].description}." for n in PRIORS),
    )
    components = e.number_input(
        "Mixture components K", *LIMITS["prior_components"], key="cfg_components", help="used by the mixture prior"
    )
    batch_norm = f.checkbox(
        "BatchNorm", key="cfg_batch_norm", help="normalise every hidden layer; needs a batch size of at least 2"
    )
    learn_sigma = f.checkbox(
        "Learn sigma", key="cfg_learn_sigma", help="fit the normal likelihood's pixel sd with the networks"
    )
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
            key="cfg_val_fraction",
            help="training digits held out (the same ones every run) to score -ELBO after each epoch",
        )
        patience = g.number_input(
            "Early stopping patience (epochs)",
            *PAIRED_LIMITS["patience"],
            key="cfg_patience",
            help="stop when the validation -ELBO has not improved for this many epochs and keep the best "
            "epoch's weights; 0 = off. Needs a validation fraction.",
        )
        shift = g.number_input(
            "Random shifts (pixels)",
            *LIMITS["augment_shift"],
            key="cfg_shift",
            help="every batch moves each digit by up to this many pixels: fewer memorised pixels",
        )
        warmup = h.number_input(
            "KL warm-up (epochs)",
            *LIMITS["kl_warmup_epochs"],
            key="cfg_warmup",
            help="beta rises from 0 to its value over these epochs: the encoder spreads the digits out first",
        )
        schedule = h.selectbox(
            "Learning-rate schedule", LR_SCHEDULES, key="cfg_lr_schedule", help="cosine: decays to 1% by the end"
        )
    return {
        "val_fraction": float(val_fraction),
        "augment_shift": int(shift),
        "kl_warmup_epochs": int(warmup),
        "lr_schedule": schedule,
        "patience": int(patience),
    }


def use_preset() -> None:
    st.session_state.update(PRESET)
