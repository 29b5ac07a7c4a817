"""The one typed configuration of a training run, validated on construction."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from cvae.datasets import DATASET_NAMES

__all__ = ["ARCHS", "LIKELIHOODS", "ConfigError", "TrainConfig"]

ARCHS = ("classroom", "seed")
LIKELIHOODS = ("bernoulli", "normal")


class ConfigError(ValueError):
    """A hyperparameter outside the range this project can train with."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a model and how it is fitted."""

    dataset: str = "mnist-5k"
    arch: str = "classroom"
    latent_dim: int = 2
    likelihood: str = "bernoulli"
    sigma: float = 0.1
    beta: float = 1.0
    epochs: int = 5
    batch_size: int = 100
    lr: float = 1e-3
    seed: int = 0
    data_dir: str | None = None

    def __post_init__(self) -> None:
        _check_types(self)
        if self.dataset not in DATASET_NAMES:
            raise ConfigError(f"dataset must be one of {', '.join(DATASET_NAMES)}; got {self.dataset!r}")
        if self.arch not in ARCHS:
            raise ConfigError(f"arch must be one of {', '.join(ARCHS)}; got {self.arch!r}")
        if self.likelihood not in LIKELIHOODS:
            raise ConfigError(
                f"likelihood must be one of {', '.join(LIKELIHOODS)}; got {self.likelihood!r}"
            )
        _check_range("latent_dim", self.latent_dim, 2, 64)
        _check_range("epochs", self.epochs, 1, 10_000)
        _check_range("batch_size", self.batch_size, 1, 10_000)
        _check_range("seed", self.seed, 0, 2**31 - 1)
        _check_range("beta", self.beta, 0.0, 100.0)
        if not 0.0 < self.lr <= 1.0:
            raise ConfigError(f"lr must be in (0, 1]; got {self.lr!r} (Adam diverges far above 1e-2)")
        if not 1e-3 <= self.sigma <= 10.0:
            raise ConfigError(f"sigma must be in [0.001, 10]; got {self.sigma!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a JSON-like mapping; unknown keys are an error, not silently dropped."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(unknown)}")
        return cls(**data)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


def _check_types(config: TrainConfig) -> None:
    expected = {"dataset": str, "arch": str, "likelihood": str, "latent_dim": int, "epochs": int,
                "batch_size": int, "seed": int, "sigma": float, "beta": float, "lr": float}
    for name, kind in expected.items():
        value = getattr(config, name)
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if ok and value != value:  # NaN
                ok = False
        if not ok:
            raise ConfigError(f"{name} must be a {kind.__name__}; got {value!r}")
    if config.data_dir is not None and not isinstance(config.data_dir, str):
        raise ConfigError(f"data_dir must be a path string; got {config.data_dir!r}")


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}; got {value!r}")
