"""This browser session's student: a name given once, a token in the URL that finds them again.

The token (a bearer secret from `cvae.classroom.students.join`) lives in the session and in the
URL's `?student=`, so a refresh, a new page or a restarted server finds the same student; the
presence it writes (page, lesson, step) is what the teacher's Class page shows.
"""

from __future__ import annotations

import time

import streamlit as st

from cvae.classroom import ClassroomError, Student, students
from cvae.db import Database, DatabaseError, database
from cvae.db.schema import NAME_MAX

__all__ = ["PARAM", "current", "db", "sign_in_ui", "touch"]

PARAM = "student"  # the URL's query parameter holding the token
_TOKEN = "student_token"  # session state: the token this session signed in with
_PRESENCE = "student_presence"  # session state: (what was written last, when)
PRESENCE_EVERY_S = 2.0  # an unchanged presence is written at most this often (the class view's "last active")


def db() -> Database:
    """The app's database (CVAE_DATABASE_URL, else SQLite under the runs folder); a DatabaseError if unusable."""
    return database()


def current() -> Student | None:
    """The signed-in student of this session, or None; keeps the token in the URL across pages."""
    token = st.session_state.get(_TOKEN) or st.query_params.get(PARAM)
    if not token:
        return None
    found = students.by_token(db(), token)
    if found is None:  # an unknown token, or the teacher ended the class: sign in again
        st.session_state.pop(_TOKEN, None)
        st.query_params.pop(PARAM, None)
        return None
    st.session_state[_TOKEN] = token
    if st.query_params.get(PARAM) != token:
        st.query_params[PARAM] = token
    return found


def sign_in_ui(required: bool, *, key: str = "student-sign-in") -> Student | None:
    """The student, asking for a name first if this session has none; `required` hides the way around it."""
    try:
        found = current()
    except DatabaseError as err:
        st.error(f"Progress cannot be saved right now: {err}")
        return None
    if found is not None:
        return found
    with st.form(key, clear_on_submit=False):
        name = st.text_input(
            "Your name",
            max_chars=NAME_MAX,
            key=f"{key}-name",
            help="Your teacher sees it beside your progress. It is kept until the teacher ends the class.",
        )
        submitted = st.form_submit_button("Start", type="primary")
    if submitted:
        try:
            student, token = students.join(db(), name)
        except (ClassroomError, DatabaseError) as err:
            st.error(str(err))
        else:
            st.session_state[_TOKEN] = token
            st.query_params[PARAM] = token
            st.session_state.pop(_PRESENCE, None)
            st.rerun()
    if not required:
        st.caption("Without a name your answers are checked but not saved beyond this browser tab.")
    return None


def touch(student: Student, *, page: str, lesson_id: str | None = None, step: int | None = None) -> None:
    """Tell the class view where this student is: the page, and the lesson step when one is given (a visit
    to another page keeps the last step). An unchanged place is written at most once per PRESENCE_EVERY_S."""
    place = (student.id, page, lesson_id, step)
    last = st.session_state.get(_PRESENCE)
    now = time.monotonic()
    if last is not None and now - last[1] < PRESENCE_EVERY_S:
        same_page = last[0][:2] == place[:2]
        if same_page and (lesson_id is None or last[0][2:] == place[2:]):
            return
    changes = {"page": page} if lesson_id is None else {"page": page, "lesson_id": lesson_id, "step": step}
    try:
        students.touch(db(), student.id, **changes)
    except DatabaseError:
        return  # presence is a courtesy to the class view: a busy database must not break the page
    st.session_state[_PRESENCE] = (place if lesson_id is not None or last is None else (*place[:2], *last[0][2:]), now)
