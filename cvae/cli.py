"""`python -m cvae train | evaluate | summary | warm`: the command line over the package."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cvae.config import ConfigError, add_config_arguments, config_from_arguments
from cvae.data.datasets import DATASET_NAMES, SPLITS, DatasetError, load_dataset
from cvae.data.download import DownloadError
from cvae.nn.networks import ARCHITECTURES
from cvae.service.explorer import Explorer
from cvae.settings import SettingsError
from cvae.store.checkpoint import CheckpointError, load_checkpoint

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cvae", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="fit a VAE with PyMC's ADVI and save a checkpoint")
    add_config_arguments(t)
    t.add_argument("--out", required=True, type=Path, help="checkpoint directory to write")
    t.add_argument("--quiet", action="store_true", help="no progress bar (also none when stderr is not a terminal)")
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
    return parser


def _train(args) -> int:
    from cvae.service.training_run import TrainingRun  # imports PyMC: only for training
    from cvae.training.progress import ProgressBar

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
            }
        )
    )
    return 3 if result.status == "diverged" else 0


def _evaluate(args) -> int:
    from cvae.service.evaluation import evaluate

    checkpoint = load_checkpoint(args.checkpoint)
    dataset = args.dataset or checkpoint.config.dataset
    data = load_dataset(dataset, args.split, data_dir=args.data_dir)
    result = evaluate(checkpoint.vae, data.images, iw=args.iw, seed=args.seed)
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
    print(json.dumps({r.arch: round(r.seconds, 1) for r in results}))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {"train": _train, "evaluate": _evaluate, "summary": _summary, "warm": _warm}
    try:
        return commands[args.command](args)
    except (ConfigError, DatasetError, DownloadError, CheckpointError, SettingsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
