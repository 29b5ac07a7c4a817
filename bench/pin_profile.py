"""Server CPU per pin on the Latent page, and where it goes (py-spy on a real server).

    python3 -m bench.pin_profile [--sessions 10] [--interval 2] [--duration 40] [--profile-duration 20]
                                 [--no-py-spy]

A fresh `streamlit run app.py` on 127.0.0.1; `--sessions` protocol-level tabs (bench/students.py's
`Student`: the websocket messages Chromium sends) open /latent, the server settles, then they pin
every `--interval` s for `--duration` s. Reported: the web server's CPU per answered pin (its own
process, not the training workers), gross and net of what it spends without pins (measured for
IDLE_S s before), split between the threads there throughout (the event loop, which sends what the
runs write) and Streamlit's script threads (one per run); the script runs a pin starts (a keyed
rerun from a callback is a second run after the cut-short first); p50/p95 latency; the load
average. Then, with py-spy (`pip install py-spy`), the same tabs pin `--profile-duration` s more
while py-spy samples the thread holding the GIL (`--gil`: where the CPU goes, no idle threads); its
stacks are folded into `bench/results/pin_profile.folded` and the functions with the most samples
printed. The CPU per pin is measured without py-spy: its sampling stops the process 200 times a
second, which doubled the measured CPU of a page whose pin starts two script runs (16.7 -> 28.8
ms); `profiled_cpu_ms_per_pin` says what it was with it.

The tabs fetch no /media files: a page whose images are media files costs a real browser's server
~0.45 ms more per image a pin shows (the Latent page's tools send theirs as data URLs).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.load_stats import cpu_s, loadavg, settle, summary, thread_cpu_s
from bench.students import Student, open_latent
from harness.metrics import percentile
from harness.server import StreamlitServer
from harness.st_protocol import Session

RESULTS = Path(__file__).resolve().parent / "results"
FOLDED = RESULTS / "pin_profile.folded"
IDLE_S = 10.0


async def _pins(url: str, pid: int, args) -> dict:
    warm = Session(url, page="latent", timeout=120)
    await open_latent(warm)
    await warm.close()
    students = [Student(url, n, 120) for n in range(args.sessions)]
    for student in students:
        await student.open()
    await settle(pid)
    idle0 = cpu_s(pid)
    await asyncio.sleep(IDLE_S)  # the server's own background CPU (job pump, heartbeats), with no pins
    idle_share = (cpu_s(pid) - idle0) / IDLE_S
    cpu0, threads0, runs0, wall0 = cpu_s(pid), thread_cpu_s(pid), _runs(students), time.monotonic()
    await asyncio.gather(*(s.pin_until("pins", wall0 + args.duration, args.interval) for s in students))
    wall, cpu, threads1 = time.monotonic() - wall0, cpu_s(pid) - cpu0, thread_cpu_s(pid)
    # threads there throughout: the event loop (websockets, sending the runs' messages), the job pump, the
    # Dask client; the rest: Streamlit's script threads, one per run (they end when it does)
    lasting = sum(threads1[t] - threads0[t] for t in threads0.keys() & threads1.keys())
    runs = _runs(students) - runs0
    profiled = await _profile(pid, students, args) if args.py_spy and shutil.which("py-spy") else None
    result = summary([x for s in students for x in s.latencies.get("pins", [])])
    pins = max(result["n"], 1)
    result |= {
        "sessions": args.sessions,
        "interval_s": args.interval,
        "server_cpu_ms_per_pin": round(1000 * cpu / pins, 1),
        # less the CPU the server spends without pins over the same time: what each pin adds
        "server_cpu_ms_per_pin_net": round(1000 * (cpu - idle_share * wall) / pins, 1),
        "server_cpu_ms_per_pin_threads": {
            "lasting (event loop, job pump, Dask client)": round(1000 * lasting / pins, 1),
            "script runs": round(1000 * (cpu - lasting) / pins, 1),
        },
        "script_runs_per_pin": round(runs / pins, 2),  # new_session messages, cut-short runs too
        "server_idle_cpu_share": round(idle_share, 3),
        "server_cpu_share": round(cpu / wall, 2),
        "pins_per_s": round(result["n"] / wall, 1),
        "failures": [f for s in students for f in s.failures][:5],
        "bytes_per_pin_median": int(percentile([b for s in students for b in s.bytes], 50)),
        "loadavg": loadavg(),
    }
    if profiled is not None:
        result["profiled_cpu_ms_per_pin"] = profiled
    for student in students:
        await student.tab.close()
    return result


def _runs(students: list[Student]) -> int:
    return sum(student.tab.runs_started for student in students)


async def _profile(pid: int, students: list[Student], args) -> float:
    """Pin `args.profile_duration` s more under py-spy (GIL holder only); returns the CPU per pin meanwhile."""
    spy = subprocess.Popen(
        ["py-spy", "record", "--pid", str(pid), "--gil", "--format", "raw", "--rate", "200", "-o", str(FOLDED)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    await asyncio.sleep(1.0)  # py-spy attaches
    cpu0, start = cpu_s(pid), time.monotonic()
    await asyncio.gather(*(s.pin_until("profiled", start + args.profile_duration, args.interval) for s in students))
    cpu, pins = cpu_s(pid) - cpu0, sum(len(s.latencies.get("profiled", [])) for s in students)
    spy.send_signal(2)  # SIGINT: py-spy writes its file and exits
    spy.wait(timeout=60)
    return round(1000 * cpu / max(pins, 1), 1)


OWN = ("cvae/", "ui/")  # the app's own frames (py-spy names them from the repository root; a page by its file name)
PAGES = {path.name for path in (Path(__file__).resolve().parents[1] / "app_pages").glob("*.py")}


def top_functions(folded: Path, n: int = 25) -> dict[str, list[tuple[str, float]]]:
    """From py-spy's folded stacks, shares of the samples: per function (file:function) where it ran
    itself ("self"), and per function of the app's own code with what it called ("own_inclusive")."""
    own: collections.Counter = collections.Counter()
    leaf: collections.Counter = collections.Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        frames = [(f.split(" (")[0], f.split(" (")[-1].rsplit(":", 1)[0]) for f in stack.split(";")]
        leaf[f"{frames[-1][0]} {frames[-1][1].rsplit('/', 1)[-1]}"] += int(count)
        for frame in {f"{name} {path}" for name, path in frames if path.startswith(OWN) or path in PAGES}:
            own[frame] += int(count)
    share = lambda counts: [(frame, round(c / total, 3)) for frame, c in counts.most_common(n)]
    return {"self": share(leaf), "own_inclusive": share(own)} if total else {}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=40.0)
    parser.add_argument("--profile-duration", type=float, default=20.0)
    parser.add_argument("--no-py-spy", dest="py_spy", action="store_false")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cvae_pins_") as tmp:
        server = StreamlitServer(Path(tmp) / "runs", Path(tmp) / "server.log")
        try:
            url = server.start(timeout=180)
            result = asyncio.run(_pins(url, server.proc.pid, args))
        finally:
            server.stop()
    if "profiled_cpu_ms_per_pin" in result and FOLDED.exists():
        result["top_functions"] = top_functions(FOLDED)
    (RESULTS / "pin_profile.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
