"""What browser tests and benchmarks measure: artifacts/e2e_metrics.json, percentiles, a page's traffic."""

from __future__ import annotations

import json
import math
import time

from harness import ARTIFACTS

__all__ = ["FrameLog", "HttpLog", "merge_metrics", "percentile"]

METRICS = ARTIFACTS / "e2e_metrics.json"


def merge_metrics(values: dict) -> dict:
    """Merge `values` into artifacts/e2e_metrics.json (other keys are kept)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        current = json.loads(METRICS.read_text())
        if not isinstance(current, dict):
            current = {}
    except (OSError, ValueError):
        current = {}
    current.update(values)
    tmp = METRICS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    tmp.replace(METRICS)
    return current


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default), without numpy."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


class FrameLog:
    """Every websocket frame of a page, with the time it was seen (time.perf_counter())."""

    def __init__(self, page):
        self.frames: list[tuple[str, float, int]] = []
        self.sent_data: list[tuple[float, bytes]] = []  # what the page sent: BackMsgs
        page.on("websocket", self._attach)

    def _attach(self, ws) -> None:
        ws.on("framesent", self._sent)
        ws.on("framereceived", lambda data: self.frames.append(("received", time.perf_counter(), len(data or b""))))

    def _sent(self, data) -> None:
        now = time.perf_counter()
        self.frames.append(("sent", now, len(data or b"")))
        self.sent_data.append((now, data if isinstance(data, bytes) else str(data).encode()))

    def between(self, t0: float, t1: float) -> list[tuple[str, float, int]]:
        return [f for f in self.frames if t0 <= f[1] <= t1]


class HttpLog:
    """Bytes of every HTTP response a page loads (Chromium's count, headers included), by finish time."""

    def __init__(self, page):
        self.loads: list[tuple[float, int]] = []
        self._cdp = page.context.new_cdp_session(page)
        self._cdp.on(
            "Network.loadingFinished", lambda e: self.loads.append((time.perf_counter(), int(e["encodedDataLength"])))
        )
        self._cdp.send("Network.enable")

    def bytes_between(self, t0: float, t1: float) -> int:
        return sum(n for t, n in self.loads if t0 <= t <= t1)
