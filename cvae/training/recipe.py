"""The training recipe around the compiled step: KL warm-up, learning-rate schedule, random shifts,
validation -ELBO and early stopping. Pure NumPy; the trainer applies them between steps."""

from __future__ import annotations

import math

import numpy as np

from cvae.config import TrainConfig

__all__ = ["COSINE_FLOOR", "EarlyStopping", "Validation", "beta_at", "lr_at", "shift_images", "validation_neg_elbo"]

COSINE_FLOOR = 0.01  # a cosine schedule ends at this fraction of lr: the last epochs still move a little


def beta_at(config: TrainConfig, step: int, steps_per_epoch: int) -> float:
    """The KL weight of 0-based `step`: ramps linearly 0 -> beta over `kl_warmup_epochs`, then beta."""
    ramp = config.kl_warmup_epochs * steps_per_epoch
    return config.beta if ramp == 0 else config.beta * min(1.0, step / ramp)


def lr_at(config: TrainConfig, step: int, total_steps: int) -> float:
    """Adam's learning rate at 0-based `step`: constant, or a half cosine from lr to COSINE_FLOOR * lr."""
    if config.lr_schedule == "constant" or total_steps <= 1:
        return config.lr
    t = min(step / (total_steps - 1), 1.0)
    return config.lr * (COSINE_FLOOR + (1.0 - COSINE_FLOOR) * 0.5 * (1.0 + math.cos(math.pi * t)))


def shift_images(images: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Each image (B, C, H, W) moved by its own random whole-pixel (dy, dx) in [-max_shift, max_shift],
    zeros shifted in: same shape and dtype (binary pixels stay binary)."""
    if max_shift == 0:
        return images
    b, c, h, w = images.shape
    s = max_shift
    padded = np.pad(images, ((0, 0), (0, 0), (s, s), (s, s)))  # (B, C, H + 2s, W + 2s)
    dy, dx = rng.integers(-s, s + 1, size=(2, b))
    rows = (np.arange(h)[None, :] + s - dy[:, None])[:, None, :, None]  # (B, 1, H, 1)
    cols = (np.arange(w)[None, :] + s - dx[:, None])[:, None, None, :]  # (B, 1, 1, W)
    return padded[np.arange(b)[:, None, None, None], np.arange(c)[None, :, None, None], rows, cols]


def validation_neg_elbo(vae, images: np.ndarray, labels: np.ndarray | None = None, seed: int = 0) -> float:
    """Mean -ELBO (nats per image) of `images` (N, 1, 28, 28), as `cvae evaluate` scores a test set: one
    posterior draw each, from the same `seed` every call so that epoch-to-epoch changes are the model's."""
    mu, sd = vae.encode(images, labels)
    z = mu + sd * np.random.default_rng(seed).standard_normal(mu.shape).astype(mu.dtype)
    return float(np.mean(-vae.log_px(images, z, labels).astype(np.float64) + vae.kl(mu, sd, z)))


class EarlyStopping:
    """Keeps the weights of the best validation -ELBO; `update` says when `patience` epochs brought
    no improvement (patience 0: never stops, still keeps the best)."""

    def __init__(self, patience: int):
        self.patience = patience
        self.best = math.inf
        self.best_epoch = 0
        self.weights: dict[str, np.ndarray] | None = None
        self.stopped_at: int | None = None  # the epoch training stopped after, if it stopped early

    def update(self, epoch: int, value: float, weights) -> bool:
        """Record epoch `epoch`'s (1-based) `value`; `weights()` is called only for a new best.
        True when training should stop."""
        if value < self.best:
            self.best, self.best_epoch, self.weights = value, epoch, weights()
        elif self.patience and epoch - self.best_epoch >= self.patience:
            return True
        return False


class Validation:
    """A PyMC-protocol callback: after every epoch, the validation -ELBO into `history`, and early
    stopping (StopIteration) once `patience` epochs have not improved it."""

    def __init__(self, vae, images: np.ndarray, labels, steps_per_epoch: int, history, patience: int, total_steps: int):
        self.vae, self.images, self.labels, self.total_steps = vae, images, labels, total_steps
        self.steps_per_epoch, self.history = steps_per_epoch, history
        self.early = EarlyStopping(patience)

    def __call__(self, approx, losses, i) -> None:
        if i % self.steps_per_epoch:
            return
        value = validation_neg_elbo(self.vae, self.images, self.labels)
        self.history.add_validation(i, value)
        epoch = i // self.steps_per_epoch
        if self.early.update(epoch, value, self.vae.weights) and i < self.total_steps:
            self.early.stopped_at = epoch
            raise StopIteration(f"early stop after epoch {epoch}")

    def keep_best(self) -> str | None:
        """With early stopping on, put back the best epoch's weights; what was kept, in words."""
        early = self.early
        if not early.patience or early.weights is None:
            return None
        self.vae.set_weights(early.weights)
        why = f"stopped early after epoch {early.stopped_at}; " if early.stopped_at else ""
        return f"{why}kept epoch {early.best_epoch}'s weights (validation -ELBO {early.best:.2f} nats/image)"
