"""Saved runs side by side: the rows of the Compare page's table and their shared x axis."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cvae.config import TrainConfig
from cvae.training.history import History

__all__ = ["SETTING_COLUMNS", "compare_row", "differing_fields", "epoch_axis"]

SETTING_COLUMNS = ("model", "arch", "latent dim", "likelihood", "prior", "conditional", "batch norm", "beta", "epochs")


def epoch_axis(steps: Sequence[int], steps_per_epoch: int) -> np.ndarray:
    """History steps (1-based minibatches) -> epochs."""
    return np.asarray(steps, dtype=float) / steps_per_epoch


def compare_row(name: str, config: TrainConfig, history: History, steps_per_epoch: int) -> dict:
    """One table row: the model kind and options and the settings that shape the latent map, and the
    last epoch's mean -ELBO and KL."""
    final = {key: history.final(key, steps_per_epoch) for key in ("neg_elbo", "kl")}
    return {
        "run": name,
        "model": config.model,
        "arch": config.arch,
        "latent dim": config.latent_dim,
        "likelihood": config.likelihood + (", sigma learned" if config.learn_sigma else ""),
        "prior": config.prior + (f" (K={config.prior_components})" if config.prior == "mixture" else ""),
        "conditional": config.conditional,
        "batch norm": config.batch_norm,
        "beta": config.beta,
        "epochs": config.epochs,
        "final train -ELBO": None if final["neg_elbo"] is None else round(final["neg_elbo"], 2),
        "final KL": None if final["kl"] is None else round(final["kl"], 2),
    }


def differing_fields(rows: Sequence[dict]) -> list[str]:
    """Setting columns whose value is not the same in every row (the 'run' and metrics excluded)."""
    return [k for k in SETTING_COLUMNS if len({row[k] for row in rows}) > 1]
