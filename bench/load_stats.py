"""What the load benchmarks read: the load average, a process tree's CPU and memory from /proc, latency percentiles."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

from harness.metrics import percentile

__all__ = ["cpu_s", "loadavg", "rss_mb", "settle", "summary", "thread_cpu_s", "tree_cpu_s"]


def loadavg() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


def _stat_cpu_s(stat: Path) -> float:
    """User + system CPU seconds from a /proc .../stat file (a process's or a thread's)."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    return _stat_cpu_s(Path(f"/proc/{pid}/stat"))


def thread_cpu_s(pid: int) -> dict[int, float]:
    """CPU seconds of each live thread of `pid`, by thread id (a thread that has ended is not listed)."""
    threads = {}
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):  # a thread that just ended
            threads[int(stat.parent.name)] = _stat_cpu_s(stat)
    return threads


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of `pid` and every process below it (the training workers, the compile warm-up)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    tree, grown = {pid}, True
    while grown:
        below = {child for child, parent in parents.items() if parent in tree}
        grown, tree = bool(below - tree), tree | below
    total = 0.0
    for member in tree:
        with contextlib.suppress(OSError, ValueError, IndexError):  # a process that just ended
            total += cpu_s(member)
    return total


async def settle(pid: int, *, quiet: float = 0.25, limit_s: float = 120.0) -> float:
    """Wait until the server's process tree uses under `quiet` of a core (its workers started, its
    compile cache warm), at most `limit_s`; returns the seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        before = tree_cpu_s(pid)
        await asyncio.sleep(3)
        if (tree_cpu_s(pid) - before) / 3 < quiet:
            break
    return round(time.monotonic() - start, 1)


def summary(samples: list[float]) -> dict:
    ms = [1000 * s for s in samples]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "max_ms": round(max(ms), 1) if ms else None,
    }
