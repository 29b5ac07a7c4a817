"""Classroom settings shared by every session of a server: the teacher's default model and its lock.

Stored as `runs_root/classroom.json`, written atomically; a missing or damaged file means defaults.
"""
from __future__ import annotations

import hmac
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from cvae.checkpoint import CheckpointError, run_dir

__all__ = ["SETTINGS_FILE", "ClassroomSettings", "check_teacher_code", "default_run_path", "is_protected",
           "load_settings", "save_settings"]

SETTINGS_FILE = "classroom.json"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClassroomSettings:
    """`default_run`: the run name every session starts on (None: the shipped model).
    `locked`: nobody may overwrite or delete that run (students can still explore other models)."""

    default_run: str | None = None
    locked: bool = False


def load_settings(runs_root: Path) -> ClassroomSettings:
    """The saved settings; defaults when the file is missing, and (logged) when it is damaged."""
    path = Path(runs_root) / SETTINGS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ClassroomSettings()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        log.warning("ignoring unreadable classroom settings %s: %s", path, err)
        return ClassroomSettings()
    try:
        return _from_dict(runs_root, data)
    except (TypeError, ValueError) as err:  # CheckpointError is a ValueError
        log.warning("ignoring invalid classroom settings %s: %s", path, err)
        return ClassroomSettings()


def save_settings(runs_root: Path, settings: ClassroomSettings) -> Path:
    """Validate, then write temp + fsync + os.replace: readers see the old or the new file, never half."""
    _from_dict(runs_root, asdict(settings))
    root = Path(runs_root)
    root.mkdir(parents=True, exist_ok=True)
    target = root / SETTINGS_FILE
    fd, tmp = tempfile.mkstemp(prefix=f".{SETTINGS_FILE}.", suffix=".tmp", dir=root)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(asdict(settings), f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def check_teacher_code(given: str, expected: str | None) -> bool:
    """True only when a teacher code is configured and `given` equals it (constant-time compare)."""
    if not expected or not isinstance(given, str):
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def default_run_path(runs_root: Path, settings: ClassroomSettings) -> Path | None:
    """The default run's directory when it still holds a model, else None.

    Spelled like `runs_root / name` (not resolved), as the app's list of saved runs spells it.
    """
    if settings.default_run is None:
        return None
    run_dir(runs_root, settings.default_run)  # confined to runs_root, or CheckpointError
    path = Path(runs_root) / settings.default_run
    return path if (path / "params.npz").is_file() else None


def is_protected(runs_root: Path, name: str) -> bool:
    """Whether run `name` is the locked default: the Train page must not overwrite or delete it."""
    settings = load_settings(runs_root)
    return settings.locked and settings.default_run is not None and settings.default_run == name


def _from_dict(runs_root: Path, data: object) -> ClassroomSettings:
    if not isinstance(data, dict) or set(data) - {"default_run", "locked"}:
        raise ValueError(f"expected an object with default_run and locked; got {data!r:.200}")
    name, locked = data.get("default_run"), data.get("locked", False)
    if not isinstance(locked, bool):
        raise ValueError(f"locked must be true or false; got {locked!r}")
    if name is not None:
        if not isinstance(name, str):
            raise ValueError(f"default_run must be a run name or null; got {name!r}")
        run_dir(runs_root, name)  # raises CheckpointError for names that leave runs_root
        if name == SETTINGS_FILE:
            raise CheckpointError(f"{SETTINGS_FILE!r} is the settings file, not a run")
    return ClassroomSettings(default_run=name, locked=locked)
