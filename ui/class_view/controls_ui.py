"""The teacher's controls on the Class page: push a step or a model, download the records, End class."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from cvae.classroom import ClassroomError, export, pushes, roster
from cvae.classroom.archive import end_class
from cvae.db import DatabaseError
from ui import session_keys as keys
from ui import student
from ui.jobs import job_registry
from ui.model_choice import runs_root, saved_runs

__all__ = ["end_class_ui", "export_ui", "push_ui"]


@st.cache_resource(ttl=60, show_spinner=False)
def _lessons() -> dict[str, tuple[str, int]]:
    """Lesson id -> (title, number of steps), from the lessons folder (re-read at most once a minute)."""
    from cvae.lessons import load_library

    return {lesson_id: (lesson.title, len(lesson.steps)) for lesson_id, lesson in load_library().lessons.items()}


def push_ui() -> None:
    """Two forms: everyone to lesson L step K; everyone on model M. Each student sees a notice."""
    db = student.db()
    if (done := st.session_state.pop(keys.CLASS_PUSHED, None)) is not None:
        st.success(f"Sent: {done}. Each student sees a notice within a few seconds and follows it with one click.")
    lessons = _lessons()
    left, right = st.columns(2)
    with left.form("push-step"):
        lesson = st.selectbox(
            "Lesson", list(lessons), format_func=lambda i: f"{lessons[i][0]} ({i})", key="push_lesson"
        )
        most = max((n for _, n in lessons.values()), default=1)
        step = st.number_input("Step", min_value=1, max_value=most, value=1, key="push_step")
        if st.form_submit_button("Send everyone to this step", disabled=not lessons):
            if step > lessons[lesson][1]:
                st.error(f"{lessons[lesson][0]} has {lessons[lesson][1]} steps: choose one of them.")
            else:
                _push(lambda: pushes.push_step(db, lesson, int(step)))
    own = [n for n, p in saved_runs().items() if p.parent.resolve() == runs_root().resolve()]
    if not own:  # no empty, greyed-out picker: its label would be 2.3:1 text (issue 27, docs/accessibility.md)
        right.caption("No saved run on this server yet: a run trained here can be pushed to the class.")
        return
    with right.form("push-model"):
        model = st.selectbox("Model", own, key="push_model", help="A run saved on this server.")
        if st.form_submit_button("Everyone use this model"):
            _push(lambda: pushes.push_model(db, model))


def _push(make) -> None:
    try:
        push = make()
    except (ClassroomError, DatabaseError) as err:
        st.error(f"Not sent: {err}")
        return
    st.session_state[keys.CLASS_PUSHED] = push.describe()
    st.rerun()


def _class_runs() -> dict[str, Path]:
    """Student name -> the saved run of the training they started last (on this server's registry)."""
    registry, runs = job_registry(), {}
    for row in roster.roster(student.db()):
        job = registry.get(row.job_id) if row.job_id else None
        if job is not None and job.saved:
            runs[row.name] = job.checkpoint
    return runs


def export_ui() -> None:
    """The records as CSV (one row per student per step) and the class's runs as one zip; built on click."""
    db = student.db()
    left, right = st.columns(2)
    left.download_button(
        "Download the records (CSV)",
        lambda: export.to_csv(export.class_rows(db)),  # runs when pressed, in another thread
        file_name="class-records.csv",
        mime="text/csv",
        on_click="ignore",
        key="class_csv",
        icon=":material/download:",
    )
    runs = _class_runs()
    right.download_button(
        f"Download the class's runs (.zip, {len(runs)})",
        lambda: export.runs_zip(runs)[0],
        file_name="class-runs.zip",
        mime="application/zip",
        on_click="ignore",
        key="class_runs_zip",
        icon=":material/download:",
        disabled=not runs,
    )


@st.dialog("End the class?", on_dismiss=lambda: st.session_state.pop(keys.CLASS_END_ASKED, None))
def _confirm_end() -> None:
    st.write(
        "The class's records are archived on this server (a CSV and a JSON file under the runs folder's "
        "class-archives/), then every student's name and progress is deleted from the live tables. "
        "Students are asked for a name again next time. This cannot be undone."
    )
    yes, no = st.columns(2)
    if yes.button("End the class", type="primary", key="class_end_confirm"):
        try:
            done = end_class(student.db(), runs_root())
        except (ClassroomError, DatabaseError, OSError) as err:
            st.error(f"The class was not ended: {err}")
            return
        st.session_state[keys.CLASS_ENDED] = (done.students, done.rows, done.folder.name)
        st.session_state.pop(keys.CLASS_END_ASKED, None)
        st.rerun()
    if no.button("Cancel", key="class_end_cancel"):
        st.session_state.pop(keys.CLASS_END_ASKED, None)
        st.rerun()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def end_class_ui() -> None:
    """End class, behind a confirmation; says where the archive went."""
    if (ended := st.session_state.pop(keys.CLASS_ENDED, None)) is not None:
        students_n, rows_n, folder = ended
        who = f"{_plural(students_n, 'student')} and {_plural(rows_n, 'step record')}"
        st.success(f"Class ended: {who} archived in class-archives/{folder}.")
    if st.button("End class...", key="class_end", icon=":material/logout:"):
        st.session_state[keys.CLASS_END_ASKED] = True
    if st.session_state.get(keys.CLASS_END_ASKED):
        _confirm_end()
