"""Text alternatives for the images the app draws: decoded digits (their z, and what the shipped digit
classifier reads where it is sure), real digits, and grids of decoded digits.

The classifier (cvae/lessons/classifier.py) is optional here: without it, or without its weights,
a text says the z alone (`classifier_reading` returns None).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["SURE", "classifier_readings", "decoded_alt", "digit_alt", "format_z", "grid_alt"]

SURE = 0.8  # the classifier's probability above which a text names the digit it reads


def format_z(z) -> str:
    """(L,) -> '(0.12, -1.30)'."""
    return "(" + ", ".join(f"{float(v):.2f}" for v in np.ravel(z)) + ")"


def _classifier():
    """The shipped classifier, or None where it (or its weights) is not there."""
    try:
        from cvae.lessons.classifier import ClassifierError, shipped_classifier
    except ImportError:
        return None
    try:
        return shipped_classifier()
    except (ClassifierError, OSError):
        return None


def classifier_readings(images: np.ndarray) -> list[str | None]:
    """(N, 28, 28) pixels in [0, 1] -> per image 'the digit classifier reads a 7 (93% sure)',
    'the digit classifier is not sure which digit this is', or None without a classifier."""
    images = np.asarray(images, np.float32).reshape(-1, 28, 28)
    classifier = _classifier()
    if classifier is None or not len(images):
        return [None] * len(images)
    probabilities = classifier.probabilities(images)  # (N, 10)
    out = []
    for p in probabilities:
        k = int(np.argmax(p))
        sure = p[k] >= SURE
        out.append(
            f"the digit classifier reads a {k} ({p[k]:.0%} sure)"
            if sure
            else "the digit classifier is not sure which digit this is"
        )
    return out


def decoded_alt(images: np.ndarray, zs: np.ndarray | None, what: str | Sequence[str] = "decoded digit") -> list[str]:
    """Alt texts for decoded digits (N, 28, 28) at codes zs (N, L) (None: not said), e.g.
    'decoded digit at z = (0.12, -1.30); the digit classifier reads a 7 (93% sure)'."""
    images = np.asarray(images).reshape(-1, 28, 28)
    whats = [what] * len(images) if isinstance(what, str) else list(what)
    if len(whats) != len(images):
        raise ValueError(f"{len(images)} images but {len(whats)} descriptions")
    readings = classifier_readings(images)
    texts = []
    for i, (w, reading) in enumerate(zip(whats, readings, strict=True)):
        text = w if zs is None else f"{w} at z = {format_z(np.asarray(zs)[i])}"
        texts.append(text + (f"; {reading}" if reading else ""))
    return texts


def digit_alt(image: np.ndarray, what: str) -> str:
    """One real or reconstructed digit: `what`, and the classifier's reading where there is one."""
    return decoded_alt(image, None, what)[0]


def grid_alt(rows: int, cols: int, what: str) -> str:
    """A mosaic of decoded digits, e.g. '8 x 8 grid of decoded digits: ...'."""
    return f"{rows} x {cols} grid of decoded digits: {what}"
