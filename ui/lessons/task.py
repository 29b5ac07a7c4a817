"""A step's task: the answer widget, Check / Next / Skip / Reset step, and the result."""

from __future__ import annotations

import time

import streamlit as st

from cvae.lessons import CHECKS, AnswerError, CheckResult, LiveModel, Step, judge
from cvae.lessons.checks import resolved
from cvae.lessons.live_values import fill
from ui.lessons import step_state
from ui.lessons.live import check_context
from ui.session_keys import LESSON_CHECK_MS

__all__ = ["buttons_ui", "reset", "result_ui", "task_ui"]


def task_ui(step: Step, keys: dict, values: dict) -> None:
    """The question and its answer widget (a point comes from the map or the typed z)."""
    kind = CHECKS[step.check["kind"]]
    st.markdown(f"**Task.** {fill(step.task, values)}")
    label = "Your answer"
    if kind.answer == "choice":
        options = kind.options(resolved(kind, step.check))
        st.radio(label, options, index=None, key=keys["answer"])
    elif kind.answer == "number":
        st.number_input(label, value=None, step=0.01, format="%.4f", key=keys["answer"], placeholder="type a number")
    elif kind.answer == "digit":
        st.selectbox(label, list(range(10)), index=None, key=keys["answer"], placeholder="choose a digit")
    elif kind.answer == "point":
        pinned = st.session_state.get(keys["pinned"])
        z = st.session_state.get(keys["z"])
        where = "(" + ", ".join(f"{v:.2f}" for v in z[:4]) + ")" if pinned and z else "none yet"
        st.caption(f"Your point: {where}")


def _answer(step: Step, keys: dict):
    kind = CHECKS[step.check["kind"]]
    if kind.answer == "point":
        return {"z": st.session_state[keys["z"]]} if st.session_state.get(keys["pinned"]) else None
    return st.session_state.get(keys["answer"])


def check(step: Step, lesson_id: str, keys: dict, model: LiveModel, me) -> None:
    """The Check button: judged on the live model, recorded, timed on the server."""
    started = time.perf_counter()
    kind = CHECKS[step.check["kind"]]
    ctx = check_context(step, model, with_runs=kind.name in ("run-kl", "which-collapsed"), me=me)
    try:
        result = judge(step.check, _answer(step, keys), ctx)
    except AnswerError as err:
        st.session_state[keys["result"]] = CheckResult(False, str(err).capitalize() + ".", {}, {})
        return
    step_state.record_check(me, lesson_id, step.number, result)
    st.session_state[keys["result"]] = result
    st.session_state[LESSON_CHECK_MS] = (time.perf_counter() - started) * 1000


def result_ui(step: Step, keys: dict, values: dict) -> None:
    """ "Correct" or "Not yet" with the hint; a prediction shown beside the truth."""
    result: CheckResult | None = st.session_state.get(keys["result"])
    if result is None:
        return
    kind = CHECKS[step.check["kind"]]
    if result.passed:
        text = " ".join(t for t in ("**Correct.**", result.feedback, fill(step.reveal, values)) if t)
        st.success(text, icon=":material/check_circle:")
    else:
        # a failed choice or number says nothing (its feedback is empty); the others say what the model did
        st.warning(" ".join(t for t in ("**Not yet.**", result.feedback, "Hint: " + fill(step.hint, values)) if t))
    if kind.reveals and result.truth:
        mine, truth = st.columns(2)
        mine.markdown(f"**Your prediction:** {_describe(result.prediction)}")
        truth.markdown(f"**The model:** {_describe(result.truth)}")
    if LESSON_CHECK_MS in st.session_state:
        st.caption(f"Checked in {st.session_state[LESSON_CHECK_MS]:.0f} ms on the server.")


def _describe(values: dict) -> str:
    parts = []
    for name, value in values.items():
        if isinstance(value, float):
            value = f"{value:.3g}"
        elif isinstance(value, list):
            value = "(" + ", ".join(f"{v:.2f}" for v in value[:4]) + ")"
        parts.append(f"{name} = {value}")
    return "; ".join(parts) or "-"


def buttons_ui(step: Step, lesson_id: str, n_steps: int, keys: dict, model: LiveModel, me, *, done: bool) -> str | None:
    """Check, Next (disabled until a pass), Skip, Reset step; returns "next", "skip" or "reset" when pressed."""
    row = st.container(horizontal=True)
    row.button(
        "Check", type="primary", key=f"{keys['prefix']}check", on_click=check, args=(step, lesson_id, keys, model, me)
    )
    pressed = None
    last = step.number == n_steps
    if row.button("Finish" if last else "Next", key=f"{keys['prefix']}next", disabled=not done):
        pressed = "next"
    if row.button("Skip", key=f"{keys['prefix']}skip", disabled=done):
        pressed = "skip"
    if row.button("Reset step", key=f"{keys['prefix']}reset"):
        pressed = "reset"
    return pressed


def reset(keys: dict) -> None:
    """Back to the step's start: its seed, point and empty answer (the same decoded pixels as at first)."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(keys["prefix"])]:
        del st.session_state[key]
