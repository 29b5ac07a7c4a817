import pandas as pd
import streamlit as st

import cvae
from cvae.explore.latent_stats import ACTIVE_THRESHOLD, stats_from_codes
from cvae.viz.latent_stats_figures import kl_per_dim_figure
from ui.model_choice import active_encoded, active_model, active_path

st.title("CVAE Explorer")
st.markdown(
    "A **variational autoencoder** learns to squeeze each image into a few numbers, its latent "
    "code z, and to rebuild the image from them. The encoder does not give one code but a small "
    "Gaussian cloud of plausible codes, q(z|x), and a penalty (the KL term) keeps all these clouds "
    "close to a standard normal prior, so the latent space has no holes. Training maximises the "
    "ELBO: how well images are rebuilt minus that penalty, here fitted with PyMC's variational "
    "inference."
)
st.page_link("app_pages/train.py", label="Train a model and watch the ELBO live", icon=":material/model_training:")
st.page_link(
    "app_pages/latent.py", label="Explore the latent space: click anywhere to decode", icon=":material/scatter_plot:"
)
st.page_link("app_pages/manifold.py", label="See the decoded manifold", icon=":material/grid_on:")

try:
    checkpoint = active_model()
except cvae.CheckpointError as err:
    st.error(f"The active model cannot be loaded: {err}")
    st.stop()
config = checkpoint.config
st.subheader("Active model")
meta = checkpoint.meta
st.markdown(
    f"`{active_path().name}`: **{config.arch}** network, latent dimension **{config.latent_dim}**, "
    f"**{config.likelihood}** likelihood, beta {config.beta:g}, trained on **{config.dataset}** for "
    f"{meta.get('steps', len(checkpoint.history))} steps ({meta.get('status', 'finished')})."
)
final = checkpoint.history.final("neg_elbo", checkpoint.steps_per_epoch)
if final is not None:
    st.metric("training -ELBO (last epoch)", f"{final:.1f} nats/image")
    if warning := checkpoint.history.collapse_warning():
        st.warning(warning)
st.subheader("Latent dimensions in use")
try:
    encoded = active_encoded()
except (cvae.CheckpointError, cvae.DatasetError) as err:
    st.caption(f"The test digits cannot be encoded, so the dimensions are not measured: {err}")
else:
    stats = stats_from_codes(encoded.mu, encoded.sd)
    st.metric("active units", f"{stats.active_units} of {stats.latent_dim}")
    st.plotly_chart(
        kl_per_dim_figure(stats),
        width="stretch",
        key="home_kl_per_dim",
        alt="bar chart: the KL in nats that each latent dimension spends, active dimensions apart from collapsed ones",
    )
    st.caption(
        f"KL per dimension: how many nats each latent dimension's q(z|x) spends, on average over "
        f"{len(encoded.mu):,} test digits; the bars add up to the KL term of the ELBO. A dimension is "
        f"**active** (Burda et al. 2015) when its posterior mean varies across digits, "
        f"Var(E_q[z_d]) > {ACTIVE_THRESHOLD:g}; an inactive one has collapsed onto the prior and the "
        "decoder ignores it."
    )
st.subheader("Layers")
summary = cvae.Explorer(checkpoint.vae).summary()
for column, (name, rows) in zip(st.columns(2), summary.items()):
    table = pd.DataFrame(
        [{"Layer (type)": r["layer"], "Output shape": str(r["output_shape"]), "Params": r["params"]} for r in rows]
    )
    column.markdown(f"**{name}** ({table['Params'].sum():,} parameters)")
    column.dataframe(table, hide_index=True, width="stretch")
