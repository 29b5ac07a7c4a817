"""Checks for the ideas that have no widget: multiple choice and a number."""

from __future__ import annotations

from cvae.lessons.checks import CheckResult, Param, as_number, check_kind

__all__ = ["choice_options"]


def choice_options(params: dict) -> list[str]:
    return [str(o) for o in params["options"]]


def _right_option(params: dict) -> str:
    right = params["answer"]
    return choice_options(params)[right] if isinstance(right, int) else str(right)


def _validate_choice(params: dict) -> str | None:
    options = params["options"]
    if len(options) < 2 or not all(isinstance(o, (str, int, float)) for o in options):
        return "options: a list of at least two texts"
    right = params["answer"]
    if isinstance(right, int) and not isinstance(right, bool):
        return None if 0 <= right < len(options) else f"answer: index {right} is not one of the {len(options)} options"
    return None if str(right) in choice_options(params) else f"answer: {right!r} is not one of the options"


@check_kind(
    "choice",
    "Multiple choice: the student picks one of the options.",
    "choice",
    {
        "options": Param(list, "the texts shown, in order", required=True),
        "answer": Param((str, int), "the right option: its text, or its index from 0", required=True),
    },
    options=choice_options,
    validate=_validate_choice,
)
def _choice(params, answer, ctx) -> CheckResult:
    right = _right_option(params)
    chosen = str(answer) if answer is not None else None
    passed = chosen == right
    return CheckResult(passed, f"The answer is: {right}." if passed else "", {"answer": right}, {"answer": chosen})


@check_kind(
    "number",
    "A number typed by the student, right within a tolerance.",
    "number",
    {
        "answer": Param((int, float), "the right value", required=True),
        "tolerance": Param((int, float), "largest accepted absolute difference", default=0.0),
    },
)
def _number(params, answer, ctx) -> CheckResult:
    value = as_number(answer)
    passed = abs(value - params["answer"]) <= params["tolerance"] + 1e-9
    feedback = f"The answer is {params['answer']:g}." if passed else ""
    return CheckResult(passed, feedback, {"value": params["answer"]}, {"value": value})
