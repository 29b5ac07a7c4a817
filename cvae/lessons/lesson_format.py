"""Read a lesson file: Markdown with a YAML header, one `## ` section per step, one ```step block in each.

    ---
    id: what-is-a-vae            # letters, digits and dashes: ?lesson=what-is-a-vae
    title: What a VAE is
    summary: One digit through encoder, sampling and decoder.
    ---
    ## The encoder                # a step: its title
    Text with maths, $q_\\phi(z \\mid x)$ ...
    ```step
    show: digit                   # the live element (SHOWS)
    task: Which term pulls q(z|x) towards the prior?
    check: {kind: choice, options: [Reconstruction, KL], answer: KL}
    hint: The term that compares q(z|x) with p(z).
    ```

Every error is a `LessonError` naming the file, the line and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from cvae.lessons.errors import LessonError

__all__ = ["SHOWS", "Lesson", "Step", "parse_lesson", "read_lesson"]

# the live elements a step can show (ui.lessons draws each)
SHOWS = ("none", "digit", "latent-map", "decode", "manifold", "training-chart", "compare")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_HEADER_KEYS = {"id": True, "title": True, "summary": False, "order": False, "language": False}
_STEP_KEYS = {"show": False, "task": True, "check": True, "hint": True, "reveal": False, "seed": False}
_STEP_KEYS |= {"digit": False, "point": False}
_FENCE = re.compile(r"^```\s*step\s*$")


@dataclass(frozen=True)
class Step:
    number: int  # 1-based
    title: str
    text: str  # Markdown with $maths$
    task: str
    check: dict  # {"kind": ..., params...}, checked against the registry by `cvae.lessons.validate`
    hint: str
    line: int  # of the ## heading
    check_line: int  # of the check: field
    show: str = "none"
    reveal: str = ""
    seed: int = 0
    digit: int | None = None  # the test digit the step is about (index into the test split)
    point: tuple[float, ...] | None = None  # a latent point the step starts on / asks about
    field_lines: dict = field(default_factory=dict, compare=False)  # "check.digit" -> line


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    summary: str
    order: int
    language: str
    steps: tuple[Step, ...]
    path: Path


def read_lesson(path: Path) -> Lesson:
    """Parse one lesson file (UTF-8); raises LessonError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise LessonError(path, 1, "file", f"cannot be read: {err}") from err
    return parse_lesson(text, path)


def parse_lesson(text: str, path: Path | str = "<lesson>") -> Lesson:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise LessonError(path, 1, "header", "a lesson starts with a '---' line, then its YAML header")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise LessonError(path, 1, "header", "the YAML header is not closed by a second '---' line") from None
    header, key_lines = _yaml(lines[1:end], 2, path, "header")
    _keys(header, key_lines, _HEADER_KEYS, path, 1, "header")
    lesson_id = header["id"]
    if not isinstance(lesson_id, str) or not _ID.match(lesson_id):
        raise LessonError(path, key_lines["id"], "id", "lower-case letters, digits and dashes, e.g. latent-space")
    for name in ("title", "summary", "language"):
        if name in header and not isinstance(header[name], str):
            raise LessonError(path, key_lines[name], name, "must be text")
    order = header.get("order", 100)
    if not isinstance(order, int) or isinstance(order, bool):
        raise LessonError(path, key_lines["order"], "order", "must be a whole number")
    steps = _steps(lines, end + 1, path)
    if not steps:
        raise LessonError(path, end + 1, "steps", "a lesson needs at least one '## ' step section")
    return Lesson(
        lesson_id, header["title"], header.get("summary", ""), order, header.get("language", "en"), steps, Path(path)
    )


def _steps(lines: list[str], start: int, path) -> tuple[Step, ...]:
    heads = [i for i in range(start, len(lines)) if lines[i].startswith("## ")]
    if any(line.strip() for line in lines[start : heads[0] if heads else len(lines)]):
        first = next(i for i in range(start, len(lines)) if lines[i].strip())
        raise LessonError(path, first + 1, "steps", "text before the first '## ' step heading")
    bounds = zip(heads, [*heads[1:], len(lines)], strict=False)  # no heads: no steps
    return tuple(_step(lines, a, b, k + 1, path) for k, (a, b) in enumerate(bounds))


