"""The check registry: each kind of task, its declared parameters, and how it judges an answer.

A check is judged against a `CheckContext`: the live model (its explorer and encoded test digits),
the shipped classifier and the student's saved runs, so a different model gives a different right
answer. `judge(kind, params, answer, ctx)` returns a `CheckResult` whose `truth` is what the model
says (JSON-able, kept beside the student's `prediction`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from cvae.lessons.classifier import Classifier
from cvae.lessons.errors import AnswerError
from cvae.registry import Registry

__all__ = [
    "CHECKS",
    "CheckContext",
    "CheckKind",
    "CheckResult",
    "a_digit",
    "LiveModel",
    "Param",
    "RunInfo",
    "check_kind",
    "judge",
    "resolved",
]


@dataclass(frozen=True)
class Param:
    type: type | tuple[type, ...]
    doc: str
    required: bool = False
    default: object = None


@dataclass(frozen=True)
class CheckKind:
    name: str
    doc: str
    answer: str  # what the student gives: "point", "number", "choice", "digit", "run"
    params: dict[str, Param]
    run: Callable  # (params, answer, ctx) -> CheckResult
    options: Callable | None = None  # (params) -> the choices shown, for answer "choice"
    validate: Callable | None = None  # (params) -> an error message for values the types allow, or None
    reveals: bool = False  # predict-then-reveal: the truth is shown after any attempt, not only a pass


@dataclass(frozen=True)
class LiveModel:
    """The model a session explores, as the checks read it (read-only arrays)."""

    name: str
    explorer: object  # cvae.Explorer
    images: np.ndarray  # (N, 1, 28, 28) test digits
    labels: np.ndarray  # (N,)
    mu: np.ndarray  # (N, latent)
    sd: np.ndarray  # (N, latent)
    kl: np.ndarray  # (N,) nats
    # values derived from the model alone (a right answer, the codes' spacing), computed once: the same
    # for every session, so a LiveModel shared server-wide may fill it
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    def remember(self, key, compute: Callable):
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    @property
    def latent_dim(self) -> int:
        return self.mu.shape[1]

    @property
    def scale(self) -> float:
        """The codes' typical spread (mean sd over the dimensions): tolerances are in these units."""
        return float(np.mean(np.std(self.mu, axis=0)))


@dataclass(frozen=True)
class RunInfo:
    """A saved training run the student made: its name, config and curve."""

    name: str
    config: object  # cvae.TrainConfig
    history: object  # cvae.History
    steps_per_epoch: int = 0  # 0: unknown, the config's epochs count


@dataclass(frozen=True)
class CheckContext:
    model: LiveModel
    classifier: Classifier
    digit: int = 0  # the step's test digit
    point: tuple[float, ...] | None = None  # the step's latent point, if it names one
    runs: Sequence[RunInfo] = ()  # newest first


@dataclass(frozen=True)
class CheckResult:
    passed: bool
    feedback: str  # one sentence: what the model says
    truth: dict = field(default_factory=dict)  # JSON-able
    prediction: dict = field(default_factory=dict)  # the student's answer, JSON-able


CHECKS: Registry[CheckKind] = Registry("check kind")


def check_kind(name, doc, answer, params: dict[str, Param], *, options=None, validate=None, reveals=False):
    """Decorator: register `run(params, answer, ctx) -> CheckResult` as check kind `name`."""

    def register(run: Callable) -> Callable:
        CHECKS.register(name, CheckKind(name, doc, answer, params, run, options, validate, reveals))
        return run

    return register


def judge(check: dict, answer: object, ctx: CheckContext) -> CheckResult:
    """Judge `answer` for a step's `check` ({"kind": ..., params}); AnswerError for a malformed answer."""
    kind = CHECKS[check["kind"]]
    return kind.run(resolved(kind, check), answer, ctx)


def resolved(kind: CheckKind, check: dict) -> dict:
    """The check's parameters with the kind's defaults filled in."""
    return {name: check.get(name, p.default) for name, p in kind.params.items()}


# answers: checked here, so no check sees a malformed one


def as_point(answer: object, latent_dim: int) -> np.ndarray:
    values = answer.get("z") if isinstance(answer, dict) else answer
    if values is None:
        raise AnswerError("pin a point on the map first")
    try:
        z = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise AnswerError("a point is a list of numbers") from None
    if len(z) != latent_dim or not np.all(np.isfinite(z)):
        raise AnswerError(f"a point of this model has {latent_dim} finite coordinates")
    return z


def as_number(answer: object) -> float:
    if answer is None or answer == "":
        raise AnswerError("type a number first")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise AnswerError(f"{answer!r} is not a number") from None
    if not np.isfinite(value):
        raise AnswerError("type a finite number")
    return value


def as_digit(answer: object) -> int:
    value = as_number(answer)
    if value != int(value) or not 0 <= value <= 9:
        raise AnswerError("answer with one digit, 0 to 9")
    return int(value)


def a_digit(digit: int) -> str:
    """ "a 7", "an 8": the digit with its article."""
    return f"an {digit}" if digit == 8 else f"a {digit}"


def decode_verdict(ctx: CheckContext, z: np.ndarray) -> tuple[np.ndarray, object]:
    """The decoder's mean image at z (28, 28) and the classifier's verdict on it."""
    image = ctx.model.explorer.decode(np.asarray(z, np.float32)[None])[0]
    return image, ctx.classifier.verdict(image)
