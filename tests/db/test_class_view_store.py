"""The class view's data on SQLite and PostgreSQL: the roster, the answers, pushes, the CSV, End class."""

import csv
import io
import json
import zipfile

import pytest
from sqlalchemy import func, select

from cvae.classroom import ClassroomError, export, progress, pushes, roster, students
from cvae.classroom import archive as archive_mod
from cvae.classroom.archive import ARCHIVES, end_class
from cvae.db.schema import ClassRecord, StepRecord, StudentRecord


def _class_of_three(db):
    """Ada passed step 1 after a wrong try and is on step 2; Bo skipped step 1; Cy has done nothing."""
    ada, _ = students.join(db, "Ada")
    bo, _ = students.join(db, "Bo")
    cy, _ = students.join(db, "Cy")
    progress.record_check(db, ada.id, "l1", 1, passed=False, prediction={"z": [0.5, 0.5]}, truth={"z": [1.0, 2.0]})
    progress.record_check(db, ada.id, "l1", 1, passed=True, prediction={"z": [1.0, 1.9]}, truth={"z": [1.0, 2.0]})
    progress.open_step(db, ada.id, "l1", 2)
    students.touch(db, ada.id, page="Lessons", lesson_id="l1", step=2)
    progress.skip(db, bo.id, "l1", 1)
    students.touch(db, bo.id, page="Latent space", lesson_id="l1", step=1)
    students.touch(db, cy.id, page="Home", job_id="job-cy")
    return ada, bo, cy


def test_no_class_means_empty_views_and_reading_never_starts_one(db):
    assert roster.roster(db) == [] and roster.answers(db, "l1", 1) == [] and roster.step_shares(db) == []
    assert export.class_rows(db) == [] and pushes.latest(db) is None
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ClassRecord)) == 0


def test_the_roster_has_one_row_per_student_with_place_counts_and_job(db):
    _class_of_three(db)
    rows = {r.name: r for r in roster.roster(db)}
    assert list(rows) == ["Ada", "Bo", "Cy"]
    ada, bo, cy = rows["Ada"], rows["Bo"], rows["Cy"]
    assert (ada.page, ada.lesson_id, ada.step, ada.step_status) == ("Lessons", "l1", 2, "open")
    assert (ada.passed, ada.not_yet, ada.skipped) == (1, 0, 0)
    assert (bo.page, bo.step, bo.step_status, bo.passed, bo.skipped) == ("Latent space", 1, "skipped", 0, 1)
    assert (cy.page, cy.lesson_id, cy.step_status, cy.passed, cy.job_id) == ("Home", None, None, 0, "job-cy")
    assert ada.last_seen.tzinfo is not None


def test_answers_and_shares_per_step(db):
    ada, bo, _ = _class_of_three(db)
    progress.record_check(db, bo.id, "l1", 2, passed=False, prediction={"z": [-1.0, 0.0]}, truth={"z": [0.0, 0.0]})
    step1 = roster.answers(db, "l1", 1)
    assert [(a.name, a.status) for a in step1] == [("Ada", "passed")]  # Bo skipped without checking
    assert roster.point_of(step1[0].prediction) == (1.0, 1.9) and roster.point_of(step1[0].truth) == (1.0, 2.0)
    shares = {(s.lesson_id, s.step): s for s in roster.step_shares(db)}
    assert (shares["l1", 1].opened, shares["l1", 1].passed, shares["l1", 1].skipped) == (2, 1, 1)
    assert shares["l1", 1].share_passed == pytest.approx(1 / 3)  # of the class's three students
    assert (shares["l1", 2].opened, shares["l1", 2].passed, shares["l1", 2].share_passed) == (2, 0, 0.0)


@pytest.mark.parametrize(
    "answer", [None, {}, {"z": 0.3}, {"z": [1.0]}, {"z": ["a", "b"]}, {"digit": 7}, {"z": [True, 1.0]}]
)
def test_answers_without_a_latent_point_have_no_point(answer):
    assert roster.point_of(answer) is None


def test_a_push_is_pending_once_until_followed_and_a_newer_one_supersedes(db):
    with pytest.raises(ClassroomError, match="No class is running"):
        pushes.push_step(db, "l1", 1)
    ada, bo, _ = _class_of_three(db)
    first = pushes.push_step(db, "l1", 3)
    assert pushes.pending(db, ada) == first and first.describe() == "go to lesson l1, step 3"
    pushes.mark_seen(db, ada.id, first.id)
    assert pushes.pending(db, ada) is None
    second = pushes.push_model(db, "beta-4")
    assert pushes.pending(db, ada) == second and pushes.pending(db, bo) == second  # the newest only
    assert pushes.latest(db) == second and second.kind == "model" and second.model == "beta-4"
    pushes.mark_seen(db, bo.id, second.id)
    pushes.mark_seen(db, bo.id, first.id)  # an older push never moves seen_push backwards
    assert pushes.pending(db, bo) is None


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda db: pushes.push_step(db, "", 1), "Choose a lesson"),
        (lambda db: pushes.push_step(db, "l1", 0), "whole number"),
        (lambda db: pushes.push_step(db, "l1", True), "whole number"),
        (lambda db: pushes.push_model(db, "../etc"), "not the name"),
        (lambda db: pushes.push_model(db, ""), "not the name"),
    ],
)
def test_bad_pushes_are_refused_with_a_reason(db, call, problem):
    students.join(db, "Ada")
    with pytest.raises(ClassroomError, match=problem):
        call(db)
    assert pushes.latest(db) is None


