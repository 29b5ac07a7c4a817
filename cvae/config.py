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
from cvae.registry import Registry, UnknownName

__all__ = [
    "LIMITS",
    "LR_SCHEDULES",
    "PRESETS",
    "SPECS",
    "ConfigError",
    "FieldSpec",
    "TrainConfig",
    "add_config_arguments",
    "config_from_arguments",
]

LR_SCHEDULES = ("constant", "cosine")


class ConfigError(ValueError):
    """A hyperparameter outside the range this project can train with."""


@dataclass(frozen=True)
class FieldSpec:
    """What one TrainConfig field means: read by the type and range checks, the CLI flags and the Train form."""

    help: str
    choices: Registry | tuple[str, ...] | None = None  # a registry is read when checked (entries come later)
    limits: tuple[float, float] | None = None  # inclusive (low, high)
    recipe: bool = False  # one of the training recipe's options (off by default; the form's "Advanced recipe")


def _spec(default: Any, help: str, **spec: Any) -> Any:
    return dataclasses.field(default=default, metadata={"spec": FieldSpec(help, **spec)})


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a model and how it is fitted; each field's `FieldSpec` is in its metadata."""

    dataset: str = _spec(
        "mnist-5k", "mnist-5k works offline; mnist and fashion-mnist download once", choices=DATASET_NAMES
    )
    arch: str = _spec("keras-example", "the encoder and decoder networks", choices=ARCHITECTURES)
    latent_dim: int = _spec(
        2,
        "2 gives a map you can read directly; more dimensions hold more detail. The encoder's and decoder's first "
        "dense layers grow with it, and so does the time to encode the test set; the training step barely changes.",
        limits=(2, 64),
    )
    likelihood: str = _spec("bernoulli", "p(x|z), how a decoded image scores a pixel", choices=LIKELIHOODS)
    sigma: float = _spec(
        0.1, "the Normal likelihood's pixel sd; with learn_sigma, where its fit starts", limits=(1e-3, 10.0)
    )
    beta: float = _spec(1.0, "KL weight: 1 = the true ELBO; 0 = a plain autoencoder", limits=(0.0, 100.0))
    epochs: int = _spec(5, "passes over the training digits", limits=(1, 10_000))
    batch_size: int = _spec(100, "images per step", limits=(1, 10_000))
    lr: float = _spec(1e-3, "Adam's learning rate, in (0, 1]")
    seed: int = _spec(0, "the start of every random draw: the same seed trains the same model", limits=(0, 2**31 - 1))
    data_dir: str | None = _spec(None, "directory with the idx files (labels optional)")
    model: str = _spec("vae", "a registered model kind (built-in, or registered by your code)", choices=MODELS)
    conditional: bool = _spec(
        False, "encoder and decoder also read the one-hot label: z keeps the style, the label the content"
    )
    prior: str = _spec("standard-normal", "p(z)", choices=PRIORS)
    prior_components: int = _spec(10, "K of the mixture prior", limits=(1, 50))
    batch_norm: bool = _spec(False, "BatchNorm after every hidden layer; needs a batch size of at least 2")
    learn_sigma: bool = _spec(False, "fit the Normal likelihood's pixel sd with the networks (from sigma)")
    # the recipe: each off by default, none changes the compiled step (cvae.training.recipe)
    val_fraction: float = _spec(
        0.0,
        "training digits held out (the same ones every run, cvae.data.splits) to score -ELBO after each epoch",
        limits=(0.0, 0.5),
        recipe=True,
    )
    augment_shift: int = _spec(
        0, "every batch moves each digit by up to this many pixels: fewer memorised pixels", limits=(0, 4), recipe=True
    )
    kl_warmup_epochs: int = _spec(
        0,
        "beta rises from 0 to its value over these epochs: the encoder spreads the digits out first "
        "(more than epochs: beta never reaches its value)",
        limits=(0, 10_000),
        recipe=True,
    )
    lr_schedule: str = _spec(
        "constant", "cosine: the learning rate decays to 1% by the last step", choices=LR_SCHEDULES, recipe=True
    )
    patience: int = _spec(
        0,
        "early stopping: stop when the validation -ELBO has not improved for this many epochs and keep the best "
        "epoch's weights; 0 = off. Needs a validation fraction.",
        limits=(0, 10_000),
        recipe=True,
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            _check_field(self, f.name, SPECS[f.name], _TYPES[f.name])
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


SPECS: dict[str, FieldSpec] = {f.name: f.metadata["spec"] for f in fields(TrainConfig)}
# field -> its Python type, read off the annotation ("str | None": a str or None)
_TYPES = {
    f.name: {"str": str, "int": int, "float": float, "bool": bool, "str | None": str}[f.type]
    for f in fields(TrainConfig)
}
# (low, high) of each bounded field, inclusive: the config checks them and the Train form offers them
LIMITS = {name: spec.limits for name, spec in SPECS.items() if spec.limits is not None}


def _check_field(config: TrainConfig, name: str, spec: FieldSpec, kind: type) -> None:
    """One field's type, choice (an alias becomes the registered name) and range."""
    value = getattr(config, name)
    if value is None and name == "data_dir":
        return
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value  # not NaN
    else:
        ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
    if not ok:
        noun = "path string" if name == "data_dir" else kind.__name__
        raise ConfigError(f"{name} must be a {noun}; got {value!r}")
    if isinstance(spec.choices, Registry):
        try:  # an alias (e.g. arch "seed", as older runs saved it) becomes the registered name
            object.__setattr__(config, name, spec.choices.canonical(value))
        except UnknownName:
            hint = " (a model of your own is known once the module that registers it is imported)"
            raise ConfigError(
                f"{name} must be one of {', '.join(spec.choices.names())}; got {value!r}"
                + (hint if name == "model" else "")
            ) from None
    elif spec.choices is not None and value not in spec.choices:
        raise ConfigError(f"{name} must be one of {', '.join(spec.choices)}; got {value!r}")
    if spec.limits is not None:
        _check_range(name, value, *spec.limits)


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
    if config.patience and not config.val_fraction:
        raise ConfigError("patience (early stopping) needs a validation split: set val_fraction above 0")


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}; got {value!r}")


