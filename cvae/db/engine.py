"""The database: one engine per URL, migrated to the newest schema before first use.

SQLite under the runs folder by default (WAL, so readers never wait for the writer; nothing to
install); PostgreSQL when CVAE_DATABASE_URL says so, which is what several web processes share.
"""

from __future__ import annotations

import fcntl
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from cvae.settings import settings

__all__ = ["Database", "DatabaseError", "database", "database_url"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_MIGRATION_LOCK = 0x63766165  # pg_advisory_xact_lock key: replicas starting together migrate one at a time


class DatabaseError(RuntimeError):
    """The database cannot be reached, opened or migrated; the message says which and why."""


def database_url(runs_root: Path | None = None) -> str:
    """CVAE_DATABASE_URL, else SQLite at <runs dir>/cvae.sqlite3 (`runs_root`, default the settings' runs dir)."""
    return settings().database_url or f"sqlite:///{Path(runs_root or settings().runs_dir) / 'cvae.sqlite3'}"


class Database:
    """An engine and its sessions; `transaction()` is the only way code here writes."""

    def __init__(self, url: str):
        try:
            parsed = make_url(url)
        except ArgumentError as err:
            raise DatabaseError(f"CVAE_DATABASE_URL is not a database URL: {err}") from None
        self.url = parsed
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(
            parsed, pool_pre_ping=not self.is_sqlite, connect_args={"timeout": 30} if self.is_sqlite else {}
        )
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on any error."""
        try:
            with self._sessions.begin() as session:
                yield session
        except SQLAlchemyError as err:
            raise DatabaseError(f"database {self.url.render_as_string(hide_password=True)}: {err}") from err

    def lock(self, session: Session, name: str) -> None:
        """Serialize this transaction with every other that takes the lock `name`, in any process, until it ends.

        PostgreSQL: a transaction-scoped advisory lock. SQLite: its one write lock, taken now (a write
        that changes nothing) rather than at the first real write, where a reader turning writer would
        get "database is locked" instead of waiting its turn."""
        if self.is_sqlite:
            session.execute(text("UPDATE server_values SET key = key WHERE 0"))
        else:
            key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")  # a stable int32-sized key
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def upgrade(self) -> None:
        """Create or migrate every table to the newest Alembic revision (safe to call from every process)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with _migration_lock(self), self.engine.begin() as connection:
                if not self.is_sqlite:
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except (SQLAlchemyError, OSError) as err:
            where = self.url.render_as_string(hide_password=True)
            raise DatabaseError(f"cannot open the database {where}: {err}") from err

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (the class view) never block a student's write
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores ON DELETE CASCADE without it
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@contextmanager
def _migration_lock(db: Database) -> Iterator[None]:
    """Two processes opening a new SQLite file must not both create its tables: a file lock beside it."""
    if not db.is_sqlite or db.url.database in (None, "", ":memory:"):
        yield
        return
    with open(f"{db.url.database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_open: dict[str, Database] = {}
_open_lock = threading.Lock()


def database(url: str | None = None) -> Database:
    """The process's Database for `url` (default `database_url()`), migrated on first use."""
    url = url or database_url()
    with _open_lock:
        db = _open.get(url)
        if db is None:
            db = Database(url)
            db.upgrade()
            _open[url] = db
        return db
