"""What the teacher's Class page reads: one row per student, the class's answers per step, the share that passed.

Every function reads the live class only (the one whose `ended_at` is NULL) and never creates
one; each is one or two SELECTs, so a refresh every few seconds for 30 students stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from cvae.db import Database
from cvae.db.schema import ClassRecord, StepRecord, StudentRecord

__all__ = ["Answer", "RosterRow", "StepShare", "answers", "current_class_id", "point_of", "roster", "step_shares"]


@dataclass(frozen=True)
class RosterRow:
    """One student of the live class, where they are and how their steps went."""

    student_id: int
    name: str
    page: str | None
    lesson_id: str | None
    step: int | None
    passed: int  # steps passed, over every lesson
    not_yet: int  # steps checked but not passed yet
    skipped: int
    step_status: str | None  # the status of the step they are on ("open", "passed"...), None if not opened
    last_seen: datetime
    job_id: str | None


@dataclass(frozen=True)
class Answer:
    """One student's last answer to one step and what the live model said at that check."""

    name: str
    status: str
    prediction: dict | None
    truth: dict | None


@dataclass(frozen=True)
class StepShare:
    """How a lesson step went for the class: students who opened it, who passed, who skipped."""

    lesson_id: str
    step: int
    opened: int
    passed: int
    skipped: int
    students: int  # in the class now (the share's denominator)

    @property
    def share_passed(self) -> float:
        return self.passed / self.students if self.students else 0.0


def current_class_id(session: Session) -> int | None:
    """The live class's id, or None when no class runs (reading never starts one)."""
    return session.scalar(select(ClassRecord.id).where(ClassRecord.ended_at.is_(None)).order_by(ClassRecord.id))


def _count(status: str):
    return func.coalesce(func.sum(case((StepRecord.status == status, 1), else_=0)), 0)


def roster(db: Database) -> list[RosterRow]:
    """Every student of the live class, by name; empty when no class runs."""
    with db.transaction() as session:
        class_id = current_class_id(session)
        if class_id is None:
            return []
        counts = (
            select(
                StepRecord.student_id,
                _count("passed").label("passed"),
                _count("not_yet").label("not_yet"),
                _count("skipped").label("skipped"),
            )
            .group_by(StepRecord.student_id)
            .subquery()
        )
        here = StepRecord.__table__.alias("here")  # the step the student is on now
        query = (
            select(StudentRecord, counts.c.passed, counts.c.not_yet, counts.c.skipped, here.c.status)
            .outerjoin(counts, counts.c.student_id == StudentRecord.id)
            .outerjoin(
                here,
                (here.c.student_id == StudentRecord.id)
                & (here.c.lesson_id == StudentRecord.lesson_id)
                & (here.c.step == StudentRecord.step),
            )
            .where(StudentRecord.class_id == class_id)
            .order_by(StudentRecord.name)
        )
        return [
            RosterRow(
                s.id,
                s.name,
                s.page,
                s.lesson_id,
                s.step,
                int(p or 0),
                int(n or 0),
                int(k or 0),
                status,
                s.last_seen,
                s.job_id,
            )  # fmt: skip
            for s, p, n, k, status in session.execute(query)
        ]


def answers(db: Database, lesson_id: str, step: int) -> list[Answer]:
    """The live class's last answers to one step (checked at least once), by name."""
    with db.transaction() as session:
        class_id = current_class_id(session)
        if class_id is None:
            return []
        query = (
            select(StudentRecord.name, StepRecord.status, StepRecord.prediction, StepRecord.truth)
            .join(StudentRecord, StudentRecord.id == StepRecord.student_id)
            .where(
                StudentRecord.class_id == class_id,
                StepRecord.lesson_id == lesson_id,
                StepRecord.step == step,
                StepRecord.attempts > 0,
            )
            .order_by(StudentRecord.name)
        )
        return [Answer(*row) for row in session.execute(query)]


def step_shares(db: Database) -> list[StepShare]:
    """Per lesson step that anyone in the live class opened: how many opened, passed and skipped it."""
    with db.transaction() as session:
        class_id = current_class_id(session)
        if class_id is None:
            return []
        students = session.scalar(select(func.count()).where(StudentRecord.class_id == class_id))
        query = (
            select(StepRecord.lesson_id, StepRecord.step, func.count(), _count("passed"), _count("skipped"))
            .join(StudentRecord, StudentRecord.id == StepRecord.student_id)
            .where(StudentRecord.class_id == class_id)
            .group_by(StepRecord.lesson_id, StepRecord.step)
            .order_by(StepRecord.lesson_id, StepRecord.step)
        )
        rows = session.execute(query)
        return [StepShare(lesson, step, n, int(p), int(k), students) for lesson, step, n, p, k in rows]


def point_of(answer: dict | None) -> tuple[float, float] | None:
    """The latent point in an answer ({"z": [z1, z2, ...]}) as its first two coordinates; None if it has none."""
    z = (answer or {}).get("z")
    if not isinstance(z, list) or len(z) < 2:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in z[:2]):
        return None
    return float(z[0]), float(z[1])
