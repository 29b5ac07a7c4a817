"""Every check kind, judged on real models: the shipped one, and a short real fit (the `trained` fixture).

The right answers come from the live model, so a different model moves them.
"""

import numpy as np
import pytest

from cvae.lessons import AnswerError, CheckContext, judge, shipped_classifier
from cvae.lessons.checks_find import class_centroid, digit_example
from cvae.lessons.checks_observe import COLLAPSE_OUTCOMES, KL_OUTCOMES
from cvae.lessons.live_model import live_model, model_of
from cvae.settings import ROOT
from cvae.store.checkpoint import load_checkpoint
from cvae.training.history import COLLAPSE_KL


@pytest.fixture(scope="module")
def shipped():
    return live_model(load_checkpoint(ROOT / "assets" / "pretrained"), "pretrained")


@pytest.fixture(scope="module")
def fresh(trained):
    return model_of(trained.vae, "fresh")


def ctx(model, **kwargs) -> CheckContext:
    return CheckContext(model, shipped_classifier(), **kwargs)


def test_choice_and_number():
    check = {"kind": "choice", "options": ["a", "b", "c"], "answer": 2}
    assert judge(check, "c", None).passed and not judge(check, "a", None).passed
    assert not judge(check, None, None).passed
    number = {"kind": "number", "answer": 3.6152, "tolerance": 0.01}
    assert judge(number, "3.61", None).passed and not judge(number, 3.5, None).passed
    with pytest.raises(AnswerError, match="not a number"):
        judge(number, "three", None)


def test_predict_landing_is_judged_against_the_digits_own_code(shipped):
    c = ctx(shipped, digit=15)
    check = {"kind": "predict-landing", "tolerance": 0.35}
    right = shipped.mu[15]
    result = judge(check, {"z": right.tolist()}, c)
    assert result.passed and np.allclose(result.truth["z"], right) and result.prediction == {"z": right.tolist()}
    far = right + 2 * shipped.scale
    assert not judge(check, {"z": far.tolist()}, c).passed
    with pytest.raises(AnswerError, match="pin a point"):
        judge(check, None, c)
    with pytest.raises(AnswerError, match="2 finite"):
        judge(check, {"z": [1.0, float("nan")]}, c)


def test_predict_kl_reads_the_live_models_kl(shipped, fresh):
    check = {"kind": "predict-kl", "abs": 0.5, "rel": 0.1}
    kl_shipped, kl_fresh = float(shipped.kl[4]), float(fresh.kl[4])
    assert abs(kl_shipped - kl_fresh) > 0.5 + 0.1 * max(kl_shipped, kl_fresh)  # two models, two right answers
    assert judge(check, kl_shipped, ctx(shipped, digit=4)).passed
    assert not judge(check, kl_shipped, ctx(fresh, digit=4)).passed
    assert judge(check, kl_fresh, ctx(fresh, digit=4)).truth == {"kl": kl_fresh}


def test_reparameterise_is_mu_plus_sd_times_eps(shipped):
    mu, sd = float(shipped.mu[4, 1]), float(shipped.sd[4, 1])
    check = {"kind": "reparameterise", "eps": -1.5, "dim": 1, "tolerance": 0.01}
    assert judge(check, mu + sd * -1.5, ctx(shipped, digit=4)).passed
    assert not judge(check, mu, ctx(shipped, digit=4)).passed or abs(sd * 1.5) <= 0.01


def test_predict_decode_is_judged_by_the_classifier_on_the_decoders_image(shipped):
    c = ctx(shipped, digit=4)
    image = shipped.explorer.decode(shipped.mu[4:5])[0]
    drawn = int(np.argmax(shipped_classifier().probabilities(image)))
    result = judge({"kind": "predict-decode"}, drawn, c)
    assert result.passed and result.truth["digit"] == drawn
    assert not judge({"kind": "predict-decode"}, (drawn + 1) % 10, c).passed
    with pytest.raises(AnswerError, match="one digit"):
        judge({"kind": "predict-decode"}, 12, c)


def test_decodes_as_judges_the_pinned_point_with_the_classifier(shipped):
    check = {"kind": "decodes-as", "digit": 7, "min_confidence": 0.6}
    example, sure = digit_example(ctx(shipped), 7)
    assert sure >= 0.6
    result = judge(check, {"z": example.tolist()}, ctx(shipped))
    assert result.passed and result.truth["drawn"] == 7
    one = digit_example(ctx(shipped), 1)[0]
    failed = judge(check, {"z": one.tolist()}, ctx(shipped))
    assert not failed.passed and "draws a 1" in failed.feedback


def test_swapping_the_model_moves_the_right_answer_of_a_find_task(shipped, fresh):
    """The same pins, judged on another model: its own right answers lie elsewhere, and some of the
    first model's right answers are wrong for it."""
    moved = 0
    for digit in range(10):
        check = {"kind": "decodes-as", "digit": digit, "min_confidence": 0.6}
        mine, _ = digit_example(ctx(shipped), digit)
        theirs, _ = digit_example(ctx(fresh), digit)
        assert not np.allclose(mine, theirs)
        moved += not judge(check, {"z": mine.tolist()}, ctx(fresh)).passed
    assert moved >= 1


