"""2-D maps of a latent space that can be decoded through: z_i vs z_j, PCA, UMAP (`PROJECTIONS`).

A `Projection` places the encoded digits on a map (`coords`) and carries a `lift` that turns any
map point (u, v) back into a latent code, which is all a decoder (Python or the browser) needs.
Linear maps lift exactly through an `AffineLift`; UMAP's approximate inverse is precomputed on a
grid (`GridLift`, see `cvae.explore.projections.umap`). The lifts live in `cvae.explore.projections.lifts`.
Each kind is one entry of `PROJECTIONS`: how to make it, and how the app names and explains it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from cvae.explore.projections.lifts import (
    AffineLift,
    GridLift,
    NeighbourPlacement,
    ProjectionError,
    check_codes,
    check_points,
    grid_nodes,
)
from cvae.registry import Registry

__all__ = [
    "PROJECTIONS",
    "AffineLift",
    "GridLift",
    "NeighbourPlacement",
    "Projection",
    "ProjectionError",
    "ProjectionKind",
    "axes_projection",
    "check_codes",
    "grid_nodes",
    "make_projection",
    "pca_projection",
    "plane_grid",
]


@dataclass(frozen=True)
class Projection:
    """Encoded digits on a 2-D map, and the way back from the map to latent codes."""

    kind: str  # its name in PROJECTIONS: "axes" | "pca" | "umap"
    label: str  # what the page names it, e.g. "PCA of the encoded means"
    coords: np.ndarray  # (N, 2) map positions of the encoded codes, float32
    axis_titles: tuple[str, str]
    lift: AffineLift | GridLift  # map point (u, v) -> latent code z
    note: str  # e.g. "explained variance 64% + 18%", or "UMAP's inverse is approximate"
    placement: AffineLift | NeighbourPlacement | None = None  # z -> map; None: the (affine) lift's own

    def __post_init__(self):
        self.coords.setflags(write=False)  # a projection is cached and shared by every session

    @property
    def latent_dim(self) -> int:
        return self.lift.latent_dim

    @property
    def linear(self) -> bool:
        """True when (u, v) is an affine function of z: Gaussians stay Gaussian on the map."""
        return isinstance(self.lift, AffineLift)

    def to_latent(self, uv) -> np.ndarray:
        """(M, 2) map points -> (M, latent) codes."""
        return self.lift.to_latent(uv)

    def to_map(self, z) -> np.ndarray:
        """(M, latent) codes -> (M, 2) map points (for overlays: paths, draws, your digit)."""
        return (self.placement or self.lift).to_map(z)

    def held_at(self, code) -> Projection:
        """The same map with the dimensions off its plane held at `code` (a pinned digit, the data mean)."""
        if not self.linear:
            raise ProjectionError(f"a {self.kind} map has no plane to move: its lift decodes every point itself")
        return replace(self, lift=self.lift.through(code), placement=None)


def axes_projection(codes, i: int = 0, j: int = 1, *, hold=None) -> Projection:
    """z_i against z_j (0-based); the other dimensions held at `hold` (default 0, the prior's mean)."""
    codes = check_codes(codes)
    latent = codes.shape[1]
    for name, value in (("i", i), ("j", j)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise ProjectionError(f"axis {name} must be an integer; got {value!r}")
        if not 0 <= value < latent:
            raise ProjectionError(
                f"axis {name}={value} is out of range for {latent} latent dimensions (0..{latent - 1})"
            )
    if i == j:
        raise ProjectionError(f"choose two different dimensions; got z{i + 1} twice")
    axes = np.eye(latent)[[i, j]]
    lift = AffineLift(np.zeros(latent), axes)
    if hold is not None:
        lift = lift.through(hold)
    note = "" if latent == 2 else f"The other {latent - 2} dimensions are held fixed."
    titles = (f"z{i + 1}", f"z{j + 1}")
    return Projection("axes", f"z{i + 1} vs z{j + 1}", codes[:, [i, j]].astype(np.float32), titles, lift, note)


def pca_projection(codes, *, hold=None) -> Projection:
    """The plane of the codes' two largest principal components, through their mean.

    (u, v) decodes exactly as mean + u * pc1 + v * pc2; `hold` moves the plane to pass through
    that code instead (same u, v: the off-plane part of `hold` is kept).
    """
    codes = check_codes(codes, min_codes=3)
    latent = codes.shape[1]
    if latent < 2:
        raise ProjectionError(f"PCA onto a plane needs at least 2 latent dimensions; got {latent}")
    mean = codes.mean(axis=0)
    # eigenvectors of the (latent, latent) scatter matrix: one small LAPACK call, unlike an SVD of
    # the (N, latent) codes, whose threaded BLAS stalls 10-30x on a busy machine
    centred = codes - mean
    values, vectors = np.linalg.eigh(centred.T @ centred)
    variance, vt = np.maximum(values[::-1], 0.0), vectors[:, ::-1].T  # largest first; vt (latent, latent)
    if len(variance) < 2 or variance[1] <= 1e-12 * max(variance[0], 1e-300):
        raise ProjectionError("the codes vary along fewer than two directions: PCA has no plane to show")
    # sign fixed so each component's largest loading is positive: the same codes give the same map
    largest = vt[:2][np.arange(2), np.abs(vt[:2]).argmax(axis=1)]
    axes = vt[:2] * np.where(largest < 0, -1.0, 1.0)[:, None]
    lift = AffineLift(mean, axes)
    if hold is not None:
        lift = lift.through(hold)
    ratio = variance[:2] / variance.sum()
    note = f"Explained variance {ratio[0]:.0%} + {ratio[1]:.0%} = {ratio.sum():.0%}."
    if latent == 2:
        note += " With 2 latent dimensions PCA only rotates and shifts the z1-z2 map."
    coords = ((codes - mean) @ axes.T).astype(np.float32)
    return Projection("pca", "PCA of the encoded means", coords, ("PC1", "PC2"), lift, note)


@dataclass(frozen=True)
class ProjectionKind:
    """One kind of map: how it is made from the codes, and how the app names and explains it."""

    make: Callable[..., Projection]  # (codes (N, latent), *, axes, hold, **options) -> Projection
    title: str  # the selector's name for it, e.g. "z_i vs z_j"
    description: str  # one sentence: what the map shows
    linear: bool  # (u, v) affine in z: the plane can be held at a code, the prior drawn, +-3 sd shown


def _axes(codes, *, axes: tuple[int, int], hold, **_options) -> Projection:
    return axes_projection(codes, *axes, hold=hold)


def _pca(codes, *, axes: tuple[int, int], hold, **_options) -> Projection:
    return pca_projection(codes, hold=hold)


def _umap(codes, *, axes: tuple[int, int], hold, **options) -> Projection:
    from cvae.explore.projections.umap import umap_projection  # imports numba: only when asked

    return umap_projection(codes, **options)


PROJECTIONS: Registry[ProjectionKind] = Registry("projection")
PROJECTIONS.register(
    "axes", ProjectionKind(_axes, "z_i vs z_j", "two latent dimensions, the others held fixed.", linear=True)
)
PROJECTIONS.register(
    "pca",
    ProjectionKind(_pca, "PCA", "the plane of the encoded means' two largest principal components.", linear=True),
)
PROJECTIONS.register(
    "umap",
    ProjectionKind(
        _umap,
        "UMAP",
        "a nonlinear 2-D embedding; decoding goes through its approximate inverse.",
        linear=False,
    ),
)


def make_projection(kind: str, codes, *, axes: tuple[int, int] = (0, 1), hold=None, **umap_options) -> Projection:
    """One entry point for every kind in PROJECTIONS: "axes" (z_i vs z_j), "pca" or "umap" (cached, see
    umap_projection); a kind takes the options it knows and leaves the others."""
    if kind not in PROJECTIONS:
        raise ProjectionError(f"unknown projection {kind!r}; choose one of {', '.join(PROJECTIONS)}")
    return PROJECTIONS[kind].make(codes, axes=axes, hold=hold, **umap_options)


def plane_grid(projection: Projection, n: int = 10, extent: float = 2.0, center=(0.0, 0.0)) -> np.ndarray:
    """(n*n, latent) codes of an n x n grid over center +- extent on the map, row-major from the top
    (v = +extent) so a mosaic of their decodes reads like the map; `grid_points` for any projection."""
    if not isinstance(n, (int, np.integer)) or not 1 <= n <= 100:
        raise ProjectionError(f"grid size must be an integer in 1..100; got {n!r}")
    if not isinstance(extent, (int, float, np.number)) or not 0 < extent <= 1000:
        raise ProjectionError(f"extent must be a number in (0, 1000]; got {extent!r}")
    cu, cv = check_points(center, "center")[0]
    u = np.linspace(cu - extent, cu + extent, n)
    v = np.linspace(cv + extent, cv - extent, n)
    return projection.to_latent(np.stack([np.tile(u, n), np.repeat(v, n)], axis=1))
