"""Training from the Train page against the command line, with sessions watching it live.

    python3 -m bench.engine_benchmark [--repeats 3] [--watchers 1 --watchers 10] [--epochs 30]

For each repeat, interleaved: the Classroom preset from the command line (`python -m cvae train`,
the reference), then the same preset started from the Train page of a real `streamlit run` on
127.0.0.1 by a protocol client (harness/st_protocol.py: the websocket messages Chromium sends), with
W-1 more sessions following the job live (each reruns the live fragment every second, as a tab
does). Reported per W: the fit's images/s (saved with the run) over the CLI's, Start -> "Saved as"
seconds, the app server's CPU use and peak RSS while it trained. Results: bench/results/engine.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from harness.server import StreamlitServer
from harness.st_protocol import Session

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "engine.json"
PRESET_LABEL = "Classroom preset"


def cli_images_per_s(epochs: int, out: Path) -> float:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cvae",
            "train",
            "--preset",  # the very preset the Train page's button sets (cvae.config.PRESETS)
            "classroom",
            "--epochs",
            str(epochs),
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])["images_per_s"]


async def app_run(url: str, watchers: int, epochs: int, runs: Path, server_pid: int) -> dict:
    """The preset started from the Train page by one session, watched by `watchers - 1` more."""
    owner = Session(url, page="train", timeout=300)
    await owner.connect()
    await owner.click(
        owner.find(
            label=next(
                e.proto.label for e in owner.elements.values() if getattr(e.proto, "label", "").startswith(PRESET_LABEL)
            )
        )
    )
    await owner.set("cfg_epochs", epochs)
    process = psutil.Process(server_pid)
    cpu_before, began = process.cpu_times(), time.perf_counter()
    await owner.click(owner.find(label="Start training"))
    followers = []
    for _ in range(watchers - 1):
        follower = Session(url, page="train", timeout=300)
        await follower.connect()
        watch = next((e for e in follower.elements.values() if (e.key or "").startswith("watch-")), None)
        if watch is not None:
            await follower.click(watch)
        followers.append(follower)
    peak_rss = 0
    while not any("Saved as" in t for t in owner.texts()):
        peak_rss = max(peak_rss, process.memory_info().rss)
        await asyncio.sleep(0.5)
        if time.perf_counter() - began > 1800:
            raise TimeoutError("the training did not finish in 30 min")
    wall = time.perf_counter() - began
    cpu_after = process.cpu_times()
    for session in (owner, *followers):
        await session.close()
    saved = max((p for p in runs.iterdir() if (p / "config.json").is_file()), key=lambda p: p.stat().st_mtime)
    meta = json.loads((saved / "config.json").read_text())
    return {
        "watchers": watchers,
        "images_per_s": meta["images_per_s"],
        "start_to_saved_s": round(wall, 2),
        "server_cpu_fraction": round(
            (cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system) / wall, 3
        ),
        "server_peak_rss_mb": round(peak_rss / 2**20),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--watchers", type=int, action="append")
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args(argv)
    watchers = args.watchers or [1, 10]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        server = StreamlitServer(runs, Path(tmp) / "server.log", env={"CVAE_WORKERS": "1"})
        server.start(timeout=120)
        try:
            asyncio.run(_touch(server.url))  # the server started the workers; let them warm up
            time.sleep(20)
            idle_rss = psutil.Process(server.proc.pid).memory_info().rss
            for repeat in range(args.repeats):
                for w in watchers:
                    cli = cli_images_per_s(args.epochs, Path(tmp) / f"cli-{repeat}-{w}")
                    app = asyncio.run(app_run(server.url, w, args.epochs, runs, server.proc.pid))
                    rows.append(
                        {
                            "repeat": repeat,
                            "cli_images_per_s": cli,
                            **app,
                            "ratio": round(app["images_per_s"] / cli, 3),
                            "load": _load(),
                        }
                    )
                    print(json.dumps(rows[-1]), flush=True)
        finally:
            server.stop()
    summary = {
        w: {
            "ratio_median": statistics.median(r["ratio"] for r in rows if r["watchers"] == w),
            "start_to_saved_s_median": statistics.median(r["start_to_saved_s"] for r in rows if r["watchers"] == w),
            "server_peak_rss_mb_max": max(r["server_peak_rss_mb"] for r in rows if r["watchers"] == w),
        }
        for w in watchers
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {"rows": rows, "summary": summary, "idle_rss_mb": round(idle_rss / 2**20), "epochs": args.epochs}, indent=2
        )
    )
    print(json.dumps(summary, indent=2))
    return 0


async def _touch(url: str) -> None:
    session = Session(url, page="train", timeout=300)
    await session.connect()
    await session.close()


def _load() -> list[float]:
    return [round(x, 2) for x in psutil.getloadavg()]


if __name__ == "__main__":
    sys.exit(main())
