"""Students held per replica count: protocol-level students pin through HAProxy in front of 1, then 2, replicas.

    python3 -m bench.replica_load [--replicas 1 2] [--students 30 60 100 150] [--interval 2] [--duration 40]

For each replica count, `deploy/run-local.sh PORT REPLICAS` (harness.deploy.local_deployment: PostgreSQL, a
TLS Dask scheduler and one worker, the Streamlit replicas, HAProxy) on a fresh state folder, no class code.
Its runs folder starts empty, so the Latent page shows the shipped model (assets/pretrained). Each replica's
Latent page is opened once directly (its model load and first payload are no student's cost). Then one tab
opens Train through the proxy and starts a training of --epochs (bench/students.start_training); it must
still be fitting after the last step. The class then arrives through the proxy, one tab after another, up
to each --students count in turn (the tabs of the step before stay open), the replicas settle, and every
student pins every --interval s for --duration s (students.Student, students.pin_phase). Each websocket
stays on the replica HAProxy gave it; the proxy's log (<state>/logs/proxy.log) says which, per student.

Per step: pins sent and answered (every pin must be answered), p50/p95/max latency, the replicas' own CPU
(/proc of each replica's pid, summed) per answered pin, the load generator's CPU (this process: it must not
be the bottleneck), the training's CPU (the worker's process tree) and the load average. "Students held":
the largest count whose pins were all answered with p95 <= --p95-ms. Results: bench/results/replica_load.json
(rewritten after each replica count) and a table.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from bench.load_stats import cpu_s, loadavg, settle, tree_cpu_s
from bench.students import Student, open_latent, pin_phase, progress, start_training, step_of
from harness.deploy import local_deployment, proxy_log
from harness.st_protocol import Session

__all__ = ["held", "main", "run_replicas"]

OUT = Path(__file__).resolve().parent / "results" / "replica_load.json"
TIMEOUT_S = 120.0  # one tab's open or pin, at worst
SETTLE_S = 60.0  # at most, for the replicas to go quiet once the new tabs are open


def held(steps: list[dict], p95_ms: float) -> int:
    """The largest student count whose pins were all answered with p95 <= p95_ms (0: none)."""
    ok = [s["students"] for s in steps if not s["unanswered"] and not s["failures"] and s["p95_ms"] <= p95_ms]
    return max(ok, default=0)


def sockets_since(state: Path, seen: int) -> tuple[list[str], int]:
    """The replicas (r1, r2, ...) HAProxy sent each websocket opened after log line `seen` to; the lines now."""
    lines = proxy_log(state)
    return [e["server"] for e in lines[seen:] if e["path"].startswith("/_stcore/stream")], len(lines)


async def arrive(students: list[Student], state: Path) -> list[str]:
    """Open the tabs one after another, as a class arrives; where the proxy sent each one."""
    _, seen = sockets_since(state, 0)
    for student in students:
        await student.open()
    await asyncio.sleep(1.0)  # HAProxy's last log lines
    return sockets_since(state, seen)[0]


async def _one_deployment(deployment, counts: list[int], args, log) -> dict:
    replicas = {name: pid for name, pid in deployment.pids.items() if name.startswith("replica-")}
    pids = [replicas[name] for name in sorted(replicas)]
    url = deployment.proxy_url
    for where in deployment.replica_urls:  # each replica loads the model and builds the map's payload once
        warm = Session(where, page="latent", timeout=TIMEOUT_S)
        await open_latent(warm)
        await warm.close()
    seen = len(proxy_log(deployment.state))
    trainer, text = await start_training(url, args.epochs, timeout=600)
    trainer_on, _ = sockets_since(deployment.state, seen)
    result: dict = {"training_on": trainer_on, "training_progress_before": text, "steps": []}
    log(f"{len(pids)} replica(s): training on {trainer_on}: {text}")
    students: list[Student] = []
    spread: collections.Counter = collections.Counter()
    for count in counts:
        new = [Student(url, n, TIMEOUT_S) for n in range(len(students), count)]
        opened_at = time.monotonic()
        spread.update(await arrive(new, deployment.state))
        students += new
        open_s = time.monotonic() - opened_at
        settled = await asyncio.gather(*(settle(pid, limit_s=SETTLE_S) for pid in pids))
        worker0, before = tree_cpu_s(deployment.pids["worker"]), progress(trainer)
        cpu0, wall0 = [cpu_s(pid) for pid in pids], time.monotonic()
        step = await pin_phase(students, f"{count} students", args.duration, args.interval, pids)
        wall = time.monotonic() - wall0
        after = progress(trainer)
        step = {
            "students": count,
            "students_per_replica": {r: spread[r] for r in sorted(spread)},
            "open_s": round(open_s, 1),
            "settle_s": max(settled),
            **step,
            "unanswered": step["pins_sent"] - step["n"],
            "dropped_sessions": sum(s.tab.error is not None for s in students),
            "replica_cpu_share": [round((cpu_s(p) - c) / wall, 2) for p, c in zip(pids, cpu0)],
            "training_cpu_share": round((tree_cpu_s(deployment.pids["worker"]) - worker0) / wall, 2),
            "training_steps": step_of(after) - step_of(before),
            "training_progress_after": after,
        }
        step["failures"] = step["failures"][:10]
        result["steps"].append(step)
        log(f"  {count} students: {json.dumps(step)}")
    result["training_progress_after"] = progress(trainer)
    result["training_fitting_at_end"] = bool(re.search(r"running · step [1-9]", result["training_progress_after"]))
    stop = next((e for e in trainer.elements.values() if e.kind == "button" and e.proto.label == "Stop"), None)
    if stop is not None:
        await trainer.click(stop)
    await trainer.close()
    for student in students:
        await student.tab.close()
    return result


def run_replicas(replicas: int, counts: list[int], args, log=print) -> dict:
    """One deployment of `replicas` replicas, a training, and the class growing through `counts`."""
    for name in ("CVAE_CLASS_CODE", "CVAE_TEACHER_CODE", "CVAE_RUNS_DIR"):  # a plain class: no names asked
        os.environ.pop(name, None)
    result: dict = {"replicas": replicas, "loadavg_before": loadavg()}
    with tempfile.TemporaryDirectory(prefix="cvae_replica_load_") as tmp:
        state = Path(tmp) / "state"
        with local_deployment(state, replicas=replicas) as deployment:
            result["ready_s"] = round(deployment.ready_s, 1)
            result.update(asyncio.run(_one_deployment(deployment, counts, args, log)))
            logs = [state / "logs" / f"{name}.log" for name in deployment.pids if name.startswith("replica-")]
        result["server_tracebacks"] = sum(p.read_text(errors="replace").count("Traceback (most recent") for p in logs)
    result["students_held"] = held(result["steps"], args.p95_ms)
    result["loadavg_after"] = loadavg()
    return result


def table(runs: list[dict], p95_ms: float) -> str:
    """A Markdown table: one row per replica count and student count."""
    head = (
        "| replicas | students | per replica | pins sent / answered | p50 ms | p95 ms | max ms | pins/s "
        "| replicas' CPU ms/pin | replicas' CPU (cores) | load generator CPU | training CPU | load avg (1 min) |"
    )
    rows = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for run in runs:
        for s in run["steps"]:
            spread = "/".join(str(n) for n in s["students_per_replica"].values())
            rows.append(
                f"| {run['replicas']} | {s['students']} | {spread} | {s['pins_sent']} / {s['n']} | {s['p50_ms']} "
                f"| {s['p95_ms']} | {s['max_ms']} | {s['pins_per_s']} | {s['server_cpu_ms_per_pin']} "
                f"| {'+'.join(map(str, s['replica_cpu_share']))} | {s['load_generator_cpu_share']} "
                f"| {s['training_cpu_share']} | {s['loadavg'][0]} |"
            )
    held_line = "; ".join(f"{r['replicas']} replica(s): {r['students_held']}" for r in runs)
    return "\n".join(rows) + f"\n\nstudents held at p95 <= {p95_ms:.0f} ms, every pin answered: {held_line}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--students", type=int, nargs="+", default=[30, 60, 100, 150])
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between one student's pins")
    parser.add_argument("--duration", type=float, default=40.0, help="seconds of pinning per student count")
    parser.add_argument("--epochs", type=int, default=3000, help="the training's epochs (stopped at the end)")
    parser.add_argument("--p95-ms", type=float, default=300.0, help="the latency a student count must hold")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    counts = sorted(set(args.students))
    result = {
        "interval_s": args.interval,
        "duration_s": args.duration,
        "epochs": args.epochs,
        "p95_ms": args.p95_ms,
        "cpus": os.cpu_count(),
        "runs": [],
    }
    for replicas in args.replicas:
        result["runs"].append(run_replicas(replicas, counts, args))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")  # after each count: a late failure keeps these
    print(table(result["runs"], args.p95_ms))
    bad = [
        r["replicas"]
        for r in result["runs"]
        if r["server_tracebacks"]
        or not r["training_fitting_at_end"]
        or any(s["unanswered"] or s["failures"] or s["dropped_sessions"] for s in r["steps"])
    ]
    if bad:
        print(f"FAILED with {bad} replica(s): a pin unanswered, an error shown, a traceback, or the training ended")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
