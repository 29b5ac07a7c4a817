"""The teacher's Class page in Chromium: one teacher and three students on one real server.

The students join with the class code and a name (one name holds markup), work on lesson 1's
first step on the real Lessons page, and appear on the teacher's page without a reload; a push
reaches each of them and one click follows it; the CSV has one row per student per step; a student
(a browser tab, and a protocol-level client forging the request) gets nothing of the Class page.
Delays are measured and written to artifacts/e2e_metrics.json, not asserted (two loaded cores).
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.browser import LOAD_MS, chromium_path, headless_chromium, open_page, screenshot, wait_script_idle
from harness.latent_map import save_random_model
from harness.metrics import merge_metrics
from harness.server import serving

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_path() is None, reason="Debian's chromium is not installed"),
]

CLASS_CODE, TEACHER_CODE = "owls-2026", "teach-me"
HOSTILE = "<img src=x onerror=window.__xss=1>Bo"
NAMES = ("Ada", HOSTILE, "Cy")
RIGHT = "A distribution over codes, q(z|x), described by a mean and a spread"
WRONG = "One point z, the image's code"
LESSON = "what-is-a-vae"


def _nav(page, path: str) -> None:
    page.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]').click()


def _enter_class(page) -> None:
    wait_script_idle(page, LOAD_MS)
    page.get_by_role("textbox", name="Class code").fill(CLASS_CODE)
    page.get_by_role("button", name="Enter").click()
    wait_script_idle(page, LOAD_MS)


def _teacher(browser, url: str):
    page = open_page(browser, url, "CVAE Explorer")
    _enter_class(page)
    _nav(page, "classroom")
    page.get_by_role("heading", name="Classroom", exact=True).wait_for(timeout=LOAD_MS)
    page.get_by_role("textbox", name="Teacher code").fill(TEACHER_CODE)
    page.get_by_role("button", name="Sign in as teacher").click()
    _nav(page, "class_view")  # listed once the session is the teacher's
    page.get_by_role("heading", name="Class", exact=True).wait_for(timeout=LOAD_MS)
    return page


def _student(browser, url: str, name: str):
    page = open_page(browser, url, "CVAE Explorer")
    _enter_class(page)
    page.get_by_role("textbox", name="Your name").fill(name)
    page.get_by_role("button", name="Start").click()
    page.get_by_role("textbox", name="Your name").wait_for(state="detached", timeout=LOAD_MS)
    _nav(page, "lessons")
    page.get_by_text("Step 1 of").wait_for(timeout=LOAD_MS)
    wait_script_idle(page, LOAD_MS)
    return page


def _check(page, option: str) -> None:
    page.get_by_text(option, exact=True).click()
    wait_script_idle(page)
    page.get_by_role("button", name="Check", exact=True).click()
    wait_script_idle(page)


ROSTER_JS = """() => { const grid = document.querySelector('[data-testid="stDataFrame"]');
  if (!grid) return [];
  return Array.from(grid.querySelectorAll('tr')).map(r => Array.from(r.querySelectorAll('td')).map(c => c.innerText))
    .filter(r => r.length); }"""


def _wait_roster(page, expected: dict[str, tuple]) -> float:
    """Seconds until the roster's rows hold `expected` (name -> (page, step, on this step)), with no reload."""
    start = time.perf_counter()
    deadline = start + 60
    while time.perf_counter() < deadline:
        rows = {r[0]: (r[1], r[3], r[4]) for r in page.evaluate(ROSTER_JS) if len(r) >= 5}
        if all(rows.get(name) == want for name, want in expected.items()):
            return time.perf_counter() - start
        page.wait_for_timeout(100)
    raise AssertionError(f"the roster never showed {expected}; it shows {rows}")


def _forged(url: str, page: str) -> tuple[list[str], list[bytes]]:
    """A protocol-level student (class code, a name), then a rerun naming `page` as a crafted URL would;
    returns the texts and every element's bytes it was sent."""
    from harness.st_protocol import Session

    async def run():
        tab = Session(url, timeout=120)
        await tab.connect()
        await tab.set(tab.find(label="Class code"), CLASS_CODE, wait=False)
        await tab.click(tab.find(label="Enter"))
        await tab.set(tab.find(label="Your name"), f"Mallory {page}", wait=False)
        await tab.click(tab.find(label="Start"))
        tab.page, tab.page_script_hash = page, ""  # the first run of a tab names its page by url path
        await tab.rerun(label="forged")
        frames = [e.proto.SerializeToString() for e in tab.elements.values() if e.kind != "block"]
        texts = tab.texts()
        await tab.close()
        return texts, frames

    with ThreadPoolExecutor(1) as thread:  # Playwright's sync API holds this thread's event loop
        return thread.submit(lambda: asyncio.run(run())).result()


