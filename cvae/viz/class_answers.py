"""The class's answers to one predict-then-reveal step on one latent map (the teacher's projector picture).

The model's encoded test digits (first two latent dimensions) as a faint background, each student's
prediction as a cross and the live model's truth as a star, a line from one to the other; names on
hover only. Names are escaped: Plotly reads a little HTML in hover text, a student's name is text.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

__all__ = ["BACKGROUND_MAX", "class_answers_figure"]

BACKGROUND_MAX = 2000  # digits drawn behind the answers: enough for the map's shape, light to re-send
_GREY = "rgba(120, 120, 120, 0.25)"
_PREDICTION, _TRUTH = "#CC3311", "#004488"  # Paul Tol's high-contrast red and blue: apart for colour-blind eyes


def class_answers_figure(
    mu: np.ndarray,  # (N, latent) the encoded test digits' means
    labels: np.ndarray,  # (N,)
    answers: list[tuple[str, tuple[float, float] | None, tuple[float, float] | None, str]],
    *,
    title: str,
) -> go.Figure:
    """`answers`: (name, predicted (z1, z2) or None, true (z1, z2) or None, status) per student."""
    rng = np.random.default_rng(0)  # the same background every refresh: an unchanged figure is not re-sent
    keep = np.sort(rng.choice(len(mu), size=min(BACKGROUND_MAX, len(mu)), replace=False))
    figure = go.Figure()
    figure.add_trace(
        go.Scattergl(
            x=mu[keep, 0],
            y=mu[keep, 1],
            mode="markers",
            name="test digits",
            marker={"size": 4, "color": _GREY},
            hoverinfo="skip",
            customdata=labels[keep],
        )  # fmt: skip
    )
    safe = [(html.escape(name), guess, truth, status) for name, guess, truth, status in answers]
    links_x, links_y = [], []
    for _, guess, truth, _ in safe:
        if guess is not None and truth is not None:
            links_x += [guess[0], truth[0], None]
            links_y += [guess[1], truth[1], None]
    figure.add_trace(
        go.Scatter(
            x=links_x,
            y=links_y,
            mode="lines",
            name="prediction to truth",
            line={"color": "rgba(80, 80, 80, 0.5)", "width": 1},
            hoverinfo="skip",
        )  # fmt: skip
    )
    for label, index, symbol, colour in (("prediction", 1, "x", _PREDICTION), ("truth", 2, "star", _TRUTH)):
        shown = [(answer[0], answer[index], answer[3]) for answer in safe if answer[index] is not None]
        figure.add_trace(
            go.Scatter(
                x=[p[0] for _, p, _ in shown],
                y=[p[1] for _, p, _ in shown],
                mode="markers",
                name=label,
                marker={
                    "symbol": symbol,
                    "size": 12 if symbol == "x" else 14,
                    "color": colour,
                    "line": {"width": 1, "color": "white"},
                },
                hovertext=[f"{name}: {label} ({status.replace('_', ' ')})" for name, _, status in shown],
                hoverinfo="text",
            )  # fmt: skip
        )
    figure.update_layout(
        title=title, xaxis_title="z1", yaxis_title="z2", height=520, margin={"l": 40, "r": 10, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.15}, uirevision="class-answers",
    )  # fmt: skip
    figure.update_yaxes(scaleanchor="x", scaleratio=1)
    return figure
