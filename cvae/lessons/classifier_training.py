"""`python3 -m cvae.lessons.classifier_training`: fit the shipped digit classifier and report its accuracy.

scikit-learn's MLPClassifier on the offline mnist-5k training digits (each also shifted by one pixel
in four directions, and blurred a little, since decoded digits are smoother than real ones); the
weights are exported as plain arrays (no pickle) to assets/classifier/mlp.npz. Prints one JSON line:
test accuracy on real digits, and on the shipped model's decodes of them (reconstructions).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from cvae.lessons.classifier import CLASSIFIER_PATH, Classifier

__all__ = ["augment", "fit_classifier", "main"]


def augment(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 28, 28) -> the originals, four 1-pixel shifts and a 3x3 box blur of each: (6N, 28, 28)."""
    out = [images]
    for axis, step in ((1, 1), (1, -1), (2, 1), (2, -1)):
        out.append(np.roll(images, step, axis=axis))
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    blur = sum(padded[:, i : i + 28, j : j + 28] for i in range(3) for j in range(3)) / 9.0
    out.append(np.clip(0.5 * images + 0.5 * blur, 0.0, 1.0))
    return np.concatenate(out), np.tile(labels, len(out))


def fit_classifier(images: np.ndarray, labels: np.ndarray, *, seed: int = 0) -> Classifier:
    from sklearn.neural_network import MLPClassifier

    x, y = augment(images.reshape(-1, 28, 28), labels)
    mlp = MLPClassifier(hidden_layer_sizes=(256, 128), alpha=1e-3, max_iter=40, early_stopping=True, random_state=seed)
    mlp.fit(x.reshape(len(x), -1), y)
    return Classifier(list(zip(mlp.coefs_, mlp.intercepts_, strict=True)))


def main(argv: list[str] | None = None) -> int:
    from cvae.data.datasets import load_dataset
    from cvae.explore.explorer import Explorer
    from cvae.settings import ROOT
    from cvae.store.checkpoint import load_checkpoint

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=CLASSIFIER_PATH)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train, test = load_dataset("mnist-5k", "train"), load_dataset("mnist-5k", "test")
    classifier = fit_classifier(train.images, train.labels, seed=args.seed)
    real = float(np.mean(classifier.probabilities(test.images).argmax(1) == test.labels))
    explorer = Explorer(load_checkpoint(ROOT / "assets" / "pretrained").vae)
    decoded = explorer.reconstruct(test.images)
    on_decoded = float(np.mean(classifier.probabilities(decoded).argmax(1) == test.labels))
    classifier.meta = {"test_accuracy": real, "decoded_accuracy": on_decoded}
    classifier.save(args.out)
    print(json.dumps({"out": str(args.out), "test_accuracy": round(real, 4), "decoded_accuracy": round(on_decoded, 4)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
