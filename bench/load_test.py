"""Load test: a class of students pinning points on the Latent page's map, idle and while a training runs.

    python3 bench/load_test.py [--sessions 30] [--interval 2] [--duration 60] [--no-training] [--epochs 300]

A real `streamlit run app.py` on 127.0.0.1 (temporary CVAE_RUNS_DIR). Every student is a tab simulated
at the websocket level (bench/students.py, on harness/st_protocol.py), not a browser, so the machine's
CPU goes to the server: each opens /latent, reads the map's payload from its own component element (the
digits' map points) and then pins a point every --interval seconds (+-25% jitter, staggered starts),
alternating empty space and a digit: exactly the BackMsg the map component sends on a click, the map
view's v2 trigger "pin" with {uv, z, index, label}. A pin's latency runs from sending it to the end of the
fragment run that answers it. Phase 1 ("idle"): no training. Phase 2 ("training"): one more tab opens
the Train page, sets the epochs and presses Start training, as a student would, and stays open (its
live fragment reruns every 0.5 s); the students pin for --duration more seconds while the training runs
on whatever engine the tree has. Every pin must be answered, no tab may show an error or be dropped,
the server log must hold no traceback, and the training must still be fitting at the end (it is then
stopped).

Validated against a real browser: tests/e2e/test_latent_map_browser.py::test_the_protocol_pin_is_the_browsers
captures the BackMsg Chromium sends for a click on the map and checks that it reruns the fragment of the
map's view with the trigger st_protocol builds (widget id, event, the value's keys bench/students.PIN_KEYS);
harness/st_protocol.py itself was checked against Chromium's frames (same BackMsgs, same bytes back; its
docstring). Results go to artifacts/load_test.json, with the load average (the machine is shared) and
the server's CPU and memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_stats import loadavg, rss_mb, settle  # noqa: E402
from bench.students import Student, open_latent, pin_phase, progress, start_training  # noqa: E402
from harness.metrics import percentile  # noqa: E402
from harness.server import StreamlitServer  # noqa: E402
from harness.st_protocol import Session  # noqa: E402

__all__ = ["main", "run_load_test", "save_result"]

OUT = ROOT / "artifacts" / "load_test.json"


async def _run(url: str, pid: int, *, sessions, interval, duration, training, epochs, timeout, log) -> dict:
    result: dict = {}
    warm = Session(url, page="latent", timeout=timeout)  # the first visit loads the model and builds the payload
    await open_latent(warm)
    await warm.close()
    students = [Student(url, n, timeout) for n in range(sessions)]
    for student in students:  # a class arriving: one tab after another
        await student.open()
    result["rss_mb_with_sessions"] = round(rss_mb(pid), 1)
    result["settle_s"] = await settle(pid)  # the workers warming up: not a student's cost
    result["idle"] = await pin_phase(students, "idle", duration, interval, [pid])
    log(f"idle, {sessions} sessions: {result['idle']}")
    if training:
        trainer, text = await start_training(url, epochs, timeout=600)
        result["training_progress_before"] = text
        log(f"training: {text}")
        result["training"] = await pin_phase(students, "training", duration, interval, [pid])
        result["training_progress_after"] = progress(trainer)
        log(f"during the training: {result['training']}; {result['training_progress_after']}")
        stop = next((e for e in trainer.elements.values() if e.kind == "button" and e.proto.label == "Stop"), None)
        if stop is not None:
            await trainer.click(stop)
        await trainer.close()
    result["failures"] = [f for s in students for f in s.failures]
    result["dropped_sessions"] = sum(s.tab.error is not None for s in students)
    result["bytes_per_pin_median"] = int(percentile([b for s in students for b in s.bytes], 50))
    result["rss_mb_end"] = round(rss_mb(pid), 1)
    for student in students:
        await student.tab.close()
    return result


def run_load_test(
    *,
    sessions: int = 30,
    interval: float = 2.0,
    duration: float = 60.0,
    training: bool = True,
    epochs: int = 300,
    timeout: float = 120.0,
    out: Path = OUT,
    log=print,
) -> dict:
    """Run both phases on a fresh server; returns (and writes to `out`) the figures."""
    result = {"sessions": sessions, "interval_s": interval, "duration_s": duration, "loadavg_before": loadavg()}
    with tempfile.TemporaryDirectory(prefix="cvae_load_") as tmp:
        server = StreamlitServer(Path(tmp) / "runs", Path(tmp) / "server.log")
        try:
            url = server.start(timeout=120)
            result.update(
                asyncio.run(
                    _run(
                        url,
                        server.proc.pid,
                        sessions=sessions,
                        interval=interval,
                        duration=duration,
                        training=training,
                        epochs=epochs,
                        timeout=timeout,
                        log=log,
                    )
                )
            )
        finally:
            log_text = server.log_tail(10**7)
            server.stop()
    return save_result(result, log_text, out)


def save_result(result: dict, server_log: str, out: Path) -> dict:
    """`result` with the server's traceback count and the load after, written to `out` as JSON."""
    result["server_tracebacks"] = server_log.count("Traceback (most recent call last)")
    result["loadavg_after"] = loadavg()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between one student's pins")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of pinning per phase")
    parser.add_argument("--no-training", dest="training", action="store_false")
    parser.add_argument("--epochs", type=int, default=300, help="the training's epochs (it is stopped at the end)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    result = run_load_test(
        sessions=args.sessions,
        interval=args.interval,
        duration=args.duration,
        training=args.training,
        epochs=args.epochs,
        out=args.out,
    )
    print(json.dumps(result, indent=2))
    ok = not result["failures"] and not result["dropped_sessions"] and not result["server_tracebacks"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
