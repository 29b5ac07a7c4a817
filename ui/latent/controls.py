"""The Latent page's map controls, in the sidebar: projection, colouring, prior contours, density.

A tab's first map is drawn without them (ui.latent.first_map). Their values live in session state
from the first run on, so a run that does not draw them still knows them, and they sit beside the
map, not above it, so the map does not move when they appear.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ui import session_keys as keys
from ui.latent.projection import ProjectionChoice, projection_choice, projection_ui

__all__ = ["COLOURINGS", "MapControls", "map_controls_ui"]

COLOURINGS = {"label": "label", "spread": "posterior spread (mean sd)", "kl": "KL per image (nats)"}
STARTS_ON = {keys.COLOURING: "label", keys.SHOW_PRIOR: False, keys.SHOW_DENSITY: False}


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
            st.radio("Colour digits by", list(COLOURINGS), format_func=COLOURINGS.get, key=keys.COLOURING)
            st.checkbox(
                "Prior contours",
                key=keys.SHOW_PRIOR,
                disabled=not has_prior,
                help="p(z): N(0, I) at 1, 2, 3 sd, or a learned mixture's components; drawn on z_i vs z_j and PCA maps",
            )
            st.checkbox(
                "Aggregate posterior density",
                key=keys.SHOW_DENSITY,
                help="mean of all q(z|x): dark where codes are dense; pale holes decode poorly",
            )
    return MapControls(
        projection_choice(latent_dim),
        st.session_state[keys.COLOURING],
        has_prior and st.session_state[keys.SHOW_PRIOR],
        st.session_state[keys.SHOW_DENSITY],
    )
