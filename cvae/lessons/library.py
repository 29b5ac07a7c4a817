"""The lessons folder: every file parsed and checked against the check registry; one bad file never
stops the others."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cvae.lessons import checks_basic, checks_find, checks_observe, checks_predict  # noqa: F401  (registers the kinds)
from cvae.lessons.checks import CHECKS
from cvae.lessons.errors import LessonError
from cvae.lessons.lesson_format import Lesson, read_lesson
from cvae.lessons.live_values import LIVE_NAMES, unknown_names
from cvae.registry import UnknownName
from cvae.settings import settings

__all__ = ["Library", "check_lesson", "lessons_dir", "load_library"]


def lessons_dir() -> Path:
    """The folder the app reads lessons from: $CVAE_LESSONS_DIR (a class's own or translated set), else lessons/."""
    return settings().lessons_dir


@dataclass(frozen=True)
class Library:
    lessons: dict[str, Lesson]  # by id, in teaching order
    errors: tuple[LessonError, ...]  # one per file that could not be used


def check_lesson(path: Path) -> Lesson:
    """Parse one lesson file and check every step's task against the registry; raises LessonError."""
    lesson = read_lesson(path)
    for step in lesson.steps:
        for name, text in (("text", step.text), ("task", step.task), ("hint", step.hint), ("reveal", step.reveal)):
            unknown = unknown_names(text)
            if unknown:
                line = step.line if name == "text" else step.field_lines.get(name, step.line)
                message = f"unknown live value {{{{{unknown[0]}}}}}; use {', '.join(LIVE_NAMES)}"
                raise LessonError(lesson.path, line, f"step {step.number}.{name}", message)
        _check_task(lesson, step)
    return lesson


def _check_task(lesson: Lesson, step) -> None:
    where, line = f"step {step.number}.check", step.check_line
    try:
        kind = CHECKS[step.check["kind"]]
    except UnknownName as err:
        raise LessonError(lesson.path, step.field_lines.get("check.kind", line), f"{where}.kind", str(err)) from None
    for name, value in step.check.items():
        at = step.field_lines.get(f"check.{name}", line)
        if name == "kind":
            continue
        if name not in kind.params:
            known = ", ".join(kind.params) or "none"
            message = f"{kind.name} takes no such parameter (it takes: {known})"
            raise LessonError(lesson.path, at, f"{where}.{name}", message)
        param = kind.params[name]
        if not isinstance(value, param.type) or (isinstance(value, bool) and param.type is not bool):
            raise LessonError(lesson.path, at, f"{where}.{name}", f"must be {_type_name(param.type)}; got {value!r}")
    for name, param in kind.params.items():
        if param.required and name not in step.check:
            raise LessonError(lesson.path, line, f"{where}.{name}", f"{kind.name} needs it: {param.doc}")
    if kind.validate is not None:
        from cvae.lessons.checks import resolved

        problem = kind.validate(resolved(kind, step.check))
        if problem:
            name = problem.split(":")[0]
            at = step.field_lines.get(f"check.{name}", line)
            raise LessonError(lesson.path, at, f"{where}.{name}", problem.split(":", 1)[-1].strip())


def _type_name(types) -> str:
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "text", list: "a list"}
    names[dict] = "a mapping"
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(dict.fromkeys(names.get(t, t.__name__) for t in types))


def load_library(folder: Path | None = None) -> Library:
    """Every *.md lesson under `folder`: the good ones by id (sorted by order, then id), the errors of the rest."""
    lessons: list[Lesson] = []
    errors: list[LessonError] = []
    seen: dict[str, Path] = {}
    for path in sorted(Path(folder or lessons_dir()).glob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        try:
            lesson = check_lesson(path)
        except LessonError as err:
            errors.append(err)
            continue
        if lesson.id in seen:
            errors.append(LessonError(path, 2, "id", f"{lesson.id!r} is already the id of {seen[lesson.id].name}"))
            continue
        seen[lesson.id] = path
        lessons.append(lesson)
    lessons.sort(key=lambda lesson: (lesson.order, lesson.id))
    return Library({lesson.id: lesson for lesson in lessons}, tuple(errors))
