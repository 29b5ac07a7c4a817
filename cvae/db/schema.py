"""The tables every web process shares: the live class, its students, their step results, the teacher's
pushes; the training jobs, the code throttles and the server's own values (its owner-token secret).

One row per student per lesson step (`step_results`) is what the Lessons page writes, the teacher's
Class page reads and the CSV export lists; a student is identified by a bearer token kept in their
own URL (only its SHA-256 is stored). Changing a table means a new Alembic revision in
`cvae/db/migrations/versions/`, never an edit of an old one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "JOB_STATUSES",
    "NAME_MAX",
    "STATUSES",
    "Base",
    "ClassRecord",
    "GateRecord",
    "JobRecord",
    "PushRecord",
    "ServerValue",
    "StepRecord",
    "StudentRecord",
    "utcnow",
]

NAME_MAX = 60  # characters of a student's display name
STATUSES = ("open", "passed", "not_yet", "skipped")  # a step result's status, in the order a step moves
# a training job's status: the first four are active (in the order a job moves), the rest are ends
JOB_STATUSES = ("queued", "preparing", "running", "saving", "finished", "stopped", "diverged", "failed", "interrupted")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on both databases: SQLite keeps no time zone and hands back naive values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("a naive datetime would be read back in another zone: pass an aware one")
        return value

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime()}


class ClassRecord(Base):
    """One class meeting: live while `ended_at` is NULL; "End class" archives and ends it."""

    __tablename__ = "classes"
    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]


class StudentRecord(Base):
    """A student of one class, with where they are now (their presence, for the class view)."""

    __tablename__ = "students"
    __table_args__ = (UniqueConstraint("class_id", "name", name="uq_students_class_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    page: Mapped[str | None] = mapped_column(String(80))
    lesson_id: Mapped[str | None] = mapped_column(String(80))
    step: Mapped[int | None] = mapped_column(Integer)
    job_id: Mapped[str | None] = mapped_column(String(80))  # the training this student started last
    seen_push: Mapped[int] = mapped_column(Integer, default=0)  # the newest push they have followed or dismissed


class StepRecord(Base):
    """One student's work on one step of one lesson."""

    __tablename__ = "step_results"
    __table_args__ = (CheckConstraint(f"status IN {STATUSES}", name="ck_step_results_status"),)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), primary_key=True)
    lesson_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1-based, as "Step k of N" shows it
    status: Mapped[str] = mapped_column(String(10), default="open")  # one of STATUSES
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # checks made, passing or not
    seconds: Mapped[float] = mapped_column(Float, default=0.0)  # from first view to pass or skip
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    prediction: Mapped[dict | None] = mapped_column(JSON)  # the student's last answer, e.g. {"z": [0.3, -1.2]}
    truth: Mapped[dict | None] = mapped_column(JSON)  # what the live model said, computed at that check


class PushRecord(Base):
    """A teacher's "everyone to lesson L step K" or "everyone use model M", shown to each student once."""

    __tablename__ = "pushes"
    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "step" or "model"
    lesson_id: Mapped[str | None] = mapped_column(String(80))
    step: Mapped[int | None] = mapped_column(Integer)
    model: Mapped[str | None] = mapped_column(String(200))  # a run's name under the runs folder
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobRecord(Base):
    """A training job, whichever web process started it: every replica lists, follows, stops and saves it.

    `dispatched_at` is set by the one process that claims the job for the cluster, `published` once its
    Dask future is published under the job's topic, where any other process finds it again."""

    __tablename__ = "jobs"
    __table_args__ = (CheckConstraint(f"status IN {JOB_STATUSES}", name="ck_jobs_status"),)
    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict] = mapped_column(JSON)  # TrainConfig.to_dict()
    session: Mapped[str] = mapped_column(String(64))  # the browser tab that started it (never shown)
    created: Mapped[float] = mapped_column(Float, index=True)  # seconds since the epoch: the queue's order
    status: Mapped[str] = mapped_column(String(12), default="queued")  # one of JOB_STATUSES
    message: Mapped[str] = mapped_column(String(500), default="waiting for a free worker")
    saved: Mapped[bool] = mapped_column(Boolean, default=False)
    first_point_s: Mapped[float | None] = mapped_column(Float)
    dispatched_at: Mapped[float | None] = mapped_column(Float)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    saving_at: Mapped[float | None] = mapped_column(Float)  # when a process claimed the save (another takes
    # it over if that process dies before the job ends: `JobRecords.reclaim_save`)


class GateRecord(Base):
    """The wrong-code count of one code (the class's or the teacher's), shared by every web process."""

    __tablename__ = "code_gates"
    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    wrong: Mapped[int] = mapped_column(Integer, default=0)
    last_wrong: Mapped[float] = mapped_column(Float, default=0.0)  # seconds since the epoch
    next_try: Mapped[float] = mapped_column(Float, default=0.0)


class ServerValue(Base):
    """A small value every web process must agree on (the owner tokens' secret, the teacher's settings)."""

    __tablename__ = "server_values"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)
