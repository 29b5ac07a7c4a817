"""The latent map as a picture (cvae/viz/scatter_image.py): what the live Train page shows."""

import io

import numpy as np
from PIL import Image

from cvae.viz import scatter_image
from cvae.viz.colour_vision import hex_to_rgb
from cvae.viz.palette import CLASS_COLOURS, PLOT_BACKGROUND

NAMES = tuple(f"digit {i}" for i in range(10))
RANGE = (-4.0, 4.0)


def _draw(z, labels, size=300) -> np.ndarray:
    png = scatter_image.scatter_png(
        np.asarray(z, float), np.asarray(labels), NAMES, x_range=RANGE, y_range=RANGE, size=size
    )
    picture = Image.open(io.BytesIO(png))
    assert picture.format == "PNG"
    return np.asarray(picture.convert("RGB")).astype(int)


def _plot_area(pixels: np.ndarray, size=300) -> np.ndarray:
    """The plot area's pixels, found as the one square frame drawn in the axes' ink."""
    ink = (pixels == 0x44).all(axis=2)
    rows, cols = np.flatnonzero(ink.sum(axis=1) >= size), np.flatnonzero(ink.sum(axis=0) >= size)
    top, left = rows[0], cols[0]
    return pixels[top : top + size + 1, left : left + size + 1]


def _near(pixel, colour: str, tol=40) -> bool:
    return np.abs(pixel - hex_to_rgb(colour) * 255).max() <= tol


def test_each_point_is_drawn_where_its_code_is_in_its_classs_colour():
    codes = [(-3.0, 3.0), (0.0, 0.0), (2.0, -1.0)]
    area = _plot_area(_draw(codes, [3, 4, 8]))
    for (x, y), label in zip(codes, [3, 4, 8]):
        col, row = round((x + 4) / 8 * 300), round((4 - y) / 8 * 300)  # y grows upwards
        assert _near(area[row, col], CLASS_COLOURS[label]), (label, area[row, col])
    assert _near(area[150, 60], PLOT_BACKGROUND, tol=0), "the plot area elsewhere stays empty"


def test_codes_outside_the_range_are_left_out_not_clamped_to_the_edge():
    area = _plot_area(_draw([(9.0, 0.0), (0.0, -7.5)], [7, 7]))
    inner = area[2:-2, 2:-2]
    assert (inner == np.array(hex_to_rgb(PLOT_BACKGROUND) * 255, int)).all()


def test_every_class_has_its_own_shape_not_only_its_colour():
    masks = [np.asarray(scatter_image._stamp(label))[..., 3] > 128 for label in range(10)]
    for a in range(10):
        for b in range(a + 1, 10):
            assert (masks[a] != masks[b]).sum() >= 4, f"classes {a} and {b} have the same marker shape"


def _legend_shows(pixels: np.ndarray, label: int) -> bool:
    """Whether the legend (right of the plot area, which ends at x = 34 + 300) has class `label`'s colour."""
    legend = pixels[:, 34 + 300 + 4 :]
    return bool((np.abs(legend - hex_to_rgb(CLASS_COLOURS[label]) * 255).max(axis=2) <= 20).any())


def test_the_legend_lists_only_the_classes_present():
    one = _draw([(0.0, 0.0)], [2])
    three = _draw([(0.0, 0.0), (1.0, 1.0), (2.0, 2.0)], [2, 5, 9])
    assert [_legend_shows(one, label) for label in (2, 5, 9)] == [True, False, False]
    assert [_legend_shows(three, label) for label in (2, 5, 9)] == [True, True, True]
