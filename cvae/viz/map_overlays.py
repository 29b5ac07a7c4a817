"""Teaching overlays of the latent map, in map coordinates, for any projection.

An affine projection (z_i vs z_j, PCA) maps a code z to uv = P z + c, so Gaussians stay Gaussian:
the prior N(0, I) becomes N(c, P P^T) and each q(z|x) = N(mu, diag(sd^2)) becomes
N(P mu + c, P diag(sd^2) P^T), drawn as 1- and 2-sd ellipses; the aggregate posterior is the
mean of those on a grid. A nonlinear one (UMAP) has no such image: its density is a kernel
estimate of the map points, and q(z|x) is shown by projecting draws instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from cvae.explore.projections import Projection

__all__ = [
    "PRIOR_SDS",
    "PriorContours",
    "affine_inverse",
    "axes_map",
    "ellipse",
    "kde_density",
    "mixture_density",
    "overlay",
    "prior_contours",
    "projection_prior",
    "projected_gaussians",
]

PRIOR_SDS = (1, 2, 3)  # in 2-D: 39%, 86% and 99% of a Gaussian's mass


def affine_inverse(base: np.ndarray, axes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P (2, latent), c (2,)) with uv = P z + c the least-squares inverse of z = base + axes.T uv."""
    p = np.linalg.pinv(np.asarray(axes, float).T)  # (2, latent)
    return p, -p @ np.asarray(base, float)


def projected_gaussians(p: np.ndarray, c: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means (N, 2) and covariances (N, 2, 2) of N(mu_i, diag(sd_i^2)) under uv = P z + c."""
    mu, var = np.asarray(mu, float), np.asarray(sd, float) ** 2
    return mu @ p.T + c, np.einsum("il,nl,jl->nij", p, var, p)


def ellipse(mean: np.ndarray, cov: np.ndarray, k: float, n: int = 60) -> np.ndarray:
    """(n, 2) points on the k-sd contour of N(mean, cov)."""
    values, vectors = np.linalg.eigh(np.asarray(cov, float))
    t = np.linspace(0, 2 * np.pi, n)
    circle = np.stack([np.cos(t), np.sin(t)])  # (2, n)
    return (np.asarray(mean, float)[:, None] + k * vectors @ (np.sqrt(np.maximum(values, 0))[:, None] * circle)).T


class PriorContours(NamedTuple):
    """The prior p(z) as drawn on a map: its legend name, contours (each (n, 2)), and for a mixture
    its components' means (K, 2) and weights (K,) (none for N(0, I))."""

    name: str
    lines: list[np.ndarray]
    means: np.ndarray
    weights: np.ndarray


def prior_contours(components: dict | None, p: np.ndarray, c: np.ndarray) -> PriorContours | None:
    """The prior's contours on the affine map uv = P z + c: N(0, I) at 1, 2, 3 sd; a learned
    mixture's components at 1 and 2 sd. `components` is `Explorer.prior_components()` (weights (K,),
    means and sds (K, latent)); None (a model kind with a prior of its own) draws nothing."""
    if components is None:
        return None
    weights, means, sds = (np.asarray(components[k], float) for k in ("weights", "means", "sds"))
    uv, covs = projected_gaussians(p, c, means, sds)
    if len(weights) == 1 and np.allclose(means, 0) and np.allclose(sds, 1):
        lines = [ellipse(uv[0], covs[0], k, n=48) for k in PRIOR_SDS]
        return PriorContours("prior N(0, I): 1, 2, 3 sd", lines, np.zeros((0, 2)), np.zeros(0))
    lines = [ellipse(m, cov, k, n=48) for m, cov in zip(uv, covs, strict=True) for k in (1, 2)]
    name = f"learned prior: {len(weights)} components, 1 and 2 sd"
    return PriorContours(name, lines, uv, weights)


def projection_prior(components: dict | None, projection: Projection) -> PriorContours | None:
    """`prior_contours` on a projection's map: on an affine one (z_i vs z_j, PCA) only; UMAP's map
    has no image of a Gaussian."""
    if not projection.linear:
        return None
    return prior_contours(components, *affine_inverse(projection.lift.base, projection.lift.axes))


def axes_map(latent_dim: int, i: int = 0, j: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(P, c) of the map z_i vs z_j: uv = (z_i, z_j)."""
    return np.eye(latent_dim)[[i, j]], np.zeros(2)


def mixture_density(means: np.ndarray, covs: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """mean_i N(uv; means_i, covs_i) on the grid: (len(ys), len(xs)); separable when every cov is diagonal."""
    sx, sy = np.sqrt(covs[:, 0, 0]), np.sqrt(covs[:, 1, 1])
    if np.allclose(covs[:, 0, 1], 0):
        px = np.exp(-0.5 * ((xs[None, :] - means[:, :1]) / sx[:, None]) ** 2) / (sx[:, None] * np.sqrt(2 * np.pi))
        py = np.exp(-0.5 * ((ys[None, :] - means[:, 1:]) / sy[:, None]) ** 2) / (sy[:, None] * np.sqrt(2 * np.pi))
        return py.T @ px / len(means)
    gx, gy = np.meshgrid(xs, ys)
    out = np.zeros(gx.shape)
    inverse, det = np.linalg.inv(covs), np.linalg.det(covs)
    for start in range(0, len(means), 256):  # (chunk, ny, nx) at a time: bounded memory
        m, q, d = means[start : start + 256], inverse[start : start + 256], det[start : start + 256]
        dx, dy = gx[None] - m[:, 0, None, None], gy[None] - m[:, 1, None, None]
        r = q[:, 0, 0, None, None] * dx**2 + 2 * q[:, 0, 1, None, None] * dx * dy + q[:, 1, 1, None, None] * dy**2
        out += (np.exp(-0.5 * r) / (2 * np.pi * np.sqrt(d)[:, None, None])).sum(axis=0)
    return out / len(means)


def kde_density(coords: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """A Gaussian kernel estimate of the map points' density (Scott's bandwidth per axis)."""
    coords = np.asarray(coords, float)
    h = np.maximum(coords.std(axis=0), 1e-6) * len(coords) ** (-1 / 6)
    covs = np.zeros((len(coords), 2, 2))
    covs[:, 0, 0], covs[:, 1, 1] = h**2
    return mixture_density(coords, covs, xs, ys)


def overlay(name: str, colour: str, *, lines=(), points=(), dash=(), marker: str = "ring", width: float = 1.5) -> dict:
    """One legend entry of the map's view: polylines (each (K, 2)) and points ((u, v) or (u, v, text))."""
    return {
        "name": name,
        "colour": colour,
        "dash": list(dash),
        "width": width,
        "marker": marker,
        "lines": [np.round(np.asarray(line, float), 4).tolist() for line in lines],
        "points": [[round(float(p[0]), 4), round(float(p[1]), 4), *p[2:]] for p in points],
    }
