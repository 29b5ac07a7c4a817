"""The lesson package's errors: each names the file, the line and the field at fault."""

from __future__ import annotations

from pathlib import Path

__all__ = ["AnswerError", "LessonError"]


class LessonError(ValueError):
    """A lesson file that cannot be used: `str(err)` reads "FILE:LINE: FIELD: what is wrong"."""

    def __init__(self, path: Path | str, line: int, field: str, message: str):
        self.path, self.line, self.field, self.message = Path(path), line, field, message
        super().__init__(f"{path}:{line}: {field}: {message}")


class AnswerError(ValueError):
    """A student's answer of the wrong shape for its check (no point pinned yet, not a number...)."""
