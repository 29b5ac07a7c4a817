"""Small reusable widgets; each `*_ui()` draws and returns plain values."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

import cvae
from cvae.training.history import History
from cvae.viz.alt_text import decoded_alt, grid_alt
from cvae.viz.elbo_figures import elbo_figure
from cvae.viz.elbo_image import elbo_alt, elbo_png
from cvae.viz.images import png_data_url
from cvae.viz.latent_figures import latent_map
from cvae.viz.scatter_image import scatter_png
from ui import model_choice
from ui import session_keys as keys
from ui.images import image_ui, picture_ui
from ui.model_cache import EncodedSet, explorer_for


def model_picker_ui() -> None:
    """Sidebar: which saved model this session explores."""
    runs = model_choice.saved_runs()
    if not runs:
        st.sidebar.warning("No model yet: train one on the Train page.")
        return
    names = list(runs)
    active = str(model_choice.active_path())
    # reflect the active model, which a finished training may have changed since the last run
    st.session_state[keys.MODEL_PICKER] = next((n for n in names if str(runs[n]) == active), names[0])
    st.sidebar.selectbox(
        "Active model",
        names,
        key=keys.MODEL_PICKER,
        on_change=lambda: model_choice.set_active(runs[st.session_state[keys.MODEL_PICKER]]),
        help="The model the Latent space and Manifold pages show.",
    )
    try:
        config = model_choice.active_model().config
    except cvae.CheckpointError as err:
        st.sidebar.error(f"This model cannot be loaded: {err}")
        return
    st.sidebar.caption(
        f"{config.arch} · latent {config.latent_dim} · {config.likelihood} · beta {config.beta:g} · {config.dataset}"
    )


def digit_ui(image: np.ndarray, caption: str, size: int = 140, *, z: np.ndarray | None = None) -> None:
    """One digit with its caption; its alt text says the caption, the z it was decoded at (if any) and what
    the digit classifier reads."""
    alt = decoded_alt(image, None if z is None else np.asarray(z)[None], caption)[0]
    image_ui(image, alt=alt, caption=caption, size=size, width=size)


LIVE_POINTS = 400  # a live ELBO chart's points per line: redrawn every 2 s, no curve a reader can tell
# apart at this width with more (1,200 points per line took a Plotly chart ~2x Chromium's CPU)


def timeline_ui(
    history: History, snapshots: list, labels: np.ndarray, class_names: tuple[str, ...], *, live: bool, key: str
) -> None:
    """ELBO chart beside the latent map and manifold at one training snapshot.

    Live: the latest snapshot. Afterwards: a slider replays the snapshots and marks the step on the chart.
    The figures are built once per (chart, points, snapshot) for every session watching: a live
    rerun that has nothing new to show builds nothing.
    """
    shown = snapshots[-1] if snapshots else None
    marker = None
    if not live and len(snapshots) > 1:
        index = st.select_slider(
            "Replay training: latent map and manifold at step",
            range(len(snapshots)),
            value=len(snapshots) - 1,
            format_func=lambda i: f"{snapshots[i].step}",
            key=f"replay-{key}",
        )
        shown, marker = snapshots[index], snapshots[index].step
    chart, pictures = st.columns([3, 2])
    with chart:
        elbo_ui(history, live=live, key=key, marker=marker)
    with pictures:
        snapshot_ui(shown, labels, class_names, live=live, key=key)


def elbo_ui(history: History, *, live: bool, key: str, marker: int | None = None) -> None:
    """The ELBO chart and what its lines mean; live, a picture of at most LIVE_POINTS points per line (a
    Plotly figure redrawn every 2 s mounted a new plot each time: ~0.08 of the watching browser's core)."""
    if live:
        picture, alt = _live_elbo(key, len(history), history)
        picture_ui(picture, alt=alt)
    else:
        st.plotly_chart(
            _elbo_chart(key, len(history), marker, history),
            width="stretch",
            key=f"elbo-{key}",
            alt="line chart: -ELBO, reconstruction and KL in nats per image by training step",
        )
    st.caption(
        "-ELBO = reconstruction + beta x KL, in nats per image; the band is the Monte Carlo "
        "noise of the one-sample objective. **Reconstruction**: nats the decoder needs to "
        "describe the image given z. **KL**: how far each q(z|x) strays from the N(0, I) prior."
    )


def snapshot_ui(shown, labels: np.ndarray, class_names: tuple[str, ...], *, live: bool, key: str) -> None:
    """The latent map and the decoded manifold at one training snapshot (None: not yet taken)."""
    if shown is None:
        st.caption("The latent map appears after the first snapshot.")
        return
    alt = f"latent map at step {shown.step}: the test digits' q(z|x) means, a colour and shape per class"
    if live:  # a picture: the browser only decodes it (a Plotly figure every 3 s took ~0.1 of its core)
        picture_ui(_live_map(key, shown.step, shown, labels, class_names), alt=alt)
    else:
        st.plotly_chart(
            _snapshot_map(key, shown.step, shown, labels, class_names), width="stretch", key=f"snapmap-{key}", alt=alt
        )
    image_ui(
        shown.manifold / 255.0,
        size=300,
        alt=grid_alt(8, 8, f"the decoder's means over z in [-2, 2]^2 at training step {shown.step}"),
        caption=f"{'live: ' if live else ''}step {shown.step}, {shown.time_s:.0f} s into training: "
        "test digits' q(z|x) means and the decoded 8 x 8 grid over [-2, 2]^2",
    )


@st.cache_resource(max_entries=64, show_spinner=False)
def _elbo_chart(key: str, points: int, marker: int | None, _history: History):
    return elbo_figure(_history.to_dict(), marker_step=marker)


@st.cache_resource(max_entries=64, show_spinner=False)
def _live_elbo(key: str, points: int, _history: History) -> tuple[str, str]:
    """(PNG data URL, its alt text) of a live job's chart at `points` steps: drawn once for every watcher."""
    history = _history.to_dict()
    return png_data_url(elbo_png(history, max_points=LIVE_POINTS)), elbo_alt(history)


@st.cache_resource(max_entries=64, show_spinner=False)
def _live_map(key: str, step: int, _snapshot, _labels: np.ndarray, class_names: tuple[str, ...]) -> str:
    """The snapshot's map as a PNG data URL (sent inside the element: no media file per snapshot)."""
    return png_data_url(scatter_png(_snapshot.mu, _labels, class_names, x_range=(-4.0, 4.0), y_range=(-4.0, 4.0)))


@st.cache_resource(max_entries=64, show_spinner=False)
def _snapshot_map(key: str, step: int, _snapshot, _labels: np.ndarray, class_names: tuple[str, ...]):
    return latent_map(
        _snapshot.mu, _labels, class_names, x_range=(-4.0, 4.0), y_range=(-4.0, 4.0), grid_n=2, height=300
    )


def downloads_ui(name: str, draw: Callable[[str], bytes], key: str) -> None:
    """PNG and SVG download buttons; `draw(fmt)` runs only when a button is clicked."""
    buttons = st.container(horizontal=True)
    for fmt, mime in (("png", "image/png"), ("svg", "image/svg+xml")):
        buttons.download_button(
            f"Download {fmt.upper()}",
            file_name=f"{name}.{fmt}",
            mime=mime,
            on_click="ignore",
            data=lambda fmt=fmt: draw(fmt),
            key=f"{key}_download_{fmt}",
            icon=":material/download:",
        )


def active_model_or_stop() -> tuple[cvae.Checkpoint, EncodedSet, cvae.Explorer]:
    """The session's model, its encoded test digits and an explorer; a clear error stops the page."""
    problem = model_choice.active_model_problem()
    if problem is not None:
        st.error(f"The active model cannot be shown: {problem}")
        st.stop()
    return model_choice.active_model(), model_choice.active_encoded(), explorer_for(model_choice.active_path())
