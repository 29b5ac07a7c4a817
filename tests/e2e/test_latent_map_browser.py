"""The Latent page's map component in a real browser: `streamlit run app.py` and headless chromium.

Hovering decodes in the page (no websocket frame either way), a click pins (Python answers with
the caption's z, the sliders, the picked digit), zoom survives clicks, the browser's decode equals
cvae's within 1e-4, and a latent-8 model works too. Timings and bytes go to
artifacts/e2e_metrics.json; screenshots to artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import pytest

from harness.browser import LOAD_MS, STEP_MS, chromium_path, open_page, screenshot, wait_script_idle
from harness.latent_map import choose_model, hover_path, open_latent_map, pin_at, save_random_model
from harness.metrics import FrameLog, HttpLog, merge_metrics, percentile

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)"),
]

CLICKS = 20  # timed pins
EMPTY_MIN_DISTANCE = 0.3  # map units from every digit to an "empty" spot (the pick radius is 6 px)
TOLERANCE = 1e-4  # browser decode vs cvae, max absolute pixel difference
LATENT8 = "latent8-untrained"

JS_DECODE = """([zs, n]) => { const m = window.__lm.map(), out = m.decoder.decodeBatch(Float32Array.from(zs));
  const bytes = new Uint8Array(out.buffer); let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return {pixels: btoa(s), backend: m.decoder.backend, latent: m.L}; }"""


@pytest.fixture(scope="module")
def server(serve):
    return serve(
        "latent_map_runs",
        before=lambda runs: save_random_model(runs, LATENT8, arch="keras-example", latent_dim=8, seed=3),
    )


@pytest.fixture
def latent_tab(server, browser):
    """A fresh session on /latent with its websocket and HTTP traffic logged."""
    contexts = []

    def _open():
        logs = SimpleNamespace()

        def attach(page):
            logs.frames, logs.http = FrameLog(page), HttpLog(page)

        page = open_page(browser, server.url + "/latent", "Latent space", before=attach)
        contexts.append(page.context)
        open_latent_map(page)
        return page, logs

    yield _open
    for context in contexts:
        context.close()


def _no_error_elements(page) -> None:
    errors = page.evaluate("""() => Array.from(document.querySelectorAll(
        '[data-testid="stException"], [data-testid="stAlertContentError"], .lm-message')).map(e => e.innerText)
        .filter(t => t.trim())""")
    assert not errors, f"error elements on the page: {errors}"


def _caption_z(page) -> tuple[float, ...]:
    return tuple(float(v) for v in re.findall(r"-?\d+\.\d+", page.evaluate("() => window.__lm.caption()")))


def _empty_spots(digits, window, count: int) -> list[tuple[float, float]]:
    (x0, x1), (y0, y1) = window["x"], window["y"]
    candidates = []
    for i in range(11):
        for j in range(11):
            x, y = x0 + (x1 - x0) * (0.06 + 0.88 * i / 10), y0 + (y1 - y0) * (0.06 + 0.88 * j / 10)
            distance = min(math.hypot(dx - x, dy - y) for dx, dy, *_ in digits)
            if distance >= EMPTY_MIN_DISTANCE:
                candidates.append((distance, x, y))
    candidates.sort(reverse=True)
    assert len(candidates) >= count, f"only {len(candidates)} empty spots on the map"
    return [(x, y) for _, x, y in candidates[:count]]


def _isolated_digits(digits, count: int):
    """Digits with no neighbour within 0.1 map units, spread over the index range."""
    xy = np.array([d[:2] for d in digits])
    alone = [d for d, p in zip(digits, xy) if np.sort(np.hypot(*(xy - p).T))[1] > 0.1]
    step = max(1, len(alone) // count)
    return alone[::step][:count]


def _picked_index(page) -> int | None:
    match = re.search(r"Picked test digit #(\d+)", page.evaluate("() => document.body.innerText"))
    return int(match.group(1)) if match else None


def _browser_decode(page, z: np.ndarray) -> tuple[np.ndarray, dict]:
    out = page.evaluate(JS_DECODE, [z.ravel().tolist(), len(z)])
    return np.frombuffer(base64.b64decode(out["pixels"]), "<f4").reshape(len(z), 28, 28), out


def test_hover_decodes_in_the_browser_with_no_websocket_message(latent_tab):
    page, logs = latent_tab()
    before = (page.evaluate("() => window.__lm.digitHash()"), page.evaluate("() => window.__lm.caption()"))
    page.evaluate("() => { const s = window.__lm.map().stats; s.frames = 0; s.first = null; }")
    t0 = time.perf_counter()
    moves = hover_path(page, 3.0)
    t1 = time.perf_counter()
    page.wait_for_timeout(300)  # frames still in flight would show up here
    during = logs.frames.between(t0, time.perf_counter())
    stats = page.evaluate(
        "() => { const s = window.__lm.map().stats; return {frames: s.frames, seconds: (s.last - s.first) / 1000}; }"
    )
    after = (page.evaluate("() => window.__lm.digitHash()"), page.evaluate("() => window.__lm.caption()"))
    assert after[0] != before[0] and after[1] != before[1], "hovering did not change the decoded digit and caption"
    assert during == [], f"{len(during)} websocket frames while hovering: {during[:5]}"
    fps = stats["frames"] / stats["seconds"]
    merge_metrics({"latent_hover_fps_classroom": round(fps, 1), "latent_hover_moves_per_s": round(moves / (t1 - t0))})
    assert fps >= 30, f"{stats['frames']} decoded frames in {stats['seconds']:.2f} s"
    screenshot(page, "latent_map_hover")


JS_FIRST_FRAME = """() => { const seen = window.__firstFrame = {drawnAt: null, toolsAtDraw: null, toolsAt: null};
  const has = (text) => document.body.innerText.includes(text);
  const tools = () => has('Nearest real test digits');
  const look = () => {
    const c = document.querySelector('.lm-caption');
    if (seen.drawnAt === null && c && c.innerText.startsWith('decoded at z')) {
      seen.drawnAt = performance.now(); seen.toolsAtDraw = tools();
      seen.controlsAtDraw = has('Colour digits by'); seen.pickerAtDraw = has('Active model');
      window.__cvaeLatentMap.get('latent_map').map.firstDrawn = true;  // the rest must not remount it
    }
    if (seen.toolsAt === null && tools()) seen.toolsAt = performance.now();
  };
  new MutationObserver(look).observe(document, {subtree: true, childList: true, characterData: true});
}"""


def test_a_fresh_sessions_map_comes_before_its_tools(server, browser):
    """The first map of a session is drawn alone; its "drawn" report brings the map's controls, the
    model picker (both in the sidebar) and the tools below it, into the same map."""
    logs = SimpleNamespace()

    def before(page):
        logs.frames = FrameLog(page)
        page.add_init_script(f"({JS_FIRST_FRAME})()")

    page = open_page(browser, server.url + "/latent", "Latent space", before=before)
    try:
        open_latent_map(page)
        page.get_by_text("Nearest real test digits").wait_for()
        seen = page.evaluate("() => window.__firstFrame")
        assert seen["drawnAt"] is not None and seen["toolsAtDraw"] is False, seen
        assert seen["controlsAtDraw"] is False and seen["pickerAtDraw"] is False, seen
        assert seen["toolsAt"] > seen["drawnAt"], seen
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_text("Colour digits by").wait_for()
        sidebar.get_by_text("Active model").wait_for()
        assert page.evaluate("() => window.__lm.map().firstDrawn") is True  # the same map, not a new one
        assert page.evaluate("() => window.__lm.map().view.report_drawn") is False
        # the downloads are later elements of the same rerun: their deltas may arrive after the tools'
        download = page.get_by_role("button", name="Download PNG")
        download.wait_for()
        assert download.count() == 1
        sent = [data for _, data in logs.frames.sent_data if b"drawn" in data]
        assert len(sent) == 1, f"{len(sent)} drawn reports"
        merge_metrics({"latent_tools_after_map_ms": round(seen["toolsAt"] - seen["drawnAt"])})
        _no_error_elements(page)
        # the same session's next visit draws map and tools together, and reports nothing
        nav = page.get_by_test_id("stSidebarNavItems")
        nav.get_by_role("link", name="Home").click()
        page.locator("h1", has_text="CVAE Explorer").first.wait_for()
        nav.get_by_role("link", name="Latent space").click()
        open_latent_map(page)
        tools = page.get_by_text("Nearest real test digits")
        tools.wait_for()  # strict: exactly one, and without waiting for a "drawn" report
        assert tools.count() == 1
        assert len([d for _, d in logs.frames.sent_data if b"drawn" in d]) == 1
    finally:
        page.context.close()


def test_browser_decode_matches_python(latent_tab):
    from cvae.settings import ROOT
    from cvae.store.checkpoint import load_checkpoint

    page, _ = latent_tab()
    z = np.random.default_rng(0).normal(0, 1.5, (200, 2)).astype(np.float32)
    pixels, info = _browser_decode(page, z)
    expected = load_checkpoint(ROOT / "assets" / "pretrained").vae.decode(z)
    diff = float(np.abs(pixels - expected).max())
    merge_metrics({"latent_browser_decode_max_abs_diff": diff, "latent_browser_backend": info["backend"]})
    assert diff <= TOLERANCE, diff


def test_click_pins_shows_the_caption_and_moves_the_sliders(latent_tab):
    page, logs = latent_tab()
    digits = page.evaluate("() => window.__lm.digits()")
    spots = _empty_spots(digits, page.evaluate("() => window.__lm.window()"), CLICKS // 2)
    # (a) empty space: the caption's z and the sliders are the clicked point, no digit is picked
    ex, ey = spots[0]
    pin_at(page, ex, ey)
    cz = _caption_z(page)
    assert abs(cz[0] - ex) < 0.02 and abs(cz[1] - ey) < 0.02, f"caption z {cz} not at the click ({ex:.3f}, {ey:.3f})"
    z1, z2 = page.evaluate("() => window.__lm.sliders()")
    assert abs(z1 - ex) < 0.02 and abs(z2 - ey) < 0.02, f"sliders ({z1}, {z2}) not at the click ({ex:.3f}, {ey:.3f})"
    assert _picked_index(page) is None
    assert page.evaluate("() => window.__lm.map().view.pinned.z").__len__() == 2
    # (b) a digit: it is picked, its original and reconstruction appear, the sliders go to its code
    dx, dy, index, _ = _isolated_digits(digits, 1)[0]
    pin_at(page, dx, dy)
    page.get_by_text("Picked test digit #").wait_for(timeout=STEP_MS)
    assert _picked_index(page) == index
    for caption in ("original", "reconstruction"):
        page.locator('[data-testid="stImageCaption"]', has_text=caption).first.wait_for()
    z1, z2 = page.evaluate("() => window.__lm.sliders()")
    assert abs(z1 - dx) < 0.02 and abs(z2 - dy) < 0.02, f"sliders ({z1}, {z2}) not at digit ({dx}, {dy})"
    screenshot(page, "latent_map_digit_picked")
    # (c) timed pins, alternating empty space and digits: Python's answer, and what it sent
    local, server, sent = [], [], []
    targets = [p for pair in zip(spots[1:], [d[:2] for d in _isolated_digits(digits, CLICKS // 2)]) for p in pair]
    for u, v in targets[:CLICKS]:
        t0 = time.perf_counter()
        ms_local, ms_server = pin_at(page, u, v)
        page.wait_for_timeout(300)  # the images of the answer load after it
        t1 = time.perf_counter()
        local.append(ms_local)
        server.append(ms_server)
        ws = sum(n for kind, _, n in logs.frames.between(t0, t1) if kind == "received")
        sent.append(ws + logs.http.bytes_between(t0, t1))
    metrics = {
        "latent_pin_local_decode_ms_median": round(percentile(local, 50), 1),
        "latent_pin_to_server_answer_ms_median": round(percentile(server, 50), 1),
        "latent_pin_to_server_answer_ms_p95": round(percentile(server, 95), 1),
        "latent_pin_bytes_to_browser_median": int(percentile(sent, 50)),
        "latent_pin_bytes_to_browser_max": max(sent),
        "latent_pin_n": len(server),
    }
    merge_metrics(metrics)
    print(f"\nlatent pins: {metrics}")
    assert metrics["latent_pin_bytes_to_browser_median"] <= 30_000, metrics
    _no_error_elements(page)


def test_zoom_and_pan_survive_a_click(latent_tab):
    page, _ = latent_tab()
    page.get_by_role("button", name="zoom in").click()
    page.get_by_role("button", name="zoom in").click()
    box = page.locator(".lm-top").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2 + 30, steps=5)
    page.mouse.up()  # a drag pans and pins nothing
    zoomed = page.evaluate("() => window.__lm.window()")
    assert zoomed["x"][1] - zoomed["x"][0] < 0.5 * (
        page.evaluate("() => window.__lm.map().header.x_range[1] - window.__lm.map().header.x_range[0]")
    )
    (x0, x1), (y0, y1) = zoomed["x"], zoomed["y"]
    for u, v in [(x0 + 0.3 * (x1 - x0), y0 + 0.6 * (y1 - y0)), (x0 + 0.7 * (x1 - x0), y0 + 0.2 * (y1 - y0))]:
        pin_at(page, u, v)
        page.wait_for_timeout(500)
        assert page.evaluate("() => window.__lm.window()") == zoomed, "the view changed with a click"
    _no_error_elements(page)


def test_keyboard_moves_and_pins(latent_tab):
    page, _ = latent_tab()
    page.locator(".lm-top").focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    # the caption follows the decodes a frame at a time: wait until it shows the last press's point
    # (the pointer's point: no hover before the presses, so this is a caption that changed too)
    page.wait_for_function(
        """() => { const h = window.__lm.map().hover, c = window.__lm.caption().match(/-?\\d+\\.\\d+/g);
                   return !!(h && c && c.length === h.z.length && c.every((v, i) => Math.abs(v - h.z[i]) < 0.006)); }"""
    )
    explored = _caption_z(page)
    views = page.evaluate("() => window.__lm.map().stats.views")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => window.__lm.map().stats.views > {views}")
    wait_script_idle(page)
    assert np.allclose(page.evaluate("() => window.__lm.map().view.pinned.z"), explored, atol=0.006)
    slider = page.get_by_role("slider", name="z1")
    slider.focus()
    page.keyboard.press("End")  # z1 to its maximum: decoded at once, pinned on release
    top = _slider_max(page)
    page.wait_for_function(f"() => window.__lm.caption().startsWith('decoded at z = ({top:.2f}')")
    page.wait_for_function(f"() => Math.abs(window.__lm.map().view.pinned.z[0] - {top}) < 1e-6")
    _no_error_elements(page)


def _slider_max(page) -> float:
    """The z sliders' maximum, which reaches every code of the shipped model (its prior is learned)."""
    top = page.evaluate("() => window.__lm.map().header.slider_range[1]")
    assert top >= max(page.evaluate("() => window.__lm.digits()"), key=lambda d: d[0])[0] and top >= 4
    return top


