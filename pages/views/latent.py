import json

import numpy as np
import streamlit as st

import cvae
from cvae.plots import latent_map, map_range
from cvae.selection import pick_from_selection
from ui import state
from ui.components import digit_ui, pixel_meaning

st.title("Latent space")
try:
    checkpoint, encoded = state.active_model(), state.active_encoded()
except (cvae.CheckpointError, cvae.DatasetError) as err:
    st.error(f"The active model cannot be shown: {err}")
    st.stop()
explorer = state.explorer()
latent_dim = checkpoint.config.latent_dim
x_range, y_range = map_range(encoded.mu)
GRID_N = 151
SLIDER = 4.0
snap = (x_range[1] - x_range[0]) / (GRID_N - 1)

for d in range(latent_dim):
    st.session_state.setdefault(f"z_{d}", 0.0)
st.caption(f"{len(encoded.labels):,} encoded test digits of {checkpoint.config.dataset}, at their q(z|x) means. "
           "Click a digit to inspect it, or click empty space to decode that point." +
           (f" The map shows z1 and z2 of {latent_dim} dimensions; the others are set by their sliders."
            if latent_dim > 2 else ""))


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
    for d, value in enumerate(pick.z[:min(2, latent_dim)]):
        st.session_state[f"z_{d}"] = float(np.clip(round(value, 3), -SLIDER, SLIDER))
    st.session_state["picked"] = pick.index


def forget_pick() -> None:
    st.session_state["picked"] = None


@st.fragment
def explorer_ui() -> None:
    apply_selection()
    picked = st.session_state.get("picked")
    z = np.array([[st.session_state[f"z_{d}"] for d in range(latent_dim)]], dtype=np.float32)
    posterior = (encoded.mu[picked], encoded.sd[picked]) if picked is not None else None
    left, right = st.columns([3, 2])
    with left:
        figure = latent_map(encoded.mu, encoded.labels, encoded.class_names, x_range=x_range,
                            y_range=y_range, grid_n=GRID_N, current=(float(z[0, 0]), float(z[0, min(1, latent_dim - 1)])),
                            posterior=posterior)
        st.plotly_chart(figure, on_select="rerun", selection_mode=("points", "box"), key="latent_map",
                        width="stretch", config={"displaylogo": False})
    with right:
        for d in range(latent_dim):
            st.slider(f"z{d + 1}", -SLIDER, SLIDER, step=0.01, key=f"z_{d}", on_change=forget_pick)
        decoded = explorer.decode(z)[0]
        digit_ui(decoded, f"decoded at z = ({', '.join(f'{v:.2f}' for v in z[0])})", size=280)
        st.caption(pixel_meaning(checkpoint.config.likelihood))
        if picked is not None:
            st.markdown(f"**Picked test digit #{picked}**, label **{encoded.class_names[encoded.labels[picked]]}**")
            a, b = st.columns(2)
            with a:
                digit_ui(encoded.images[picked, 0], "original", size=120)
            with b:
                digit_ui(explorer.reconstruct(encoded.images[picked:picked + 1])[0], "reconstruction", size=120)
            mu, sd = encoded.mu[picked], encoded.sd[picked]
            st.markdown("q(z|x): mean (" + ", ".join(f"{v:.2f}" for v in mu) + "), sd (" +
                        ", ".join(f"{v:.2f}" for v in sd) + "). The ellipses on the map are 1 and 2 sd.")


explorer_ui()
