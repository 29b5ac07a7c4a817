"""`deploy/run-local.sh` under test: started as a subprocess, read until "ready", stopped with SIGTERM,
and checked that every process it named is gone and its port free (tests/e2e/test_deploy.py).

    with local_deployment(tmp_path / "deploy") as deployment:
        deployment.proxy_url, deployment.replica_urls, deployment.database_url
        deployment.served_by("/_stcore/health?probe=1")   # which replica HAProxy sent that request to

`sticky=False` starts it with `--no-sticky`, which exists only for the negative-control test.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from deploy.parts import port_taken, session_ended_with_parent

__all__ = ["DeployFailed", "LocalDeployment", "gone", "local_deployment", "proxy_log", "script_env"]

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "deploy" / "run-local.sh"
READY_S = 420.0  # two replicas' warm start on two shared cores (a load average of 10 was seen)
STOP_S = 120.0  # every part's SIGTERM, SIGKILL after 20 s each at worst
# HAProxy's `option httplog` line: ... frontend backend/server timers status bytes ... "METHOD PATH HTTP/1.1"
LOG_LINE = re.compile(r'\] \S+ replicas/(?P<server>\S+) \S+ (?P<status>-?\d+) .*"(?P<method>[A-Z]+) (?P<path>\S+)')


class DeployFailed(RuntimeError):
    """run-local.sh exited before "ready"; the message holds everything it printed."""


@dataclass
class LocalDeployment:
    state: Path
    port: int
    replicas: int = 2
    sticky: bool = True
    options: list[str] = field(default_factory=list)  # more of run-local.sh's options, e.g. ["--database", URL]
    proc: subprocess.Popen | None = None
    lines: list[str] = field(default_factory=list)  # everything it printed, stdout and stderr
    parts: dict[str, tuple[str, int]] = field(default_factory=dict)  # name -> (where, pid)
    ready_s: float | None = None  # launch to "ready"
    _ready: threading.Event = field(default_factory=threading.Event)
    _began: float = 0.0

    @property
    def proxy_url(self) -> str:
        return self.parts["proxy"][0]

    @property
    def replica_urls(self) -> list[str]:
        return [where for name, (where, _) in sorted(self.parts.items()) if name.startswith("replica-")]

    @property
    def database_url(self) -> str:
        return (self.state / "database-url").read_text().strip()

    @property
    def pids(self) -> dict[str, int]:
        return {name: pid for name, (_, pid) in self.parts.items()}

    def launch(self) -> LocalDeployment:
        """Start run-local.sh; its output is read as it comes."""
        command = [str(SCRIPT), str(self.port), str(self.replicas), "--state", str(self.state)]
        self._began = time.monotonic()
        self.proc = subprocess.Popen(
            command + ([] if self.sticky else ["--no-sticky"]) + self.options,
            cwd=ROOT,
            env=script_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=session_ended_with_parent,  # a killed test run leaves no deployment behind
        )
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def start(self, timeout: float = READY_S) -> LocalDeployment:
        """launch(), then wait for "ready" (ready_s: how long it took)."""
        self.launch()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.5):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self._ready.wait(2)  # the reader's last lines
                if not self._ready.is_set():
                    raise DeployFailed(f"run-local.sh not ready (exit {self.proc.poll()}):\n" + self.output())
        self.ready_s = time.monotonic() - self._began
        return self

    def _read(self) -> None:
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            found = re.match(r"(\S+)\s+(.*?)\s+pid (\d+)$", line)  # what, where, pid
            if found and not line.startswith("stopped"):
                self.parts[found[1]] = (found[2], int(found[3]))
            if line.startswith("ready"):
                self._ready.set()

    def output(self) -> str:
        return "\n".join(self.lines)

    def stop(self, timeout: float = STOP_S) -> int:
        """SIGTERM to run-local.sh alone (it stops its own parts); its exit code. SIGKILL to its
        group after `timeout` (then fails: it should have stopped itself)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            raise AssertionError(f"run-local.sh did not stop within {timeout:.0f} s:\n{self.output()}") from None

    def served_by(self, path: str, timeout: float = 15.0) -> tuple[str, int]:
        """(replica, status) of the newest proxy log line whose path contains `path` (r1, r2, ...)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hits = [e for e in proxy_log(self.state) if path in e["path"]]
            if hits:
                return hits[-1]["server"], int(hits[-1]["status"])
            time.sleep(0.1)
        raise AssertionError(f"no proxy log line for {path!r} after {timeout:.0f} s")


def script_env() -> dict[str, str]:
    """The environment for run-local.sh: the deployment runs on this Python (CI's second stack is a venv)."""
    import sys

    return dict(os.environ, PYTHON=sys.executable)


def proxy_log(state: Path) -> list[dict[str, str]]:
    """HAProxy's request lines so far, parsed: server, status, method, path."""
    try:
        text = (state / "logs" / "proxy.log").read_text(errors="replace")
    except OSError:
        return []
    return [m.groupdict() for m in map(LOG_LINE.search, text.splitlines()) if m]


def gone(pid: int) -> bool:
    """No such process, or only a zombie nobody has reaped yet (in a container, init may never reap)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


@contextlib.contextmanager
def local_deployment(state: Path, *, port: int | None = None, replicas: int = 2, sticky: bool = True):
    """A started deployment; on exit it is stopped, and every process it named must be gone and its port free."""
    from harness.server import free_port

    deployment = LocalDeployment(Path(state), port or free_port(), replicas, sticky)
    try:
        yield deployment.start()
    finally:
        code = deployment.stop()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(gone(p) for p in deployment.pids.values()):
            time.sleep(0.2)
        left = {name: pid for name, pid in deployment.pids.items() if not gone(pid)}
        assert not left, f"still running after run-local.sh stopped: {left}\n{deployment.output()}"
        assert not port_taken(deployment.port), f"port {deployment.port} still taken"
        assert code == 0, f"run-local.sh exited with {code}:\n{deployment.output()}"
