"""Headless Chromium through Playwright, and the page helpers every browser test and benchmark shares.

Debian's chromium, never Playwright's own download. JS_HELPERS reads Plotly's figure state
(`gd._fullData`, `gd._fullLayout`). Streamlit reruns replace DOM nodes, so every helper re-queries
the elements it needs instead of holding on to handles.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from harness import ARTIFACTS

__all__ = [
    "CHROMIUM_ARGS",
    "JS_HELPERS",
    "LOAD_MS",
    "STEP_MS",
    "VIEWPORT",
    "chromium_path",
    "dialog_texts",
    "headless_chromium",
    "open_page",
    "screenshot",
    "wait_script_idle",
]

SCREENSHOTS = ARTIFACTS / "screenshots"
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
