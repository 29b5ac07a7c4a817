import numpy as np
import streamlit as st

from cvae.explore.latent_stats import stats_from_codes, traversal_grid
from cvae.explore.projections import ProjectionError, axes_projection, pca_projection, plane_grid
from cvae.viz import static
from cvae.viz.alt_text import grid_alt
from cvae.viz.latent_stats_figures import projection_figure
from cvae.viz.map_overlays import projection_prior
from ui.components import active_model_or_stop, downloads_ui
from ui.images import image_ui

PLANES = {"axes": "two latent dimensions", "pca": "PCA plane of the encoded means"}
HOLDS = {"zero": "0 (the prior's mean)", "mean": "the data mean", "digit": "a test digit's code"}
SPAN = 3.0  # traversals run from -3 to +3 sd

st.title("Manifold")
checkpoint, encoded, explorer = active_model_or_stop()
latent_dim = checkpoint.config.latent_dim
names = [f"z{d + 1}" for d in range(latent_dim)]
label = None  # a conditional model decodes as one chosen label, or the average over labels
if explorer.conditional:
    label = st.selectbox(
        "Decode as label",
        [None, *range(len(encoded.class_names))],
        format_func=lambda k: "every label, averaged" if k is None else encoded.class_names[k],
        key="manifold_label",
    )


def decode(z: np.ndarray) -> np.ndarray:
    return explorer.decode(z, label)


def digit_code_ui(column, key: str) -> tuple[int, np.ndarray]:
    index = column.number_input("Test digit #", 0, len(encoded.mu) - 1, 0, step=1, key=key)
    return int(index), encoded.mu[int(index)]


def held_code_ui(column, default: str) -> tuple[str, str, np.ndarray]:
    """What the dimensions off the plane are held at: (choice, description, code)."""
    hold = column.radio(
        "Other dimensions held at", list(HOLDS), list(HOLDS).index(default), format_func=HOLDS.get, key="manifold_hold"
    )
    if hold == "digit":
        index, code = digit_code_ui(column, "manifold_digit")
        return hold, f"the code of test digit #{index} ({encoded.class_names[encoded.labels[index]]})", code
    return hold, HOLDS[hold], np.zeros(latent_dim) if hold == "zero" else encoded.mu.mean(axis=0)


grid_tab, traversal_tab = st.tabs(["Decoded grid", "Traversals"])

