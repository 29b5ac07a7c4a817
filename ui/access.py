"""Who this tab is: the teacher (signed in on the Classroom page with the teacher code) or not."""

from __future__ import annotations

import streamlit as st

from cvae.access import TeacherGate
from cvae.settings import settings
from ui import session_keys as keys

__all__ = ["is_teacher", "set_teacher", "teacher_gate"]


def is_teacher() -> bool:
    return bool(st.session_state.get(keys.TEACHER))


def set_teacher(signed_in: bool) -> None:
    """Sign this tab in as the teacher (after the gate took the code) or out."""
    st.session_state[keys.TEACHER] = signed_in


def teacher_gate() -> TeacherGate:
    """The server's one check of the teacher code (its delay after wrong codes is shared by every tab)."""
    return _teacher_gate(settings().teacher_code)


@st.cache_resource
def _teacher_gate(code: str | None) -> TeacherGate:
    return TeacherGate(code)
