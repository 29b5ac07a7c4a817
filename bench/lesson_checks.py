"""How fast a lesson's Check is answered, in server time.

    python3 -m bench.lesson_checks [--repeats 20]

Two measures on the shipped model, results to bench/results/lesson_checks.json:
- `judge`: every step of every shipped lesson (steps that read runs get this machine's saved runs),
  judged with a right-shaped answer and recorded for a student on a fresh SQLite database, exactly
  the work of the page's Check callback (`ui.lessons.task.check`): p50 / p95 over repeats, and
  the first (cold) check of each step apart (it fills the model's memo: a find task's example).
- `page`: the Lessons page under AppTest (a real script run, no browser), one signed-in student:
  each step of lessons 1 and 2 answered, then Check clicked; the callback's own timing (`LESSON_CHECK_MS`:
  judge and database write) and the whole rerun the click causes (the page redrawn).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "results" / "lesson_checks.json"


def percentiles(values: list[float]) -> dict:
    ordered = sorted(values)

    def pick(q: float) -> float:  # nearest rank
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {
        "n": len(values),
        "p50_ms": round(pick(0.5), 2),
        "p95_ms": round(pick(0.95), 2),
        "max_ms": round(max(values), 2),
    }


def answer_for(kind, model) -> object:
    """An answer of the right shape (right or wrong does not change the work)."""
    return {"point": {"z": [float(v) for v in model.mu[0]]}, "number": 1.0, "digit": 3}.get(kind.answer, "x")


def judge_timings(repeats: int) -> dict:
    from cvae.classroom import progress, students
    from cvae.db import Database
    from cvae.lessons import CHECKS, CheckContext, judge, load_library, shipped_classifier
    from cvae.lessons.live_model import live_model, saved_runs
    from cvae.settings import ROOT, settings
    from cvae.store.checkpoint import load_checkpoint

    model = live_model(load_checkpoint(ROOT / "assets" / "pretrained"), "pretrained")
    runs = saved_runs(settings().runs_dir)
    db = Database(f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")
    db.upgrade()
    me, _ = students.join(db, "bench")
    warm, cold, by_kind = [], [], {}
    for lesson in load_library().lessons.values():
        for step in lesson.steps:
            kind = CHECKS[step.check["kind"]]
            for k in range(repeats + 1):
                started = time.perf_counter()
                digit = step.digit if step.digit is not None else step.seed
                ctx = CheckContext(model, shipped_classifier(), digit=digit, point=step.point, runs=runs)
                result = judge(step.check, answer_for(kind, model), ctx)
                progress.record_check(db, me.id, lesson.id, step.number, passed=result.passed,
                                      prediction=result.prediction, truth=result.truth)  # fmt: skip
                ms = (time.perf_counter() - started) * 1000
                (cold if k == 0 else warm).append(ms)
                if k:
                    by_kind.setdefault(kind.name, []).append(ms)
    return {
        "warm": percentiles(warm),
        "first_per_step": percentiles(cold),
        "by_kind": {name: percentiles(v) for name, v in by_kind.items()},
    }


def page_timings(repeats: int) -> dict:
    from streamlit.testing.v1 import AppTest

    from cvae.lessons import CHECKS, load_library
    from ui.session_keys import LESSON_CHECK_MS

    callback, rerun, token = [], [], None
    for lesson_id in ("what-is-a-vae", "latent-space"):
        for step in load_library().lessons[lesson_id].steps:
            at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "navigation.py"), default_timeout=300)
            at.query_params["lesson"], at.query_params["step"] = lesson_id, str(step.number)
            if token:
                at.query_params["student"] = token
            at.switch_page("app_pages/lessons.py").run()
            if token is None:  # one student for the whole run: every check is recorded in the database
                at.text_input(key="lesson-sign-in-name").input("bench")
                next(b for b in at.button if b.label == "Start").click().run()
                token = at.query_params["student"]
            _answer(at, CHECKS[step.check["kind"]], f"lesson-{lesson_id}-{step.number}-")
            for _ in range(repeats):
                check = next(b for b in at.button if b.label == "Check")
                started = time.perf_counter()
                check.click().run()
                rerun.append((time.perf_counter() - started) * 1000)
                callback.append(at.session_state[LESSON_CHECK_MS])
    return {"check_callback": percentiles(callback), "click_to_rerun_done": percentiles(rerun)}


def _answer(at, kind, prefix: str) -> None:
    """Give the step an answer of its kind, as a student would."""
    if kind.answer == "choice":
        radio = at.radio(key=prefix + "answer")
        radio.set_value(radio.options[0]).run()
    elif kind.answer == "number":
        at.number_input(key=prefix + "answer").set_value(1.0).run()
    elif kind.answer == "digit":
        at.selectbox(key=prefix + "answer").set_value(3).run()
    elif kind.answer == "point":
        at.number_input(key=prefix + "typed0").set_value(0.5).run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--page-repeats", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("CVAE_RUNS_DIR", tempfile.mkdtemp())
    os.environ["CVAE_DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/page.sqlite3"
    results = {"judge": judge_timings(args.repeats), "page": page_timings(args.page_repeats)}
    results["load_average"] = os.getloadavg()
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
