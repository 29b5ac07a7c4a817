"""Two Streamlit replicas behind HAProxy over one PostgreSQL and one Dask scheduler, in Chromium.

`deploy/run-local.sh` brings the deployment up (harness/deploy.py), with a class code and a teacher
code. Replicas A and B are reached directly to choose which one serves a tab; the last test goes
through the proxy and kills A with SIGKILL mid-training. The proxy itself (stickiness, the negative
control) is tested in tests/e2e/test_deploy.py.
"""

from __future__ import annotations

import os
import re
import signal
import time
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from harness.browser import LOAD_MS, STEP_MS, chromium_path, headless_chromium, open_page, wait_script_idle
from harness.deploy import gone, local_deployment

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_path() is None, reason="Debian's chromium is not installed"),
]

CLASS_CODE, TEACHER_CODE = "owls-2026", "teach-me"
RIGHT = "A distribution over codes, q(z|x), described by a mean and a spread"  # lesson 1, step 1
FIT_S = 900  # a fit's compile and run on one worker, on two loaded cores


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    state = tmp_path_factory.mktemp("replicas")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CVAE_CLASS_CODE", CLASS_CODE)
        env.setenv("CVAE_TEACHER_CODE", TEACHER_CODE)
        env.delenv("CVAE_RUNS_DIR", raising=False)
        with local_deployment(state, replicas=2) as running:
            running.runs = state / "runs"
            yield running


@pytest.fixture(scope="module")
def browser(deployment):
    with headless_chromium() as chromium:
        yield chromium


def _open(browser, url: str, *, name: str | None = None, heading: str):
    """A new tab at `url`: the class code, then `name` when the app asks for one, until the page's <h1>."""
    page = open_page(browser, url, "CVAE Explorer")
    wait_script_idle(page, LOAD_MS)
    page.get_by_role("textbox", name="Class code").fill(CLASS_CODE)
    page.get_by_role("button", name="Enter").click()
    name_box = page.get_by_role("textbox", name="Your name")
    arrived = page.get_by_role("heading", name=heading, exact=True)
    try:
        name_box.or_(arrived).first.wait_for(timeout=LOAD_MS)
        if name is not None and name_box.count():
            name_box.fill(name)
            page.get_by_role("button", name="Start").click()
        arrived.wait_for(timeout=LOAD_MS)
    except Exception as err:
        text = page.evaluate("() => document.body.innerText")[:2000]
        raise AssertionError(f"{url}: never reached {heading!r}; the tab shows:\n{text}") from err
    wait_script_idle(page, LOAD_MS)
    return page


def _query(page) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlparse(page.url).query).items()}


def _start_training(page, epochs: int) -> dict[str, str]:
    """Press Start on the Train page with `epochs`; the URL's student, job and owner token once it runs."""
    field = page.get_by_label("Epochs", exact=True)
    field.fill(str(epochs))
    field.press("Tab")
    page.get_by_role("button", name="Start training").click()
    page.wait_for_function("() => location.search.includes('owner=')", timeout=STEP_MS)
    return _query(page)


