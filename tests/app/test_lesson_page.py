"""The Lessons page under AppTest: the contract a student and the class view rely on."""

import shutil

import pytest

from tests.conftest import APP_TIMEOUT, ROOT

LESSON_1 = "what-is-a-vae"


def open_lessons(**query):
    """A fresh session on the Lessons page, with `query` as its URL's query parameters (as a browser's
    first visit: no latent map drawn yet in this session)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "navigation.py"), default_timeout=APP_TIMEOUT)
    for name, value in query.items():
        at.query_params[name] = value
    at.switch_page("app_pages/lessons.py").run()
    assert not at.exception, at.exception
    return at


def button(at, label):
    return next(b for b in at.button if b.label == label)


def header(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Step "))


def images(at) -> list[str]:
    """Each image's media URL: named by a hash of its bytes, so equal URLs are equal pixels."""
    return [img.proto.imgs[0].url for img in at.get("image")]


def sign_in(at, name="Ada"):
    at.text_input(key="lesson-sign-in-name").input(name)
    button(at, "Start").click().run()
    assert not at.exception, at.exception
    return at.query_params["student"]


def test_next_stays_disabled_until_the_check_passes(runs_dir):
    at = open_lessons()
    assert header(at).startswith("**Step 1 of 5**") and at.get("progress")
    assert button(at, "Next").disabled
    at.radio(key=f"lesson-{LESSON_1}-1-answer").set_value("One point z, the image's code")
    button(at, "Check").click().run()
    (warning,) = at.warning
    assert warning.value.startswith("**Not yet.**") and "Hint: A VAE's encoder is uncertain" in warning.value
    assert button(at, "Next").disabled and not at.success
    right = "A distribution over codes, q(z|x), described by a mean and a spread"
    at.radio(key=f"lesson-{LESSON_1}-1-answer").set_value(right)
    button(at, "Check").click().run()
    assert at.success[0].value.startswith("**Correct.**")
    assert not button(at, "Next").disabled
    button(at, "Next").click().run()
    assert header(at).startswith("**Step 2 of 5**")
    assert at.query_params["lesson"] == LESSON_1 and at.query_params["step"] == "2"


def test_a_prediction_is_shown_beside_the_models_truth(runs_dir):
    from cvae.lessons.live_model import live_model
    from cvae.store.checkpoint import load_checkpoint

    model = live_model(load_checkpoint(ROOT / "assets" / "pretrained"))
    at = open_lessons(lesson=LESSON_1, step="2")
    # the symbol and its live value, in one colour: the model's own numbers for digit 4
    text = next(m.value for m in at.markdown if "q_\\phi" in m.value)
    assert f"\\textcolor{{#0077BB}}{{\\mu_1 = {model.mu[4, 0]:.2f},\\ \\mu_2 = {model.mu[4, 1]:.2f}}}" in text
    assert f"\\textcolor{{#EE7733}}{{\\sigma_1 = {model.sd[4, 0]:.3f}" in text
    at.number_input(key=f"lesson-{LESSON_1}-2-answer").set_value(1000.0)
    button(at, "Check").click().run()
    assert at.warning[0].value.startswith("**Not yet.**") and "Its KL is" in at.warning[0].value
    texts = [m.value for m in at.markdown]
    assert "**Your prediction:** kl = 1e+03" in texts
    assert any(t.startswith("**The model:** kl = ") for t in texts)
    assert any(c.value.startswith("Checked in ") for c in at.caption)


def test_the_url_opens_a_step(runs_dir):
    at = open_lessons(lesson="latent-space", step="3")
    assert header(at).startswith("**Step 3 of 6**")
    assert at.subheader[0].value == "Holes"
    at = open_lessons(lesson="no-such-lesson", step="99")  # a bad link opens the first lesson's first step
    assert header(at).startswith("**Step 1 of 5**")


def test_reset_step_gives_back_the_same_pixels(runs_dir):
    at = open_lessons(lesson="latent-space", step="2")
    start = images(at)
    assert len(start) == 2
    at.number_input(key="lesson-latent-space-2-typed0").set_value(1.5).run()
    button(at, "Draw another sample").click().run()
    moved = images(at)
    assert moved[0] != start[0] and moved[1] != start[1]
    button(at, "Reset step").click().run()
    assert images(at) == start
    assert at.number_input(key="lesson-latent-space-2-typed0").value == 0.0


def test_a_typed_point_is_checked_on_the_live_model(runs_dir):
    from cvae.lessons import CheckContext, shipped_classifier
    from cvae.lessons.checks_find import digit_example
    from cvae.lessons.live_model import live_model
    from cvae.store.checkpoint import load_checkpoint

    model = live_model(load_checkpoint(ROOT / "assets" / "pretrained"))
    seven, _ = digit_example(CheckContext(model, shipped_classifier()), 7)
    at = open_lessons(lesson="latent-space", step="2")
    button(at, "Check").click().run()
    assert "Pin a point on the map first" in at.warning[0].value
    for d, value in enumerate(seven):
        at.number_input(key=f"lesson-latent-space-2-typed{d}").set_value(round(float(value), 3)).run()
    button(at, "Check").click().run()
    assert at.success[0].value.startswith("**Correct.** The decoder draws a 7 there")
    views = [e.proto.SerializeToString() for e in at.get("bidi_component")]
    assert any(b"your answer" in v for v in views)  # the student's point drawn on the map


