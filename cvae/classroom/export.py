"""The class's records for the teacher: a CSV of one row per student per step, and the class's runs as one zip.

Cells a spreadsheet would run as a formula (starting with = + - @, or a tab or carriage return)
get a leading apostrophe, so a student named "=HYPERLINK(...)" stays text in Excel or LibreOffice.
"""

from __future__ import annotations

import csv
import io
import json
import stat
import zipfile
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from sqlalchemy import select

from cvae.classroom.roster import current_class_id
from cvae.db import Database
from cvae.db.schema import StepRecord, StudentRecord
from cvae.store.bundle import BundleError, export_bundle

__all__ = ["COLUMNS", "ExportRow", "class_rows", "runs_zip", "safe_cell", "to_csv"]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # the same runs give the same zip bytes


@dataclass(frozen=True)
class ExportRow:
    """One student's work on one step, as the CSV lists it."""

    name: str
    lesson: str
    step: int
    result: str  # "open", "passed", "not_yet" or "skipped"
    attempts: int
    seconds: float
    prediction: str  # the last answer as compact JSON ("" if none)


COLUMNS = tuple(f.name for f in fields(ExportRow))


def class_rows(db: Database, class_id: int | None = None) -> list[ExportRow]:
    """Every step result of class `class_id` (default: the live one), by name, lesson and step."""
    with db.transaction() as session:
        class_id = class_id if class_id is not None else current_class_id(session)
        if class_id is None:
            return []
        query = (
            select(StudentRecord.name, StepRecord)
            .join(StudentRecord, StudentRecord.id == StepRecord.student_id)
            .where(StudentRecord.class_id == class_id)
            .order_by(StudentRecord.name, StepRecord.lesson_id, StepRecord.step)
        )
        return [
            ExportRow(
                name,
                r.lesson_id,
                r.step,
                r.status,
                r.attempts,
                round(r.seconds, 1),
                "" if r.prediction is None else json.dumps(r.prediction, separators=(",", ":"), sort_keys=True),
            )  # fmt: skip
            for name, r in session.execute(query)
        ]


def safe_cell(value) -> str | int | float:
    """`value` as a spreadsheet shows it as text: a leading apostrophe where it would start a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(rows: list[ExportRow]) -> str:
    """A header line and one line per row; every text cell formula-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows([safe_cell(v) for v in astuple(row)] for row in rows)
    return buffer.getvalue()


def runs_zip(runs: dict[str, Path]) -> tuple[bytes, list[str]]:
    """Student name -> their saved run, as one zip of run bundles (`<run name>.zip` each, plus
    `students.csv` saying whose is whose); returns the bytes and the runs that could not be exported."""
    buffer, skipped = io.BytesIO(), []
    owners = [("name", "run")]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # the bundles are compressed already
        for name, run in sorted(runs.items()):
            try:
                data = export_bundle(run)
            except (BundleError, OSError):
                skipped.append(Path(run).name)
                continue
            _write(archive, f"{Path(run).name}.zip", data)
            owners.append((safe_cell(name), Path(run).name))
        text = io.StringIO()
        csv.writer(text, lineterminator="\r\n").writerows(owners)
        _write(archive, "students.csv", text.getvalue().encode("utf-8"))
    return buffer.getvalue(), skipped


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    archive.writestr(info, data)
