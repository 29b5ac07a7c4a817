"""Checksum-verified, cached downloads through pooch, with one error type and plain messages.

pooch downloads into a temporary file beside the destination, checks its hash, and only then
moves it into place, so a failure leaves no partial file; an existing file with the right hash
is not fetched again, a stale one is replaced.
"""

from __future__ import annotations

import re
from pathlib import Path

import pooch
import requests

from cvae.settings import settings

__all__ = ["DownloadError", "default_cache_dir", "download"]


class DownloadError(RuntimeError):
    """A download failed; no partial destination file is left behind."""


def default_cache_dir() -> Path:
    """$CVAE_CACHE_DIR if set, else ~/.cache/cvae."""
    return settings().cache_dir


def _fetch(url: str, tmp: Path, timeout: float) -> None:
    """Write `url`'s body to `tmp` (pooch's HTTP downloader; the seam tests replace)."""
    pooch.HTTPDownloader(timeout=timeout, progressbar=False)(url, str(tmp), None)


def download(url: str, dest: Path, *, md5: str | None = None, sha256: str | None = None, timeout: float = 30) -> Path:
    """Download `url` to `dest` atomically, verifying the md5 or sha256 checksum if given.

    An existing `dest` whose checksum matches (or that has none to check) is returned without
    downloading. Any failure raises DownloadError and leaves neither `dest` nor a temporary
    file behind (an existing `dest` is kept as it was).
    """
    if md5 and sha256:
        raise ValueError("give md5 or sha256, not both")
    dest = Path(dest)
    known_hash = f"sha256:{sha256.lower()}" if sha256 else f"md5:{md5.lower()}" if md5 else None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DownloadError(f"download of {url} failed: cannot create {dest}: {e}") from e
    try:
        pooch.retrieve(
            url,
            known_hash,
            fname=dest.name,
            path=dest.parent,
            progressbar=False,
            downloader=lambda address, output, _pooch: _fetch(address, Path(output), timeout),
        )
    except ValueError as e:  # pooch's hash mismatch (and requests' invalid URLs)
        raise DownloadError(f"download of {url} failed: {_mismatch(e)}") from e
    except requests.HTTPError as e:
        response = e.response
        status = f"HTTP {response.status_code} {response.reason}" if response is not None else str(e)
        raise DownloadError(f"download of {url} failed: {status}") from e
    except requests.Timeout as e:
        raise DownloadError(f"download of {url} failed: timed out after {timeout:g} s") from e
    except requests.exceptions.ChunkedEncodingError as e:
        raise DownloadError(
            f"download of {url} failed: short read, the server closed the connection before the end of the file ({e})"
        ) from e
    except requests.RequestException as e:
        raise DownloadError(f"download of {url} failed: {type(e).__name__}: {e}") from e
    except OSError as e:
        raise DownloadError(f"download of {url} failed: {type(e).__name__}: {e}") from e
    return dest


_POOCH_MISMATCH = re.compile(r"(\w+) hash of downloaded file .*expected (?:\w+:)?(\w+) but got (?:\w+:)?(\w+)", re.S)


def _mismatch(error: ValueError) -> str:
    """pooch's hash-mismatch message, said the way this project says it."""
    found = _POOCH_MISMATCH.search(str(error))
    if found is None:
        return f"{type(error).__name__}: {error}"
    algorithm, expected, actual = found.groups()
    return f"{algorithm.lower()} mismatch: expected {expected.lower()}, got {actual.lower()}"
