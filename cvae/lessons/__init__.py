"""Lessons: guided steps over the live model, each with a task the model itself checks.

A lesson is a Markdown file under lessons/ (`lesson_format`); its tasks name check kinds from
`CHECKS` (`checks_*` modules); `judge` runs one against a `CheckContext` (the live model, the
shipped classifier, the student's runs). Nothing here imports Streamlit.
"""

from __future__ import annotations

from cvae.lessons.checks import CHECKS, CheckContext, CheckKind, CheckResult, LiveModel, Param, RunInfo, judge
from cvae.lessons.classifier import Classifier, shipped_classifier
from cvae.lessons.errors import AnswerError, LessonError
from cvae.lessons.lesson_format import SHOWS, Lesson, Step, parse_lesson, read_lesson
from cvae.lessons.library import Library, check_lesson, load_library

__all__ = [
    "CHECKS",
    "SHOWS",
    "AnswerError",
    "CheckContext",
    "CheckKind",
    "CheckResult",
    "Classifier",
    "Lesson",
    "LessonError",
    "Library",
    "LiveModel",
    "Param",
    "RunInfo",
    "Step",
    "check_lesson",
    "judge",
    "load_library",
    "parse_lesson",
    "read_lesson",
    "shipped_classifier",
]
