"""Atomic, checksum-verified HTTP downloads using only the standard library."""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["DownloadError", "default_cache_dir", "download"]

_CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """A download failed; no partial destination file is left behind."""


def default_cache_dir() -> Path:
    """Return ``$CVAE_CACHE_DIR`` if set, else ``~/.cache/cvae``."""
    env = os.environ.get("CVAE_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "cvae"


def _digests(path: Path) -> tuple[str, str]:
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            md5.update(chunk)
            sha256.update(chunk)
    return md5.hexdigest(), sha256.hexdigest()


def _mismatch(got: tuple[str, str], md5: str | None, sha256: str | None) -> str | None:
    for name, expected, actual in (("md5", md5, got[0]), ("sha256", sha256, got[1])):
        if expected is not None and expected.lower() != actual:
            return f"{name} mismatch: expected {expected.lower()}, got {actual}"
    return None


def _fetch(url: str, tmp: Path, timeout: float) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response, tmp.open("wb") as out:
        length = response.headers.get("Content-Length")
        received = 0
        while chunk := response.read(_CHUNK):
            out.write(chunk)
            received += len(chunk)
        if length is not None and length.isdigit() and received != int(length):
            raise DownloadError(
                f"download of {url} failed: short read, got {received} of {length} bytes"
            )


def download(
    url: str,
    dest: Path,
    *,
    md5: str | None = None,
    sha256: str | None = None,
    timeout: float = 30,
) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying any given checksums.

    An existing ``dest`` whose checksums match (or that has none to check) is
    returned without downloading. Any failure raises ``DownloadError`` and
    leaves neither ``dest`` nor a temporary file behind.
    """
    dest = Path(dest)
    if dest.is_file() and _mismatch(_digests(dest), md5, sha256) is None:
        return dest
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=dest.name + ".part-", dir=dest.parent)
        os.close(fd)
    except OSError as e:
        raise DownloadError(f"download of {url} failed: cannot create {dest}: {e}") from e
    tmp = Path(name)
    try:
        _fetch(url, tmp, timeout)
        problem = _mismatch(_digests(tmp), md5, sha256)
        if problem is not None:
            raise DownloadError(f"download of {url} failed: {problem}")
        os.replace(tmp, dest)
    except DownloadError:
        raise
    except urllib.error.HTTPError as e:
        raise DownloadError(f"download of {url} failed: HTTP {e.code} {e.reason}") from e
    except urllib.error.URLError as e:
        raise DownloadError(f"download of {url} failed: {e.reason}") from e
    except (http.client.HTTPException, OSError, ValueError) as e:
        raise DownloadError(f"download of {url} failed: {type(e).__name__}: {e}") from e
    finally:
        tmp.unlink(missing_ok=True)
    return dest
