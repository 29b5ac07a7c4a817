"""The live ELBO chart as a picture (cvae/viz/elbo_image.py): what the Train page shows while a fit runs."""

import io

import numpy as np
import pytest
from PIL import Image

from cvae.viz.elbo_figures import LINES
from cvae.viz.elbo_image import elbo_alt, elbo_png, nice_ticks

TOP = 56  # the plot area starts below the legend (elbo_image's layout)


def _history(n=300, seed=0):
    """-ELBO falling from ~500 to ~200 with noise, KL rising from 2 to 8: nats per image per step."""
    rng = np.random.default_rng(seed)
    neg_elbo = 200 + 300 * np.exp(-np.arange(n) / 40) + rng.normal(0, 3, n)
    kl = 2 + 6 * (1 - np.exp(-np.arange(n) / 60))
    return {
        "step": list(range(1, n + 1)),
        "neg_elbo": list(neg_elbo),
        "reconstruction": list(neg_elbo - kl),
        "kl": list(kl),
    }


def _pixels(history, **kw) -> np.ndarray:
    picture = Image.open(io.BytesIO(elbo_png(history, max_points=kw.pop("max_points", 400), **kw)))
    assert picture.format == "PNG"
    return np.asarray(picture.convert("RGB")).astype(int)


def _mask(pixels, colour: str) -> np.ndarray:
    """Where the plot area holds exactly `colour` (the lines are drawn without anti-aliasing)."""
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    mask = (pixels == rgb).all(axis=2)
    mask[:TOP] = False  # the legend's samples
    return mask


def _rows_at(mask, columns) -> list[float]:
    return [float(np.flatnonzero(mask[:, c]).mean()) for c in columns]


def test_each_line_is_drawn_in_its_colour_and_the_curves_go_where_the_numbers_go():
    pixels = _pixels(_history())
    colours = {name: colour for _key, name, colour, *_ in LINES}
    elbo, reconstruction, kl = (
        _mask(pixels, colours[n])
        for n in ("-ELBO (smoothed)", "reconstruction (smoothed)", "KL (smoothed, right axis)")
    )
    for mask in (elbo, reconstruction, kl):
        assert mask.sum() > 300, "each line spans the plot"
    columns = [c for c in range(pixels.shape[1]) if elbo[:, c].any() and kl[:, c].any()]
    early, late = columns[5], columns[-5]
    first, last = _rows_at(elbo, [early, late])
    assert last > first + 100, "the falling -ELBO is drawn falling (rows grow downwards)"
    kl_first, kl_last = _rows_at(kl, [early, late])
    assert kl_last < kl_first - 100, "the rising KL, on its own axis, is drawn rising"
    both = [c for c in columns if reconstruction[:, c].any()]
    assert np.median(np.array(_rows_at(reconstruction, both)) - np.array(_rows_at(elbo, both))) > 0, (
        "reconstruction = -ELBO - KL lies below the -ELBO"
    )
    raw = _mask(pixels, colours["-ELBO (raw)"])
    assert raw.sum() > 100, "the raw -ELBO shows its noise around the smoothed line"


def test_a_history_of_one_step_or_none_still_draws():
    one = {key: values[:1] for key, values in _history().items()}
    assert _pixels(one).shape[0] > 100
    empty = {key: [] for key in _history()}
    assert _pixels(empty).shape[0] > 100
    assert "no step yet" in elbo_alt(empty)


def test_at_most_max_points_per_line():
    """Thinned to max_points the curve is the same shape: the smoothed line's rows move by a few pixels at
    most (the raw line's extremes, thinned, set a slightly different axis)."""
    history = _history(3000)
    full, thin = _pixels(history, max_points=3000), _pixels(history, max_points=200)
    colour = next(colour for _key, name, colour, *_ in LINES if name == "-ELBO (smoothed)")
    a, b = _mask(full, colour), _mask(thin, colour)
    columns = [c for c in range(full.shape[1]) if a[:, c].any() and b[:, c].any()]
    assert len(columns) > 300
    moved = np.abs(np.array(_rows_at(a, columns)) - np.array(_rows_at(b, columns)))
    assert np.median(moved) <= 3 and np.percentile(moved, 95) <= 8


def test_the_text_alternative_says_how_far_and_where_the_curves_are():
    history = _history()
    alt = elbo_alt(history)
    assert "300 steps so far" in alt and "at step 300" in alt
    assert "-ELBO 199." in alt and "KL 7.9" in alt  # smoothed: ~200 nats, KL ~7.9


@pytest.mark.parametrize(
    "lo,hi,count,expected",
    [(183.2, 512.7, 5, [200, 300, 400, 500]), (0, 1, 5, [0, 0.2, 0.4, 0.6, 0.8, 1.0]), (-0.3, 8.4, 5, [0, 2, 4, 6, 8])],
)
def test_ticks_are_round_numbers_inside_the_range(lo, hi, count, expected):
    assert nice_ticks(lo, hi, count) == pytest.approx(expected)
    assert nice_ticks(5.0, 5.0) == [5.0] and nice_ticks(float("nan"), 1.0) == []
