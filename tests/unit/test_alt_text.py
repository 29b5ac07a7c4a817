"""Text alternatives for the app's images (cvae/viz/alt_text.py) and the one helper that draws them (ui/images.py)."""

import re

import numpy as np
import pytest

from cvae.config import TrainConfig
from cvae.data import load_split
from cvae.lessons.classifier import shipped_classifier
from cvae.viz import alt_text


@pytest.fixture(scope="module")
def digits():
    data = load_split(TrainConfig(), "test")
    return np.asarray(data.images[:200], np.float32).reshape(-1, 28, 28), np.asarray(data.labels[:200])


def test_a_decoded_digit_says_its_z_and_the_classifiers_reading(digits):
    images, _ = digits
    p = shipped_classifier().probabilities(images)
    sure, unsure = int(np.argmax(p.max(1))), int(np.argmin(p.max(1)))
    assert p[sure].max() >= alt_text.SURE > p[unsure].max()  # the first 200 test digits hold both kinds
    texts = alt_text.decoded_alt(images[[sure, unsure]], np.array([[0.1234, -1.5], [2.0, 0.0]]))
    assert texts[0] == (
        f"decoded digit at z = (0.12, -1.50); the digit classifier reads a {int(np.argmax(p[sure]))} "
        f"({p[sure].max():.0%} sure)"
    )
    assert texts[1] == "decoded digit at z = (2.00, 0.00); the digit classifier is not sure which digit this is"


def test_the_classifier_mostly_reads_the_true_label(digits):
    images, labels = digits
    texts = alt_text.decoded_alt(images, None, "test digit")
    read = [int(m.group(1)) if (m := re.search(r"reads a (\d)", t)) else None for t in texts]
    named = [(r, int(y)) for r, y in zip(read, labels, strict=True) if r is not None]
    assert len(named) > 150 and np.mean([r == y for r, y in named]) > 0.95


def test_without_a_classifier_the_text_says_the_z_alone(monkeypatch, digits):
    monkeypatch.setattr(alt_text, "_classifier", lambda: None)  # the hook: weights absent
    assert alt_text.decoded_alt(digits[0][:1], np.zeros((1, 2))) == ["decoded digit at z = (0.00, 0.00)"]


def test_mismatched_descriptions_are_refused(digits):
    with pytest.raises(ValueError, match="2 images but 3 descriptions"):
        alt_text.decoded_alt(digits[0][:2], None, ["a", "b", "c"])


def test_grid_text():
    assert alt_text.grid_alt(8, 8, "the decoder's means") == "8 x 8 grid of decoded digits: the decoder's means"


def test_the_image_helper_refuses_an_image_without_alt_text():
    from ui.images import image_ui, images_ui

    with pytest.raises(ValueError, match="text alternative"):
        image_ui(np.zeros((28, 28)), alt="  ")
    with pytest.raises(ValueError, match="2 images need 2 text alternatives"):
        images_ui(np.zeros((2, 28, 28)), alts=["one"], captions=["a", "b"], width=20)


def test_every_image_in_the_app_goes_through_the_helper():
    """No st.image (or .image on a column) outside ui/images.py: each would lack its alt text."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [
        f"{path.relative_to(root)}:{n}"
        for folder in ("app_pages", "ui")
        for path in (root / folder).rglob("*.py")
        if path.name != "images.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\.image\(", line)
    ]
    assert offenders == []
