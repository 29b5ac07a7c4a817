"""Training curves as Plotly figures: one run in detail, or several runs' -ELBO side by side."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from scipy.signal import lfilter

__all__ = ["LINES", "RUN_COLOURS", "elbo_figure", "noise_band", "runs_elbo_figure", "smooth"]

# Paul Tol's "bright" scheme: one colour per compared run, distinct from the digit palette's order
RUN_COLOURS = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB")


def smooth(values: list[float] | np.ndarray, span: int = 25) -> np.ndarray:
    """Exponential moving average, bias-corrected so the start is not pulled to zero (one C loop)."""
    values = np.asarray(values, dtype=float)
    alpha = 2.0 / (span + 1.0)
    acc = lfilter([alpha], [1.0, alpha - 1.0], values)  # acc[t] = (1 - alpha) acc[t-1] + alpha v[t]
    weight = 1.0 - (1.0 - alpha) ** np.arange(1, len(values) + 1)
    return acc / weight


# The chart's lines: (history key, name, colour, width, smoothed, axis), Paul Tol's colours
LINES = (
    ("neg_elbo", "-ELBO (raw)", "#BBBBBB", 1, False, "y"),
    ("neg_elbo", "-ELBO (smoothed)", "#332288", 3, True, "y"),
    ("reconstruction", "reconstruction (smoothed)", "#117733", 2, True, "y"),
    ("kl", "KL (smoothed, right axis)", "#CC6677", 2, True, "y2"),
)


def noise_band(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(centre, spread): the smoothed -ELBO and the rolling sd of the raw one around it."""
    centre = smooth(raw)
    return centre, np.sqrt(smooth((raw - centre) ** 2))


def elbo_figure(
    history: dict, *, height: int = 380, max_points: int = 3000, marker_step: int | None = None
) -> go.Figure:
    """-ELBO per image (raw and smoothed) with reconstruction, and KL on its own axis.

    The grey band is the Monte Carlo noise of the one-sample objective: +-1 rolling sd of
    the raw -ELBO around its smoothed curve. `marker_step` draws a vertical line (replay).
    """
    steps = np.asarray(history["step"])
    fig = go.Figure()
    if len(steps):
        keep = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), max_points)).astype(int))
        raw = np.asarray(history["neg_elbo"], dtype=float)
        centre, spread = noise_band(raw)
        fig.add_trace(
            go.Scatter(
                x=np.r_[steps[keep], steps[keep][::-1]],
                y=np.r_[(centre + spread)[keep], (centre - spread)[keep][::-1]],
                fill="toself",
                fillcolor="rgba(51,34,136,0.15)",
                line={"width": 0},
                name="Monte Carlo noise (+-1 sd)",
                hoverinfo="skip",
            )
        )
        for key, name, colour, width, smoothed, axis in LINES:
            values = np.asarray(history[key], dtype=float)
            values = smooth(values) if smoothed else values
            fig.add_trace(
                go.Scatter(
                    x=steps[keep],
                    y=values[keep],
                    mode="lines",
                    name=name,
                    yaxis=axis,
                    line={"color": colour, "width": width},
                )
            )
    if marker_step is not None:
        fig.add_vline(x=marker_step, line={"color": "#CC3311", "width": 2, "dash": "dash"})
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"title": "step (one minibatch)"},
        yaxis={"title": "nats per image"},
        yaxis2={"title": "KL (nats per image)", "overlaying": "y", "side": "right", "showgrid": False},
        legend={"orientation": "h", "y": 1.12},
        uirevision="elbo",
    )
    return fig


def runs_elbo_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], *, height: int = 360) -> go.Figure:
    """Smoothed -ELBO per image of several runs: name -> (epochs, -ELBO per step)."""
    fig = go.Figure()
    for i, (name, (epochs, neg_elbo)) in enumerate(curves.items()):
        if len(neg_elbo):
            fig.add_trace(
                go.Scatter(
                    x=epochs,
                    y=smooth(neg_elbo),
                    mode="lines",
                    name=name,
                    line={"color": RUN_COLOURS[i % len(RUN_COLOURS)], "width": 3},
                )
            )
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        uirevision="compare-elbo",
        xaxis={"title": "epoch"},
        yaxis={"title": "-ELBO, nats per image (smoothed)"},
        legend={"orientation": "h", "y": 1.12},
    )
    return fig
