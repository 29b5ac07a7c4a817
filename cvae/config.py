"""The one typed configuration of a training run, validated on construction."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from cvae.data.datasets import DATASET_NAMES
from cvae.model.likelihoods import LIKELIHOODS
from cvae.nn.networks import ARCHITECTURES
from cvae.registry import UnknownName

__all__ = ["LIMITS", "ConfigError", "TrainConfig", "add_config_arguments", "config_from_arguments"]

# (low, high) of each bounded field, inclusive: the config checks them and the Train form offers them
LIMITS = {
    "latent_dim": (2, 64),
    "epochs": (1, 10_000),
    "batch_size": (1, 10_000),
    "seed": (0, 2**31 - 1),
    "beta": (0.0, 100.0),
    "sigma": (1e-3, 10.0),
}


class ConfigError(ValueError):
    """A hyperparameter outside the range this project can train with."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a model and how it is fitted."""

    dataset: str = "mnist-5k"
    arch: str = "keras-example"  # a name or alias in cvae.nn.networks.ARCHITECTURES
    latent_dim: int = 2
    likelihood: str = "bernoulli"  # a name in cvae.model.likelihoods.LIKELIHOODS
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
        for name, registry in (("arch", ARCHITECTURES), ("likelihood", LIKELIHOODS)):
            try:  # an alias (e.g. arch "seed", as older runs saved it) becomes the registered name
                object.__setattr__(self, name, registry.canonical(getattr(self, name)))
            except UnknownName:
                raise ConfigError(
                    f"{name} must be one of {', '.join(registry.names())}; got {getattr(self, name)!r}"
                ) from None
        for name in ("latent_dim", "epochs", "batch_size", "seed", "beta", "sigma"):
            _check_range(name, getattr(self, name), *LIMITS[name])
        if not 0.0 < self.lr <= 1.0:
            raise ConfigError(f"lr must be in (0, 1]; got {self.lr!r} (Adam diverges far above 1e-2)")

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
    expected = {
        "dataset": str,
        "arch": str,
        "likelihood": str,
        "latent_dim": int,
        "epochs": int,
        "batch_size": int,
        "seed": int,
        "sigma": float,
        "beta": float,
        "lr": float,
    }
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


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Every TrainConfig field as a command-line flag (`--latent-dim` for latent_dim), default the config's."""
    d = TrainConfig()
    arch_names = (*ARCHITECTURES.names(), *ARCHITECTURES.aliases())  # "seed", "classroom": older names
    parser.add_argument("--dataset", choices=DATASET_NAMES, default=d.dataset)
    parser.add_argument("--arch", choices=arch_names, default=d.arch)
    parser.add_argument("--latent-dim", type=int, default=d.latent_dim)
    parser.add_argument("--likelihood", choices=LIKELIHOODS.names(), default=d.likelihood)
    parser.add_argument("--sigma", type=float, default=d.sigma, help="Normal likelihood's pixel sd")
    parser.add_argument("--beta", type=float, default=d.beta, help="KL weight (1 = the true ELBO)")
    parser.add_argument("--epochs", type=int, default=d.epochs)
    parser.add_argument("--batch-size", type=int, default=d.batch_size)
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--data-dir", default=None, help="directory with the idx files")


def config_from_arguments(args: argparse.Namespace, **changes: Any) -> TrainConfig:
    """The TrainConfig of parsed `add_config_arguments` flags, with `changes` applied."""
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig)}
    return TrainConfig(**(values | changes))
