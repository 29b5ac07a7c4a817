"""Real servers and a real browser for the end-to-end tests and the benchmarks (tests/e2e/test_e2e_browser.py, bench/).

A real `streamlit run app.py` server in a subprocess, Debian's chromium driven by Playwright,
and the in-page JavaScript that reads Plotly's figure state (`gd._fullData`, `gd._fullLayout`)
to turn data coordinates into pixels, or the latent map component's own (`window.__cvaeLatentMap`).
Streamlit reruns replace DOM nodes, so every helper re-queries the elements it needs instead of holding on to handles.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
METRICS = ARTIFACTS / "e2e_metrics.json"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1400, "height": 1000}
# Bounded but generous: CI and shared 2-core machines run these beside other work (a load
# average of 30 was seen), and a page's first run imports PyMC and encodes the test digits.
LOAD_MS = 180_000  # opening a page, the first render of its charts and images
STEP_MS = 60_000  # one interaction: a click's rerun, a widget's update


def chromium_path() -> str | None:
    """Debian's chromium (Playwright's own browser download is never used)."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    return shutil.which("chromium")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StreamlitServer:
    """`streamlit run app.py` from the repo root (or another app's folder) on a free port, logging to a file."""

    def __init__(
        self,
        runs_dir: Path,
        log_path: Path,
        *,
        port: int | None = None,
        env: dict | None = None,
        address: str | None = "127.0.0.1",
        app_dir: Path = ROOT,
    ):
        self.port = port or free_port()
        self.env = env or {}  # extra environment, e.g. CVAE_TEACHER_CODE
        self.address = address  # None: whatever .streamlit/config.toml says
        self.url = f"http://127.0.0.1:{self.port}"
        self.runs_dir = Path(runs_dir)
        self.app_dir = Path(app_dir)  # where its app.py is (a benchmark's reference app, say)
        self.log_path = Path(log_path)
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 90.0) -> str:
        env = dict(os.environ, CVAE_RUNS_DIR=str(self.runs_dir), PYTHONUNBUFFERED="1", **self.env)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - held for the server's lifetime, closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless=true",
                *([f"--server.address={self.address}"] if self.address else []),
                f"--server.port={self.port}",
                "--browser.gatherUsageStats=false",
            ],
            cwd=self.app_dir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200 and response.read().strip() == b"ok":
                        return self.url
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        raise TimeoutError(f"streamlit not healthy after {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the server (its own process group), SIGKILL if it does not exit in time."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"


# --- pages ---------------------------------------------------------------------------------


@contextlib.contextmanager
def serving(runs_dir: Path, log_path: Path, *, timeout: float = 90.0, **options):
    """A started StreamlitServer for a test module: (url, runs_dir, log_tail); stopped afterwards."""
    from types import SimpleNamespace

    server = StreamlitServer(runs_dir, log_path, **options)
    try:
        yield SimpleNamespace(url=server.start(timeout=timeout), runs_dir=Path(runs_dir), log_tail=server.log_tail)
    finally:
        server.stop()


@contextlib.contextmanager
def headless_chromium():
    """Debian's Chromium through Playwright, with the flags this machine needs; closed afterwards."""
    from playwright import sync_api

    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def open_page(browser, url: str, heading: str, *, timeout_ms: float = LOAD_MS, before=None):
    """A fresh tab (own Streamlit session) at `url`, once its <h1> reads `heading`; `before(page)`
    runs before the page loads (e.g. to log its websocket)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(STEP_MS)
    page = context.new_page()
    if before is not None:
        before(page)
    try:
        page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
        page.locator("h1", has_text=heading).first.wait_for(timeout=timeout_ms)
    except Exception as err:
        try:
            text = page.evaluate("() => document.body.innerText")[:1500]
        except Exception:
            text = "(page text unavailable)"
        context.close()
        raise AssertionError(f"{url}: no <h1> {heading!r} ({type(err).__name__}); page text:\n{text}") from err
    return page


def wait_script_idle(page, timeout_ms: float = STEP_MS) -> None:
    """Until Streamlit reports no script (or fragment) run in progress."""
    page.wait_for_function(
        """() => { const app = document.querySelector('[data-testid="stApp"]');
                   return app && app.dataset.testScriptState === 'notRunning'; }""",
        timeout=timeout_ms,
    )


def dialog_texts(page) -> list[str]:
    return page.evaluate("() => Array.from(document.querySelectorAll('[role=dialog]')).map(d => d.innerText)")


def screenshot(page, name: str, *, max_height: int = 4000) -> Path:
    """Whole-page screenshot to artifacts/screenshots/<name>.png.

    Streamlit scrolls inside its main container, not the document, so Playwright's full_page
    alone captures one viewport: grow the viewport to the content's height, then restore it.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    viewport = page.viewport_size or VIEWPORT
    height = page.evaluate("""() => Math.max(document.body.scrollHeight, ...Array.from(
        document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"], section'))
        .map(e => e.scrollHeight))""")
    tall = min(max(int(height), viewport["height"]), max_height)
    if tall > viewport["height"]:
        page.set_viewport_size({"width": viewport["width"], "height": tall})
        page.wait_for_timeout(400)  # let charts and images settle at the new size
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        if tall > viewport["height"]:
            page.set_viewport_size(viewport)
            page.wait_for_timeout(200)
    return path


def merge_metrics(values: dict) -> dict:
    """Merge `values` into artifacts/e2e_metrics.json (other keys are kept)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        current = json.loads(METRICS.read_text())
        if not isinstance(current, dict):
            current = {}
    except (OSError, ValueError):
        current = {}
    current.update(values)
    tmp = METRICS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    tmp.replace(METRICS)
    return current


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default), without numpy."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


# --- in-page JavaScript ------------------------------------------------------------------------
# Installed into a page with `page.evaluate(JS_HELPERS)`; idempotent. Everything re-queries the
# DOM, because a Streamlit rerun may replace the chart and image nodes.
JS_HELPERS = r"""
() => {
  if (window.__e2e) return true;
  const e2e = window.__e2e = {};
  e2e.plot = (index) => {
    const plots = Array.from(document.querySelectorAll('.js-plotly-plot'))
      .filter(gd => gd._fullLayout && gd._fullData);
    return plots[index || 0] || null;
  };
  e2e.imageByCaption = (prefix) => {
    for (const c of document.querySelectorAll('[data-testid="stImageCaption"]')) {
      if (c.innerText.trim().startsWith(prefix)) {
        const img = c.parentElement.querySelector('img');
        if (img) return img;
      }
    }
    return null;
  };
  return true;
}
"""


# --- the latent map component (ui/latent_map) ---------------------------------------------------


def save_random_model(runs_dir: Path, name: str, **config) -> Path:
    """A checkpoint of an untrained model under runs_dir/name (decoding costs the same as a trained one's)."""
    from cvae.config import TrainConfig
    from cvae.model.vae import VAE
    from cvae.store.checkpoint import save_checkpoint
    from cvae.training.history import History

    return save_checkpoint(Path(runs_dir) / name, VAE(TrainConfig(**config)), History())


def choose_model(page, name: str) -> None:
    """Pick `name` in the sidebar's Active model box and wait for the page to settle."""
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
    box.click()
    page.get_by_role("option", name=name).click()
    wait_script_idle(page)


# Installed with `page.evaluate(JS_MAP)`; idempotent. The map instance lives in a page-wide registry
# (ui/latent_map/src/bus.js) and survives reruns, so holding on to it is safe.
JS_MAP = r"""
() => {
  if (window.__lm) return true;
  const lm = window.__lm = {armed: false, t0: null, tLocal: null, tServer: null, views0: 0, caption0: null};
  lm.map = () => { const r = window.__cvaeLatentMap; const e = r && r.get('latent_map'); return e && e.map; };
  // drawn, with a view that no longer waits for its "drawn" report (the page's tools are there)
  lm.ready = () => { const m = lm.map(), c = document.querySelector('.lm-caption');
    return !!(m && m.header && m.view && !m.view.report_drawn && c && c.innerText.startsWith('decoded at z')); };
  lm.caption = () => document.querySelector('.lm-caption').innerText.trim();
  lm.toPixel = (u, v) => lm.map().pagePixel(u, v);
  lm.window = () => { const w = lm.map().canvas.window; return {x: w.x.slice(), y: w.y.slice()}; };
  lm.digits = () => { const m = lm.map(), c = m.arrays.coords, out = [];
    for (let i = 0; i < m.header.n; i++) out.push([c[2 * i], c[2 * i + 1], i, m.arrays.labels[i]]); return out; };
  lm.sliders = () => Array.from(document.querySelectorAll('.lm-sliders input[type=range]')).map(e => Number(e.value));
  lm.digitHash = () => { const c = document.querySelector('.lm-digit');
    const d = c.getContext('2d').getImageData(0, 0, 28, 28).data; let h = 0;
    for (let i = 0; i < d.length; i += 4) h = (h * 31 + d[i]) >>> 0;
    return h; };
  // a click's two moments: the browser's own decode (caption changes) and Python's view arriving
  window.addEventListener('mouseup', () => { if (lm.armed && lm.t0 === null) lm.t0 = performance.now(); }, true);
  const check = () => {
    if (!lm.armed || lm.t0 === null) return;
    const m = lm.map();
    if (lm.tLocal === null && lm.caption() !== lm.caption0) lm.tLocal = performance.now();
    if (lm.tServer === null && m.stats.views > lm.views0) lm.tServer = performance.now();
    if (lm.tLocal !== null && lm.tServer !== null) lm.armed = false;
  };
  lm.arm = () => { lm.t0 = lm.tLocal = lm.tServer = null; lm.views0 = lm.map().stats.views; lm.caption0 = lm.caption();
    lm.armed = true; };
  setInterval(check, 5);
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, characterData: true});
  return true;
}
"""


def open_latent_map(page) -> None:
    """Wait until the latent map has its payload and its first view, and the page its tools."""
    page.evaluate(JS_MAP)
    page.wait_for_function("() => window.__lm.ready()", timeout=LOAD_MS)
    wait_script_idle(page)
    page.locator(".lm-top").scroll_into_view_if_needed()


def pin_at(page, u: float, v: float, *, timeout_ms: float = STEP_MS) -> tuple[float, float]:
    """Click map point (u, v); returns ms from the click to the browser's decode and to Python's answer."""
    page.evaluate("() => window.__lm.arm()")
    px, py = page.evaluate("([u, v]) => window.__lm.toPixel(u, v)", [u, v])
    page.mouse.move(px, py)
    page.mouse.down()
    page.mouse.up()
    page.wait_for_function("() => !window.__lm.armed", timeout=timeout_ms)
    t = page.evaluate(
        "() => ({local: window.__lm.tLocal - window.__lm.t0, server: window.__lm.tServer - window.__lm.t0})"
    )
    wait_script_idle(page)
    return t["local"], t["server"]


def hover_path(page, seconds: float, *, radius: float = 0.4) -> int:
    """Move the mouse around the map's centre for `seconds` (as a user's pointer would); returns the moves."""
    box = page.locator(".lm-top").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    r = min(box["width"], box["height"]) * radius
    start, moves = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        a = moves * 0.05
        page.mouse.move(cx + r * math.sin(a), cy + r * math.sin(1.7 * a + 0.3))
        moves += 1
    return moves


class FrameLog:
    """Every websocket frame of a page, with the time it was seen (time.perf_counter())."""

    def __init__(self, page):
        self.frames: list[tuple[str, float, int]] = []
        self.sent_data: list[tuple[float, bytes]] = []  # what the page sent: BackMsgs
        page.on("websocket", self._attach)

    def _attach(self, ws) -> None:
        ws.on("framesent", self._sent)
        ws.on("framereceived", lambda data: self.frames.append(("received", time.perf_counter(), len(data or b""))))

    def _sent(self, data) -> None:
        now = time.perf_counter()
        self.frames.append(("sent", now, len(data or b"")))
        self.sent_data.append((now, data if isinstance(data, bytes) else str(data).encode()))

    def between(self, t0: float, t1: float) -> list[tuple[str, float, int]]:
        return [f for f in self.frames if t0 <= f[1] <= t1]


class HttpLog:
    """Bytes of every HTTP response a page loads (Chromium's count, headers included), by finish time."""

    def __init__(self, page):
        self.loads: list[tuple[float, int]] = []
        self._cdp = page.context.new_cdp_session(page)
        self._cdp.on(
            "Network.loadingFinished", lambda e: self.loads.append((time.perf_counter(), int(e["encodedDataLength"])))
        )
        self._cdp.send("Network.enable")

    def bytes_between(self, t0: float, t1: float) -> int:
        return sum(n for t, n in self.loads if t0 <= t <= t1)