def test_teaching_overlays_and_interpolation(latent_tab):
    """Prior contours, the aggregate density, colour by KL and an interpolation path, in the browser."""
    page, _ = latent_tab()

    def overlay_names():
        return page.evaluate("() => window.__lm.map().view.overlays.map(o => o.name)")

    page.get_by_text("Prior contours").click()
    page.wait_for_function("() => window.__lm.map().view.overlays.some(o => o.name.startsWith('learned prior'))")
    page.get_by_text("Aggregate posterior density").click()
    page.wait_for_function("() => window.__lm.map().canvas.density !== null")
    wait_script_idle(page)
    screenshot(page, "latent_map_prior_density")
    page.get_by_text("KL per image (nats)").click()
    page.locator(".lm-colourbar", has_text="KL (nats)").wait_for()
    page.get_by_role("button", name="Current point as A").click()
    wait_script_idle(page)
    page.get_by_role("slider", name="z1").focus()
    page.keyboard.press("End")
    page.wait_for_function(f"() => Math.abs(window.__lm.map().view.pinned.z[0] - {_slider_max(page)}) < 1e-6")
    page.get_by_role("button", name="Current point as B").click()
    page.wait_for_function("() => window.__lm.map().view.overlays.some(o => o.name === 'interpolation')")
    assert any(name.startswith("learned prior: 10 components") for name in overlay_names())  # the shipped prior
    page.get_by_role("button", name="interpolation").click()  # its legend entry hides it
    assert page.get_by_role("button", name="interpolation").get_attribute("aria-pressed") == "false"
    wait_script_idle(page)
    _no_error_elements(page)
    screenshot(page, "latent_map_interpolation")