def test_csv_has_one_row_per_student_per_step_and_formulas_stay_text(db):
    ada, bo, _ = _class_of_three(db)
    evil, _ = students.join(db, '=HYPERLINK("http://x")')
    progress.record_check(db, evil.id, "l1", 1, passed=True, prediction={"digit": 7})
    rows = list(csv.reader(io.StringIO(export.to_csv(export.class_rows(db)))))
    assert rows[0] == list(export.COLUMNS) == ["name", "lesson", "step", "result", "attempts", "seconds", "prediction"]
    body = rows[1:]
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in body] == [
        ('\'=HYPERLINK("http://x")', "l1", "1", "passed", "1"),
        ("Ada", "l1", "1", "passed", "2"),
        ("Ada", "l1", "2", "open", "0"),
        ("Bo", "l1", "1", "skipped", "0"),
    ]
    assert json.loads(body[1][6]) == {"z": [1.0, 1.9]} and body[2][6] == ""
    with db.transaction() as session:  # one row per step result, nothing more, nothing less
        assert len(body) == session.scalar(select(func.count()).select_from(StepRecord))


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_safe_cell_quotes_what_a_spreadsheet_would_run(text):
    assert export.safe_cell(text) == "'" + text
    assert export.safe_cell("Ada") == "Ada" and export.safe_cell(3) == 3


def test_runs_zip_holds_each_students_bundle_and_skips_what_cannot_be_exported(tmp_path):
    from harness.latent_map import save_random_model

    run = save_random_model(tmp_path, "ada-run", arch="keras-example", latent_dim=2, epochs=1)
    data, skipped = export.runs_zip({"Ada": run, "=Bo": tmp_path / "missing"})
    assert skipped == ["missing"]
    with zipfile.ZipFile(io.BytesIO(data)) as outer:
        assert sorted(outer.namelist()) == ["ada-run.zip", "students.csv"]
        with zipfile.ZipFile(io.BytesIO(outer.read("ada-run.zip"))) as inner:
            assert {"config.json", "params.npz", "history.json"} <= set(inner.namelist())
        assert outer.read("students.csv").decode().splitlines() == ["name,run", "Ada,ada-run"]


def test_end_class_archives_then_deletes_the_names_and_the_next_join_is_a_new_class(db, tmp_path):
    ada, _, _ = _class_of_three(db)
    pushes.push_step(db, "l1", 2)
    done = end_class(db, tmp_path)
    assert done.folder.parent == tmp_path / ARCHIVES and (done.students, done.rows) == (3, 3)
    records = json.loads((done.folder / "records.json").read_text())
    assert [s["name"] for s in records["students"]] == ["Ada", "Bo", "Cy"]
    assert [(s["step"], s["result"]) for s in records["students"][0]["steps"]] == [(1, "passed"), (2, "open")]
    assert records["pushes"][0]["step"] == 2 and records["ended_at"]
    assert len(list(csv.reader(io.StringIO((done.folder / "records.csv").read_text())))) == 1 + 3
    assert sorted(p.name for p in done.folder.iterdir()) == ["records.csv", "records.json"]  # no temp files
    with db.transaction() as session:  # no name, no step result left; the class ended
        assert session.scalar(select(func.count()).select_from(StudentRecord)) == 0
        assert session.scalar(select(func.count()).select_from(StepRecord)) == 0
        assert session.get(ClassRecord, ada.class_id).ended_at is not None
    assert roster.roster(db) == []
    with pytest.raises(ClassroomError, match="No class is running"):
        end_class(db, tmp_path)
    newcomer, _ = students.join(db, "Ada")
    assert newcomer.class_id != ada.class_id


def test_end_class_archives_again_when_a_student_writes_after_the_snapshot(db, tmp_path, monkeypatch):
    ada, _, _ = _class_of_three(db)
    real, calls = archive_mod._snapshot, []

    def snapshot_then_a_late_check(database, class_id):
        taken = real(database, class_id)
        calls.append(1)
        if len(calls) == 1:  # the student checks step 2 right after the first snapshot
            progress.record_check(database, ada.id, "l1", 2, passed=True, prediction={"z": [0.0, 0.0]})
        return taken

    monkeypatch.setattr(archive_mod, "_snapshot", snapshot_then_a_late_check)
    done = end_class(db, tmp_path)
    assert len(calls) == 2
    steps = json.loads((done.folder / "records.json").read_text())["students"][0]["steps"]
    assert steps[1]["result"] == "passed"  # the late check is in the archive, not lost
