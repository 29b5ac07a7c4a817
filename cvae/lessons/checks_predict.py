"""Predict, then reveal: the student commits to a guess, then sees what the live model says.

Each truth comes from the session's model (its encoded test digits, its decoder): the same guess
can be right for one model and wrong for another.
"""

from __future__ import annotations

import numpy as np

from cvae.lessons.checks import CheckResult, Param, a_digit, as_digit, as_number, as_point, check_kind, decode_verdict

__all__ = ["step_point"]


def step_point(ctx) -> np.ndarray:
    """The latent point a step asks about: its own `point`, else its digit's q(z|x) mean."""
    if ctx.point is not None:
        z = np.zeros(ctx.model.latent_dim)
        z[: len(ctx.point)] = ctx.point[: ctx.model.latent_dim]
        return z
    return np.asarray(ctx.model.mu[ctx.digit], float)


def _close(value: float, truth: float, absolute: float, relative: float) -> bool:
    return abs(value - truth) <= max(absolute, relative * abs(truth)) + 1e-9


@check_kind(
    "predict-landing",
    "Click where the step's digit will land: passes within `tolerance` x the codes' spread of its q(z|x) mean.",
    "point",
    {"tolerance": Param((int, float), "accepted distance, in units of the codes' mean sd", default=0.35)},
    reveals=True,
)
def _landing(params, answer, ctx) -> CheckResult:
    z = as_point(answer, ctx.model.latent_dim)
    truth = np.asarray(ctx.model.mu[ctx.digit], float)
    distance = float(np.linalg.norm(z - truth))
    passed = distance <= params["tolerance"] * ctx.model.scale
    feedback = f"It landed at ({', '.join(f'{v:.2f}' for v in truth[:2])}), {distance:.2f} from your guess."
    return CheckResult(passed, feedback, {"z": truth.tolist(), "distance": distance}, {"z": z.tolist()})


@check_kind(
    "predict-kl",
    "Predict the KL(q(z|x) || p(z)) of the step's digit in nats: passes within max(abs, rel x truth).",
    "number",
    {
        "abs": Param((int, float), "accepted absolute error, nats", default=1.0),
        "rel": Param((int, float), "accepted relative error", default=0.25),
    },
    reveals=True,
)
def _kl(params, answer, ctx) -> CheckResult:
    value = as_number(answer)
    truth = float(ctx.model.kl[ctx.digit])
    passed = _close(value, truth, params["abs"], params["rel"])
    return CheckResult(passed, f"Its KL is {truth:.2f} nats.", {"kl": truth}, {"kl": value})


@check_kind(
    "reparameterise",
    "z_d = mu_d + sd_d x eps for the step's digit and a given eps: the student computes z_d.",
    "number",
    {
        "eps": Param((int, float), "the standard normal draw", required=True),
        "dim": Param(int, "which latent dimension, from 0", default=0),
        "tolerance": Param((int, float), "accepted absolute error", default=0.05),
    },
    reveals=True,
)
def _reparameterise(params, answer, ctx) -> CheckResult:
    value = as_number(answer)
    d = min(params["dim"], ctx.model.latent_dim - 1)
    mu, sd = float(ctx.model.mu[ctx.digit, d]), float(ctx.model.sd[ctx.digit, d])
    truth = mu + sd * params["eps"]
    passed = _close(value, truth, params["tolerance"], 0.0)
    feedback = f"z = {mu:.3f} + {sd:.3f} x {params['eps']:g} = {truth:.3f}."
    return CheckResult(passed, feedback, {"z": truth, "mu": mu, "sd": sd}, {"z": value})


@check_kind(
    "predict-decode",
    "Which digit will the decoder draw at the step's point (or its digit's code)? Judged by the classifier.",
    "digit",
    {},
    reveals=True,
)
def _decode(params, answer, ctx) -> CheckResult:
    guess = as_digit(answer)
    z = step_point(ctx)
    _, verdict = decode_verdict(ctx, z)
    passed = guess == verdict.digit
    feedback = f"The decoder draws {a_digit(verdict.digit)} there ({verdict.confidence:.0%} sure, says the classifier)."
    truth = {"digit": verdict.digit, "confidence": verdict.confidence, "z": z.tolist()}
    return CheckResult(passed, feedback, truth, {"digit": guess})


@check_kind(
    "predict-active-units",
    "How many latent dimensions does the model use? Active: the variance of q(z|x) means over the data > 0.01.",
    "number",
    {"threshold": Param((int, float), "variance above which a dimension is active", default=0.01)},
    reveals=True,
)
def _active_units(params, answer, ctx) -> CheckResult:
    value = as_number(answer)
    active = int(np.sum(np.var(ctx.model.mu, axis=0) > params["threshold"]))
    feedback = f"{active} of its {ctx.model.latent_dim} dimensions are active."
    truth = {"active": active, "latent_dim": ctx.model.latent_dim}
    return CheckResult(value == active, feedback, truth, {"active": value})