def _step(page, above: int = 0, timeout_s: float = FIT_S) -> int:
    """The step the Train page's progress text shows, once it shows one above `above` (the first fit on a
    fresh worker can wait for the worker's compile-cache warm-up: a bound, not a speed claim)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = re.search(r"step (\d+)/\d+", page.evaluate("() => document.body.innerText"))
        if found and int(found[1]) > above:
            return int(found[1])
        page.wait_for_timeout(250)
    raise AssertionError(f"no training progress; the page says:\n{page.evaluate('() => document.body.innerText')}")


def _saved_runs(runs) -> list[str]:
    return sorted(p.name for p in runs.iterdir() if (p / "params.npz").is_file()) if runs.is_dir() else []


def test_a_training_started_through_a_is_listed_followed_and_stopped_by_its_owner_through_b(deployment, browser):
    a, b = deployment.replica_urls
    on_a = _open(browser, f"{a}/train", name="Ada", heading="Train")
    link = _start_training(on_a, epochs=200)
    assert {"student", "job", "owner"} <= set(link)

    # the owner's link opened on the other replica: the job, live, with its Stop button
    on_b = _open(browser, f"{b}/train?{urlencode(link)}", heading="Train")
    first = _step(on_b)
    on_b.get_by_role("button", name="Stop", exact=True).wait_for(timeout=STEP_MS)
    assert _step(on_b, above=first + 10) > first + 10, "B streams the fit A started"

    # anyone else on B: listed, watched read-only, a forged owner token changes nothing
    other = _open(browser, f"{b}/train", name="Cy", heading="Train")
    other.get_by_text("Also training on this server").wait_for(timeout=STEP_MS)
    cy = _query(other)["student"]
    for extra in ({}, {"owner": "0" * 32}, {"owner": link["owner"][:-1] + ("0" if link["owner"][-1] != "0" else "1")}):
        watcher = _open(browser, f"{b}/train?{urlencode(dict(student=cy, job=link['job'], **extra))}", heading="Train")
        watcher.get_by_text("Watching (read-only)").wait_for(timeout=STEP_MS)
        assert watcher.get_by_role("button", name="Stop", exact=True).count() == 0
        watcher.context.close()

    before = _saved_runs(deployment.runs)
    on_b.get_by_role("button", name="Stop", exact=True).click()
    on_b.get_by_text("Saved as").wait_for(timeout=FIT_S * 1000)
    on_a.get_by_text("Saved as").wait_for(timeout=STEP_MS)  # and A, which started it, agrees
    new = sorted(set(_saved_runs(deployment.runs)) - set(before))
    assert len(new) == 1, f"saved exactly once: {new}"
    for page in (on_a, on_b, other):
        page.context.close()


def test_a_run_imported_through_a_opens_in_b(deployment, browser, tmp_path):
    from cvae.store.bundle import export_bundle
    from harness.latent_map import choose_model, save_random_model

    bundle = tmp_path / "from-a-classmate.zip"
    bundle.write_bytes(export_bundle(save_random_model(tmp_path / "elsewhere", "m", arch="keras-example", epochs=1)))
    a, b = deployment.replica_urls
    on_a = _open(browser, f"{a}/classroom", heading="Classroom")
    on_a.locator('[data-testid="stFileUploader"] input[type=file]').set_input_files(str(bundle))
    on_a.get_by_role("button", name="Import", exact=True).click()
    on_a.get_by_text("Imported as").wait_for(timeout=STEP_MS)
    assert "from-a-classmate" in _saved_runs(deployment.runs)
    on_b = _open(browser, b, name="Dee", heading="Active model")  # Home, which describes the active model
    choose_model(on_b, "from-a-classmate")  # B lists it...
    on_b.get_by_text("from-a-classmate: ").first.wait_for(timeout=STEP_MS)  # ...and loads it
    assert not on_b.locator('[data-testid="stException"]').count()
    on_a.context.close()
    on_b.context.close()


def test_the_teachers_class_page_on_b_shows_students_who_are_on_a(deployment, browser):
    a, b = deployment.replica_urls
    student = _open(browser, f"{a}/lessons", name="Fay", heading="Lessons")
    teacher = _open(browser, f"{b}/classroom", heading="Classroom")
    teacher.get_by_role("textbox", name="Teacher code").fill(TEACHER_CODE)
    teacher.get_by_role("button", name="Sign in as teacher").click()
    teacher.locator('[data-testid="stSidebarNav"] a[href$="/class_view"]').click()
    teacher.get_by_role("heading", name="Class", exact=True).wait_for(timeout=LOAD_MS)
    first_cells = """() => Array.from(document.querySelectorAll('[data-testid="stDataFrame"] tr'))
        .map(row => row.querySelector('td')).filter(Boolean).map(cell => cell.innerText)"""
    deadline = time.monotonic() + 60
    while "Fay" not in teacher.evaluate(first_cells):  # the roster's name column (the grid draws on a canvas)
        assert time.monotonic() < deadline, "the roster on B never listed the student on A"
        teacher.wait_for_timeout(250)
    student.context.close()
    teacher.context.close()


def test_killing_a_replica_mid_training_loses_nothing(deployment, browser):
    """A student on one replica (through the proxy) passes a lesson step and starts a training; that
    replica dies (SIGKILL); the fit finishes on the worker, the other replica saves its run exactly
    once, and the student's reload lands there with their job, their lesson progress and the run."""
    page = _open(browser, f"{deployment.proxy_url}/lessons", name="Gus", heading="Lessons")
    sticky = {c["name"]: c["value"] for c in page.context.cookies() if c["name"] == "SRV"}
    assert sticky, f"the proxy set no stickiness cookie: {page.context.cookies()}"
    home = sticky["SRV"]  # r1 or r2: the server line's cookie value in the proxy's configuration
    victim = f"replica-{home.lstrip('r')}"
    page.get_by_text(RIGHT, exact=True).click()
    wait_script_idle(page)
    page.get_by_role("button", name="Check", exact=True).click()
    page.get_by_text("Correct.").first.wait_for(timeout=STEP_MS)

    page.locator('[data-testid="stSidebarNav"] a[href$="/train"]').click()
    page.get_by_role("heading", name="Train", exact=True).wait_for(timeout=LOAD_MS)
    before = _saved_runs(deployment.runs)
    link = _start_training(page, epochs=8)
    _step(page)
    os.kill(deployment.pids[victim], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not gone(deployment.pids[victim]):
        assert time.monotonic() < deadline, f"{victim} outlived SIGKILL"
        time.sleep(0.1)

    page.goto(f"{deployment.proxy_url}/train?{urlencode(link)}", wait_until="domcontentloaded", timeout=LOAD_MS)
    page.get_by_role("textbox", name="Class code").fill(CLASS_CODE)  # a new session, on the other replica
    page.get_by_role("button", name="Enter").click()
    page.get_by_role("heading", name="Train", exact=True).wait_for(timeout=LOAD_MS)
    assert page.get_by_role("textbox", name="Your name").count() == 0, "the URL's token found the student again"
    assert deployment.served_by("/_stcore/stream")[0] != home, "the reload was served by the other replica"
    page.get_by_text("made the active model").wait_for(timeout=FIT_S * 1000)  # their job, saved, theirs
    new = sorted(set(_saved_runs(deployment.runs)) - set(before))
    assert len(new) == 1, f"the fit's run is saved exactly once: {new}"
    page.locator('[data-testid="stSidebarNav"] a').first.click()  # Home describes the active model: their run
    page.get_by_text(f"{new[0]}: ").first.wait_for(timeout=LOAD_MS)
    page.locator('[data-testid="stSidebarNav"] a[href$="/lessons"]').click()
    page.get_by_text("Step 1 of").first.wait_for(timeout=LOAD_MS)
    wait_script_idle(page)
    assert page.get_by_role("button", name="Next", exact=True).is_enabled(), "the passed step is still passed"
    page.context.close()
