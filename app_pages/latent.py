import streamlit as st

from cvae.viz import static
from cvae.viz.alt_text import classifier_readings
from cvae.viz.map_overlays import projection_prior
from ui import latent_map, state
from ui.components import active_model_or_stop, downloads_ui
from ui.latent_controls import map_controls_ui
from ui.latent_payloads import MAP_KEY, home_range, payload_for
from ui.latent_projection import HOLD, held_lift, projection_for
from ui.latent_tools import CRISP_IMAGES, each_label_ui, interpolation_ui, nearest_ui, picked_ui, sample_ui
from ui.latent_view import (
    MAP_DRAWN,
    MapContext,
    apply_pin,
    current_z,
    first_map_pending,
    init_state,
    mark_map_drawn,
    payload_header,
    view_data,
)

st.title("Latent space")
checkpoint, encoded, explorer = active_model_or_stop()
latent_dim = checkpoint.config.latent_dim
init_state(latent_dim)
st.caption(
    f"{len(encoded.labels):,} encoded test digits of {checkpoint.config.dataset}, at their q(z|x) means. "
    "Hover the map to decode any point in your browser; click to pin it (a digit: pick it) and see what "
    "the model makes of it below. Drag to pan, scroll to zoom; the z sliders decode as you drag."
)


path = state.active_path()
prior_components = explorer.prior_components()  # N(0, I), a learned mixture, or None (a kind's own prior)
# A session's first map is drawn alone: its "drawn" report brings the controls, the model picker
# and the tools (on 2 cores, drawing them in the same go made a fresh browser's map ~1 s later).
first_map = first_map_pending()
controls = map_controls_ui(latent_dim, has_prior=prior_components is not None, draw=not first_map)
choice = controls.choice
projection = projection_for(path, choice)
if projection.note and not first_map:
    st.sidebar.caption(projection.note)
x_range, y_range = home_range(path, choice)
payload = payload_for(path, choice, target=MAP_KEY, density=controls.density)
conditioning = payload_header(payload)["decoder"].get("conditioning", 0)


@st.fragment
def explorer_ui() -> None:
    """A pin reruns only this: the map (its payload goes by reference), the tools, the new view."""
    if first_map and st.session_state[MAP_DRAWN]:  # the first map's "drawn" report: now the whole page
        st.rerun()

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
    draws, path_z = (None, None) if first_map else tools_ui(z)
    view = view_data(
        ctx,
        payload,
        colouring=controls.colouring,
        density=controls.density,
        prior=controls.prior,
        draws=draws,
        path=path_z,
    )
    # what the digit classifier reads at the pinned point: the map's live region says it (0.6 ms a pin)
    label = st.session_state["decode_label"] if conditioning else None
    view["pinned"]["reading"] = classifier_readings(explorer.decode(z[None], label))[0]
    latent_map.view_ui(view, key=MAP_KEY)


def tools_ui(z):
    """The tools below the map, decoding at `z`, and the map's downloads; returns (the picked digit's
    posterior draws or None, the interpolation path or None) for the map's overlays."""
    st.html(CRISP_IMAGES)
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
    map_prior = projection_prior(prior_components, projection) if controls.prior else None  # where the map draws it
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
