"""Each student's work on each lesson step: opened, checked (passed or not yet), skipped.

One row per student per step (`step_results`), written in one transaction per action, so the
class view and the CSV export read the same numbers whichever web process wrote them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cvae.db import Database
from cvae.db.schema import StepRecord, StudentRecord, utcnow

__all__ = ["StepResult", "open_step", "place", "record_check", "results", "skip"]


@dataclass(frozen=True)
class StepResult:
    lesson_id: str
    step: int  # 1-based
    status: str  # "open", "passed", "not_yet" or "skipped"
    attempts: int
    seconds: float  # from the first view to the pass or skip (so far, while open)
    prediction: dict | None
    truth: dict | None
    updated_at: datetime

    @classmethod
    def of(cls, row: StepRecord) -> StepResult:
        return cls(
            row.lesson_id, row.step, row.status, row.attempts, row.seconds, row.prediction, row.truth, row.updated_at
        )


def open_step(db: Database, student_id: int, lesson_id: str, step: int) -> StepResult:
    """The student sees this step: its row is made on the first view (its timer starts then)."""
    with db.transaction() as session:
        return StepResult.of(_row(session, student_id, lesson_id, step))


def record_check(
    db: Database,
    student_id: int,
    lesson_id: str,
    step: int,
    *,
    passed: bool,
    prediction: dict | None = None,
    truth: dict | None = None,
) -> StepResult:
    """One check of the step: counted, its answer and the live model's truth kept; a passed step stays passed."""
    with db.transaction() as session:
        row = _row(session, student_id, lesson_id, step)
        now = utcnow()
        row.attempts += 1
        row.updated_at = now
        if prediction is not None:  # a check with nothing to predict keeps the last prediction shown
            row.prediction = _plain(prediction)
        if truth is not None:
            row.truth = _plain(truth)
        if row.status != "passed":
            row.status = "passed" if passed else "not_yet"
            row.seconds = (now - row.opened_at).total_seconds()
        return StepResult.of(row)


def skip(db: Database, student_id: int, lesson_id: str, step: int) -> StepResult:
    """The student moves on without passing; a passed step keeps its pass."""
    with db.transaction() as session:
        row = _row(session, student_id, lesson_id, step)
        if row.status != "passed":
            now = utcnow()
            row.status, row.updated_at = "skipped", now
            row.seconds = (now - row.opened_at).total_seconds()
        return StepResult.of(row)


def results(db: Database, student_id: int, lesson_id: str) -> dict[int, StepResult]:
    """Step number -> this student's result, for the steps they have opened."""
    with db.transaction() as session:
        rows = session.scalars(
            select(StepRecord).where(StepRecord.student_id == student_id, StepRecord.lesson_id == lesson_id)
        )
        return {row.step: StepResult.of(row) for row in rows}


def place(db: Database, student_id: int) -> tuple[str, int] | None:
    """The lesson and step the student was last on (their presence, else their newest result)."""
    with db.transaction() as session:
        student = session.get(StudentRecord, student_id)
        if student is None:
            return None
        if student.lesson_id is not None and student.step is not None:
            return student.lesson_id, student.step
        row = session.scalars(
            select(StepRecord).where(StepRecord.student_id == student_id).order_by(StepRecord.updated_at.desc())
        ).first()
        return None if row is None else (row.lesson_id, row.step)


def _row(session: Session, student_id: int, lesson_id: str, step: int) -> StepRecord:
    if not isinstance(step, int) or step < 1:
        raise ValueError(f"a step is a whole number from 1; got {step!r}")
    # FOR UPDATE: two clicks of one student on two web processes count two attempts, not one
    row = session.scalar(
        select(StepRecord)
        .where(StepRecord.student_id == student_id, StepRecord.lesson_id == lesson_id, StepRecord.step == step)
        .with_for_update()
    )
    if row is None:
        now = utcnow()
        row = StepRecord(
            student_id=student_id, lesson_id=lesson_id, step=step, status="open", attempts=0, seconds=0.0,
            opened_at=now, updated_at=now,
        )  # fmt: skip
        try:
            with session.begin_nested():  # a savepoint: a twin insert from another tab loses, not the transaction
                session.add(row)
        except IntegrityError:
            row = session.scalar(
                select(StepRecord)
                .where(StepRecord.student_id == student_id, StepRecord.lesson_id == lesson_id, StepRecord.step == step)
                .with_for_update()
            )
    return row


def _plain(value: dict | None) -> dict | None:
    """JSON-safe copy (NumPy numbers and arrays become floats and lists; NaN is refused by both databases)."""
    if value is None:
        return None

    def default(obj):
        if isinstance(obj, np.ndarray | np.generic):
            return obj.tolist()
        raise TypeError(f"{type(obj).__name__} is not JSON-able")

    return json.loads(json.dumps(value, default=default, allow_nan=False))
