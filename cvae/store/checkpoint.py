"""Checkpoints: a directory of config.json, params.npz and history.json. No pickle."""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np

from cvae.atomic import atomic_directory
from cvae.config import ConfigError, TrainConfig
from cvae.data.datasets import load_split
from cvae.model.vae import VAE, WeightsError
from cvae.training.history import History, steps_per_epoch

__all__ = ["FORMAT_VERSION", "Checkpoint", "CheckpointError", "load_checkpoint", "run_dir", "save_checkpoint"]

FORMAT_VERSION = 1
_FILES = ("config.json", "params.npz", "history.json")
_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, or does not fit its own config."""


class Checkpoint:
    """A loaded checkpoint: the model, its training curve and metadata."""

    def __init__(self, path: Path, vae: VAE, history: History, meta: dict):
        self.path, self.vae, self.history, self.meta = path, vae, history, meta

    @property
    def config(self) -> TrainConfig:
        return self.vae.config

    @property
    def steps_per_epoch(self) -> int:
        """Minibatches per epoch as the trainer counted them: saved with the run, else (older
        runs) implied by a finished run's steps, else the trainer's rule on the training set."""
        saved, steps = self.meta.get("steps_per_epoch"), self.meta.get("steps")
        if _positive_int(saved):
            return saved
        if self.meta.get("status") == "finished" and _positive_int(steps) and steps >= self.config.epochs:
            return steps // self.config.epochs
        return steps_per_epoch(len(load_split(self.config, "train").images), self.config.batch_size)


def run_dir(runs_root: Path, name: str) -> Path:
    """The directory of run `name`, confined to `runs_root` (no '..', no slashes)."""
    if not isinstance(name, str) or not _RUN_NAME.match(name) or ".." in name:
        raise CheckpointError(f"invalid run name {name!r}: use letters, digits, '.', '_' and '-'")
    root = Path(runs_root).resolve()
    path = (root / name).resolve()
    if path.parent != root:
        raise CheckpointError(f"run name {name!r} leaves the runs directory")
    return path


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("pymc", "pytensor", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def save_checkpoint(
    path: Path, vae: VAE, history: History, *, timeline: dict[str, np.ndarray] | None = None, **meta
) -> Path:
    """Write atomically: a crash or a full disk leaves any previous checkpoint intact.

    `timeline` (optional) holds training snapshots, saved as timeline.npz.
    """
    path = Path(path)
    info = {
        "format_version": FORMAT_VERSION,
        "config": vae.config.to_dict(),
        "versions": _versions(),
        "created": datetime.now(UTC).isoformat(),
        **meta,
    }
    try:
        with atomic_directory(path) as tmp:
            (tmp / "config.json").write_text(json.dumps(info, indent=2, allow_nan=False))
            np.savez(tmp / "params.npz", **vae.weights())
            (tmp / "history.json").write_text(json.dumps(history.to_dict(), allow_nan=True))
            if timeline:
                np.savez_compressed(tmp / "timeline.npz", **timeline)
    except OSError as err:
        raise CheckpointError(
            f"could not save checkpoint {path}: {err.strerror or err}; any previous checkpoint there is unchanged"
        ) from err
    return path


def load_checkpoint(path: Path) -> Checkpoint:
    """Load and validate; every failure is a CheckpointError saying what is wrong."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path} is not a checkpoint directory")
    missing = [f for f in _FILES if not (path / f).is_file()]
    if missing:
        raise CheckpointError(f"checkpoint {path} is missing {', '.join(missing)}")
    meta = _read_json(path / "config.json")
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        version = meta.get("format_version") if isinstance(meta, dict) else None
        raise CheckpointError(
            f"{path}: format version {version!r} is not supported (this version reads {FORMAT_VERSION})"
        )
    try:
        config = TrainConfig.from_dict(meta.get("config") or {})
    except (ConfigError, TypeError) as err:
        raise CheckpointError(f"{path}: bad config: {err}") from err
    vae = VAE(config)
    try:
        vae.set_weights(_read_npz(path / "params.npz"))
    except WeightsError as err:
        raise CheckpointError(f"{path}: {err}") from err
    try:
        history = History.from_dict(_read_json(path / "history.json"))
    except (KeyError, TypeError, ValueError, OverflowError) as err:  # OverflowError: int(1e999)
        raise CheckpointError(f"{path}: bad history.json: {err}") from err
    return Checkpoint(path, vae, history, meta)


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _read_json(file: Path):
    try:
        return json.loads(file.read_text())
    except (OSError, ValueError, RecursionError) as err:  # ValueError: bad JSON, UTF-8, 5000-digit ints
        raise CheckpointError(f"{file} is not valid JSON: {type(err).__name__}: {str(err)[:200]}") from err


def _read_npz(file: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(file, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except ValueError as err:
        if "allow_pickle" in str(err):  # object arrays or a pickle: numpy refuses to unpickle them
            raise CheckpointError(f"{file} holds pickled objects, which are never loaded") from err
        raise CheckpointError(f"{file} is not a readable .npz archive: {err}") from err
    except MemoryError as err:  # a header declaring a huge shape
        raise CheckpointError(f"{file} declares arrays too large to load: {err}") from err
    except (
        OSError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
        KeyError,
        NotImplementedError,
        RuntimeError,
    ) as err:  # NotImplementedError/RuntimeError: odd compression, encryption
        raise CheckpointError(f"{file} is not a readable .npz archive: {err}") from err
