"""Page-wide CSS that Streamlit's theme cannot express: with `prefers-reduced-motion: reduce`, no
transitions or animations (Streamlit's sidebar slide, spinners, expanders and the fade of elements
a live rerun replaces; the latent map's own rules are in ui/latent_map/src/latent_map.css)."""

from __future__ import annotations

import streamlit as st

__all__ = ["PAGE_CSS", "page_style_ui"]

# 0.01 ms rather than none: scripts that wait for a transitionend or animationend event still get it
PAGE_CSS = """<style>
@media (prefers-reduced-motion: reduce) {
  *, *::before, *::after {
    animation-duration: 0.01ms !important; animation-iteration-count: 1 !important;
    transition-duration: 0.01ms !important; transition-delay: 0s !important; scroll-behavior: auto !important;
  }
}
</style>"""


def page_style_ui() -> None:
    """Once per run, before the page: a style-only st.html takes no space on the page."""
    st.html(PAGE_CSS)
