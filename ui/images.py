"""Every image the app draws goes through here: a PNG with a text alternative (`alt`), so a screen
reader hears what the picture shows (cvae/viz/alt_text.py writes the texts)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from cvae.viz.images import to_png

__all__ = ["image_ui", "images_ui", "picture_ui"]


def image_ui(image: np.ndarray, *, alt: str, caption: str | None = None, size: int | None = None, width=None) -> None:
    """One grey image (H, W) in [0, 1], upscaled to `size` px (None: its own pixels), with its alt text."""
    if not alt.strip():
        raise ValueError("an image needs a text alternative")
    png = to_png(image, size) if size else to_png(image)
    st.image(png, caption=caption, alt=alt, output_format="PNG", **({"width": width} if width else {}))


def images_ui(images, *, alts: Sequence[str], captions: Sequence[str], width: int) -> None:
    """A row of grey images (N, H, W), or their PNG data URLs (`cvae.viz.images.to_data_url`: sent inside the
    element, no media file to store and serve), each with its alt text and caption."""
    if len(alts) != len(images) or any(not a.strip() for a in alts):
        raise ValueError(f"{len(images)} images need {len(images)} text alternatives")
    pictures = [image if isinstance(image, str) else to_png(image) for image in images]
    st.image(pictures, caption=list(captions), alt=list(alts), width=width, output_format="PNG")


def picture_ui(picture: str | bytes, *, alt: str) -> None:
    """A picture drawn elsewhere (PNG bytes, or a PNG data URL: `cvae.viz.images.png_data_url`), with its alt text."""
    if not alt.strip():
        raise ValueError("an image needs a text alternative")
    st.image(picture, alt=alt, output_format="PNG")