with grid_tab:
    controls = st.columns([2, 1, 1, 2])
    plane = controls[0].radio("Plane", list(PLANES), format_func=PLANES.get, horizontal=True, key="manifold_plane")
    i, j = 0, 1
    if plane == "axes" and latent_dim > 2:
        i = controls[1].selectbox("Horizontal", range(latent_dim), format_func=names.__getitem__, key="manifold_i")
        j = controls[2].selectbox("Vertical", range(latent_dim), 1, format_func=names.__getitem__, key="manifold_j")
    hold, held, code = "zero", "", None
    if latent_dim > 2:
        hold, held, code = held_code_ui(controls[3], "zero" if plane == "axes" else "mean")
    a, b = st.columns(2)
    n = a.slider("Grid size n (n x n decodes)", 3, 30, 10, key="manifold_n")
    extent = b.slider("Extent: each map axis in [-extent, extent]", 0.5, 5.0, 2.0, step=0.25, key="manifold_extent")
    try:
        projection = axes_projection(encoded.mu, i, j) if plane == "axes" else pca_projection(encoded.mu)
        if code is not None:
            projection = projection.held_at(code)
    except ProjectionError as err:
        st.error(f"This plane cannot be shown: {err}")
        projection = None
    if projection is not None:
        u, v = projection.axis_titles
        origin = "the data mean" if plane == "pca" else "0"
        st.caption(
            f"Each tile is the decoder's mean image at one grid point of the {projection.label} plane; the "
            f"grid's centre is {origin}, top left ({u}, {v}) = (-{extent:g}, {extent:g}), bottom right "
            f"(+{extent:g}, -{extent:g}). {checkpoint.vae.likelihood.pixel_meaning}"
            + (f" Other latent dimensions are held at {held}." if held else "")
            + (f" {projection.note}" if plane == "pca" else "")
        )
        left, right = st.columns(2)
        with left:
            images = decode(plane_grid(projection, n, extent))  # (n*n, 28, 28), rows from the top
            mosaic = images.reshape(n, n, 28, 28).transpose(0, 2, 1, 3).reshape(n * 28, n * 28)
            image_ui(
                mosaic,
                size=560,
                caption=f"{n} x {n} decoded grid",
                alt=grid_alt(
                    n, n, f"the decoder's means over the {projection.label} plane, -{extent:g} to +{extent:g}"
                ),
            )
            downloads_ui(f"manifold-{n}x{n}", lambda fmt: static.mosaic_image(mosaic, fmt=fmt), key="manifold")
        with right:
            figure = projection_figure(
                projection,
                encoded.labels,
                encoded.class_names,
                box=(0.0, 0.0, extent),
                marker=code if hold != "zero" else None,
                prior=projection_prior(explorer.prior_components(), projection),
            )
            st.plotly_chart(
                figure,
                width="stretch",
                key="manifold_map",
                alt=f"scatter of the test digits on the {projection.label} plane, one colour and shape per class, "
                "with the grid's square and the prior's contours",
            )
            st.caption(
                "The test digits on the same plane; the dashed square is the region the grid covers, the red "
                "dashed lines the prior (N(0, I) at 1, 2 and 3 sd; a learned mixture's components at 1 and 2 sd)."
            )

with traversal_tab:
    stats = stats_from_codes(encoded.mu, encoded.sd)
    controls = st.columns([2, 1, 2, 2])
    centres = {"origin": "the origin", "digit": "a test digit's code"}
    around = controls[0].radio(
        "Around", list(centres), format_func=centres.get, horizontal=True, key="traversal_center"
    )
    centre, where = np.zeros(latent_dim), "the origin"
    if around == "digit":
        index, centre = digit_code_ui(controls[1], "traversal_digit")
        where = f"test digit #{index}'s code"
    scales = {"prior": "the prior's (1)", "data": "the encoded means' spread"}
    spread = controls[2].radio(
        "One sd is", list(scales), format_func=scales.get, horizontal=True, key="traversal_scale"
    )
    steps = controls[3].slider("Steps per row", 5, 15, 9, step=2, key="traversal_steps")
    rows = latent_dim
    if latent_dim > 2:
        rows = st.slider("Rows (the dimensions with most KL)", 1, latent_dim, min(latent_dim, 16), key="traversal_rows")
    scale = 1.0 if spread == "prior" else np.maximum(encoded.mu.std(axis=0), 1e-3)
    traversal = traversal_grid(decode, centre, stats.kl_per_dim, steps=steps, span=SPAN, scale=scale, rows=rows)
    picture = traversal.mosaic()
    image_ui(
        picture,
        size=min(900, steps * 64),
        caption=f"{len(traversal.dims)} x {steps} traversal",
        alt=grid_alt(
            len(traversal.dims),
            steps,
            f"each row varies one latent dimension from -{SPAN:g} to +{SPAN:g} sd around {where}",
        ),
    )
    downloads_ui(f"traversal-{latent_dim}", lambda fmt: static.mosaic_image(picture, fmt=fmt), key="traversal")
    order = ", ".join(
        f"{names[d]} ({stats.kl_per_dim[d]:.2f} nats{'' if stats.active[d] else ', inactive'})" for d in traversal.dims
    )
    st.caption(
        f"Each row varies one latent dimension from -{SPAN:g} to +{SPAN:g} sd around {where}, the others held "
        f"there; rows are sorted by that dimension's KL, most first: {order}. A dimension the model does not "
        "use decodes to the same image all along its row."
    )