def _step(lines: list[str], head: int, stop: int, number: int, path) -> Step:
    where = f"step {number}"
    fences = [i for i in range(head + 1, stop) if _FENCE.match(lines[i].strip())]
    if len(fences) != 1:
        found = "none" if not fences else f"{len(fences)}"
        raise LessonError(path, head + 1, where, f"each step has exactly one ```step block; found {found}")
    opening = fences[0]
    try:
        closing = next(i for i in range(opening + 1, stop) if lines[i].strip() == "```")
    except StopIteration:
        raise LessonError(path, opening + 1, where, "the ```step block is not closed by a ``` line") from None
    data, key_lines = _yaml(lines[opening + 1 : closing], opening + 2, path, where)
    _keys(data, key_lines, _STEP_KEYS, path, opening + 1, where)
    for name in ("task", "hint", "reveal"):
        if name in data and not isinstance(data[name], str):
            raise LessonError(path, key_lines[name], f"{where}.{name}", "must be text")
    show = data.get("show", "none")
    if show not in SHOWS:
        raise LessonError(path, key_lines["show"], f"{where}.show", f"unknown {show!r}; choose from {', '.join(SHOWS)}")
    check = data["check"]
    if not isinstance(check, dict) or not isinstance(check.get("kind"), str):
        raise LessonError(path, key_lines["check"], f"{where}.check", "a mapping with a kind, e.g. {kind: choice, ...}")
    for name in ("seed", "digit"):
        value = data.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise LessonError(path, key_lines[name], f"{where}.{name}", "must be a whole number >= 0")
    point = data.get("point")
    if point is not None:
        if not isinstance(point, list) or not point or not all(_is_number(v) for v in point):
            raise LessonError(path, key_lines["point"], f"{where}.point", "a list of numbers, e.g. [0.5, -1]")
        point = tuple(float(v) for v in point)
    body = "\n".join(lines[head + 1 : opening] + lines[closing + 1 : stop]).strip()
    return Step(
        number=number,
        title=lines[head][3:].strip(),
        text=body,
        task=data["task"],
        check=dict(check),
        hint=data["hint"],
        line=head + 1,
        check_line=key_lines["check"],
        show=show,
        reveal=data.get("reveal", ""),
        seed=data.get("seed", number),
        digit=data.get("digit"),
        point=point,
        field_lines=key_lines,
    )


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _yaml(block: list[str], first_line: int, path, where: str) -> tuple[dict, dict[str, int]]:
    """A YAML mapping from `block` (which starts at file line `first_line`) and each key's line:
    top-level keys by name, keys of a nested mapping as "parent.key"."""
    source = "\n".join(block)
    try:
        node = yaml.compose(source, Loader=yaml.SafeLoader)
        data = yaml.safe_load(source)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = first_line + (mark.line if mark else 0)
        problem = getattr(err, "problem", None) or str(err)
        if "mapping values" in problem:  # the usual slip: a ': ' inside a text
            problem += " (a text that contains ': ' must be in quotes)"
        raise LessonError(path, line, where, f"not valid YAML: {problem}") from None
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise LessonError(path, first_line, where, "must be YAML 'key: value' lines")
    key_lines: dict[str, int] = {}
    for key, value in node.value:
        key_lines[str(key.value)] = first_line + key.start_mark.line
        if isinstance(value, yaml.MappingNode):
            for sub, _ in value.value:
                key_lines[f"{key.value}.{sub.value}"] = first_line + sub.start_mark.line
    return data, key_lines


def _keys(data: dict, key_lines: dict, allowed: dict[str, bool], path, line: int, where: str) -> None:
    for key in data:
        if key not in allowed:
            at = key_lines.get(str(key), line)
            raise LessonError(path, at, f"{where}.{key}", f"unknown field; use {', '.join(allowed)}")
    for key, required in allowed.items():
        if required and key not in data:
            raise LessonError(path, line, f"{where}.{key}", "is required")
