"""The shared database, on SQLite and PostgreSQL: students join and come back, step results add up."""

import threading
from datetime import timedelta

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from cvae.classroom import ClassroomError, progress, students
from cvae.db import Database, DatabaseError
from cvae.db.schema import Base, ClassRecord, StudentRecord


def test_migrations_build_exactly_the_schema_and_a_second_upgrade_changes_nothing(db):
    with db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    db.upgrade()
    assert set(inspect(db.engine).get_table_names()) >= {"classes", "students", "step_results", "pushes"}


def test_a_student_joins_once_and_finds_themselves_again_by_token_only(db):
    ada, token = students.join(db, "  Ada \t Lovelace ")
    assert ada.name == "Ada Lovelace"
    assert students.by_token(db, token) == ada
    assert students.by_token(db, token + "x") is None
    assert students.by_token(db, None) is None
    with db.transaction() as session:  # only the token's digest is stored
        stored = session.scalar(select(StudentRecord.token_sha256).where(StudentRecord.id == ada.id))
    assert token not in stored and len(stored) == 64


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "Enter a name"),
        ("   ", "Enter a name"),
        ("x" * 61, "at most 60"),
        ("Bo\x00b", "control"),
        ("A\u200bB", "invisible"),
    ],
)
def test_names_that_cannot_be_shown_are_refused_with_a_reason(db, name, problem):
    with pytest.raises(ClassroomError, match=problem):
        students.join(db, name)


def test_markup_in_a_name_is_kept_as_text_and_a_taken_name_is_refused(db):
    hostile = "<script>alert(1)</script>"
    student, _ = students.join(db, hostile)
    assert student.name == hostile
    with pytest.raises(ClassroomError, match="already uses the name"):
        students.join(db, hostile)


def test_step_results_count_attempts_keep_a_pass_and_record_skips(db):
    ada, _ = students.join(db, "Ada")
    opened = progress.open_step(db, ada.id, "what-is-a-vae", 1)
    assert (opened.status, opened.attempts) == ("open", 0)
    wrong = progress.record_check(
        db, ada.id, "what-is-a-vae", 1, passed=False, prediction={"z": np.array([0.5, -1.0])}, truth={"z": [1.0, 2.0]}
    )
    assert (wrong.status, wrong.attempts, wrong.prediction) == ("not_yet", 1, {"z": [0.5, -1.0]})
    right = progress.record_check(db, ada.id, "what-is-a-vae", 1, passed=True, prediction={"z": [1.0, 2.0]})
    assert (right.status, right.attempts, right.truth) == ("passed", 2, {"z": [1.0, 2.0]})
    again = progress.record_check(db, ada.id, "what-is-a-vae", 1, passed=False)
    assert (again.status, again.attempts) == ("passed", 3)  # a pass is never taken back
    assert progress.skip(db, ada.id, "what-is-a-vae", 1).status == "passed"
    skipped = progress.skip(db, ada.id, "what-is-a-vae", 2)
    assert (skipped.status, skipped.attempts) == ("skipped", 0)
    assert sorted(progress.results(db, ada.id, "what-is-a-vae")) == [1, 2]
    assert progress.results(db, ada.id, "another-lesson") == {}


def test_seconds_run_from_the_first_view_to_the_pass(db):
    ada, _ = students.join(db, "Ada")
    progress.open_step(db, ada.id, "l", 1)
    with db.transaction() as session:  # as if the step had been opened 90 s ago
        from cvae.db.schema import StepRecord

        row = session.get(StepRecord, (ada.id, "l", 1))
        row.opened_at -= timedelta(seconds=90)
    assert progress.record_check(db, ada.id, "l", 1, passed=True).seconds >= 90


def test_place_is_the_presence_else_the_newest_result(db):
    ada, _ = students.join(db, "Ada")
    assert progress.place(db, ada.id) is None
    progress.open_step(db, ada.id, "training", 3)
    assert progress.place(db, ada.id) == ("training", 3)
    students.touch(db, ada.id, page="Lessons", lesson_id="latent-space", step=2)
    assert progress.place(db, ada.id) == ("latent-space", 2)
    with db.transaction() as session:
        row = session.get(StudentRecord, ada.id)
        assert (row.page, row.lesson_id, row.step) == ("Lessons", "latent-space", 2)


def test_students_and_their_work_survive_a_new_process_on_the_same_database(database_url):
    first = Database(database_url)
    first.upgrade()
    ada, token = students.join(first, "Ada")
    progress.record_check(first, ada.id, "l", 1, passed=True, prediction={"digit": 7})
    first.dispose()
    second = Database(database_url)  # a restarted server: nothing but the URL in common
    second.upgrade()
    assert students.by_token(second, token).name == "Ada"
    assert progress.results(second, ada.id, "l")[1].prediction == {"digit": 7}
    second.dispose()


def test_an_ended_class_lets_no_token_back_in_and_the_next_join_starts_a_new_class(db):
    ada, token = students.join(db, "Ada")
    with db.transaction() as session:
        from cvae.db.schema import utcnow

        session.get(ClassRecord, ada.class_id).ended_at = utcnow()
    assert students.by_token(db, token) is None
    bo, _ = students.join(db, "Ada")  # the name is free in the new class
    assert bo.class_id != ada.class_id


def test_two_threads_joining_at_once_share_one_live_class(db):
    joined = []
    threads = [threading.Thread(target=lambda n=n: joined.append(students.join(db, f"s{n}")[0])) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(joined) == 8 and len({s.class_id for s in joined}) == 1


def test_a_bad_url_or_unreachable_server_is_a_clear_database_error(tmp_path):
    with pytest.raises(DatabaseError, match="not a database URL"):
        Database("definitely not a url")
    unreachable = Database("postgresql+psycopg://cvae:x@127.0.0.1:9/cvae")
    with pytest.raises(DatabaseError, match="cannot open the database"):
        unreachable.upgrade()
    assert "x@" not in str(unreachable.url.render_as_string(hide_password=True))


def test_the_database_refuses_a_status_no_step_can_have(db):
    from cvae.db.schema import StepRecord

    ada, _ = students.join(db, "Ada")
    progress.open_step(db, ada.id, "l", 1)
    with pytest.raises(DatabaseError, match="ck_step_results_status|CHECK constraint"), db.transaction() as session:
        session.get(StepRecord, (ada.id, "l", 1)).status = "maybe"
    assert progress.results(db, ada.id, "l")[1].status == "open"  # the bad write was rolled back
