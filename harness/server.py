"""A real `streamlit run app.py` in a subprocess on a free port, for the end-to-end tests and the benchmarks."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from harness import ROOT

__all__ = ["StreamlitServer", "free_port", "serving"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StreamlitServer:
    """`streamlit run app.py` from the repo root (or another app's folder) on a free port, logging to a file."""

    def __init__(
        self,
        runs_dir: Path,
        log_path: Path,
        *,
        port: int | None = None,
        env: dict | None = None,
        address: str | None = "127.0.0.1",
        app_dir: Path = ROOT,
    ):
        self.port = port or free_port()
        self.env = env or {}  # extra environment, e.g. CVAE_TEACHER_CODE
        self.address = address  # None: whatever .streamlit/config.toml says
        self.url = f"http://127.0.0.1:{self.port}"
        self.runs_dir = Path(runs_dir)
        self.app_dir = Path(app_dir)  # where its app.py is (a benchmark's reference app, say)
        self.log_path = Path(log_path)
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 90.0) -> str:
        env = dict(os.environ, CVAE_RUNS_DIR=str(self.runs_dir), PYTHONUNBUFFERED="1", **self.env)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - held for the server's lifetime, closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless=true",
                *([f"--server.address={self.address}"] if self.address else []),
                f"--server.port={self.port}",
                "--browser.gatherUsageStats=false",
            ],
            cwd=self.app_dir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200 and response.read().strip() == b"ok":
                        return self.url
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        raise TimeoutError(f"streamlit not healthy after {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the server (its own process group), SIGKILL if it does not exit in time."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"


@contextlib.contextmanager
def serving(runs_dir: Path, log_path: Path, *, timeout: float = 90.0, **options):
    """A started StreamlitServer for a test module: (url, runs_dir, log_tail); stopped afterwards."""
    from types import SimpleNamespace

    server = StreamlitServer(runs_dir, log_path, **options)
    try:
        yield SimpleNamespace(url=server.start(timeout=timeout), runs_dir=Path(runs_dir), log_tail=server.log_tail)
    finally:
        server.stop()
