"""Training / decode speed of CVAE Explorer's PyMC fit against a PyTorch CPU reference.

    python3 bench/benchmark.py [--quick] [--repeats 3] [--arch seed --arch classroom]

Every measurement runs in a fresh child process (this same file with `--child ...`, which runs one
of bench/benchmark_children.py's measurements), so compile times are honest: the first fit of each
arch uses an empty PyTensor compiledir (cold), later ones reuse it (warm). Prints a Markdown table
of medians (bench/benchmark_report.py) and writes everything to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, bench/ is on the path, not the repository

from bench.benchmark_children import CHILDREN  # noqa: E402
from bench.benchmark_report import markdown, summarise  # noqa: E402

__all__ = ["main", "run_child"]


def run_child(kind: str, extra: list[str], env: dict | None = None) -> dict:
    """Run `kind` in a fresh interpreter; returns its JSON plus the child's peak RSS and wall time."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, *extra]
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env or os.environ.copy(), stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux: KiB
    result["wall_s"] = time.perf_counter() - t0
    return result


def _env_with_compiledir(compiledir: str) -> dict:
    env = os.environ.copy()
    flags = [f for f in env.get("PYTENSOR_FLAGS", "").split(",") if f and not f.startswith("compiledir=")]
    env["PYTENSOR_FLAGS"] = ",".join([*flags, f"compiledir={compiledir}"])
    return env


def _load() -> list[float]:
    return list(os.getloadavg())


def measure(args) -> dict:
    quick = args.quick
    n_images = 1000 if quick else 0  # 0: all 4,000 training digits
    epochs = {"seed": 1, "classroom": 1 if quick else 2}
    results: dict = {"archs": {}, "quick": quick, "repeats": args.repeats, "variant_env": args.variant_env}
    results["env"] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_before": _load(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "malloc_env": {k: os.environ.get(k) for k in ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_")},
        "pytensor_flags": os.environ.get("PYTENSOR_FLAGS", ""),
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "CVAE_"))},
        "cpu": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        ),
    }
    for arch in args.arch:
        row: dict = {"warm": [], "variant": [], "torch": []}
        fit_args = ["--arch", arch, "--epochs", str(epochs[arch]), "--n-images", str(n_images)]
        torch_args = [
            "--arch",
            arch,
            "--steps",
            str(10 if quick else (40 if arch == "seed" else 80)),
            "--n-images",
            str(n_images),
        ]
        with tempfile.TemporaryDirectory(prefix="cvae-bench-compiledir-") as compiledir:
            env = _env_with_compiledir(compiledir)
            variant_env = {**env, **dict(kv.split("=", 1) for kv in args.variant_env or [])}
            print(f"[{arch}] cold fit (empty compiledir)...", file=sys.stderr, flush=True)
            row["cold"] = run_child("fit", fit_args, env)
            # one warm fit, one variant fit and one PyTorch run per repeat, back to back, so each
            # repeat's ratio compares runs that saw the same load on a shared machine
            for r in range(args.repeats):
                print(f"[{arch}] repeat {r + 1}/{args.repeats}: warm fit...", file=sys.stderr, flush=True)
                row["warm"].append(run_child("fit", fit_args, env))
                if args.variant_env:
                    print(f"[{arch}]   warm fit with {' '.join(args.variant_env)}...", file=sys.stderr, flush=True)
                    row["variant"].append(run_child("fit", fit_args, variant_env))
                if not args.skip_torch:
                    print(f"[{arch}]   PyTorch...", file=sys.stderr, flush=True)
                    row["torch"].append(run_child("torch", torch_args))
            if not args.speed_only:
                _measure_extras(row, arch, args, env)
        results["archs"][arch] = row
    results["env"]["load_after"] = _load()
    results["summary"] = summarise(results)
    return results


def _measure_extras(row: dict, arch: str, args, env: dict) -> None:
    """Decode latency, and for the classroom net the latent map a minute after Train."""
    print(f"[{arch}] decode latency...", file=sys.stderr, flush=True)
    calls = 20 if args.quick else 200
    row["decode"] = run_child("decode", ["--arch", arch, "--calls", str(calls)], env)
    if arch == "classroom":
        seconds = 20 if args.quick else 60
        print(f"[{arch}] latent map {seconds} s after Train...", file=sys.stderr, flush=True)
        row["clustered"] = run_child("clustered", ["--seconds", str(seconds), "--out", str(args.out)], env)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke test: 1,000 images, few steps and calls")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--arch", action="append", choices=["seed", "classroom"], help="repeatable; default both")
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--speed-only", action="store_true", help="training fits only: no decode or latent-map runs")
    parser.add_argument(
        "--variant-env",
        action="append",
        metavar="KEY=VALUE",
        help="also time warm fits with these environment variables (repeatable), e.g. CVAE_BLAS_CORETYPE=SkylakeX",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    # child-process options
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--n-images", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=40, help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, default=200, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=60.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        arch = (args.arch or ["classroom"])[0]
        args.arch = arch
        print(json.dumps(CHILDREN[args.child](args)), flush=True)
        return 0
    args.arch = args.arch or ["seed", "classroom"]
    results = measure(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(markdown(results))
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
