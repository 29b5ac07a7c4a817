"""Key -> .npz files on disk, for results that are slow to make and never change for their key.

Used by the stored codes (`code_cache`) and the UMAPs (`projections.umap`). A file holds plain arrays
and its full key (no pickle: read with `allow_pickle=False`); it is written atomically, so a reader
sees a whole file or none; only the newest few are kept. A file that is absent, unreadable,
truncated, corrupt or of another key reads as a miss: the caller makes the result again.
"""

from __future__ import annotations

import hashlib
import io
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cvae.atomic import write_atomic

__all__ = ["NpzCache", "digest", "prune", "read_npz", "write_npz"]

# what np.load raises on a missing, truncated or damaged file (tests/unit/test_disk_cache.py flips bytes);
# zipfile raises NotImplementedError for a garbled version or method, RuntimeError for a garbled "encrypted" flag
_UNREADABLE = (
    OSError,
    KeyError,
    ValueError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    zipfile.BadZipFile,
    zlib.error,
)


def digest(*parts: str | bytes | np.ndarray) -> str:
    """SHA-256 hex digest of `parts` in order: text as UTF-8, arrays as their bytes (the caller fixes
    each array's dtype, so that equal values give equal keys)."""
    sha = hashlib.sha256()
    for part in parts:
        if isinstance(part, str):
            part = part.encode()
        elif isinstance(part, np.ndarray):
            part = np.ascontiguousarray(part).tobytes()
        sha.update(part)
    return sha.hexdigest()


def read_npz(path: Path, key: str) -> dict[str, np.ndarray] | None:
    """The arrays stored at `path` (all but "key"), or None when the file is missing, unreadable,
    corrupt or stored under another key. The caller still checks their shapes and values."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["key"]) != key:
                return None
            return {name: stored[name] for name in stored.files if name != "key"}
    except _UNREADABLE:
        return None


def write_npz(path: Path, key: str, arrays: dict[str, np.ndarray], *, compress: bool = False) -> None:
    """Store `arrays` and `key` at `path` atomically; raises OSError when it cannot be written."""
    buffer = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buffer, key=np.array(key), **arrays)
    write_atomic(Path(path), buffer.getvalue())


def prune(directory: Path, pattern: str, keep: int) -> None:
    """Delete all but the `keep` most recently written files matching `pattern`; a file that another
    process removes meanwhile is skipped, not an error."""
    dated = []
    for path in Path(directory).glob(pattern):
        try:
            dated.append((path.stat().st_mtime, path.name, path))
        except FileNotFoundError:
            continue
    for _, _, old in sorted(dated, reverse=True)[keep:]:
        old.unlink(missing_ok=True)


@dataclass(frozen=True)
class NpzCache:
    """`<directory>/<prefix>-<key[:32]>.npz` files, the `keep` newest kept."""

    directory: Path
    prefix: str  # "codes", "umap": one cache's files, apart from another's in the same folder
    keep: int = 32
    compress: bool = False

    def path(self, key: str) -> Path:
        return Path(self.directory) / f"{self.prefix}-{key[:32]}.npz"

    def load(self, key: str) -> dict[str, np.ndarray] | None:
        return read_npz(self.path(key), key)

    def store(self, key: str, arrays: dict[str, np.ndarray], *, what: str) -> None:
        """Write, then prune. A cache that cannot be written (read-only, full, a file where the folder
        should be) warns about `what` and goes on: it only costs the next caller a recompute."""
        try:
            write_npz(self.path(key), key, arrays, compress=self.compress)
            prune(self.directory, f"{self.prefix}-*.npz", self.keep)
        except OSError as err:
            # stacklevel 3: the line that called the function that caches
            warnings.warn(f"could not cache {what} in {self.directory}: {err}", RuntimeWarning, stacklevel=3)
