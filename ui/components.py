"""Small reusable widgets; each `*_ui()` draws and returns plain values."""
from __future__ import annotations

import numpy as np
import streamlit as st

import cvae
from cvae.imaging import to_png
from ui import state


def model_picker_ui() -> None:
    """Sidebar: which saved model this session explores."""
    runs = state.saved_runs()
    if not runs:
        st.sidebar.warning("No model yet: train one on the Train page.")
        return
    names = list(runs)
    active = str(state.active_path())
    # reflect the active model, which a finished training may have changed since the last run
    st.session_state["model_picker"] = next((n for n in names if str(runs[n]) == active), names[0])
    st.sidebar.selectbox("Active model", names, key="model_picker",
                         on_change=lambda: state.set_active(runs[st.session_state["model_picker"]]),
                         help="The model the Latent space and Manifold pages show.")
    try:
        config = state.active_model().config
    except cvae.CheckpointError as err:
        st.sidebar.error(f"This model cannot be loaded: {err}")
        return
    st.sidebar.caption(f"{config.arch} · latent {config.latent_dim} · {config.likelihood} · "
                       f"beta {config.beta:g} · {config.dataset}")


def digit_ui(image: np.ndarray, caption: str, size: int = 140) -> None:
    st.image(to_png(image, size), caption=caption, width=size, output_format="PNG")


def pixel_meaning(likelihood: str) -> str:
    if likelihood == "bernoulli":
        return ("Each pixel is the decoder's mean E[x|z]: the probability that the pixel is on "
                "under the Bernoulli likelihood (white = 1).")
    return "Each pixel is the decoder's mean E[x|z]: the mean grey level of a Normal likelihood."
