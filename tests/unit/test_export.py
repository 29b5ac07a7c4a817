"""Static figure export: PNG/SVG bytes that parse, sane sizes, no pyplot state; comparison rows."""

import io
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cvae.viz import static as export
from cvae.viz.latent_figures import PALETTE
from cvae.viz.map_overlays import axes_map, prior_contours
from tests.factories import columns

NAMES = tuple(str(i) for i in range(10))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STANDARD = prior_contours({"weights": [1.0], "means": [[0.0, 0.0]], "sds": [[1.0, 1.0]]}, *axes_map(2))
MIXTURE = prior_contours(
    {"weights": [0.5, 0.3, 0.2], "means": [[0, 0], [2, 1], [-1, 3]], "sds": [[1, 1], [0.5, 2], [1, 0.3]]}, *axes_map(2)
)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    return struct.unpack(">II", data[16:24])  # IHDR width, height


def _svg(data: bytes) -> ET.Element:
    root = ET.fromstring(data)
    assert root.tag.endswith("svg")
    return root


@pytest.fixture
def cloud():
    rng = np.random.default_rng(0)
    return rng.standard_normal((300, 2)).astype(np.float32), rng.integers(0, 10, 300)


def test_latent_map_png_and_svg(cloud):
    mu, labels = cloud
    png = export.latent_map_image(mu, labels, NAMES, fmt="png", prior=STANDARD, box=2.0)
    width, height = _png_size(png)
    assert 400 <= width <= 1200 and 400 <= height <= 1200
    assert 10_000 < len(png) < 2_000_000
    root = _svg(export.latent_map_image(mu, labels, NAMES, fmt="svg"))
    assert len(root.findall(".//{http://www.w3.org/2000/svg}g")) > 10


def test_latent_map_uses_the_app_palette_and_legend(cloud):
    mu, labels = cloud
    svg = export.latent_map_image(mu, labels, NAMES, fmt="svg", prior=STANDARD).decode()
    for colour in PALETTE:  # matplotlib writes colours in lower case
        assert colour.lower() in svg
    assert 'id="legend' in svg
    assert svg.count("<!-- z1 -->") == 1 and svg.count("<!-- z2 -->") == 1  # axis labels


def test_latent_map_prior_contours_add_circles(cloud):
    mu, labels = cloud
    plain = export.latent_map_image(mu, labels, NAMES, fmt="svg").decode()
    with_prior = export.latent_map_image(mu, labels, NAMES, fmt="svg", prior=STANDARD).decode()
    assert "prior N(0, I): 1, 2, 3 sd" in with_prior and "prior N(0, I)" not in plain
    assert with_prior.count('id="line2d_') >= plain.count('id="line2d_') + 3


def test_a_learned_mixture_prior_is_drawn_as_its_components_not_as_n01(cloud):
    mu, labels = cloud
    plain = export.latent_map_image(mu, labels, NAMES, fmt="svg").decode()
    with_prior = export.latent_map_image(mu, labels, NAMES, fmt="svg", prior=MIXTURE).decode()
    assert "learned prior: 3 components, 1 and 2 sd" in with_prior and "N(0, I)" not in with_prior
    assert with_prior.count('id="line2d_') >= plain.count('id="line2d_') + 6  # two ellipses per component


def test_latent_map_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="mu"):
        export.latent_map_image(np.zeros((5, 1)), np.zeros(5, int), NAMES)
    with pytest.raises(ValueError, match="fmt"):
        export.latent_map_image(np.zeros((5, 2)), np.zeros(5, int), NAMES, fmt="jpg")


def test_mosaic_is_grey_and_never_smoothed():
    checker = np.indices((4, 6)).sum(axis=0) % 2  # (4, 6) of 0 and 1
    png = export.mosaic_image(checker.astype(float), fmt="png", scale=10)
    assert _png_size(png) == (60, 40)
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert set(np.unique(image)) == {0, 255}  # no blended edges
    assert (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all()
    assert np.array_equal(image[::10, ::10, 0] // 255, checker)


def test_mosaic_default_scale_and_svg():
    width, height = _png_size(export.mosaic_image(np.random.default_rng(1).random((280, 280)), fmt="png"))
    assert width == height == 560
    root = _svg(export.mosaic_image(np.zeros((28, 56)), fmt="svg"))
    assert root.findall(".//{http://www.w3.org/2000/svg}image")
    with pytest.raises(ValueError, match="2-D"):
        export.mosaic_image(np.zeros((2, 28, 28)))


def test_elbo_image_several_runs():
    histories = {"beta0": columns(), "beta1": {**columns(start=320.0), "epoch": [0.0] * 80}}
    png = export.elbo_image(histories, "png")
    width, height = _png_size(png)
    assert 500 <= width <= 1200 and 250 <= height <= 800
    svg = export.elbo_image(histories, "svg").decode()
    _svg(svg.encode())
    assert "beta0" in svg and "beta1" in svg and "step (one minibatch)" in svg  # not every run has epochs
    epochs = {k: {**h, "epoch": (np.asarray(h["step"]) / 40).tolist()} for k, h in histories.items()}
    assert "<!-- epoch -->" in export.elbo_image(epochs, "svg").decode()


def test_elbo_image_without_history():
    _png_size(export.elbo_image({}, "png"))
    empty = {k: [] for k in columns()}
    assert "no training history" in export.elbo_image({"new": empty}, "svg").decode()


def test_comparison_image(cloud):
    mu, labels = cloud
    maps = {"a": (mu, labels, NAMES), "b": (mu * 10, labels, NAMES), "one-d": (mu[:, :1], labels, NAMES)}
    png = export.comparison_image({"a": columns(), "b": columns()}, maps, fmt="png", same_range=True)
    width, height = _png_size(png)
    assert width >= 800 and height >= 600
    svg = export.comparison_image({"a": columns()}, maps, fmt="svg", priors={"a": STANDARD, "b": MIXTURE}).decode()
    _svg(svg.encode())
    assert "one-d" not in svg  # a 1-D latent has no map
    plain = export.comparison_image({"a": columns()}, maps, fmt="svg").decode()
    assert svg.count("<path") >= plain.count("<path") + 3 + 6  # each run's own prior: N(0, I), mixture
    assert "learned prior: 3 components" in svg  # in the legend, drawn beside the last map


def test_no_pyplot_state_is_touched(cloud):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    export.latent_map_image(*cloud, NAMES)
    export.elbo_image({"a": columns()}, "png")
    assert plt.get_fignums() == before
    source = Path(export.__file__).read_text()
    assert "import matplotlib.pyplot" not in source and "from matplotlib import pyplot" not in source
