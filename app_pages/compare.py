import numpy as np
import pandas as pd
import streamlit as st

import cvae
from cvae.explore.comparison import compare_row, differing_fields, epoch_axis
from cvae.viz import static
from cvae.viz.elbo_figures import runs_elbo_figure
from cvae.viz.latent_figures import latent_map, map_range
from cvae.viz.map_overlays import axes_map, prior_contours
from ui import session_keys as keys
from ui.components import downloads_ui
from ui.model_cache import encoded_for, explorer_for, model_for
from ui.model_choice import saved_runs
from ui.sweep_ui import sweep_ui

st.title("Compare runs")
sweep_ui()
runs = saved_runs()
if not runs:
    st.info("No saved runs yet: train one on the Train page, then compare it here.")
    st.stop()


names = st.multiselect(
    "Runs to compare",
    list(runs),
    default=list(runs)[:2],
    max_selections=12,
    key=keys.COMPARE_RUNS,
    help="Pick up to twelve saved runs, e.g. one trained with beta = 0 and one with beta = 1.",
)
if not names:
    st.info("Pick one or more runs above.")
    st.stop()

loaded, steps_per_epoch = {}, {}
for name in names:
    try:
        loaded[name] = model_for(runs[name]), encoded_for(runs[name])
        steps_per_epoch[name] = loaded[name][0].steps_per_epoch
    except (cvae.CheckpointError, cvae.DatasetError) as err:
        loaded.pop(name, None)
        st.warning(f"`{name}` cannot be shown: {err}")
if not loaded:
    st.stop()

curves = {
    name: {**ck.history.to_dict(), "epoch": epoch_axis(ck.history.step, steps_per_epoch[name]).tolist()}
    for name, (ck, _) in loaded.items()
}
st.plotly_chart(
    runs_elbo_figure({name: (c["epoch"], c["neg_elbo"]) for name, c in curves.items()}),
    width="stretch",
    key="compare_elbo",
    alt="line chart: each compared run's -ELBO in nats per image by epoch",
)
st.caption(
    "-ELBO = reconstruction + beta x KL, in nats per image, smoothed; lower is better, but only "
    "between runs with the same beta and likelihood: with beta = 0 the KL is not counted at all."
)

rows = [compare_row(name, ck.config, ck.history, steps_per_epoch[name]) for name, (ck, _) in loaded.items()]
differ = differing_fields(rows)
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
st.caption(
    (
        "Settings that differ: **" + "**, **".join(differ) + "**. "
        if differ
        else "These runs share every setting listed. "
    )
    + "Final -ELBO and KL are means over each run's last training epoch."
)

same_range = st.toggle(
    "Same axes on every map",
    value=False,
    key="compare_same_axes",
    help="Off: each map zooms to its own codes. On: compare the spread directly.",
)
mapped = {name: enc for name, (ck, enc) in loaded.items()}
priors = {  # each run's own prior on its z1 vs z2: N(0, I) or a learned mixture
    name: prior_contours(explorer_for(runs[name]).prior_components(), *axes_map(ck.config.latent_dim))
    for name, (ck, _) in loaded.items()
}
last = list(mapped)[-1]
shared = map_range(np.concatenate([enc.mu[:, :2] for enc in mapped.values()])) if same_range else None
items = list(loaded.items())
for row in range(0, len(items), 4):  # four maps a row: a sweep of twelve stays readable
    for column, (name, (ck, enc)) in zip(st.columns(4), items[row : row + 4]):
        with column:
            st.markdown(f"**{name}** · beta {ck.config.beta:g} · latent {ck.config.latent_dim}")
            x_range, y_range = shared or map_range(enc.mu)
            figure = latent_map(
                enc.mu,
                enc.labels,
                enc.class_names,
                x_range=x_range,
                y_range=y_range,
                grid_n=2,
                height=420,
                prior=priors[name],
            )
            figure.update_layout(showlegend=name == last)
            figure.update_yaxes(scaleanchor="x", scaleratio=1)  # equal scales: the prior circle stays round
            st.plotly_chart(
                figure,
                width="stretch",
                key=f"compare_map_{name}",
                config={"displaylogo": False},
                alt=f"latent map of run {name}: the test digits at their q(z|x) means, one colour and shape per class",
            )
st.caption(
    "Each dot is a test digit at its q(z|x) mean; the dashed lines are each run's prior: circles holding "
    "39%, 86% and 99% of N(0, I), or a learned mixture's components at 1 and 2 sd. "
    "A plain autoencoder (beta = 0) has no pressure toward N(0, I): its codes spread far out, with "
    "holes between the digits that decode to nonsense. With beta = 1 the KL term packs the codes "
    "near the prior, so almost any point you pick near the centre decodes to a plausible digit."
)

comparison = {name: (enc.mu, enc.labels, enc.class_names) for name, enc in mapped.items()}
downloads_ui(
    "compare-runs",
    lambda fmt: static.comparison_image(curves, comparison, fmt=fmt, priors=priors, same_range=same_range),
    key="compare",
)

with st.expander("Teaching tips"):
    st.markdown(
        "- Train the same settings twice, once with **beta = 0** and once with **beta = 1**, and compare: "
        "ask students to predict which map will be spread out before they look.\n"
        "- Turn on **Same axes on every map** to see the scale difference; the dashed prior circles "
        "show where a sample z ~ N(0, I) would land.\n"
        "- Compare -ELBO only between runs with the same beta and likelihood; a lower curve with beta = 0 "
        "is not a better generative model, it just pays nothing for KL.\n"
        "- Then open **Latent space** on each run and click the empty space between clusters: "
        "the beta = 0 model decodes holes to blurry non-digits."
    )
