"""Figures for latent spaces beyond 2-D: KL and activity per dimension, and a projection's map."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from cvae.explore.latent_stats import LatentStats
from cvae.explore.projections import Projection
from cvae.viz.latent_figures import add_prior, cross_marker
from cvae.viz.map_overlays import PriorContours
from cvae.viz.palette import class_marker

__all__ = ["kl_per_dim_figure", "projection_figure"]

_ACTIVE, _INACTIVE = "#332288", "#BBBBBB"


def kl_per_dim_figure(stats: LatentStats, height: int = 320) -> go.Figure:
    """Bars of mean KL(q(z_d|x) || N(0, 1)) per dimension, dark for active units, grey for inactive ones."""
    names = [f"z{d + 1}" for d in range(stats.latent_dim)]
    fig = go.Figure()
    for active, colour, label in ((True, _ACTIVE, "active"), (False, _INACTIVE, "inactive (collapsed)")):
        members = np.flatnonzero(stats.active == active)
        fig.add_trace(
            go.Bar(
                x=[names[d] for d in members],
                y=stats.kl_per_dim[members],
                name=f"{label}: {len(members)}",
                marker={"color": colour},
                customdata=stats.activity[members],
                hovertemplate="%{x}<br>KL %{y:.3f} nats<br>Var(E_q[z]) %{customdata:.3g}<extra></extra>",
            )
        )
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        barmode="overlay",
        xaxis={"title": "latent dimension", "categoryorder": "array", "categoryarray": names},
        yaxis={"title": "KL per image (nats)", "rangemode": "tozero"},
        legend={"orientation": "h", "y": 1.12},
        plot_bgcolor="#FFFFFF",
    )
    fig.update_yaxes(gridcolor="#EEEEEE")
    return fig


def projection_figure(
    projection: Projection,
    labels: np.ndarray,
    class_names: tuple[str, ...],
    *,
    box: tuple[float, float, float] | None = None,
    marker: np.ndarray | None = None,
    prior: PriorContours | None = None,
    height: int = 560,
) -> go.Figure:
    """The encoded digits at `projection.coords`, one trace per class; `box` = (u, v, half-width)
    outlines a square, `marker` (latent,) marks a code (e.g. the one the other dimensions are held at),
    `prior` the prior's contours on this map (`cvae.viz.map_overlays.projection_prior`)."""
    fig = go.Figure()
    u_title, v_title = projection.axis_titles
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        name = class_names[label] if label < len(class_names) else str(label)
        fig.add_trace(
            go.Scattergl(
                x=projection.coords[members, 0],
                y=projection.coords[members, 1],
                mode="markers",
                name=name,
                customdata=members,
                marker=class_marker(label, size=6, opacity=0.75),
                hovertemplate=f"{name}<br>{u_title}=%{{x:.2f}}<br>{v_title}=%{{y:.2f}}<extra>#%{{customdata}}</extra>",
            )
        )
    if prior is not None:
        add_prior(fig, prior, width=1.2)
    if box is not None:
        u, v, half = box
        fig.add_shape(
            type="rect",
            x0=u - half,
            y0=v - half,
            x1=u + half,
            y1=v + half,
            line={"color": "#CC3311", "width": 2, "dash": "dash"},
        )
    if marker is not None:
        at = projection.to_map(marker)[0]
        fig.add_trace(cross_marker(at[0], at[1], "held code"))
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"title": "label (click to hide)", "itemsizing": "constant"},
        xaxis={"title": u_title, "zeroline": True},
        yaxis={"title": v_title, "zeroline": True, "scaleanchor": "x"},
        plot_bgcolor="#FFFFFF",
        uirevision=projection.label,
    )
    fig.update_xaxes(gridcolor="#EEEEEE", zerolinecolor="#CCCCCC")
    fig.update_yaxes(gridcolor="#EEEEEE", zerolinecolor="#CCCCCC")
    return fig
