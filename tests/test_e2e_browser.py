"""Real-browser end-to-end tests: `streamlit run app.py` driven by headless Debian chromium.

One server and one browser for the module; each test opens its own tab (its own session).
Points on the latent map are clicked by mapping data coordinates to pixels with Plotly's own
axis functions (`_fullLayout.xaxis.l2p` plus the plot area's offset). Timings are measured in
the browser and merged into artifacts/e2e_metrics.json; screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import json
import math
import re
import time
from types import SimpleNamespace

import pytest

from tests import e2e_support as e2e

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(e2e.chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)"),
]

CLICKS = 20  # timed clicks on the latent map
EMPTY_MIN_DISTANCE = 0.3  # data units from every digit to an "empty" spot (app snap: 0.04)
PICK_TOLERANCE = 0.15  # grid spacing 6/150 plus the app's snap distance, with room to spare


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    runs = tmp_path_factory.mktemp("e2e_runs")
    srv = e2e.StreamlitServer(runs, runs.parent / f"streamlit-{runs.name}.log")
    try:
        url = srv.start(timeout=90)
        yield SimpleNamespace(url=url, runs_dir=runs, log_tail=srv.log_tail)
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser(server):
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=e2e.chromium_path(), args=e2e.CHROMIUM_ARGS)
        try:
            # The first session on the fresh server arrives by a deep link, like a shared URL:
            # st.navigation alone answers that with a "Page not found" dialog until some session
            # has run app.py (the pages/ shims fix it); test_deep_link_on_fresh_server checks.
            page = e2e.open_page(chromium, server.url + "/manifold", "Manifold")
            e2e.wait_script_idle(page)
            page.wait_for_timeout(1000)
            server.first_visit = SimpleNamespace(url=page.url, dialogs=e2e.dialog_texts(page))
            page.context.close()
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_tab(server, browser):
    """Opens app pages in fresh contexts and closes them after the test."""
    contexts = []

    def _open(path: str, heading: str):
        page = e2e.open_page(browser, server.url + path, heading)
        contexts.append(page.context)
        return page

    yield _open
    for context in contexts:
        context.close()


def _no_error_elements(page) -> None:
    errors = page.evaluate("""() => Array.from(document.querySelectorAll(
        '[data-testid="stException"], [data-testid="stAlertContentError"]')).map(e => e.innerText)""")
    assert not errors, f"error elements on the page: {errors}"
    dialogs = e2e.dialog_texts(page)
    assert not dialogs, f"unexpected dialogs: {dialogs}"


def test_deep_link_on_fresh_server(server, browser):
    first = server.first_visit
    assert first.url.rstrip("/").endswith("/manifold"), first.url
    assert not first.dialogs, f"first visit to a deep link on a fresh server showed {first.dialogs}"


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
    e2e.wait_script_idle(page)
    _no_error_elements(page)
    e2e.screenshot(page, "home")


def test_manifold_page_renders(open_tab):
    page = open_tab("/manifold", "Manifold")
    grid = page.locator('[data-testid="stImage"]', has_text="10 x 10 decoded grid")
    grid.wait_for(timeout=e2e.LOAD_MS)
    page.wait_for_function(
        """() => { const c = Array.from(document.querySelectorAll('[data-testid="stImageCaption"]'))
        .find(c => c.innerText.includes('decoded grid'));
        const img = c && c.parentElement.querySelector('img');
        return img && img.complete && img.naturalWidth >= 280; }""",
        timeout=e2e.LOAD_MS,
    )
    page.evaluate(e2e.JS_HELPERS)
    page.wait_for_function(
        "() => { const gd = window.__e2e.plot(0); return gd && gd._fullData.length > 1; }", timeout=e2e.LOAD_MS
    )
    assert page.evaluate("() => window.__e2e.plot(0)._fullLayout.shapes.length") >= 1  # the extent box
    e2e.wait_script_idle(page)
    _no_error_elements(page)
    e2e.screenshot(page, "manifold")


# --- Latent space ---------------------------------------------------------------------------------


def _open_latent(open_tab):
    page = open_tab("/latent", "Latent space")
    page.evaluate(e2e.JS_HELPERS)
    page.wait_for_function(
        """() => { const gd = window.__e2e.plot(0), img = window.__e2e.decoded();
        return gd && gd._fullData.length >= 11 && img && img.complete && img.naturalWidth > 0; }""",
        timeout=e2e.LOAD_MS,
    )
    e2e.wait_script_idle(page)
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    return page


def _click_data(page, x: float, y: float, *, timeout_ms: float = e2e.STEP_MS) -> float:
    """Click data point (x, y) on the map; returns ms from the click to the decoded image's new src."""
    page.evaluate(e2e.JS_ARM)
    px, py = page.evaluate("([x, y]) => window.__e2e.toPixel(x, y)", [x, y])
    # Hover first: Plotly's click-to-select uses the hover data, which it computes throttled.
    page.mouse.move(px, py)
    page.wait_for_timeout(150)
    page.mouse.click(px, py)
    try:
        page.wait_for_function("() => window.__e2e.t1 !== null", timeout=timeout_ms)
    except sync_api.TimeoutError:
        state = page.evaluate("() => ({t0: window.__e2e.t0, old: window.__e2e.old})")
        raise AssertionError(
            f"decoded image did not change after clicking ({x:.3f}, {y:.3f}) at pixel ({px:.0f}, {py:.0f}); {state}"
        ) from None
    elapsed = page.evaluate("() => window.__e2e.t1 - window.__e2e.t0")
    e2e.wait_script_idle(page)
    page.wait_for_timeout(100)  # let Plotly finish redrawing the map before the next click
    return elapsed


