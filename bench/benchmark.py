"""Training / decode speed of CVAE Explorer's PyMC fit against a PyTorch CPU reference.

    python3 bench/benchmark.py [--quick] [--repeats 3] [--arch seed --arch classroom]

Every measurement runs in a fresh child process (this same file with `--child ...`),
so compile times are honest: the first fit of each arch uses an empty PyTensor
compiledir (cold), later ones reuse it (warm). Prints a Markdown table of medians
and writes everything to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BATCH = 100
THREADS = 2


# --------------------------------------------------------------------------- children


def _load_images(n_images: int):
    from cvae.data.datasets import load_dataset

    images = load_dataset("mnist-5k", "train").images
    return images[:n_images] if n_images else images


def child_fit(args) -> dict:
    """One PyMC fit through the project's own Trainer, as the CLI/app runs it."""
    t_proc = time.perf_counter()
    from cvae.config import TrainConfig
    from cvae.training.trainer import Trainer

    images = _load_images(args.n_images)
    import_s = time.perf_counter() - t_proc
    config = TrainConfig(arch=args.arch, epochs=args.epochs, batch_size=BATCH, seed=0)
    first: list[float] = []

    def on_first(approx, losses, i):
        if not first:
            first.append(time.perf_counter())

    t0 = time.perf_counter()  # the user clicks "Train"
    trainer = Trainer(config, images)
    build_s = time.perf_counter() - t0
    result = trainer.fit(callbacks=[on_first])
    hist = result.history
    return {
        "arch": args.arch,
        "steps": result.steps,
        "status": result.status,
        "import_s": import_s,
        "build_s": build_s,
        "compile_s": result.compile_s,
        "first_elbo_s": (first[0] - t0) if first else None,
        "images_per_s": result.images_per_s,
        "first_neg_elbo": float(hist.neg_elbo[0]),
        "last_neg_elbo": float(hist.neg_elbo[-1]),
        **_backend_info(),
    }


def _backend_info() -> dict:
    from cvae.nn import blas, conv_kernels, parallel

    private = blas.private_blas()
    return {
        "blas": private.corename if private else "numpy",
        "threads": parallel.threads(),
        "winograd": conv_kernels.winograd() is not None,
        "malloc_tuned": blas.tune_malloc(),
    }


def child_torch(args) -> dict:
    """The PyTorch reference as its users write it (`bench/torch_reference.py`: native padding
    arguments, Adam, 20 warm-up steps), NCHW: the faster layout on this machine for both networks."""
    from bench.torch_reference import train

    return train(args.arch, "nchw", args.steps)


def child_decode(args) -> dict:
    """Warm decode latency of one point and of a 20 x 20 grid through the Explorer API."""
    import numpy as np

    from cvae.config import TrainConfig
    from cvae.explore.explorer import Explorer
    from cvae.model.vae import VAE

    explorer = Explorer(VAE(TrainConfig(arch=args.arch, seed=0)))
    point = np.array([[0.5, -0.25]], dtype=np.float32)
    t0 = time.perf_counter()
    explorer.decode(point)  # compiles
    compile_s = time.perf_counter() - t0
    explorer.decode_grid(20, 2.0)

    def timed(fn, n):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return statistics.median(times) * 1e3

    return {
        "arch": args.arch,
        "compile_s": compile_s,
        "point_ms": timed(lambda: explorer.decode(point), args.calls),
        "grid20_ms": timed(lambda: explorer.decode_grid(20, 2.0), args.calls),
    }


def child_clustered(args) -> dict:
    """Press Train on the app's default classroom run, stop it `--seconds` later (compile
    included, as the app's Start does), and measure how clustered the latent map is."""
    import threading

    from cvae.config import TrainConfig
    from cvae.data.datasets import load_dataset
    from cvae.explore.evaluation import evaluate, knn_accuracy
    from cvae.store.checkpoint import load_checkpoint
    from cvae.training.run import TrainingRun
    from cvae.viz.static import latent_map_image

    train_set, test_set = load_dataset("mnist-5k", "train"), load_dataset("mnist-5k", "test")
    reference = slice(0, 2000)

    def clustering(vae) -> float:
        z_train, z_test = vae.encode(train_set.images[reference])[0], vae.encode(test_set.images)[0]
        return knn_accuracy(z_train, train_set.labels[reference], z_test, test_set.labels)

    pressed = time.perf_counter()
    stop = threading.Event()
    threading.Timer(args.seconds, stop.set).start()
    run = TrainingRun.prepare(TrainConfig(arch="classroom", epochs=10_000))
    result = run.fit(stop_event=stop)
    stopped_s = time.perf_counter() - pressed
    mu = result.vae.encode(test_set.images)[0]
    picture = args.out.parent / f"latent_map_after_{args.seconds:.0f}s.png"
    picture.parent.mkdir(parents=True, exist_ok=True)
    picture.write_bytes(latent_map_image(mu, test_set.labels, test_set.class_names))
    shipped = load_checkpoint(ROOT / "assets" / "pretrained")
    return {
        "seconds": args.seconds,
        "stopped_after_s": stopped_s,
        "compile_s": result.compile_s,
        "epochs": result.steps / run.trainer.steps_per_epoch,
        "knn5_accuracy": clustering(result.vae),
        "test_neg_elbo": evaluate(result.vae, test_set.images)["neg_elbo"],
        "shipped_knn5_accuracy": clustering(shipped.vae),
        "chance": 0.1,
        "picture": str(picture),
    }


