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

from cvae.explore.projections import KINDS as PROJECTIONS
from cvae.explore.projections import Projection, make_projection
from ui import state

__all__ = ["KINDS", "ProjectionChoice", "held_lift", "projection_choice", "projection_for", "projection_ui"]

NAMES = {"axes": "z_i vs z_j", "pca": "PCA", "umap": "UMAP"}
KINDS = {kind: NAMES.get(kind, kind) for kind in PROJECTIONS}  # every kind the service offers
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
# does not draw the selector, a session's first map, still knows the choice)
STARTS_ON = {"projection": next(iter(KINDS)), "axis_i": 0, "axis_j": 1, "projection_hold": HOLD[0]}


def projection_ui(latent_dim: int) -> ProjectionChoice:
    """The selector: kind, and for z_i vs z_j the two axes; what the other dimensions are held at."""
    kind = st.radio("Projection", list(KINDS), format_func=KINDS.get, key="projection", help=_help(latent_dim))
    if kind == "axes" and latent_dim > 2:
        names = [f"z{d + 1}" for d in range(latent_dim)]
        st.selectbox("Horizontal", range(latent_dim), format_func=names.__getitem__, key="axis_i")
        st.selectbox("Vertical", range(latent_dim), format_func=names.__getitem__, key="axis_j")
    if latent_dim > 2 and kind != "umap":
        st.radio("Other dimensions held at", HOLD, key="projection_hold")
    return projection_choice(latent_dim)


def projection_choice(latent_dim: int) -> ProjectionChoice:
    """The choice the selector holds (what it starts on where it has not been drawn yet)."""
    for key, value in STARTS_ON.items():
        st.session_state.setdefault(key, value)
    kind = st.session_state["projection"]
    axes = (0, 1)
    if kind == "axes" and latent_dim > 2:
        i, j = st.session_state["axis_i"], st.session_state["axis_j"]
        axes = (i, j) if i != j else (i, (i + 1) % latent_dim)
    hold = st.session_state["projection_hold"] if latent_dim > 2 and kind != "umap" else HOLD[0]
    return ProjectionChoice(kind, axes, hold)


def _help(latent_dim: int) -> str:
    return (
        "z_i vs z_j: two latent dimensions, the others held fixed. PCA: the plane of the encoded means' two "
        "largest principal components. UMAP: a nonlinear 2-D embedding; decoding goes through its approximate "
        "inverse." + (" With 2 latent dimensions z1 vs z2 is the whole latent space." if latent_dim == 2 else "")
    )


def projection_for(path: Path, choice: ProjectionChoice):
    """The projection of `path`'s encoded test digits; computed once per model and choice, server-wide."""
    cached = _umap_projection if choice.kind == "umap" else _projection
    return cached(str(path), _stamp(path), choice.kind, choice.axes)


def _make(path: str, kind: str, axes: tuple[int, int]) -> Projection:
    return make_projection(kind, state.encoded_for(Path(path)).mu, axes=axes)


@st.cache_resource(max_entries=16, show_spinner=False)
def _projection(path: str, stamp: float, kind: str, axes: tuple[int, int]):
    return _make(path, kind, axes)


@st.cache_resource(
    max_entries=4, show_spinner="Computing UMAP of the encoded digits: once per model, up to a minute on 2 cores..."
)
def _umap_projection(path: str, stamp: float, kind: str, axes: tuple[int, int]):
    return _make(path, kind, axes)


def _stamp(path: Path) -> float:
    try:
        return (path / "params.npz").stat().st_mtime
    except OSError:
        return 0.0


def held_lift(projection: Projection, held: np.ndarray | None) -> dict | None:
    """The affine lift through `held` parallel to the projection's plane, as JSON (None: a grid lift)."""
    if not projection.linear:
        return None
    lift = projection.held_at(held).lift if held is not None else projection.lift
    return {"kind": "affine", "base": lift.base.tolist(), "axes": lift.axes.tolist()}
