"""A step's live element: the digit it is about, the latent map, a decode, the manifold, a chart.

Whatever is random (a draw from q(z|x) or p(x|z)) uses the step's seed, kept in session state, so
"Reset step" gives back the same pixels.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cvae.lessons import CHECKS, LiveModel, Step
from cvae.lessons.checks import a_digit
from cvae.viz.alt_text import decoded_alt, grid_alt
from cvae.viz.map_overlays import overlay
from ui import latent_map
from ui.images import image_ui
from ui.latent import first_map
from ui.latent.payloads import home_range, payload_for
from ui.latent.projection import ProjectionChoice, held_lift, projection_for
from ui.latent.view import MapContext, apply_pin, current_z, init_state, payload_header, project, view_data
from ui.model_cache import encoded_for
from ui.model_choice import active_model, active_path
from ui.session_keys import DECODE_LABEL, PICKED, PIN_UV, z_key

__all__ = ["LESSON_MAP", "element_ui", "start_point"]

LESSON_MAP = "lesson_map"  # the map component's key on this page (its payload is cached per target)
_SIZE = 140


def start_point(step: Step, model: LiveModel) -> list[float]:
    """Where the step's decode starts: its own point, else the origin."""
    z = np.zeros(model.latent_dim)
    if step.point is not None:
        z[: len(step.point)] = step.point[: model.latent_dim]
    return [float(v) for v in z]


def _image(image: np.ndarray, caption: str, z: np.ndarray | None = None) -> None:
    """One digit; its alt text (ui.images) says the caption, the z it was decoded at and the classifier's reading."""
    alt = decoded_alt(image, None if z is None else np.asarray(z).reshape(1, -1), caption)[0]
    image_ui(image, alt=alt, caption=caption, size=_SIZE, width=_SIZE)


def element_ui(step: Step, model: LiveModel, keys: dict, digit: int) -> None:
    """Draw the step's element; `keys` names this step's session-state keys (ui.session_keys.step_keys)."""
    st.session_state.setdefault(keys["seed"], step.seed)
    st.session_state.setdefault(keys["z"], start_point(step, model))
    draw = {
        "digit": _digit_ui,
        "latent-map": _map_ui,
        "decode": _decode_ui,
        "manifold": _manifold_ui,
        "training-chart": _chart_ui,
        "compare": _compare_ui,
    }.get(step.show)
    if draw is not None:
        draw(step, model, keys, digit)


def _digit_ui(step, model, keys, digit) -> None:
    explorer, seed = model.explorer, st.session_state[keys["seed"]]
    image = model.images[digit : digit + 1]
    draw = explorer.sample_posterior(image, 1, seed=seed)[0]  # (1, latent): one z ~ q(z|x)
    cols = st.columns(3)
    with cols[0]:
        _image(image[0, 0], f"test digit {digit} ({a_digit(int(model.labels[digit]))}): x")
    with cols[1]:
        mean = model.mu[digit : digit + 1]
        _image(explorer.decode(mean)[0], "decoded at the mean of q(z|x)", mean)
    with cols[2]:
        _image(explorer.decode(draw)[0], f"decoded at one draw z ~ q(z|x) (seed {seed})", draw)
    _another_ui(keys)


def _another_ui(keys) -> None:
    def another() -> None:
        st.session_state[keys["seed"]] += 1

    st.button("Draw another sample", key=keys["another"], on_click=another)


def _decode_pair_ui(model, keys) -> None:
    z = np.asarray(st.session_state[keys["z"]], np.float32)[None]
    seed = st.session_state[keys["seed"]]
    where = ", ".join(f"{v:.2f}" for v in z[0][:4])
    cols = st.columns(2)
    with cols[0]:
        _image(model.explorer.decode(z)[0], f"the decoder's mean image at z = ({where})", z)
    with cols[1]:
        _image(model.explorer.sample_pixels(z, seed=seed)[0], f"one draw of pixels from p(x|z) (seed {seed})", z)
    _another_ui(keys)


def _decode_ui(step, model, keys, digit) -> None:
    _decode_pair_ui(model, keys)


