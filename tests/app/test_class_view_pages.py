"""The Class page under AppTest: a teacher sees it, a student session cannot open it; the push notice."""

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from cvae.classroom import progress, pushes, roster, students
from cvae.db import database
from tests.conftest import APP_TIMEOUT, ROOT, open_app
from ui import student
from ui.session_keys import MAP_DRAWN

CLASS_PAGE = "app_pages/class_view.py"


@pytest.fixture
def class_db(runs_dir, monkeypatch):
    """The app's own database (SQLite under the test's runs folder), with two students who worked."""
    monkeypatch.delenv("CVAE_DATABASE_URL", raising=False)
    monkeypatch.setenv("CVAE_TEACHER_CODE", "teach")
    db = database()
    ada, ada_token = students.join(db, "<b>Ada</b>")
    bo, _ = students.join(db, "Bo")
    progress.record_check(
        db, ada.id, "what-is-a-vae", 1, passed=True, prediction={"z": [0.1, 0.2]}, truth={"z": [0, 0]}
    )
    students.touch(db, ada.id, page="Lessons", lesson_id="what-is-a-vae", step=2)
    progress.skip(db, bo.id, "what-is-a-vae", 1)
    return db, ada, ada_token


def _titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def test_a_student_session_has_no_class_page_and_its_script_stops(class_db):
    at = open_app()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(CLASS_PAGE)  # navigation.py did not list it for this session
    at._page_hash = calc_hash("class_view")  # what a forged rerun for the URL /class_view asks for
    at.run()
    assert not at.exception and "Class" not in _titles(at)
    assert not any("Ada" in str(frame.value) for frame in at.dataframe)
    direct = AppTest.from_file(str(ROOT / CLASS_PAGE), default_timeout=60).run()  # the script itself, as a student
    assert not direct.exception
    assert [e.value for e in direct.error] == ["The Class page is for the teacher: sign in on the Classroom page."]
    assert not direct.title and not direct.dataframe and not direct.button  # nothing of the class


def _teacher() -> AppTest:
    at = AppTest.from_file(str(ROOT / "navigation.py"), default_timeout=APP_TIMEOUT)
    at.session_state["teacher"] = True
    at.session_state[MAP_DRAWN] = True
    at.run()
    at.switch_page(CLASS_PAGE).run()
    assert not at.exception, at.exception
    return at


def test_the_teacher_sees_each_student_their_step_and_the_shares(class_db):
    at = _teacher()
    assert _titles(at) == ["Class"]
    roster, shares = at.dataframe[0].value, at.dataframe[1].value
    assert list(roster["Name"]) == ["<b>Ada</b>", "Bo"]  # the name as text, as typed
    ada = roster.iloc[0]
    assert (ada["Page"], ada["Lesson"], ada["Step"], ada["Passed"]) == ("Lessons", "what-is-a-vae", 2, 1)
    assert roster.iloc[1]["Skipped"] == 1
    assert list(shares["Passed"]) == [1] and list(shares["Share passed"]) == [0.5]
    assert not any("Ada" in m.value for m in at.markdown)  # no name goes through markdown
    assert len(at.get("plotly_chart")) == 1  # step 1's prediction and truth on the latent map


def test_a_teacher_push_reaches_a_student_session_who_follows_the_model(class_db, runs_dir):
    from harness.latent_map import save_random_model

    db, ada, token = class_db
    save_random_model(runs_dir, "beta-2", arch="keras-example", latent_dim=2, epochs=1)
    at = _teacher()
    at.selectbox(key="push_model").set_value("beta-2")
    next(b for b in at.button if b.label == "Everyone use this model").click().run()
    assert not at.exception and any("use the model beta-2" in s.value for s in at.success)
    assert pushes.latest(db).model == "beta-2"

    pupil = AppTest.from_file(str(ROOT / "navigation.py"), default_timeout=APP_TIMEOUT)
    pupil.query_params[student.PARAM] = token
    pupil.session_state[MAP_DRAWN] = True
    pupil.run()
    assert not pupil.exception
    assert any("use the model beta-2" in i.value for i in pupil.info)
    next(b for b in pupil.button if b.label == "Use this model").click().run()
    assert not pupil.exception
    assert pupil.session_state["active_run"] == str(runs_dir / "beta-2")
    assert not any("Your teacher asks" in i.value for i in pupil.info)  # seen: not shown again
    assert pushes.pending(db, students.by_token(db, token)) is None


def test_end_class_asks_first_then_archives_and_removes_the_names(class_db, runs_dir):
    db, ada, token = class_db
    at = _teacher()
    next(b for b in at.button if b.label == "End class...").click().run()
    assert not at.exception
    assert roster.roster(db)  # asked, not done: the dialog is open
    next(b for b in at.button if b.label == "End the class").click().run()
    assert not at.exception
    assert any("Class ended: 2 students and 2 step records archived" in s.value for s in at.success), [
        (e.type, getattr(e, "value", None)) for e in at.main
    ]
    assert roster.roster(db) == [] and students.by_token(db, token) is None
    (archive,) = (runs_dir / "class-archives").iterdir()
    assert "&lt;b&gt;" not in (archive / "records.csv").read_text()  # the name as typed, in the file too
    assert "<b>Ada</b>" in (archive / "records.json").read_text()


def test_a_students_training_is_recorded_for_the_class_view(class_db):
    db, ada, token = class_db

    def started_a_training():  # what ui.jobs.start_training does once the registry took the job
        from ui import jobs

        jobs._record_students_job("job-42")

    at = AppTest.from_function(started_a_training, default_timeout=60)
    at.query_params[student.PARAM] = token
    at.run()
    assert not at.exception
    row = next(r for r in roster.roster(db) if r.student_id == ada.id)
    assert row.job_id == "job-42"
    teacher = _teacher()
    ada_row = teacher.dataframe[0].value.iloc[0]
    assert ada_row["Training"] == "not on this server"  # an id this server's registry does not know
