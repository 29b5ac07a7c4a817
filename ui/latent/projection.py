"""The Latent page's projection: which plane of latent space the map shows, chosen and cached.

Projections come from `cvae.explore.projections` (z_i vs z_j, PCA, UMAP: coords, axis titles, a
lift the browser decodes through, to_latent / to_map); each is computed once per model and kept
for every session (UMAP also on disk, by cvae.explore.projections.umap).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from cvae.explore.projections import PROJECTIONS, Projection, make_projection
from ui import session_keys as keys
from ui.model_cache import encoded_for, model_key

__all__ = ["HOLD", "KINDS", "ProjectionChoice", "held_lift", "projection_choice", "projection_for", "projection_ui"]

KINDS = {kind: PROJECTIONS[kind].title for kind in PROJECTIONS}  # every kind cvae offers, by its shown name
HOLD = ("the pinned point", "the data mean")


@dataclass(frozen=True)
class ProjectionChoice:
    kind: str  # a key of KINDS
    axes: tuple[int, int] = (0, 1)  # for "axes": the map's two dimensions
    hold: str = HOLD[0]  # what the dimensions off the map are held at

    @property
    def key(self) -> tuple:
        return (self.kind, self.axes)


# the selector's widgets' keys and what they start on (set before any widget reads them, so a run that
# does not draw the selector, a tab's first map, still knows the choice)
STARTS_ON = {keys.PROJECTION: next(iter(KINDS)), keys.AXIS_I: 0, keys.AXIS_J: 1, keys.PROJECTION_HOLD: HOLD[0]}


def projection_ui(latent_dim: int) -> ProjectionChoice:
    """The selector: kind, and for z_i vs z_j the two axes; what the other dimensions are held at."""
    kind = st.radio("Projection", list(KINDS), format_func=KINDS.get, key=keys.PROJECTION, help=_help(latent_dim))
    if kind == "axes" and latent_dim > 2:
        names = [f"z{d + 1}" for d in range(latent_dim)]
        st.selectbox("Horizontal", range(latent_dim), format_func=names.__getitem__, key=keys.AXIS_I)
        st.selectbox("Vertical", range(latent_dim), format_func=names.__getitem__, key=keys.AXIS_J)
    if latent_dim > 2 and PROJECTIONS[kind].linear:
        st.radio("Other dimensions held at", HOLD, key=keys.PROJECTION_HOLD)
    return projection_choice(latent_dim)


def projection_choice(latent_dim: int) -> ProjectionChoice:
    """The choice the selector holds (what it starts on where it has not been drawn yet)."""
    for key, value in STARTS_ON.items():
        st.session_state.setdefault(key, value)
    kind = st.session_state[keys.PROJECTION]
    axes = (0, 1)
    if kind == "axes" and latent_dim > 2:
        i, j = st.session_state[keys.AXIS_I], st.session_state[keys.AXIS_J]
        axes = (i, j) if i != j else (i, (i + 1) % latent_dim)
    hold = st.session_state[keys.PROJECTION_HOLD] if latent_dim > 2 and PROJECTIONS[kind].linear else HOLD[0]
    return ProjectionChoice(kind, axes, hold)


def _help(latent_dim: int) -> str:
    kinds = " ".join(f"{kind.title}: {kind.description}" for kind in map(PROJECTIONS.__getitem__, PROJECTIONS))
    return kinds + (" With 2 latent dimensions z1 vs z2 is the whole latent space." if latent_dim == 2 else "")


def projection_for(path: Path, choice: ProjectionChoice):
    """The projection of `path`'s encoded test digits; computed once per model and choice, server-wide."""
    cached = _umap_projection if choice.kind == "umap" else _projection
    return cached(*model_key(path), choice.kind, choice.axes)


def _make(path: str, kind: str, axes: tuple[int, int]) -> Projection:
    return make_projection(kind, encoded_for(Path(path)).mu, axes=axes)


@st.cache_resource(max_entries=16, show_spinner=False)
def _projection(path: str, stamp: float, kind: str, axes: tuple[int, int]):
    return _make(path, kind, axes)


@st.cache_resource(
    max_entries=4, show_spinner="Computing UMAP of the encoded digits: once per model, up to a minute on 2 cores..."
)
def _umap_projection(path: str, stamp: float, kind: str, axes: tuple[int, int]):
    return _make(path, kind, axes)


def held_lift(projection: Projection, held: np.ndarray | None) -> dict | None:
    """The affine lift through `held` parallel to the projection's plane, as JSON (None: a grid lift)."""
    if not projection.linear:
        return None
    lift = projection.held_at(held).lift if held is not None else projection.lift
    return {"kind": "affine", "base": lift.base.tolist(), "axes": lift.axes.tolist()}
