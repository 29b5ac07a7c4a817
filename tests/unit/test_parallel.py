"""How an Op's work is split over threads."""

import os
import threading

import pytest

from cvae.nn import parallel as parallel_module
from cvae.nn.parallel import parallel
from cvae.settings import settings


def test_every_thread_gets_a_piece_even_when_scratch_is_small(monkeypatch):
    monkeypatch.setattr(parallel_module, "threads", lambda: 2)
    pieces = parallel(lambda lo, hi: (lo, hi), 100, work=2**30, item_bytes=16)
    assert pieces == [(0, 50), (50, 100)]
    pieces = parallel(lambda lo, hi: (lo, hi), 100, work=2**30, item_bytes=settings().chunk_bytes // 10)
    assert pieces == [(lo, lo + 10) for lo in range(0, 100, 10)]
    assert parallel(lambda lo, hi: (lo, hi), 100, work=10, item_bytes=16) == [(0, 100)]


def test_the_pieces_are_equal_and_a_multiple_of_the_threads(monkeypatch):
    """Scratch for 35 items a piece would make 3 pieces of 100: two threads would share them 2 + 1."""
    monkeypatch.setattr(parallel_module, "threads", lambda: 2)
    item = settings().chunk_bytes // 35
    assert parallel(lambda lo, hi: (lo, hi), 100, work=2**30, item_bytes=item) == [
        (0, 25),
        (25, 50),
        (50, 75),
        (75, 100),
    ]
    monkeypatch.setattr(parallel_module, "threads", lambda: 3)
    sizes = [hi - lo for lo, hi in parallel(lambda lo, hi: (lo, hi), 100, work=2**30, item_bytes=item)]
    assert len(sizes) == 3 and sum(sizes) == 100 and max(sizes) - min(sizes) <= 2
    assert parallel(lambda lo, hi: (lo, hi), 3, work=2**30, item_bytes=item) == [(0, 1), (1, 2), (2, 3)]


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_an_idle_priority_thread_works_alone_and_never_starts_the_pool(monkeypatch):
    """A pool thread inherits its creator's SCHED_IDLE for good: a worker's warm-up must not start them."""
    monkeypatch.setattr(parallel_module, "threads", lambda: 2)
    monkeypatch.setattr(parallel_module, "_pool", None)
    seen = []

    def idle_caller():
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        seen.extend(parallel(lambda lo, hi: (threading.current_thread().name, lo, hi), 100, work=2**30))

    caller = threading.Thread(target=idle_caller, name="idle-caller")
    caller.start()
    caller.join()
    assert seen == [("idle-caller", 0, 50), ("idle-caller", 50, 100)]
    assert parallel_module._pool is None
    assert os.sched_getscheduler(0) != os.SCHED_IDLE  # the test's own thread is untouched