def _slider_values(page) -> tuple[float, float]:
    values = page.evaluate("""() => ['z1', 'z2'].map(name =>
        document.querySelector(`input[type=range][aria-label="${name}"]`).value)""")
    return float(values[0]), float(values[1])


def _caption_z(page) -> tuple[float, ...]:
    caption = page.evaluate("() => window.__e2e.decodedCaption()")
    return tuple(float(v) for v in re.findall(r"-?\d+\.\d+", caption))


def _empty_spots(digits, axes, count: int) -> list[tuple[float, float]]:
    """Spots inside the axes and slider range, far from every digit, most isolated first."""
    (x0, x1), (y0, y1) = axes["x"], axes["y"]
    candidates = []
    for i in range(11):
        for j in range(11):
            x, y = x0 + (x1 - x0) * (0.06 + 0.88 * i / 10), y0 + (y1 - y0) * (0.06 + 0.88 * j / 10)
            if abs(x) > 3.9 or abs(y) > 3.9:
                continue
            distance = min(math.hypot(dx - x, dy - y) for dx, dy, *_ in digits)
            if distance >= EMPTY_MIN_DISTANCE:
                candidates.append((distance, x, y))
    candidates.sort(reverse=True)
    assert len(candidates) >= count, f"only {len(candidates)} empty spots on the map"
    return [(x, y) for _, x, y in candidates[:count]]