def test_a_latent8_model_decodes_in_the_browser(latent_tab, server):
    from cvae.store.checkpoint import load_checkpoint

    page, _ = latent_tab()
    choose_model(page, LATENT8)
    page.wait_for_function("() => window.__lm.ready() && window.__lm.map().L === 8", timeout=LOAD_MS)
    assert len(page.evaluate("() => window.__lm.sliders()")) == 8
    page.get_by_text("Projection").first.wait_for()
    z = np.random.default_rng(1).normal(0, 1.5, (200, 8)).astype(np.float32)
    pixels, info = _browser_decode(page, z)
    expected = load_checkpoint(server.runs_dir / LATENT8).vae.decode(z)
    assert float(np.abs(pixels - expected).max()) <= TOLERANCE
    digits = page.evaluate("() => window.__lm.digits()")
    ex, ey = _empty_spots(digits, page.evaluate("() => window.__lm.window()"), 1)[0]
    pin_at(page, ex, ey)
    pinned = page.evaluate("() => window.__lm.map().view.pinned.z")
    assert len(pinned) == 8 and abs(pinned[0] - ex) < 0.02 and abs(pinned[1] - ey) < 0.02, pinned
    assert _caption_z(page)[:2] == pytest.approx(pinned[:2], abs=0.006)
    _no_error_elements(page)
    screenshot(page, "latent_map_latent8")


