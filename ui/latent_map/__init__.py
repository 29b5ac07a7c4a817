"""The latent map component (st.components.v2): the map with the browser's decoder, and its view.

Two elements so that a pin re-sends only the small view: `map_ui` carries the payload (scatter,
colourings, decoder weights: the same bytes every rerun, so Streamlit sends them by reference
after the first time); `view_ui` carries the pinned point and the teaching overlays as JSON, and
brings back the browser's pins. A pin is the view's trigger, not the map's: it reruns by default
the fragment the view is in, which is the one that shows the pinned point, in one script run (a
callback's keyed rerun starts a second run after the interrupted first: ~35% more server CPU).
The JavaScript is built from ui/latent_map/src into dist/ (see build.mjs) and sent inline: no
CDN, no file served from a user-given path.
"""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

__all__ = ["map_ui", "pin_of", "view_key", "view_ui"]

_HERE = Path(__file__).resolve().parent
# registered once per process, on import: the names must be unique in the app
_MAP = st.components.v2.component(
    "cvae_latent_map",
    js=(_HERE / "dist" / "latent_map.js").read_text(encoding="utf-8"),
    css=(_HERE / "src" / "latent_map.css").read_text(encoding="utf-8"),
    isolate_styles=False,  # in the page's DOM: the theme's fonts apply and tests can find the sliders
)
_VIEW = st.components.v2.component(
    "cvae_latent_map_view", js=(_HERE / "dist" / "latent_map_view.js").read_text(encoding="utf-8"), isolate_styles=False
)


def _keep() -> None:
    """A trigger needs a callback to be reported at all."""


def map_ui(payload: bytes, *, key: str, on_drawn=_keep) -> None:
    """Draw the map. `on_drawn` runs (before the rerun it causes) when the browser reports the map
    shown, which it does once for each view that asks (`report_drawn`)."""
    _MAP(key=key, data=payload, on_drawn_change=on_drawn)


def view_key(key: str) -> str:
    """The Streamlit key of the view of the map with key `key`."""
    return f"{key}_view"


def pin_of(key: str) -> object | None:
    """In an `on_pin` callback: the raw, unchecked pin the browser sent to the map with key `key`."""
    return st.session_state[view_key(key)].get("pin")


def view_ui(view: dict, *, key: str, on_pin=_keep) -> None:
    """Hand the map with Streamlit key `key` its view (see ui.latent.view.view_data). `on_pin` runs
    when the browser sends a pin (it reads it as `pin_of(key)`); the fragment this is drawn in then
    reruns, or the whole page where it is in none."""
    # as UTF-8 JSON bytes: a dict would be scanned for dataframes value by value first (~2 ms a pin)
    data = json.dumps({**view, "target": key}, separators=(",", ":")).encode()
    _VIEW(key=view_key(key), data=data, on_pin_change=on_pin)
