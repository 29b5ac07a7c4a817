"""Overlays in map coordinates: affine images of Gaussians, densities that integrate to one."""

import numpy as np

from cvae.viz.map_overlays import affine_inverse, ellipse, kde_density, mixture_density, overlay, projected_gaussians


def test_the_inverse_of_an_affine_lift():
    rng = np.random.default_rng(0)
    axes, base = np.linalg.qr(rng.normal(size=(5, 2)))[0].T, rng.normal(size=5)
    p, c = affine_inverse(base, axes)
    uv = rng.normal(size=(10, 2))
    np.testing.assert_allclose((base + uv @ axes) @ p.T + c, uv, atol=1e-12)


def test_an_axis_pair_keeps_the_posterior_sds():
    p, c = affine_inverse(np.zeros(4), np.eye(4)[[2, 0]])
    means, covs = projected_gaussians(p, c, np.array([[1.0, 2.0, 3.0, 4.0]]), np.array([[0.1, 0.2, 0.3, 0.4]]))
    np.testing.assert_allclose(means, [[3.0, 1.0]])
    np.testing.assert_allclose(covs[0], np.diag([0.09, 0.01]), atol=1e-12)


def test_ellipse_lies_on_the_k_sd_contour():
    cov = np.array([[2.0, 0.6], [0.6, 0.5]])
    points = ellipse(np.array([1.0, -1.0]), cov, 2.0)
    d = points - [1.0, -1.0]
    np.testing.assert_allclose(np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d), 4.0, rtol=1e-9)


def test_densities_integrate_to_one():
    rng = np.random.default_rng(1)
    xs, ys = np.linspace(-8, 8, 161), np.linspace(-8, 8, 161)
    cell = (xs[1] - xs[0]) * (ys[1] - ys[0])
    means = rng.normal(size=(30, 2))
    full = np.tile(np.array([[0.5, 0.2], [0.2, 0.4]]), (30, 1, 1))
    diagonal = np.tile(np.diag([0.5, 0.3]), (30, 1, 1))
    for covs in (full, diagonal):
        assert abs(mixture_density(means, covs, xs, ys).sum() * cell - 1) < 1e-3
    assert abs(kde_density(means, xs, ys).sum() * cell - 1) < 1e-3


def test_the_separable_path_equals_the_general_one():
    rng = np.random.default_rng(2)
    xs, ys = np.linspace(-3, 3, 20), np.linspace(-2, 2, 15)
    means, covs = rng.normal(size=(7, 2)), np.tile(np.diag([0.4, 0.2]), (7, 1, 1))
    tilted = covs.copy()
    tilted[:, 0, 1] = tilted[:, 1, 0] = 1e-9  # forces the general path
    np.testing.assert_allclose(mixture_density(means, covs, xs, ys), mixture_density(means, tilted, xs, ys), rtol=1e-6)


def test_overlay_is_plain_json():
    o = overlay("interpolation", "#EE7733", lines=[np.zeros((3, 2))], points=[(0.0, 1.0, "A")])
    assert o["lines"] == [[[0.0, 0.0]] * 3] and o["points"] == [[0.0, 1.0, "A"]]


def test_a_projections_prior_is_drawn_on_linear_maps_only():
    """z2 vs z3 of N(0, I): circles of radius 1, 2, 3 about the origin; PCA's map moves them with the
    data mean; a map with no affine image of a Gaussian (UMAP's grid lift) draws none."""
    import dataclasses

    from cvae.explore.projections import axes_projection, pca_projection
    from cvae.explore.projections.lifts import GridLift
    from cvae.viz.latent_stats_figures import projection_figure
    from cvae.viz.map_overlays import projection_prior

    codes = np.random.default_rng(0).normal(1.0, 0.5, size=(200, 3))
    standard = {"weights": [1.0], "means": [[0.0, 0.0, 0.0]], "sds": [[1.0, 1.0, 1.0]]}
    drawn = projection_prior(standard, axes_projection(codes, 1, 2))
    np.testing.assert_allclose([np.hypot(*line.T).max() for line in drawn.lines], [1, 2, 3], atol=1e-9)
    pca = pca_projection(codes)
    centre = np.mean(projection_prior(standard, pca).lines[0], axis=0)
    np.testing.assert_allclose(centre, pca.to_map(np.zeros((1, 3)))[0], atol=0.05)
    assert projection_prior(None, pca) is None  # a model kind with a prior of its own
    grid = dataclasses.replace(pca, lift=GridLift((-1.0, 1.0), (-1.0, 1.0), np.zeros((2, 2, 3))))
    assert projection_prior(standard, grid) is None
    traces = projection_figure(pca, np.zeros(200, int), ("0",), prior=projection_prior(standard, pca)).data
    assert [t.name for t in traces].count("prior N(0, I): 1, 2, 3 sd") == 3
