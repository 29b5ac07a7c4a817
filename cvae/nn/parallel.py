"""Splitting one Op's work over a few threads: cache-sized pieces, taken as threads come free.

With the single-threaded private BLAS (`cvae.nn.blas`), each convolution splits its batch over
`threads()` Python threads (BLAS calls and NumPy copies release the GIL): one join per Op
instead of OpenBLAS's spin-wait per block, which costs a scheduler time slice per block on a
busy machine. concurrent.futures' pool runs the pieces; what it lacks, and this adds, is that
the caller works too and waits only for pieces a helper already took.
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from cvae.nn.blas import private_blas
from cvae.settings import settings

__all__ = ["parallel", "threads"]

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_this_thread = threading.local()


@functools.cache
def threads() -> int:
    """Threads per Op: CVAE_NUM_THREADS (default: the CPUs this process may use); 1 without
    the private BLAS, whose NumPy stand-in threads on its own."""
    return settings().num_threads if private_blas() is not None else 1


@functools.cache
def _chunk_bytes() -> int:
    return settings().chunk_bytes  # read once: this is on every Op's path


def _on_idle_thread() -> bool:
    """Whether the calling thread runs at SCHED_IDLE (a worker's warm-up, `cvae.jobs.cluster`):
    a pool thread it started would inherit that priority for good (no unprivileged way back)."""
    idle = getattr(_this_thread, "idle", None)
    if idle is None:  # once per thread: this is on every Op's path
        policy = getattr(os, "sched_getscheduler", None)
        idle = _this_thread.idle = policy is not None and policy(0) == os.SCHED_IDLE
    return idle


def _forget_pool() -> None:
    """A forked child has none of the parent's threads: start a fresh pool there when needed."""
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)  # a fork (e.g. crash tests) must not inherit a dead pool


def parallel(part, n: int, work: float, item_bytes: int = 0, min_work: float = 2**21) -> list:
    """[part(lo, hi) for pieces covering range(n)], run by `threads()` threads (one for `work`, in
    multiply-adds, under `min_work`, where a hand-off costs more than it saves). Each piece's scratch
    (`item_bytes` per item) fits in the cache, so im2col's patches are still there when
    the matrix multiply reads them; threads take pieces as they come free, so a thread
    the OS preempts (a busy machine) delays the Op by one piece, not by half of it."""
    global _pool
    count = threads()
    workers = min(count, n) if work >= min_work else 1
    step = -(-n // workers)  # at least one piece per thread, even when the scratch is small
    if item_bytes:
        step = max(1, min(step, _chunk_bytes() // item_bytes))
    # then as many equal pieces as the next multiple of the threads: 3 pieces on 2 threads (the classroom
    # network's 28x28 layers) left one thread idle for a third of the Op (-1.5% a training step, A/B)
    n_pieces = -(-n // step)
    n_pieces = min(n, -(-n_pieces // workers) * workers)
    step = -(-n // n_pieces)
    pieces = [(lo, min(lo + step, n)) for lo in range(0, n, step)] or [(0, n)]
    workers = min(workers, len(pieces))
    if workers <= 1 or _on_idle_thread():
        return [part(lo, hi) for lo, hi in pieces]
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(count - 1, thread_name_prefix="cvae-blas")
    results: list = [None] * len(pieces)
    errors: list = []
    taken = itertools.count()  # next() is atomic under the GIL
    done = itertools.count(1)
    finished = threading.Event()

    def run():
        for i in iter(lambda: next(taken), None):
            if i >= len(pieces):
                return
            try:
                results[i] = part(*pieces[i])
            except BaseException as err:
                errors.append(err)
            if next(done) == len(pieces):
                finished.set()

    for _ in range(workers - 1):
        _pool.submit(run)
    run()
    finished.wait()  # only for pieces a helper already took: one that never got a CPU is not waited for
    if errors:
        raise errors[0]
    return results
