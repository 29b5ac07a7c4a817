"""A tab's first latent map is drawn alone; the rest of the page comes once the browser shows it.

On 2 cores, rendering the map's controls, the sidebar's model picker and the tools below the map in
the same run as a fresh browser's first map delayed its first frame (~0.4 s each; ~1 s in all). So
until this tab's browser has shown a map (`pending()`), the Latent page draws the map alone: no
controls (their values still live in session state, ui.latent.controls), no model picker
(navigation.py), no tools. Meanwhile the map's view asks the browser to report its first frame
(ui.latent.view); the report (`mark_drawn`, the map's `on_drawn` callback) reruns the map's
fragment, which then reruns the whole page (`rerun_page_once_drawn`), now with all of it.
"""

from __future__ import annotations

import streamlit as st

from ui import session_keys as keys

__all__ = ["mark_drawn", "pending", "rerun_page_once_drawn"]


def pending() -> bool:
    """Whether this tab's browser has yet to show its first latent map."""
    return not st.session_state.get(keys.MAP_DRAWN, False)


def mark_drawn() -> None:
    """The map's "drawn" callback: the browser shows the map, so the rest of the page can come."""
    st.session_state[keys.MAP_DRAWN] = True


def rerun_page_once_drawn(was_pending: bool) -> None:
    """In the map's fragment: when the page's run drew the map alone (`was_pending`) and the browser has
    since reported it drawn, rerun the whole page to bring the controls, the picker and the tools."""
    if was_pending and not pending():
        st.rerun()
