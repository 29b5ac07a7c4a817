"""The latent map as a picture: a PNG a page shows while a training runs, drawn with Pillow.

A live map changes with every snapshot (every 3 s); sent as a Plotly figure, each one cost the
watching browser ~0.1 of a core (a new WebGL scene, legend and axes each time) on the cores the fit
needs, and hover means little on points that move every 3 s. Drawn here in ~10 ms, it is an image
the browser only decodes. The same colours and shapes as every other map (`cvae.viz.palette`).
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cvae.viz.palette import CLASS_COLOURS, CLASS_SYMBOLS, PLOT_BACKGROUND

__all__ = ["INK", "label_font", "scatter_png"]

_MARK = 9  # marker size in pixels
_SUPER = 4  # markers are drawn this many times larger, then shrunk: smooth edges
_RIM = "#333333"  # the same thin dark rim as the Plotly markers (yellow on white needs an edge)
INK = "#444444"  # axes, ticks and text


def scatter_png(
    z: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    size: int = 300,
) -> bytes:
    """Points z (N, >=2; columns 0 and 1 drawn) with class `labels` (N,) on a `size` x `size` plot
    area with integer ticks, and a legend of the classes present on the right; PNG bytes."""
    font = label_font()
    margin_left, margin_bottom, legend_w = 34, 30, 12 + _MARK + max(font.getlength(n) for n in class_names)
    picture = Image.new("RGB", (int(margin_left + size + 8 + legend_w), size + margin_bottom + 8), PLOT_BACKGROUND)
    draw = ImageDraw.Draw(picture)
    left, top = margin_left, 4

    def to_px(x, y):  # data -> pixel centres; y grows upwards
        px = left + (np.asarray(x) - x_range[0]) / (x_range[1] - x_range[0]) * size
        py = top + (y_range[1] - np.asarray(y)) / (y_range[1] - y_range[0]) * size
        return px, py

    draw.rectangle((left, top, left + size, top + size), outline=INK)
    for tick in range(math.ceil(x_range[0]), math.floor(x_range[1]) + 1):
        px, _ = to_px(tick, 0)
        draw.line((px, top + size, px, top + size + 4), fill=INK)
        draw.text((px, top + size + 5), str(tick), fill=INK, font=font, anchor="mt")
    for tick in range(math.ceil(y_range[0]), math.floor(y_range[1]) + 1):
        _, py = to_px(0, tick)
        draw.line((left - 4, py, left, py), fill=INK)
        draw.text((left - 6, py), str(tick), fill=INK, font=font, anchor="rm")
    draw.text((left + size / 2, top + size + 18), "z1", fill=INK, font=font, anchor="mt")
    draw.text((2, top + size / 2), "z2", fill=INK, font=font, anchor="lm")

    z, labels = np.asarray(z), np.asarray(labels)
    inside = (x_range[0] <= z[:, 0]) & (z[:, 0] <= x_range[1]) & (y_range[0] <= z[:, 1]) & (z[:, 1] <= y_range[1])
    px, py = to_px(z[:, 0], z[:, 1])
    half = _MARK // 2
    for i in np.flatnonzero(inside):  # in data order: no class is always drawn on top
        stamp = _stamp(int(labels[i]) % len(CLASS_COLOURS))
        picture.paste(stamp, (round(px[i]) - half, round(py[i]) - half), stamp)
    present = [int(c) for c in np.unique(labels)]
    for row, label in enumerate(present):
        y = top + 6 + row * 16
        stamp = _stamp(label % len(CLASS_COLOURS))
        picture.paste(stamp, (left + size + 10, y), stamp)
        name = class_names[label] if label < len(class_names) else str(label)
        draw.text((left + size + 14 + _MARK, y + half), name, fill=INK, font=font, anchor="lm")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=False, compress_level=1)  # fast: it is drawn every 3 s
    return buffer.getvalue()


@functools.cache
def label_font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=11)


@functools.cache
def _stamp(label: int) -> Image.Image:
    """Class `label`'s marker, _MARK pixels square, RGBA: its colour, its shape, a dark rim."""
    big = _MARK * _SUPER
    stamp = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    ImageDraw.Draw(stamp).polygon(
        _outline(CLASS_SYMBOLS[label], big), fill=CLASS_COLOURS[label], outline=_RIM, width=_SUPER
    )
    return stamp.resize((_MARK, _MARK), Image.LANCZOS)


def _outline(symbol: str, big: int) -> list[tuple[float, float]]:
    """The polygon of one of `CLASS_SYMBOLS` in a `big`-pixel square (Plotly's shapes, closely)."""
    c, r = big / 2, big / 2 - 1

    def ring(n, radius, turn=0.0):
        return [
            (c + radius * math.sin(turn + 2 * math.pi * k / n), c - radius * math.cos(turn + 2 * math.pi * k / n))
            for k in range(n)
        ]

    arm = r / 3  # half the width of a cross's arms
    cross = [
        (-arm, -r),
        (arm, -r),
        (arm, -arm),
        (r, -arm),
        (r, arm),
        (arm, arm),
        (arm, r),
        (-arm, r),
        (-arm, arm),
        (-r, arm),
        (-r, -arm),
        (-arm, -arm),
    ]
    shapes = {
        "circle": lambda: ring(32, r),
        "square": lambda: ring(4, r * 1.3, math.pi / 4),
        "diamond": lambda: ring(4, r),
        "triangle-up": lambda: ring(3, r),
        "triangle-down": lambda: ring(3, r, math.pi),
        "cross": lambda: [(c + x, c + y) for x, y in cross],
        "x": lambda: [(c + (x - y) * 0.7071, c + (x + y) * 0.7071) for x, y in cross],
        "star": lambda: [p for pair in zip(ring(5, r), ring(5, r * 0.45, math.pi / 5)) for p in pair],
        "pentagon": lambda: ring(5, r),
        "hexagon": lambda: ring(6, r),
    }
    return shapes[symbol]()
