import numpy as np
import streamlit as st

from cvae.data.user_digit import DigitImageError, load_canvas, load_digit
from cvae.viz.images import to_png
from cvae.viz.latent_figures import latent_map, map_range
from ui import session_keys as keys
from ui.components import active_model_or_stop, digit_ui
from ui.latent.projection import KINDS, ProjectionChoice, projection_for
from ui.model_choice import active_path

st.title("Your digit")
checkpoint, encoded, explorer = active_model_or_stop()
TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp"]

# session_keys.DIGIT_INPUT: the latest input, set by the uploader, the canvas or the example button;
# all go through one path.


def take_upload() -> None:
    file = st.session_state.get(keys.DIGIT_UPLOAD)
    st.session_state[keys.DIGIT_INPUT] = (
        {"kind": "upload", "data": file.getvalue(), "name": file.name} if file is not None else None
    )


def take_example() -> None:
    """A random test digit as dark ink on white, 10x larger: like a scan, so it is inverted back."""
    index = int(np.random.default_rng().integers(len(encoded.labels)))
    st.session_state[keys.DIGIT_INPUT] = {
        "kind": "example",
        "data": to_png(1.0 - encoded.images[index, 0], 280),
        "name": f"test digit #{index}",
    }


def canvas_ui() -> None:
    """Draw with the mouse; each finished stroke becomes the input. Upload-only if unavailable."""
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception as err:  # not installed, or its component failed to register
        st.caption(f"Drawing is not available on this server ({type(err).__name__}); upload an image instead.")
        return
    result = st_canvas(
        stroke_width=22,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=280,
        width=280,
        drawing_mode="freedraw",
        return_image_data=True,
        key="digit_canvas",
    )
    drawn = bool(result.json_data and result.json_data.get("objects"))
    try:
        png = result.image_bytes if drawn else None
    except (ValueError, TypeError):  # a malformed data URL from the browser
        png = b"not a PNG"
    if png and png != st.session_state.get(keys.CANVAS_PNG):
        st.session_state[keys.CANVAS_PNG] = png
        st.session_state[keys.DIGIT_INPUT] = {"kind": "canvas", "data": png, "name": "your drawing"}
    st.caption("Draw one digit, white on black, filling most of the square.")


left, right = st.columns([1, 1])
with left:
    upload, draw = st.tabs(["Upload an image", "Draw"])
    with upload:
        st.file_uploader(
            "An image of one handwritten digit",
            type=TYPES,
            key=keys.DIGIT_UPLOAD,
            on_change=take_upload,
            help="Dark ink on light paper or light on dark; "
            "it is cropped, scaled and centred the way MNIST's digits were.",
        )
        st.button("Use a random test digit", on_click=take_example, key="digit_example")
    with draw:
        canvas_ui()

digit_input = st.session_state.get(keys.DIGIT_INPUT)
if not digit_input:
    right.info("Upload an image of a single digit, draw one, or use a random test digit.")
    st.stop()
try:
    loader = load_canvas if digit_input["kind"] == "canvas" else load_digit
    digit = loader(digit_input["data"])
except DigitImageError as err:
    right.error(f"{digit_input.get('name') or 'This image'} cannot be used: {err}")
    st.stop()

label = None
if explorer.conditional:  # q(z|x, y) needs a label: the model's own most likely one (it is a classifier too)
    label = explorer.infer_labels(digit[None, None])
    right.info(f"This model is conditional: it reads your digit as a **{encoded.class_names[label[0]]}**.")
mu, sd = explorer.encode(digit[None, None], label)  # (1, latent) each
reconstruction = explorer.decode(mu, label)[0]
with right:
    a, b = st.columns(2)
    with a:
        digit_ui(digit, "your digit, 28 x 28 as the model sees it", size=160)
    with b:
        digit_ui(reconstruction, "reconstruction (decoded at the mean)", size=160, z=mu[0])
    st.markdown(
        "q(z|x): mean ("
        + ", ".join(f"{v:.2f}" for v in mu[0])
        + "), sd ("
        + ", ".join(f"{v:.2f}" for v in sd[0])
        + ")."
    )
    nearest = explorer.nearest(encoded.mu, mu[0], k=5)
    labels = ", ".join(encoded.class_names[encoded.labels[i]] for i in nearest)
    st.caption(f"Nearest test digits in latent space: {labels}.")

titles = None
if checkpoint.config.latent_dim == 2:  # the whole latent space: the exact q(z|x) ellipses
    points, at, overlay = encoded.mu, mu[0], {"posterior": (mu[0], sd[0])}
    x_range, y_range = map_range(points, include=(at, 2.2 * sd[0]))  # the 2-sd ellipse fits
    caption = "Your digit's q(z|x) among the encoded test digits: the cross is its mean, the ellipses 1 and 2 sd."
else:  # more dimensions: the digit and 64 draws of its q(z|x) placed in a projection of the map
    kind = st.radio("Map", list(KINDS), format_func=KINDS.get, horizontal=True, index=1, key="digit_projection")
    projection = projection_for(active_path(), ProjectionChoice(kind))
    points, at, titles = projection.coords, projection.to_map(mu)[0], projection.axis_titles
    draws = projection.to_map(explorer.sample_posterior(digit[None, None], 64, seed=0, labels=label)[0])
    overlay = {"samples": draws}
    x_range, y_range = map_range(points, include=(at, np.ptp(draws, axis=0)), at_least=None)
    caption = (
        f"Your digit among the encoded test digits, {projection.label}: the cross is its q(z|x) mean, the "
        f"dots 64 draws from q(z|x). {projection.note}"
    )
figure = latent_map(
    points,
    encoded.labels,
    encoded.class_names,
    x_range=x_range,
    y_range=y_range,
    grid_n=2,
    current=(float(at[0]), float(at[1])),
    **overlay,
)
if titles is not None:
    figure.update_layout(xaxis_title=titles[0], yaxis_title=titles[1])
st.plotly_chart(
    figure,
    width="stretch",
    key="your_digit_map",
    alt="latent map: the test digits, one colour and shape per class, with your digit's q(z|x) marked",
)
st.caption(caption)
