"""Tests for cvae.data.download against a real local HTTP server."""

from __future__ import annotations

import errno
import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import cvae.data.download as dl
from cvae.data.download import DownloadError, default_cache_dir, download

PAYLOAD = bytes(range(256)) * 40


@dataclass
class Server:
    url: str
    files: dict[str, bytes] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        state = self.server.state  # type: ignore[attr-defined]
        state.hits[self.path] += 1
        kind, _, name = self.path.strip("/").partition("/")
        body = state.files.get(name)
        if kind == "error" or body is None:
            self.send_error(500 if kind == "error" else 404)
            return
        if kind == "slow":
            time.sleep(1.0)
        self.send_response(200)
        extra = 1000 if kind == "short" else 0
        self.send_header("Content-Length", str(len(body) + extra))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def _httpd() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def server(_httpd: ThreadingHTTPServer) -> Server:
    state = Server(url=f"http://127.0.0.1:{_httpd.server_address[1]}")
    _httpd.state = state  # type: ignore[attr-defined]
    return state


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _assert_clean(directory: Path) -> None:
    assert list(directory.iterdir()) == []


def test_good_download(server: Server, tmp_path: Path) -> None:
    server.files["f.gz"] = PAYLOAD
    dest = tmp_path / "f.gz"
    out = download(f"{server.url}/ok/f.gz", dest, md5=_md5(PAYLOAD))
    assert out == dest
    assert dest.read_bytes() == PAYLOAD
    assert [p.name for p in tmp_path.iterdir()] == ["f.gz"]


def test_sha256_and_nested_dest(server: Server, tmp_path: Path) -> None:
    server.files["f"] = PAYLOAD
    dest = tmp_path / "a" / "b" / "f"
    download(f"{server.url}/ok/f", dest, sha256=hashlib.sha256(PAYLOAD).hexdigest())
    assert dest.read_bytes() == PAYLOAD


def test_checksum_mismatch(server: Server, tmp_path: Path) -> None:
    server.files["f"] = PAYLOAD[:-1] + b"X"
    url = f"{server.url}/ok/f"
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "f", md5=_md5(PAYLOAD))
    message = str(info.value)
    assert url in message
    assert f"expected {_md5(PAYLOAD)}" in message
    assert f"got {_md5(server.files['f'])}" in message
    _assert_clean(tmp_path)


@pytest.mark.parametrize(
    ("path", "options", "message"),
    [
        ("error/f", {}, "HTTP 500"),
        ("ok/missing", {}, "HTTP 404"),
        ("short/f", {}, "short read"),
        ("slow/f", {"timeout": 0.2}, "timed out"),
        ("ok/f", {"sha256": "0" * 64}, "sha256 mismatch"),
    ],
    ids=["server-error", "not-found", "short-read", "timeout", "sha256-mismatch"],
)
def test_a_failed_download_says_why_and_leaves_nothing(server: Server, tmp_path: Path, path, options, message) -> None:
    server.files["f"] = PAYLOAD
    url = f"{server.url}/{path}"
    with pytest.raises(DownloadError, match=message) as info:
        download(url, tmp_path / "f", **options)
    assert url in str(info.value)
    _assert_clean(tmp_path)


def test_connection_refused(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="127.0.0.1:9"):
        download("http://127.0.0.1:9/f", tmp_path / "f", timeout=2)
    _assert_clean(tmp_path)


def test_bad_url(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="not a url"):
        download("not a url", tmp_path / "f")
    _assert_clean(tmp_path)


def test_disk_full_cleans_up(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(url: str, tmp: Path, timeout: float) -> None:
        tmp.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dl, "_fetch", full)
    with pytest.raises(DownloadError, match="No space left"):
        download(f"{server.url}/ok/f", tmp_path / "f")
    _assert_clean(tmp_path)


def test_unwritable_destination(server: Server, tmp_path: Path) -> None:
    (tmp_path / "blocker").write_bytes(b"")
    with pytest.raises(DownloadError, match="cannot create"):
        download(f"{server.url}/ok/f", tmp_path / "blocker" / "f")


def test_cached_file_not_downloaded_again(server: Server, tmp_path: Path) -> None:
    server.files["f"] = PAYLOAD
    dest = tmp_path / "f"
    for _ in range(3):
        download(f"{server.url}/ok/f", dest, md5=_md5(PAYLOAD))
    assert server.hits["/ok/f"] == 1
    assert dest.read_bytes() == PAYLOAD


def test_stale_file_replaced(server: Server, tmp_path: Path) -> None:
    server.files["f"] = PAYLOAD
    dest = tmp_path / "f"
    dest.write_bytes(b"stale")
    download(f"{server.url}/ok/f", dest, md5=_md5(PAYLOAD))
    assert server.hits["/ok/f"] == 1
    assert dest.read_bytes() == PAYLOAD


def test_failed_replacement_keeps_no_partial(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "f"
    dest.write_bytes(b"stale")
    with pytest.raises(DownloadError):
        download(f"{server.url}/error/f", dest, md5=_md5(PAYLOAD))
    assert [p.name for p in tmp_path.iterdir()] == ["f"]
    assert dest.read_bytes() == b"stale"


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CVAE_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("CVAE_CACHE_DIR")
    assert default_cache_dir() == Path.home() / ".cache" / "cvae"
