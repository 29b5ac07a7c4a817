"""A scripted student completes lesson 1 in Chromium with the keyboard alone, at 200 % zoom, offline,
then finds their place again after the server restarts (SQLite under the runs folder).

Only keyboard events reach the page: Tab moves the focus (checked by reading document.activeElement),
Space and the arrows choose, typing fills a box, Enter presses. The right answers are computed here
from the shipped model, as the server computes them.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from harness.browser import LOAD_MS, STEP_MS, chromium_path, headless_chromium, screenshot, wait_script_idle
from harness.metrics import merge_metrics
from harness.server import serving

pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)"),
]

LESSON = "what-is-a-vae"
ZOOM_200 = {"viewport": {"width": 700, "height": 500}, "device_scale_factor": 2}  # a 1400 x 1000 window at 200 %
FOCUSED = """() => { const a = document.activeElement;
  return {tag: a.tagName, type: a.type || '', label: a.getAttribute('aria-label') || '',
          text: (a.innerText || '').trim(), disabled: !!a.disabled}; }"""


def tab_to(page, wanted, presses: int = 80) -> dict:
    """Press Tab until the focused element satisfies `wanted(focused)`; returns it."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if wanted(focused):
            return focused
    raise AssertionError(f"Tab never reached the element; last focused {focused}")


def button_named(text):
    return lambda f: f["tag"] == "BUTTON" and f["text"] == text


def answer_box(f) -> bool:
    return f["tag"] == "INPUT" and "Your answer" in f["label"]


def press(page, text: str) -> None:
    """Tab to the button `text` and press Enter; wait for the rerun."""
    tab_to(page, button_named(text))
    page.keyboard.press("Enter")
    wait_script_idle(page)


def check_passes(page) -> None:
    press(page, "Check")
    page.locator('[data-testid="stAlertContentSuccess"]', has_text="Correct.").first.wait_for()


def on_step(page, k: int, n: int = 5) -> None:
    page.get_by_text(f"Step {k} of {n}", exact=False).first.wait_for()
    wait_script_idle(page)


def choose_option(page, index: int) -> None:
    """The answer radio group: Space picks the focused first option, each ArrowDown the next."""
    tab_to(page, lambda f: f["tag"] == "INPUT" and f["type"] == "radio")
    page.keyboard.press("Space")
    for _ in range(index):
        page.keyboard.press("ArrowDown")
    wait_script_idle(page)


def type_answer(page, text: str) -> None:
    tab_to(page, answer_box)
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    wait_script_idle(page)


@pytest.fixture(scope="module")
def truths():
    from cvae.lessons import shipped_classifier
    from cvae.lessons.live_model import live_model
    from cvae.settings import ROOT
    from cvae.store.checkpoint import load_checkpoint

    model = live_model(load_checkpoint(ROOT / "assets" / "pretrained"))
    image = model.explorer.decode(model.mu[4:5])[0]
    return {
        "kl": float(model.kl[4]),
        "z1": float(model.mu[4, 0] + model.sd[4, 0] * 1.5),
        "drawn": int(np.argmax(shipped_classifier().probabilities(image))),
    }


def test_a_student_completes_lesson_1_with_the_keyboard_only(tmp_path, truths):
    from cvae.classroom import progress, students
    from cvae.db import Database

    runs = tmp_path / "runs"
    elsewhere = []
    with headless_chromium() as browser:
        with serving(runs, tmp_path / "server-1.log", timeout=300) as served:
            context = browser.new_context(**ZOOM_200)
            context.set_default_timeout(STEP_MS)
            context.on("request", lambda r: r.url.startswith((served.url, "data:", "blob:")) or elsewhere.append(r.url))
            page = context.new_page()
            started = time.monotonic()
            page.goto(served.url + "/lessons", wait_until="domcontentloaded", timeout=LOAD_MS)
            page.locator("h1", has_text="Lessons").first.wait_for(timeout=LOAD_MS)
            on_step(page, 1)

            tab_to(page, lambda f: f["tag"] == "INPUT" and f["label"] == "Your name")
            page.keyboard.type("Kay")
            page.keyboard.press("Enter")  # submits the name form
            page.get_by_text("Your name").first.wait_for(state="detached")
            wait_script_idle(page)
            token = page.evaluate("() => new URL(location.href).searchParams.get('student')")
            assert token

            next_button = page.get_by_role("button", name="Next", exact=True)
            assert next_button.is_disabled()  # nothing passed yet
            choose_option(page, 1)  # the encoder gives q(z|x)
            check_passes(page)
            assert next_button.is_enabled()
            press(page, "Next")

            on_step(page, 2)
            type_answer(page, f"{truths['kl']:.4f}")
            check_passes(page)
            press(page, "Next")

            on_step(page, 3)
            type_answer(page, f"{truths['z1']:.4f}")
            check_passes(page)
            press(page, "Next")

            on_step(page, 4)
            type_answer(page, str(truths["drawn"]))  # the selectbox: typing filters, Enter chooses
            check_passes(page)
            press(page, "Next")

            on_step(page, 5)
            choose_option(page, 1)  # the KL term
            check_passes(page)
            press(page, "Finish")
            on_step(page, 1, 6)  # lesson 2 begins
            seconds = time.monotonic() - started
            screenshot(page, "lesson-1-done-200pct")
            context.close()
        merge_metrics({"lesson_1_keyboard_s": round(seconds, 1)})
        assert not elsewhere, f"requests beyond the server: {elsewhere}"

        db = Database(f"sqlite:///{runs / 'cvae.sqlite3'}")
        try:
            me = students.by_token(db, token)
            done = progress.results(db, me.id, LESSON)
            assert {k: r.status for k, r in done.items()} == dict.fromkeys(range(1, 6), "passed")
            assert done[2].truth["kl"] == pytest.approx(truths["kl"], rel=1e-4)
        finally:
            db.dispose()

        # a restarted server, the same runs folder: the student's link brings them back to their place
        with serving(runs, tmp_path / "server-2.log", timeout=300) as served:
            context = browser.new_context(**ZOOM_200)
            page = context.new_page()
            page.goto(f"{served.url}/lessons?student={token}", wait_until="domcontentloaded", timeout=LOAD_MS)
            page.locator("h1", has_text="Lessons").first.wait_for(timeout=LOAD_MS)
            on_step(page, 1, 6)
            assert page.get_by_text("Your name").count() == 0

            # lesson 2's "find a 7" on the map, by keyboard: the arrows move the point, Enter pins it
            page.goto(f"{served.url}/lessons?lesson=latent-space&step=2&student={token}", wait_until="domcontentloaded")
            on_step(page, 2, 6)
            tab_to(page, lambda f: f["tag"] == "CANVAS" and "latent map" in f["label"])
            for _ in range(5):
                page.keyboard.press("ArrowRight")
            page.keyboard.press("Enter")
            pinned = page.get_by_text("Your point: (", exact=False).first
            pinned.wait_for()
            assert pinned.inner_text() != "Your point: (0.00, 0.00)"
            press(page, "Check")
            result = page.locator('[data-testid="stAlertContentSuccess"], [data-testid="stAlertContentWarning"]')
            assert "The decoder draws" in result.first.inner_text()
            context.close()
    print(f"lesson 1 by keyboard at 200 % zoom: {seconds:.1f} s")
