"""Active units, KL per dimension and traversal grids; the evaluate command's JSON additions."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvae.explore.evaluation import kl_per_image
from cvae.explore.latent_stats import latent_stats, stats_from_codes, traversal_codes, traversal_grid
from cvae.explore.projections import ProjectionError

FUZZ = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def two_signal_dims():
    """1,000 'images': dims 1 and 4 carry signal (means spread out, tight posteriors), the other six sit
    at the prior (means ~0, sd ~1): what a model with two active units encodes."""
    rng = np.random.default_rng(0)
    mu = rng.normal(0.0, 0.001, size=(1000, 8))
    sd = np.full((1000, 8), 1.0) - np.abs(rng.normal(0, 0.001, size=(1000, 8)))
    mu[:, [1, 4]] = rng.normal(0.0, [1.0, 0.5], size=(1000, 2))
    sd[:, [1, 4]] = 0.1
    return mu, sd


def test_active_units_of_a_hand_made_case(two_signal_dims):
    stats = stats_from_codes(*two_signal_dims)
    assert stats.active_units == 2
    assert stats.active.tolist() == [False, True, False, False, True, False, False, False]
    assert np.all(stats.kl_per_dim[[0, 2, 3, 5, 6, 7]] < 1e-4)
    assert np.all(stats.kl_per_dim[[1, 4]] > 1.0)
    assert stats.by_kl()[:2].tolist() == [1, 4]


def test_threshold_is_burdas_and_strict():
    mu = np.array([[-0.1, 0.0], [0.1, 0.0]])  # variance (ddof=1) 0.02 in z1, 0 in z2
    assert stats_from_codes(mu, np.ones_like(mu)).active_units == 1
    assert stats_from_codes(mu, np.ones_like(mu), threshold=0.0201).active_units == 0


def test_kl_per_dim_adds_up_to_the_kl_per_image(two_signal_dims):
    mu, sd = two_signal_dims
    stats = stats_from_codes(mu, sd)
    assert np.isclose(stats.kl_per_dim.sum(), kl_per_image(mu, sd).mean())
    report = stats.as_json()
    assert report["active_units"] == 2 and len(report["kl_per_dim"]) == 8
    json.dumps(report)  # plain numbers


def test_latent_stats_encodes_in_batches_and_matches_the_codes(trained, mnist5k):
    images = mnist5k[1].images[:250]
    stats = latent_stats(trained.vae, images, batch_size=100)
    mu, sd = trained.vae.encode(images)
    assert np.allclose(stats.kl_per_dim, stats_from_codes(mu, sd).kl_per_dim, rtol=1e-5)


def _fake_decode(z):
    """Each 'image' is 2 x latent pixels holding the code itself: the ordering is then visible."""
    return np.repeat(np.asarray(z)[:, None, :], 2, axis=1)


def test_traversal_grid_shape_and_ordering():
    kl = np.array([0.5, 3.0, 0.0, 1.5])
    centre = np.array([0.1, -0.2, 0.3, 0.4])
    traversal = traversal_grid(_fake_decode, centre, kl, steps=7, span=3.0, scale=np.array([1, 2, 1, 0.5]))
    assert traversal.dims.tolist() == [1, 3, 0, 2]  # most KL first
    assert traversal.images.shape == (4, 7, 2, 4) and traversal.codes.shape == (4, 7, 4)
    assert np.allclose(traversal.offsets, np.linspace(-3, 3, 7))
    for row, d in enumerate(traversal.dims):
        varied = traversal.codes[row, :, d]
        scale = [1, 2, 1, 0.5][d]
        assert np.allclose(varied, centre[d] + scale * np.linspace(-3, 3, 7))
        others = np.delete(traversal.codes[row], d, axis=1)
        assert np.allclose(others, np.delete(centre, d))  # only the row's own dimension moves
    assert traversal.mosaic().shape == (4 * 2, 7 * 4)
    assert np.allclose(traversal.mosaic()[:2, :4], traversal.images[0, 0])
    assert traversal_grid(_fake_decode, centre, kl, steps=5, rows=2).dims.tolist() == [1, 3]


def test_traversal_of_a_real_model_decodes_images(trained):
    from cvae.explore.explorer import Explorer

    explorer = Explorer(trained.vae)
    traversal = traversal_grid(explorer.decode, np.zeros(2), [1.0, 2.0], steps=5)
    assert traversal.images.shape == (2, 5, 28, 28) and traversal.dims.tolist() == [1, 0]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: traversal_codes(np.zeros(3), [3]), "0..2"),
        (lambda: traversal_codes(np.zeros(3), []), "non-empty"),
        (lambda: traversal_codes(np.zeros(3), [0.5]), "non-empty list of dimension indices"),
        (lambda: traversal_codes(np.zeros(3), [0], steps=1), "steps"),
        (lambda: traversal_codes(np.zeros(3), [0], span=0), "span"),
        (lambda: traversal_codes(np.zeros(3), [0], scale=np.array([1.0, 0.0, 1.0])), "scale"),
        (lambda: traversal_codes(np.zeros(3), [0], scale=np.ones(4)), "scale"),
        (lambda: traversal_codes(np.full(3, np.nan), [0]), "finite"),
        (lambda: traversal_grid(_fake_decode, np.zeros(3), [1.0, 2.0]), "3 dimensions"),
        (lambda: traversal_grid(_fake_decode, np.zeros(2), [1.0, 2.0], rows=0), "rows"),
        (lambda: stats_from_codes(np.zeros((1, 3)), np.ones((1, 3))), "at least 2"),
        (lambda: stats_from_codes(np.zeros((4, 3)), np.ones((4, 2))), "same shape"),
        (lambda: stats_from_codes(np.zeros((4, 3)), np.zeros((4, 3))), "positive"),
    ],
)
def test_bad_input_gets_a_clear_error(call, message):
    with pytest.raises(ProjectionError, match=message):
        call()


@FUZZ
@given(
    n=st.integers(0, 6),
    latent=st.integers(0, 4),
    values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=48, max_size=48),
)
def test_fuzz_stats_give_finite_numbers_or_a_clear_error(n, latent, values):
    mu = np.asarray(values[: n * latent]).reshape(n, latent)
    sd = np.abs(np.asarray(values[24 : 24 + n * latent])).reshape(n, latent)
    try:
        stats = stats_from_codes(mu, sd)
    except ProjectionError as err:
        assert str(err)
        return
    assert np.all(np.isfinite(stats.activity)) and stats.kl_per_dim.shape == (latent,)


def test_evaluate_json_has_active_units_and_kl_per_dim(trained, tmp_path, capsys):
    from cvae.cli import main
    from cvae.store.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "run", trained.vae, trained.history, status="finished", steps=trained.steps)
    assert main(["evaluate", str(tmp_path / "run")]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0 <= result["active_units"] <= 2 and len(result["kl_per_dim"]) == 2
    assert np.isclose(sum(result["kl_per_dim"]), result["kl"], atol=1e-3)
