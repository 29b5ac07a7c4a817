"""CVAE Explorer: `streamlit run app.py`.

The server: it warms up (imports, training workers, the default model's map) before it takes its
first visitor, then every session runs `navigation.py`.
"""

import streamlit as st

from ui.warm_start import lifespan

app = st.App("navigation.py", lifespan=lifespan)
