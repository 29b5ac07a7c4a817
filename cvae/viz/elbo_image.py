"""The live ELBO chart as a picture: a PNG the Train page shows while a training runs, drawn with Pillow.

Streamlit gives a Plotly figure that changed a new element, so each 2 s redraw of the live chart
mounted a new plot in every watching browser (~0.08 of a core in a headless Chromium, taken from the
fit's cores when the browser runs on the server). Drawn here in a few ms, once per redraw for every
watcher, it is an image the browser only decodes. The same lines, colours and band as
`cvae.viz.elbo_figures.elbo_figure`, which the page shows again when the training ends.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw

from cvae.viz.elbo_figures import LINES, noise_band, smooth
from cvae.viz.scatter_image import INK, label_font

__all__ = ["elbo_alt", "elbo_png", "nice_ticks"]

_BAND = (222, 220, 236)  # the band's rgba(51,34,136,0.15) over white, opaque: drawn first, under the lines
_GRID = "#E5E5E5"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About `count` round tick values within [lo, hi], 1, 2 or 5 times a power of ten apart."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = min((m * power for m in (1, 2, 5, 10)), key=lambda candidate: abs(math.log(candidate / raw)))
    first = math.ceil(lo / step - 1e-9)
    return [round(k * step, 12) for k in range(first, math.floor(hi / step + 1e-9) + 1)]


def _label(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or value == 0 else f"{value:.3g}"


def elbo_png(history: dict, *, max_points: int, width: int = 560, height: int = 320) -> bytes:
    """`history` (step, neg_elbo, reconstruction, kl: lists) as the live chart: -ELBO raw and
    smoothed, its Monte Carlo band, reconstruction on the left axis, KL on the right; at most
    `max_points` points per line; PNG bytes."""
    font = label_font()
    picture = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(picture)
    left, right, top, bottom = 50, width - 40, 56, height - 34
    steps = np.asarray(history["step"], dtype=float)
    if len(steps) == 0:
        draw.text((width / 2, height / 2), "waiting for the first step", fill=INK, font=font, anchor="mm")
        return _png(picture)
    keep = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), max_points)).astype(int))
    raw = np.asarray(history["neg_elbo"], dtype=float)
    centre, spread = noise_band(raw)
    curves = [  # (name, colour, width, on the right axis, values at the kept steps)
        (name, colour, width, axis == "y2", (smooth(values) if smoothed else values)[keep])
        for key, name, colour, width, smoothed, axis in LINES
        for values in [np.asarray(history[key], dtype=float)]
    ]
    y_lo, y_hi = _padded_range(
        np.concatenate([(centre + spread)[keep], (centre - spread)[keep], *(c[4] for c in curves if not c[3])])
    )
    k_lo, k_hi = _padded_range(np.concatenate([[0.0], *(c[4] for c in curves if c[3])]))
    x_lo, x_hi = float(steps[0]), float(max(steps[-1], steps[0] + 1))

    def px(x):
        return left + (np.asarray(x, dtype=float) - x_lo) / (x_hi - x_lo) * (right - left)

    def py(y, lo=y_lo, hi=y_hi):
        return bottom - (np.asarray(y, dtype=float) - lo) / (hi - lo) * (bottom - top)

    for tick in nice_ticks(y_lo, y_hi):
        draw.line((left, py(tick), right, py(tick)), fill=_GRID)
        draw.text((left - 5, py(tick)), _label(tick), fill=INK, font=font, anchor="rm")
    for tick in nice_ticks(k_lo, k_hi):
        draw.text((right + 5, py(tick, k_lo, k_hi)), _label(tick), fill=INK, font=font, anchor="lm")
    for tick in nice_ticks(x_lo, x_hi, 6):
        draw.line((px(tick), bottom, px(tick), bottom + 4), fill=INK)
        draw.text((px(tick), bottom + 6), _label(tick), fill=INK, font=font, anchor="mt")
    draw.text(((left + right) / 2, height - 2), "step (one minibatch)", fill=INK, font=font, anchor="md")
    draw.text((4, top - 6), "nats per image", fill=INK, font=font, anchor="ld")
    draw.text((right + 5, top - 6), "KL", fill=INK, font=font, anchor="ld")

    xs = px(steps[keep])
    band = list(zip(xs, py((centre + spread)[keep]))) + list(zip(xs[::-1], py((centre - spread)[keep])[::-1]))
    if len(band) >= 3:
        draw.polygon(band, fill=_BAND)
    for _name, colour, line_width, on_right, values in curves:
        ys = py(values, k_lo, k_hi) if on_right else py(values)
        points = list(zip(xs, ys))
        draw.line(points if len(points) > 1 else points * 2, fill=colour, width=line_width, joint="curve")
    draw.rectangle((left, top, right, bottom), outline=INK)
    x, y = left, 10
    for name, colour, line_width, _on_right, _values in curves:  # the legend above the plot, wrapped
        if x > left and x + 22 + font.getlength(name) > width - 4:
            x, y = left, y + 16
        draw.line((x, y, x + 18, y), fill=colour, width=max(line_width, 2))
        draw.text((x + 22, y), name, fill=INK, font=font, anchor="lm")
        x += 30 + font.getlength(name)
    return _png(picture)


def elbo_alt(history: dict) -> str:
    """The live chart's text alternative: what it shows and where the curves are now."""
    steps = len(history["step"])
    if not steps:
        return "line chart of -ELBO, reconstruction and KL by training step: no step yet"
    now = {
        key: float(smooth(np.asarray(history[key], dtype=float))[-1]) for key in ("neg_elbo", "reconstruction", "kl")
    }
    return (
        f"line chart of -ELBO, reconstruction and KL in nats per image by training step, {steps} steps so far; "
        f"at step {history['step'][-1]} (smoothed): -ELBO {now['neg_elbo']:.1f}, reconstruction "
        f"{now['reconstruction']:.1f}, KL {now['kl']:.2f}"
    )


def _padded_range(values: np.ndarray) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if not len(values):
        return 0.0, 1.0
    lo, hi = float(values.min()), float(values.max())
    pad = 0.05 * (hi - lo) or max(abs(hi), 1.0) * 0.05
    return lo - pad, hi + pad


def _png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=False, compress_level=1)  # fast: drawn every 2 s
    return buffer.getvalue()