CHILDREN = {"fit": child_fit, "torch": child_torch, "decode": child_decode, "clustered": child_clustered}


# --------------------------------------------------------------------------- parent


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


def _median(rows: list[dict], key: str):
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


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


def _paired_ratio(ours: list[dict], torch: list[dict]):
    ratios = [a["images_per_s"] / b["images_per_s"] for a, b in zip(ours, torch) if b["images_per_s"]]
    return statistics.median(ratios) if ratios else None


def summarise(results: dict) -> dict:
    summary = {}
    for arch, row in results["archs"].items():
        warm = row["warm"]
        ips = _median(warm, "images_per_s")
        s = {
            "images_per_s": ips,
            "compile_cold_s": row["cold"]["compile_s"],
            "compile_warm_s": _median(warm, "compile_s"),
            "first_elbo_cold_s": row["cold"]["first_elbo_s"],
            "first_elbo_warm_s": _median(warm, "first_elbo_s"),
            "epoch_4000_s": 4000 / ips if ips else None,
            "peak_rss_mb": _median(warm, "peak_rss_mb"),
            "peak_rss_cold_mb": row["cold"]["peak_rss_mb"],
            "decode_point_ms": row.get("decode", {}).get("point_ms"),
            "decode_grid20_ms": row.get("decode", {}).get("grid20_ms"),
        }
        if row.get("clustered"):
            c = row["clustered"]
            s |= {
                "clustered_seconds": c["seconds"],
                "clustered_epochs": c["epochs"],
                "clustered_knn5": c["knn5_accuracy"],
                "shipped_knn5": c["shipped_knn5_accuracy"],
            }
        if row.get("variant"):
            s["variant_images_per_s"] = _median(row["variant"], "images_per_s")
        if row.get("torch"):
            s["torch_images_per_s"] = _median(row["torch"], "images_per_s")
            s["torch_peak_rss_mb"] = _median(row["torch"], "peak_rss_mb")
            # median over repeats of (ours / PyTorch) within a repeat: robust to load drifting between repeats
            s["ratio_to_torch"] = _paired_ratio(warm, row["torch"])
            if row.get("variant"):
                s["variant_ratio_to_torch"] = _paired_ratio(row["variant"], row["torch"])
        summary[arch] = s
    return summary


def markdown(results: dict) -> str:
    summary = results["summary"]
    archs = list(summary)

    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    rows = [
        ("training images/s (warm, median)", "images_per_s", ".0f"),
        ("PyTorch CPU images/s (same net, batch, threads)", "torch_images_per_s", ".0f"),
        ("ratio to PyTorch (median of per-repeat ratios)", "ratio_to_torch", ".2f"),
        (f"training images/s with {' '.join(results.get('variant_env') or [])}", "variant_images_per_s", ".0f"),
        ("ratio to PyTorch, with that", "variant_ratio_to_torch", ".2f"),
        ("one epoch of 4,000 digits, s (excl. compile)", "epoch_4000_s", ".1f"),
        ("compile s, cold (empty compiledir)", "compile_cold_s", ".1f"),
        ("compile s, warm (median)", "compile_warm_s", ".1f"),
        ("Train -> first ELBO point s, cold", "first_elbo_cold_s", ".1f"),
        ("Train -> first ELBO point s, warm (median)", "first_elbo_warm_s", ".1f"),
        ("decode 1 point ms (median of calls)", "decode_point_ms", ".2f"),
        ("decode 20x20 grid ms (median of calls)", "decode_grid20_ms", ".1f"),
        ("peak RSS of a training process MB (warm)", "peak_rss_mb", ".0f"),
        ("peak RSS of a PyTorch training process MB", "torch_peak_rss_mb", ".0f"),
        ("latent map N s after Train: epochs done", "clustered_epochs", ".1f"),
        ("latent map N s after Train: 5-NN label accuracy (chance 0.10)", "clustered_knn5", ".2f"),
        ("shipped 60-epoch model: 5-NN label accuracy", "shipped_knn5", ".2f"),
    ]
    lines = ["| metric | " + " | ".join(archs) + " |", "|---|" + "---|" * len(archs)]
    for label, key, spec in rows:
        if key.startswith("variant") and not results.get("variant_env"):
            continue
        if "N s" in label:
            seconds = next((summary[a]["clustered_seconds"] for a in archs if "clustered_seconds" in summary[a]), None)
            if seconds is None:
                continue
            label = label.replace("N s", f"{seconds:.0f} s")
        lines.append(f"| {label} | " + " | ".join(fmt(summary[a].get(key), spec) for a in archs) + " |")
    env = results["env"]
    lines.append("")
    lines.append(
        f"repeats={results['repeats']} quick={results['quick']} load before={env['load_before']} "
        f"after={env['load_after']} ({env['cpus']} CPUs)"
    )
    return "\n".join(lines)


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
        sys.path.insert(0, str(ROOT))
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
