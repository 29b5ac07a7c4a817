"""A job's live stream as a reader sees it: repeats, a late start, a catch-up, and a real second start."""

import threading
from types import SimpleNamespace

import numpy as np

from cvae.config import TrainConfig
from cvae.jobs.records import WORKER_LOST, TrainingJob
from cvae.jobs.stream import LiveRun, StreamPublisher
from cvae.training.history import History, Plan

LABELS = np.arange(10, dtype=np.int8).repeat(100).tobytes()  # the 1,000 probe digits' labels
STARTED = {"kind": "started", "worker": "tls://w", "pid": 7, "at": 100.0, "plan": [80, 40, 100], "labels": LABELS}


def _points(start: int, stop: int) -> dict:
    steps = np.arange(start, stop)
    columns = {"step": steps, "neg_elbo": 200.0 - steps, "reconstruction": 190.0 - steps, "kl": 10.0 + 0 * steps}
    return {"kind": "points", "start": start, "columns": {**columns, "time_s": steps * 0.1}}


class Cancelled:
    def __init__(self):
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


def _job() -> TrainingJob:
    job = TrainingJob("j1", "run", TrainConfig(), None)
    job.future = Cancelled()
    return job


def test_a_start_seen_twice_is_one_start_but_a_second_workers_start_fails_the_job():
    job = _job()
    for message in (STARTED, _points(0, 5), STARTED, _points(0, 5), _points(5, 9)):  # replayed, then live
        job.receive(message)
    assert job.status == "running" and len(job.history) == 9 and not job.future.cancelled
    job.receive({**STARTED, "pid": 8, "at": 160.0})  # the scheduler gave the fit to another worker
    assert job.status == "failed" and job.message == WORKER_LOST and job.future.cancelled


def test_a_late_reader_has_a_gap_until_the_catch_up_makes_it_whole():
    live = LiveRun()
    live.receive(_points(40, 50))  # the scheduler had dropped the start and the first 40 points
    assert not live.complete and live.gaps == 1 and len(live.history) == 10
    catch_up = {**STARTED, "kind": "catchup", "columns": _points(0, 52)["columns"]}
    live.receive(catch_up)
    live.receive(_points(50, 55))  # sent before the catch-up was answered: nothing twice
    live.receive(_points(55, 60))
    assert live.complete and live.plan.total_steps == 80 and list(live.history.step) == list(range(60))


def test_a_reader_that_asks_during_the_last_steps_is_answered_when_the_fit_finishes():
    """The catch-up is answered in the per-step callback, and by `finish` when no step is left."""
    history = History()
    run = SimpleNamespace(
        trainer=SimpleNamespace(history=history, plan=Plan(60, 30, 100)),
        timeline=SimpleNamespace(labels=np.arange(10).repeat(100), all=list),  # no snapshots yet
    )
    sent, asked = [], threading.Event()
    publisher = StreamPublisher(sent.append, asked)
    publisher.started(run, worker="tls://w", pid=7)
    for step in range(60):
        history.append(step, 200.0 - step, 10.0, 1.0, step * 0.1)
        publisher(None, None, step)
    late = LiveRun()
    late.receive(sent[-1])  # the scheduler kept only the last message
    assert not late.complete
    asked.set()  # the late reader's request reaches the worker after the last step
    publisher.finish(run)
    assert [m["kind"] for m in sent].count("catchup") == 1 and not asked.is_set()
    first = next(k for k, message in enumerate(sent) if message["kind"] == "catchup")
    for message in sent[first:]:
        late.receive(message)
    assert late.complete and list(late.history.step) == list(range(60)) and late.plan.total_steps == 60
