"""The latent map component (st.components.v2): the map with the browser's decoder, and its view.

Two elements so that a pin re-sends only the small view: `map_ui` carries the payload (scatter,
colourings, decoder weights: the same bytes every rerun, so Streamlit sends them by reference
after the first time) and returns the pin the browser sent in this run; `view_ui` carries the
pinned point and the teaching overlays as JSON. The JavaScript is built from ui/latent_map/src
into dist/ (see build.mjs) and sent inline: no CDN, no file served from a user-given path.
"""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

__all__ = ["map_ui", "pin_of", "view_ui"]

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
    """A trigger needs a callback to be reported at all; a pin's value is read from the result."""


def map_ui(payload: bytes, *, key: str, on_drawn=_keep, on_pin=_keep) -> object | None:
    """Draw the map; returns the raw, unchecked pin of this run (None when this run has none).

    `on_drawn` runs (before the rerun it causes) when the browser reports the map shown, which it
    does once for each view that asks (`report_drawn`); `on_pin` when the browser sends a pin (it
    reads it as `pin_of(key)`, and may rerun fragments other than the map's)."""
    return _MAP(key=key, data=payload, on_pin_change=on_pin, on_drawn_change=on_drawn).pin


def pin_of(key: str) -> object | None:
    """In an `on_pin` callback: the raw, unchecked pin the browser sent to the map with key `key`."""
    return st.session_state[key].get("pin")


def view_ui(view: dict, *, key: str) -> None:
    """Hand the map with Streamlit key `key` its view (see ui.latent.view.view_data)."""
    # as UTF-8 JSON bytes: a dict would be scanned for dataframes value by value first (~2 ms a pin)
    _VIEW(key=f"{key}_view", data=json.dumps({**view, "target": key}, separators=(",", ":")).encode())