# the presets every layer offers by name: `cvae train --preset classroom`, the Train form's button, bench/
PRESETS = {
    # 30 epochs at lr 3e-3 with a 5-epoch KL warm-up (bench/recipe_search.py: -10 nats at no cost in time)
    "classroom": TrainConfig(epochs=30, lr=3e-3, kl_warmup_epochs=5),
}


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Every TrainConfig field as a flag (`--latent-dim` for latent_dim) from its spec, and `--preset NAME`,
    whose values stand in for the config's defaults (flags given explicitly still win)."""
    parser.add_argument("--preset", choices=tuple(PRESETS), help="start from a named preset (flags override it)")
    recipe = parser.add_argument_group("recipe (each off by default)")
    for f in fields(TrainConfig):
        spec, flag = SPECS[f.name], "--" + f.name.replace("_", "-")
        group = recipe if spec.recipe else parser
        # SUPPRESS: a flag not given is absent from the parsed namespace, so the preset's value stands
        if _TYPES[f.name] is bool:
            group.add_argument(flag, action="store_true", default=argparse.SUPPRESS, help=spec.help.replace("%", "%%"))
            continue
        choices = spec.choices
        if isinstance(choices, Registry):  # older names ("seed", "classroom") are accepted too
            choices = (*choices.names(), *choices.aliases())
        helps = f"{spec.help} (default: {f.default})".replace("%", "%%")  # argparse formats help with %
        group.add_argument(flag, type=_TYPES[f.name], choices=choices, default=argparse.SUPPRESS, help=helps)


def config_from_arguments(args: argparse.Namespace, **changes: Any) -> TrainConfig:
    """The TrainConfig of parsed `add_config_arguments` flags (over `--preset`'s values), with `changes` applied."""
    base = PRESETS[args.preset] if getattr(args, "preset", None) else TrainConfig()
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    return TrainConfig(**(base.to_dict() | given | changes))
