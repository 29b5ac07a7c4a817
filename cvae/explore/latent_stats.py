"""Which latent dimensions a model uses: active units, KL per dimension, and traversal grids.

Active units follow Burda et al. (2015, "Importance Weighted Autoencoders", section 5.2): dimension
d is active when A_d = Cov_x(E_q(z|x)[z_d]) > 0.01, i.e. its posterior mean varies across the data;
an inactive one has collapsed onto the prior and the decoder ignores it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cvae.explore.projections import ProjectionError, check_codes

__all__ = [
    "ACTIVE_THRESHOLD",
    "LatentStats",
    "Traversal",
    "latent_stats",
    "stats_from_codes",
    "traversal_codes",
    "traversal_grid",
]

ACTIVE_THRESHOLD = 0.01  # Burda et al. 2015


@dataclass(frozen=True)
class LatentStats:
    """Per latent dimension d, over a set of images."""

    activity: np.ndarray  # (latent,) A_d: variance over images of the posterior mean of z_d
    kl_per_dim: np.ndarray  # (latent,) mean KL(q(z_d|x) || N(0, 1)) in nats; sums to the KL term
    threshold: float = ACTIVE_THRESHOLD

    @property
    def active(self) -> np.ndarray:
        """(latent,) bool: A_d > threshold."""
        return self.activity > self.threshold

    @property
    def active_units(self) -> int:
        return int(self.active.sum())

    @property
    def latent_dim(self) -> int:
        return len(self.activity)

    def by_kl(self) -> np.ndarray:
        """Dimension indices, most KL first (ties: lower index first)."""
        return np.argsort(-self.kl_per_dim, kind="stable")

    def as_json(self) -> dict:
        """What `python -m cvae evaluate` adds to its JSON."""
        return {"active_units": self.active_units, "kl_per_dim": [round(float(v), 4) for v in self.kl_per_dim]}


def stats_from_codes(mu, sd, *, threshold: float = ACTIVE_THRESHOLD) -> LatentStats:
    """Statistics of posterior means and sds (N, latent) of N >= 2 images."""
    mu = check_codes(mu, min_codes=2, name="posterior means")
    sd = check_codes(sd, min_codes=2, name="posterior sds")
    if sd.shape != mu.shape:
        raise ProjectionError(f"means and sds must have the same shape; got {mu.shape} and {sd.shape}")
    if np.any(sd <= 0):
        raise ProjectionError("posterior sds must be positive")
    if not np.isfinite(threshold) or threshold < 0:
        raise ProjectionError(f"threshold must be a non-negative number; got {threshold!r}")
    activity = mu.var(axis=0, ddof=1)
    kl = 0.5 * (mu**2 + sd**2 - 1.0 - 2.0 * np.log(sd)).mean(axis=0)
    return LatentStats(activity, kl, float(threshold))


def latent_stats(vae, images: np.ndarray, *, labels=None, batch_size: int = 1000) -> LatentStats:
    """Encode `images` (N, 1, 28, 28) [with their `labels`, which a conditional model needs] with `vae`
    (anything with `encode`) and measure each dimension."""
    parts = [
        vae.encode(images[start : start + batch_size], None if labels is None else labels[start : start + batch_size])
        for start in range(0, len(images), batch_size)
    ]
    if not parts:
        raise ProjectionError("no images to measure the latent dimensions on")
    return stats_from_codes(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


@dataclass(frozen=True)
class Traversal:
    """Rows of decodes, each varying one latent dimension around a code (the beta-VAE picture)."""

    dims: np.ndarray  # (rows,) the dimension each row varies, most KL first
    offsets: np.ndarray  # (steps,) in units of `scale`, e.g. -3 .. +3
    codes: np.ndarray  # (rows, steps, latent)
    images: np.ndarray  # (rows, steps, H, W)

    def mosaic(self) -> np.ndarray:
        """The images as one (rows*H, steps*W) picture."""
        rows, steps, h, w = self.images.shape
        return self.images.transpose(0, 2, 1, 3).reshape(rows * h, steps * w)


def traversal_codes(
    center, dims, *, steps: int = 9, span: float = 3.0, scale: float | np.ndarray = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """(offsets (steps,), codes (len(dims), steps, latent)): row r sets z[dims[r]] to
    center + offset * scale[dims[r]] for offsets from -span to +span; the rest stay at `center`."""
    center = check_codes(np.atleast_2d(center), name="center code")[0]
    latent = len(center)
    dims = np.asarray(dims)
    if dims.ndim != 1 or len(dims) == 0 or not np.issubdtype(dims.dtype, np.integer):
        raise ProjectionError(f"dims must be a non-empty list of dimension indices; got {dims!r}")
    if dims.min() < 0 or dims.max() >= latent:
        raise ProjectionError(f"dimension indices must be in 0..{latent - 1}; got {dims.tolist()}")
    if not isinstance(steps, (int, np.integer)) or not 2 <= steps <= 51:
        raise ProjectionError(f"steps must be an integer in 2..51; got {steps!r}")
    if not np.isfinite(span) or span <= 0:
        raise ProjectionError(f"span must be a positive number; got {span!r}")
    scale = np.asarray(scale, dtype=np.float64)
    scale = np.full(latent, float(scale)) if scale.ndim == 0 else scale
    if scale.shape != (latent,) or not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        raise ProjectionError(f"scale must be one positive number or one per dimension ({latent})")
    offsets = np.linspace(-span, span, steps)
    codes = np.tile(center, (len(dims), steps, 1))  # (rows, steps, latent)
    rows = np.arange(len(dims))
    codes[rows[:, None], np.arange(steps)[None, :], dims[:, None]] = center[dims][:, None] + np.outer(
        scale[dims], offsets
    )
    return offsets, codes


def traversal_grid(
    decode: Callable[[np.ndarray], np.ndarray],
    center,
    kl_per_dim,
    *,
    steps: int = 9,
    span: float = 3.0,
    scale: float | np.ndarray = 1.0,
    rows: int | None = None,
) -> Traversal:
    """Decode a traversal around `center`: one row per dimension, rows sorted by KL (largest first),
    at most `rows` of them. `decode` maps (M, latent) codes to (M, H, W) images (e.g. `Explorer.decode`)."""
    kl = np.asarray(kl_per_dim, dtype=np.float64)
    if kl.ndim != 1 or not np.all(np.isfinite(kl)):
        raise ProjectionError("kl_per_dim must be a finite vector, one value per dimension")
    order = np.argsort(-kl, kind="stable")
    if rows is not None:
        if not isinstance(rows, (int, np.integer)) or rows < 1:
            raise ProjectionError(f"rows must be a positive integer; got {rows!r}")
        order = order[:rows]
    if np.size(center) != len(kl):
        raise ProjectionError(f"center has {np.size(center)} dimensions but kl_per_dim {len(kl)}")
    offsets, codes = traversal_codes(center, order, steps=steps, span=span, scale=scale)
    flat = codes.reshape(-1, codes.shape[-1]).astype(np.float32)
    images = np.asarray(decode(flat))
    return Traversal(order, offsets, codes, images.reshape(len(order), steps, *images.shape[1:]))
