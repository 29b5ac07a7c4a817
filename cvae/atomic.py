"""Crash-safe writes: a file or a whole directory appears complete or not at all."""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_directory", "atomic_file", "fsync_file", "recover", "sweep", "write_atomic"]

_RENAME_EXCHANGE = 2  # linux/fs.h
STALE_S = 3600.0
_DEBRIS = re.compile(r"^\.(.+)\.(?:tmp|old)-[^/]+$")
_AT_FDCWD = -100


def fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


@contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a fresh temporary path beside `target`; on success it is synced and renamed over
    `target`, so readers see the old file or the new one, never half of one. On any error the
    temporary file is removed and `target` is untouched."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    partial = Path(name)
    try:
        yield partial
        fsync_file(partial)
        os.replace(partial, target)
        _fsync_dir(target.parent)
    finally:
        partial.unlink(missing_ok=True)


def write_atomic(target: Path, data: bytes | str) -> Path:
    """Write `data` (text as UTF-8) to `target` through `atomic_file`."""
    with atomic_file(target) as partial:
        partial.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(target)


@contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield an empty staging directory beside `target`; on success it replaces `target`.

    On any error the staging directory is removed and an existing `target` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield staging
        for child in staging.iterdir():
            fsync_file(child)
        _fsync_dir(staging)
        if target.exists() and _exchange(staging, target):
            shutil.rmtree(staging, ignore_errors=True)  # it now holds the previous version
        else:
            # No atomic exchange here: move the old one aside, then the new one in. A crash
            # between the two renames leaves the old copy in .NAME.old-*; recover() restores it.
            old = None
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
                os.replace(target, old / target.name)
            os.replace(staging, target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        _fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def recover(target: Path) -> bool:
    """Put back a previous `target` that a crash left in a `.NAME.old-*` directory; True if it did.

    Only the fallback path (no atomic exchange) can leave one, and only when killed between its
    two renames; left-over copies are removed once `target` exists again. Staging directories
    (`.NAME.tmp-*`) of saves killed midway are removed once they are STALE_S old: a live save
    finishes in seconds, so an old one has no writer left.
    """
    target = Path(target)
    if not target.parent.is_dir():
        return False
    for staging in target.parent.glob(f".{target.name}.tmp-*"):
        try:
            if time.time() - staging.stat().st_mtime > STALE_S:
                shutil.rmtree(staging, ignore_errors=True)
        except OSError:  # removed by another process meanwhile
            pass
    olds = sorted(target.parent.glob(f".{target.name}.old-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    restored = False
    for old in olds:
        if not target.exists() and (old / target.name).is_dir():
            os.replace(old / target.name, target)
            _fsync_dir(target.parent)
            restored = True
        shutil.rmtree(old, ignore_errors=True)
    return restored


def sweep(directory: Path) -> None:
    """`recover` every target in `directory` that a killed save left debris for."""
    directory = Path(directory)
    if not directory.is_dir():
        return
    names = {m.group(1) for p in directory.iterdir() if (m := _DEBRIS.match(p.name))}
    for name in names:
        recover(directory / name)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False  # this file system cannot exchange: use the fallback
    raise OSError(err, os.strerror(err), str(b))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
