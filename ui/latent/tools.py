"""The Latent page's teaching tools around the pinned point: a p(x|z) draw, the nearest real
digits, the picked digit with its q(z|x), and interpolation. Each `*_ui()` draws and returns
plain values; images go out at their own 28 x 28 pixels, as PNG data URLs inside the element (about
1 KB each, no media file to store, hash and serve per pin), and the page's CSS enlarges them
without blurring; a real digit's is made once per model, a picked digit's panel once per pick.

A pin reruns only the page's fragment that shows the pinned point (app_pages/latent.py), so each
tool is split: what does not depend on the point (titles, buttons, captions) is drawn once per page
run where it can be, and the part that does (`sample_ui`, `each_label_ui`, `nearest_ui`, `picked_ui`,
`interpolation_ui`) is in a fragment. A button or slider whose change shows elsewhere reruns
the fragments it names (`scope`, from its callback).
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass

import numpy as np
import streamlit as st

import cvae
from cvae.viz.alt_text import decoded_alt, digit_alt
from cvae.viz.images import to_data_url
from ui import session_keys as keys
from ui.images import images_ui
from ui.latent.view import current_z
from ui.model_cache import EncodedSet

__all__ = [
    "CRISP_IMAGES",
    "each_label_title_ui",
    "each_label_ui",
    "interpolation_buttons_ui",
    "interpolation_path",
    "interpolation_ui",
    "nearest_title_ui",
    "nearest_ui",
    "picked_draws",
    "picked_ui",
    "sample_buttons_ui",
    "sample_caption_ui",
    "sample_ui",
    "strip_ui",
]

STEPS = "interp_steps"  # the interpolation's steps slider
CRISP_IMAGES = "<style>[data-testid='stImage'] img { image-rendering: pixelated; }</style>"


def decode(explorer: cvae.Explorer, z: np.ndarray, label: int | None = None) -> np.ndarray:
    """Mean images of codes (M, latent); a conditional decoder gets `label` for every code (None: the mean
    over labels)."""
    return explorer.decode(z, label)


def strip_ui(images, captions: list[str], alts: list[str], width: int = 64) -> None:
    """A row of grey images (N, H, W) in [0, 1], or their data URLs, each with its alt text and caption; as
    data URLs (`to_data_url`), inside the element: no media file to hash, store and serve per pin."""
    images_ui(
        [image if isinstance(image, str) else to_data_url(image) for image in images],
        alts=alts,
        captions=captions,
        width=width,
    )


def _rerun(scope: list[str]) -> None:
    """From a widget's callback: rerun only the page's fragments in `scope` (their keys)."""
    st.rerun(scope)


def _new_sample(scope: list[str]) -> None:
    st.session_state[keys.SAMPLE_SEED] += 1
    _rerun(scope)


def _draw_from_prior(explorer: cvae.Explorer, scope: list[str]) -> None:
    """Pin a code drawn from the model's prior p(z) (N(0, I), or the learned mixture)."""
    st.session_state[keys.PRIOR_DRAWS] = st.session_state.get(keys.PRIOR_DRAWS, 0) + 1
    z = explorer.sample_prior(1, seed=st.session_state[keys.PRIOR_DRAWS])[0]
    for d, value in enumerate(z):
        st.session_state[keys.z_key(d)] = float(value)
    st.session_state[keys.PIN_UV] = st.session_state[keys.PICKED] = None
    _rerun(scope)


def sample_buttons_ui(explorer: cvae.Explorer, scope: list[str]) -> None:
    """ "New sample" and, for a prior with Gaussian components, a code drawn from the prior (a new pinned
    point); each reruns the fragments `scope`, those that show the pinned point."""
    buttons = st.container(horizontal=True)
    buttons.button("New sample", key="new_sample", on_click=_new_sample, args=(scope,))
    if explorer.prior_components() is not None:  # a kind with a prior of its own samples in its own way
        buttons.button(
            "Draw z from the prior",
            key="prior_draw",
            on_click=_draw_from_prior,
            args=(explorer, scope),
            help="a new z ~ p(z) (the learned mixture for a mixture prior); its decode is a new digit",
        )


def sample_ui(explorer: cvae.Explorer, z: np.ndarray, label: int | None) -> None:
    """One draw from p(x|z) at the pinned point."""
    sample = explorer.sample_pixels(z[None], seed=st.session_state[keys.SAMPLE_SEED], labels=label)
    strip_ui(sample, ["one draw from p(x|z)"], decoded_alt(sample, z[None], "one draw from p(x|z)"), width=110)


