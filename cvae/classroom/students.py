"""Students of the live class: join with a name, come back with a token, say where they are.

A student's token is a bearer secret held only in their own browser's URL; the table keeps its
SHA-256, so a copy of the database lets nobody act as a student.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cvae.db import Database
from cvae.db.schema import NAME_MAX, ClassRecord, StudentRecord, utcnow

__all__ = ["ClassroomError", "Student", "by_token", "clean_name", "join", "live_class_id", "touch"]

_creating_class = threading.Lock()


class ClassroomError(ValueError):
    """A request the class cannot take (a bad or taken name); the message is for the student."""


@dataclass(frozen=True)
class Student:
    id: int
    class_id: int
    name: str
    page: str | None
    lesson_id: str | None
    step: int | None
    job_id: str | None
    seen_push: int
    last_seen: datetime

    @classmethod
    def of(cls, row: StudentRecord) -> Student:
        return cls(
            row.id, row.class_id, row.name, row.page, row.lesson_id, row.step, row.job_id, row.seen_push, row.last_seen
        )


def clean_name(name: str) -> str:
    """The name as shown: spaces collapsed; refused when empty, too long or holding control characters."""
    if not isinstance(name, str):
        raise ClassroomError("a name is text")
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ClassroomError("Enter a name your teacher will recognise.")
    if len(cleaned) > NAME_MAX:
        raise ClassroomError(f"A name has at most {NAME_MAX} characters; this one has {len(cleaned)}.")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") for c in cleaned):
        raise ClassroomError("A name cannot hold control or invisible characters.")
    return cleaned


def live_class_id(session: Session) -> int:
    """The class now running (one per database), started when the first student joins."""
    found = session.scalar(select(ClassRecord.id).where(ClassRecord.ended_at.is_(None)).order_by(ClassRecord.id))
    if found is not None:
        return found
    record = ClassRecord()
    session.add(record)
    session.flush()
    return record.id


def join(db: Database, name: str) -> tuple[Student, str]:
    """A new student of the live class: (the student, their token). A name is unique in its class."""
    name = clean_name(name)
    token = secrets.token_urlsafe(24)
    with _creating_class, db.transaction() as session:
        class_id = live_class_id(session)
        taken = session.scalar(
            select(StudentRecord.id).where(StudentRecord.class_id == class_id, StudentRecord.name == name)
        )
        if taken is not None:
            raise ClassroomError(f"Someone in this class already uses the name {name!r}: add an initial or a number.")
        record = StudentRecord(class_id=class_id, name=name, token_sha256=_digest(token), seen_push=0)
        session.add(record)
        try:
            session.flush()
        except IntegrityError:  # another web process took the name between our check and our insert
            raise ClassroomError(
                f"Someone in this class already uses the name {name!r}: add an initial or a number."
            ) from None
        return Student.of(record), token


def by_token(db: Database, token: str | None) -> Student | None:
    """The student of the live class whose token this is; None for an unknown, ended or absent one."""
    if not token or not isinstance(token, str) or len(token) > 200:
        return None
    with db.transaction() as session:
        row = session.scalar(
            select(StudentRecord)
            .join(ClassRecord, ClassRecord.id == StudentRecord.class_id)
            .where(StudentRecord.token_sha256 == _digest(token), ClassRecord.ended_at.is_(None))
        )
        return None if row is None else Student.of(row)


_UNSET = object()


def touch(
    db: Database, student_id: int, *, page=_UNSET, lesson_id=_UNSET, step=_UNSET, job_id=_UNSET, seen_push=_UNSET
) -> None:
    """Record that the student is active now, and whichever of page / lesson / step / job / push is given."""
    changes = {"page": page, "lesson_id": lesson_id, "step": step, "job_id": job_id, "seen_push": seen_push}
    with db.transaction() as session:
        row = session.get(StudentRecord, student_id)
        if row is None:
            return  # the class ended meanwhile: nothing of theirs is kept
        row.last_seen = utcnow()
        for field, value in changes.items():
            if value is not _UNSET:
                setattr(row, field, value)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