def _spread_digits(digits, count: int):
    ordered = sorted(digits, key=lambda d: d[2])
    step = max(1, len(ordered) // count)
    return [ordered[(k * step + step // 2) % len(ordered)] for k in range(count)]


def _picked_index(page) -> int | None:
    text = page.evaluate("() => document.body.innerText")
    match = re.search(r"Picked test digit #(\d+)", text)
    return int(match.group(1)) if match else None


def test_latent_click_digit_then_empty_space(open_tab):
    page = _open_latent(open_tab)
    digits = page.evaluate(e2e.JS_DIGITS)
    assert len(digits) >= 100, f"only {len(digits)} digits on the map"
    assert _picked_index(page) is None
    by_index = {d[2]: d for d in digits}

    # (a) a digit: the decoded image changes and the digit's original and reconstruction appear
    x, y, index, trace = _spread_digits(digits, 5)[2]
    _click_data(page, x, y)
    page.get_by_text("Picked test digit #").wait_for(timeout=e2e.STEP_MS)
    picked = _picked_index(page)
    assert picked is not None
    px, py = by_index[picked][:2]
    assert math.hypot(px - x, py - y) <= PICK_TOLERANCE, (
        f"clicked digit #{index} at ({x:.3f}, {y:.3f}) but picked #{picked} at ({px:.3f}, {py:.3f})"
    )
    for caption in ("original", "reconstruction"):
        page.wait_for_function(f"""() => {{ const img = window.__e2e.imageByCaption({json.dumps(caption)});
            return img && img.complete && img.naturalWidth > 0; }}""")
    z1, z2 = _slider_values(page)
    assert abs(z1 - px) < 0.02 and abs(z2 - py) < 0.02, f"sliders ({z1}, {z2}) not at digit ({px}, {py})"
    e2e.screenshot(page, "latent_digit_clicked")

    # (b) empty space far from every digit: a new decode at (about) the clicked point, no digit
    ex, ey = _empty_spots(digits, page.evaluate(e2e.JS_AXES), 1)[0]
    _click_data(page, ex, ey)
    page.get_by_text("Picked test digit #").wait_for(state="detached", timeout=e2e.STEP_MS)
    z1, z2 = _slider_values(page)
    assert abs(z1 - ex) < 0.1 and abs(z2 - ey) < 0.1, f"sliders ({z1}, {z2}) not near click ({ex:.3f}, {ey:.3f})"
    cz = _caption_z(page)
    assert abs(cz[0] - ex) < 0.1 and abs(cz[1] - ey) < 0.1, f"caption z {cz} not near ({ex:.3f}, {ey:.3f})"
    _no_error_elements(page)
    e2e.screenshot(page, "latent_empty_clicked")


def test_latent_click_to_image_latency(open_tab):
    page = _open_latent(open_tab)
    digits = page.evaluate(e2e.JS_DIGITS)
    empties = _empty_spots(digits, page.evaluate(e2e.JS_AXES), CLICKS // 2)
    targets = []
    for (dx, dy, _, _), (ex, ey) in zip(_spread_digits(digits, CLICKS // 2), empties):
        targets += [("digit", dx, dy), ("empty", ex, ey)]
    samples = []
    for kind, x, y in targets:
        elapsed = _click_data(page, x, y)
        assert elapsed > 0
        samples.append(elapsed)
        if kind == "digit":
            assert _picked_index(page) is not None, f"no digit picked after clicking ({x:.3f}, {y:.3f})"
    median, p95 = e2e.percentile(samples, 50), e2e.percentile(samples, 95)
    e2e.merge_metrics(
        {
            "latent_click_to_image_ms_median": round(median, 1),
            "latent_click_to_image_ms_p95": round(p95, 1),
            "latent_click_to_image_n": len(samples),
            "latent_click_to_image_ms_samples": [round(s, 1) for s in samples],
        }
    )
    print(f"\nlatent click -> new image over {len(samples)} clicks: median {median:.0f} ms, p95 {p95:.0f} ms")
    _no_error_elements(page)


# --- Train ----------------------------------------------------------------------------------------

JS_TRAIN_SAMPLER = """() => {
  // Records the Start click and every change of the job's ELBO chart point count, in page time.
  // The ELBO chart is the plot with a trace named "-ELBO (raw)" that was mounted after the click
  // (the page may show the active model's saved curve before a job exists). Streamlit 1.67 gives
  // a changed figure a new element id, so each redraw mounts a new plot div; old and new briefly
  // coexist and the new one starts empty: take the largest count and skip a remount's empty moment.
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
    epochs = page.get_by_label("Epochs")
    epochs.fill("1")
    epochs.press("Tab")
    assert epochs.input_value() == "1"
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
            e2e.screenshot(page, "train_running")
            running_shot = True
        if ": finished " in text:
            break
        page.wait_for_timeout(250)
    else:
        raise AssertionError(f"training did not finish in time; last progress text: {state}\n{server.log_tail()}")
    page.get_by_text("Saved as").wait_for(timeout=e2e.STEP_MS)
    e2e.wait_script_idle(page)
    track = page.evaluate(
        "() => ({t0: window.__train.t0, first: window.__train.first, "
        "samples: window.__train.samples, text: window.__train.text, "
        "mounts: window.__train.mounts})"
    )

    total = int(re.search(r"step (\d+)/(\d+)", track["text"]).group(2))
    assert total == 40, f"Epochs=1 should give 40 steps of 100 images: {track['text']}"
    counts = [n for _, n, _ in track["samples"]]
    assert counts == sorted(counts), f"ELBO point count went down: {counts}"
    assert counts[-1] == total, f"final chart has {counts[-1]} points, expected {total}"
    live = sorted({n for _, n, text in track["samples"] if 0 < n < total and "finished" not in text})
    assert len(live) >= 2, f"the chart did not grow while training ran: counts seen {counts}"
    assert track["t0"] is not None and track["first"] is not None
    start_to_first = (track["first"] - track["t0"]) / 1000.0
    caption = re.search(r"First ELBO point ([\d.]+) s after Start", page.evaluate("() => document.body.innerText"))
    e2e.merge_metrics(
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
    e2e.screenshot(page, "train_finished")


_TRACE_NAMES = (
    "() => { const gd = document.querySelector('.js-plotly-plot'); "
    "return gd && gd.data ? gd.data.map(t => t.name) : []; }"
)


def _wait_for_trace(page, name: str) -> None:
    page.wait_for_function(f"() => ({_TRACE_NAMES})().includes({json.dumps(name)})", timeout=e2e.STEP_MS)


def test_teaching_overlays_and_interpolation(open_tab):
    """Prior contours, the aggregate density, colour by KL and an interpolation path, in the browser."""
    page = open_tab("/latent", "Latent space")
    e2e.wait_script_idle(page)
    page.get_by_text("Prior N(0, I) contours").click()
    _wait_for_trace(page, "prior N(0, I): 1, 2, 3 sd")
    page.get_by_text("Aggregate posterior density").click()
    _wait_for_trace(page, "aggregate posterior")
    e2e.wait_script_idle(page)
    e2e.screenshot(page, "teaching_prior_density")
    page.get_by_text("KL per image (nats)").click()
    _wait_for_trace(page, "KL (nats)")
    e2e.wait_script_idle(page)
    e2e.screenshot(page, "teaching_colour_by_kl")
    page.get_by_role("button", name="Current point as A").click()
    e2e.wait_script_idle(page)
    page.get_by_role("slider").first.focus()
    page.keyboard.press("End")  # z1 to its maximum
    page.get_by_text("decoded at z = (4.00").first.wait_for(timeout=e2e.STEP_MS)
    page.get_by_role("button", name="Current point as B").click()
    _wait_for_trace(page, "interpolation")
    e2e.wait_script_idle(page)
    _no_error_elements(page)
    e2e.screenshot(page, "teaching_interpolation")


def test_training_timeline_replay(open_tab):
    page = open_tab("/train", "Train")
    page.get_by_text("How the active model learned").first.wait_for(timeout=e2e.STEP_MS)
    page.get_by_text("s into training").first.wait_for(timeout=e2e.STEP_MS)
    e2e.wait_script_idle(page)
    _no_error_elements(page)
    e2e.screenshot(page, "teaching_timeline_replay")