def test_find_hole_wants_an_empty_place_inside_the_cloud(shipped):
    check = {"kind": "find-hole", "min_ratio": 4}
    mu = np.asarray(shipped.mu, float)
    lo, hi = np.percentile(mu, 2, axis=0), np.percentile(mu, 98, axis=0)
    grid = np.stack(np.meshgrid(*(np.linspace(a, b, 60) for a, b in zip(lo, hi, strict=True))), -1).reshape(-1, 2)
    nearest = np.sqrt(((grid[:, None, :] - mu[None]) ** 2).sum(-1)).min(1)
    hole = grid[np.argmax(nearest)]
    result = judge(check, {"z": hole.tolist()}, ctx(shipped))
    assert result.passed and result.truth["inside"] and result.truth["ratio"] >= 4
    assert not judge(check, {"z": mu[0].tolist()}, ctx(shipped)).passed  # a code is no hole
    outside = (hi + 10 * (hi - lo)).tolist()
    far = judge(check, {"z": outside}, ctx(shipped))
    assert not far.passed and not far.truth["inside"]


def test_halfway_is_the_middle_of_the_two_digits_centres(shipped):
    check = {"kind": "halfway", "a": 1, "b": 7, "tolerance": 0.5}
    middle = (class_centroid(ctx(shipped), 1) + class_centroid(ctx(shipped), 7)) / 2
    assert np.allclose(middle, (shipped.mu[shipped.labels == 1].mean(0) + shipped.mu[shipped.labels == 7].mean(0)) / 2)
    assert judge(check, {"z": middle.tolist()}, ctx(shipped)).passed
    assert not judge(check, {"z": class_centroid(ctx(shipped), 1).tolist()}, ctx(shipped)).passed


def test_active_units_are_counted_on_the_model(shipped):
    active = int((np.var(shipped.mu, axis=0) > 0.01).sum())
    assert judge({"kind": "predict-active-units", "threshold": 0.01}, active, ctx(shipped)).passed
    assert not judge({"kind": "predict-active-units", "threshold": 0.01}, active + 1, ctx(shipped)).passed


@pytest.fixture(scope="module")
def small_fits(mnist5k):
    """Two real short fits: beta = 0 for 3 epochs, and the network with BatchNorm."""
    from cvae.config import TrainConfig
    from cvae.lessons import RunInfo
    from cvae.training.history import steps_per_epoch
    from cvae.training.trainer import train

    images = mnist5k[0].images[:1000]
    runs = {}
    for name, config in (
        ("beta0", TrainConfig(arch="keras-example", epochs=3, beta=0.0, seed=0)),
        ("bn", TrainConfig(arch="keras-example", epochs=3, batch_norm=True, seed=0)),
    ):
        fit = train(config, images)
        runs[name] = RunInfo(name, config, fit.history, steps_per_epoch(len(images), config.batch_size))
    return runs


@pytest.mark.slow
def test_run_kl_reads_the_students_own_run(small_fits, trained, shipped):
    from cvae.lessons import RunInfo

    check = {"kind": "run-kl", "require": {"beta": 0.0}, "min_epochs": 3}
    plain = RunInfo("plain", trained.vae.config, trained.history, 0)
    missing = judge(check, KL_OUTCOMES["grew"], ctx(shipped, runs=[plain]))
    assert not missing.passed and "No saved run" in missing.feedback
    beta0 = small_fits["beta0"]
    result = judge(check, "grew", ctx(shipped, runs=[plain, beta0]))
    kl = beta0.history.kl
    assert result.truth["run"] == "beta0"
    assert np.mean(kl[-5:]) > 1.2 * np.mean(kl[:5])  # nothing holds q(z|x) to the prior: the KL grows
    assert result.passed and result.truth["outcome"] == "grew"
    assert not judge(check, KL_OUTCOMES["collapsed"], ctx(shipped, runs=[beta0])).passed
    too_short = judge({**check, "min_epochs": 4}, "grew", ctx(shipped, runs=[beta0]))
    assert not too_short.passed and too_short.truth["run"] is None


@pytest.mark.slow
def test_which_collapsed_reads_both_runs(small_fits, trained, shipped):
    from cvae.lessons import RunInfo

    check = {"kind": "which-collapsed", "arch": "keras-example", "min_epochs": 0}
    plain = RunInfo("plain", trained.vae.config, trained.history, 0)
    bn = small_fits["bn"]
    assert not judge(check, "Neither", ctx(shipped, runs=[plain])).passed  # the BatchNorm run is missing

    def end(kl):  # the mean of the curve's last tenth (at least 5 points)
        return np.mean(kl[-max(5, len(kl) // 10) :])

    collapsed = (end(plain.history.kl) < COLLAPSE_KL, end(bn.history.kl) < COLLAPSE_KL)
    expected = {(True, False): "plain", (False, True): "batchnorm", (True, True): "both"}.get(collapsed, "neither")
    result = judge(check, COLLAPSE_OUTCOMES[expected], ctx(shipped, runs=[bn, plain]))
    assert result.passed and result.truth["outcome"] == expected and result.truth["runs"] == ["plain", "bn"]
