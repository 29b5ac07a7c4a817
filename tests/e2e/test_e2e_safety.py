"""Classroom safety in real browsers: a student can watch another's training but not stop it, not even
with a forged request; the owner's refreshed tab keeps Stop; the teacher can stop any training.

One real `streamlit run` (teacher code set, one training worker), Debian's chromium for the tabs, and a
client of Streamlit's own websocket protocol (harness/st_protocol.py) for the forged request.
"""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState

from harness.browser import LOAD_MS, STEP_MS, chromium_path, open_page, wait_script_idle
from harness.st_protocol import Session

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)"),
]
CODE = "teach-me"


@pytest.fixture(scope="module")
def server(serve):
    return serve("safety_runs", timeout=120, env={"CVAE_TEACHER_CODE": CODE, "CVAE_WORKERS": "1"})


def _progress(page) -> str:
    bar = page.locator('[data-testid="stProgress"]')
    return bar.first.inner_text() if bar.count() else ""


def _wait_text(page, pattern: str, timeout_s: float = 300) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = _progress(page)
        if re.search(pattern, text):
            return text
        page.wait_for_timeout(250)
    raise AssertionError(f"no progress matching {pattern!r}; last: {_progress(page)!r}")


def _step(text: str) -> int:
    return int(re.search(r"step (\d+)/", text).group(1))


def _forge_stop(server_url: str, owner_query: str, job_id: str) -> None:
    """As a student: read the Stop button's widget id off the owner's page, then send a rerun from a
    session of one's own that follows the job (no owner token) carrying that button's click."""

    async def forge():
        owner = Session(server_url, page="train", query=owner_query, timeout=120)
        await owner.connect()
        stop_id = owner.find("stop").id
        await owner.close()
        forger = Session(server_url, page="train", query=f"job={job_id}", timeout=120)
        await forger.connect()
        with pytest.raises(LookupError):
            forger.find("stop")  # not drawn for a follower
        for fragment_id in ("", *{e.fragment_id for e in forger.elements.values() if e.fragment_id}):
            await forger.rerun(fragment_id, once=[WidgetState(id=stop_id, trigger_value=True)], label="forged stop")
        texts = " ".join(forger.texts())
        await forger.close()
        return texts

    with ThreadPoolExecutor(1) as thread:  # Playwright's sync API holds this thread's event loop
        texts = thread.submit(asyncio.run, forge()).result(timeout=300)
    assert "Watching (read-only)" in texts


def test_followers_watch_read_only_forged_stops_fail_owner_and_teacher_can_stop(server, browser):
    owner = open_page(browser, server.url + "/train", "Train")
    owner.get_by_label("Epochs", exact=True).fill("60")
    owner.get_by_label("Epochs", exact=True).press("Tab")
    owner.get_by_role("button", name="Start training").click()
    _wait_text(owner, r": running · step [1-9]")
    query = urlsplit(owner.url).query
    params = parse_qs(query)
    job_id = params["job"][0]
    assert params["owner"][0], "the owner's URL carries its token"
    assert owner.get_by_role("button", name="Stop").count() == 1

    # a second student follows the job: live, read-only
    student = open_page(browser, server.url + "/train", "Train")
    student.get_by_role("button", name=re.compile(r"· running · step")).first.click()
    first = _step(_wait_text(student, r": running · step \d+"))
    student.get_by_text("Watching (read-only)").wait_for()
    assert student.get_by_role("button", name="Stop").count() == 0
    assert _step(_wait_text(student, rf": running · step (?!{first}/)\d+")) > first  # it moves: live

    # a forged click on the owner's Stop button from another session changes nothing
    _forge_stop(server.url, query, job_id)
    time.sleep(3)
    assert ": running" in _progress(owner), f"a forged stop stopped the training: {_progress(owner)}"

    # the owner's refreshed tab still owns the job
    owner.reload()
    owner.locator("h1", has_text="Train").wait_for(timeout=LOAD_MS)
    _wait_text(owner, r": running")
    owner.get_by_role("button", name="Stop").wait_for()

    # the teacher signs in (Classroom page), then watches the job in the same tab and stops it
    teacher = open_page(browser, server.url + "/classroom", "Classroom")
    teacher.get_by_label("Teacher code").fill(CODE)
    teacher.get_by_role("button", name="Sign in as teacher").click()
    teacher.get_by_text("Default model for every new session").wait_for()
    teacher.locator('[data-testid="stSidebarNavLink"]', has_text="Train").click()
    teacher.locator("h1", has_text="Train").wait_for()
    teacher.get_by_role("button", name=re.compile(r"· running · step")).first.click()
    teacher.get_by_role("button", name="Stop").wait_for()
    # as a teacher would: the job's page has finished loading before the click (a clean-clone CI run
    # once clicked while that run was still in progress, and the training went on)
    wait_script_idle(teacher)
    teacher.get_by_role("button", name="Stop").click()
    _wait_text(owner, r": stopped", timeout_s=60)
    owner.get_by_text("Saved as").wait_for(timeout=STEP_MS)
    for page in (owner, student, teacher):
        page.context.close()