def _map_ui(step, model, keys, digit) -> None:
    """The app's latent map (its component's Python API): a pin becomes this step's point."""
    path = active_path()
    choice = ProjectionChoice("axes")
    projection = projection_for(path, choice)
    x_range, y_range = home_range(path, choice)
    payload = payload_for(path, choice, target=LESSON_MAP, density=False)
    conditioning = payload_header(payload)["decoder"].get("conditioning", 0)
    encoded = encoded_for(path)
    init_state(model.latent_dim)  # the map's session keys, as the Latent page starts them
    for d, value in enumerate(st.session_state[keys["z"]]):  # the map shows this step's point
        st.session_state[z_key(d)] = value
    st.session_state.setdefault(DECODE_LABEL, 0)
    st.session_state[PICKED], st.session_state[PIN_UV] = None, st.session_state.get(keys["uv"])

    def context() -> MapContext:
        lift = held_lift(projection, current_z(model.latent_dim))
        return MapContext(projection, encoded.mu, encoded.sd, x_range, y_range, lift, conditioning, None)

    if step.digit is not None:  # the digit the task is about, beside the map that hides it among the others
        _image(model.images[digit, 0], f"test digit {digit} ({a_digit(int(model.labels[digit]))})")
    st.caption("Tab to the map: the arrow keys move the point, Enter pins it; or type the point below.")

    def on_pin() -> None:
        """The view's pin callback (before this step's rerun): the pin becomes the step's point."""
        st.session_state[keys["refused"]] = refused = apply_pin(latent_map.pin_of(LESSON_MAP), context())
        if not refused:
            pin_point(keys, [float(v) for v in current_z(model.latent_dim)], st.session_state[PIN_UV])

    latent_map.map_ui(payload, key=LESSON_MAP, on_drawn=first_map.mark_drawn)
    if refused := st.session_state.pop(keys["refused"], None):
        st.warning(refused)
    view = view_data(context(), payload, colouring="label", density=False, prior=False)
    view["overlays"].extend(_answer_overlays(step, keys, context()))
    latent_map.view_ui(view, key=LESSON_MAP, on_pin=on_pin)
    if model.latent_dim <= 8:
        _typed_point_ui(model, keys)
    _decode_pair_ui(model, keys)


def _answer_overlays(step: Step, keys: dict, ctx: MapContext) -> list[dict]:
    """After a check: the student's point and, where the task reveals it (or it passed), the model's."""
    result = st.session_state.get(keys["result"])
    if result is None or not isinstance(result.prediction.get("z"), list):
        return []
    mine = project(ctx, np.asarray([result.prediction["z"]]))[0]
    drawn = [overlay("your answer", "#000000", points=[(*mine, "you")], marker="dot")]
    truth = result.truth.get("z")
    if isinstance(truth, list) and (result.passed or CHECKS[step.check["kind"]].reveals):
        where = project(ctx, np.asarray([truth]))[0]
        drawn.append(overlay("the model's answer", "#CC3311", points=[(*where, "model")], marker="dot"))
    return drawn


def pin_point(keys: dict, z: list[float], uv=None) -> None:
    """Make `z` this step's pinned point (the map's pin or the typed one)."""
    st.session_state[keys["z"]] = z
    st.session_state[keys["uv"]] = uv
    st.session_state[keys["pinned"]] = True
    for d, value in enumerate(z):
        st.session_state[f"{keys['typed']}{d}"] = round(value, 3)


def _typed_point_ui(model, keys) -> None:
    z = st.session_state[keys["z"]]
    for d, value in enumerate(z):
        st.session_state.setdefault(f"{keys['typed']}{d}", round(value, 3))

    def typed() -> None:
        point = [float(st.session_state[f"{keys['typed']}{d}"]) for d in range(len(z))]
        pin_point(keys, point)

    cols = st.columns(min(len(z), 4))
    for d in range(len(z)):
        box = cols[d % len(cols)]
        box.number_input(f"z{d + 1}", key=f"{keys['typed']}{d}", step=0.1, format="%.3f", on_change=typed)


def _manifold_ui(step, model, keys, digit) -> None:
    centre = np.asarray(model.mu, float).mean(axis=0)
    extent = 2.0 * model.scale
    mosaic = model.explorer.decode_grid(n=10, extent=extent, center=centre.astype(np.float32))
    lo = ", ".join(f"{c - extent:.1f}" for c in centre[:2])
    hi = ", ".join(f"{c + extent:.1f}" for c in centre[:2])
    image_ui(
        mosaic,
        size=420,
        width=420,
        caption=f"the decoded 10 x 10 grid from ({lo}) to ({hi}) in z1, z2 around the codes' centre",
        alt=grid_alt(10, 10, f"the decoder's means from ({lo}) to ({hi}) in z1, z2 around the codes' centre"),
    )


def _chart_ui(step, model, keys, digit) -> None:
    from cvae.viz.elbo_figures import elbo_figure
    from ui.lessons.live import student_runs

    runs = student_runs()
    run = runs[0] if runs else None
    history = run.history if run is not None else active_model().history
    name = run.name if run else "the active model"
    st.caption(f"Training curve of {name} (your newest saved run when there is one).")
    st.plotly_chart(elbo_figure(history.to_dict(), height=300), width="stretch", key=keys["chart"])


def _compare_ui(step, model, keys, digit) -> None:
    from cvae.lessons.checks_observe import final_kl
    from ui.lessons.live import student_runs

    rows = [
        {
            "run": r.name,
            "arch": r.config.arch,
            "BatchNorm": r.config.batch_norm,
            "beta": r.config.beta,
            "epochs": r.config.epochs,
            "final KL (nats)": round(final_kl(r.history), 3),
        }
        for r in student_runs()[:10]
        if len(r.history)
    ]
    if rows:
        st.dataframe(rows, hide_index=True)
    else:
        st.caption("No saved runs yet: train on the Train page, then come back.")
