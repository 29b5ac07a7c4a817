"""The processes of a deployment: each in a process group of its own with its own log file, waited for
with a bound, stopped with SIGTERM and then SIGKILL; and the loopback checks that say a part is up."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = [
    "STOP",
    "Part",
    "StartError",
    "Stopped",
    "http_ok",
    "port_taken",
    "session_ended_with_parent",
    "start",
    "wait_until",
]

STOP = threading.Event()  # set by the deployment's SIGTERM/SIGINT handler; every wait checks it
STOP_S = 20.0  # SIGTERM, then this long before SIGKILL: Streamlit and Dask close their sessions meanwhile


class StartError(RuntimeError):
    """A part did not start; the message names it and ends with its log's last lines."""


class Stopped(Exception):
    """STOP was set (a signal) while waiting for a part."""


class Part:
    """One started process (and whatever it starts in its process group)."""

    def __init__(self, name: str, where: str, proc: subprocess.Popen, log: Path):
        self.name, self.where, self.proc, self.log = name, where, proc, log

    @property
    def pid(self) -> int:
        return self.proc.pid

    def exited(self) -> int | None:
        """Its exit code once it has exited, else None."""
        return self.proc.poll()

    def terminate(self) -> None:
        """SIGTERM to its process group (finish() waits for it)."""
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)

    def finish(self) -> None:
        """Wait for it to exit after terminate(), SIGKILL at STOP_S; then SIGKILL what outlived it in its group."""
        try:
            self.proc.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            _signal_group(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        _signal_group(self.proc.pid, signal.SIGKILL)

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def session_ended_with_parent() -> None:
    """In the child: SIGTERM it when the thread that started it dies (Linux), so that a deployment killed
    with SIGKILL leaves no replica behind; its own process group, so that stopping it reaches its children."""
    os.setsid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start(
    name: str,
    where: str,
    command: Sequence[str],
    log: Path,
    *,
    env: dict[str, str],
    cwd: Path,
    niceness: int = 0,
) -> Part:
    """Start `command` with its output in `log` (appended) and stdin closed."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            ["nice", "-n", str(niceness), *command] if niceness else list(command),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=session_ended_with_parent,  # only setsid and prctl: safe between fork and exec
        )
    return Part(name, where, proc, log)


def wait_until(ready: Callable[[], bool], what: str, timeout: float, watch: Sequence[Part]) -> None:
    """Poll `ready` until it is true; fail at `timeout`, or at once if a part in `watch` exits or STOP is set."""
    deadline = time.monotonic() + timeout
    while not ready():
        if STOP.is_set():
            raise Stopped(what)
        for part in watch:
            code = part.exited()
            if code is not None:
                raise StartError(
                    f"{part.name} exited with code {code} while {what}; the end of {part.log}:\n{part.log_tail()}"
                )
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.name} ({p.log}):\n{p.log_tail()}" for p in watch)
            raise StartError(f"not ready after {timeout:.0f} s: {what}\n{tails}")
        STOP.wait(0.25)


def http_ok(url: str, body: bytes = b"ok", headers: dict[str, str] | None = None) -> bool:
    """Whether GET `url` answers 200 with `body`."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            return response.status == 200 and response.read().strip() == body
    except (urllib.error.URLError, OSError):
        return False


def port_taken(port: int) -> bool:
    """Whether something already listens on 127.0.0.1:`port`, or it cannot be bound as HAProxy binds it
    (SO_REUSEADDR: connections of an earlier listener waiting out TIME_WAIT do not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False
