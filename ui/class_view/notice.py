"""A student's notice of the teacher's newest push, polled on every page; following it is one click.

Never a redirect: the student finishes what they are doing, then follows or dismisses; either
records the push as seen (`students.seen_push`), so it is not shown again.
"""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException

from cvae.classroom import Student, pushes
from cvae.db import DatabaseError
from ui import student
from ui.model_choice import runs_root, set_active

__all__ = ["LESSONS_PAGE", "NOTICE_EVERY_S", "push_notice_ui"]

NOTICE_EVERY_S = 3.0  # a push shows within this (plus a render): the issue asks for 5 s
LESSONS_PAGE = "app_pages/lessons.py"  # opens `?lesson=ID&step=K` (the Lessons page's contract)


@st.fragment(run_every=NOTICE_EVERY_S)
def push_notice_ui(me: Student) -> None:
    """The pending push, if any, as a notice with Follow and Dismiss."""
    try:
        push = pushes.pending(student.db(), me)
    except DatabaseError:
        return  # a busy database delays the notice to the next poll; the page goes on
    if push is None:
        return
    with st.container(border=True, key="push_notice"):
        st.info(f"Your teacher asks everyone to {push.describe()}.", icon=":material/campaign:")
        follow, dismiss = st.columns([1, 1], width=360)
        label = "Go to the step" if push.kind == "step" else "Use this model"
        if follow.button(label, type="primary", key=f"push_follow_{push.id}"):
            _follow(me, push)
        if dismiss.button("Dismiss", key=f"push_dismiss_{push.id}"):
            pushes.mark_seen(student.db(), me.id, push.id)
            st.rerun(scope="fragment")


def _follow(me: Student, push: pushes.Push) -> None:
    pushes.mark_seen(student.db(), me.id, push.id)
    if push.kind == "model":
        path = runs_root() / push.model
        if not (path / "params.npz").is_file():
            st.error(f"The model {push.model} is not on this server any more.")
            return
        set_active(path)
        st.rerun()  # the whole page: the sidebar's model picker and the page show the new model
    query = {"lesson": push.lesson_id, "step": str(push.step), student.PARAM: st.query_params.get(student.PARAM, "")}
    try:
        st.switch_page(LESSONS_PAGE, query_params={k: v for k, v in query.items() if v})
    except StreamlitAPIException:
        st.error("The Lessons page is not available on this server: open the lesson from the menu.")
