"""Do, then observe: the answer is read from the student's own saved training runs.

The check finds the newest run that did what the step asked (e.g. beta = 0 for 3 epochs); the
outcome (what the KL did, which network collapsed) is measured on that run's own curve.
"""

from __future__ import annotations

import numpy as np

from cvae.lessons.checks import CheckResult, Param, check_kind
from cvae.training.history import COLLAPSE_KL

__all__ = ["KL_OUTCOMES", "COLLAPSE_OUTCOMES", "kl_outcome", "final_kl"]

KL_OUTCOMES = {
    "grew": "It grew",
    "fell": "It fell",
    "steady": "It stayed about the same",
    "collapsed": "It fell to almost zero (posterior collapse)",
}
COLLAPSE_OUTCOMES = {
    "plain": "The one without BatchNorm",
    "batchnorm": "The one with BatchNorm",
    "both": "Both",
    "neither": "Neither",
}


def _window(values, first: bool) -> float:
    """The mean of the first or the last tenth of a curve (at least 5 points)."""
    n = max(5, len(values) // 10)
    part = values[:n] if first else values[-n:]
    return float(np.mean(part))


def final_kl(history) -> float:
    return _window(history.kl, first=False)


def kl_outcome(history) -> tuple[str, float, float]:
    """What the KL did over a run: (outcome key, start KL, end KL) in nats per image."""
    start, end = _window(history.kl, first=True), final_kl(history)
    if end < COLLAPSE_KL:
        return "collapsed", start, end
    if end > 1.2 * start:
        return "grew", start, end
    return ("fell" if end < start / 1.2 else "steady"), start, end


def _epochs(run) -> float:
    """Epochs the run trained (a stopped run: fewer than its config asked for)."""
    if not len(run.history):
        return 0.0
    if run.steps_per_epoch:
        return (run.history.step[-1] + 1) / run.steps_per_epoch
    return float(run.config.epochs)


def _matches(run, require: dict, min_epochs: float) -> bool:
    if not len(run.history) or _epochs(run) < min_epochs:
        return False
    return all(getattr(run.config, name, None) == value for name, value in require.items())


def _require_text(require: dict, min_epochs: float) -> str:
    parts = [f"{name} = {value}" for name, value in require.items()]
    return ", ".join(parts) + (f", for at least {min_epochs:g} epochs" if min_epochs else "")


def _choose(answer, outcomes: dict) -> str | None:
    return next((key for key, label in outcomes.items() if answer in (key, label)), None)


@check_kind(
    "run-kl",
    "Train with the settings in `require`, then say what the KL did: measured on the student's newest such run.",
    "choice",
    {
        "require": Param(dict, "config fields the run must have, e.g. {beta: 0}", default={}),
        "min_epochs": Param((int, float), "the run must have trained at least this many epochs", default=0),
    },
    options=lambda params: list(KL_OUTCOMES.values()),
)
def _run_kl(params, answer, ctx) -> CheckResult:
    require, min_epochs = dict(params["require"] or {}), params["min_epochs"]
    run = next((r for r in ctx.runs if _matches(r, require, min_epochs)), None)
    chosen = _choose(answer, KL_OUTCOMES)
    if run is None:
        text = f"No saved run of yours has {_require_text(require, min_epochs)} yet: train one on the Train page."
        return CheckResult(False, text, {"run": None}, {"outcome": chosen})
    outcome, start, end = kl_outcome(run.history)
    said = KL_OUTCOMES[outcome].lower()
    feedback = f"In your run {run.name} the KL went from {start:.2f} to {end:.2f} nats per image: {said}."
    truth = {"run": run.name, "outcome": outcome, "kl_start": start, "kl_end": end}
    return CheckResult(chosen == outcome, feedback, truth, {"outcome": chosen})


@check_kind(
    "which-collapsed",
    "Train `arch` without and with BatchNorm, then say which collapsed (final KL < 0.5 nats): read from both runs.",
    "choice",
    {
        "arch": Param(str, "the architecture of both runs", default="pymc3-example"),
        "min_epochs": Param((int, float), "each run must have trained at least this many epochs", default=0),
    },
    options=lambda params: list(COLLAPSE_OUTCOMES.values()),
)
def _which_collapsed(params, answer, ctx) -> CheckResult:
    from cvae.nn.networks import ARCHITECTURES

    arch = ARCHITECTURES.canonical(params["arch"])
    ours = [r for r in ctx.runs if ARCHITECTURES.canonical(r.config.arch) == arch]
    runs = {
        bn: next((r for r in ours if _matches(r, {"batch_norm": bn}, params["min_epochs"])), None)
        for bn in (False, True)
    }
    chosen = _choose(answer, COLLAPSE_OUTCOMES)
    missing = [name for bn, name in ((False, "without"), (True, "with")) if runs[bn] is None]
    if missing:
        text = f"Train the {arch} network {' and '.join(missing)} BatchNorm first (Train page: its BatchNorm box)."
        return CheckResult(False, text, {"runs": None}, {"outcome": chosen})
    kl = {bn: final_kl(runs[bn].history) for bn in (False, True)}
    collapsed = {bn: kl[bn] < COLLAPSE_KL for bn in (False, True)}
    outcome = {(True, False): "plain", (False, True): "batchnorm", (True, True): "both"}.get(
        (collapsed[False], collapsed[True]), "neither"
    )
    feedback = (
        f"Final KL without BatchNorm ({runs[False].name}): {kl[False]:.2f} nats; "
        f"with BatchNorm ({runs[True].name}): {kl[True]:.2f} nats; collapse means below {COLLAPSE_KL:g}."
    )
    names = [runs[False].name, runs[True].name]
    truth = {"outcome": outcome, "kl_plain": kl[False], "kl_batchnorm": kl[True], "runs": names}
    return CheckResult(chosen == outcome, feedback, truth, {"outcome": chosen})
