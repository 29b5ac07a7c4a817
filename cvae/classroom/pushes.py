"""The teacher's pushes: "everyone to lesson L, step K" or "everyone use model M", each seen once per student.

A push is a row of the live class; a student's `seen_push` is the newest push id they followed or
dismissed, so what is pending for them is the newest push above it (older ones are superseded).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from cvae.classroom.roster import current_class_id
from cvae.classroom.students import ClassroomError, Student
from cvae.db import Database
from cvae.db.schema import PushRecord, StudentRecord, utcnow

__all__ = ["Push", "latest", "mark_seen", "pending", "push_model", "push_step"]


@dataclass(frozen=True)
class Push:
    id: int
    kind: str  # "step" or "model"
    lesson_id: str | None
    step: int | None
    model: str | None  # a run's name under the runs folder
    created_at: datetime

    @classmethod
    def of(cls, row: PushRecord) -> Push:
        return cls(row.id, row.kind, row.lesson_id, row.step, row.model, row.created_at)

    def describe(self) -> str:
        if self.kind == "step":
            return f"go to lesson {self.lesson_id}, step {self.step}"
        return f"use the model {self.model}"


def _add(db: Database, **fields) -> Push:
    with db.transaction() as session:
        class_id = current_class_id(session)
        if class_id is None:
            raise ClassroomError("No class is running yet: a push reaches students once they have joined.")
        row = PushRecord(class_id=class_id, **fields)
        session.add(row)
        session.flush()
        return Push.of(row)


def push_step(db: Database, lesson_id: str, step: int) -> Push:
    """Ask the whole live class to open lesson `lesson_id` at step `step` (1-based)."""
    if not isinstance(lesson_id, str) or not lesson_id.strip() or len(lesson_id) > 80:
        raise ClassroomError("Choose a lesson to send the class to.")
    if not isinstance(step, int) or isinstance(step, bool) or step < 1:
        raise ClassroomError(f"A step is a whole number from 1; got {step!r}.")
    return _add(db, kind="step", lesson_id=lesson_id, step=step)


def push_model(db: Database, model: str) -> Push:
    """Ask the whole live class to make run `model` their active model."""
    if not isinstance(model, str) or not model.strip() or len(model) > 200 or "/" in model or model.startswith("."):
        raise ClassroomError(f"{model!r} is not the name of a saved run.")
    return _add(db, kind="model", model=model)


def latest(db: Database) -> Push | None:
    """The live class's newest push, or None."""
    with db.transaction() as session:
        class_id = current_class_id(session)
        if class_id is None:
            return None
        row = session.scalar(select(PushRecord).where(PushRecord.class_id == class_id).order_by(PushRecord.id.desc()))
        return None if row is None else Push.of(row)


def pending(db: Database, student: Student) -> Push | None:
    """The newest push of the student's class they have neither followed nor dismissed, or None."""
    with db.transaction() as session:
        seen = session.scalar(select(StudentRecord.seen_push).where(StudentRecord.id == student.id))
        if seen is None:  # the class ended: no student, no push
            return None
        row = session.scalar(
            select(PushRecord)
            .where(PushRecord.class_id == student.class_id, PushRecord.id > seen)
            .order_by(PushRecord.id.desc())
        )
        return None if row is None else Push.of(row)


def mark_seen(db: Database, student_id: int, push_id: int) -> None:
    """The student followed or dismissed push `push_id` (and so every older one); never moves backwards."""
    with db.transaction() as session:
        session.execute(
            update(StudentRecord)
            .where(StudentRecord.id == student_id, StudentRecord.seen_push < push_id)
            .values(seen_push=push_id, last_seen=utcnow())
        )
