import numpy as np
import pytest

from cvae.config import TrainConfig
from cvae.explore.explorer import RECENT_MAX_CODES, Explorer
from cvae.model.vae import VAE


@pytest.fixture(scope="module")
def explorer():
    return Explorer(VAE(TrainConfig(seed=2)))


def test_encode_decode_shapes_and_ranges(explorer, mnist5k):
    x = mnist5k[1].images[:7]
    mu, sd = explorer.encode(x)
    assert mu.shape == sd.shape == (7, 2) and np.all(sd > 0)
    images = explorer.decode(mu)
    assert images.shape == (7, 28, 28) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    np.testing.assert_array_equal(explorer.reconstruct(x), images)


def test_sample_posterior_matches_q(explorer, mnist5k):
    x = mnist5k[1].images[:2]
    draws = explorer.sample_posterior(x, 4000, seed=1)
    mu, sd = explorer.encode(x)
    assert draws.shape == (2, 4000, 2)
    np.testing.assert_allclose(draws.mean(axis=1), mu, atol=4 * sd.max() / np.sqrt(4000) + 1e-6)
    np.testing.assert_allclose(draws.std(axis=1), sd, rtol=0.1)


def test_decode_grid_is_the_seed_mosaic(explorer):
    mosaic = explorer.decode_grid(10, 2.0)
    assert mosaic.shape == (280, 280)
    points = explorer.grid_points(10, 2.0)
    # top-left tile is z = (-2, +2), bottom-right is (+2, -2): the map's orientation
    np.testing.assert_allclose(points[0], [-2, 2])
    np.testing.assert_allclose(points[-1], [2, -2])
    np.testing.assert_allclose(mosaic[:28, :28], explorer.decode(points[:1])[0], atol=1e-6)
    np.testing.assert_allclose(mosaic[-28:, -28:], explorer.decode(points[-1:])[0], atol=1e-6)
    np.testing.assert_allclose(mosaic[:28, 28:56], explorer.decode(points[1:2])[0], atol=1e-6)


def test_interpolate_endpoints(explorer):
    path, images = explorer.interpolate(np.array([-1.0, 0.0]), np.array([1.0, 2.0]), steps=5)
    np.testing.assert_allclose(path[[0, 2, 4]], [[-1, 0], [0, 1], [1, 2]])
    assert images.shape == (5, 28, 28)
    with pytest.raises(ValueError):
        explorer.interpolate(np.zeros(2), np.ones(2), steps=1)


def test_sample_pixels_is_binary_for_bernoulli(explorer):
    sample = explorer.sample_pixels(np.zeros((3, 2), dtype="float32"), seed=0)
    assert set(np.unique(sample)) <= {0.0, 1.0}


def test_bad_latents_and_images_are_refused(explorer):
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        explorer.decode(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="finite"):
        explorer.decode(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        explorer.encode(np.zeros((2, 28, 28)))


def test_summary_table_matches_seed_counts():
    summary = Explorer(VAE(TrainConfig(arch="pymc3-example"))).summary()
    assert sum(r["params"] for r in summary["encoder"]) == 1_680_457
    assert sum(r["params"] for r in summary["decoder"]) == 128_199
    assert summary["decoder"][-1]["output_shape"] == (None, 28, 28, 1)


def test_higher_latent_dims_work():
    explorer = Explorer(VAE(TrainConfig(latent_dim=5)))
    assert explorer.grid_points(3).shape == (9, 5)
    assert explorer.decode_grid(3, 1.0).shape == (84, 84)


def test_compiled_functions_are_built_once(explorer):
    explorer.vae.decode(np.zeros((1, 2)))
    fn = explorer.vae.__dict__["_decode_fn"]
    explorer.vae.decode(np.ones((2, 2)))
    assert explorer.vae.__dict__["_decode_fn"] is fn


def test_the_explorer_decodes_without_compiling():
    """Its NumPy decoder is made once; the VAE's compiled decoder is never built (a fresh server's first page)."""
    explorer = Explorer(VAE(TrainConfig(seed=2)))
    explorer.decode(np.zeros((1, 2)))
    decoder = explorer._numpy_decoder
    explorer.sample_pixels(np.ones((2, 2)))
    explorer.decode_grid(3)
    assert explorer._numpy_decoder is decoder
    assert not {"_decode_fn", "_logits_fn"} & set(explorer.vae.__dict__)


def test_nearest_codes_in_order():
    codes = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 3.0], [0.5, 0.1]])
    assert list(Explorer.nearest(codes, np.array([0.9, 0.0]), k=2)) == [1, 3]
    assert list(Explorer.nearest(codes, np.array([0.0, 0.0]), k=10)) == [0, 3, 1, 2]


def test_a_pinned_point_is_decoded_once_for_its_draw_and_its_mean():
    """A pin asks for one draw from p(x|z) and for E[x|z] at the same z: the decoder runs once, and
    both answers equal a fresh Explorer's (a conditional model keys on the label too)."""
    explorer = Explorer(VAE(TrainConfig(seed=2)))
    decoder = explorer._numpy_decoder
    calls = []
    run = decoder.logits
    decoder.logits = lambda *args: calls.append(1) or run(*args)
    z = np.array([[0.3, -1.2]], np.float32)
    draw, mean = explorer.sample_pixels(z, seed=5), explorer.decode(z)
    assert len(calls) == 1
    fresh = Explorer(VAE(TrainConfig(seed=2)))
    np.testing.assert_array_equal(draw, fresh.sample_pixels(z, seed=5))
    np.testing.assert_array_equal(mean, fresh.decode(z))
    explorer.decode(z + 0.5)
    assert len(calls) == 2  # another point is decoded
    explorer.decode(np.zeros((RECENT_MAX_CODES + 1, 2)))
    explorer.decode(np.zeros((RECENT_MAX_CODES + 1, 2)))
    assert len(calls) == 4  # many codes at once (a map, a grid) are not kept

    conditional = Explorer(VAE(TrainConfig(seed=2, conditional=True)))
    three, four = conditional.decode(z, 3), conditional.decode(z, 4)
    assert not np.array_equal(three, four)  # the label is part of the key
    np.testing.assert_array_equal(three, conditional.decode(z, 3))
