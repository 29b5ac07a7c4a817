"""Lesson progress lives in the database, not the web process: a real server writes it, a restarted one
(a new process with nothing but the URL in common) finds the student's place. PostgreSQL here; the
keyboard test in test_lesson_browser.py does the same on SQLite in Chromium."""

import asyncio
import uuid

import pytest

from harness.server import serving
from harness.st_protocol import Session

LESSON = "what-is-a-vae"


def _step_line(session: Session) -> str:
    return next(t for t in session.texts() if "Step " in t and " of " in t)


@pytest.mark.slow
def test_progress_survives_a_server_restart_on_postgresql(tmp_path, postgres_server):
    from cvae.classroom import progress, students
    from cvae.db import Database

    url = postgres_server.create_database(f"t{uuid.uuid4().hex}")
    db = Database(url)
    db.upgrade()
    kay, token = students.join(db, "Kay")  # what the page's name form calls
    query = f"lesson={LESSON}&step=1&student={token}"

    async def skip_step_one(server_url: str) -> str:
        session = Session(server_url, "lessons", query, timeout=120)
        try:
            await session.connect()
            assert "Step 1 of" in _step_line(session)
            await session.click(session.find(label="Skip"))
            return _step_line(session)
        finally:
            await session.close()

    async def place_after_restart(server_url: str) -> tuple[str, list[str]]:
        session = Session(server_url, "lessons", f"student={token}", timeout=120)  # no step in the link
        try:
            await session.connect()
            return _step_line(session), [getattr(e.proto, "label", "") for e in session.elements.values()]
        finally:
            await session.close()

    env = {"CVAE_DATABASE_URL": url}
    try:
        with serving(tmp_path / "runs-1", tmp_path / "server-1.log", timeout=300, env=env) as served:
            assert "Step 2 of" in asyncio.run(skip_step_one(served.url))  # Skip moves on...
        assert progress.results(db, kay.id, LESSON)[1].status == "skipped"  # ...and server 1 wrote it here
        # another process, another runs folder: only the database is shared
        with serving(tmp_path / "runs-2", tmp_path / "server-2.log", timeout=300, env=env) as served:
            line, labels = asyncio.run(place_after_restart(served.url))
        assert "Step 2 of" in line, line
        assert "Your name" not in labels  # the link's token is the student: no name asked again
    finally:
        db.dispose()
