"""The latent map as a Plotly figure (the Compare, Your digit and live-training maps): encoded digits and overlays."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from cvae.viz.map_overlays import PriorContours, ellipse
from cvae.viz.palette import CLASS_COLOURS as PALETTE
from cvae.viz.palette import class_marker

__all__ = ["GRID_NAME", "PALETTE", "add_prior", "latent_map", "map_range"]

GRID_NAME = "click-grid"


def map_range(
    z: np.ndarray,
    margin: float = 0.15,
    include: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    at_least: float | None = 3.0,
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis ranges covering the encoded cloud (1st-99th percentile) plus a margin, at least
    [-at_least, at_least] (the prior's 3 sd; None for a projection's coordinates, e.g. UMAP's);
    `include` = (centre, half-widths) widens them to hold that box too (e.g. a 2-sd ellipse)."""
    lo, hi = np.percentile(z[:, :2], 1, axis=0), np.percentile(z[:, :2], 99, axis=0)
    pad = np.maximum((hi - lo) * margin, 1e-3)
    lo, hi = lo - pad, hi + pad
    if at_least is not None:
        lo, hi = np.minimum(lo, -at_least), np.maximum(hi, at_least)
    if include is not None:
        centre, half = (np.asarray(v, dtype=float)[:2] for v in include)
        lo, hi = np.minimum(lo, centre - half), np.maximum(hi, centre + half)
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def latent_map(
    z: np.ndarray,
    labels: np.ndarray,
    class_names: tuple[str, ...],
    *,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    grid_n: int = 151,
    current: tuple[float, float] | None = None,
    posterior: tuple[np.ndarray, np.ndarray] | None = None,
    height: int = 560,
    samples: np.ndarray | None = None,
    prior: PriorContours | None = None,
) -> go.Figure:
    """Scatter of encoded digits (WebGL, one trace per class so the legend toggles digits).

    Trace 0 is an invisible grid over the axis ranges that makes empty space clickable;
    `current` marks the decoded point, `posterior` = (mu, sd) draws q(z|x)'s 1- and 2-sd ellipses,
    `samples` (M, 2) are draws from q(z|x), `prior` the prior's contours on z1 vs z2
    (`cvae.viz.map_overlays.prior_contours`).
    """
    fig = go.Figure()
    # float32 halves what every rerun sends to the browser (plotly ships arrays as typed binary)
    gx, gy = np.meshgrid(
        np.linspace(*x_range, grid_n, dtype=np.float32), np.linspace(*y_range, grid_n, dtype=np.float32)
    )
    fig.add_trace(
        go.Scattergl(
            x=gx.ravel(),
            y=gy.ravel(),
            mode="markers",
            name=GRID_NAME,
            showlegend=False,
            marker={"size": 6, "opacity": 0.0, "color": "#000000"},
            hoverinfo="none",
            unselected={"marker": {"opacity": 0.0}},
            selected={"marker": {"opacity": 0.0}},
        )
    )
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        name = class_names[label] if label < len(class_names) else str(label)
        fig.add_trace(
            go.Scattergl(
                x=z[members, 0],
                y=z[members, 1],
                mode="markers",
                name=name,
                customdata=members,
                marker=class_marker(label, size=7, opacity=0.8),
                unselected={"marker": {"opacity": 0.8}},
                selected={"marker": {"opacity": 1.0}},
                hovertemplate=f"{name}<br>z1=%{{x:.2f}}<br>z2=%{{y:.2f}}<extra>#%{{customdata}}</extra>",
            )
        )
    if prior is not None:
        add_prior(fig, prior)
    if samples is not None:
        fig.add_trace(
            go.Scatter(
                x=samples[:, 0],
                y=samples[:, 1],
                mode="markers",
                name="draws from q(z|x)",
                marker={"symbol": "circle-open", "size": 9, "color": "#000000"},
                hoverinfo="skip",
            )
        )
    if posterior is not None:
        for k, dash in ((1, "solid"), (2, "dot")):
            ring = ellipse(posterior[0][:2], np.diag(np.square(posterior[1][:2])), k)  # (60, 2)
            fig.add_trace(
                go.Scatter(
                    x=ring[:, 0],
                    y=ring[:, 1],
                    mode="lines",
                    name=f"q(z|x) {k} sd",
                    line={"color": "#000000", "width": 2, "dash": dash},
                    hoverinfo="skip",
                )
            )
    if current is not None:
        fig.add_trace(cross_marker(current[0], current[1], "decoded point", size=18))
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        clickmode="event+select",
        dragmode="zoom",
        legend={"title": "label (click to hide)", "itemsizing": "constant"},
        xaxis={"title": "z1", "range": list(x_range), "zeroline": True},
        yaxis={"title": "z2", "range": list(y_range), "zeroline": True},
        uirevision="latent-map",
        plot_bgcolor="#FFFFFF",
    )
    fig.update_xaxes(gridcolor="#EEEEEE", zerolinecolor="#CCCCCC")
    fig.update_yaxes(gridcolor="#EEEEEE", zerolinecolor="#CCCCCC")
    return fig


def cross_marker(x: float, y: float, name: str, *, size: int = 16) -> go.Scatter:
    """One black cross at (x, y) for a map: the decoded point, a held code."""
    return go.Scatter(
        x=[x],
        y=[y],
        mode="markers",
        name=name,
        marker={"symbol": "x-thin", "size": size, "line": {"width": 3, "color": "#000000"}},
        hoverinfo="skip",
    )


def add_prior(fig: go.Figure, prior: PriorContours, width: float = 1.5) -> None:
    """The prior's contours as dashed lines under one legend entry."""
    for n, line in enumerate(prior.lines):
        fig.add_trace(
            go.Scatter(
                x=line[:, 0],
                y=line[:, 1],
                mode="lines",
                name=prior.name,
                legendgroup="prior",
                showlegend=n == 0,
                hoverinfo="skip",
                line={"color": "#CC3311", "width": width, "dash": "dash"},
            )
        )
