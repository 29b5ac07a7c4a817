"""Load: a class of protocol-level students works through lesson 1 while the teacher's Class page is open.

    python3 bench/class_load.py [--students 30] [--think 4] [--idle 30]

A real `streamlit run app.py` on 127.0.0.1 (temporary runs folder, its SQLite database; a teacher
code set, no class code). Every tab speaks Streamlit's websocket protocol (harness/st_protocol.py), so
the CPU goes to the server. Each student opens /lessons, gives a name, and for each of lesson 1's
steps answers (the widget the step shows), presses Check, waits --think s, presses Skip (Next
needs a pass; Skip always moves on and keeps a pass), waits again. The teacher signs in on the
Classroom page, then opens the Class page, whose roster and answers refresh every 2 s by themselves.
Phases, server CPU (psutil, the server's own process) per second of each:
  idle:          the students connected and idle (their push notices poll every 3 s), no teacher;
  idle+teacher:  the same with the teacher's Class page open: the difference is the view's cost;
  work+teacher:  the students work through the lesson with the teacher's page open;
  map+teacher:   idle again, with every student's answer to lesson 2's "where will this digit land?"
                 (written to the database as its Check would) drawn on the teacher's map.
Every Check must be answered (a "Correct" or "Not yet" on the student's page), no tab may see an
exception, the server log must hold no traceback, and the teacher's last roster must list every
student. Results go to artifacts/class_load.json with the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_stats import loadavg, settle, summary  # noqa: E402
from bench.load_test import save_result  # noqa: E402
from harness.server import StreamlitServer  # noqa: E402
from harness.st_protocol import Session  # noqa: E402

OUT = ROOT / "artifacts" / "class_load.json"
TEACHER_CODE = "load-test-teacher"
ANSWERS = {"radio": 0, "number_input": 1.0, "selectbox": "7"}  # by the answer widget's kind: an option, a number


async def open_student(url: str, number: int, timeout: float) -> Session:
    """A /lessons tab, signed in under a name, on lesson 1 step 1."""
    tab = Session(url, page="lessons", timeout=timeout)
    await tab.connect()
    await tab.set(tab.find(label="Your name"), f"student {number:02d}", wait=False)
    await tab.click(tab.find(label="Start"))
    if not any(t.startswith("**Step 1 of") for t in tab.texts()):
        raise RuntimeError(f"student {number}: no lesson step after signing in: {tab.texts()[:6]}")
    return tab


async def work(tab: Session, think: float, checks: list, errors: list) -> None:
    """Answer, Check, Skip through every step of the lesson (until the page says it was the last step)."""
    for _ in range(20):  # lesson 1 has 5 steps; a bound in case a page never moves on
        step = next((t for t in tab.texts() if t.startswith("**Step ")), None)
        if step is None:
            break
        answer = tab.find(label="Your answer")
        value = ANSWERS[answer.kind]
        await tab.set(answer, answer.proto.options[value] if answer.kind == "radio" else value)
        done = await tab.click(tab.find(label="Check"))
        verdict = [t for t in tab.texts() if "Correct." in t or "Not yet." in t]
        checks.append((done.latency_s, bool(verdict)))
        if tab.error or any(e.kind == "exception" for e in tab.elements.values()):
            errors.append(f"{step}: {tab.error or [e.text for e in tab.elements.values() if e.kind == 'exception']}")
            return
        await asyncio.sleep(think * random.uniform(0.75, 1.25))
        await tab.click(tab.find(label="Skip"))
        if step.startswith("**Step 5 of 5"):
            break
        await asyncio.sleep(think * random.uniform(0.75, 1.25))


async def open_teacher(url: str, timeout: float) -> Session:
    """The Classroom page, the teacher code, then the Class page (as its sidebar link does)."""
    tab = Session(url, page="classroom", timeout=timeout)
    await tab.connect()
    await tab.set(tab.find(label="Teacher code"), TEACHER_CODE, wait=False)
    await tab.click(tab.find(label="Sign in as teacher"))
    tab.page, tab.page_script_hash = "class_view", ""
    await tab.rerun(label="open class view")
    if "Class" not in tab.texts():
        raise RuntimeError(f"the teacher's Class page did not open: {tab.texts()[:6]}")
    return tab


async def measure(pid: int, seconds: float) -> float:
    """The server process's CPU seconds per second over the next `seconds`."""
    server = psutil.Process(pid)
    before, start = server.cpu_times(), time.perf_counter()
    await asyncio.sleep(seconds)
    after = server.cpu_times()
    return (after.user + after.system - before.user - before.system) / (time.perf_counter() - start)


def refreshes(tab: Session, since: float) -> list[float]:
    return [i.latency_s for i in tab.interactions if i.label.startswith("auto") and i.sent_at >= since and i.latency_s]


