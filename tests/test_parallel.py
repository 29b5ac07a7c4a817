"""How an Op's work is split over threads."""

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
