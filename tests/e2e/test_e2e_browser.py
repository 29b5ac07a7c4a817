"""Real-browser end-to-end tests: `streamlit run app.py` driven by headless Debian chromium.

One server and one browser for the module; each test opens its own tab (its own session).
The Latent page's map has its own module, tests/e2e/test_latent_map_browser.py. Timings are measured
in the browser and merged into artifacts/e2e_metrics.json; screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest

from harness.browser import (
    JS_HELPERS,
    LOAD_MS,
    STEP_MS,
    VIEWPORT,
    chromium_path,
    dialog_texts,
    headless_chromium,
    open_page,
    screenshot,
    wait_script_idle,
)
from harness.latent_map import open_latent_map
from harness.metrics import merge_metrics

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)"),
]

CLICKS = 20  # timed clicks on the latent map
EMPTY_MIN_DISTANCE = 0.3  # data units from every digit to an "empty" spot (app snap: 0.04)
PICK_TOLERANCE = 0.15  # grid spacing 6/150 plus the app's snap distance, with room to spare


@pytest.fixture(scope="module")
def server(serve):
    return serve("e2e_runs")


@pytest.fixture(scope="module")
def browser(server):
    with headless_chromium() as chromium:
        # The first session on the fresh server arrives by a deep link, like a shared URL:
        # st.navigation alone answers that with a "Page not found" dialog until some session
        # has run navigation.py (the pages/ shims fix it); test_deep_link_on_fresh_server checks.
        page = open_page(chromium, server.url + "/manifold", "Manifold")
        wait_script_idle(page)
        page.wait_for_timeout(1000)
        server.first_visit = SimpleNamespace(url=page.url, dialogs=dialog_texts(page))
        page.context.close()
        yield chromium


@pytest.fixture
def open_tab(server, browser):
    """Opens app pages in fresh contexts and closes them after the test."""
    contexts = []

    def _open(path: str, heading: str):
        page = open_page(browser, server.url + path, heading)
        contexts.append(page.context)
        return page

    yield _open
    for context in contexts:
        context.close()


def _no_error_elements(page) -> None:
    errors = page.evaluate("""() => Array.from(document.querySelectorAll(
        '[data-testid="stException"], [data-testid="stAlertContentError"]')).map(e => e.innerText)""")
    assert not errors, f"error elements on the page: {errors}"
    dialogs = dialog_texts(page)
    assert not dialogs, f"unexpected dialogs: {dialogs}"


def test_deep_link_on_fresh_server(server, browser):
    first = server.first_visit
    assert first.url.rstrip("/").endswith("/manifold"), first.url
    assert not first.dialogs, f"first visit to a deep link on a fresh server showed {first.dialogs}"


def test_pages_request_nothing_beyond_the_server(server, browser):
    """A class is often offline: the pages, their icons and the map's code all come from the server."""
    context = browser.new_context(viewport=VIEWPORT)
    elsewhere = []
    context.on("request", lambda r: r.url.startswith((server.url, "data:", "blob:")) or elsewhere.append(r.url))
    try:
        page = context.new_page()
        for path, heading in (("/", "CVAE Explorer"), ("/latent", "Latent space"), ("/train", "Train")):
            page.goto(server.url + path, wait_until="domcontentloaded", timeout=LOAD_MS)
            page.locator("h1", has_text=heading).first.wait_for(timeout=LOAD_MS)
            if path == "/latent":
                open_latent_map(page)
            wait_script_idle(page)
        page.wait_for_timeout(500)  # the favicon is set after the page's first run
        assert page.evaluate("() => document.querySelector('link[rel~=icon]').href").startswith(server.url)
    finally:
        context.close()
    assert not elsewhere, f"requests beyond the server: {elsewhere}"


# --- Home and Manifold ---------------------------------------------------------------------------


def test_home_page_renders(open_tab):
    page = open_tab("/", "CVAE Explorer")
    for text in ("Active model", "Layers"):
        page.get_by_role("heading", name=text).first.wait_for()
    page.get_by_text("pretrained", exact=False).first.wait_for()
    page.locator('[data-testid="stDataFrame"]').nth(1).wait_for()  # encoder and decoder tables
    nav = page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
    for title in ("Home", "Train", "Latent space", "Manifold"):
        assert any(title in item for item in nav), f"{title!r} missing from the navigation {nav}"
    page.locator('[data-testid="stSidebar"]').get_by_text("Active model").wait_for()
    wait_script_idle(page)
    _no_error_elements(page)
    screenshot(page, "home")


def test_manifold_page_renders(open_tab):
    page = open_tab("/manifold", "Manifold")
    grid = page.locator('[data-testid="stImage"]', has_text="10 x 10 decoded grid")
    grid.wait_for(timeout=LOAD_MS)
    page.wait_for_function(
        """() => { const c = Array.from(document.querySelectorAll('[data-testid="stImageCaption"]'))
        .find(c => c.innerText.includes('decoded grid'));
        const img = c && c.parentElement.querySelector('img');
        return img && img.complete && img.naturalWidth >= 280; }""",
        timeout=LOAD_MS,
    )
    page.evaluate(JS_HELPERS)
    page.wait_for_function(
        "() => { const gd = window.__e2e.plot(0); return gd && gd._fullData.length > 1; }", timeout=LOAD_MS
    )
    assert page.evaluate("() => window.__e2e.plot(0)._fullLayout.shapes.length") >= 1  # the extent box
    wait_script_idle(page)
    _no_error_elements(page)
    screenshot(page, "manifold")


# --- Train ----------------------------------------------------------------------------------------

