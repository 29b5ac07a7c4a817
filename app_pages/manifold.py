import streamlit as st

from cvae.viz import static
from cvae.viz.images import to_png
from cvae.viz.latent_figures import latent_map, map_range
from ui.components import active_model_or_stop, downloads_ui

st.title("Manifold")
checkpoint, encoded, explorer = active_model_or_stop()

a, b = st.columns(2)
n = a.slider("Grid size n (n x n decodes)", 3, 30, 10, key="manifold_n")
extent = b.slider("Extent: z1, z2 in [-extent, extent]", 0.5, 5.0, 2.0, step=0.25, key="manifold_extent")
st.caption(
    f"Each tile is the decoder's mean image at one grid point; top left is z = (-{extent:g}, {extent:g}), "
    f"bottom right (+{extent:g}, -{extent:g}). {checkpoint.vae.likelihood.pixel_meaning}"
    + (" Other latent dimensions are held at 0." if checkpoint.config.latent_dim > 2 else "")
)
left, right = st.columns(2)
with left:
    mosaic = explorer.decode_grid(n, extent)
    st.image(to_png(mosaic, size=560), caption=f"{n} x {n} decoded grid", output_format="PNG")
    downloads_ui(f"manifold-{n}x{n}", lambda fmt: static.mosaic_image(mosaic, fmt=fmt), key="manifold")
with right:
    x_range, y_range = map_range(encoded.mu)
    st.plotly_chart(
        latent_map(
            encoded.mu,
            encoded.labels,
            encoded.class_names,
            x_range=x_range,
            y_range=y_range,
            grid_n=2,
            box=extent,
            height=560,
        ),
        width="stretch",
        key="manifold_map",
    )
    st.caption("The dashed square is the region the grid covers.")
