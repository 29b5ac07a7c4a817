"""Load test: a class of students pinning points on the Latent page's map, idle and while a training runs.

    python3 bench/load_test.py [--sessions 30] [--interval 2] [--duration 60] [--no-training] [--epochs 300]

A real `streamlit run app.py` on 127.0.0.1 (temporary CVAE_RUNS_DIR). Every student is a tab simulated
at the websocket level by harness/st_protocol.py, not a browser, so the machine's CPU goes to the server:
each opens /latent, reads the map's payload from its own component element (the digits' map points)
and then pins a point every --interval seconds (+-25% jitter, staggered starts), alternating empty
space and a digit: exactly the BackMsg the map component sends on a click, a v2 trigger "pin" with
{uv, z, index, label}. A pin's latency runs from sending it to the end of the fragment run that
answers it. Phase 1 ("idle"): no training. Phase 2 ("training"): one more tab opens the Train page,
sets the epochs and presses Start training, as a student would, and stays open (its live fragment
reruns every 0.5 s); the students pin for --duration more seconds while the training runs on whatever
engine the tree has. Every pin must be answered, no tab may show an error or be dropped, the server
log must hold no traceback, and the training must still be fitting at the end (it is then stopped).

Validated against a real browser: tests/e2e/test_latent_map_browser.py::test_the_protocol_pin_is_the_browsers
captures the BackMsg Chromium sends for a click on the map and checks that it reruns the map's fragment
with the trigger st_protocol builds (widget id, event, the value's keys PIN_KEYS); harness/st_protocol.py itself
was checked against Chromium's frames (same BackMsgs, same bytes back; its docstring). Results go to
artifacts/load_test.json, with the load average (the machine is shared) and the server's CPU and memory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from websockets.exceptions import ConnectionClosed  # noqa: E402

from harness import e2e  # noqa: E402
from harness.st_protocol import Session  # noqa: E402

OUT = ROOT / "artifacts" / "load_test.json"
MAP_KEY = "latent_map"
PIN_KEYS = ("uv", "z", "index", "label")  # the value of the map component's "pin" trigger (latent_map.js)


def loadavg() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of `pid` and every process below it (the training workers, the compile warm-up)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    tree, grown = {pid}, True
    while grown:
        below = {child for child, parent in parents.items() if parent in tree}
        grown, tree = bool(below - tree), tree | below
    total = 0.0
    for member in tree:
        with contextlib.suppress(OSError, ValueError, IndexError):  # a process that just ended
            total += cpu_s(member)
    return total


async def settle(pid: int, *, quiet: float = 0.25, limit_s: float = 120.0) -> float:
    """Wait until the server's process tree uses under `quiet` of a core (its workers started, its
    compile cache warm), at most `limit_s`; returns the seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        before = tree_cpu_s(pid)
        await asyncio.sleep(3)
        if (tree_cpu_s(pid) - before) / 3 < quiet:
            break
    return round(time.monotonic() - start, 1)


def summary(samples: list[float]) -> dict:
    ms = [1000 * s for s in samples]
    return {
        "n": len(ms),
        "p50_ms": round(e2e.percentile(ms, 50), 1),
        "p95_ms": round(e2e.percentile(ms, 95), 1),
        "max_ms": round(max(ms), 1) if ms else None,
    }


async def open_latent(tab: Session) -> None:
    """Open a /latent tab as Chromium does, the map's "drawn" report included (latent_map.js sends it
    once a session's first map shows; the page then adds its tools: a real student's page)."""
    await tab.connect()
    waits = lambda: json.loads(tab.find(f"{MAP_KEY}_view").proto.bytes).get("report_drawn")
    if waits():
        await tab.click(MAP_KEY, event="drawn", value=True)
        if waits():
            raise RuntimeError("the Latent page still waits for its map's drawn report")


