"""Trainers kept by compiled graph, for a process that fits one config after another (a Dask worker).

A student's Start then reuses a step compiled for an earlier fit of the same architecture, size and
model (any beta, learning rate, seed, epochs or dataset), instead of compiling one anew (~2 s warm,
~25 s with a cold compile cache): the first ELBO point comes at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from cvae.config import TrainConfig
from cvae.training.trainer import Trainer, graph_key

__all__ = ["TrainerCache"]


class TrainerCache:
    """At most `size` trainers by `graph_key`; a trainer is lent to one fit at a time."""

    def __init__(self, size: int = 4):
        self.size = size
        self._idle: OrderedDict[tuple, Trainer] = OrderedDict()
        self._lent: set[tuple] = set()
        self._free = threading.Condition()

    def borrow(
        self, config: TrainConfig, images: np.ndarray, labels: np.ndarray | None = None, *, wait_s: float = 60.0
    ) -> Trainer:
        """A trainer for `config` on `images`: a kept one rearmed, or a new one. If the one kept for
        this graph is in use (being compiled by the warm-up), wait up to `wait_s` for it."""
        key = graph_key(config)
        with self._free:
            self._free.wait_for(lambda: key not in self._lent, timeout=wait_s)
            kept = self._idle.pop(key, None) if key not in self._lent else None
            if kept is not None:
                self._lent.add(key)
        if kept is None:
            return Trainer(config, images, labels=labels)
        try:
            kept.rearm(config, images, labels=labels)
        except Exception:
            self._done(key)
            raise
        return kept

    def give_back(self, trainer: Trainer) -> None:
        """Keep `trainer` (compiled) for the next fit of its graph; the oldest beyond `size` go."""
        key = graph_key(trainer.config)
        with self._free:
            self._lent.discard(key)
            self._idle[key] = trainer
            self._idle.move_to_end(key)
            while len(self._idle) > self.size:
                self._idle.popitem(last=False)
            self._free.notify_all()

    def _done(self, key: tuple) -> None:
        with self._free:
            self._lent.discard(key)
            self._free.notify_all()
