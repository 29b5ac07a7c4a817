import streamlit as st

from cvae.viz import static
from cvae.viz.alt_text import classifier_readings
from cvae.viz.map_overlays import projection_prior
from ui import latent_map
from ui import session_keys as keys
from ui.components import active_model_or_stop, downloads_ui
from ui.latent import first_map, tools
from ui.latent.controls import map_controls_ui
from ui.latent.payloads import MAP_KEY, home_range, payload_for
from ui.latent.projection import HOLD, held_lift, projection_for
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

# A pin is the map view's trigger (ui.latent_map), so it reruns the fragment the view is in, in one script
# run: the tools at the pinned point, which are all that depends on it. The map's fragment never reruns for
# a pin (its payload is the same bytes every run). The view draws nothing (hidden, it adds no gap). A first
# map comes alone, with its view in a fragment of its own.
MAP, POINT, PATH, VIEW = "latent_explorer", "latent_point", "latent_path", "latent_view"
VIEWS = VIEW if map_alone else POINT  # the fragment that holds the map's view, which a pin reruns
VIEW_HIDDEN = f"<style>.st-key-{latent_map.view_key(MAP_KEY)} {{ display: none; }}</style>"


def decode_label() -> int | None:
    """The label a conditional decoder is given at the pinned point (None: an unconditional decoder)."""
    return st.session_state[keys.DECODE_LABEL] if conditioning else None


def context() -> MapContext:
    held = current_z(latent_dim) if choice.hold == HOLD[0] else encoded.mu.mean(axis=0)
    lift = held_lift(projection, held)
    return MapContext(projection, encoded.mu, encoded.sd, x_range, y_range, lift, conditioning, prior_components)


def on_pin() -> None:
    """The view's pin callback: the browser's pin becomes the session's point (or the reason it did not)."""
    st.session_state[keys.PIN_REFUSED] = apply_pin(latent_map.pin_of(MAP_KEY), context())


@st.fragment(key=MAP)
def explorer_ui() -> None:
    """The map; its "drawn" report reruns this, which brings the rest of a first page (ui.latent.first_map)."""
    first_map.rerun_page_once_drawn(map_alone)
    latent_map.map_ui(payload, key=MAP_KEY, on_drawn=first_map.mark_drawn)


def refused_ui() -> None:
    """Why the browser's last pin was ignored, once: the next rerun of the view's fragment clears it."""
    if refused := st.session_state.pop(keys.PIN_REFUSED, None):
        st.warning(refused)


@st.fragment(key=POINT)
def point_ui() -> None:
    """Everything at the pinned point, which a pin reruns. Left: a draw from p(x|z) (and what its pixels mean),
    the same z as every label (a conditional model), the nearest real digits. Right: the picked digit, if any.
    Then the map's view."""
    refused_ui()
    left, right = st.columns([2, 3])
    with left:
        z = current_z(latent_dim)
        tools.sample_ui(explorer, z, decode_label())
        tools.sample_caption_ui(explorer, checkpoint)
        if explorer.conditional:
            tools.each_label_title_ui()
            tools.each_label_ui(explorer, z, encoded.class_names)
        tools.nearest_title_ui()
        tools.nearest_ui(encoded, z, model=model)
    with right:
        picked = st.session_state[keys.PICKED]
        if picked is not None:
            tools.picked_ui(encoded, explorer, picked, model=model, draws=[POINT], path=[PATH, POINT])
    view_ui()


@st.fragment(key=PATH)
def path_ui() -> None:
    tools.interpolation_ui(explorer, latent_dim, [PATH, VIEWS])


def view_ui() -> None:
    """The map's view: the pinned point, the overlays and what the digit classifier reads at the point."""
    z = current_z(latent_dim)
    view = view_data(
        context(),
        payload,
        colouring=controls.colouring,
        density=controls.density,
        prior=controls.prior,
        draws=None if map_alone else tools.picked_draws(encoded, explorer, model=model),
        path=None if map_alone else tools.interpolation_path(latent_dim),
    )
    # the map's live region says it (0.6 ms a pin)
    view["pinned"]["reading"] = classifier_readings(explorer.decode(z[None], decode_label()))[0]
    latent_map.view_ui(view, key=MAP_KEY, on_pin=on_pin)


def tools_ui() -> None:
    """The tools below the map, the parts that depend on the point in fragments, and the map's downloads."""
    st.html(tools.CRISP_IMAGES + VIEW_HIDDEN)
    tools.sample_buttons_ui(explorer, [POINT])  # above the fragment: not redrawn by a pin
    point_ui()
    tools.interpolation_buttons_ui(latent_dim, [PATH, VIEWS])
    path_ui()
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


@st.fragment(key=VIEW)
def alone_view_ui() -> None:
    """A first map's view, alone (no tools yet), and why a pin was ignored."""
    refused_ui()
    view_ui()


explorer_ui()
if map_alone:
    alone_view_ui()
else:
    tools_ui()
