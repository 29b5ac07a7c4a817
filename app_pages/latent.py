import json

import numpy as np
import streamlit as st

from cvae.viz import static
from cvae.viz.images import to_png
from cvae.viz.latent_figures import latent_map, map_range
from cvae.viz.selection import pick_from_selection
from ui import state
from ui.components import active_model_or_stop, digit_ui, downloads_ui

st.title("Latent space")
checkpoint, encoded, explorer = active_model_or_stop()
config = checkpoint.config
latent_dim = config.latent_dim
x_range, y_range = map_range(encoded.mu)
GRID_N = 151
SLIDER = 4.0
COLOURINGS = ("label", "posterior spread (mean sd)", "KL per image (nats)")
snap = (x_range[1] - x_range[0]) / (GRID_N - 1)

for d in range(latent_dim):
    st.session_state.setdefault(f"z_{d}", 0.0)
st.session_state.setdefault("sample_seed", 0)
st.caption(
    f"{len(encoded.labels):,} encoded test digits of {config.dataset}, at their q(z|x) means. "
    "Click a digit to inspect it, or click empty space to decode that point (a click also resets zoom)."
    + (
        f" The map shows z1 and z2 of {latent_dim} dimensions; the others are set by their sliders."
        if latent_dim > 2
        else ""
    )
)


def apply_selection() -> None:
    """A new click on the map moves z1, z2 (and remembers a picked digit)."""
    event = st.session_state.get("latent_map")
    selection = event.get("selection") if event else None
    signature = json.dumps(selection, sort_keys=True, default=str)
    if signature == st.session_state.get("last_selection"):
        return
    st.session_state["last_selection"] = signature
    pick = pick_from_selection(selection, encoded.mu[:, :2], grid_curve=0, snap=snap)
    if pick is None:
        return
    for d, value in enumerate(pick.z[: min(2, latent_dim)]):
        st.session_state[f"z_{d}"] = float(np.clip(round(value, 3), -SLIDER, SLIDER))
    st.session_state["picked"] = pick.index


def forget_pick() -> None:
    st.session_state["picked"] = None


def current_z() -> np.ndarray:
    return np.array([st.session_state[f"z_{d}"] for d in range(latent_dim)], dtype=np.float32)


def strip_ui(images: np.ndarray, captions: list[str], width: int = 70) -> None:
    st.image([to_png(image, width) for image in images], caption=captions, width=width, output_format="PNG")


def map_options_ui() -> dict:
    a, b, c = st.columns([2, 1, 1])
    colouring = a.radio("Colour digits by", COLOURINGS, horizontal=True, key="colouring")
    prior = b.checkbox("Prior N(0, I) contours", key="show_prior")
    density = c.checkbox(
        "Aggregate posterior density",
        key="show_density",
        help="mean of all q(z|x): dark where codes are dense; pale holes decode poorly",
    )
    options = {"prior_contours": prior}
    if colouring == COLOURINGS[1]:
        options["colour_by"] = ("mean sd", encoded.sd.mean(axis=1))
    elif colouring == COLOURINGS[2]:
        options["colour_by"] = ("KL (nats)", encoded.kl)
    if density:
        options["density"] = state.active_density(x_range, y_range)
    return options


def picked_ui(picked: int) -> np.ndarray | None:
    """Original, reconstruction and q(z|x) of the picked digit; returns posterior draws to plot."""
    mu, sd = encoded.mu[picked], encoded.sd[picked]
    st.markdown(
        f"**Picked test digit #{picked}**, label **{encoded.class_names[encoded.labels[picked]]}**. "
        "q(z|x): mean ("
        + ", ".join(f"{v:.2f}" for v in mu)
        + "), sd ("
        + ", ".join(f"{v:.2f}" for v in sd)
        + "); the ellipses on the map are 1 and 2 sd."
    )
    image = encoded.images[picked : picked + 1]
    columns = st.columns([1, 1, 4])
    with columns[0]:
        digit_ui(image[0, 0], "original", size=110)
    with columns[1]:
        digit_ui(explorer.reconstruct(image)[0], "reconstruction", size=110)
    with columns[2]:
        n = st.slider(
            "Draws from q(z|x)",
            0,
            12,
            6,
            key="n_draws",
            help="each draw is a plausible code for this digit; all decode to similar images",
        )
        draws = explorer.sample_posterior(image, n, seed=picked)[0] if n else None
        if draws is not None:
            strip_ui(explorer.decode(draws), [f"draw {i + 1}" for i in range(n)], width=60)
    a, b = st.columns(2)
    if a.button("Use as interpolation start A", key="set_a"):
        st.session_state["interp_a"] = mu.tolist()
    if b.button("Use as interpolation end B", key="set_b"):
        st.session_state["interp_b"] = mu.tolist()
    return draws