def sample_caption_ui(explorer: cvae.Explorer, checkpoint: cvae.Checkpoint) -> None:
    """What the likelihood's pixels mean, under the draw."""
    likelihood = checkpoint.vae.likelihood
    st.caption(
        f"{likelihood.pixel_meaning} The draw is what the likelihood actually generates: "
        f"{likelihood.draw_meaning(explorer.vae.sigma)}"
    )


def each_label_title_ui() -> None:
    st.markdown("**The same z as every label**: z carries the style, the label the content")


def each_label_ui(explorer: cvae.Explorer, z: np.ndarray, class_names) -> None:
    """A conditional model: the same z decoded under every label, z the style and y the content."""
    images = explorer.decode_as_each_label(z)
    whats = [f"decoded as label {name}" for name in class_names]
    strip_ui(images, list(class_names), decoded_alt(images, np.repeat(z[None], len(images), 0), whats), width=44)


def nearest_title_ui() -> None:
    st.markdown("**Nearest real test digits** to this point")


class _Memo:
    """A small server-wide cache, least recently used out, like `st.cache_resource`: a pin looks up 2-3 values,
    and st.cache_resource's own argument hashing cost ~0.1-0.2 ms a call (measured). Its values are the same
    for every session and are never mutated by one."""

    def __init__(self, size: int):
        self._size, self._items, self._lock = size, collections.OrderedDict(), threading.Lock()

    def get(self, key, make):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()  # outside the lock: two sessions may both make it, and keep one
        with self._lock:
            value = self._items.setdefault(key, value)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


_DIGIT_URLS = _Memo(8)  # model_key -> {test digit index: its data URL}, filled as digits are shown
# (model_key, digit, draws, label) -> _Picked, ~6 KB each (measured): room for every digit of a few models'
# maps (mnist-5k's has 1,000), so a class picking digits for an hour does not rebuild evicted panels
_PANELS = _Memo(4096)


def nearest_ui(encoded: EncodedSet, z: np.ndarray, *, model: tuple[str, float]) -> None:
    """The 5 real test digits whose codes are nearest to z; `model`: the `model_key` `encoded` is of."""
    nearest = cvae.Explorer.nearest(encoded.mu, z, k=5)
    captions = [f"{encoded.class_names[encoded.labels[i]]} (#{i})" for i in nearest]
    alts = [f"real test digit #{i}, labelled {encoded.class_names[encoded.labels[i]]}" for i in nearest]
    known = _DIGIT_URLS.get(model, dict)
    urls = [known.get(i) or known.setdefault(i, to_data_url(encoded.images[i, 0])) for i in nearest.tolist()]
    strip_ui(urls, captions, alts)


@dataclass(frozen=True)
class _Picked:
    """What the picked digit's panel shows, computed once per (model, digit, draws, label)."""

    pictures: list[str]  # the digit and its reconstruction, as data URLs
    picture_alts: list[str]
    draws: np.ndarray | None  # (n, latent) codes from q(z|x)
    drawn: list[str] | None  # their decodes, as data URLs
    drawn_alts: list[str]


def _picked(picked: int, n: int, label: int | None, encoded: EncodedSet, explorer: cvae.Explorer) -> _Picked:
    """The panel of test digit `picked` with `n` draws from q(z|x [, y = label])."""
    mu, sd, image = encoded.mu[picked], encoded.sd[picked], encoded.images[picked, 0]
    reconstruction = decode(explorer, mu[None], label)[0]
    alts = [digit_alt(image, f"test digit #{picked}")]
    alts += decoded_alt(reconstruction, mu[None], "its reconstruction")
    draws, drawn, drawn_alts = None, None, []
    if n:
        draws = cvae.Explorer.posterior_draws(mu[None], sd[None], n, seed=picked)[0]  # (n, latent): the encoded set's q
        decoded = decode(explorer, draws, label)
        drawn = [to_data_url(x) for x in decoded]
        drawn_alts = decoded_alt(decoded, draws, [f"decode of draw {i + 1} from q(z|x)" for i in range(n)])
        draws.setflags(write=False)  # shared by every session: read-only
    return _Picked([to_data_url(image), to_data_url(reconstruction)], alts, draws, drawn, drawn_alts)


def _set_end(end: str, code: list[float] | None, scope: list[str]) -> None:
    st.session_state[end] = code
    _rerun(scope)


def _set_here(end: str, latent_dim: int, scope: list[str]) -> None:
    """The pinned point as the interpolation's end `end`."""
    _set_end(end, current_z(latent_dim).tolist(), scope)


def _clear_path(scope: list[str]) -> None:
    st.session_state[keys.INTERP_A] = st.session_state[keys.INTERP_B] = None
    _rerun(scope)


