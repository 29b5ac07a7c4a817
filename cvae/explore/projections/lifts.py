"""Ways back from a 2-D latent map to latent codes (lifts) and onto it (placements), with input checks.

`AffineLift` is exact for linear maps; `GridLift` interpolates codes precomputed on a grid (UMAP's
approximate inverse); `NeighbourPlacement` puts new codes on a nonlinear map. `as_json()` gives the
browser what it needs to decode through a lift.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass

import numpy as np

__all__ = [
    "LIFT_FORMAT",
    "MAX_LATENT_DIM",
    "AffineLift",
    "GridLift",
    "NeighbourPlacement",
    "ProjectionError",
    "check_codes",
    "check_points",
    "grid_nodes",
]

MAX_LATENT_DIM = 1024  # far above what the config allows (64): anything wider is a mistake, not a model
LIFT_FORMAT = "cvae-lift/1"
MAX_ABS = 1e6  # a code or map coordinate beyond this is a unit mistake, and would overflow float32 work


class ProjectionError(ValueError):
    """A projection asked of codes or dimensions it cannot be built from."""


def _array(values, name: str, shape: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ProjectionError(f"{name} must be a numeric {shape} array: {err}") from None


def _finite(array: np.ndarray, name: str) -> np.ndarray:
    if not np.all(np.isfinite(array)):
        raise ProjectionError(f"{name} must be finite (no NaN or infinity)")
    if array.size and np.abs(array).max() > MAX_ABS:
        raise ProjectionError(f"{name} must lie within +-{MAX_ABS:g}; got {np.abs(array).max():.3g}")
    return array


def check_codes(codes, *, min_codes: int = 1, name: str = "codes") -> np.ndarray:
    """Validate (N, latent) finite codes and return them as float64."""
    array = _array(codes, name, "(N, latent)")
    if array.ndim != 2 or not 1 <= array.shape[1] <= MAX_LATENT_DIM:
        raise ProjectionError(
            f"{name} must have shape (N, latent) with 1 <= latent <= {MAX_LATENT_DIM}; got {array.shape}"
        )
    if len(array) < min_codes:
        raise ProjectionError(f"need at least {min_codes} {name}; got {len(array)}")
    return _finite(array, name)


def check_points(uv, name: str = "uv") -> np.ndarray:
    """(M, 2) finite map points (one (2,) point is taken as M = 1), float64."""
    array = _array(uv, name, "(M, 2)")
    if array.shape == (2,):
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != 2:
        raise ProjectionError(f"{name} must have shape (M, 2); got {array.shape}")
    return _finite(array, name)


def _codes_like(z, latent_dim: int) -> np.ndarray:
    """(M, latent) finite codes (one (latent,) code is taken as M = 1), float64."""
    array = _array(z, "z", f"(M, {latent_dim})")
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != latent_dim:
        raise ProjectionError(f"z must have shape (M, {latent_dim}); got {array.shape}")
    return _finite(array, "z")


@dataclass(frozen=True)
class AffineLift:
    """z = base + u * axes[0] + v * axes[1]; base (latent,), axes (2, latent) with independent rows."""

    base: np.ndarray
    axes: np.ndarray

    @property
    def latent_dim(self) -> int:
        return len(self.base)

    @functools.cached_property
    def dual(self) -> np.ndarray:
        """(latent, 2): the pseudo-inverse of `axes`, once a lift (an SVD: ~0.1 ms, twice a pin)."""
        # rows of `axes` are orthonormal for every kind built here, but stay correct if they are not
        return np.linalg.pinv(self.axes)

    def to_latent(self, uv) -> np.ndarray:
        """(M, 2) map points -> (M, latent) codes, exactly."""
        return (self.base + check_points(uv) @ self.axes).astype(np.float32)

    def to_map(self, z) -> np.ndarray:
        """(M, latent) codes -> (M, 2): the least-squares (u, v), exact for codes on the plane."""
        return ((_codes_like(z, self.latent_dim) - self.base) @ self.dual).astype(np.float32)

    def through(self, code) -> AffineLift:
        """The same plane moved to pass through `code`: same (u, v) scale, other dimensions held at `code`."""
        code = _codes_like(code, self.latent_dim)[0]
        off_plane = code - self.base
        in_plane = (off_plane @ self.dual) @ self.axes
        return AffineLift(self.base + off_plane - in_plane, self.axes)

    def as_json(self) -> dict:
        return {
            "format": LIFT_FORMAT,
            "kind": "affine",
            "latent_dim": self.latent_dim,
            "base": [float(v) for v in self.base],
            "axes": [[float(v) for v in row] for row in self.axes],
        }


@dataclass(frozen=True)
class GridLift:
    """A regular size x size grid of codes over the map's ranges, bilinearly interpolated.

    `codes` (size, size, latent): codes[r, c] sits at u = x_range[0] + c * du, v = y_range[0] + r * dv
    (rows go up the map). Points outside the ranges take the nearest edge's code.
    """

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    codes: np.ndarray

    @property
    def size(self) -> int:
        return self.codes.shape[0]

    @property
    def latent_dim(self) -> int:
        return self.codes.shape[2]

    def nodes(self) -> np.ndarray:
        """(size*size, 2) map points of the grid, in the order of `codes.reshape(-1, latent)`."""
        return grid_nodes(self.x_range, self.y_range, self.size)

    def to_latent(self, uv) -> np.ndarray:
        """(M, 2) map points -> (M, latent) codes by bilinear interpolation of the grid."""
        uv = check_points(uv)
        n = self.size
        # fractional grid positions, clamped to the grid: (M,) each
        fx = np.clip((uv[:, 0] - self.x_range[0]) / (self.x_range[1] - self.x_range[0]) * (n - 1), 0, n - 1)
        fy = np.clip((uv[:, 1] - self.y_range[0]) / (self.y_range[1] - self.y_range[0]) * (n - 1), 0, n - 1)
        c0, r0 = np.minimum(fx.astype(int), n - 2), np.minimum(fy.astype(int), n - 2)
        tx, ty = (fx - c0)[:, None], (fy - r0)[:, None]
        g = self.codes.astype(np.float64)
        top = (1 - tx) * g[r0, c0] + tx * g[r0, c0 + 1]
        bottom = (1 - tx) * g[r0 + 1, c0] + tx * g[r0 + 1, c0 + 1]
        return ((1 - ty) * top + ty * bottom).astype(np.float32)

    def as_json(self, codes: str = "list") -> dict:
        """The grid for the browser; `codes` = "list" (size*size rows of latent floats) or "base64"
        (little-endian float32 bytes of the same (size*size, latent) array)."""
        flat = np.ascontiguousarray(self.codes.reshape(-1, self.latent_dim), dtype="<f4")
        if codes not in ("list", "base64"):
            raise ProjectionError(f"codes must be 'list' or 'base64'; got {codes!r}")
        return {
            "format": LIFT_FORMAT,
            "kind": "grid",
            "latent_dim": self.latent_dim,
            "size": self.size,
            "x_range": [float(v) for v in self.x_range],
            "y_range": [float(v) for v in self.y_range],
            "order": "row r (v ascending from y_range[0]) then column c (u ascending from x_range[0])",
            "codes": flat.tolist() if codes == "list" else base64.b64encode(flat.tobytes()).decode("ascii"),
        }


@dataclass(frozen=True)
class NeighbourPlacement:
    """Places new codes on a nonlinear map: the inverse-distance weighted mean of the map positions
    of their k nearest encoded codes (the start point UMAP's own `transform` refines)."""

    codes: np.ndarray  # (N, latent)
    coords: np.ndarray  # (N, 2)
    k: int = 10

    def to_map(self, z) -> np.ndarray:
        z = _codes_like(z, self.codes.shape[1])
        out = np.empty((len(z), 2))
        k = min(self.k, len(self.codes))
        for start in range(0, len(z), 512):  # (chunk, N) distances at a time
            d2 = ((z[start : start + 512, None, :] - self.codes[None, :, :]) ** 2).sum(-1)
            nearest = np.argpartition(d2, k - 1, axis=1)[:, :k]
            w = 1.0 / (np.sqrt(np.take_along_axis(d2, nearest, axis=1)) + 1e-6)
            out[start : start + 512] = (w[..., None] * self.coords[nearest]).sum(1) / w.sum(1, keepdims=True)
        return out.astype(np.float32)


def grid_nodes(x_range, y_range, n: int) -> np.ndarray:
    """(n*n, 2) points of an n x n grid, rows v ascending, each row u ascending."""
    u, v = np.meshgrid(np.linspace(*x_range, n), np.linspace(*y_range, n))
    return np.stack([u.ravel(), v.ravel()], axis=1)