async def _protocol_view(url: str) -> tuple[str, str]:
    """The id of the element that carries the map's pins, and its fragment's, as a protocol client sees them."""
    from bench.students import VIEW_KEY, open_latent
    from harness.st_protocol import Session

    tab = Session(url, page="latent", timeout=120)
    await open_latent(tab)
    try:
        view = tab.find(VIEW_KEY)
        return view.id, view.fragment_id
    finally:
        await tab.close()


def test_the_protocol_pin_is_the_browsers(latent_tab, server):
    """bench/load_test.py sends, per pin, what Chromium sends for a click on the map: one BackMsg that
    reruns the fragment of the map's view with the trigger harness/st_protocol.py builds (same id, event
    and value keys); this is the load test's validation against a real browser."""
    import json

    from streamlit.proto.BackMsg_pb2 import BackMsg

    from bench.students import PIN_KEYS

    page, logs = latent_tab()
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's event loop
        view_id, view_fragment = pool.submit(asyncio.run, _protocol_view(server.url)).result()
    digits = page.evaluate("() => window.__lm.digits()")
    ex, ey = _empty_spots(digits, page.evaluate("() => window.__lm.window()"), 1)[0]
    t0 = time.perf_counter()
    pin_at(page, ex, ey)
    sent = [data for t, data in logs.frames.sent_data if t >= t0]
    assert len(sent) == 1, f"one BackMsg per pin; got {len(sent)}"
    rerun = BackMsg.FromString(sent[0]).rerun_script
    assert rerun.fragment_id == view_fragment, "a pin must rerun only the fragment of the map's view"
    (trigger,) = [w for w in rerun.widget_states.widgets if w.WhichOneof("value") == "json_trigger_value"]
    # the trigger id st_protocol's Session.click builds from the view element it received (ids follow the key)
    assert trigger.id == f"$$STREAMLIT_INTERNAL_KEY_{view_id}__events"
    (event,) = json.loads(trigger.json_trigger_value)
    assert event["event"] == "pin" and set(event["value"]) == set(PIN_KEYS), event


