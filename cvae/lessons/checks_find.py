"""Find a place in latent space: the student pins a point, the live model judges it.

"Draws a 7" is the shipped classifier's verdict on the decoder's mean image there; holes and
midpoints are measured against the model's own encoded test digits.
"""

from __future__ import annotations

import numpy as np

from cvae.lessons.checks import CheckResult, Param, a_digit, as_point, check_kind, decode_verdict

__all__ = ["class_centroid", "digit_example"]


def _digit(params) -> str | None:
    for name in ("digit", "a", "b"):
        value = params.get(name)
        if value is not None and (not isinstance(value, int) or not 0 <= value <= 9):
            return f"{name}: a digit 0 to 9"
    return None


def digit_example(ctx, digit: int) -> tuple[np.ndarray, float]:
    """A right answer for "draws a `digit`": of the codes of test digits labelled `digit`, the one whose
    decode the classifier calls `digit` most surely: (z (latent,), confidence)."""

    def compute():
        codes = ctx.model.mu[ctx.model.labels == digit]
        if not len(codes):
            codes = ctx.model.mu
        images = ctx.model.explorer.decode(np.asarray(codes, np.float32))
        p = ctx.classifier.probabilities(images)[:, digit]
        best = int(np.argmax(p))
        return np.asarray(codes[best], float), float(p[best])

    return ctx.model.remember(("example", digit), compute)


def class_centroid(ctx, digit: int) -> np.ndarray:
    """The mean q(z|x) mean of the test digits labelled `digit` (latent,)."""
    return np.asarray(ctx.model.mu[ctx.model.labels == digit], float).mean(axis=0)


@check_kind(
    "decodes-as",
    "Pin a point the decoder draws as `digit`: the classifier must call its decode that digit, at least this sure.",
    "point",
    {
        "digit": Param(int, "the digit 0-9 the decode must show", required=True),
        "min_confidence": Param((int, float), "the classifier's least accepted probability", default=0.6),
    },
    validate=_digit,
)
def _decodes_as(params, answer, ctx) -> CheckResult:
    z = as_point(answer, ctx.model.latent_dim)
    _, verdict = decode_verdict(ctx, z)
    wanted = params["digit"]
    passed = verdict.digit == wanted and verdict.confidence >= params["min_confidence"]
    example, sure = digit_example(ctx, wanted)
    feedback = f"The decoder draws {a_digit(verdict.digit)} there ({verdict.confidence:.0%} sure, says the classifier)."
    truth = {
        "drawn": verdict.digit,
        "confidence": verdict.confidence,
        "example": example.tolist(),
        "example_confidence": sure,
    }
    return CheckResult(passed, feedback, truth, {"z": z.tolist()})


@check_kind(
    "find-hole",
    "Pin a hole: a point inside the cloud of codes, its nearest code `min_ratio` x the codes' typical spacing away.",
    "point",
    {
        "min_ratio": Param(
            (int, float), "distance to the nearest code over the median nearest-neighbour distance", default=4.0
        ),
        "inside": Param(bool, "the point must lie within the codes' 2nd-98th percentile box", default=True),
    },
)
def _hole(params, answer, ctx) -> CheckResult:
    z = as_point(answer, ctx.model.latent_dim)
    mu = np.asarray(ctx.model.mu, float)
    nearest = float(np.sqrt(np.min(np.sum((mu - z) ** 2, axis=1))))
    spacing = ctx.model.remember("spacing", lambda: _typical_spacing(mu))
    ratio = nearest / spacing
    lo, hi = np.percentile(mu, 2, axis=0), np.percentile(mu, 98, axis=0)
    inside = bool(np.all((z >= lo) & (z <= hi)))
    passed = ratio >= params["min_ratio"] and (inside or not params["inside"])
    _, verdict = decode_verdict(ctx, z)
    where = "" if inside or not params["inside"] else " It lies outside the cloud of codes: look between the clusters."
    feedback = (
        f"The nearest code is {nearest:.2f} away, {ratio:.1f} x the typical spacing of {spacing:.2f}; "
        f"the decoder draws something the classifier calls {a_digit(verdict.digit)} ({verdict.confidence:.0%}).{where}"
    )
    truth = {"nearest": nearest, "spacing": spacing, "ratio": ratio, "inside": inside, "drawn": verdict.digit}
    return CheckResult(passed, feedback, truth, {"z": z.tolist()})


def _typical_spacing(mu: np.ndarray) -> float:
    """The median distance from a code to its nearest other code."""
    sample = mu[:: max(1, len(mu) // 1000)]  # (<= ~1000, latent): the median needs no more
    d2 = np.sum((sample[:, None, :] - sample[None, :, :]) ** 2, axis=2)
    np.fill_diagonal(d2, np.inf)
    return float(np.sqrt(np.median(d2.min(axis=1))))


@check_kind(
    "halfway",
    "Pin the point halfway between the centres of digits `a` and `b` (mean codes of the test digits).",
    "point",
    {
        "a": Param(int, "the first digit 0-9", required=True),
        "b": Param(int, "the second digit 0-9", required=True),
        "tolerance": Param((int, float), "accepted distance, in units of the codes' mean sd", default=0.5),
    },
    validate=_digit,
)
def _halfway(params, answer, ctx) -> CheckResult:
    z = as_point(answer, ctx.model.latent_dim)
    middle = (class_centroid(ctx, params["a"]) + class_centroid(ctx, params["b"])) / 2
    distance = float(np.linalg.norm(z - middle))
    passed = distance <= params["tolerance"] * ctx.model.scale
    _, verdict = decode_verdict(ctx, middle)
    feedback = (
        f"Halfway is at ({', '.join(f'{v:.2f}' for v in middle[:2])}), {distance:.2f} from your point; "
        f"the decoder draws {a_digit(verdict.digit)} there ({verdict.confidence:.0%})."
    )
    truth = {"z": middle.tolist(), "distance": distance, "drawn": verdict.digit}
    if not passed:  # the place itself is the answer: say only how far off the point is
        feedback = f"Your point is {distance:.2f} from halfway ({distance / ctx.model.scale:.1f} x the codes' spread)."
    return CheckResult(passed, feedback, truth, {"z": z.tolist()})
