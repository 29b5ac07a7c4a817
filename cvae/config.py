"""The one typed configuration of a training run, validated on construction."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from cvae.data.datasets import DATASET_NAMES
from cvae.model.kinds import MODELS
from cvae.model.likelihoods import LIKELIHOODS
from cvae.model.priors import PRIORS
from cvae.nn.networks import ARCHITECTURES
from cvae.registry import UnknownName

__all__ = [
    "LIMITS",
    "LR_SCHEDULES",
    "PAIRED_LIMITS",
    "ConfigError",
    "TrainConfig",
    "add_config_arguments",
    "config_from_arguments",
]

# (low, high) of each bounded field, inclusive: the config checks them and the Train form offers them
LIMITS = {
    "latent_dim": (2, 64),
    "epochs": (1, 10_000),
    "batch_size": (1, 10_000),
    "seed": (0, 2**31 - 1),
    "beta": (0.0, 100.0),
    "sigma": (1e-3, 10.0),
    "prior_components": (1, 50),
    "val_fraction": (0.0, 0.5),
    "augment_shift": (0, 4),
    "kl_warmup_epochs": (0, 10_000),  # more than epochs: beta never reaches its value (a partial anneal)
}
# bounded fields valid only together with another: patience (early stopping) needs val_fraction > 0
PAIRED_LIMITS = {"patience": (0, 10_000)}
LR_SCHEDULES = ("constant", "cosine")


class ConfigError(ValueError):
    """A hyperparameter outside the range this project can train with."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a model and how it is fitted."""

    dataset: str = "mnist-5k"
    arch: str = "keras-example"  # a name or alias in cvae.nn.networks.ARCHITECTURES
    latent_dim: int = 2
    likelihood: str = "bernoulli"  # a name in cvae.model.likelihoods.LIKELIHOODS
    sigma: float = 0.1  # the Normal likelihood's pixel sd; with learn_sigma, where its fit starts
    beta: float = 1.0
    epochs: int = 5
    batch_size: int = 100
    lr: float = 1e-3
    seed: int = 0
    data_dir: str | None = None
    model: str = "vae"  # a name in cvae.model.kinds.MODELS (built-in, or registered by your code)
    conditional: bool = False  # encoder and decoder also read the one-hot label: q(z|x, y), p(x|z, y)
    prior: str = "standard-normal"  # a name in cvae.model.priors.PRIORS
    prior_components: int = 10  # K of the mixture prior
    batch_norm: bool = False  # BatchNorm after every hidden layer
    learn_sigma: bool = False  # fit the Normal likelihood's sd with the networks
    # the recipe: each off by default, none changes the compiled step (cvae.training.recipe)
    val_fraction: float = 0.0  # training rows held out as a validation split (fixed rows, cvae.data.splits)
    augment_shift: int = 0  # each training image moved by up to this many pixels, every batch
    kl_warmup_epochs: int = 0  # beta ramps linearly from 0 over this many epochs
    lr_schedule: str = "constant"  # or "cosine": lr decays to 1% of itself by the last step
    patience: int = 0  # early stopping: epochs without a better validation -ELBO (0 = off)

    def __post_init__(self) -> None:
        _check_types(self)
        if self.dataset not in DATASET_NAMES:
            raise ConfigError(f"dataset must be one of {', '.join(DATASET_NAMES)}; got {self.dataset!r}")
        registries = (("arch", ARCHITECTURES), ("likelihood", LIKELIHOODS), ("model", MODELS), ("prior", PRIORS))
        for name, registry in registries:
            try:  # an alias (e.g. arch "seed", as older runs saved it) becomes the registered name
                object.__setattr__(self, name, registry.canonical(getattr(self, name)))
            except UnknownName:
                hint = " (a model of your own is known once the module that registers it is imported)"
                raise ConfigError(
                    f"{name} must be one of {', '.join(registry.names())}; got {getattr(self, name)!r}"
                    + (hint if name == "model" else "")
                ) from None
        for name in LIMITS:
            _check_range(name, getattr(self, name), *LIMITS[name])
        if not 0.0 < self.lr <= 1.0:
            raise ConfigError(f"lr must be in (0, 1]; got {self.lr!r} (Adam diverges far above 1e-2)")
        _check_options(self)

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
        "model": str,
        "conditional": bool,
        "prior": str,
        "prior_components": int,
        "batch_norm": bool,
        "learn_sigma": bool,
        "val_fraction": float,
        "augment_shift": int,
        "kl_warmup_epochs": int,
        "lr_schedule": str,
        "patience": int,
    }
    for name, kind in expected.items():
        value = getattr(config, name)
        ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
        if kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if ok and value != value:  # NaN
                ok = False
        if not ok:
            raise ConfigError(f"{name} must be a {kind.__name__}; got {value!r}")
    if config.data_dir is not None and not isinstance(config.data_dir, str):
        raise ConfigError(f"data_dir must be a path string; got {config.data_dir!r}")


def _check_options(config: TrainConfig) -> None:
    """Options that only make sense together."""
    if config.batch_norm and config.batch_size < 2:
        raise ConfigError(
            f"batch_norm needs batch_size >= 2; got {config.batch_size} (a batch of one image has no variance)"
        )
    if config.learn_sigma and not LIKELIHOODS[config.likelihood].has_sigma:
        raise ConfigError(f"learn_sigma needs a likelihood with a sigma (normal); got {config.likelihood!r}")
    if config.prior != "standard-normal" and not MODELS[config.model].uses_prior:
        raise ConfigError(f"model {config.model!r} has a prior of its own; prior must stay 'standard-normal'")
    if config.lr_schedule not in LR_SCHEDULES:
        raise ConfigError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}; got {config.lr_schedule!r}")
    _check_range("patience", config.patience, *PAIRED_LIMITS["patience"])
    if config.patience and not config.val_fraction:
        raise ConfigError("patience (early stopping) needs a validation split: set val_fraction above 0")


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
    parser.add_argument("--data-dir", default=None, help="directory with the idx files (labels optional)")
    parser.add_argument("--model", choices=MODELS.names(), default=d.model, help="a registered model kind")
    parser.add_argument("--conditional", action="store_true", help="condition encoder and decoder on the label")
    parser.add_argument("--prior", choices=PRIORS.names(), default=d.prior)
    parser.add_argument("--prior-components", type=int, default=d.prior_components, help="K of --prior mixture")
    parser.add_argument("--batch-norm", action="store_true", help="BatchNorm after every hidden layer")
    parser.add_argument("--learn-sigma", action="store_true", help="fit the normal likelihood's sd (from --sigma)")
    recipe = parser.add_argument_group("recipe (each off by default)")
    recipe.add_argument("--val-fraction", type=float, default=d.val_fraction, help="training rows held out")
    recipe.add_argument("--augment-shift", type=int, default=d.augment_shift, help="random shifts, max pixels")
    recipe.add_argument("--kl-warmup-epochs", type=int, default=d.kl_warmup_epochs, help="beta ramps 0 -> beta")
    recipe.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=d.lr_schedule)
    recipe.add_argument("--patience", type=int, default=d.patience, help="early stopping on validation -ELBO")


def config_from_arguments(args: argparse.Namespace, **changes: Any) -> TrainConfig:
    """The TrainConfig of parsed `add_config_arguments` flags, with `changes` applied."""
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig)}
    return TrainConfig(**(values | changes))
