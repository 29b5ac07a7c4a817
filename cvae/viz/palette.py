"""The ten digit classes' colours and marker shapes: one palette for the Plotly figures, the static
figures and the browser's latent map (which gets it in its payload).

Okabe & Ito's (2008) eight colours, chosen to stay apart for the common colour-vision deficiencies,
plus navy and brown for classes 8 and 9; every class also has its own marker
shape (and the map can draw the digit itself as the marker), so no class is told apart by colour
alone. Every figure draws points on a white plot area in both themes; `bench/palette_check.py`
reports the smallest simulated distance between two classes (docs/accessibility.md).
"""

from __future__ import annotations

__all__ = [
    "CLASS_COLOURS",
    "CLASS_SYMBOLS",
    "PLOT_BACKGROUND",
    "class_colour",
    "class_marker",
    "class_symbol",
    "palette_payload",
]

# index = class label; Okabe-Ito order: orange, sky blue, bluish green, yellow, blue, vermillion,
# reddish purple, black; then navy and brown, the two colours of the 6-level web cube furthest
# (CIEDE2000) from all eight and from each other under every simulated deficiency
CLASS_COLOURS = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#000000",
    "#000099",
    "#663300",
)
# Plotly marker symbols, one per class (the second channel: shape); the map draws the same shapes
CLASS_SYMBOLS = (
    "circle",
    "square",
    "diamond",
    "triangle-up",
    "triangle-down",
    "cross",
    "x",
    "star",
    "pentagon",
    "hexagon",
)
# the plot area behind the points, in the light and the dark theme alike (figures and the map set it)
PLOT_BACKGROUND = "#FFFFFF"


def class_colour(label: int) -> str:
    return CLASS_COLOURS[int(label) % len(CLASS_COLOURS)]


def class_symbol(label: int) -> str:
    return CLASS_SYMBOLS[int(label) % len(CLASS_SYMBOLS)]


def class_marker(label: int, *, size: float, opacity: float) -> dict:
    """A Plotly marker for class `label`: its colour, its shape and a thin dark rim (the light colours,
    yellow at 1.3:1 on white, keep a visible edge)."""
    return {
        "size": size,
        "color": class_colour(label),
        "symbol": class_symbol(label),
        "opacity": opacity,
        "line": {"width": 0.5, "color": "#333333"},
    }


def palette_payload() -> dict:
    """What the browser's map reads: {"colours": [hex] * 10, "symbols": [name] * 10}."""
    return {"colours": list(CLASS_COLOURS), "symbols": list(CLASS_SYMBOLS)}
