import streamlit as st

from cvae.viz import static
from cvae.viz.map_overlays import projection_prior
from ui import latent_map, state
from ui.components import active_model_or_stop, downloads_ui
from ui.latent_payloads import MAP_KEY, home_range, payload_for
from ui.latent_projection import HOLD, held_lift, projection_for, projection_ui
from ui.latent_tools import CRISP_IMAGES, each_label_ui, interpolation_ui, nearest_ui, picked_ui, sample_ui
from ui.latent_view import (
    MAP_DRAWN,
    MapContext,
    apply_pin,
    current_z,
    init_state,
    mark_map_drawn,
    payload_header,
    view_data,
)

COLOURINGS = {"label": "label", "spread": "posterior spread (mean sd)", "kl": "KL per image (nats)"}

st.title("Latent space")
checkpoint, encoded, explorer = active_model_or_stop()
latent_dim = checkpoint.config.latent_dim
init_state(latent_dim)
st.html(CRISP_IMAGES)
st.caption(
    f"{len(encoded.labels):,} encoded test digits of {checkpoint.config.dataset}, at their q(z|x) means. "
    "Hover the map to decode any point in your browser; click to pin it (a digit: pick it) and see what "
    "the model makes of it below. Drag to pan, scroll to zoom; the z sliders decode as you drag."
)


path = state.active_path()
choice = projection_ui(latent_dim)
a, b, c = st.columns([2, 1, 1])
colouring = a.radio("Colour digits by", list(COLOURINGS), format_func=COLOURINGS.get, horizontal=True, key="colouring")
prior_components = explorer.prior_components()  # N(0, I), a learned mixture, or None (a kind's own prior)
prior = b.checkbox(
    "Prior contours",
    key="show_prior",
    disabled=prior_components is None,
    help="p(z): N(0, I) at 1, 2, 3 sd, or a learned mixture's components; drawn on z_i vs z_j and PCA maps",
)
density = c.checkbox(
    "Aggregate posterior density",
    key="show_density",
    help="mean of all q(z|x): dark where codes are dense; pale holes decode poorly",
)
projection = projection_for(path, choice)
if projection.note:
    st.caption(projection.note)
x_range, y_range = home_range(path, choice)
payload = payload_for(path, choice, target=MAP_KEY, density=density)
conditioning = payload_header(payload)["decoder"].get("conditioning", 0)


@st.fragment
def explorer_ui() -> None:
    """A pin reruns only this: the map (its payload goes by reference), the tools, the new view.
    On a session's first visit the map comes alone, and its "drawn" report reruns this with the tools:
    rendering them in the same go made a fresh browser take ~0.7 s longer to show the map (2 cores)."""

    def context() -> MapContext:
        held = current_z(latent_dim) if choice.hold == HOLD[0] else encoded.mu.mean(axis=0)
        lift = held_lift(projection, held)
        return MapContext(projection, encoded.mu, encoded.sd, x_range, y_range, lift, conditioning, prior_components)

    raw = latent_map.map_ui(payload, key=MAP_KEY, on_drawn=mark_map_drawn)
    refused = apply_pin(raw, context()) if raw is not None else None
    ctx = context()  # through the new point
    z = current_z(latent_dim)
    if refused:
        st.warning(refused)
    # a session's first map comes alone: its "drawn" report brings the tools
    draws, path_z = tools_ui(z) if st.session_state[MAP_DRAWN] else (None, None)
    view = view_data(ctx, payload, colouring=colouring, density=density, prior=prior, draws=draws, path=path_z)
    latent_map.view_ui(view, key=MAP_KEY)


def tools_ui(z):
    """The tools below the map, decoding at `z`, and the map's downloads; returns (the picked digit's
    posterior draws or None, the interpolation path or None) for the map's overlays."""
    left, right = st.columns([2, 3])
    with left:
        sample_ui(explorer, z, st.session_state["decode_label"] if conditioning else None, checkpoint)
        if explorer.conditional:
            each_label_ui(explorer, z, encoded.class_names)
        nearest_ui(encoded, z)
    with right:
        picked = st.session_state["picked"]
        draws = picked_ui(encoded, explorer, picked) if picked is not None else None
    path_z = interpolation_ui(explorer, z)
    map_prior = projection_prior(prior_components, projection) if prior else None  # where the map draws it
    downloads_ui(
        "latent-map",
        lambda fmt: static.latent_map_image(
            projection.coords,
            encoded.labels,
            encoded.class_names,
            fmt=fmt,
            prior=map_prior,
        ),
        key="latent",
    )
    return draws, path_z


explorer_ui()
