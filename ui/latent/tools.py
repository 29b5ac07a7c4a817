"""The Latent page's teaching tools around the pinned point: a p(x|z) draw, the nearest real
digits, the picked digit with its q(z|x), and interpolation. Each `*_ui()` draws and returns
plain values; images go out at their own 28 x 28 pixels (a few hundred bytes each) and the page's
CSS enlarges them without blurring.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

import cvae
from cvae.viz.alt_text import decoded_alt, digit_alt
from ui import session_keys as keys
from ui.images import images_ui
from ui.model_cache import EncodedSet

__all__ = ["CRISP_IMAGES", "each_label_ui", "interpolation_ui", "nearest_ui", "picked_ui", "sample_ui", "strip_ui"]

CRISP_IMAGES = "<style>[data-testid='stImage'] img { image-rendering: pixelated; }</style>"


def decode(explorer: cvae.Explorer, z: np.ndarray, label: int | None = None) -> np.ndarray:
    """Mean images of codes (M, latent); a conditional decoder gets `label` for every code (None: the mean
    over labels)."""
    return explorer.decode(z, label)


def strip_ui(images: np.ndarray, captions: list[str], alts: list[str], width: int = 64) -> None:
    images_ui(images, alts=alts, captions=captions, width=width)


def _draw_from_prior(explorer: cvae.Explorer) -> None:
    """Pin a code drawn from the model's prior p(z) (N(0, I), or the learned mixture)."""
    st.session_state[keys.PRIOR_DRAWS] = st.session_state.get(keys.PRIOR_DRAWS, 0) + 1
    z = explorer.sample_prior(1, seed=st.session_state[keys.PRIOR_DRAWS])[0]
    for d, value in enumerate(z):
        st.session_state[keys.z_key(d)] = float(value)
    st.session_state[keys.PIN_UV] = st.session_state[keys.PICKED] = None


def sample_ui(explorer: cvae.Explorer, z: np.ndarray, label: int | None, checkpoint: cvae.Checkpoint) -> None:
    """One draw from p(x|z) at the pinned point, and what the likelihood's pixels mean."""
    buttons = st.container(horizontal=True)
    if buttons.button("New sample", key="new_sample"):
        st.session_state[keys.SAMPLE_SEED] += 1
    if explorer.prior_components() is not None:  # a kind with a prior of its own samples in its own way
        buttons.button(
            "Draw z from the prior",
            key="prior_draw",
            on_click=_draw_from_prior,
            args=(explorer,),
            help="a new z ~ p(z) (the learned mixture for a mixture prior); its decode is a new digit",
        )
    sample = explorer.sample_pixels(z[None], seed=st.session_state[keys.SAMPLE_SEED], labels=label)
    strip_ui(sample, ["one draw from p(x|z)"], decoded_alt(sample, z[None], "one draw from p(x|z)"), width=110)
    likelihood = checkpoint.vae.likelihood
    st.caption(
        f"{likelihood.pixel_meaning} The draw is what the likelihood actually generates: "
        f"{likelihood.draw_meaning(explorer.vae.sigma)}"
    )


def each_label_ui(explorer: cvae.Explorer, z: np.ndarray, class_names) -> None:
    """A conditional model: the same z decoded under every label, z the style and y the content."""
    st.markdown("**The same z as every label**: z carries the style, the label the content")
    images = explorer.decode_as_each_label(z)
    whats = [f"decoded as label {name}" for name in class_names]
    strip_ui(images, list(class_names), decoded_alt(images, np.repeat(z[None], len(images), 0), whats), width=44)


def nearest_ui(encoded: EncodedSet, z: np.ndarray) -> None:
    nearest = cvae.Explorer.nearest(encoded.mu, z, k=5)
    st.markdown("**Nearest real test digits** to this point")
    captions = [f"{encoded.class_names[encoded.labels[i]]} (#{i})" for i in nearest]
    alts = [f"real test digit #{i}, labelled {encoded.class_names[encoded.labels[i]]}" for i in nearest]
    strip_ui(encoded.images[nearest, 0], captions, alts)


@dataclass(frozen=True)
class _Picked:
    """What the picked digit's panel shows, computed once per (model, digit, draws, label)."""

    pictures: np.ndarray  # (2, 28, 28): the digit and its reconstruction
    picture_alts: list[str]
    draws: np.ndarray | None  # (n, latent) codes from q(z|x)
    drawn: np.ndarray | None  # (n, 28, 28) their decodes
    drawn_alts: list[str]