async def map_phase(teacher: Session, runs: Path, pid: int, idle: float) -> tuple[float, bool]:
    """Every student's answer to lesson 2's "where will this digit land?" written to the server's database (as
    its Check would: the guess and the model's truth), that step drawn on the teacher's map; its CPU per second."""
    from cvae.classroom import progress, roster
    from cvae.db import Database

    db = Database(f"sqlite:///{runs / 'cvae.sqlite3'}")
    rng = np.random.default_rng(0)
    truth = [0.4, -0.6]
    for row in roster.roster(db):
        guess = (np.array(truth) + rng.normal(0, 0.5, 2)).tolist()
        passed = float(np.hypot(*(np.array(guess) - truth))) < 0.35
        progress.record_check(db, row.student_id, "latent-space", 1, passed=passed, prediction={"z": guess},
                              truth={"z": truth})  # fmt: skip
    db.dispose()
    await asyncio.sleep(3)  # the step shows in the teacher's list at the next refresh
    await teacher.set("class_answers_step", "latent-space · step 1")
    drawn = any(e.kind == "plotly_chart" for e in teacher.elements.values())
    return round(await measure(pid, idle), 3), drawn


async def _run(url: str, pid: int, runs: Path, *, students: int, think: float, idle: float, timeout: float, log):
    log(f"server up; settling: {await settle(pid)} s")
    tabs = []
    opened = time.perf_counter()
    for number in range(students):  # a few at a time: a class does not press Enter in the same second
        tabs.append(await open_student(url, number, timeout))
    log(f"{students} students on lesson 1 step 1 after {time.perf_counter() - opened:.0f} s")
    since = time.perf_counter()
    result = {"idle_cpu_s_per_s": round(await measure(pid, idle), 3)}
    result["student_notice_polls_per_s"] = round(sum(len(refreshes(tab, since)) for tab in tabs) / idle, 2)
    teacher = await open_teacher(url, timeout)
    since = time.perf_counter()
    result["idle_teacher_cpu_s_per_s"] = round(await measure(pid, idle), 3)
    idle_refreshes = refreshes(teacher, since)
    result["teacher_refreshes_per_s"] = round(len(idle_refreshes) / idle, 2)
    result["teacher_refresh_latency"] = summary(idle_refreshes)
    extra = result["idle_teacher_cpu_s_per_s"] - result["idle_cpu_s_per_s"]
    result["view_cpu_s_per_s"] = round(extra, 3)
    result["view_cpu_s_per_refresh"] = round(extra / max(result["teacher_refreshes_per_s"], 1e-9), 4)
    log(json.dumps(result))

    checks, errors = [], []
    server, started = psutil.Process(pid), time.perf_counter()
    before = server.cpu_times()
    await asyncio.gather(*(work(tab, think, checks, errors) for tab in tabs))
    after, elapsed = server.cpu_times(), time.perf_counter() - started
    result["work_s"] = round(elapsed, 1)
    result["work_teacher_cpu_s_per_s"] = round((after.user + after.system - before.user - before.system) / elapsed, 3)
    result["work_teacher_refresh_latency"] = summary(refreshes(teacher, started))
    result["checks"] = len(checks)
    result["checks_answered"] = sum(answered for _, answered in checks)
    result["check_latency"] = summary([latency for latency, _ in checks if latency is not None])
    result["errors"] = errors
    result["map_teacher_cpu_s_per_s"], result["map_drawn"] = await map_phase(teacher, runs, pid, idle)
    await asyncio.sleep(3)  # one more refresh of the teacher's roster
    roster = b"".join(e.proto.SerializeToString() for e in teacher.elements.values() if e.kind == "dataframe")
    result["roster_lists_everyone"] = all(f"student {n:02d}".encode() in roster for n in range(students))
    result["dropped_sessions"] = sum(tab.error is not None for tab in [*tabs, teacher])
    for tab in [*tabs, teacher]:
        await tab.close()
    return result


def run_class_load(*, students: int, think: float, idle: float, timeout: float = 180.0, out: Path = OUT, log=print):
    result = {"students": students, "think_s": think, "idle_s": idle, "loadavg_before": loadavg()}
    with tempfile.TemporaryDirectory(prefix="cvae_class_load_") as tmp:
        server = StreamlitServer(Path(tmp) / "runs", Path(tmp) / "server.log", env={"CVAE_TEACHER_CODE": TEACHER_CODE})
        try:
            url = server.start(timeout=300)
            options = {"students": students, "think": think, "idle": idle, "timeout": timeout, "log": log}
            run = _run(url, server.proc.pid, server.runs_dir, **options)
            result.update(asyncio.run(run))
        finally:
            log_text = server.log_tail(10**7)
            server.stop()
    return save_result(result, log_text, out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--think", type=float, default=4.0, help="seconds a student waits between actions (+-25%%)")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of each idle phase")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    result = run_class_load(students=args.students, think=args.think, idle=args.idle, out=args.out)
    print(json.dumps(result, indent=2))
    ok = result["checks_answered"] == result["checks"] > 0 and not result["errors"] and not result["server_tracebacks"]
    return 0 if ok and result["roster_lists_everyone"] and not result["dropped_sessions"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
