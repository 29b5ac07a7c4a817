"""A throwaway PostgreSQL server on 127.0.0.1 (Debian's `postgresql` binaries), for `deploy/` and the tests.

    python3 -m deploy.postgres    # starts one, prints its URL, stops on Ctrl-C or SIGTERM

Password authentication even on loopback; as root the server runs as the `postgres` user
(initdb refuses root). `fsync=off`: a test database is thrown away, never recovered.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PostgresServer", "PostgresUnavailable", "start_postgres"]


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries here, or the server would not start; the message says which."""


@dataclass
class PostgresServer:
    home: Path
    port: int
    password: str
    _as_user: list[str]
    _bin: Path

    @property
    def pid(self) -> int:
        """The postmaster's process id (pg_ctl starts it detached: it is no child of ours)."""
        return int((self.home / "data" / "postmaster.pid").read_text().split()[0])

    @property
    def log(self) -> Path:
        return self.home / "log"

    def url(self, database: str = "cvae") -> str:
        return f"postgresql+psycopg://cvae:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database on this server; returns its URL."""
        import psycopg

        with psycopg.connect(self._dsn("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(
            [*self._as_user, str(self._bin / "pg_ctl"), "-D", str(self.home / "data"), "-m", "fast", "-w", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.home, ignore_errors=True)

    def _dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=cvae password={self.password} dbname={database}"


def _binaries() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise PostgresUnavailable("PostgreSQL is not installed: apt-get install postgresql (Debian's, version 15)")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_postgres() -> PostgresServer:
    """Initialise and start a new cluster in a fresh directory; its `cvae` database exists."""
    binaries = _binaries()
    home = Path(tempfile.mkdtemp(prefix="cvae-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(home, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    password = secrets.token_hex(16)
    pwfile = home / "pw"
    pwfile.write_text(password)
    if as_user:
        shutil.chown(pwfile, "postgres", "postgres")
    data, port = home / "data", _free_port()
    try:
        _run([*as_user, str(binaries / "initdb"), "-D", str(data), "-U", "cvae", f"--pwfile={pwfile}",
              "-A", "scram-sha-256", "-E", "UTF8", "--no-instructions"])  # fmt: skip
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {data} -c fsync=off -c max_connections=200"
        _run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(home / "log"),
              "-w", "-t", "60", "start"])  # fmt: skip
    except PostgresUnavailable:
        shutil.rmtree(home, ignore_errors=True)
        raise
    pwfile.unlink()
    server = PostgresServer(home, port, password, as_user, binaries)
    server.create_database("cvae")
    return server


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        program = next(Path(part).name for part in command if part.startswith("/"))
        raise PostgresUnavailable(f"{program} failed: {done.stderr.strip()[-800:]}")


if __name__ == "__main__":
    server = start_postgres()
    print(server.url(), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
