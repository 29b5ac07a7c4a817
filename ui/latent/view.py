"""The Latent page's pinned point: applying the browser's pins, and the view handed to the map.

Session state (ui.session_keys): z_key(0) .. z_key(L-1) (the pinned code), PICKED (a test digit's
index or None), PIN_UV (the map point pinned, or None when the sliders set z) and DECODE_LABEL
(for a conditional decoder). Only `apply_pin` writes them from the browser, after `parse_pin`.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

import numpy as np
import streamlit as st

from cvae.explore.projections import Projection
from cvae.viz.map_events import PinError, parse_pin
from cvae.viz.map_overlays import affine_inverse, ellipse, overlay, prior_contours, projected_gaussians
from ui import session_keys as keys
from ui.latent import first_map

__all__ = ["MapContext", "apply_pin", "current_z", "init_state", "payload_header", "project", "view_data"]


@dataclass(frozen=True)
class MapContext:
    """What a pin is interpreted against: the projection shown and the encoded digits."""

    projection: Projection
    mu: np.ndarray  # (N, latent)
    sd: np.ndarray  # (N, latent)
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    lift: dict | None  # the affine lift through the held code; None: the projection's grid lift
    conditioning: int = 0
    prior: dict | None = None  # the prior's Gaussian components (weights, means, sds); None: a kind's own prior

    @property
    def latent_dim(self) -> int:
        return self.mu.shape[1]

    def inverse(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(P, c) with uv = P z + c, for an affine lift."""
        if self.lift is None:
            return None
        return affine_inverse(np.asarray(self.lift["base"]), np.asarray(self.lift["axes"]))

    def to_latent(self, uv: tuple[float, float]) -> np.ndarray:
        if self.lift is None:
            return self.projection.to_latent(np.asarray(uv, float)[None])[0]
        base, axes = np.asarray(self.lift["base"]), np.asarray(self.lift["axes"])
        return (base + np.asarray(uv) @ axes).astype(np.float32)


def init_state(latent_dim: int) -> None:
    """The pinned point's keys, at the origin with nothing picked, where this tab has none yet."""
    for d in range(latent_dim):
        st.session_state.setdefault(keys.z_key(d), 0.0)
    for key, value in ((keys.PICKED, None), (keys.PIN_UV, None), (keys.DECODE_LABEL, 0), (keys.SAMPLE_SEED, 0)):
        st.session_state.setdefault(key, value)


def current_z(latent_dim: int) -> np.ndarray:
    return np.array([st.session_state[keys.z_key(d)] for d in range(latent_dim)], dtype=np.float32)


def apply_pin(raw: object, ctx: MapContext) -> str | None:
    """Make the browser's pin the session's point; returns a message if it was refused."""
    try:
        pin = parse_pin(
            raw,
            latent_dim=ctx.latent_dim,
            n_points=len(ctx.mu),
            x_range=ctx.x_range,
            y_range=ctx.y_range,
            conditioning=ctx.conditioning,
        )
    except PinError as err:
        return f"Ignored a point the browser sent: {err}."
    if pin.index is not None:  # a digit: its own code, at its place on the map
        z, uv = ctx.mu[pin.index], tuple(float(v) for v in np.asarray(ctx.projection.coords[pin.index]))
    elif pin.uv is not None:  # a map point: Python's lift, not the browser's z
        z, uv = ctx.to_latent(pin.uv), pin.uv
    else:  # the sliders
        z, uv = pin.z, None
    for d, value in enumerate(z):
        st.session_state[keys.z_key(d)] = round(float(value), 4)
    st.session_state[keys.PICKED] = pin.index
    st.session_state[keys.PIN_UV] = list(uv) if uv is not None else None
    if pin.label is not None:
        st.session_state[keys.DECODE_LABEL] = pin.label
    return None


def project(ctx: MapContext, z: np.ndarray) -> np.ndarray:
    """Codes (M, latent) -> map points (M, 2)."""
    inverse = ctx.inverse()
    if inverse is None:
        return np.asarray(ctx.projection.to_map(np.asarray(z, float)), float)
    p, c = inverse
    return np.asarray(z, float) @ p.T + c


def payload_header(payload: bytes) -> dict:
    """A payload's header (its id names it in the view; its decoder says whether it takes a label)."""
    (length,) = struct.unpack("<I", payload[4:8])
    return json.loads(payload[8 : 8 + length])


def view_data(
    ctx: MapContext,
    payload: bytes,
    *,
    colouring: str,
    density: bool,
    prior: bool,
    draws: np.ndarray | None = None,
    path: np.ndarray | None = None,
) -> dict:
    """The map's per-run JSON: the pinned point, colouring and overlays (a few KB)."""
    z = current_z(ctx.latent_dim)
    picked = st.session_state[keys.PICKED]
    uv = st.session_state[keys.PIN_UV]
    if uv is None and ctx.lift is None:  # grid lift: the browser cannot place a code itself
        uv = project(ctx, z[None])[0].tolist()
    overlays = []
    inverse = ctx.inverse()
    if prior and inverse is not None and ctx.prior is not None:
        overlays.append(_prior_overlay(ctx.prior, *inverse))
    if picked is not None and inverse is not None:
        means, covs = projected_gaussians(*inverse, ctx.mu[picked : picked + 1], ctx.sd[picked : picked + 1])
        lines = [ellipse(means[0], covs[0], k, n=48) for k in (1, 2)]
        overlays.append(overlay("q(z|x): 1 and 2 sd", "#000000", lines=lines, width=2))
    if draws is not None and len(draws):
        overlays.append(overlay("draws from q(z|x)", "#000000", points=project(ctx, draws), marker="ring"))
    if path is not None:
        uvs = project(ctx, path)
        ends = [(*uvs[0], "A"), (*uvs[-1], "B")]
        overlays.append(overlay("interpolation", "#EE7733", lines=[uvs], points=ends, marker="dot", width=3))
    return {
        "payload_id": payload_header(payload)["id"],
        "colouring": colouring,
        "density": density,
        "lift": ctx.lift,
        "pinned": {
            "z": [float(v) for v in z],
            "uv": uv,
            "index": picked,
            "label": st.session_state[keys.DECODE_LABEL] if ctx.conditioning else None,
        },
        "overlays": overlays,
        "report_drawn": first_map.pending(),  # the first map's frame brings the rest of the page
    }


def _prior_overlay(components: dict, p: np.ndarray, c: np.ndarray) -> dict:
    """The prior's contours on an affine map (`cvae.viz.map_overlays.prior_contours`); a learned
    mixture's means are labelled with their weights."""
    drawn = prior_contours(components, p, c)
    if not len(drawn.weights):
        return overlay(drawn.name, "#CC3311", lines=drawn.lines, dash=(6, 4))
    points = [(u, v, f"{w:.2f}") for (u, v), w in zip(drawn.means, drawn.weights, strict=True)]
    name = f"{drawn.name} (weights at the means)"
    return overlay(name, "#CC3311", lines=drawn.lines, points=points, dash=(6, 4), marker="dot")