async def _send_pins(tab, view_key: str, pins: list[dict]) -> list[dict]:
    """Send each pin as the map's view `view_key` does; after each, the script runs it started, the page's
    texts, the point the view shows and the interaction (its latency)."""
    steps = []
    for pin in pins:
        runs = tab.runs_started
        step = await tab.click(view_key, event="pin", value=pin)
        view = json.loads(tab.find(view_key).proto.bytes)["pinned"]
        steps.append({"runs": tab.runs_started - runs, "texts": tab.texts(), "view": view, "step": step})
    return steps


async def _pin_sequence(url: str) -> list[dict]:
    """Over the protocol, on the Latent page: a digit pinned, a forged pin (an index past the last digit),
    an empty spot (`_send_pins`)."""
    from bench.students import MAP_KEY, VIEW_KEY, open_latent
    from cvae.viz.map_payload import read_payload
    from harness.st_protocol import Session

    tab = Session(url, page="latent", timeout=120)
    await open_latent(tab)
    try:
        header, arrays = read_payload(tab.find(MAP_KEY).proto.bytes)
        uv = [float(v) for v in arrays["coords"].reshape(-1, 2)[7]]
        corner = [header["x_range"][0], header["y_range"][0]]
        pins = [
            {"uv": uv, "z": uv, "index": 7, "label": None},
            {"uv": uv, "z": uv, "index": 10**6, "label": None},
            {"uv": corner, "z": corner, "index": None, "label": None},
        ]
        return await _send_pins(tab, VIEW_KEY, pins)
    finally:
        await tab.close()


