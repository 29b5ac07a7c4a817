"""Images for display: crisp nearest-neighbour upscaling to PNG bytes, or a PNG as a data URL."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from cvae.data.datasets import to_uint8

__all__ = ["png_data_url", "to_data_url", "to_png"]


def to_png(image: np.ndarray, size: int | None = None) -> bytes:
    """A (H, W) image in [0, 1] as PNG, scaled to `size` pixels wide with sharp pixels."""
    picture = Image.fromarray(to_uint8(image), mode="L")
    if size:
        height = round(size * image.shape[0] / image.shape[1])
        picture = picture.resize((size, height), Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def to_data_url(image: np.ndarray) -> str:
    """A (H, W) image in [0, 1] as a PNG data URL: a page shows it with no request of its own (a 28 x 28
    digit is about 1 KB of text)."""
    return png_data_url(to_png(image))


def png_data_url(png: bytes) -> str:
    """PNG bytes as a data URL."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
