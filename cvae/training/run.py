"""One training run end to end: data -> PyMC fit with a timeline of snapshots -> checkpoint.

The CLI and the app's background jobs both train through this, so a run saved by either
holds the same files and metadata.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cvae.config import TrainConfig
from cvae.data.datasets import load_split
from cvae.store.checkpoint import save_checkpoint
from cvae.training.timeline import PROBE_SIZE, Timeline, timeline_arrays
from cvae.training.trainer import Callback, Trainer, TrainResult
from cvae.training.trainer_cache import TrainerCache

__all__ = ["TrainingRun"]


@dataclass
class TrainingRun:
    trainer: Trainer
    timeline: Timeline  # the first PROBE_SIZE test digits, snapshotted while training

    @classmethod
    def prepare(cls, config: TrainConfig, trainers: TrainerCache | None = None) -> TrainingRun:
        """Load the data and build the PyMC model (or borrow a compiled one from `trainers`)."""
        data, probe = load_split(config, "train"), load_split(config, "test")
        if trainers is None:
            trainer = Trainer(config, data.images, labels=data.labels)
        else:
            trainer = trainers.borrow(config, data.images, data.labels)
        # a data_dir without a labels file: the probe digits' labels are unknown (-1)
        probe_labels = probe.labels if probe.labels is not None else np.full(len(probe), -1)
        timeline = Timeline(trainer.vae, probe.images[:PROBE_SIZE], probe_labels[:PROBE_SIZE])
        return cls(trainer, timeline)

    def fit(self, callbacks: Iterable[Callback] = (), stop_event: threading.Event | None = None) -> TrainResult:
        # the caller's callbacks first: a live stream sends the first ELBO point before the first snapshot
        result = self.trainer.fit([*callbacks, self.timeline], stop_event)
        self.timeline.take(result.steps)  # the final state, for replay
        return result

    def last_epoch_neg_elbo(self, result: TrainResult) -> float | None:
        """Mean training -ELBO (nats per image) over the last epoch's steps."""
        return result.history.final("neg_elbo", self.trainer.steps_per_epoch)

    def save(self, path: Path, result: TrainResult, **meta) -> Path:
        return save_checkpoint(
            path,
            result.vae,
            result.history,
            timeline=timeline_arrays(self.timeline),
            status=result.status,
            steps=result.steps,
            steps_per_epoch=self.trainer.steps_per_epoch,
            images_per_s=round(result.images_per_s, 1),
            train_neg_elbo=self.last_epoch_neg_elbo(result),
            **meta,
        )
