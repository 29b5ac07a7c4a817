"""The lesson file format: a good file parses; every bad one names its file, line and field."""

import subprocess
import sys
from pathlib import Path

import pytest

from cvae.lessons import CHECKS, LessonError, check_lesson, load_library, parse_lesson
from cvae.settings import ROOT

GOOD = """---
id: tiny
title: A tiny lesson
order: 3
---
## First step

Some maths: $z = \\mu + \\sigma \\varepsilon$ and a live value {{kl}}.

```step
show: digit
digit: 12
task: Pick the KL.
check:
  kind: choice
  options: [Reconstruction, KL]
  answer: KL
hint: Think.
```

## Second step

```step
task: A number.
check: {kind: number, answer: 2.5, tolerance: 0.1}
hint: Two and a half.
seed: 7
```
"""


def write(tmp_path: Path, text: str, name: str = "lesson.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_lesson_parses_into_steps(tmp_path):
    lesson = check_lesson(write(tmp_path, GOOD))
    assert (lesson.id, lesson.title, lesson.order) == ("tiny", "A tiny lesson", 3)
    first, second = lesson.steps
    assert (first.number, first.title, first.show, first.digit) == (1, "First step", "digit", 12)
    assert first.check == {"kind": "choice", "options": ["Reconstruction", "KL"], "answer": "KL"}
    assert "$z = \\mu + \\sigma \\varepsilon$" in first.text and "```" not in first.text
    assert (second.seed, second.show, first.seed) == (7, "none", 1)  # a step's seed defaults to its number
    assert first.line == 6 and first.check_line == 14


@pytest.mark.parametrize(
    ("old", "new", "line", "field"),
    [
        ("id: tiny", "id: Tiny Lesson", 2, "id"),
        ("title: A tiny lesson\n", "", 1, "header.title"),
        ("order: 3", "order: soon", 4, "order"),
        ("show: digit", "show: hologram", 11, "step 1.show"),
        ("  kind: choice", "  kind: guess", 15, "step 1.check.kind"),
        ("  answer: KL", "  answer: ELBO", 17, "step 1.check.answer"),
        ("  answer: KL", "  answer: KL\n  colour: red", 18, "step 1.check.colour"),
        ("answer: 2.5, tolerance", "answer: lots, tolerance", 25, "step 2.check.answer"),
        ("hint: Two and a half.\n", "", 23, "step 2.hint"),
        ("task: A number.", "task: A number: 2", 24, "step 2"),
        ("digit: 12", "digit: -1", 12, "step 1.digit"),
        ("{{kl}}", "{{klx}}", 6, "step 1.text"),
        ("## First step", "Stray text\n## First step", 6, "steps"),
        ("```step\ntask: A number.", "task: A number.", 21, "step 2"),
    ],
)
def test_each_mistake_names_its_file_line_and_field(tmp_path, old, new, line, field):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(LessonError) as caught:
        check_lesson(path)
    err = caught.value
    assert (err.path, err.line, err.field) == (path, line, field), str(err)
    assert str(err).startswith(f"{path}:{line}: {field}: ")


def test_a_file_without_a_header_or_steps_is_refused(tmp_path):
    for text, field in (
        ("## A step\n", "header"),
        ("---\nid: x\ntitle: y\n", "header"),
        ("---\nid: x\ntitle: y\n---\n", "steps"),
    ):
        with pytest.raises(LessonError) as caught:
            parse_lesson(text, "x.md")
        assert caught.value.field == field


def test_one_malformed_file_never_stops_the_others(tmp_path):
    write(tmp_path, GOOD, "a.md")
    write(tmp_path, GOOD.replace("id: tiny", "id: other").replace("kind: number", "kind: nonsense"), "b.md")
    write(tmp_path, GOOD.replace("id: tiny", "id: third"), "c.md")
    write(tmp_path, GOOD, "d.md")  # the same id as a.md
    library = load_library(tmp_path)
    assert list(library.lessons) == ["third", "tiny"] or list(library.lessons) == ["tiny", "third"]
    assert sorted(e.path.name for e in library.errors) == ["b.md", "d.md"]
    assert "nonsense" in str(next(e for e in library.errors if e.path.name == "b.md"))


def test_the_shipped_lessons_all_load_in_order():
    library = load_library(ROOT / "lessons")
    assert not library.errors, library.errors
    assert list(library.lessons) == ["what-is-a-vae", "latent-space", "training", "beyond-two-dimensions"]
    kinds = {step.check["kind"] for lesson in library.lessons.values() for step in lesson.steps}
    assert kinds <= set(CHECKS.names())
    assert {"predict-landing", "predict-kl", "predict-decode", "decodes-as", "find-hole", "halfway"} <= kinds
    assert {"run-kl", "which-collapsed", "choice", "number"} <= kinds


def test_every_check_kind_documents_its_parameters():
    for name in CHECKS:
        kind = CHECKS[name]
        assert kind.doc and kind.answer in ("point", "number", "choice", "digit")
        assert all(param.doc for param in kind.params.values())


def test_cli_lesson_check(tmp_path):
    good, bad = write(tmp_path, GOOD, "good.md"), write(tmp_path, GOOD.replace("show: digit", "show: nope"), "bad.md")
    ok = subprocess.run([sys.executable, "-m", "cvae", "lesson", "check", str(good)], capture_output=True, text=True)
    assert ok.returncode == 0 and "2 steps: choice, number" in ok.stdout
    failed = subprocess.run([sys.executable, "-m", "cvae", "lesson", "check", str(bad)], capture_output=True, text=True)
    assert failed.returncode == 2
    assert f"{bad}:11: step 1.show: unknown 'nope'" in failed.stderr


def test_the_teachers_guide_documents_every_kind_and_its_example_is_valid(tmp_path):
    guide = (ROOT / "docs" / "teacher" / "lessons.md").read_text(encoding="utf-8")
    for name in CHECKS:
        assert f"| `{name}` |" in guide, name
        for param in CHECKS[name].params:
            assert f"`{param}`" in guide, (name, param)
    example = guide.split("````markdown\n", 1)[1].split("````", 1)[0]
    lesson = check_lesson(write(tmp_path, example))
    assert (lesson.id, len(lesson.steps)) == ("my-first-lesson", 2)