class Student:
    """One tab on /latent that pins a point every `interval` seconds."""

    def __init__(self, url: str, number: int, timeout: float):
        self.tab = Session(url, page="latent", timeout=timeout)
        self.rng = random.Random(number)
        self.number = number
        self.latencies: dict[str, list[float]] = {}
        self.failures: list[str] = []
        self.bytes: list[int] = []
        self.sent = 0  # pins sent, answered or not

    async def open(self) -> None:
        from cvae.viz.map_payload import read_payload

        await open_latent(self.tab)
        header, arrays = read_payload(self.tab.find(MAP_KEY).proto.bytes)
        self.coords = arrays["coords"].reshape(-1, 2)
        self.ranges = header["x_range"], header["y_range"]

    def pin_message(self, k: int) -> dict:
        """What the component sends for a click: an empty spot, or (odd k) one of the digits."""
        if k % 2:
            index = self.rng.randrange(len(self.coords))
            uv = [float(v) for v in self.coords[index]]
            return dict(zip(PIN_KEYS, (uv, uv, index, None)))
        (x0, x1), (y0, y1) = self.ranges
        uv = [self.rng.uniform(x0, x1), self.rng.uniform(y0, y1)]
        return dict(zip(PIN_KEYS, (uv, uv, None, None)))

    async def pin_until(self, phase: str, stop_at: float, interval: float) -> None:
        samples = self.latencies.setdefault(phase, [])
        await asyncio.sleep(self.rng.uniform(0, interval))  # students do not click in step
        k = 0
        while time.monotonic() < stop_at:
            started = time.monotonic()
            self.sent += 1
            try:
                step = await self.tab.click(MAP_KEY, event="pin", value=self.pin_message(k))
            except (TimeoutError, LookupError, ConnectionError, ConnectionClosed) as err:
                self.failures.append(f"student {self.number} {phase} pin {k}: {type(err).__name__} {err}")
                return
            if step.latency_s is None:
                self.failures.append(f"student {self.number} {phase} pin {k}: the socket closed")
                return
            samples.append(step.latency_s)
            self.bytes.append(step.bytes_received)
            bad = [e.text for e in self.tab.elements.values() if e.kind in ("exception", "alert")]
            if bad:  # an exception box, or the page refusing the pin
                self.failures.append(f"student {self.number} {phase} pin {k}: {bad[0][:200]}")
            k += 1
            await asyncio.sleep(max(0.0, interval * self.rng.uniform(0.75, 1.25) - (time.monotonic() - started)))


async def start_training(url: str, epochs: int, timeout: float) -> tuple[Session, str]:
    """Open Train, set Epochs, press Start training; wait until the fit reports steps."""
    tab = Session(url, page="train", timeout=timeout)
    await tab.connect()
    await tab.set(tab.find(label="Epochs"), epochs, wait=False)  # a form field: sent with the submit below
    await tab.click(tab.find(label="Start training"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = progress(tab)
        if re.search(r": (failed|diverged|finished|stopped) ", text):
            raise RuntimeError(f"the training ended before the load phase: {text}")
        if re.search(r"running · step [1-9]", text):
            return tab, text
        await asyncio.sleep(0.5)
    raise TimeoutError(f"the training did not start fitting in time; last progress: {progress(tab)!r}")


def progress(tab: Session) -> str:
    return next((e.proto.text for e in tab.elements.values() if e.kind == "progress"), "")


def step_of(text: str) -> int:
    match = re.search(r"step (\d+)/", text or "")
    return int(match.group(1)) if match else -1


async def pin_phase(students, name: str, duration: float, interval: float, pids: list[int]) -> dict:
    """Every student pins for `duration` s: latencies (n = pins answered), pins sent, the failures of this
    phase, the CPU of the server processes `pids` (their own, summed) and of this load generator."""
    servers = lambda: sum(cpu_s(pid) for pid in pids)
    sent0, failed0 = [s.sent for s in students], [len(s.failures) for s in students]
    cpu0, own0, wall0 = servers(), cpu_s(os.getpid()), time.monotonic()
    await asyncio.gather(*(s.pin_until(name, wall0 + duration, interval) for s in students))
    wall, cpu = time.monotonic() - wall0, servers() - cpu0
    result = summary([x for s in students for x in s.latencies.get(name, [])])
    result["pins_sent"] = sum(s.sent for s in students) - sum(sent0)
    result["failures"] = [f for s, k in zip(students, failed0) for f in s.failures[k:]]
    result["server_cpu_share"] = round(cpu / wall, 2)
    result["server_cpu_ms_per_pin"] = round(1000 * cpu / max(result["n"], 1), 1)
    result["load_generator_cpu_share"] = round((cpu_s(os.getpid()) - own0) / wall, 2)
    result["pins_per_s"] = round(result["n"] / wall, 1)
    result["loadavg"] = loadavg()
    return result


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
    result["bytes_per_pin_median"] = int(e2e.percentile([b for s in students for b in s.bytes], 50))
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
        server = e2e.StreamlitServer(Path(tmp) / "runs", Path(tmp) / "server.log")
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
