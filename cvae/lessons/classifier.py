"""The shipped digit classifier: a small MLP in NumPy that says which digit an image shows.

The lessons judge "the decoder draws a 7 here" with it. Its weights are an .npz of plain arrays
(`layer0.W`, `layer0.b`, ...; loaded with allow_pickle=False), made by
`python3 -m cvae.lessons.classifier_training` from the offline mnist-5k digits.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cvae.atomic import write_atomic
from cvae.settings import ROOT

__all__ = ["CLASSIFIER_PATH", "Classifier", "ClassifierError", "Verdict", "shipped_classifier"]

CLASSIFIER_PATH = ROOT / "assets" / "classifier" / "mlp.npz"


class ClassifierError(ValueError):
    """Weights that are missing or do not describe an MLP over 28 x 28 images."""


@dataclass(frozen=True)
class Verdict:
    digit: int  # the most likely class
    confidence: float  # its probability, in [0, 1]
    probabilities: tuple[float, ...]  # (10,)


class Classifier:
    """A ReLU MLP: (N, 28, 28) or (N, 1, 28, 28) pixels in [0, 1] -> (N, 10) class probabilities."""

    def __init__(self, weights: list[tuple[np.ndarray, np.ndarray]], meta: dict | None = None):
        if not weights or weights[0][0].shape[0] != 28 * 28 or weights[-1][0].shape[1] != 10:
            raise ClassifierError("the classifier must map 784 pixels to 10 classes")
        for (w, b), (w_next, _) in zip(weights, weights[1:], strict=False):
            if w.shape[1] != w_next.shape[0] or b.shape != (w.shape[1],):
                raise ClassifierError(f"layer shapes do not chain: {w.shape} then {w_next.shape}")
        self.weights = [(w.astype(np.float32), b.astype(np.float32)) for w, b in weights]
        self.meta = dict(meta or {})

    @classmethod
    def load(cls, path: Path) -> Classifier:
        try:
            with np.load(path, allow_pickle=False) as arrays:
                files = dict(arrays)
        except (OSError, ValueError) as err:
            raise ClassifierError(f"cannot read the classifier {path}: {err}") from err
        layers = []
        while f"layer{len(layers)}.W" in files:
            k = len(layers)
            layers.append((files[f"layer{k}.W"], files[f"layer{k}.b"]))
        meta = {k: float(v) for k, v in files.items() if k.startswith("meta.")}
        return cls(layers, meta)

    def save(self, path: Path) -> None:
        arrays = {f"layer{k}.{n}": a for k, (w, b) in enumerate(self.weights) for n, a in (("W", w), ("b", b))}
        arrays |= {f"meta.{k}": np.float64(v) for k, v in self.meta.items()}
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        write_atomic(Path(path), buffer.getvalue())

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28) or (N, 1, 28, 28) -> (N, 10); a single (28, 28) image is one row."""
        x = np.asarray(images, np.float32).reshape(-1, 28 * 28)
        for k, (w, b) in enumerate(self.weights):
            x = x @ w + b
            if k < len(self.weights) - 1:
                x = np.maximum(x, 0.0)
        x = x - x.max(axis=1, keepdims=True)
        e = np.exp(x)
        return e / e.sum(axis=1, keepdims=True)

    def verdict(self, image: np.ndarray) -> Verdict:
        """Which digit one (28, 28) image shows, and how sure the classifier is."""
        p = self.probabilities(image)[0]
        k = int(np.argmax(p))
        return Verdict(k, float(p[k]), tuple(float(v) for v in p))


@functools.cache
def shipped_classifier() -> Classifier:
    """The classifier in assets/classifier (loaded once per process; read-only afterwards)."""
    return Classifier.load(CLASSIFIER_PATH)
