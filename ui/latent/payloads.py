"""The latent map's payload and density, built once per model and projection and shared server-wide.

Nothing here depends on the session: the payload carries only the model this session explores
(its path comes from `model_choice.active_path()`, never from the browser), and the cached bytes are
never mutated.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import streamlit as st

from cvae.explore.projections import PROJECTIONS
from cvae.model.decoder_export import export_decoder
from cvae.viz.latent_figures import map_range
from cvae.viz.map_overlays import affine_inverse, kde_density, mixture_density, projected_gaussians
from cvae.viz.map_payload import MapData, build_payload, slider_range
from ui.latent.projection import ProjectionChoice, projection_for
from ui.model_cache import encoded_for, model_for, model_key

__all__ = ["MAP_KEY", "MAX_CODES_BYTES", "home_range", "payload_for"]

MAP_KEY = "latent_map"  # the Latent page's map component; its payloads are cached per target

MAX_CODES_BYTES = 4_000_000  # the digits' own codes travel only while they are this small
DENSITY_N = 100  # grid nodes per axis


def payload_for(path: Path, choice: ProjectionChoice, *, target: str, density: bool) -> bytes:
    return _payload(*model_key(path), _plane(choice), target, density)


def home_range(path: Path, choice: ProjectionChoice) -> tuple[tuple[float, float], tuple[float, float]]:
    """The map's initial view: the encoded cloud, at least +-3 (the prior's 3 sd) for latent axes."""
    return _range(*model_key(path), _plane(choice))


def _plane(choice: ProjectionChoice) -> ProjectionChoice:
    """The choice as far as the map's data depends on it (not what the other dimensions are held at)."""
    return ProjectionChoice(choice.kind, choice.axes)


@st.cache_resource(max_entries=16, show_spinner=False)
def _range(path: str, stamp: float, choice: ProjectionChoice):
    coords = projection_for(Path(path), choice).coords
    return map_range(coords, at_least=3.0 if PROJECTIONS[choice.kind].linear else None)


@st.cache_resource(max_entries=8, show_spinner="Computing the aggregate posterior's density...")
def _density(path: str, stamp: float, choice: ProjectionChoice):
    projection, encoded = projection_for(Path(path), choice), encoded_for(Path(path))
    (x0, x1), (y0, y1) = _range(path, stamp, choice)
    xs, ys = np.linspace(x0, x1, DENSITY_N), np.linspace(y0, y1, DENSITY_N)
    lift = projection.lift
    if projection.linear:  # an affine map keeps each q(z|x) Gaussian
        means, covs = projected_gaussians(*affine_inverse(lift.base, lift.axes), encoded.mu, encoded.sd)
        return xs, ys, mixture_density(means, covs, xs, ys)
    return xs, ys, kde_density(projection.coords, xs, ys)


@st.cache_resource(max_entries=16, show_spinner="Preparing the latent map...")
def _payload(path: str, stamp: float, choice: ProjectionChoice, target: str, density: bool) -> bytes:
    checkpoint, encoded = model_for(Path(path)), encoded_for(Path(path))
    projection = projection_for(Path(path), choice)
    x_range, y_range = _range(path, stamp, choice)
    latent = encoded.mu.shape[1]
    codes = encoded.mu if latent > 2 and encoded.mu.nbytes <= MAX_CODES_BYTES else None
    data = MapData(
        coords=np.asarray(projection.coords, np.float32),
        labels=encoded.labels,
        class_names=encoded.class_names,
        x_range=x_range,
        y_range=y_range,
        axis_titles=tuple(projection.axis_titles),
        # names model and projection without telling the browser where the model lives
        frame=hashlib.sha1(repr((path, stamp, choice.key)).encode()).hexdigest()[:16],
        colourings={"spread": ("mean sd", encoded.sd.mean(axis=1)), "kl": ("KL (nats)", encoded.kl)},
        codes=codes,
    )
    lift = projection.lift
    grid = None
    if not projection.linear:  # the browser interpolates the same grid as GridLift.to_latent
        size, latent_dim = lift.size, lift.latent_dim
        codes = lift.codes.reshape(size * size, latent_dim)
        grid = {"kind": "grid", "u_range": list(lift.x_range), "v_range": list(lift.y_range), "n": size, "codes": codes}
    return build_payload(
        target,
        data,
        export_decoder(checkpoint.vae),
        grid_lift=grid,
        density=_density(path, stamp, choice) if density else None,
        slider_range=slider_range(encoded.mu, x_range, y_range),
    )
