"""The Classroom preset started from the Train page (headless Chromium, tab open) against the CLI.

    python3 -m bench.inapp_training [--rounds 3] [--settle 20]

One real `streamlit run app.py` on 127.0.0.1 (one training worker, compile cache warm). Each round,
in turns: the preset from the command line (`python -m cvae train`, as bench.engine_benchmark), then
the preset from the Train page in Chromium, the tab kept open until "Saved as". Reported: the fit's
images/s (saved with each run), ours in-app / CLI, Start to saved (s), the CPU seconds the web
server, the worker and Chromium spent meanwhile, the worker's nice level, threads and malloc
environment, the load average. Results: bench/results/inapp_training.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.engine_benchmark import cli_images_per_s
from harness.browser import CHROMIUM_ARGS, chromium_path, open_page, wait_script_idle
from harness.server import StreamlitServer

OUT = Path(__file__).resolve().parent / "results" / "inapp_training.json"
EPOCHS = 30  # the Classroom preset's


def _cpu_s(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.NoSuchProcess:
            pass
    return total


def _workers(server_pid: int) -> list[psutil.Process]:
    """The Dask worker processes below the server (`cvae.jobs.local_cluster`'s nannies' children)."""
    found = []
    for child in psutil.Process(server_pid).children(recursive=True):
        try:
            if "distributed" in " ".join(child.cmdline()) or "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def _thread_nices(pid: int) -> set[int]:
    nices = set()
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):  # a thread that just ended
            nices.add(int(stat.read_text().rsplit(")", 1)[1].split()[16]))  # field 19: nice
    return nices


def worker_facts(server_pid: int) -> list[dict]:
    facts = []
    for proc in _workers(server_pid):
        try:
            env = proc.environ()
            facts.append(
                {
                    "pid": proc.pid,
                    "nice": proc.nice(),
                    "threads": proc.num_threads(),
                    # nice is per thread on Linux: the fit's threads inherit their creator's
                    "thread_nices": sorted(_thread_nices(proc.pid)),
                    "env": {k: env.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_MAX_", "OMP_NUM_THREADS")},
                    "cmd": " ".join(proc.cmdline())[:120],
                }
            )
        except psutil.Error:
            pass
    return facts


def app_run(browser, url: str, runs: Path, server_pid: int) -> dict:
    """Classroom preset, Start, the tab kept open until the run is saved."""
    page = open_page(browser, url + "/train", "Train")
    page.get_by_role("button", name="Classroom preset").first.click()
    wait_script_idle(page)
    server = psutil.Process(server_pid)
    chrome = [p for p in psutil.process_iter(["name"]) if "chrom" in (p.info["name"] or "")]
    before = {"server": _cpu_s([server]), "chromium": _cpu_s(chrome)}
    began = time.perf_counter()
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Saved as").first.wait_for(timeout=600_000)
    wall = time.perf_counter() - began
    chrome = [p for p in psutil.process_iter(["name"]) if "chrom" in (p.info["name"] or "")]
    after = {"server": _cpu_s([server]), "chromium": _cpu_s(chrome)}
    page.context.close()
    saved = max((p for p in runs.iterdir() if (p / "config.json").is_file()), key=lambda p: p.stat().st_mtime)
    meta = json.loads((saved / "config.json").read_text())
    return {
        "images_per_s": meta["images_per_s"],
        "start_to_saved_s": round(wall, 2),
        # the web server alone (its own CPU, not the cluster's: that is in its children, counted apart)
        "server_cpu_s": round(server.cpu_times().user + server.cpu_times().system, 2),
        "cpu_s_during": {k: round(after[k] - before[k], 2) for k in after},
    }


def main(argv=None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle", type=float, default=20.0, help="seconds for the worker's warm-up after start")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    rows = []
    load_before = [round(x, 2) for x in os.getloadavg()]
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        runs = Path(tmp) / "runs"
        server = StreamlitServer(runs, Path(tmp) / "server.log", env={"CVAE_WORKERS": "1"})
        server.start(timeout=180)
        try:
            time.sleep(args.settle)
            for r in range(args.rounds):
                began = time.perf_counter()
                cli = cli_images_per_s(EPOCHS, Path(tmp) / f"cli-{r}")
                cli_wall = time.perf_counter() - began
                app = app_run(browser, server.url, runs, server.proc.pid)
                rows.append(
                    {
                        "round": r,
                        "cli_images_per_s": cli,
                        "cli_process_s": round(cli_wall, 2),
                        **app,
                        "ratio": round(app["images_per_s"] / cli, 3),
                        "workers": worker_facts(server.proc.pid),
                        "load": [round(x, 2) for x in os.getloadavg()],
                    }
                )
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        finally:
            server.stop()
            browser.close()
    summary = {
        "cli_images_per_s": statistics.median(r["cli_images_per_s"] for r in rows),
        "app_images_per_s": statistics.median(r["images_per_s"] for r in rows),
        "ratio_median": statistics.median(r["ratio"] for r in rows),
        "start_to_saved_s_median": statistics.median(r["start_to_saved_s"] for r in rows),
        "cli_process_s_median": statistics.median(r["cli_process_s"] for r in rows),
        "load_before": load_before,
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_suffix(".tmp")
    tmp_out.write_text(json.dumps({"rows": rows, "summary": summary}, indent=2))
    os.replace(tmp_out, args.out)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
