"""The latent map's two costs: hover frames per second in headless Chromium, and what a pin costs the server.

    python3 bench/latent_map_benchmark.py [--hover-s 5] [--pins 40] [--only pins|hover] [--out FILE.json]

A real `streamlit run app.py` on 127.0.0.1 with a temporary runs directory holding an untrained
pymc3-example (seed) model beside the shipped keras-example (classroom) one: decoding costs the same
trained or not.

- hover: for each network, one Chromium tab on /latent moves the mouse over the map for --hover-s
  seconds (Playwright input events, ~60 a second, as a pointer sends them); frames = decodes painted
  by the component (one per animation frame at most), and every websocket frame in that time is
  counted: it must be none.
- pins: one protocol-level tab (harness/st_protocol.py, the same websocket messages as Chromium)
  pins --pins points, alternating empty space and digits, 0.3 s apart. Per pin: the server process's
  CPU time (/proc/PID/stat, all its threads), the websocket bytes it sent, and the
  bytes of the images the answer names, fetched over HTTP as a browser would (each URL once).

Results (with the load average before and after: the machine is shared) go to --out as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_stats import settle  # noqa: E402
from bench.students import VIEW_KEY, open_latent  # noqa: E402
from harness.browser import CHROMIUM_ARGS, LOAD_MS, chromium_path, open_page, wait_script_idle  # noqa: E402
from harness.latent_map import choose_model, hover_path, open_latent_map, save_random_model  # noqa: E402
from harness.metrics import FrameLog  # noqa: E402
from harness.server import StreamlitServer  # noqa: E402
from harness.st_protocol import Session  # noqa: E402

SEED = "seed-untrained"


def loadavg() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


def cpu_s(pid: int) -> float:
    """CPU seconds of `pid` so far, every thread included (Streamlit runs each rerun in a new one); in
    clock ticks of 10 ms, so per-pin figures are quantised and the mean over many pins is the exact one."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hover(url: str, model: str | None, seconds: float) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            logs = {}
            page = open_page(
                browser, url + "/latent", "Latent space", before=lambda pg: logs.setdefault("ws", FrameLog(pg))
            )
            open_latent_map(page)
            if model:
                old = page.evaluate("() => window.__lm.map().header.id")
                choose_model(page, model)
                page.wait_for_function(
                    f"() => window.__lm.ready() && window.__lm.map().header.id !== '{old}'", timeout=LOAD_MS
                )
            wait_script_idle(page)
            page.evaluate("() => { const s = window.__lm.map().stats; s.frames = 0; s.first = null; s.decodeMs = []; }")
            t0 = time.perf_counter()
            moves = hover_path(page, seconds)
            page.wait_for_timeout(300)
            frames = logs["ws"].between(t0, time.perf_counter())
            stats = page.evaluate("""() => { const m = window.__lm.map(), s = m.stats;
                const d = s.decodeMs.slice().sort((a, b) => a - b);
                return {frames: s.frames, seconds: (s.last - s.first) / 1000, decode_ms_median: d[d.length >> 1],
                        backend: m.decoder.backend, mflop: m.decoder.flops / 1e6}; }""")
            return {
                "fps": round(stats["frames"] / stats["seconds"], 1),
                "mouse_moves_per_s": round(moves / seconds, 1),
                "decode_and_paint_ms_median": round(stats["decode_ms_median"], 2),
                "websocket_frames_while_hovering": len(frames),
                "backend": stats["backend"],
                "mflop_per_decode": round(stats["mflop"], 1),
            }
        finally:
            browser.close()


async def pins(url: str, pid: int, count: int) -> dict:
    from cvae.viz.map_payload import read_payload

    tab = Session(url, page="latent", timeout=120)
    await open_latent(tab)
    waited = await settle(pid)  # the server started the training workers; their warm-up is not a pin's cost
    idle_before = cpu_s(pid)
    await asyncio.sleep(10)
    background_ms_per_s = 1000 * (cpu_s(pid) - idle_before) / 10  # what the server spends doing nothing
    header, arrays = read_payload(tab.find("latent_map").proto.bytes)
    coords = arrays["coords"].reshape(-1, 2)
    seen: set[str] = {img.url for e in tab.elements.values() if e.kind == "imgs" for img in e.proto.imgs}
    cpu, ws, media, latency = [], [], [], []
    for k in range(count):
        if k % 2:
            index = (k * 37) % len(coords)
            value = {"uv": coords[index].tolist(), "z": coords[index].tolist(), "index": index, "label": None}
        else:
            u = header["x_range"][0] + (header["x_range"][1] - header["x_range"][0]) * ((k * 0.137) % 1)
            v = header["y_range"][0] + (header["y_range"][1] - header["y_range"][0]) * ((k * 0.291) % 1)
            value = {"uv": [u, v], "z": [u, v], "index": None, "label": None}
        before = cpu_s(pid)
        step = await tab.click(VIEW_KEY, event="pin", value=value)
        await asyncio.sleep(0.05)  # let the server finish sending before reading its CPU
        cpu.append(cpu_s(pid) - before)
        ws.append(step.bytes_received)
        latency.append(step.latency_s)
        new = [
            img.url for e in tab.elements.values() if e.kind == "imgs" for img in e.proto.imgs if img.url not in seen
        ]
        media.append(sum([await asyncio.to_thread(_fetch, url + u) for u in new]))
        seen.update(new)
        await asyncio.sleep(0.25)
    await tab.close()
    total = [a + b for a, b in zip(ws, media)]
    return {
        "settle_s": waited,
        "server_background_cpu_ms_per_s": round(background_ms_per_s, 1),
        "n": count,
        "server_cpu_ms_median": round(1000 * statistics.median(cpu), 1),
        "server_cpu_ms_mean": round(1000 * statistics.mean(cpu), 1),
        "websocket_bytes_median": int(statistics.median(ws)),
        "image_bytes_median": int(statistics.median(media)),
        "bytes_to_browser_median": int(statistics.median(total)),
        "bytes_to_browser_max": max(total),
        "latency_ms_median": round(1000 * statistics.median(latency), 1),
    }


def _fetch(url: str) -> int:
    """Bytes a browser receives for one image: the body plus the response headers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=30) as response:
        body = response.read()
        return len(body) + sum(len(k) + len(v) + 4 for k, v in response.headers.items()) + 17


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hover-s", type=float, default=5.0)
    parser.add_argument("--pins", type=int, default=40)
    parser.add_argument("--only", choices=("pins", "hover"), help="measure only this")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latent_map.json")
    args = parser.parse_args()
    result = {"loadavg_before": loadavg()}
    with tempfile.TemporaryDirectory(prefix="cvae_latent_bench_") as tmp:
        runs = Path(tmp) / "runs"
        save_random_model(runs, SEED, arch="pymc3-example", latent_dim=2, seed=0)
        server = StreamlitServer(runs, Path(tmp) / "server.log")
        try:
            url = server.start(timeout=120)
            if args.only != "hover":
                result["pins"] = asyncio.run(pins(url, server.proc.pid, args.pins))
            if args.only != "pins":
                result["hover_classroom"] = hover(url, None, args.hover_s)
                result["hover_seed"] = hover(url, SEED, args.hover_s)
        finally:
            server.stop()
    result["loadavg_after"] = loadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
