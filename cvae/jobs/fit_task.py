"""What a Dask worker runs for one training job: the fit, its live stream, its stop flag, its result.

The app submits `run_fit`; the worker streams progress as Dask events on the job's topic
(`cvae.jobs.stream`), watches the job's `distributed.Event` for Stop, and returns the run as
the bytes of a bundle (`cvae.store.bundle`), which the app validates like any import and saves
itself: workers need no shared file system with the app.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import threading
from pathlib import Path

from cvae.jobs.stream import StreamPublisher

__all__ = ["JobSpec", "run_fit", "wait_until_warm", "warm_worker"]

JobSpec = dict  # {"id", "name", "config": TrainConfig.to_dict(), "topic", "stop", "catch_up"}: plain data
WARM_WAIT_S = 60.0  # a fit that arrives during the worker's warm-up waits for it: it compiles what the fit needs
# (at idle priority until then, `cvae.jobs.cluster`; where it cannot be raised, the fit stops waiting after this)
_warming, _warm = threading.Event(), threading.Event()
_warm_thread: int | None = None  # the warming thread's Linux id, for `_hurry_warm_up`


def warm_worker() -> None:
    """Import PyMC and the training code in this worker process, and have the machine's compile
    cache filled (one low-priority `python -m cvae warm` per compile cache, however many workers).

    A fresh worker otherwise spends its first fit importing (~5 s) and, on a machine whose cache
    is cold, compiling (~30 s).
    """
    global _warm_thread
    if _warming.is_set():
        return  # every replica registers the worker plugin: one warm-up per process, not one each
    _warm_thread = threading.get_native_id()
    _warming.set()
    try:
        _configure_runtime()
        from cvae.config import TrainConfig
        from cvae.data.datasets import load_split
        from cvae.training.warmup import warm_in_background

        warm_in_background()
        data = load_split(TrainConfig(), "train")
        trainer = _trainers().borrow(TrainConfig(), data.images, data.labels)
        try:
            trainer.compiled_step()  # the default's graph, which the Classroom preset shares: Start is instant
            trainer.vae.encode(data.images[:1])  # and what a fit's timeline snapshots with
            trainer.vae.decode_grid(2)
        finally:
            _trainers().give_back(trainer)
    finally:
        _warm.set()


async def wait_until_warm(timeout: float) -> bool:
    """In a worker, through `Client.run`: whether its warm-up is done, waiting up to `timeout` s
    on a thread (the worker's event loop keeps answering its heartbeats meanwhile)."""
    import asyncio

    return await asyncio.to_thread(_warm.wait, timeout)


def _configure_runtime() -> None:
    from cvae.runtime import WORKER_BLAS_THREADS, configure, ensure_c

    configure(numpy_blas_threads=WORKER_BLAS_THREADS)  # not left to Dask's nanny (OPENBLAS_NUM_THREADS=1)
    ensure_c()  # a graph build racing the warm-up may have cleared PyTensor's compiler (cvae.runtime.ensure_c)


def _hurry_warm_up() -> None:
    """Give the warm-up (idle priority until now) the worker's priority: a fit waits on it."""
    # Leaving SCHED_IDLE needs root or an RLIMIT_NICE that allows the worker's nice level; else it stays
    with contextlib.suppress(AttributeError, OSError, TypeError):  # ... and not Linux, or the thread has ended
        os.sched_setscheduler(_warm_thread, os.SCHED_OTHER, os.sched_param(0))


@functools.cache
def _trainers():
    from cvae.training.trainer_cache import TrainerCache

    return TrainerCache(size=4)


def run_fit(job: JobSpec) -> dict:
    """Fit `job["config"]` in this worker; returns {"status", "message", "steps", "bundle": bytes, ...}."""
    from distributed import Event, get_worker

    from cvae.config import TrainConfig
    from cvae.store.bundle import export_bundle
    from cvae.training.run import TrainingRun

    if _warming.is_set() and not _warm.is_set():
        _hurry_warm_up()
        _warm.wait(WARM_WAIT_S)
    _configure_runtime()  # the warm-up's did it, unless it has not run (a worker without the FitWorker plugin)
    worker = get_worker()
    stop = _Watcher(Event(job["stop"]))
    catch_up = _Watcher(Event(job["catch_up"]), repeat=True) if job.get("catch_up") else None
    stream = StreamPublisher(lambda message: worker.log_event(job["topic"], message), catch_up and catch_up.flag)
    try:
        config = TrainConfig.from_dict(job["config"])
        run = TrainingRun.prepare(config, _trainers())
        stream.started(run, worker=worker.address, pid=os.getpid())
        result = run.fit(callbacks=[stream], stop_event=stop.flag)
        stream.finish(run)
        with tempfile.TemporaryDirectory(prefix="cvae-run-") as tmp:
            path = run.save(Path(tmp) / job["name"], result, name=job["name"])
            bundle = export_bundle(path)
        _trainers().give_back(run.trainer)  # compiled: the next fit of this graph starts at once
    finally:
        for watcher in (stop, catch_up):
            if watcher is not None:
                watcher.close()
    return {
        "status": result.status,
        "message": result.message,
        "steps": result.steps,
        "bundle": bundle,
        "images_per_s": round(result.images_per_s, 1),
        "compile_s": round(result.compile_s, 2),
    }


class _Watcher:
    """Turns one of the job's `distributed.Event`s (Stop; a late reader's catch-up) into a local flag the
    per-step callback reads for free. A thread blocks on the event (a call to the scheduler), so the
    fit's own thread never does; Stop then reaches the fit within one step of arriving. With `repeat`,
    the event is cleared each time it is seen, and the flag is the fit's to clear."""

    def __init__(self, event, *, repeat: bool = False):
        event.client  # noqa: B018 - bind the worker's client here, in the task's thread (the watcher has none)
        self.flag, self._event, self._repeat, self._done = threading.Event(), event, repeat, threading.Event()
        self._thread = threading.Thread(target=self._watch, name="cvae-event-watch", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.is_set():
            try:
                if self._event.wait(timeout=0.5):
                    self.flag.set()
                    if not self._repeat:
                        return
                    self._event.clear()
            except Exception:
                self._done.wait(1.0)

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=2)
