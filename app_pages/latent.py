import streamlit as st

from cvae.viz import static
from cvae.viz.alt_text import classifier_readings
from cvae.viz.map_overlays import projection_prior
from ui import latent_map
from ui import session_keys as keys
from ui.components import active_model_or_stop, downloads_ui
from ui.latent import first_map
from ui.latent.controls import map_controls_ui
from ui.latent.payloads import MAP_KEY, home_range, payload_for
from ui.latent.projection import HOLD, held_lift, projection_for
from ui.latent.tools import CRISP_IMAGES, each_label_ui, interpolation_ui, nearest_ui, picked_ui, sample_ui
from ui.latent.view import MapContext, apply_pin, current_z, init_state, payload_header, view_data
from ui.model_cache import model_key
from ui.model_choice import active_path

st.title("Latent space")
checkpoint, encoded, explorer = active_model_or_stop()
latent_dim = checkpoint.config.latent_dim
init_state(latent_dim)
st.caption(
    f"{len(encoded.labels):,} encoded test digits of {checkpoint.config.dataset}, at their q(z|x) means. "
    "Hover the map to decode any point in your browser; click to pin it (a digit: pick it) and see what "
    "the model makes of it below. Drag to pan, scroll to zoom; the z sliders decode as you drag."
)


path = active_path()
model = model_key(path)  # what the tools' caches know this model by
prior_components = explorer.prior_components()  # N(0, I), a learned mixture, or None (a kind's own prior)
map_alone = first_map.pending()  # a tab's first map is drawn alone (ui.latent.first_map)
controls = map_controls_ui(latent_dim, has_prior=prior_components is not None, draw=not map_alone)
choice = controls.choice
projection = projection_for(path, choice)
if projection.note and not map_alone:
    st.sidebar.caption(projection.note)
x_range, y_range = home_range(path, choice)
payload = payload_for(path, choice, target=MAP_KEY, density=controls.density)
conditioning = payload_header(payload)["decoder"].get("conditioning", 0)


@st.fragment
def explorer_ui() -> None:
    """A pin reruns only this: the map (its payload goes by reference), the tools, the new view."""
    first_map.rerun_page_once_drawn(map_alone)

    def context() -> MapContext:
        held = current_z(latent_dim) if choice.hold == HOLD[0] else encoded.mu.mean(axis=0)
        lift = held_lift(projection, held)
        return MapContext(projection, encoded.mu, encoded.sd, x_range, y_range, lift, conditioning, prior_components)

    raw = latent_map.map_ui(payload, key=MAP_KEY, on_drawn=first_map.mark_drawn)
    refused = apply_pin(raw, context()) if raw is not None else None
    ctx = context()  # through the new point
    z = current_z(latent_dim)
    if refused:
        st.warning(refused)
    draws, path_z = (None, None) if map_alone else tools_ui(z)
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
    label = st.session_state[keys.DECODE_LABEL] if conditioning else None
    view["pinned"]["reading"] = classifier_readings(explorer.decode(z[None], label))[0]
    latent_map.view_ui(view, key=MAP_KEY)


def tools_ui(z):
    """The tools below the map, decoding at `z`, and the map's downloads; returns (the picked digit's
    posterior draws or None, the interpolation path or None) for the map's overlays."""
    st.html(CRISP_IMAGES)
    left, right = st.columns([2, 3])
    with left:
        sample_ui(explorer, z, st.session_state[keys.DECODE_LABEL] if conditioning else None, checkpoint)
        if explorer.conditional:
            each_label_ui(explorer, z, encoded.class_names)
        nearest_ui(encoded, z)
    with right:
        picked = st.session_state[keys.PICKED]
        draws = picked_ui(encoded, explorer, picked, model=model) if picked is not None else None
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
