"""End the class: its records archived on the server, then the class ended and its students' names deleted.

The archive (`<runs>/class-archives/class-<id>-<UTC time>/records.csv` and `records.json`) is written
atomically before anything is deleted; the end and the deletion are then one transaction that first
checks that no student wrote anything since the snapshot (else it archives again), so nothing a
student did is lost between the two. Deleting a student deletes their step results (ON DELETE CASCADE).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select, update

from cvae.atomic import write_atomic
from cvae.classroom.export import class_rows, to_csv
from cvae.classroom.roster import current_class_id
from cvae.classroom.students import ClassroomError
from cvae.db import Database
from cvae.db.schema import ClassRecord, PushRecord, StepRecord, StudentRecord, utcnow

__all__ = ["ARCHIVES", "Archived", "end_class"]

ARCHIVES = "class-archives"  # under the runs folder
_TRIES = 5  # snapshots before giving up on a class that keeps writing


class _Changed(Exception):
    """The class changed between the snapshot and the end."""


@dataclass(frozen=True)
class Archived:
    class_id: int
    folder: Path  # holds records.csv and records.json
    students: int
    rows: int


def _fingerprint(session, class_id: int) -> tuple:
    """What changes whenever a student of the class joins, moves or checks: counts and newest times."""
    students = session.execute(
        select(func.count(), func.max(StudentRecord.last_seen)).where(StudentRecord.class_id == class_id)
    ).one()
    steps = session.execute(
        select(func.count(), func.max(StepRecord.updated_at), func.sum(StepRecord.attempts))
        .join(StudentRecord, StudentRecord.id == StepRecord.student_id)
        .where(StudentRecord.class_id == class_id)
    ).one()
    return (*students, *steps)


def _snapshot(db: Database, class_id: int) -> tuple[dict, tuple]:
    with db.transaction() as session:
        record = session.get(ClassRecord, class_id)
        people = session.scalars(
            select(StudentRecord).where(StudentRecord.class_id == class_id).order_by(StudentRecord.name)
        ).all()
        pushes = session.scalars(select(PushRecord).where(PushRecord.class_id == class_id).order_by(PushRecord.id))
        steps = session.scalars(
            select(StepRecord)
            .join(StudentRecord, StudentRecord.id == StepRecord.student_id)
            .where(StudentRecord.class_id == class_id)
            .order_by(StepRecord.student_id, StepRecord.lesson_id, StepRecord.step)
        ).all()
        by_student: dict[int, list] = {}
        for s in steps:
            by_student.setdefault(s.student_id, []).append({
                "lesson": s.lesson_id, "step": s.step, "result": s.status, "attempts": s.attempts,
                "seconds": s.seconds, "opened_at": s.opened_at.isoformat(), "updated_at": s.updated_at.isoformat(),
                "prediction": s.prediction, "truth": s.truth,
            })  # fmt: skip
        data = {
            "class": class_id,
            "started_at": record.started_at.isoformat(),
            "students": [
                {
                    "name": p.name,
                    "joined_at": p.joined_at.isoformat(),
                    "job_id": p.job_id,
                    "steps": by_student.get(p.id, []),
                }
                for p in people
            ],  # fmt: skip
            "pushes": [
                {
                    "kind": p.kind,
                    "lesson": p.lesson_id,
                    "step": p.step,
                    "model": p.model,
                    "at": p.created_at.isoformat(),
                }
                for p in pushes
            ],  # fmt: skip
        }
        return data, _fingerprint(session, class_id)


def end_class(db: Database, runs_root: Path) -> Archived:
    """Archive the live class under `runs_root/class-archives/`, then end it and delete its students."""
    with db.transaction() as session:
        class_id = current_class_id(session)
    if class_id is None:
        raise ClassroomError("No class is running: there is nothing to end.")
    started = utcnow()
    folder = Path(runs_root) / ARCHIVES / f"class-{class_id}-{started:%Y%m%dT%H%M%SZ}"
    for _ in range(_TRIES):
        data, seen = _snapshot(db, class_id)
        rows = class_rows(db, class_id)
        data["ended_at"] = utcnow().isoformat()
        write_atomic(folder / "records.csv", to_csv(rows))
        write_atomic(folder / "records.json", json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        try:
            with db.transaction() as session:
                # the write comes first: SQLite then holds its one write lock, PostgreSQL the class row
                ended = session.execute(
                    update(ClassRecord)
                    .where(ClassRecord.id == class_id, ClassRecord.ended_at.is_(None))
                    .values(ended_at=utcnow())
                ).rowcount
                if not ended:
                    raise ClassroomError("This class was ended meanwhile (by another tab or web process).")
                # PostgreSQL: a locked student row holds back a new step row of theirs (its foreign key)
                session.execute(select(StudentRecord.id).where(StudentRecord.class_id == class_id).with_for_update())
                if _fingerprint(session, class_id) != seen:
                    raise _Changed  # a student wrote after the snapshot: roll back, archive again
                session.execute(delete(StudentRecord).where(StudentRecord.class_id == class_id))
        except _Changed:
            continue
        return Archived(class_id, folder, len(data["students"]), len(rows))
    raise ClassroomError("The class kept changing while it was being archived: try End class again.")
