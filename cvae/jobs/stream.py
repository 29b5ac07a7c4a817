"""A fit's live stream from the worker to the app: ELBO points and timeline snapshots as Dask events.

Why Dask's events (`Worker.log_event` -> `Client.subscribe_topic`): sending costs the fit a
non-blocking hand-off to the worker's event loop, the scheduler pushes each event to the app
without polling, and it keeps only the last few per topic (CLUSTER_CONFIG), so a slow or absent
reader never grows anyone's memory; a reconnecting app reads those back (`get_events`).
Measured against distributed.Queue, Variable and an Actor: see bench/README.md.

Messages are plain msgpack data: points go in batches every PUBLISH_S (the first at once), each
with the index of its first row, so the reader can drop a repeat and notice a gap. The scheduler keeps
only the last events of a topic, so a reader that comes late (another web process, a restarted one)
asks for a "catchup": the plan, every point so far and the newest snapshot, in one message.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from cvae.training.history import History, Plan
from cvae.training.timeline import GRID, Snapshot

__all__ = ["PUBLISH_S", "LiveRun", "StreamPublisher", "forget_stream"]

PUBLISH_S = 0.25  # seconds between batches of points: the page shows them at most this late
_COLUMNS = ("step", "neg_elbo", "reconstruction", "kl", "time_s")


class StreamPublisher:
    """A PyMC-protocol callback on the worker that sends what the fit adds, via `send(message)`."""

    def __init__(self, send, catch_up_asked: threading.Event | None = None):
        self.send = send
        self._catch_up_asked = catch_up_asked or threading.Event()  # set by a reader that came late
        self._run = None
        self._started: dict = {}
        self._points = self._snapshots = 0
        self._last = 0.0

    def started(self, run, *, worker: str, pid: int) -> None:
        """Tell the app the fit has its data and a worker: the plan, and the probe digits' labels."""
        self._run = run
        plan = run.trainer.plan
        self._started = {
            "worker": worker,
            "pid": pid,
            "at": time.time(),
            "plan": [plan.total_steps, plan.steps_per_epoch, plan.batch_size],
            "labels": np.asarray(run.timeline.labels, dtype=np.int8).tobytes(),
        }
        self.send({"kind": "started", **self._started})

    def __call__(self, approx, losses, i) -> None:
        now = time.monotonic()
        self._answer_a_late_reader()
        if self._points == 0 or now - self._last >= PUBLISH_S:
            self._flush()
            self._last = now

    def _answer_a_late_reader(self) -> None:
        if self._catch_up_asked.is_set():
            self._catch_up_asked.clear()
            self._flush()
            self._catch_up()

    def _catch_up(self) -> None:
        """Everything a late reader needs at once: the start, every point so far, the newest snapshot."""
        history = self._run.trainer.history
        columns = {key: getattr(history, key)[: self._points] for key in _COLUMNS}
        snapshots = self._run.timeline.all()[: self._snapshots]
        self.send({"kind": "catchup", **self._started, "columns": columns, **_snapshot(snapshots[-1:])})

    def finish(self, run) -> None:
        """Send what is left (the last points, the final snapshot) before the result returns; a reader
        that asked to catch up during the last steps is answered too (no step is left to answer it)."""
        self._run = run
        self._answer_a_late_reader()
        self._flush()

    def _flush(self) -> None:
        history = self._run.trainer.history
        done = len(history)
        if done > self._points:
            columns = {key: getattr(history, key)[self._points : done] for key in _COLUMNS}
            self.send({"kind": "points", "start": self._points, "columns": columns})
            self._points = done
        snapshots = self._run.timeline.all()
        for snapshot in snapshots[self._snapshots :]:
            self.send({"kind": "snapshot", **_snapshot([snapshot])})
        self._snapshots = len(snapshots)


def _snapshot(snapshots: list[Snapshot]) -> dict:
    """A snapshot's fields for a message ({} for none)."""
    if not snapshots:
        return {}
    (snapshot,) = snapshots
    return {
        "step": snapshot.step,
        "time_s": snapshot.time_s,
        "mu": np.ascontiguousarray(snapshot.mu, dtype=np.float32).tobytes(),
        "manifold": np.ascontiguousarray(snapshot.manifold, dtype=np.uint8).tobytes(),
    }


@dataclass
class LiveRun:
    """What the app knows of a fit from its stream: filled by `receive`, read by the pages.

    Readers on other threads see whole rows: History and the snapshot list only grow."""

    history: History = field(default_factory=History)
    snapshots: list[Snapshot] = field(default_factory=list)
    labels: np.ndarray | None = None  # (N,) probe digits' labels, with the first message
    plan: Plan | None = None
    worker: str | None = None
    pid: int | None = None
    started_at: float | None = None  # wall clock, when the worker began
    gaps: int = 0  # batches of points lost in transit (a reconnect longer than the scheduler keeps)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def complete(self) -> bool:
        """Whether this reader has the fit's start and every point since (not a late reader's tail)."""
        return self.plan is not None and not self.gaps

    def receive(self, message: dict) -> None:
        with self._lock:
            kind = message.get("kind")
            if kind in ("started", "catchup"):
                total, per_epoch, batch = message["plan"]
                self.plan = Plan(int(total), int(per_epoch), int(batch))
                self.labels = np.frombuffer(message["labels"], dtype=np.int8).astype(np.int64)
                self.worker, self.pid, self.started_at = message["worker"], message["pid"], message["at"]
            if kind == "catchup" and len(message["columns"]["step"]) >= len(self.history):
                self.history, self.gaps = History(), 0  # whole again: readers take the new object
                self._points(0, message["columns"])
            elif kind == "points":
                self._points(int(message["start"]), message["columns"])
            if kind in ("snapshot", "catchup") and "mu" in message and self.labels is not None:
                n = len(self.labels)
                mu = np.frombuffer(message["mu"], dtype=np.float32).reshape(n, 2)
                manifold = np.frombuffer(message["manifold"], dtype=np.uint8).reshape(GRID * 28, GRID * 28)
                if not self.snapshots or self.snapshots[-1].step < message["step"]:
                    self.snapshots.append(Snapshot(int(message["step"]), float(message["time_s"]), mu, manifold))

    def _points(self, start: int, columns: dict) -> None:
        have = len(self.history)
        skip = max(0, have - start)  # a batch seen before (events replayed after a reconnect)
        if start > have:
            self.gaps += 1
        rows = zip(*(columns[key][skip:] for key in _COLUMNS))
        for step, neg_elbo, reconstruction, kl, time_s in rows:
            self.history.add_row(int(step), float(neg_elbo), float(reconstruction), float(kl), float(time_s))


def forget_stream(client, topic: str) -> None:
    """Unsubscribe, unpublish, and empty `topic` on the scheduler (it keeps every topic) once its job has ended."""

    def truncate(dask_scheduler=None):  # runs on the scheduler: a lambda-like closure, no cvae import there
        dask_scheduler._broker.truncate(topic)

    for forget in (
        lambda: client.unsubscribe_topic(topic),
        lambda: client.unpublish_dataset(topic),
        lambda: client.run_on_scheduler(truncate),
    ):
        with contextlib.suppress(Exception):  # already gone, or the scheduler is: nothing to forget
            forget()
