"""How soon a class sees something: the first Latent page of a fresh server, the first ELBO point after Start.

    python3 -m bench.first_pages [--repeats 3]

Each repeat starts a fresh `streamlit run app.py` on 127.0.0.1 (compile cache warm, as after the
install command), and headless Chromium measures, in the page's own clock:
- from navigating to /latent (the server's first visitor) to the latent map drawn with its digits,
  and to the page's tools below it (they follow the map's first frame);
- Start on the Train page -> the first ELBO point on the chart, once the server has been up for
  `--settle` seconds (its training worker warm), for the Classroom preset;
- the reference, in the same run: a fresh `streamlit run` of an app that is one `st.title` (same
  Streamlit, same browser), navigation to its title drawn: what any Streamlit page costs here;
- the server's own start (process start to healthy), which now includes its warm-up.
Medians go to bench/results/first_pages.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import psutil

from harness.browser import CHROMIUM_ARGS, LOAD_MS, VIEWPORT, chromium_path, open_page, wait_script_idle
from harness.server import StreamlitServer

OUT = Path(__file__).resolve().parent / "results" / "first_pages.json"
JS_FIRST_POINT = """() => {
  const s = window.__first = {t0: null, t1: null};
  window.addEventListener('mouseup', () => {  // Start: charts already there (the active model's) do not count
    if (s.t0 !== null) return;
    s.t0 = performance.now();
    document.querySelectorAll('.js-plotly-plot').forEach(gd => { gd.__beforeStart = true; });
  }, true);
  const look = () => {
    if (s.t0 === null || s.t1 !== null) return;
    for (const gd of document.querySelectorAll('.js-plotly-plot')) {
      if (gd.__beforeStart) continue;
      const raw = gd._fullData && gd._fullData.find(t => t.name === '-ELBO (raw)');
      if (raw && raw.x && raw.x.length > 0) { s.t1 = performance.now(); return; }
    }
  };
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true, attributes: true});
  setInterval(look, 20);
}"""


def first_latent_page_s(browser, url: str) -> tuple[float, float]:
    """(map drawn, tools there): seconds from navigation to the map with its digits and first view,
    and to the tools below it (which a session's first map brings with its "drawn" report)."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    began = time.perf_counter()
    page.goto(url + "/latent", wait_until="commit", timeout=LOAD_MS)
    page.wait_for_function(  # the map has its payload (the digits) and its first view, caption drawn
        """() => { const r = window.__cvaeLatentMap, e = r && r.get('latent_map'), m = e && e.map,
                   c = document.querySelector('.lm-caption');
                   return !!(m && m.header && m.view && c && c.innerText.startsWith('decoded at z')); }""",
        timeout=LOAD_MS,
    )
    drawn = time.perf_counter() - began
    page.get_by_text("Nearest real test digits").wait_for(timeout=LOAD_MS)
    tools = time.perf_counter() - began
    context.close()
    return drawn, tools


def first_point_s(browser, url: str) -> float:
    page = open_page(browser, url + "/train", "Train")
    page.get_by_role("button", name="Classroom preset").first.click()
    wait_script_idle(page)
    page.evaluate(JS_FIRST_POINT)
    page.get_by_role("button", name="Start training").click()
    page.wait_for_function("() => window.__first.t1 !== null", timeout=LOAD_MS)
    seconds = page.evaluate("() => (window.__first.t1 - window.__first.t0) / 1000")
    page.get_by_role("button", name="Stop").click()
    page.context.close()
    return seconds


FLOOR_APP = 'import streamlit as st\n\nst.title("Reference")\n'


def floor_page_s(browser, app_dir: Path) -> float:
    """Navigation to the title of a one-`st.title` app on a fresh server: Streamlit's own floor."""
    (app_dir / "app.py").write_text(FLOOR_APP)
    server = StreamlitServer(app_dir / "runs", app_dir / "server.log", app_dir=app_dir)
    server.start(timeout=60)
    try:
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        began = time.perf_counter()
        page.goto(server.url, wait_until="commit", timeout=LOAD_MS)
        page.get_by_role("heading", name="Reference").wait_for(timeout=LOAD_MS)
        seconds = time.perf_counter() - began
        context.close()
        return seconds
    finally:
        server.stop()


def main(argv=None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--settle", type=float, default=30.0, help="seconds between server start and Start")
    args = parser.parse_args(argv)
    rows = []
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for repeat in range(args.repeats):
            floor_dir = Path(tmp) / f"reference-{repeat}"
            floor_dir.mkdir()
            floor = floor_page_s(browser, floor_dir)
            server = StreamlitServer(Path(tmp) / f"runs-{repeat}", Path(tmp) / f"server-{repeat}.log")
            began = time.perf_counter()
            server.start(timeout=120)
            server_start = time.perf_counter() - began
            try:
                latent, tools = first_latent_page_s(browser, server.url)
                time.sleep(max(0.0, args.settle - latent))
                point = first_point_s(browser, server.url)
            finally:
                server.stop()
            rows.append(
                {
                    "repeat": repeat,
                    "first_latent_page_s": round(latent, 2),
                    "latent_tools_s": round(tools, 2),
                    "reference_page_s": round(floor, 2),
                    "start_to_first_point_s": round(point, 2),
                    "server_start_s": round(server_start, 2),
                    "load": [round(x, 2) for x in psutil.getloadavg()],
                }
            )
            print(json.dumps(rows[-1]), flush=True)
        browser.close()
    keys = ("first_latent_page_s", "latent_tools_s", "reference_page_s", "start_to_first_point_s", "server_start_s")
    summary = {key: statistics.median(r[key] for r in rows) for key in keys}
    summary["latent_over_reference_s"] = round(
        statistics.median(r["first_latent_page_s"] - r["reference_page_s"] for r in rows), 2
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"rows": rows, "summary": summary}, indent=2))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
