"""CVAE Explorer: `streamlit run app.py`."""
import streamlit as st

from ui import state
from ui.components import model_picker_ui

st.set_page_config(page_title="CVAE Explorer", page_icon=":material/scatter_plot:", layout="wide")

# Page scripts live in pages/views/ (pages/__init__.py explains the shims beside them).
PAGES = [
    st.Page("pages/views/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/views/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/views/latent.py", title="Latent space", icon=":material/scatter_plot:"),
    st.Page("pages/views/manifold.py", title="Manifold", icon=":material/grid_on:"),
    st.Page("pages/views/your_digit.py", title="Your digit", icon=":material/draw:"),
    st.Page("pages/views/compare.py", title="Compare runs", icon=":material/compare:"),
    st.Page("pages/views/classroom.py", title="Classroom", icon=":material/school:"),
]

page = st.navigation(PAGES)
state.compile_warmup()
state.adopt_finished_job()
model_picker_ui()
page.run()