JS_TRAIN_SAMPLER = """() => {
  // Records the Start click and every change of the job's ELBO chart point count, in page time.
  // While the job runs the chart is a picture whose text alternative says "N steps so far"
  // (ui.components.elbo_ui); when it ends, the plot with a trace named "-ELBO (raw)" mounted after
  // the click (the page may show the active model's saved curve before a job exists). Old and new
  // briefly coexist and a new plot starts empty: take the largest count, skip an empty moment.
  const s = window.__train = {t0: null, first: null, samples: [], last: -1, mounts: 0};
  window.addEventListener('mouseup', () => {
    if (s.t0 !== null) return;
    s.t0 = performance.now();
    document.querySelectorAll('.js-plotly-plot').forEach(gd => { gd.__beforeStart = true; });
  }, true);
  const sample = () => {
    if (s.t0 === null) return;
    let n = 0;
    for (const gd of document.querySelectorAll('.js-plotly-plot')) {
      if (gd.__beforeStart || !gd._fullData) continue;
      if (!gd.__seen) { gd.__seen = true; s.mounts += 1; }
      const raw = gd._fullData.find(t => t.name === '-ELBO (raw)');
      if (raw && raw.x) n = Math.max(n, raw.x.length);
    }
    for (const img of document.querySelectorAll('img[alt^="line chart of -ELBO"]')) {
      const steps = img.alt.match(/(\\d+) steps so far/);
      if (steps) n = Math.max(n, Number(steps[1]));
    }
    const bar = document.querySelector('[data-testid="stProgress"]');
    const text = bar ? bar.innerText.trim() : '';
    if (n !== s.last && !(n === 0 && s.last > 0)) { s.samples.push([performance.now(), n, text]); s.last = n; }
    if (n > 0 && s.first === null) s.first = performance.now();
    s.text = text;
  };
  new MutationObserver(sample).observe(document.body, {subtree: true, childList: true, attributes: true});
  setInterval(sample, 50);
  return true;
}"""


def test_train_shows_live_elbo(open_tab, server):
    page = open_tab("/train", "Train")
    epochs = page.get_by_label("Epochs", exact=True)
    # 6 epochs (240 steps, ~8 s warm): the chart redraws every 2 s (train.LIVE_S), and the test needs
    # at least two redraws while the fit runs (one epoch, 40 steps, took ~1.3 s once fits ran at their nice)
    epochs.fill("6")
    epochs.press("Tab")
    assert epochs.input_value() == "6"
    page.evaluate(JS_TRAIN_SAMPLER)
    page.get_by_role("button", name="Start training").click()

    deadline = time.monotonic() + 600  # cold PyTensor compile on a loaded 2-core machine: minutes
    running_shot = False
    state = {}
    while time.monotonic() < deadline:
        state = page.evaluate("() => ({text: window.__train.text, last: window.__train.last})")
        text = state["text"] or ""
        if re.search(r": (failed|diverged) ", text):
            raise AssertionError(f"training ended badly: {text}\n{page.evaluate('() => document.body.innerText')}")
        if not running_shot and state["last"] >= 2 and ": running " in text:
            screenshot(page, "train_running")
            running_shot = True
        if ": finished " in text:
            break
        page.wait_for_timeout(250)
    else:
        raise AssertionError(f"training did not finish in time; last progress text: {state}\n{server.log_tail()}")
    page.get_by_text("Saved as").wait_for(timeout=STEP_MS)
    wait_script_idle(page)
    track = page.evaluate(
        "() => ({t0: window.__train.t0, first: window.__train.first, "
        "samples: window.__train.samples, text: window.__train.text, "
        "mounts: window.__train.mounts})"
    )

    total = int(re.search(r"step (\d+)/(\d+)", track["text"]).group(2))
    assert total == 240, f"Epochs=6 should give 240 steps of 100 images: {track['text']}"
    counts = [n for _, n, _ in track["samples"]]
    assert counts == sorted(counts), f"ELBO point count went down: {counts}"
    assert counts[-1] == total, f"final chart has {counts[-1]} points, expected {total}"
    live = sorted({n for _, n, text in track["samples"] if 0 < n < total and "finished" not in text})
    assert len(live) >= 2, f"the chart did not grow while training ran: counts seen {counts}"
    assert track["t0"] is not None and track["first"] is not None
    start_to_first = (track["first"] - track["t0"]) / 1000.0
    caption = re.search(r"First ELBO point ([\d.]+) s after Start", page.evaluate("() => document.body.innerText"))
    merge_metrics(
        {
            "start_to_first_point_s": round(start_to_first, 2),
            "train_first_point_server_s": float(caption.group(1)) if caption else None,
            "train_live_point_counts": counts,
            "train_chart_mounts": track["mounts"],
        }
    )
    print(
        f"\ntrain: Start -> first ELBO point in the browser {start_to_first:.1f} s; "
        f"chart counts seen while running: {live}"
    )
    assert running_shot, "never saw the job running with points on the chart"
    saved = [p for p in server.runs_dir.iterdir() if (p / "params.npz").is_file()]
    assert len(saved) == 1, f"expected one saved run in {server.runs_dir}: {list(server.runs_dir.iterdir())}"
    _no_error_elements(page)
    screenshot(page, "train_finished")


def test_training_timeline_replay(open_tab):
    page = open_tab("/train", "Train")
    page.get_by_text("How the active model learned").first.wait_for(timeout=STEP_MS)
    page.get_by_text("s into training").first.wait_for(timeout=STEP_MS)
    wait_script_idle(page)
    _no_error_elements(page)
    screenshot(page, "teaching_timeline_replay")
