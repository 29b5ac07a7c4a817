"""Load test: many browser sessions decoding on the Latent page while a training runs.

    python3 bench/load_test.py [--sessions 30] [--decodes 5] [--idle-decodes 15] [--no-training]

A real `streamlit run app.py` on 127.0.0.1 (runs in a temporary CVAE_RUNS_DIR) and Debian's headless
chromium driven by Playwright, one browser context (= one Streamlit session) per simulated user.
Each decode is timed in the page, from the keydown that moves the focused z1 slider one step to
the moment the decoded image's caption ("decoded at z = ...") and picture have both changed.
The server's own CPU time is read from /proc around the rounds: with every simulated user's
browser on the same machine, it tells how much of a loaded latency is the server's.

1. idle: one session, no training: `--idle-decodes` decodes one after the other.
2. `--sessions` sessions open /latent together; one round in which every session presses the key
   at (nearly) the same moment, without training; then a training is started from the Train page
   (a browser session, as a teacher would) and waited for until it is fitting, and `--decodes`
   more rounds run while it fits ("loaded").
After the rounds every page is checked for Streamlit exceptions and error boxes, the server log for
tracebacks, and the training is stopped (it keeps its model). Loopback only, bounded in time
(`--budget-s`); results go to artifacts/load_test.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import e2e_support as e2e  # noqa: E402  (server and browser helpers shared with the e2e tests)

OUT = ROOT / "artifacts" / "load_test.json"

# Arms one timed decode: t0 at the next keydown, t1 once caption and image both differ from now.
JS_INSTALL = r"""
() => {
  if (window.__load) return true;
  const s = window.__load = {armed: false, t0: null, t1: null, oldCaption: null, oldSrc: null};
  const decoded = () => {
    for (const c of document.querySelectorAll('[data-testid="stImageCaption"]')) {
      const text = c.innerText.trim();
      if (text.startsWith('decoded at z =')) return [text, c.parentElement.querySelector('img')];
    }
    return [null, null];
  };
  s.snapshot = () => { const [c, img] = decoded(); return [c, img ? img.src : null]; };
  window.addEventListener('keydown', () => { if (s.armed && s.t0 === null) s.t0 = performance.now(); }, true);
  const check = () => {
    if (!s.armed || s.t0 === null || s.t1 !== null) return;
    const [caption, src] = s.snapshot();
    if (caption && src && caption !== s.oldCaption && src !== s.oldSrc) { s.t1 = performance.now(); s.armed = false; }
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, characterData: true,
                                                      attributes: true, attributeFilter: ['src']});
  setInterval(check, 10);
  return true;
}
"""
JS_ARM = """() => { const s = window.__load; [s.oldCaption, s.oldSrc] = s.snapshot();
  s.t0 = null; s.t1 = null; s.armed = true; return s.oldCaption; }"""
JS_DONE = "() => window.__load.t1 !== null"
JS_ELAPSED = "() => window.__load.t1 - window.__load.t0"
JS_ERRORS = """() => Array.from(document.querySelectorAll(
  '[data-testid="stException"], [data-testid="stAlertContentError"]')).map(e => e.innerText.slice(0, 300))"""
JS_PROGRESS = """() => { const bar = document.querySelector('[data-testid="stProgress"]');
  return bar ? bar.innerText.trim() : ''; }"""


def _summary(samples: list[float]) -> dict:
    return {
        "n": len(samples),
        "p50_ms": round(e2e.percentile(samples, 50), 1),
        "p95_ms": round(e2e.percentile(samples, 95), 1),
        "max_ms": round(max(samples), 1) if samples else None,
        "samples_ms": [round(s, 1) for s in samples],
    }


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _open_latent(browser, url: str):
    return _ready(_goto_latent(browser, url))


def _goto_latent(browser, url: str):
    """A new context (its own Streamlit session) navigating to /latent; returns without waiting."""
    context = browser.new_context(viewport=e2e.VIEWPORT)
    context.set_default_timeout(180_000)
    page = context.new_page()
    page.goto(url + "/latent", wait_until="commit", timeout=180_000)
    return page


def _ready(page):
    """Wait until the page shows its decoded image and is idle; focus the z1 slider."""
    page.locator("h1", has_text="Latent space").first.wait_for(timeout=180_000)
    page.evaluate(JS_INSTALL)
    page.wait_for_function("() => { const [c, src] = window.__load.snapshot(); return c && src; }", timeout=180_000)
    e2e.wait_script_idle(page, timeout_ms=180_000)
    slider = page.locator('[data-testid="stSlider"]').filter(has_text="z1").locator("input[type=range]").first
    slider.focus()
    return page


def _round(pages, key: str, deadline: float, label: str, failures: list[str]) -> list[float]:
    """Every session presses `key` at (nearly) the same moment; the decode times of those that arrive."""
    for page in pages:
        _press(page, key)
    times = []
    for k, page in enumerate(pages):
        try:
            times.append(_wait(page, max(60_000, (deadline - time.monotonic()) * 1000)))  # sent: let it land
        except Exception as err:  # a decode that never arrived is a failure, not a crash
            failures.append(f"session {k} {label}: {type(err).__name__}: {str(err)[:200]}")
    for page in pages:
        e2e.wait_script_idle(page, timeout_ms=180_000)
    return times


def _press(page, key: str) -> None:
    page.evaluate(JS_ARM)
    page.keyboard.press(key)


def _wait(page, timeout_ms: float) -> float:
    page.wait_for_function(JS_DONE, timeout=timeout_ms)
    return page.evaluate(JS_ELAPSED)


def _start_training(browser, url: str, epochs: int, deadline: float) -> tuple[object, str]:
    """Start a fit from the Train page and wait until it is past compiling; returns (page, progress)."""
    page = e2e.open_page(browser, url + "/train", "Train", timeout_ms=120_000)
    epochs_box = page.get_by_label("Epochs")
    epochs_box.fill(str(epochs))
    epochs_box.press("Tab")
    name_box = page.get_by_label("Run name (optional)", exact=True).and_(page.locator("input"))
    name_box.fill("load-test")
    name_box.press("Tab")
    page.get_by_role("button", name="Start training").click()
    text = ""
    while time.monotonic() < deadline:
        text = page.evaluate(JS_PROGRESS)
        if ": running " in text and re.search(r"step [1-9]\d*/", text):
            return page, text
        if re.search(r": (failed|diverged|finished) ", text):
            raise RuntimeError(f"the training ended before the load phase: {text}")
        page.wait_for_timeout(500)
    raise TimeoutError(f"the training did not start fitting in time; last progress: {text!r}")


def run_load_test(
    *,
    sessions: int = 30,
    decodes: int = 5,
    idle_decodes: int = 15,
    training: bool = True,
    epochs: int = 200,
    budget_s: float = 300,
    out: Path | None = OUT,
    log=print,
) -> dict:
    """Run both phases; returns (and writes to `out`) the results. Raises if anything broke."""
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    deadline = started + budget_s
    runs = Path(tempfile.mkdtemp(prefix="cvae-load-"))
    server = e2e.StreamlitServer(runs, runs.parent / f"{runs.name}.log")
    result: dict = {
        "sessions": sessions,
        "decodes_per_session": decodes,
        "training": training,
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg()},
        "server": "streamlit run app.py on 127.0.0.1",
        "browser": "headless Debian chromium",
    }
    url = server.start(timeout=120)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=e2e.chromium_path(), args=e2e.CHROMIUM_ARGS)
            try:
                warm = e2e.open_page(browser, url + "/", "CVAE Explorer", timeout_ms=120_000)
                warm.context.close()
                result["server_rss_mb"] = {"idle": _rss_mb(server.proc.pid)}

                # 1. idle: one session, no training
                page = _open_latent(browser, url)
                idle = []
                for i in range(idle_decodes):
                    _press(page, "ArrowRight" if i % 2 == 0 else "ArrowLeft")
                    idle.append(_wait(page, 60_000))
                    e2e.wait_script_idle(page)
                page.context.close()
                result["idle"] = _summary(idle)
                log(
                    f"idle: {idle_decodes} decodes, p50 {result['idle']['p50_ms']} ms, "
                    f"p95 {result['idle']['p95_ms']} ms"
                )

                # 2. `sessions` sessions (opened together), one round without training, then a
                #    training and `decodes` rounds while it fits
                t = time.monotonic()
                pages = [_goto_latent(browser, url) for _ in range(sessions)]
                for page in pages:
                    _ready(page)
                result["open_all_sessions_s"] = round(time.monotonic() - t, 1)
                result["server_rss_mb"][f"{sessions}_sessions"] = _rss_mb(server.proc.pid)
                log(f"opened {sessions} sessions in {result['open_all_sessions_s']} s")
                failures: list[str] = []
                cpu, wall = _cpu_s(server.proc.pid), time.monotonic()
                concurrent = _round(pages, "ArrowRight", deadline, "round 0 (no training)", failures)
                result["concurrent_no_training"] = _summary(concurrent)
                result["concurrent_no_training"]["server_cpu_ms_per_decode"] = round(
                    (_cpu_s(server.proc.pid) - cpu) * 1000 / max(1, len(concurrent)), 1
                )
                result["concurrent_no_training"]["server_cpu_share"] = round(
                    (_cpu_s(server.proc.pid) - cpu) / (time.monotonic() - wall), 2
                )
                log(
                    f"{sessions} sessions, no training: p50 {result['concurrent_no_training']['p50_ms']} ms, "
                    f"p95 {result['concurrent_no_training']['p95_ms']} ms"
                )
                train_page = None
                if training:
                    train_page, text = _start_training(browser, url, epochs, min(deadline, time.monotonic() + 240))
                    result["training_progress_before"] = text
                    log(f"training: {text}")
                loaded = []
                cpu, wall = _cpu_s(server.proc.pid), time.monotonic()
                for r in range(decodes):
                    if time.monotonic() > deadline:
                        failures.append(f"budget of {budget_s:.0f} s spent before round {r + 1}")
                        break
                    key = "ArrowLeft" if r % 2 == 0 else "ArrowRight"
                    loaded += _round(pages, key, deadline, f"round {r + 1}", failures)
                    log(f"round {r + 1}/{decodes}: {len(loaded)} decodes so far")
                loaded_cpu_s, loaded_wall_s = _cpu_s(server.proc.pid) - cpu, time.monotonic() - wall
                errors = {k: found for k, page in enumerate(pages) if (found := page.evaluate(JS_ERRORS))}
                result["loaded"] = _summary(loaded)
                result["loaded"]["failures"] = failures
                result["loaded"]["server_cpu_share"] = round(loaded_cpu_s / loaded_wall_s, 2)  # training included
                result["session_errors"] = errors
                result["server_rss_mb"]["after"] = _rss_mb(server.proc.pid)
                if train_page is not None:
                    result["training_progress_after"] = train_page.evaluate(JS_PROGRESS)
                    stop = train_page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop")
                    if stop.count():
                        stop.first.click()  # the training keeps its model; not part of the measurement
                for page in pages:
                    page.context.close()
            finally:
                browser.close()
    finally:
        server.stop()
        log_text = server.log_tail(200_000)
        result["server_tracebacks"] = log_text.count("Traceback")
        result["wall_s"] = round(time.monotonic() - started, 1)
        shutil.rmtree(runs, ignore_errors=True)  # the stopped training's run: not needed
        if result["server_tracebacks"]:
            result["server_log"] = str(server.log_path)  # kept for reading
        else:
            server.log_path.unlink(missing_ok=True)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(result, indent=2) + "\n")
    log(
        f"loaded: {len(result['loaded']['samples_ms'])} decodes, p50 {result['loaded']['p50_ms']} ms, "
        f"p95 {result['loaded']['p95_ms']} ms, max {result['loaded']['max_ms']} ms; "
        f"failures {len(result['loaded']['failures'])}, sessions with errors {len(result['session_errors'])}, "
        f"server tracebacks {result['server_tracebacks']}; {result['wall_s']} s"
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--decodes", type=int, default=5, help="timed decodes per session under load")
    parser.add_argument("--idle-decodes", type=int, default=15)
    parser.add_argument("--no-training", dest="training", action="store_false")
    parser.add_argument("--epochs", type=int, default=200, help="the training's epochs (it is stopped at the end)")
    parser.add_argument(
        "--budget-s",
        type=float,
        default=300,
        help="no new round starts after this; decodes already asked for get 60 s more",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    result = run_load_test(
        sessions=args.sessions,
        decodes=args.decodes,
        idle_decodes=args.idle_decodes,
        training=args.training,
        epochs=args.epochs,
        budget_s=args.budget_s,
        out=args.out,
    )
    ok = not result["loaded"]["failures"] and not result["session_errors"] and not result["server_tracebacks"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
