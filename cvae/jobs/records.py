"""A training job as the app knows it, and the small files that outlive the app server.

`runs/.jobs.json` lists the recent jobs (no live data: name, config, status), so a restarted
server can say which trainings it lost; `runs/.server-secret` keys the owner tokens, so a
student's link still proves ownership after a restart. Both are written atomically.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cvae.atomic import write_atomic
from cvae.config import ConfigError, TrainConfig
from cvae.jobs.stream import LiveRun
from cvae.training.history import History, Plan, Progress

__all__ = ["JobRecords", "TrainingJob", "server_secret"]

ACTIVE = ("queued", "preparing", "running")
KEEP = 100  # jobs remembered across restarts
log = logging.getLogger(__name__)


@dataclass
class TrainingJob:
    id: str
    name: str
    config: TrainConfig
    checkpoint: Path
    session: str = ""  # an id of the session that started it (never shown to others)
    created: float = field(default_factory=time.time)
    status: str = "queued"  # queued, preparing, running, finished, stopped, diverged, failed, lost
    message: str = "waiting for a free worker"
    first_point_s: float | None = None
    saved: bool = False
    live: LiveRun = field(default_factory=LiveRun)
    future: Any = field(default=None, repr=False)  # the Dask future, while this app follows it

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def topic(self) -> str:
        return f"cvae-job-{self.id}"  # its event stream, and the published name of its future

    @property
    def stop_event(self) -> str:
        return f"cvae-stop-{self.id}"

    @property
    def history(self) -> History:
        return self.live.history

    @property
    def plan(self) -> Plan | None:
        return self.live.plan

    def progress(self) -> Progress:
        return self.history.progress(self.plan or Plan(0, 1, self.config.batch_size))

    def fail(self, message: str) -> None:
        self.status = "lost" if message.startswith("lost") else "failed"
        self.message = message

    def record(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "config": self.config.to_dict(),
            "session": self.session,
            "created": self.created,
            "status": self.status,
            "message": self.message,
            "saved": self.saved,
        }


class JobRecords:
    """The recent jobs of this runs directory, in `.jobs.json`."""

    def __init__(self, runs_root: Path):
        self.runs_root = Path(runs_root)
        self.path = self.runs_root / ".jobs.json"

    def load(self) -> list[TrainingJob]:
        """Jobs saved by an earlier server; an unreadable file is logged and ignored."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return [self._job(record) for record in data["jobs"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError, ConfigError) as err:
            log.warning("ignoring unreadable job records %s: %s", self.path, err)
            return []

    def save(self, jobs: list[TrainingJob]) -> None:
        try:
            write_atomic(self.path, json.dumps({"jobs": [job.record() for job in jobs[-KEEP:]]}))
        except OSError as err:  # a full disk must not stop a training: the records are a courtesy
            log.warning("could not write job records %s: %s", self.path, err)

    def _job(self, record: dict) -> TrainingJob:
        job = TrainingJob(
            str(record["id"]),
            str(record["name"]),
            TrainConfig.from_dict(record["config"]),
            self.runs_root / str(record["name"]),
            session=str(record["session"]),
            created=float(record["created"]),
        )
        job.status, job.message, job.saved = str(record["status"]), str(record["message"]), bool(record["saved"])
        return job


def server_secret(runs_root: Path) -> bytes:
    """The key of the owner tokens: made once per runs directory, readable only by its owner."""
    path = Path(runs_root) / ".server-secret"
    try:
        secret = path.read_bytes()
        if len(secret) >= 32:
            return secret
    except FileNotFoundError:
        pass
    secret = secrets.token_bytes(32)
    Path(runs_root).mkdir(parents=True, exist_ok=True)
    write_atomic(path, secret)
    os.chmod(path, 0o600)
    return secret
