"""The Train page's form: every training option as a widget, validated into one TrainConfig."""

from __future__ import annotations

from dataclasses import fields

import streamlit as st

from cvae import ConfigError, TrainConfig
from cvae.config import PRESETS, SPECS
from cvae.registry import Registry
from ui.session_keys import form_key

FORM_FIELDS = tuple(f.name for f in fields(TrainConfig) if f.name not in ("sigma", "data_dir"))


DEFAULTS = {form_key(f): getattr(TrainConfig(), f) for f in FORM_FIELDS}
PRESET = {form_key(f): getattr(PRESETS["classroom"], f) for f in FORM_FIELDS}  # the same preset as `--preset classroom`
HELP = {name: spec.help for name, spec in SPECS.items()}


def init_form_state() -> None:
    """The form's widgets start at the config's defaults, once per session."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)


# (column, field, label) in page order: three columns of the model's options, then the recipe's two
MODEL_FORM = (
    (0, "dataset", "Dataset"),
    (0, "arch", "Architecture"),
    (0, "latent_dim", "Latent dimension"),
    (1, "likelihood", "Likelihood"),
    (1, "beta", "beta (KL weight)"),
    (1, "epochs", "Epochs"),
    (2, "batch_size", "Batch size"),
    (2, "lr", "Learning rate (Adam)"),
    (2, "seed", "Seed"),
    (3, "model", "Model"),
    (3, "conditional", "Conditional on the label (CVAE)"),
    (4, "prior", "Prior p(z)"),
    (4, "prior_components", "Mixture components K"),
    (5, "batch_norm", "BatchNorm"),
    (5, "learn_sigma", "Learn sigma"),
)
RECIPE_FORM = (
    (0, "val_fraction", "Validation fraction"),
    (0, "patience", "Early stopping patience (epochs)"),
    (0, "augment_shift", "Random shifts (pixels)"),
    (1, "kl_warmup_epochs", "KL warm-up (epochs)"),
    (1, "lr_schedule", "Learning-rate schedule"),
)
STEPS = {"beta": 0.1, "val_fraction": 0.05}  # number inputs that move by less than 1
LR_CHOICES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]  # a slider of usual rates, not a free number


def field_ui(column, field: str, label: str):
    """One TrainConfig field's widget, the kind read off its spec: a checkbox, a choice, or a bounded number."""
    spec, default = SPECS[field], getattr(TrainConfig(), field)
    widget = {"key": form_key(field), "help": HELP[field]}
    if field == "lr":
        return column.select_slider(label, LR_CHOICES, **widget)
    if isinstance(default, bool):
        return column.checkbox(label, **widget)
    if isinstance(spec.choices, Registry):  # each entry's own description
        widget["help"] = " ".join(f"{n}: {spec.choices[n].description}." for n in spec.choices)
        return column.selectbox(label, spec.choices.names(), **widget)
    if spec.choices is not None:
        return column.selectbox(label, spec.choices, **widget)
    return type(default)(column.number_input(label, *spec.limits, step=STEPS.get(field), **widget))


def config_ui() -> tuple[TrainConfig | None, str]:
    """The training form; returns the validated config (None if invalid) and the run name."""
    columns = [*st.columns(3), *st.columns(3)]
    values = {field: field_ui(columns[c], field, label) for c, field, label in MODEL_FORM}
    with st.expander("Advanced recipe"):  # the recipe's options, all off by default
        columns = st.columns(2)
        values |= {field: field_ui(columns[c], field, label) for c, field, label in RECIPE_FORM}
    name = st.text_input(
        "Run name (optional)", "", max_chars=60, help="letters, digits, '.', '_' and '-'; blank for an automatic name"
    )
    try:
        config = TrainConfig(**values)
    except ConfigError as err:
        st.error(str(err))
        return None, name
    return config, name.strip()


def use_preset() -> None:
    st.session_state.update(PRESET)


def preset_summary() -> str:
    """The Classroom preset in words, from the preset itself."""
    p = PRESETS["classroom"]
    return (
        f"{p.arch} network, {p.epochs} epochs of {p.dataset}, learning rate {p.lr:g}, KL warm-up over the first "
        f"{p.kl_warmup_epochs} epochs"
    )
