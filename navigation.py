"""The script every session runs (`app.py` serves it): page config, the class gate, the pages."""

import streamlit as st

from cvae.settings import ROOT
from ui import state
from ui.class_gate import class_gate_or_stop
from ui.components import model_picker_ui

# the icon is our file: for a ":material/...:" page icon the browser fetches an SVG from fonts.gstatic.com
st.set_page_config(page_title="CVAE Explorer", page_icon=str(ROOT / "assets" / "favicon.png"), layout="wide")
class_gate_or_stop()  # before any page: beyond 127.0.0.1, only sessions with the class code

# Page scripts live in app_pages/: a folder named pages/ would switch Streamlit to its legacy mode.
PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
    LATENT := st.Page("app_pages/latent.py", title="Latent space", icon=":material/scatter_plot:"),
    st.Page("app_pages/manifold.py", title="Manifold", icon=":material/grid_on:"),
    st.Page("app_pages/your_digit.py", title="Your digit", icon=":material/draw:"),
    st.Page("app_pages/compare.py", title="Compare runs", icon=":material/compare:"),
    st.Page("app_pages/classroom.py", title="Classroom", icon=":material/school:"),
]

page = st.navigation(PAGES)
state.job_registry()  # the training workers: started with the server, else now
state.adopt_finished_job()
# a session's first map comes before the picker (ui.latent_view), unless that page can show no map;
# ui.latent_view is not imported here: in a process spawned from one whose __main__ this is (a test's
# Dask workers rerun it bare), that import left the next fit in PyTensor's Python thunks (>15 min, not
# 45 s; why is not known)
if not (page is LATENT and state.first_map_pending() and state.active_model_problem() is None):
    model_picker_ui()
page.run()
