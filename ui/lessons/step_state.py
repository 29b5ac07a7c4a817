"""Where this session is in the lessons, what it has passed, and its progress in the database.

The lesson and step live in the URL (`?lesson=ID&step=K`), so a link opens a step and a refresh
keeps it; a signed-in student's checks, skips and place are written through `cvae.classroom`, so
they survive a server restart. Without a student the session keeps them in memory only.
"""

from __future__ import annotations

import streamlit as st

from cvae.classroom import progress
from cvae.db import DatabaseError
from cvae.lessons import CheckResult, Lesson
from ui import student
from ui.session_keys import LESSON_OPENED, LESSON_PASSED, LESSON_SKIPPED

__all__ = ["advance", "mark_passed", "open_step", "passed", "place", "record_check", "record_skip", "set_place"]


def place(lessons: dict[str, Lesson], me) -> tuple[str, int]:
    """The lesson id and step to show: the URL's, else the student's last place, else lesson 1 step 1."""
    wanted = st.query_params.get("lesson")
    if wanted is None and me is not None:
        try:
            last = progress.place(student.db(), me.id)
        except DatabaseError:
            last = None
        if last is not None and last[0] in lessons:
            return last
    if wanted not in lessons:  # no lesson named, or a link to one that is gone: the first lesson's start
        return next(iter(lessons)), 1
    try:
        step = int(st.query_params.get("step", 1))
    except ValueError:
        step = 1
    lesson_id = wanted
    return lesson_id, min(max(step, 1), len(lessons[lesson_id].steps))


def set_place(lesson_id: str, step: int) -> None:
    st.query_params["lesson"], st.query_params["step"] = lesson_id, str(step)


def advance(lessons: dict[str, Lesson], lesson_id: str, step: int) -> bool:
    """Move the URL to the next step, or the next lesson's first; False after the last step of the last lesson."""
    if step < len(lessons[lesson_id].steps):
        set_place(lesson_id, step + 1)
        return True
    ids = list(lessons)
    if ids.index(lesson_id) + 1 < len(ids):
        set_place(ids[ids.index(lesson_id) + 1], 1)
        return True
    return False


def _db_call(fn, *args, **kwargs):
    """A progress write; None (and a warning once) when the database cannot take it."""
    try:
        return fn(student.db(), *args, **kwargs)
    except DatabaseError as err:
        st.warning(f"Progress cannot be saved right now: {err}")
        return None


def open_step(me, lesson_id: str, step: int) -> None:
    """The step's first view this session: the student's presence and, once, its row (its timer)."""
    if me is None:
        return
    student.touch(me, page="Lessons", lesson_id=lesson_id, step=step)
    opened = st.session_state.setdefault(LESSON_OPENED, set())
    if (lesson_id, step) not in opened:
        _db_call(progress.open_step, me.id, lesson_id, step)
        opened.add((lesson_id, step))


def passed(me, lesson_id: str, step: int) -> bool:
    """Whether this step was passed: in this session, or in the student's saved results."""
    if st.session_state.get(LESSON_PASSED, {}).get((lesson_id, step)):
        return True
    if me is None:
        return False
    try:
        results = progress.results(student.db(), me.id, lesson_id)
    except DatabaseError:
        return False
    done = results.get(step) is not None and results[step].status == "passed"
    if done:
        mark_passed(lesson_id, step)
    return done


def mark_passed(lesson_id: str, step: int) -> None:
    st.session_state.setdefault(LESSON_PASSED, {})[(lesson_id, step)] = True


def record_check(me, lesson_id: str, step: int, result: CheckResult) -> None:
    if result.passed:
        mark_passed(lesson_id, step)
    if me is not None:
        _db_call(
            progress.record_check,
            me.id,
            lesson_id,
            step,
            passed=result.passed,
            prediction=result.prediction,
            truth=result.truth,
        )


def record_skip(me, lesson_id: str, step: int) -> None:
    st.session_state.setdefault(LESSON_SKIPPED, set()).add((lesson_id, step))
    if me is not None:
        _db_call(progress.skip, me.id, lesson_id, step)