def test_a_pin_is_one_script_run_and_a_forged_one_is_refused(server):
    """A pin reruns the tools at the point in one script run (the view's fragment, never the map's); a pin
    naming no digit of the map is refused with the reason, the point kept, and the next pin clears it."""
    with ThreadPoolExecutor(1) as pool:
        picked, forged, spot = pool.submit(asyncio.run, _pin_sequence(server.url)).result()
    assert [s["runs"] for s in (picked, forged, spot)] == [1, 1, 1]
    assert all(s["step"].latency_s is not None for s in (picked, forged, spot))
    assert picked["view"]["index"] == 7 and any("Picked test digit #7" in t for t in picked["texts"])
    refusals = [t for t in forged["texts"] if t.startswith("Ignored a point the browser sent")]
    assert refusals and "index" in refusals[0], forged["texts"]
    assert forged["view"] == picked["view"]  # the pinned point is unchanged
    assert any("Picked test digit #7" in t for t in forged["texts"])
    assert not any(t.startswith("Ignored a point") for t in spot["texts"]), spot["texts"]
    assert spot["view"]["index"] is None and not any("Picked test digit" in t for t in spot["texts"])


async def _lesson_pins(url: str) -> list[dict]:
    """Over the protocol, on lesson 2's "Find a seven" (the map in a lesson step): a pin, a forged one (a map
    point far off the map), another pin (`_send_pins`)."""
    from harness.st_protocol import Session

    tab = Session(url, page="lessons", query="lesson=latent-space&step=2", timeout=120)
    await tab.connect()
    try:
        pins = [{"uv": uv, "z": uv, "index": None, "label": None} for uv in ([1.0, 0.5], [1e9, 0.0], [-0.5, 0.25])]
        return await _send_pins(tab, "lesson_map_view", pins)
    finally:
        await tab.close()


def test_a_lesson_maps_pin_is_the_steps_point_and_a_forged_one_is_refused(server):
    """The lesson map takes its pins through the same view trigger: a pin becomes the step's point in one
    script run; a point far off the map is refused with the reason, the step's point kept; the next pin
    clears the warning."""
    with ThreadPoolExecutor(1) as pool:
        pinned, forged, again = pool.submit(asyncio.run, _lesson_pins(server.url)).result()
    assert [s["runs"] for s in (pinned, forged, again)] == [1, 1, 1]
    assert all(s["step"].latency_s is not None for s in (pinned, forged, again))
    assert "Your point: (1.00, 0.50)" in pinned["texts"], pinned["texts"]
    refusals = [t for t in forged["texts"] if t.startswith("Ignored a point the browser sent")]
    assert refusals and "outside the map" in refusals[0], forged["texts"]
    assert "Your point: (1.00, 0.50)" in forged["texts"]
    assert "Your point: (-0.50, 0.25)" in again["texts"]
    assert not any(t.startswith("Ignored a point") for t in again["texts"])


@pytest.mark.parametrize("kind, title", [("PCA", "PC1"), ("UMAP", "UMAP 1")])
def test_a_latent8_model_through_a_projection(latent_tab, kind, title):
    """The page names the projection, the map decodes through its lift, a click pins, nothing breaks."""
    page, _ = latent_tab()
    choose_model(page, LATENT8)
    page.wait_for_function("() => window.__lm.ready() && window.__lm.map().L === 8", timeout=LOAD_MS)
    page.locator('[data-testid="stRadio"]', has_text="Projection").get_by_text(kind, exact=True).click()
    page.wait_for_function(
        f"() => window.__lm.ready() && window.__lm.map().header.axis_titles[0] === {title!r}", timeout=LOAD_MS
    )
    wait_script_idle(page, timeout_ms=LOAD_MS)
    if kind == "UMAP":
        page.get_by_text("inverse is approximate").first.wait_for()
    else:
        page.get_by_text("Explained variance").first.wait_for()
    digits = page.evaluate("() => window.__lm.digits()")
    ex, ey = _empty_spots(digits, page.evaluate("() => window.__lm.window()"), 1)[0]
    before = page.evaluate("() => window.__lm.digitHash()")
    hover_path(page, 0.5)
    assert page.evaluate("() => window.__lm.digitHash()") != before, "hovering decoded nothing"
    pin_at(page, ex, ey)
    view = page.evaluate("() => window.__lm.map().view")
    assert len(view["pinned"]["z"]) == 8 and view["pinned"]["uv"] == pytest.approx([ex, ey], abs=1e-6)
    _no_error_elements(page)
    screenshot(page, f"latent_map_latent8_{kind.lower()}")
