"""The teacher code, checked for the whole server: every wrong code makes the next try wait longer.

The delay is per server, not per browser tab (a new tab resets nothing): after n wrong codes in a
row the next try waits min(2^(n-1), MAX_WAIT_S) seconds, whoever makes it; a right code, or
QUIET_S without a wrong one, starts the count again. The code itself is never logged or echoed.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass

__all__ = ["MAX_WAIT_S", "Attempt", "TeacherGate"]

MAX_WAIT_S = 60.0  # a guess a minute at most: hopeless against a real code, a short wait for the teacher
QUIET_S = 900.0


@dataclass(frozen=True)
class Attempt:
    outcome: str  # "signed-in", "wrong", "wait" (too soon after a wrong code) or "disabled" (no code set)
    wait_s: float = 0.0  # for "wrong" and "wait": seconds before the next try is accepted


class TeacherGate:
    def __init__(self, code: str | None, *, clock=time.monotonic):
        self._code = code.encode("utf-8") if code else None
        self._clock = clock
        self._wrong, self._last_wrong, self._next_try = 0, -QUIET_S, 0.0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._code is not None

    def wait_s(self) -> float:
        """Seconds until a try is accepted (0: now)."""
        with self._lock:
            return max(0.0, self._next_try - self._clock())

    def attempt(self, given: str) -> Attempt:
        if self._code is None:
            return Attempt("disabled")
        with self._lock:
            now = self._clock()
            if now < self._next_try:
                return Attempt("wait", self._next_try - now)
            if isinstance(given, str) and hmac.compare_digest(given.encode("utf-8"), self._code):
                self._wrong = 0
                return Attempt("signed-in")
            if now - self._last_wrong > QUIET_S:
                self._wrong = 0
            self._wrong += 1
            self._last_wrong = now
            delay = min(2.0 ** (self._wrong - 1), MAX_WAIT_S)
            self._next_try = now + delay
            return Attempt("wrong", delay)