def test_a_class_of_three_on_the_teachers_page(tmp_path):
    runs = tmp_path / "runs"
    save_random_model(runs, "class-model", arch="keras-example", latent_dim=2, epochs=1)
    env = {"CVAE_TEACHER_CODE": TEACHER_CODE, "CVAE_CLASS_CODE": CLASS_CODE}
    with serving(runs, tmp_path / "server.log", env=env, timeout=300) as server, headless_chromium() as browser:
        teacher = _teacher(browser, server.url)
        ada, bo, cy = (_student(browser, server.url, name) for name in NAMES)

        # the students' names, steps and results reach the teacher's page by themselves
        _check(ada, RIGHT)
        _check(bo, WRONG)
        cy.locator('[data-testid="stSidebarNav"] a').first.click()  # Cy opened step 1, then went back Home
        wait_script_idle(cy)
        roster_s = _wait_roster(
            teacher,
            {"Ada": ("Lessons", "1", "passed"), HOSTILE: ("Lessons", "1", "not yet"), "Cy": ("Home", "1", "working")},
        )
        # the name with markup is text: shown as typed, no element made of it, its script never ran
        assert teacher.evaluate("() => document.querySelectorAll('img[src=x]').length") == 0
        assert teacher.evaluate("() => window.__xss") is None
        screenshot(teacher, "class_view_roster")

        # a push reaches all three, each follows with one click
        teacher.get_by_role("spinbutton", name="Step").fill("3")
        pushed_at = time.perf_counter()
        teacher.get_by_role("button", name="Send everyone to this step").click()
        notice_s = {}
        for name, page in zip(NAMES, (ada, bo, cy), strict=True):
            page.locator(".st-key-push_notice", has_text=f"go to lesson {LESSON}, step 3").wait_for(timeout=60_000)
            notice_s[name] = time.perf_counter() - pushed_at
        for page in (ada, bo):  # a notice, never a move: both are still on step 1, Bo's result still shown
            assert page.get_by_text("Step 1 of").count() == 1
        assert bo.get_by_text("Not yet.").count() == 1
        for page in (ada, bo, cy):
            page.get_by_role("button", name="Go to the step").click()
            page.get_by_text("Step 3 of").wait_for(timeout=LOAD_MS)
            wait_script_idle(page)
            assert page.locator(".st-key-push_notice").count() == 0  # followed: not shown again
        _wait_roster(teacher, {name: ("Lessons", "3", "working") for name in NAMES})

        # the CSV: one row per student per step they opened (steps 1 and 3)
        with teacher.expect_download() as download:
            teacher.get_by_role("button", name="Download the records (CSV)").click()
        rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
        assert sorted((r["name"], r["step"]) for r in rows) == sorted((n, s) for n in NAMES for s in ("1", "3"))
        assert {(r["name"], r["step"]): r["result"] for r in rows if r["step"] == "1"} == {
            ("Ada", "1"): "passed",
            (HOSTILE, "1"): "not_yet",
            ("Cy", "1"): "open",
        }

        # a student cannot open the Class page: not by its URL, not by a forged protocol message
        ada.goto(ada.url.split("/lessons")[0] + "/class_view?" + ada.url.split("?", 1)[1])
        ada.get_by_role("heading", name="CVAE Explorer").wait_for(timeout=LOAD_MS)  # Home, the default page
        wait_script_idle(ada)
        assert ada.get_by_role("heading", name="Class", exact=True).count() == 0
        assert HOSTILE not in ada.evaluate("() => document.body.innerText")
        control_texts, _ = _forged(server.url, "classroom")  # the forgery works: it opens a page it may open
        assert "Classroom" in control_texts
        texts, frames = _forged(server.url, "class_view")
        assert "Class" not in texts and "Students" not in texts and "The class's answers" not in texts
        assert not any(name.encode() in frame for frame in frames for name in NAMES)

        # End class, behind its confirmation: archived on the server, the names gone from the page
        teacher.get_by_role("button", name="End class...").click()
        teacher.get_by_role("dialog").get_by_role("button", name="End the class").click()
        teacher.get_by_text("Class ended: 5 students").wait_for()  # the three and the two forged sessions
        teacher.get_by_text("No student has joined yet").wait_for()
        (archive,) = (runs / "class-archives").iterdir()
        assert HOSTILE in (archive / "records.json").read_text()
        assert "Traceback" not in server.log_tail(200_000)
    merge_metrics({"class_view": {"roster_update_s": round(roster_s, 2), "push_notice_s": notice_s}})
