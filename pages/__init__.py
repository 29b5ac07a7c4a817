"""Page scripts live in pages/views/; the files directly in pages/ are legacy-mode entry shims.

Streamlit 1.67 switches to its legacy multipage mode whenever a pages/ folder sits beside
app.py, until the first script run calls st.navigation. On a fresh server, the first visit
to /<page> therefore runs pages/<page>.py instead of app.py. Each shim runs app.py, whose
st.navigation switches the server to the modern mode for good and shows the real page.
"""
import runpy
from pathlib import Path


def run_app() -> None:
    runpy.run_path(str(Path(__file__).resolve().parent.parent / "app.py"), run_name="__main__")