def _panel(encoded: EncodedSet, explorer: cvae.Explorer, picked: int, model: tuple[str, float]) -> _Picked:
    label = int(encoded.labels[picked]) if explorer.vae.conditional else None  # q(z|x, y) knows the label
    n = st.session_state.get(keys.N_DRAWS, 6)  # the panel's slider; the panel is cached per value
    # a pin on a digit otherwise decoded it, drew from q(z|x), decoded the draws and ran the alt texts'
    # classifier on all of them on every pin: the same answer for every student who picks it
    return _PANELS.get((model, picked, n, label), lambda: _picked(picked, n, label, encoded, explorer))


def picked_draws(encoded: EncodedSet, explorer: cvae.Explorer, *, model: tuple[str, float]) -> np.ndarray | None:
    """The picked digit's draws from q(z|x) that its panel shows (None: no digit picked, or no draws)."""
    picked = st.session_state[keys.PICKED]
    return None if picked is None else _panel(encoded, explorer, picked, model).draws


def picked_ui(
    encoded: EncodedSet,
    explorer: cvae.Explorer,
    picked: int,
    *,
    model: tuple[str, float],
    draws: list[str],
    path: list[str],
) -> None:
    """Original, reconstruction and q(z|x) of the picked digit. `model`: the `model_key` of the model
    `encoded` and `explorer` come from; `draws`, `path`: the fragments to rerun when its number of
    draws changes (`picked_draws`), and when it is made an end of the interpolation."""
    mu, sd = encoded.mu[picked], encoded.sd[picked]
    st.markdown(
        f"**Picked test digit #{picked}**, label **{encoded.class_names[encoded.labels[picked]]}**. "
        f"q(z|x): mean ({', '.join(f'{v:.2f}' for v in mu)}), sd ({', '.join(f'{v:.2f}' for v in sd)}); "
        "the ellipses on the map are 1 and 2 sd."
    )
    pictures, tools = st.columns([1, 2])
    panel = _panel(encoded, explorer, picked, model)
    with pictures:
        # one element for both: every element of a pin's answer is one more message to the browser
        strip_ui(panel.pictures, ["original", "reconstruction"], panel.picture_alts, width=96)
    with tools:
        n = st.slider(
            "Draws from q(z|x)",
            0,
            12,
            6,
            key=keys.N_DRAWS,
            help="each draw is a plausible code for this digit; all decode to similar images",
            on_change=_rerun,
            args=(draws,),
        )
        if panel.drawn is not None:
            strip_ui(panel.drawn, [f"draw {i + 1}" for i in range(n)], panel.drawn_alts, width=56)
    buttons = st.container(horizontal=True)
    code = mu.tolist()
    buttons.button("Use as interpolation start A", key="set_a", on_click=_set_end, args=(keys.INTERP_A, code, path))
    buttons.button("Use as interpolation end B", key="set_b", on_click=_set_end, args=(keys.INTERP_B, code, path))


def interpolation_buttons_ui(latent_dim: int, scope: list[str]) -> None:
    """The interpolation's title and the buttons that set its ends (they rerun the fragments `scope`)."""
    st.markdown("**Interpolation**: pick a digit (or pin a point) and set it as A, then another as B.")
    buttons = st.container(horizontal=True)
    for label, end, key in (
        ("Current point as A", keys.INTERP_A, "point_a"),
        ("Current point as B", keys.INTERP_B, "point_b"),
    ):
        buttons.button(label, key=key, on_click=_set_here, args=(end, latent_dim, scope))
    buttons.button("Clear path", key="clear_path", on_click=_clear_path, args=(scope,))


def _ends(latent_dim: int) -> tuple[np.ndarray, np.ndarray] | None:
    a, b = st.session_state.get(keys.INTERP_A), st.session_state.get(keys.INTERP_B)
    if a is None or b is None or len(a) != latent_dim or len(b) != latent_dim:
        return None
    return np.asarray(a, float), np.asarray(b, float)


def interpolation_path(latent_dim: int) -> np.ndarray | None:
    """The straight path (steps, latent) from A to B that `interpolation_ui` decodes, or None where either
    end is unset."""
    ends = _ends(latent_dim)
    return None if ends is None else cvae.Explorer.interpolation_path(*ends, st.session_state.get(STEPS, 8))


def interpolation_ui(explorer: cvae.Explorer, latent_dim: int, scope: list[str]) -> None:
    """The path's steps and its decodes, where A and B are set; the slider reruns the fragments `scope`."""
    ends = _ends(latent_dim)
    if ends is None:
        return
    steps = st.slider("Steps", 3, 15, 8, key=STEPS, on_change=_rerun, args=(scope,))
    path, images = explorer.interpolate(*ends, steps)
    whats = [f"interpolation step {i + 1} of {steps}" for i in range(steps)]
    strip_ui(images, ["A"] + [""] * (steps - 2) + ["B"], decoded_alt(images, path, whats), width=64)
