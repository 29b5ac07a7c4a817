"""A validation split held out of a training split: fixed rows, so every recipe is compared on the same images."""

from __future__ import annotations

import numpy as np

__all__ = ["VALIDATION_SEED", "validation_split"]

VALIDATION_SEED = 20261201  # not the run's seed: runs of different seeds are scored on the same rows


def validation_split(n_images: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, validation) of a training split of `n_images`: round(fraction * n) rows held
    out by a fixed permutation, both sorted; fraction 0 keeps every row for training."""
    n_val = int(round(fraction * n_images))
    if n_val == 0:
        return np.arange(n_images), np.empty(0, dtype=int)
    order = np.random.default_rng(VALIDATION_SEED).permutation(n_images)
    return np.sort(order[n_val:]), np.sort(order[:n_val])
