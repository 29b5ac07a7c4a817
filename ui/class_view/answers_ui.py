"""The class's answers on one map, and per lesson step the share of the class that passed."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import cvae
from cvae.classroom import roster
from cvae.db import DatabaseError
from cvae.viz.class_answers import class_answers_figure
from ui import student
from ui.class_view.roster_ui import REFRESH_S
from ui.model_choice import active_encoded

__all__ = ["answers_ui", "shares_frame"]


def shares_frame(shares: list[roster.StepShare]) -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [(s.lesson_id, s.step, s.opened, s.passed, s.skipped, s.share_passed) for s in shares],
        columns=["Lesson", "Step", "Opened", "Passed", "Skipped", "Share passed"],
    )


@st.fragment(run_every=REFRESH_S)
def answers_ui() -> None:
    """Per step the share that passed; for a chosen step, every prediction and the truth on the latent map."""
    db = student.db()
    try:
        shares = roster.step_shares(db)
    except DatabaseError as err:
        st.error(f"The class's answers cannot be read right now: {err}")
        return
    if not shares:
        st.caption("No student has opened a lesson step yet.")
        return
    st.dataframe(
        shares_frame(shares),
        hide_index=True,
        column_config={"Share passed": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)},
        alt="Per lesson step: students who opened it, passed it, skipped it, and the share of the class that passed",
    )
    steps = [(s.lesson_id, s.step) for s in shares]
    chosen = st.selectbox(
        "Step whose answers to draw on the map",
        steps,
        index=len(steps) - 1,
        format_func=lambda ls: f"{ls[0]} · step {ls[1]}",
        key="class_answers_step",
    )
    answers = roster.answers(db, *chosen)
    points = [(a.name, roster.point_of(a.prediction), roster.point_of(a.truth), a.status) for a in answers]
    if not any(guess or truth for _, guess, truth, _ in points):
        st.caption(f"{len(answers)} answers to this step; none is a point on the latent map.")
        return
    try:
        encoded = active_encoded()
    except (cvae.CheckpointError, cvae.DatasetError) as err:
        st.error(f"The map cannot be drawn: {err}")
        return
    lesson, step = chosen
    figure = class_answers_figure(
        encoded.mu, encoded.labels, points, title=f"{lesson}, step {step}: the class's answers"
    )
    placed = sum(guess is not None for _, guess, _, _ in points)
    st.plotly_chart(
        figure,
        key="class_answers_map",
        alt=f"Latent map of {lesson} step {step}: {placed} predictions (crosses) and the true points (stars); "
        "hover a mark for the student's name.",
    )