def test_a_landing_prediction_and_the_truth_are_both_drawn_on_the_map(runs_dir):
    at = open_lessons(lesson="latent-space", step="1")
    at.number_input(key="lesson-latent-space-1-typed0").set_value(9.0).run()
    button(at, "Check").click().run()
    assert at.warning[0].value.startswith("**Not yet.** It landed at")
    views = b"".join(e.proto.SerializeToString() for e in at.get("bidi_component"))
    assert b"your answer" in views and b"the model's answer" in views


def test_skip_moves_on_and_is_recorded(runs_dir):
    from cvae.classroom import progress, students
    from cvae.db import database

    at = open_lessons()
    token = sign_in(at)
    button(at, "Skip").click().run()
    assert header(at).startswith("**Step 2 of 5**")
    me = students.by_token(database(), token)
    result = progress.results(database(), me.id, LESSON_1)[1]
    assert (result.status, result.attempts) == ("skipped", 0)
    assert (me.lesson_id, me.step) == (LESSON_1, 2)


def test_the_last_step_of_a_lesson_leads_to_the_next_lesson_and_the_last_of_all_ends_the_course(runs_dir):
    from cvae.lessons import load_library

    lessons = load_library(ROOT / "lessons").lessons
    ids = list(lessons)
    at = open_lessons(lesson=ids[0], step=str(len(lessons[ids[0]].steps)))
    button(at, "Skip").click().run()
    assert header(at).startswith(f"**Step 1 of {len(lessons[ids[1]].steps)}** · {lessons[ids[1]].title}")
    at = open_lessons(lesson=ids[-1], step=str(len(lessons[ids[-1]].steps)))
    button(at, "Skip").click().run()
    assert any("last step of the last lesson" in s.value for s in at.success)


def test_a_malformed_lesson_shows_its_error_while_the_others_load(runs_dir, tmp_path, monkeypatch):
    folder = tmp_path / "lessons"
    shutil.copytree(ROOT / "lessons", folder)
    bad = folder / "5-broken.md"
    bad.write_text((folder / "4-beyond-two-dimensions.md").read_text().replace("kind: number", "kind: guesswork"))
    monkeypatch.setenv("CVAE_LESSONS_DIR", str(folder))
    at = open_lessons()
    (error,) = at.error
    assert f"{bad}:" in error.value and "check.kind: unknown check kind 'guesswork'" in error.value
    assert len(at.selectbox(key=f"lesson-picker-{LESSON_1}").options) == 4
    assert header(at).startswith("**Step 1 of 5**")


@pytest.mark.slow
def test_progress_survives_a_server_restart(database_url, runs_dir, monkeypatch):
    """SQLite and PostgreSQL: a pass and a place written by one session are found again by a fresh
    session holding only the URL's student token, after the process's engines and caches are dropped."""
    import streamlit as st

    from cvae.db import engine

    monkeypatch.setenv("CVAE_DATABASE_URL", database_url)
    at = open_lessons()
    token = sign_in(at)
    at.radio(key=f"lesson-{LESSON_1}-1-answer").set_value(
        "A distribution over codes, q(z|x), described by a mean and a spread"
    )
    button(at, "Check").click().run()
    button(at, "Next").click().run()
    assert header(at).startswith("**Step 2 of 5**")
    for db in list(engine._open.values()):  # what a restart loses: every connection and cache of the process
        db.dispose()
    engine._open.clear()
    st.cache_resource.clear()
    again = open_lessons(student=token)  # no ?lesson=: the place comes from the database
    assert header(again).startswith("**Step 2 of 5**")
    assert not again.text_input  # signed in: no name form
    again.query_params["lesson"], again.query_params["step"] = LESSON_1, "1"
    again.run()
    assert header(again).startswith("**Step 1 of 5**")
    assert not button(again, "Next").disabled  # the pass was kept


def test_every_step_of_every_shipped_lesson_renders(runs_dir):
    from cvae.lessons import load_library

    at = open_lessons()
    for lesson in load_library().lessons.values():
        for step in lesson.steps:
            at.query_params["lesson"], at.query_params["step"] = lesson.id, str(step.number)
            at.run()
            assert not at.exception, (lesson.id, step.number, at.exception)
            assert header(at).startswith(f"**Step {step.number} of {len(lesson.steps)}**")
            assert at.subheader[0].value == step.title
            assert "{{" not in "".join(m.value for m in at.markdown)  # every live value filled in
