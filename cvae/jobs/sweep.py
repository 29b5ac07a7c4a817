"""A sweep: a grid of training configs (e.g. beta in 0, 0.5, 1, 2, 4 times latent 2, 8), one run each.

The grid is parsed and checked before anything starts: only known config fields, values of the
field's type, every combination a valid TrainConfig, at most MAX_POINTS runs.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import fields

from cvae.config import ConfigError, TrainConfig

__all__ = ["MAX_POINTS", "SWEEPABLE", "SweepError", "parse_axis", "sweep_configs", "sweep_run_name"]

MAX_POINTS = 24  # runs in one sweep: a class's worth, and a bound on what one request can queue
MAX_VALUES = 12  # values along one axis
SWEEPABLE = ("beta", "latent_dim", "lr", "epochs", "batch_size", "seed", "arch", "likelihood", "sigma")
_TYPES = {f.name: type(getattr(TrainConfig(), f.name)) for f in fields(TrainConfig) if f.name in SWEEPABLE}
_SHORT = {"latent_dim": "latent", "batch_size": "batch"}


class SweepError(ConfigError):
    """A grid that cannot be run; the message says which axis or value is wrong."""


def parse_axis(text: str) -> tuple[str, list]:
    """'beta=0,0.5,1' -> ("beta", [0.0, 0.5, 1.0]), converted to the field's type."""
    if not isinstance(text, str) or text.count("=") != 1:
        raise SweepError(f"a sweep axis looks like beta=0,0.5,1; got {str(text)[:60]!r}")
    name, _, values = (part.strip() for part in text.partition("="))
    name = name.replace("-", "_")
    if name not in _TYPES:
        raise SweepError(f"cannot sweep {name[:40]!r}; choose from {', '.join(SWEEPABLE)}")
    items = [v.strip() for v in values.split(",") if v.strip()]
    if not items:
        raise SweepError(f"the {name} axis has no values")
    if len(items) > MAX_VALUES:
        raise SweepError(f"the {name} axis has {len(items)} values; at most {MAX_VALUES}")
    kind = _TYPES[name]
    try:
        parsed = [kind(float(v)) if kind is float else int(v) if kind is int else v for v in items]
    except ValueError:
        raise SweepError(f"{name} takes {kind.__name__} values; got {values[:60]!r}") from None
    if len(set(parsed)) != len(parsed):
        raise SweepError(f"the {name} axis repeats a value")
    return name, parsed


def sweep_configs(base: TrainConfig, axes: dict[str, list]) -> list[TrainConfig]:
    """Every combination of `axes` applied to `base`, each validated; at most MAX_POINTS."""
    if not axes:
        raise SweepError("a sweep needs at least one axis, e.g. beta=0,1")
    count = 1
    for values in axes.values():
        count *= len(values)
    if count > MAX_POINTS:
        raise SweepError(f"this grid has {count} runs; a sweep may have at most {MAX_POINTS}")
    names = list(axes)
    configs = []
    for combination in itertools.product(*(axes[name] for name in names)):
        try:
            configs.append(base.replace(**dict(zip(names, combination))))
        except (ConfigError, TypeError) as err:
            raise SweepError(f"{dict(zip(names, combination))}: {err}") from None
    return configs


def sweep_run_name(prefix: str, config: TrainConfig, axes: dict[str, list]) -> str:
    """The run name of one grid point, e.g. 'sweep-beta0.5-latent8' (safe for run_dir)."""
    parts = [
        f"{_SHORT.get(name, name)}{getattr(config, name):g}"
        if isinstance(getattr(config, name), float)
        else f"{_SHORT.get(name, name)}{getattr(config, name)}"
        for name in axes
    ]
    return re.sub(r"[^A-Za-z0-9._-]", "_", "-".join([prefix, *parts]))[:100]
