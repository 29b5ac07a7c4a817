"""Snapshots of the latent map and the manifold taken while a model trains, for live view and replay."""

from __future__ import annotations

import threading
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cvae.data.datasets import to_uint8
from cvae.model.vae import VAE

__all__ = ["PROBE_SIZE", "Snapshot", "Timeline", "load_timeline", "timeline_arrays"]

GRID, EXTENT = 8, 2.0
PROBE_SIZE = 1000  # test digits snapshotted for the live latent map


@dataclass(frozen=True)
class Snapshot:
    step: int
    time_s: float
    mu: np.ndarray  # (N, 2) q(z|x) means of the probe digits (first two latent dims)
    manifold: np.ndarray  # (GRID*28, GRID*28) uint8 decoded grid over [-EXTENT, EXTENT]^2


class Timeline:
    """A PyMC-protocol callback that snapshots at most every `interval_s` seconds of training.

    The interval stretches to ten times the cost of one snapshot, so a slow network
    spends at most ~10% of its time on them. Readers on other threads see whole snapshots.
    """

    def __init__(
        self,
        vae: VAE,
        probe_images: np.ndarray,
        probe_labels: np.ndarray,
        *,
        interval_s: float = 3.0,
        max_snapshots: int = 400,
    ):
        self.vae, self.images, self.labels = vae, probe_images, probe_labels
        self.interval_s, self.max_snapshots = interval_s, max_snapshots
        self.snapshots: list[Snapshot] = []
        self._started = time.perf_counter()
        self._next_at = 0.0
        self._lock = threading.Lock()

    def __call__(self, approx, losses, i) -> None:
        if time.perf_counter() >= self._next_at:
            self.take(i)

    def take(self, step: int) -> None:
        began = time.perf_counter()
        mu = self.vae.encode(self.images, self.labels)[0][:, :2].astype(np.float32)  # a conditional VAE needs y
        manifold = to_uint8(self.vae.decode_grid(GRID, EXTENT))
        snapshot = Snapshot(step, began - self._started, mu, manifold)
        with self._lock:
            if self.snapshots and self.snapshots[-1].step == step:
                return
            self.snapshots.append(snapshot)
            if len(self.snapshots) > self.max_snapshots:  # thin out evenly, keep the latest
                self.snapshots = self.snapshots[::2] + ([] if len(self.snapshots) % 2 else [snapshot])
        cost = time.perf_counter() - began
        self._next_at = time.perf_counter() + max(self.interval_s, 10 * cost)

    def latest(self) -> Snapshot | None:
        with self._lock:
            return self.snapshots[-1] if self.snapshots else None

    def all(self) -> list[Snapshot]:
        with self._lock:
            return list(self.snapshots)


def timeline_arrays(timeline: Timeline) -> dict[str, np.ndarray]:
    """The snapshots as plain arrays for a checkpoint's timeline.npz."""
    snaps = timeline.all()
    if not snaps:
        return {}
    return {
        "step": np.array([s.step for s in snaps]),
        "time_s": np.array([s.time_s for s in snaps]),
        "mu": np.stack([s.mu for s in snaps]),
        "manifold": np.stack([s.manifold for s in snaps]),
        "labels": np.asarray(timeline.labels),
    }


def load_timeline(path: Path) -> tuple[list[Snapshot], np.ndarray] | None:
    """Snapshots and probe labels saved with a checkpoint, or None if it has none or it is unreadable."""
    file = Path(path) / "timeline.npz"
    if not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as data:
            step, time_s, mu, manifold, labels = (data[k] for k in ("step", "time_s", "mu", "manifold", "labels"))
    except (
        OSError,
        ValueError,
        KeyError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
        MemoryError,
        NotImplementedError,
        RuntimeError,
    ):  # a damaged zip raises BadZipFile/zlib.error, not OSError
        return None
    if not (len(step) == len(time_s) == len(mu) == len(manifold)) or mu.ndim != 3 or mu.shape[1] != len(labels):
        return None
    return [Snapshot(int(s), float(t), m, g) for s, t, m, g in zip(step, time_s, mu, manifold)], labels
