"""The latent map component (ui/latent_map) in a real page: its in-page JavaScript, pins, hovering, the model box.

The JavaScript turns map coordinates into page pixels with the component's own instance
(`window.__cvaeLatentMap`) and times a click's two answers: the browser's decode and Python's view.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from harness.browser import LOAD_MS, STEP_MS, wait_script_idle

__all__ = ["JS_MAP", "choose_model", "hover_path", "open_latent_map", "pin_at", "save_random_model"]


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
