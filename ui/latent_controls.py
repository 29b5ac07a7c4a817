"""The Latent page's map controls, in the sidebar: projection, colouring, prior contours, density.

A session's first map is drawn before them (`ui.latent_view.MAP_DRAWN`): on 2 cores, rendering
them and the sidebar's model picker delayed that map's first frame by ~0.4 s each. Their values
live in session state from the first run on, so a run that does not draw them still knows them,
and they sit beside the map, not above it, so the map does not move when they appear.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ui.latent_projection import ProjectionChoice, projection_choice, projection_ui

__all__ = ["COLOURINGS", "MapControls", "map_controls_ui"]

COLOURINGS = {"label": "label", "spread": "posterior spread (mean sd)", "kl": "KL per image (nats)"}
STARTS_ON = {"colouring": "label", "show_prior": False, "show_density": False}


@dataclass(frozen=True)
class MapControls:
    choice: ProjectionChoice
    colouring: str  # a key of COLOURINGS
    prior: bool  # the prior's contours (only where the model's prior has Gaussian components)
    density: bool  # the aggregate posterior's density under the digits


def map_controls_ui(latent_dim: int, *, has_prior: bool, draw: bool) -> MapControls:
    """The controls in the sidebar when `draw`, and the values they hold (drawn or not)."""
    for key, value in STARTS_ON.items():
        st.session_state.setdefault(key, value)
    if draw:
        with st.sidebar:
            st.subheader("Map")
            projection_ui(latent_dim)
            st.radio("Colour digits by", list(COLOURINGS), format_func=COLOURINGS.get, key="colouring")
            st.checkbox(
                "Prior contours",
                key="show_prior",
                disabled=not has_prior,
                help="p(z): N(0, I) at 1, 2, 3 sd, or a learned mixture's components; drawn on z_i vs z_j and PCA maps",
            )
            st.checkbox(
                "Aggregate posterior density",
                key="show_density",
                help="mean of all q(z|x): dark where codes are dense; pale holes decode poorly",
            )
    return MapControls(
        projection_choice(latent_dim),
        st.session_state["colouring"],
        has_prior and st.session_state["show_prior"],
        st.session_state["show_density"],
    )