# A pin on a digit otherwise decoded it, drew from q(z|x) through the encoder, decoded the draws and ran
# the alt texts' classifier on all of them on every pin: the same answer for every student who picks it.
@st.cache_resource(max_entries=512, show_spinner=False)
def _picked(
    model: tuple[str, float], picked: int, n: int, label: int | None, _encoded: EncodedSet, _explorer: cvae.Explorer
) -> _Picked:
    """`model` is the explored model's `model_key`: the cache key of `_encoded` and `_explorer`."""
    mu, image = _encoded.mu[picked], _encoded.images[picked : picked + 1]
    reconstruction = decode(_explorer, mu[None], label)[0]
    alts = [digit_alt(image[0, 0], f"test digit #{picked}")]
    alts += decoded_alt(reconstruction, mu[None], "its reconstruction")
    draws = _explorer.sample_posterior(image, n, seed=picked, labels=label)[0] if n else None
    drawn, drawn_alts = None, []
    if draws is not None:
        drawn = decode(_explorer, draws, label)
        drawn_alts = decoded_alt(drawn, draws, [f"decode of draw {i + 1} from q(z|x)" for i in range(n)])
    panel = _Picked(np.stack([image[0, 0], reconstruction]), alts, draws, drawn, drawn_alts)
    for array in (panel.pictures, draws, drawn):  # shared by every session: read-only
        if array is not None:
            array.setflags(write=False)
    return panel


def picked_ui(
    encoded: EncodedSet, explorer: cvae.Explorer, picked: int, *, model: tuple[str, float]
) -> np.ndarray | None:
    """Original, reconstruction and q(z|x) of the picked digit; returns posterior draws to plot.
    `model`: the `model_key` of the model `encoded` and `explorer` come from."""
    mu, sd = encoded.mu[picked], encoded.sd[picked]
    st.markdown(
        f"**Picked test digit #{picked}**, label **{encoded.class_names[encoded.labels[picked]]}**. "
        f"q(z|x): mean ({', '.join(f'{v:.2f}' for v in mu)}), sd ({', '.join(f'{v:.2f}' for v in sd)}); "
        "the ellipses on the map are 1 and 2 sd."
    )
    label = int(encoded.labels[picked]) if explorer.vae.conditional else None  # q(z|x, y) knows the label
    pictures, tools = st.columns([1, 2])
    n = st.session_state.get(keys.N_DRAWS, 6)  # the slider below; read first, the panel is cached per value
    panel = _picked(model, picked, n, label, encoded, explorer)
    with pictures:
        # one element for both: every element of a pin's answer is one more message to the browser
        images_ui(panel.pictures, alts=panel.picture_alts, captions=["original", "reconstruction"], width=96)
    with tools:
        n = st.slider(
            "Draws from q(z|x)",
            0,
            12,
            6,
            key=keys.N_DRAWS,
            help="each draw is a plausible code for this digit; all decode to similar images",
        )
        if panel.drawn is not None:
            strip_ui(panel.drawn, [f"draw {i + 1}" for i in range(n)], panel.drawn_alts, width=56)
    buttons = st.container(horizontal=True)
    if buttons.button("Use as interpolation start A", key="set_a"):
        st.session_state[keys.INTERP_A] = mu.tolist()
    if buttons.button("Use as interpolation end B", key="set_b"):
        st.session_state[keys.INTERP_B] = mu.tolist()
    return panel.draws


def interpolation_ui(explorer: cvae.Explorer, z: np.ndarray) -> np.ndarray | None:
    """The straight path from A to B and its decodes; returns the path to draw on the map."""
    a, b = st.session_state.get(keys.INTERP_A), st.session_state.get(keys.INTERP_B)
    st.markdown("**Interpolation**: pick a digit (or pin a point) and set it as A, then another as B.")
    buttons = st.container(horizontal=True)
    if buttons.button("Current point as A", key="point_a"):
        st.session_state[keys.INTERP_A] = a = z.tolist()
    if buttons.button("Current point as B", key="point_b"):
        st.session_state[keys.INTERP_B] = b = z.tolist()
    if buttons.button("Clear path", key="clear_path"):
        st.session_state[keys.INTERP_A] = st.session_state[keys.INTERP_B] = a = b = None
    if a is None or b is None or len(a) != len(z) or len(b) != len(z):
        return None
    steps = st.slider("Steps", 3, 15, 8, key="interp_steps")
    path, images = explorer.interpolate(np.array(a), np.array(b), steps)
    whats = [f"interpolation step {i + 1} of {steps}" for i in range(steps)]
    strip_ui(images, ["A"] + [""] * (steps - 2) + ["B"], decoded_alt(images, path, whats), width=64)
    return path