def interpolation_ui() -> np.ndarray | None:
    """The straight path from A to B and its decodes; returns the path to draw on the map."""
    a, b = st.session_state.get("interp_a"), st.session_state.get("interp_b")
    st.markdown("**Interpolation**: pick a digit (or click a point) and set it as A, then another as B.")
    c1, c2, c3 = st.columns(3)
    if c1.button("Current point as A", key="point_a"):
        st.session_state["interp_a"] = a = current_z().tolist()
    if c2.button("Current point as B", key="point_b"):
        st.session_state["interp_b"] = b = current_z().tolist()
    if c3.button("Clear path", key="clear_path"):
        st.session_state["interp_a"] = st.session_state["interp_b"] = a = b = None
    if a is None or b is None or len(a) != latent_dim or len(b) != latent_dim:
        return None
    steps = st.slider("Steps", 3, 15, 8, key="interp_steps")
    path, images = explorer.interpolate(np.array(a), np.array(b), steps)
    strip_ui(images, ["A"] + [""] * (steps - 2) + ["B"], width=64)
    return path


@st.fragment
def explorer_ui() -> None:
    apply_selection()
    picked = st.session_state.get("picked")
    z = current_z()
    options = map_options_ui()
    left, right = st.columns([3, 2])
    with right:
        for d in range(latent_dim):
            st.slider(f"z{d + 1}", -SLIDER, SLIDER, step=0.01, key=f"z_{d}", on_change=forget_pick)
        z = current_z()
        mean_col, sample_col = st.columns([2, 1])
        with mean_col:
            digit_ui(explorer.decode(z[None])[0], f"decoded at z = ({', '.join(f'{v:.2f}' for v in z)})", size=240)
        with sample_col:
            if st.button("New sample", key="new_sample"):
                st.session_state["sample_seed"] += 1
            sample = explorer.sample_pixels(z[None], seed=st.session_state["sample_seed"])[0]
            digit_ui(sample, "one draw from p(x|z)", size=110)
        likelihood = checkpoint.vae.likelihood
        st.caption(
            f"{likelihood.pixel_meaning} The draw beside it is what the likelihood actually generates: "
            f"{likelihood.draw_meaning(config.sigma)}"
        )
        nearest = explorer.nearest(encoded.mu, z, k=5)
        st.markdown("**Nearest real test digits** to this point")
        strip_ui(encoded.images[nearest, 0], [f"{encoded.class_names[encoded.labels[i]]} (#{i})" for i in nearest])
    with st.container():
        draws = picked_ui(picked) if picked is not None else None
        path = interpolation_ui()
    with left:
        posterior = (encoded.mu[picked], encoded.sd[picked]) if picked is not None else None
        figure = latent_map(
            encoded.mu,
            encoded.labels,
            encoded.class_names,
            x_range=x_range,
            y_range=y_range,
            grid_n=GRID_N,
            current=(float(z[0]), float(z[min(1, latent_dim - 1)])),
            posterior=posterior,
            samples=draws,
            path=path,
            **options,
        )
        st.plotly_chart(
            figure,
            on_select="rerun",
            selection_mode=("points", "box"),
            key="latent_map",
            width="stretch",
            config={"displaylogo": False},
        )
        downloads_ui(
            "latent-map",
            lambda fmt: static.latent_map_image(
                encoded.mu, encoded.labels, encoded.class_names, fmt=fmt, prior_contours=options["prior_contours"]
            ),
            key="latent",
        )


explorer_ui()
