"""What a teacher sets for every session of a server: the default model, stored beside the runs.

Stored as `runs_root/classroom.json`, written atomically; a missing or damaged file means defaults.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from cvae.atomic import write_atomic
from cvae.store.checkpoint import CheckpointError, run_dir

__all__ = [
    "SETTINGS_FILE",
    "TeacherSettings",
    "default_run_path",
    "load_settings",
    "save_settings",
]

SETTINGS_FILE = "classroom.json"
_LEGACY_KEYS = {"locked"}  # older files: a lock that protected nothing (runs are never overwritten); ignored
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TeacherSettings:
    """`default_run`: the run name every new session starts on (None: the shipped model).
    Students can still pick any other model for themselves."""

    default_run: str | None = None


def load_settings(runs_root: Path) -> TeacherSettings:
    """The saved settings; defaults when the file is missing, and (logged) when it is damaged."""
    path = Path(runs_root) / SETTINGS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return TeacherSettings()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        log.warning("ignoring unreadable classroom settings %s: %s", path, err)
        return TeacherSettings()
    try:
        return _from_dict(runs_root, data)
    except (TypeError, ValueError) as err:  # CheckpointError is a ValueError
        log.warning("ignoring invalid classroom settings %s: %s", path, err)
        return TeacherSettings()


def save_settings(runs_root: Path, settings: TeacherSettings) -> Path:
    """Validate, then write atomically: readers see the old or the new file, never half."""
    _from_dict(runs_root, asdict(settings))
    return write_atomic(Path(runs_root) / SETTINGS_FILE, json.dumps(asdict(settings), indent=2))


def default_run_path(runs_root: Path, settings: TeacherSettings) -> Path | None:
    """The default run's directory when it still holds a model, else None.

    Spelled like `runs_root / name` (not resolved), as the app's list of saved runs spells it.
    """
    if settings.default_run is None:
        return None
    run_dir(runs_root, settings.default_run)  # confined to runs_root, or CheckpointError
    path = Path(runs_root) / settings.default_run
    return path if (path / "params.npz").is_file() else None


def _from_dict(runs_root: Path, data: object) -> TeacherSettings:
    if not isinstance(data, dict) or set(data) - {"default_run"} - _LEGACY_KEYS:
        raise ValueError(f"expected an object with default_run; got {data!r:.200}")
    if not isinstance(data.get("locked", False), bool):
        raise ValueError(f"locked must be true or false; got {data['locked']!r}")
    name = data.get("default_run")
    if name is not None:
        if not isinstance(name, str):
            raise ValueError(f"default_run must be a run name or null; got {name!r}")
        run_dir(runs_root, name)  # raises CheckpointError for names that leave runs_root
        if name == SETTINGS_FILE:
            raise CheckpointError(f"{SETTINGS_FILE!r} is the settings file, not a run")
    return TeacherSettings(default_run=name)
