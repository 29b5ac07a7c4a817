"""The Train page's form: every training option as a widget, validated into one TrainConfig."""

from __future__ import annotations

import streamlit as st

from cvae import DATASET_NAMES, ConfigError, TrainConfig
from cvae.config import LIMITS
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
}
DEFAULTS = {**PRESET, "cfg_epochs": TrainConfig().epochs, "cfg_lr": TrainConfig().lr}


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
        )
    except ConfigError as err:
        st.error(str(err))
        return None, name
    return config, name.strip()


def use_preset() -> None:
    st.session_state.update(PRESET)
