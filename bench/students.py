"""Protocol-level tabs for the load benchmarks: students pinning points on the Latent page's map, a training tab.

Each tab is a harness/st_protocol.py session, not a browser. A pin is exactly the BackMsg the map component
sends on a click: the map view's v2 trigger "pin" with {uv, z, index, label} (PIN_KEYS), checked against
Chromium's by tests/e2e/test_latent_map_browser.py::test_the_protocol_pin_is_the_browsers.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import time

from websockets.exceptions import ConnectionClosed

from bench.load_stats import cpu_s, loadavg, summary
from harness.st_protocol import Session

__all__ = ["PIN_KEYS", "VIEW_KEY", "Student", "open_latent", "pin_phase", "progress", "start_training", "step_of"]

MAP_KEY = "latent_map"
VIEW_KEY = f"{MAP_KEY}_view"  # the element whose trigger carries the map's pins (ui.latent_map.view_key)
PIN_KEYS = ("uv", "z", "index", "label")  # the value of the "pin" trigger (latent_map.js)


async def open_latent(tab: Session) -> None:
    """Open a /latent tab as Chromium does, the map's "drawn" report included (latent_map.js sends it
    once a session's first map shows; the page then adds its tools: a real student's page)."""
    await tab.connect()
    waits = lambda: json.loads(tab.find(VIEW_KEY).proto.bytes).get("report_drawn")
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
                step = await self.tab.click(VIEW_KEY, event="pin", value=self.pin_message(k))
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
