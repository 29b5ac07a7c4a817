"""Timing of the latent-map projections on 10,000 codes: each linear kind, and UMAP cold / warm / hot / cached.

    python3 bench/projections.py --checkpoint /tmp/l8 --checkpoint /tmp/l16

Codes: the `--dataset` test split (default Fashion-MNIST, 10,000 images, Debian's
dataset-fashion-mnist) encoded by each checkpoint. Each UMAP case runs in a fresh process:
"cold" with an empty numba cache (NUMBA_CACHE_DIR), "warm" after `warm_umap()` filled it (what
`python -m cvae warm` should do), "hot" a second fit in the same process, "cached" reading the .npz a
previous fit wrote. Medians of `--repeats`; wall and CPU seconds (CPU time is the fairer number
on a shared machine: a seeded UMAP runs on one thread). Load averages are printed with the results.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _clock():
    return time.perf_counter(), time.process_time()


def _since(start) -> dict:
    wall, cpu = _clock()
    return {"wall_s": round(wall - start[0], 3), "cpu_s": round(cpu - start[1], 3)}


def child(mode: str, codes_path: str, cache_dir: str) -> None:
    """Runs in a fresh process; prints one JSON line of timings."""
    start = _clock()
    from cvae.explore.projections.umap import umap_projection, warm_umap

    codes = np.load(codes_path)["codes"]
    out = {"import": _since(start)}
    if mode == "warm-up":
        start = _clock()
        warm_umap()
        out["warm_umap"] = _since(start)
    elif mode == "cached":
        start = _clock()
        umap_projection(codes, cache_dir=Path(cache_dir))
        out["cached"] = _since(start)
    else:  # "fit": a first fit in this process, then a second one (hot) on the same codes reversed
        start = _clock()
        umap_projection(codes, cache_dir=Path(cache_dir), persist=True)
        out["first_fit"] = _since(start)
        start = _clock()
        umap_projection(codes[::-1].copy(), persist=False)
        out["hot_fit"] = _since(start)
    print(json.dumps(out))


def _run_child(mode: str, codes_path: Path, cache_dir: Path, numba_dir: Path) -> dict:
    env = os.environ | {"NUMBA_CACHE_DIR": str(numba_dir)}
    args = [sys.executable, __file__, "--child", mode, str(codes_path), str(cache_dir)]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(rows: list[dict], key: str) -> dict:
    return {k: round(statistics.median(r[key][k] for r in rows), 2) for k in ("wall_s", "cpu_s")}


def bench_checkpoint(path: Path, dataset: str, repeats: int) -> dict:
    from cvae.data.datasets import load_dataset
    from cvae.explore.projections import PROJECTIONS
    from cvae.store.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(path)
    codes = checkpoint.vae.encode(load_dataset(dataset, "test").images)[0]
    result = {"checkpoint": str(path), "latent_dim": int(codes.shape[1]), "n_codes": len(codes)}
    for name in PROJECTIONS:  # the linear kinds in this process; UMAP below, in fresh ones
        kind = PROJECTIONS[name]
        if not kind.linear:
            continue
        times = []
        for _ in range(max(repeats, 7)):
            start = _clock()
            projection = kind.make(codes, axes=(0, 1), hold=None)
            times.append(_since(start))
        result[name] = {k: statistics.median(r[k] for r in times) for k in ("wall_s", "cpu_s")}
        result[f"{name}_note"] = projection.note
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        codes_path = tmp / "codes.npz"
        np.savez(codes_path, codes=codes)
        cold, warm_up, warm, cached = [], [], [], []
        for r in range(repeats):
            numba_dir = tmp / f"numba-{r}"  # empty: nothing compiled yet
            cold.append(_run_child("fit", codes_path, tmp / f"cold-{r}", numba_dir))
            fresh = tmp / f"numba-warm-{r}"
            warm_up.append(_run_child("warm-up", codes_path, tmp / "unused", fresh))
            warm.append(_run_child("fit", codes_path, tmp / f"warm-{r}", fresh))
            cached.append(_run_child("cached", codes_path, tmp / f"warm-{r}", fresh))
    result["umap"] = {
        "cold_first_fit": _median(cold, "first_fit"),
        "cold_import": _median(cold, "import"),
        "warm_umap": _median(warm_up, "warm_umap"),
        "warm_first_fit": _median(warm, "first_fit"),
        "hot_fit": _median(warm + cold, "hot_fit"),
        "cached_load": _median(cached, "cached"),
    }
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, action="append", help="default: the shipped model")
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "projections.json")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    load_before = os.getloadavg()
    results = [bench_checkpoint(p, args.dataset, args.repeats) for p in args.checkpoint or [ROOT / "assets/pretrained"]]
    report = {"load_before": load_before, "load_after": os.getloadavg(), "cpus": os.cpu_count(), "runs": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
