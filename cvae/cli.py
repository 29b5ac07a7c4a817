"""`python -m cvae train | sweep | evaluate | summary | warm | lesson`: the command line over the package."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from cvae.config import ConfigError, add_config_arguments, config_from_arguments
from cvae.data.datasets import DATASET_NAMES, SPLITS, DatasetError, load_dataset
from cvae.data.download import DownloadError
from cvae.explore.explorer import Explorer
from cvae.jobs.cluster import ClusterError
from cvae.nn.networks import ARCHITECTURES
from cvae.runtime import configure
from cvae.settings import SettingsError, settings
from cvae.store.checkpoint import CheckpointError, load_checkpoint

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cvae", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="fit a VAE with PyMC's ADVI and save a checkpoint")
    add_config_arguments(t)
    t.add_argument("--out", required=True, type=Path, help="checkpoint directory to write")
    t.add_argument("--quiet", action="store_true", help="no progress bar (also none when stderr is not a terminal)")
    t.add_argument("--scheduler", default=None, help="train on this Dask scheduler (tls://host:8786) instead of here")
    g = sub.add_parser("sweep", help="train a grid of configs on a Dask cluster, one saved run per point")
    add_config_arguments(g)
    g.add_argument(
        "--grid",
        action="append",
        required=True,
        metavar="FIELD=V1,V2",
        help="one axis, e.g. --grid beta=0,0.5,1,2,4 --grid latent_dim=2,8",
    )
    g.add_argument("--runs-dir", type=Path, default=None, help="where the runs are saved (default CVAE_RUNS_DIR)")
    g.add_argument("--prefix", default=None, help="run names start with this (default sweep-<date>-<time>)")
    g.add_argument(
        "--scheduler",
        default=None,
        help="a Dask scheduler to run on (default: CVAE_SCHEDULER, else an embedded cluster of CVAE_WORKERS workers)",
    )
    g.add_argument("--quiet", action="store_true", help="no progress display")
    e = sub.add_parser("evaluate", help="held-out -ELBO of a checkpoint, nats per image")
    e.add_argument("checkpoint", type=Path)
    e.add_argument("--dataset", choices=DATASET_NAMES, default=None, help="default: the training dataset")
    e.add_argument("--data-dir", default=None)
    e.add_argument("--split", choices=SPLITS, default="test")
    e.add_argument("--iw", type=int, default=0, help="importance samples for a tighter bound")
    e.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("summary", help="layer tables of a checkpoint")
    s.add_argument("checkpoint", type=Path)
    w = sub.add_parser("warm", help="fill PyTensor's compile cache so the app's first Train starts at once")
    w.add_argument("--arch", choices=ARCHITECTURES.names(), action="append", help="default: every arch")
    w.add_argument("--background", action="store_true", help="run at low CPU priority (the app's own warm-up)")
    w.add_argument("--no-umap", action="store_true", help="skip compiling umap-learn's numba code (~20 s)")
    lesson = sub.add_parser("lesson", help="lesson files: `lesson check FILE...` validates them")
    lesson.add_argument("action", choices=["check"])
    lesson.add_argument("files", nargs="+", type=Path, metavar="FILE")
    return parser


def _cluster_settings(args):
    config = settings()
    return dataclasses.replace(config, scheduler=args.scheduler) if args.scheduler else config


def _train(args) -> int:
    if args.scheduler:
        return _train_on_cluster(args)
    from cvae.training.progress import ProgressBar
    from cvae.training.run import TrainingRun  # imports PyMC: only for training

    config = config_from_arguments(args)
    run = TrainingRun.prepare(config)
    with ProgressBar(run.trainer.history, run.trainer.plan, quiet=args.quiet) as bar:
        result = run.fit(callbacks=[bar])
    run.save(args.out, result)
    print(
        json.dumps(
            {
                "checkpoint": str(args.out),
                "status": result.status,
                "message": result.message,
                "steps": result.steps,
                "images_per_s": round(result.images_per_s, 1),
                "compile_s": round(result.compile_s, 2),
                "train_neg_elbo": run.last_epoch_neg_elbo(result),
                **_validation_summary(result.history),
            }
        )
    )
    return 3 if result.status == "diverged" else 0


def _validation_summary(history) -> dict:
    """The best validation -ELBO and its epoch, for a run with a validation split (else nothing)."""
    if not history.val_neg_elbo:
        return {}
    best = min(range(len(history.val_neg_elbo)), key=history.val_neg_elbo.__getitem__)
    return {"val_neg_elbo": round(history.val_neg_elbo[best], 3), "val_best_step": history.val_step[best]}


def _train_on_cluster(args) -> int:
    from cvae.jobs.batch import train_on_cluster

    out = Path(args.out)
    (job,) = train_on_cluster(
        [(config_from_arguments(args), out.name)], out.parent, _cluster_settings(args), quiet=args.quiet
    )
    print(
        json.dumps(
            {
                "checkpoint": str(out),
                "status": job.status,
                "message": job.message,
                "steps": len(job.history),
                "saved": job.saved,
            }
        )
    )
    return 0 if job.saved else 3


def _sweep(args) -> int:
    from cvae.jobs.batch import train_on_cluster
    from cvae.jobs.sweep import parse_axis, sweep_configs, sweep_run_name

    axes = dict(parse_axis(text) for text in args.grid)
    prefix = args.prefix or time.strftime("sweep-%Y%m%d-%H%M%S")
    runs = [(c, sweep_run_name(prefix, c, axes)) for c in sweep_configs(config_from_arguments(args), axes)]
    runs_root = args.runs_dir or settings().runs_dir
    jobs = train_on_cluster(runs, runs_root, _cluster_settings(args), quiet=args.quiet)
    for job in jobs:
        print(
            json.dumps(
                {
                    "run": job.name,
                    "checkpoint": str(runs_root / job.name),
                    "status": job.status,
                    "message": job.message,
                    "steps": len(job.history),
                    "saved": job.saved,
                }
            )
        )
    return 0 if all(job.saved for job in jobs) else 3


def _evaluate(args) -> int:
    from cvae.explore.evaluation import evaluate
    from cvae.explore.latent_stats import latent_stats

    checkpoint = load_checkpoint(args.checkpoint)
    dataset = args.dataset or checkpoint.config.dataset
    data = load_dataset(dataset, args.split, data_dir=args.data_dir)
    # a conditional model: bounds on -log p(x|y) given the labels (evaluate(..., labels=None) sums y out)
    result = evaluate(checkpoint.vae, data.images, labels=data.labels, iw=args.iw, seed=args.seed)
    result |= latent_stats(checkpoint.vae, data.images, labels=data.labels).as_json()  # active_units, kl_per_dim
    print(json.dumps({"checkpoint": str(args.checkpoint), "dataset": dataset, "split": args.split, **result}))
    return 0


def _summary(args) -> int:
    tables = Explorer(load_checkpoint(args.checkpoint).vae).summary()
    for name, rows in tables.items():
        print(f"{name}\n{'Layer (type)':<34}{'Output shape':<22}{'Params':>10}\n{'=' * 66}")
        for row in rows:
            print(f"{row['layer']:<34}{str(row['output_shape']):<22}{row['params']:>10,}")
        print(f"{'=' * 66}\nTotal params: {sum(r['params'] for r in rows):,}\n")
    return 0


def _warm(args) -> int:
    import os

    from cvae.training.warmup import warm_up

    if args.background:
        os.nice(10)
    results = warm_up(tuple(args.arch or ARCHITECTURES.names()))
    seconds = {r.arch: round(r.seconds, 1) for r in results}
    if not args.no_umap:  # numba's compile of umap-learn, cached on disk: a first UMAP of ~8 s, not ~27 s
        from cvae.explore.projections.umap import warm_umap

        seconds["umap"] = round(warm_umap(), 1)
    print(json.dumps(seconds))
    return 0


def _lesson(args) -> int:
    from cvae.lessons import check_lesson

    for path in args.files:  # a LessonError (a ValueError) reads "FILE:LINE: FIELD: problem"
        lesson = check_lesson(path)
        kinds = ", ".join(step.check["kind"] for step in lesson.steps)
        print(f"{path}: ok: {lesson.id!r} ({lesson.title}), {len(lesson.steps)} steps: {kinds}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure()  # PyTensor's flags and the heap, before any graph; NumPy's BLAS keeps its threads here
    commands = {"train": _train, "sweep": _sweep, "evaluate": _evaluate, "summary": _summary, "warm": _warm}
    commands["lesson"] = _lesson
    try:
        return commands[args.command](args)
    except (ConfigError, DatasetError, DownloadError, CheckpointError, SettingsError, ClusterError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
