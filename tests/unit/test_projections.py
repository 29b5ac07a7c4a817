"""Projections of the latent space and their lifts: round trips, exactness, clear errors, fuzzing."""

import base64

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvae.explore.projections import (
    AffineLift,
    GridLift,
    NeighbourPlacement,
    ProjectionError,
    axes_projection,
    make_projection,
    pca_projection,
    plane_grid,
)
from cvae.model.vae import grid_points

FUZZ = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def codes():
    """500 codes in 8-D with a clear first and second principal direction."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(500, 8)) * np.array([3.0, 2.0, 1.0, 0.5, 0.3, 0.2, 0.1, 0.05]) + 0.7


def test_pca_round_trip_reproduces_the_code_in_the_plane(codes):
    projection = pca_projection(codes)
    axes = projection.lift.axes
    assert np.allclose(axes @ axes.T, np.eye(2), atol=1e-10)  # orthonormal components
    back = projection.to_latent(projection.to_map(codes))
    mean = codes.mean(axis=0)
    in_plane = mean + ((codes - mean) @ axes.T) @ axes
    assert np.allclose(back, in_plane, atol=1e-4)
    assert np.allclose(projection.to_map(codes), projection.coords, atol=1e-5)
    uv = np.array([[0.0, 0.0], [1.5, -2.0]])
    assert np.allclose(projection.to_latent(uv), mean + uv @ axes, atol=1e-5)  # mean + u pc1 + v pc2, exactly
    assert np.allclose(projection.to_map(projection.to_latent(uv)), uv, atol=1e-5)


def test_pca_finds_the_largest_directions_and_reports_explained_variance(codes):
    projection = pca_projection(codes)
    assert np.allclose(np.abs(projection.lift.axes[:, :2]), np.eye(2), atol=0.1)
    assert projection.note.startswith("Explained variance")
    assert "%" in projection.note and projection.axis_titles == ("PC1", "PC2")
    assert np.array_equal(pca_projection(codes).lift.axes, projection.lift.axes)  # same codes, same signs


def test_pca_held_at_a_digit_decodes_that_digit_at_its_own_position(codes):
    projection = pca_projection(codes).held_at(codes[7])
    assert np.allclose(projection.to_latent(projection.coords[7]), codes[7], atol=1e-5)
    assert np.allclose(projection.to_map(codes), pca_projection(codes).coords, atol=1e-5)  # the same (u, v)
    assert np.allclose(pca_projection(codes, hold=codes[7]).lift.base, projection.lift.base)


def test_pca_of_a_latent_2_model_works_and_says_it_is_a_rotation(codes):
    projection = pca_projection(codes[:, :2])
    assert "rotates" in projection.note
    assert np.allclose(projection.to_latent(projection.coords), codes[:, :2], atol=1e-5)


def test_axes_projection_is_the_two_coordinates_with_the_rest_held(codes):
    projection = axes_projection(codes, 2, 5, hold=codes[3])
    assert np.allclose(projection.coords, codes[:, [2, 5]])
    z = projection.to_latent([[1.0, -2.0]])[0]
    expected = codes[3].copy()
    expected[[2, 5]] = [1.0, -2.0]
    assert np.allclose(z, expected, atol=1e-6)
    assert projection.axis_titles == ("z3", "z6") and projection.label == "z3 vs z6"
    assert "held" in projection.note


def test_plane_grid_extends_grid_points_to_any_projection(codes):
    centre = codes[0]
    assert np.allclose(plane_grid(axes_projection(codes, 0, 1, hold=centre), 6, 1.5), grid_points(8, 6, 1.5, centre))
    pca = pca_projection(codes)
    grid = plane_grid(pca, 3, 1.0)
    assert np.allclose(pca.to_map(grid)[[0, 2, 8]], [[-1, 1], [1, 1], [1, -1]], atol=1e-5)  # top row first


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: axes_projection(c, 1, 1), "two different dimensions"),
        (lambda c: axes_projection(c, 0, 8), "out of range"),
        (lambda c: axes_projection(c, -1, 2), "out of range"),
        (lambda c: axes_projection(c, 0.5, 2), "integer"),
        (lambda c: axes_projection(c, True, 2), "integer"),
        (lambda c: pca_projection(c[:2]), "at least 3"),
        (lambda c: pca_projection(np.ones((10, 4))), "fewer than two directions"),
        (lambda c: pca_projection(np.c_[c[:, :1], c[:, :1]]), "fewer than two directions"),
        (lambda c: pca_projection(np.where(c > 3, np.nan, c)), "finite"),
        (lambda c: pca_projection(c[:, :1]), "at least 2 latent"),
        (lambda c: pca_projection(c[0]), "shape (N, latent)"),
        (lambda c: pca_projection(np.zeros((10, 5000))), "latent <= 1024"),
        (lambda c: pca_projection("codes"), "numeric"),
        (lambda c: make_projection("tsne", c), "unknown projection"),
        (lambda c: pca_projection(c).to_latent([[1.0, 2.0, 3.0]]), "(M, 2)"),
        (lambda c: pca_projection(c).to_map(c[:, :3]), "(M, 8)"),
        (lambda c: pca_projection(c).to_latent([[np.inf, 0.0]]), "finite"),
        (lambda c: plane_grid(pca_projection(c), 0), "grid size"),
        (lambda c: plane_grid(pca_projection(c), 5, -1.0), "extent"),
        (lambda c: make_projection("umap", c[:10]), "at least 50"),
    ],
)
def test_bad_input_gets_a_clear_error(codes, call, message):
    with pytest.raises(ProjectionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(codes)


def test_affine_lift_json_is_what_the_browser_needs(codes):
    lift = pca_projection(codes).lift
    spec = lift.as_json()
    assert spec["kind"] == "affine" and spec["latent_dim"] == 8
    u, v = 0.3, -1.2
    z = np.asarray(spec["base"]) + u * np.asarray(spec["axes"][0]) + v * np.asarray(spec["axes"][1])
    assert np.allclose(z, lift.to_latent([[u, v]])[0], atol=1e-5)


def test_grid_lift_interpolates_bilinearly_and_clamps_outside():
    nodes_u, nodes_v = np.meshgrid(np.linspace(-1, 3, 5), np.linspace(0, 2, 5))  # (rows = v, cols = u)
    codes = np.stack([nodes_u, nodes_v, 2 * nodes_u - nodes_v], axis=-1)  # an affine function of (u, v)
    lift = GridLift((-1.0, 3.0), (0.0, 2.0), codes.astype(np.float32))
    uv = np.array([[0.37, 1.21], [-1.0, 0.0], [3.0, 2.0], [2.99, 0.01]])
    assert np.allclose(lift.to_latent(uv), np.c_[uv, 2 * uv[:, 0] - uv[:, 1]], atol=1e-5)  # bilinear is exact here
    assert np.allclose(lift.to_latent([[-10.0, 50.0]]), [[-1.0, 2.0, -4.0]], atol=1e-6)  # nearest corner
    assert np.allclose(lift.to_latent(lift.nodes()), codes.reshape(-1, 3), atol=1e-6)
    listed, packed = lift.as_json(), lift.as_json(codes="base64")
    assert listed["kind"] == "grid" and listed["size"] == 5 and np.allclose(listed["codes"], codes.reshape(-1, 3))
    assert np.allclose(np.frombuffer(base64.b64decode(packed["codes"]), "<f4").reshape(-1, 3), codes.reshape(-1, 3))


def test_neighbour_placement_puts_an_encoded_code_at_its_position(codes):
    coords = np.random.default_rng(1).normal(size=(len(codes), 2))
    placement = NeighbourPlacement(codes, coords)
    assert np.allclose(placement.to_map(codes[:20]), coords[:20], atol=1e-3)


def test_affine_lift_with_skewed_axes_still_inverts():
    lift = AffineLift(np.array([1.0, 2.0, 3.0]), np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]))
    uv = np.array([[0.5, -0.25], [2.0, 3.0]])
    assert np.allclose(lift.to_map(lift.to_latent(uv)), uv, atol=1e-5)


_floats = st.floats(allow_nan=True, allow_infinity=True, width=32)


@FUZZ
@given(latent=st.integers(-2, 70), i=st.integers(-3, 72), j=st.integers(-3, 72))
def test_fuzz_axes_choices_give_a_projection_or_a_clear_error(latent, i, j):
    codes = np.random.default_rng(0).normal(size=(5, max(latent, 0)))
    try:
        projection = axes_projection(codes, i, j)
    except ProjectionError as err:
        assert str(err)
        return
    assert 0 <= i < latent and 0 <= j < latent and i != j
    assert projection.coords.shape == (5, 2)


@FUZZ
@given(
    rows=st.integers(0, 12),
    latent=st.integers(0, 6),
    values=st.lists(_floats, min_size=72, max_size=72),
    uv=st.tuples(_floats, _floats),
)
def test_fuzz_pca_gives_a_finite_map_or_a_clear_error(rows, latent, values, uv):
    codes = np.asarray(values[: rows * latent], dtype=np.float64).reshape(rows, latent)
    try:
        projection = pca_projection(codes)
        z = projection.to_latent([uv])
    except ProjectionError as err:
        assert str(err)
        return
    assert np.all(np.isfinite(projection.coords)) and np.all(np.isfinite(z))


@FUZZ
@given(uv=st.lists(st.tuples(_floats, _floats), min_size=1, max_size=5), n=st.integers(-1, 120), extent=_floats)
def test_fuzz_grid_lift_and_plane_grid(uv, n, extent):
    lift = GridLift((-2.0, 2.0), (-1.0, 1.0), np.random.default_rng(0).normal(size=(4, 4, 3)).astype(np.float32))
    try:
        z = lift.to_latent(uv)
    except ProjectionError as err:
        assert not np.all(np.abs(uv) <= 1e6) and str(err)  # only non-finite or absurd points are refused
    else:
        assert z.shape == (len(uv), 3) and np.all(np.isfinite(z))
    codes = np.random.default_rng(0).normal(size=(20, 3))
    try:
        grid = plane_grid(pca_projection(codes), n, extent)
    except ProjectionError as err:
        assert str(err)
    else:
        assert grid.shape == (n * n, 3)
