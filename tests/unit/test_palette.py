"""The class palette (cvae/viz/palette.py) and the colour-vision check (cvae/viz/colour_vision.py)."""

import numpy as np
import pytest

from bench.palette_check import TOL_MUTED, report
from cvae.viz import colour_vision as cv
from cvae.viz.latent_figures import latent_map
from cvae.viz.map_payload import build_payload, read_payload
from cvae.viz.palette import CLASS_COLOURS, CLASS_SYMBOLS, class_marker, palette_payload

# Sharma, Wu & Dalal (2005), Table 1: pairs 1, 7, 17, 25, 34 (L*a*b* pairs and their CIEDE2000)
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((2.0776, 0.0795, -1.135), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.mark.parametrize("lab1, lab2, expected", SHARMA)
def test_ciede2000_matches_sharmas_table(lab1, lab2, expected):
    assert cv.ciede2000_lab(lab1, lab2) == pytest.approx(expected, abs=1e-4)


def test_machado_matrices_keep_white_and_grey():
    # each row of a severity-1.0 matrix sums to 1: achromatic colours look the same to everyone
    for kind, matrix in cv.MACHADO_2009.items():
        assert matrix.sum(axis=1) == pytest.approx(np.ones(3), abs=1e-5), kind
        grey = np.array([0.5, 0.5, 0.5])
        assert cv.simulate(grey, kind) == pytest.approx(grey, abs=1e-3)


def test_simulation_merges_red_and_green_for_a_deuteranope():
    red, green = cv.hex_to_rgb("#CC0000"), cv.hex_to_rgb("#669900")
    assert cv.ciede2000(red, green) > 40
    assert cv.ciede2000(cv.simulate(red, "deuteranopia"), cv.simulate(green, "deuteranopia")) < 15


def test_palette_stays_apart_under_every_simulated_deficiency():
    found = report()
    assert set(found) == {"normal", "protanopia", "deuteranopia", "tritanopia"}
    for kind, (distance, _) in found.items():
        assert distance >= 10.0, (kind, distance)  # docs/accessibility.md quotes these numbers
    # and better than the palette it replaced, whose worst pair (protanopia) was nearly one colour
    assert report(TOL_MUTED)["protanopia"][0] < 2.0 < found["protanopia"][0]


def test_contrast_ratio_is_wcags():
    assert cv.contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert cv.contrast_ratio("#767676", "#FFFFFF") == pytest.approx(4.54, abs=0.01)


def test_bad_input_gets_a_clear_error():
    with pytest.raises(ValueError, match="#RRGGBB"):
        cv.hex_to_rgb("red")
    with pytest.raises(ValueError, match="unknown deficiency"):
        cv.simulate(np.zeros(3), "achromatopsia")


def test_ten_distinct_colours_and_shapes_reach_the_figures_and_the_map():
    assert len(set(CLASS_COLOURS)) == len(set(CLASS_SYMBOLS)) == 10
    assert class_marker(3, size=6, opacity=1)["symbol"] == CLASS_SYMBOLS[3]
    z = np.random.default_rng(0).normal(size=(40, 2))
    labels = np.arange(40) % 10
    fig = latent_map(z, labels, tuple(str(i) for i in range(10)), x_range=(-3, 3), y_range=(-3, 3))
    markers = {t.name: (t.marker.color, t.marker.symbol) for t in fig.data if t.name in {str(i) for i in range(10)}}
    assert markers == {str(i): (CLASS_COLOURS[i], CLASS_SYMBOLS[i]) for i in range(10)}


def test_map_payload_carries_the_palette():
    from cvae.config import TrainConfig
    from cvae.model.decoder_export import export_decoder
    from cvae.model.vae import VAE
    from cvae.viz.map_payload import MapData

    rng = np.random.default_rng(0)
    data = MapData(
        coords=rng.normal(size=(20, 2)).astype(np.float32),
        labels=np.arange(20) % 10,
        class_names=tuple(str(i) for i in range(10)),
        x_range=(-3.0, 3.0),
        y_range=(-3.0, 3.0),
        axis_titles=("z1", "z2"),
        frame="f",
        colourings={},
    )
    header, _ = read_payload(build_payload("latent_map", data, export_decoder(VAE(TrainConfig(latent_dim=2)))))
    assert header["palette"] == palette_payload()


def test_the_maps_fallback_palette_is_pythons():
    """colours.js keeps a copy for a payload without a palette: it must be the same one."""
    import json
    import re
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "ui/latent_map/src/colours.js").read_text()
    found = {k: json.loads(re.search(rf"export const {k} = (\[.*?\]);", source)[1]) for k in ("PALETTE", "SYMBOLS")}
    assert found == {"PALETTE": list(CLASS_COLOURS), "SYMBOLS": list(CLASS_SYMBOLS)}
