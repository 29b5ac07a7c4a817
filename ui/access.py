"""Who this tab is: the teacher (signed in on the Classroom page with the teacher code) or not."""

from __future__ import annotations

import streamlit as st

from cvae.access import CodeGate
from cvae.db import database, database_url
from cvae.settings import settings
from ui import session_keys as keys

__all__ = ["is_teacher", "set_teacher", "teacher_gate"]


def is_teacher() -> bool:
    return bool(st.session_state.get(keys.TEACHER))


def set_teacher(signed_in: bool) -> None:
    """Sign this tab in as the teacher (after the gate took the code) or out."""
    st.session_state[keys.TEACHER] = signed_in


def teacher_gate() -> CodeGate:
    """The one check of the teacher code: its delay after wrong codes is shared by every tab of every
    web process on this database."""
    return _teacher_gate(settings().teacher_code, database_url())


@st.cache_resource
def _teacher_gate(code: str | None, url: str) -> CodeGate:
    return CodeGate(database(url), "teacher", code)
