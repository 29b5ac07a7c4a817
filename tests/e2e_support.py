"""Helpers for the real-browser end-to-end tests (tests/test_e2e_browser.py).

A real `streamlit run app.py` server in a subprocess, Debian's chromium driven by Playwright,
and the in-page JavaScript that reads Plotly's figure state (`gd._fullData`, `gd._fullLayout`)
to turn data coordinates into pixels. Streamlit reruns replace DOM nodes, so every helper
re-queries the elements it needs instead of holding on to handles.
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
    """`streamlit run app.py` from the repo root on a free port, logging to a file."""

    def __init__(self, runs_dir: Path, log_path: Path, *, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.runs_dir = Path(runs_dir)
        self.log_path = Path(log_path)
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 90.0) -> str:
        env = dict(os.environ, CVAE_RUNS_DIR=str(self.runs_dir), PYTHONUNBUFFERED="1")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - held for the server's lifetime, closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless=true",
                "--server.address=127.0.0.1",
                f"--server.port={self.port}",
                "--browser.gatherUsageStats=false",
            ],
            cwd=ROOT,
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


def open_page(browser, url: str, heading: str, *, timeout_ms: float = LOAD_MS):
    """A fresh tab (own Streamlit session) at `url`, once its <h1> reads `heading`."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(STEP_MS)
    page = context.new_page()
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
  const e2e = window.__e2e = {armed: false, old: null, t0: null, t1: null, newSrc: null};
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
  e2e.decoded = () => e2e.imageByCaption('decoded at z =');
  e2e.decodedCaption = () => {
    for (const c of document.querySelectorAll('[data-testid="stImageCaption"]'))
      if (c.innerText.trim().startsWith('decoded at z =')) return c.innerText.trim();
    return null;
  };
  // page (viewport) pixel of data point (x, y) on the first plot
  e2e.toPixel = (x, y) => {
    const gd = e2e.plot(0);
    const fl = gd._fullLayout, r = gd.getBoundingClientRect();
    return [r.left + fl._size.l + fl.xaxis.l2p(x), r.top + fl._size.t + fl.yaxis.l2p(y)];
  };
  // The time of the release that completes a click, once armed.
  window.addEventListener('mouseup', () => {
    if (e2e.armed && e2e.t0 === null) e2e.t0 = performance.now();
  }, true);
  const check = () => {
    if (!e2e.armed || e2e.t0 === null || e2e.t1 !== null) return;
    const img = e2e.decoded();
    if (img && img.src && img.src !== e2e.old) {
      e2e.t1 = performance.now(); e2e.newSrc = img.src; e2e.armed = false;
    }
  };
  new MutationObserver(check).observe(document.body,
    {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
  setInterval(check, 20);  // belt and braces: a src set before the observer saw the node
  return true;
}
"""

JS_ARM = """() => { const e = window.__e2e; const img = e.decoded();
  e.old = img ? img.src : null; e.t0 = null; e.t1 = null; e.newSrc = null; e.armed = true; return e.old; }"""

JS_DIGITS = """() => {
  // every digit on the latent map: [x, y, index, trace]
  const gd = window.__e2e.plot(0), out = [];
  gd._fullData.forEach((t, k) => {
    if (!t.customdata || t.name === 'click-grid' || !t.visible) return;
    for (let i = 0; i < t.x.length; i++) out.push([t.x[i], t.y[i], Number(t.customdata[i]), k]);
  });
  return out;
}"""

JS_AXES = """() => { const fl = window.__e2e.plot(0)._fullLayout;
  return {x: fl.xaxis.range.slice(), y: fl.yaxis.range.slice()}; }"""
