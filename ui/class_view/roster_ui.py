"""The Class page's table: one row per student of the live class, redrawn every REFRESH_S seconds."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd
import streamlit as st

from cvae.classroom import roster
from cvae.db import DatabaseError
from cvae.db.schema import utcnow
from ui import student
from ui.jobs import job_registry

__all__ = ["REFRESH_S", "roster_frame", "roster_ui"]

REFRESH_S = 2.0  # a student's action shows within this plus one database write and one render
_STATUS = {"open": "working", "passed": "passed", "not_yet": "not yet", "skipped": "skipped", None: ""}


def _ago(when: datetime, now: datetime) -> str:
    seconds = max(0, int((now - when).total_seconds()))
    return f"{seconds} s ago" if seconds < 120 else f"{seconds // 60} min ago"


def _training(job_id: str | None) -> tuple[str, str]:
    """(status and step, last -ELBO) of the student's last training, from this server's job registry."""
    job = job_registry().get(job_id) if job_id else None
    if job is None:
        return ("", "") if not job_id else ("not on this server", "")
    progress = job.progress()
    elbo = job.history.neg_elbo[-1] if job.history.neg_elbo else math.nan
    status = f"{job.status} · step {progress.step}/{progress.total_steps}" if progress.total_steps else job.status
    return status, "" if math.isnan(elbo) else f"{elbo:.1f}"


def roster_frame(rows: list[roster.RosterRow]) -> pd.DataFrame:
    """The rows as the table shows them (names as plain strings: st.dataframe draws text, never markup)."""
    now = utcnow()
    records = []
    for r in rows:
        training, elbo = _training(r.job_id)
        records.append({
            "Name": r.name, "Page": r.page or "", "Lesson": r.lesson_id or "", "Step": r.step,
            "On this step": _STATUS.get(r.step_status, r.step_status), "Passed": r.passed, "Not yet": r.not_yet,
            "Skipped": r.skipped, "Training": training, "-ELBO": elbo, "Last active": _ago(r.last_seen, now),
        })  # fmt: skip
    columns = ["Name", "Page", "Lesson", "Step", "On this step", "Passed", "Not yet", "Skipped", "Training", "-ELBO"]
    return pd.DataFrame.from_records(records, columns=[*columns, "Last active"]).astype({"Step": "Int64"})


@st.fragment(run_every=REFRESH_S)
def roster_ui() -> None:
    """Who is where: the live class's students, their step, their checks and their training."""
    try:
        rows = roster.roster(student.db())
    except DatabaseError as err:
        st.error(f"The class cannot be read right now: {err}")
        return
    if not rows:
        st.info("No student has joined yet. Students give their name when they open the app with the class code.")
        return
    stuck = sum(r.step_status == "not_yet" for r in rows)
    st.caption(f"{len(rows)} students · {stuck} with a step not passed yet · updated every {REFRESH_S:g} s")
    st.dataframe(roster_frame(rows), hide_index=True, alt="Students of the class and their progress")
